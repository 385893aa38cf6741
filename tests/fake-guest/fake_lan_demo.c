/*
 * fake_lan_demo - two fake guests on a simulated wire, driven by the
 * time-grant core: alice sends a frame every 100 us, bob echoes each at
 * once, and every frame crosses the wire with a fixed delay. Shows exact
 * virtual-time frame timing without QEMU or ns-3.
 *
 * Usage: fake_lan_demo FAKE_GUEST [OUTDIR]
 */
#define _GNU_SOURCE
#include "qns_sync.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUANTUM_US 10
#define WIRE_DELAY_NS 50000
#define FRAMES 10

typedef struct lan {
    qns_sync *s;
    int failed;
    char err[QNS_ERRBUF_SIZE];
} lan;

/* Whatever one guest sends reaches the other WIRE_DELAY_NS later. */
static void relay(void *ctx, const qns_sync_frame *f)
{
    lan *l = ctx;
    int to = 1 - f->guest;
    printf("  %-5s sent %4u bytes at %9" PRIu64 " ns -> %-5s receives it at %9" PRIu64 " ns\n",
           f->guest == 0 ? "alice" : "bob", f->length, f->time_ns, to == 0 ? "alice" : "bob",
           f->time_ns + WIRE_DELAY_NS);
    if (!l->failed && qns_sync_send_frame(l->s, to, f->nic, f->time_ns + WIRE_DELAY_NS, f->data,
                                          f->length, l->err) < 0) {
        l->failed = 1;
    }
}

static int add(lan *l, const char *name, const char *fake, const char *console,
               const char *action)
{
    char q[64], nd[64];
    qns_guest_qqq_option(q, sizeof(q));
    qns_guest_netdev_option(nd, sizeof(nd), "n0", 0);
    const char *argv[] = {fake, "-qqq", q, "-netdev", nd, action, NULL};
    qns_guest_spec spec = {.name = name, .argv = argv, .nic_count = 1, .console_path = console};
    return qns_sync_add_guest(l->s, &spec, l->err);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FAKE_GUEST [OUTDIR]\n", argv[0]);
        return 2;
    }
    const char *out = argc > 2 ? argv[2] : ".";
    char ca[512], cb[512], every[64];
    snprintf(ca, sizeof(ca), "%s/alice.console", out);
    snprintf(cb, sizeof(cb), "%s/bob.console", out);
    snprintf(every, sizeof(every), "every:0:100000:0:98:%d", FRAMES);

    lan l = {0};
    qns_sync_options o = {.watchdog_ms = 5000};
    l.s = qns_sync_new(&o, l.err);
    if (l.s == NULL || add(&l, "alice", argv[1], ca, every) < 0 ||
        add(&l, "bob", argv[1], cb, "echo:0") < 0) {
        fprintf(stderr, "fake_lan_demo: %s\n", l.err);
        qns_sync_free(l.s);
        return 1;
    }
    qns_sync_set_frame_handler(l.s, relay, &l);
    printf("fake LAN: quantum %d us, wire delay %d ns, %d frames\n", QUANTUM_US, WIRE_DELAY_NS,
           FRAMES);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t end_us = FRAMES * 100 + 200;
    for (int64_t t = QUANTUM_US; t <= end_us && !l.failed; t += QUANTUM_US) {
        if (qns_sync_round_to(l.s, t, l.err) < 0) {
            l.failed = 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (l.failed) {
        fprintf(stderr, "fake_lan_demo: %s\n", l.err);
        qns_sync_free(l.s);
        return 1;
    }
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("virtual %" PRId64 " us in %.3f s wall: %" PRIu64 " rounds, alice %" PRIu64
           " frames in, bob %" PRIu64 " frames in\n",
           qns_sync_clock_us(l.s, 0), wall, qns_sync_rounds(l.s, 0), qns_sync_frames_in(l.s, 0),
           qns_sync_frames_in(l.s, 1));
    qns_sync_free(l.s);
    return 0;
}
