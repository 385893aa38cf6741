/*
 * bench_sync - rounds per second of the time-grant core against the
 * physical limit of this machine: a raw 4-byte pipe ping-pong between two
 * processes, measured in the same run. Prints one table.
 */
#define _GNU_SOURCE
#include "qns_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int xfer(int fd, void *p, int out)
{
    for (;;) {
        ssize_t n = out ? write(fd, p, 4) : read(fd, p, 4);
        if (n == 4) {
            return 0;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return -1;
    }
}

static double raw_pipe(long rounds)
{
    int a[2], b[2];
    if (pipe2(a, O_CLOEXEC) < 0 || pipe2(b, O_CLOEXEC) < 0) {
        perror("pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid == 0) {
        int v;
        close(a[1]);
        close(b[0]);
        while (xfer(a[0], &v, 0) == 0 && xfer(b[1], &v, 1) == 0) {
        }
        _exit(0);
    }
    close(a[0]);
    close(b[1]);
    int v = 10;
    double t0 = now_s();
    for (long i = 0; i < rounds; i++) {
        if (xfer(a[1], &v, 1) < 0 || xfer(b[0], &v, 0) < 0) {
            fprintf(stderr, "raw pipe failed\n");
            exit(1);
        }
    }
    double dt = now_s() - t0;
    close(a[1]);
    close(b[0]);
    waitpid(pid, NULL, 0);
    return rounds / dt;
}

static double core(const char *fake, int guests, int nics, long rounds)
{
    char err[QNS_ERRBUF_SIZE];
    qns_sync *s = qns_sync_new(NULL, err);
    for (int i = 0; i < guests; i++) {
        char q[64], nd[64], name[16];
        const char *argv[8] = {fake, "-qqq", q};
        int n = 3;
        qns_guest_qqq_option(q, sizeof(q));
        if (nics) {
            qns_guest_netdev_option(nd, sizeof(nd), "n0", 0);
            argv[n++] = "-netdev";
            argv[n++] = nd;
        }
        argv[n] = NULL;
        snprintf(name, sizeof(name), "g%d", i);
        qns_guest_spec spec = {.name = name, .argv = argv, .nic_count = nics};
        if (qns_sync_add_guest(s, &spec, err) < 0) {
            fprintf(stderr, "bench: %s\n", err);
            exit(1);
        }
    }
    double t0 = now_s();
    for (long k = 1; k <= rounds; k++) {
        if (qns_sync_round_to(s, 10 * k, err) < 0) {
            fprintf(stderr, "bench: %s\n", err);
            exit(1);
        }
    }
    double dt = now_s() - t0;
    qns_sync_free(s);
    return rounds / dt;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FAKE_GUEST [ROUNDS]\n", argv[0]);
        return 2;
    }
    long rounds = argc > 2 ? atol(argv[2]) : 100000;
    double raw = raw_pipe(rounds);
    double c1 = core(argv[1], 1, 0, rounds);
    double c1n = core(argv[1], 1, 1, rounds);
    double c4 = core(argv[1], 4, 0, rounds / 4);
    printf("time-grant core, %ld rounds of 10 us grants (fake guest)\n", rounds);
    printf("%-36s %14s %10s\n", "what", "rounds/s", "vs raw");
    printf("%-36s %14.0f %9.1f%%\n", "raw pipe ping-pong (baseline)", raw, 100.0);
    printf("%-36s %14.0f %9.1f%%\n", "core, 1 guest", c1, 100 * c1 / raw);
    printf("%-36s %14.0f %9.1f%%\n", "core, 1 guest with 1 NIC", c1n, 100 * c1n / raw);
    printf("%-36s %14.0f %9.1f%%\n", "core, 4 guests", c4, 100 * c4 / raw);
    return 0;
}
