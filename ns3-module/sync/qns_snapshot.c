/*
 * qns_snapshot.c - one guest booted alone and saved (qns_snapshot.h).
 */
#define _GNU_SOURCE
#include "qns_snapshot.h"

#include "qns_guest.h"
#include "qns_record.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long one grant may take in wall time before the boot is given up. */
#define GRANT_TIMEOUT_MS 120000

/* Writes all of buf; 0, or -1 with errno. */
static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads exactly len bytes within timeout_ms: 0, 1 at EOF, -1 on an error
 * or timeout. */
static int read_exact(int fd, void *buf, size_t len, int timeout_ms)
{
    char *p = buf;
    while (len > 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, timeout_ms);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        ssize_t n = read(fd, p, len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            return 1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads and drops whatever the guest sent on fd so far. */
static void drop_pending(int fd)
{
    char buf[65536];
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 0) <= 0 || read(fd, buf, sizeof(buf)) <= 0) {
            return;
        }
    }
}

/* 1 when the console has a line that is `line`, or one that starts with
 * "QNS-GUEST: error" (then 2), 0 when neither, -1 when it cannot be read. */
static int console_says(const char *path, const char *line)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        return errno == ENOENT ? 0 : -1;
    }
    char *buf = NULL;
    size_t cap = 0;
    int found = 0;
    ssize_t n;
    while (!found && (n = getline(&buf, &cap, f)) >= 0) {
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
            buf[--n] = '\0';
        }
        if (strcmp(buf, line) == 0) {
            found = 1;
        } else if (strncmp(buf, "QNS-GUEST: error", 16) == 0) {
            found = 2;
        }
    }
    free(buf);
    fclose(f);
    return found;
}

/* Whether spec->stop says to give up (then errbuf says so). */
static int interrupted(const qns_snapshot_boot_spec *spec, char *errbuf)
{
    if (spec->stop && spec->stop(spec->stop_ctx)) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s: boot for its snapshot: interrupted",
                 spec->name);
        return 1;
    }
    return 0;
}

/* errbuf = "guest NAME: what (console: last lines)". */
static void fail_with_tail(const qns_snapshot_boot_spec *spec, qns_guest *g, const char *what,
                           char *errbuf)
{
    char tail[QNS_ERRBUF_SIZE / 2];
    qns_guest_console_tail(g, 3, tail, sizeof(tail));
    snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s: boot for its snapshot: %s (console: %s)",
             spec->name, what, tail[0] ? tail : "empty");
}

/* One grant and its reply: 0, or -1 with errbuf. */
static int grant(const qns_snapshot_boot_spec *spec, qns_guest *g, int32_t us, int32_t *reply,
                 char *errbuf)
{
    if (write_all(qns_guest_grant_fd(g), &us, sizeof(us)) < 0) {
        fail_with_tail(spec, g, "QEMU ended", errbuf);
        return -1;
    }
    int r = read_exact(qns_guest_reply_fd(g), reply, sizeof(*reply), GRANT_TIMEOUT_MS);
    if (r != 0) {
        char what[128];
        if (r > 0 && console_says(spec->console_path, spec->ready) == 2) {
            snprintf(what, sizeof(what), "it failed");
        } else if (r > 0 && qns_guest_wait(g, 5000, errbuf) == 1) {
            char end[64];
            qns_guest_describe_end(g, end, sizeof(end));
            snprintf(what, sizeof(what), "QEMU %s", end);
        } else {
            snprintf(what, sizeof(what), "no reply to a grant of %d us", us);
        }
        fail_with_tail(spec, g, what, errbuf);
        return -1;
    }
    return 0;
}

/* Opens every NIC (the simulator's hello) and drops what it sent. */
static int open_nics(const qns_snapshot_boot_spec *spec, qns_guest *g, int *nic, char *errbuf)
{
    uint8_t hello[QNS_RECORD_HEADER_SIZE];
    qns_record_encode_hello(hello);
    for (int i = 0; i < spec->nic_count; i++) {
        nic[i] = qns_guest_take_nic_fd(g, i);
        if (nic[i] < 0 || write_all(nic[i], hello, sizeof(hello)) < 0) {
            fail_with_tail(spec, g, "cannot open its NICs", errbuf);
            return -1;
        }
    }
    return 0;
}

static int64_t run_until_ready(const qns_snapshot_boot_spec *spec, qns_guest *g, const int *nic,
                               char *errbuf)
{
    int64_t t = 0;
    for (;;) {
        int32_t reply = 0;
        if (interrupted(spec, errbuf)) {
            return -1;
        }
        if (grant(spec, g, spec->grant_us, &reply, errbuf) < 0) {
            return -1;
        }
        t += reply;
        for (int i = 0; i < spec->nic_count; i++) {
            drop_pending(nic[i]);
        }
        int says = console_says(spec->console_path, spec->ready);
        if (says == 1 && reply == spec->grant_us) {
            return t;
        }
        if (says != 0 || reply != spec->grant_us) {
            fail_with_tail(spec, g,
                           says < 0   ? "cannot read its console"
                           : says > 1 ? "it failed"
                                      : "QEMU stopped short of its grant (the guest ended)",
                           errbuf);
            return -1;
        }
        if (t >= spec->max_us) {
            char what[128];
            snprintf(what, sizeof(what), "not ready (\"%s\") after %lld us of virtual time",
                     spec->ready, (long long)t);
            fail_with_tail(spec, g, what, errbuf);
            return -1;
        }
    }
}

int64_t qns_snapshot_boot(const qns_snapshot_boot_spec *spec, char *errbuf)
{
    if (spec->grant_us <= 0 || spec->nic_count < 0 || spec->nic_count > QNS_GUEST_MAX_NICS) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s: bad snapshot boot settings", spec->name);
        return -1;
    }
    if (interrupted(spec, errbuf)) {
        return -1;
    }
    qns_guest_spec gs = {.name = spec->name,
                         .argv = spec->argv,
                         .nic_count = spec->nic_count,
                         .console_path = spec->console_path,
                         .snapshot_path = spec->stream_path,
                         .snapshot_save = 1};
    qns_guest *g = qns_guest_spawn(&gs, errbuf);
    if (g == NULL) {
        return -1;
    }
    int nic[QNS_GUEST_MAX_NICS];
    for (int i = 0; i < QNS_GUEST_MAX_NICS; i++) {
        nic[i] = -1;
    }
    int64_t t = open_nics(spec, g, nic, errbuf) < 0 ? -1 : run_until_ready(spec, g, nic, errbuf);
    int32_t reply = -1;
    if (t >= 0 && grant(spec, g, -2, &reply, errbuf) < 0) {
        t = -1;
    } else if (t >= 0 && reply != 0) {
        fail_with_tail(spec, g, "QEMU did not save", errbuf);
        t = -1;
    }
    if (t >= 0) {
        int w = qns_guest_wait(g, GRANT_TIMEOUT_MS, errbuf);
        int st = qns_guest_exit_status(g);
        if (w != 1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fail_with_tail(spec, g, "QEMU did not end cleanly after the save", errbuf);
            t = -1;
        }
    }
    for (int i = 0; i < spec->nic_count; i++) {
        if (nic[i] >= 0) {
            close(nic[i]);
        }
    }
    qns_guest_free(g);
    return t;
}

/* qcow2's header (docs/interop/qcow2.txt), big-endian. */
#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_INCOMPAT_DIRTY 1u

static uint32_t be32_at(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int qns_snapshot_disk_check(const char *path, char *errbuf)
{
    unsigned char h[104];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t got = 0;
    while (got < sizeof(h)) {
        ssize_t n = read(fd, h + got, sizeof(h) - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    uint32_t version = got >= 8 ? be32_at(h + 4) : 0;
    if (got < 72 || be32_at(h) != QCOW2_MAGIC || (version != 2 && version != 3)) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "%s is not a qcow2 image", path);
        return -1;
    }
    if (be32_at(h + 32) != 0) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "%s is an encrypted qcow2 image", path);
        return -1;
    }
    if (version == 3 && (got < sizeof(h) || be32_at(h + 72) != 0 ||
                         (be32_at(h + 76) & ~QCOW2_INCOMPAT_DIRTY) != 0)) {
        snprintf(errbuf, QNS_ERRBUF_SIZE,
                 "%s has qcow2 features qns does not take (an external data file, or "
                 "unknown ones)",
                 path);
        return -1;
    }
    return 0;
}
