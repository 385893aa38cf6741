/*
 * bench_sync - rounds per second of the time-grant core against the
 * physical limit of this machine: a raw 4-byte pipe ping-pong between two
 * processes, measured in the same run. Prints one table.
 */
#define _GNU_SOURCE
#include "bench_util.h"
#include "qns_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
    double t0 = bench_now_s();
    for (long k = 1; k <= rounds; k++) {
        if (qns_sync_round_to(s, 10 * k, err) < 0) {
            fprintf(stderr, "bench: %s\n", err);
            exit(1);
        }
    }
    double dt = bench_now_s() - t0;
    qns_sync_free(s);
    return (double)rounds / dt;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FAKE_GUEST [ROUNDS]\n", argv[0]);
        return 2;
    }
    long rounds = argc > 2 ? atol(argv[2]) : 100000;
    double raw = bench_raw_pipe(rounds);
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
