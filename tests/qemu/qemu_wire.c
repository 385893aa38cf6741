/* Raw ends of the patched QEMU's interfaces for tests: see qemu_wire.h. */
#define _GNU_SOURCE
#include "qemu_wire.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to become readable until the monotonic instant deadline_ms. */
static int wait_readable(int fd, long long deadline_ms)
{
    for (;;) {
        long long left = deadline_ms - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0) {
            return -1;
        }
        int r = poll(&p, 1, (int)left);
        if (r > 0) {
            return 0;
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
    }
}

/* Reads 1..n bytes before the deadline. Returns the count, or -1 on
 * timeout, EOF or error. */
static ssize_t read_some(int fd, void *buf, size_t n, long long deadline_ms)
{
    for (;;) {
        if (wait_readable(fd, deadline_ms) < 0) {
            return -1;
        }
        ssize_t r = read(fd, buf, n);
        if (r > 0) {
            return r;
        }
        if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
            return -1;
        }
    }
}

int qw_read_full(int fd, void *buf, size_t n, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = read_some(fd, p, n, deadline);
        if (r < 0) {
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int qw_write_full(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0 && errno == EAGAIN) {
            struct pollfd q = {.fd = fd, .events = POLLOUT};
            poll(&q, 1, 100);
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int qw_grant(int grant_fd, int reply_fd, int32_t grant_us, int32_t *reply_us, int timeout_ms)
{
    if (qw_write_full(grant_fd, &grant_us, sizeof(grant_us)) < 0) {
        return -1;
    }
    return qw_read_full(reply_fd, reply_us, sizeof(*reply_us), timeout_ms);
}

int qw_grant_horizon(int grant_fd, int reply_fd, int32_t grant_us, int32_t *reply_us,
                     int32_t *horizon_us, int timeout_ms)
{
    int32_t r[2];
    if (qw_write_full(grant_fd, &grant_us, sizeof(grant_us)) < 0 ||
        qw_read_full(reply_fd, r, sizeof(r), timeout_ms) < 0) {
        return -1;
    }
    *reply_us = r[0];
    *horizon_us = r[1];
    return 0;
}

int qw_readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n;
    do {
        n = poll(&p, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : n > 0;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

int qw_read_record(int fd, qw_record *r, int timeout_ms)
{
    uint8_t h[16];
    if (qw_read_full(fd, h, sizeof(h), timeout_ms) < 0) {
        return -1;
    }
    r->time_ns = le64(h);
    r->length = (uint32_t)(le64(h + 8) & 0xffffffffu);
    r->type = (uint16_t)(h[12] | h[13] << 8);
    r->version = (uint16_t)(h[14] | h[15] << 8);
    if (r->length > sizeof(r->payload)) {
        return -1;
    }
    return qw_read_full(fd, r->payload, r->length, timeout_ms);
}

int qw_write_record(int fd, uint64_t time_ns, uint16_t type, uint16_t version, const void *payload,
                    uint32_t length)
{
    /* One write: a peer that refuses the header may be gone before a
     * second one. */
    uint8_t *r = malloc(16 + (size_t)length);
    if (r == NULL) {
        return -1;
    }
    put_le(r, time_ns, 8);
    put_le(r + 8, length, 4);
    put_le(r + 12, type, 2);
    put_le(r + 14, version, 2);
    if (length) {
        memcpy(r + 16, payload, length);
    }
    int ok = qw_write_full(fd, r, 16 + (size_t)length);
    free(r);
    return ok;
}

/* Reads one line (without the newline) within the deadline. */
static int read_line(int fd, char *out, size_t size, long long deadline_ms)
{
    size_t n = 0;
    for (;;) {
        char c;
        if (read_some(fd, &c, 1, deadline_ms) < 0) {
            return -1;
        }
        if (c == '\n') {
            out[n] = '\0';
            return 0;
        }
        if (n + 1 < size) {
            out[n++] = c;
        }
    }
}

int qw_qmp(int fd, const char *json, char *out, size_t size, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    if (qw_write_full(fd, json, strlen(json)) < 0 || qw_write_full(fd, "\n", 1) < 0) {
        return -1;
    }
    for (;;) {
        if (read_line(fd, out, size, deadline) < 0) {
            return -1;
        }
        if (strstr(out, "\"return\"") || strstr(out, "\"error\"")) {
            return 0;
        }
    }
}

int qw_connect(const char *path, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            return -1;
        }
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
            return fd;
        }
        close(fd);
        if (now_ms() >= deadline) {
            return -1;
        }
        usleep(20000);
    }
}

int qw_read_until(int fd, const char *needle, char *out, size_t size, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    size_t n = 0;
    out[0] = '\0';
    while (strstr(out, needle) == NULL) {
        ssize_t r = n + 1 < size ? read_some(fd, out + n, size - n - 1, deadline) : -1;
        if (r < 0) {
            return -1;
        }
        n += (size_t)r;
        out[n] = '\0';
    }
    return 0;
}

int qw_qmp_open(const char *path, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    char line[4096];
    int fd = qw_connect(path, timeout_ms);
    if (fd < 0) {
        return -1;
    }
    if (read_line(fd, line, sizeof(line), deadline) == 0 && strstr(line, "\"QMP\"") &&
        qw_qmp(fd, "{\"execute\": \"qmp_capabilities\"}", line, sizeof(line),
               (int)(deadline - now_ms())) == 0 &&
        strstr(line, "\"return\"")) {
        return fd;
    }
    close(fd);
    return -1;
}
