/*
 * qns_sync.c - the simulation: its options, the CPUs it pins, its guests set
 * up and what their state says; rounds of time grants across them are in
 * qns_sync_round.c (qns_sync_internal.h names the rest). One poll() loop, no
 * threads, no globals (except that SIGPIPE is ignored process-wide, as
 * DESIGN.md section 2 asks).
 */
#define _GNU_SOURCE
#include "qns_sync_internal.h"

#include "qns_limits.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Lists the CPUs the calling thread may use and keeps it on the one it is on
 * (or the first, if the OS cannot say), where guest 0 will run beside it. */
static int pin_home(qns_sync *s, char *errbuf)
{
    if (sched_getaffinity(0, sizeof(s->saved_cpus), &s->saved_cpus) < 0) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "pin: cannot read this thread's CPUs: %s",
                 strerror(errno));
        return -1;
    }
    s->cpus = calloc((size_t)CPU_COUNT(&s->saved_cpus) + 1, sizeof(int));
    if (s->cpus == NULL) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "out of memory");
        return -1;
    }
    int now = sched_getcpu();
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (CPU_ISSET(c, &s->saved_cpus)) {
            if (c == now) {
                s->home = s->cpu_count;
            }
            s->cpus[s->cpu_count++] = c;
        }
    }
    if (s->cpu_count == 0) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "pin: this thread may run on no CPU");
        return -1;
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(s->cpus[s->home], &one);
    if (sched_setaffinity(0, sizeof(one), &one) < 0) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "pin: cannot move to CPU %d: %s", s->cpus[s->home],
                 strerror(errno));
        return -1;
    }
    s->pinned = 1;
    return 0;
}

int qns_sync_spin_check(uint32_t spin_us, int pin, char *errbuf)
{
    if (spin_us > QNS_SPIN_US_MAX) {
        return qns_fail(errbuf,
                        "spin_us %" PRIu32 " is above %d (a second of busy-waiting per round)",
                        spin_us, QNS_SPIN_US_MAX);
    }
    if (pin && spin_us > 0) {
        return qns_fail(errbuf, "pin and spin do not go together: guest 0 shares the simulator's "
                                "CPU, where either side's spinning holds the other off");
    }
    return 0;
}

qns_sync *qns_sync_new(const qns_sync_options *opts, char *errbuf)
{
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
    }
    qns_sync *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "out of memory");
        return NULL;
    }
    if (opts) {
        s->opts = *opts;
    }
    if (s->opts.shutdown_timeout_ms <= 0) {
        s->opts.shutdown_timeout_ms = 2000;
    }
    if (s->opts.console_tail_lines <= 0) {
        s->opts.console_tail_lines = 3;
    }
    if (s->opts.stop_fd < 0) {
        s->opts.stop_fd = 0;
    }
    if (s->opts.watchdog_ms < 0) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "watchdog %d ms is negative", s->opts.watchdog_ms);
        free(s);
        return NULL;
    }
    if (s->opts.spin_us < 0 ||
        qns_sync_spin_check((uint32_t)s->opts.spin_us, s->opts.pin, errbuf) < 0) {
        if (s->opts.spin_us < 0) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "spin %d us is negative", s->opts.spin_us);
        }
        free(s);
        return NULL;
    }
    s->watchdog_off = strdup(s->opts.watchdog_off ? s->opts.watchdog_off : "set watchdog_ms to 0");
    if (s->watchdog_off == NULL) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "out of memory");
        free(s);
        return NULL;
    }
    s->opts.watchdog_off = s->watchdog_off;
    if (s->opts.pin && pin_home(s, errbuf) < 0) {
        free(s->cpus);
        free(s->watchdog_off);
        free(s);
        return NULL;
    }
    return s;
}

int qns_sync_add_guest(qns_sync *s, const qns_guest_spec *spec, char *errbuf)
{
    if (s->failed) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "cannot add guest: the simulation already failed");
        return -1;
    }
    if (s->count == s->cap) {
        int cap = s->cap ? s->cap * 2 : 4;
        sync_guest *p = realloc(s->guests, (size_t)cap * sizeof(*p));
        if (p == NULL) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "out of memory");
            return -1;
        }
        s->guests = p;
        s->cap = cap;
    }
    sync_guest *g = &s->guests[s->count];
    memset(g, 0, sizeof(*g));
    g->queued_ns = UINT64_MAX;
    g->open_us = -1;
    qns_guest_spec placed = *spec;
    if (s->pinned) {
        placed.pin_cpu = 1 + s->cpus[(s->home + s->count) % s->cpu_count];
    }
    g->proc = qns_guest_spawn(&placed, errbuf);
    if (g->proc == NULL) {
        return -1;
    }
    for (int i = 0; i < spec->nic_count; i++) {
        int fd = qns_guest_take_nic_fd(g->proc, i);
        g->nic[i] = qns_record_channel_new(fd, errbuf);
        if (g->nic[i] == NULL || qns_record_channel_queue_hello(g->nic[i], errbuf) < 0) {
            if (g->nic[i] == NULL) {
                close(fd);
            }
            for (int k = 0; k <= i; k++) {
                qns_record_channel_free(g->nic[k]);
            }
            qns_guest_free(g->proc);
            return -1;
        }
    }
    return s->count++;
}

int qns_sync_guest_count(const qns_sync *s)
{
    return s->count;
}

const qns_guest *qns_sync_guest(const qns_sync *s, int guest)
{
    return guest >= 0 && guest < s->count ? s->guests[guest].proc : NULL;
}

void qns_sync_set_frame_handler(qns_sync *s, qns_sync_frame_fn fn, void *ctx)
{
    s->frame_fn = fn;
    s->frame_ctx = ctx;
}

/* ---- failures ----------------------------------------------------------- */

int fail(qns_sync *s, char *errbuf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, QNS_ERRBUF_SIZE, fmt, ap);
    va_end(ap);
    s->failed = 1;
    return -1;
}

int64_t qns_sync_clock_us(const qns_sync *s, int guest)
{
    return s->guests[guest].clock_us;
}

int64_t qns_sync_granted_us(const qns_sync *s, int guest)
{
    return s->guests[guest].granted_us;
}

uint64_t qns_sync_rounds(const qns_sync *s, int guest)
{
    return s->guests[guest].rounds;
}

uint64_t qns_sync_frames_in(const qns_sync *s, int guest)
{
    uint64_t n = 0;
    const sync_guest *g = &s->guests[guest];
    for (int k = 0; k < qns_guest_nic_count(g->proc); k++) {
        n += qns_record_channel_frames_in(g->nic[k]);
    }
    return n;
}

uint64_t qns_sync_frames_out(const qns_sync *s, int guest)
{
    uint64_t n = 0;
    const sync_guest *g = &s->guests[guest];
    for (int k = 0; k < qns_guest_nic_count(g->proc); k++) {
        n += qns_record_channel_frames_out(g->nic[k]);
    }
    return n;
}

int32_t qns_sync_last_reply_us(const qns_sync *s, int guest)
{
    return s->guests[guest].last_reply_us;
}

int qns_sync_guest_done(const qns_sync *s, int guest)
{
    return s->guests[guest].done;
}

int64_t qns_sync_horizon_us(const qns_sync *s, int guest)
{
    const sync_guest *g = &s->guests[guest];
    if (g->done) {
        return INT64_MAX;
    }
    if (!g->replied || g->horizon_us < 0) { /* busy, sealed or just opened */
        return g->clock_us;
    }
    /* A frame queued for it wakes it up: it is not in the reply's horizon. */
    int64_t h = g->horizon_us == QNS_HORIZON_NONE ? INT64_MAX : g->clock_us + g->horizon_us;
    if (g->queued_ns != UINT64_MAX && (int64_t)(g->queued_ns / 1000) < h) {
        h = (int64_t)(g->queued_ns / 1000);
    }
    return h;
}

int qns_sync_guest_sealed(const qns_sync *s, int guest)
{
    const sync_guest *g = &s->guests[guest];
    return g->sealed && !g->done;
}

int64_t qns_sync_opened_us(const qns_sync *s, int guest)
{
    return s->guests[guest].open_us;
}

int qns_sync_drop_unopened(qns_sync *s, int guest, uint64_t time_ns)
{
    sync_guest *g = &s->guests[guest];
    int before_open = g->open_us >= 0 && time_ns < (uint64_t)g->open_us * 1000;
    int passed_sealed = g->sealed && time_ns < (uint64_t)g->clock_us * 1000;
    if (!before_open && !passed_sealed) {
        return 0;
    }
    g->unopened++;
    return 1;
}

uint64_t qns_sync_frames_unopened(const qns_sync *s, int guest)
{
    return s->guests[guest].unopened;
}

uint64_t qns_sync_late_records(const qns_sync *s, int guest)
{
    return s->guests[guest].late;
}

uint64_t qns_sync_frames_dropped(const qns_sync *s, int guest)
{
    return s->guests[guest].dropped;
}

int qns_sync_failed(const qns_sync *s)
{
    return s->failed;
}

int qns_sync_stopped(const qns_sync *s)
{
    return s->stopped;
}

void qns_sync_free(qns_sync *s)
{
    if (s == NULL) {
        return;
    }
    qns_sync_shutdown(s);
    for (int i = 0; i < s->count; i++) {
        qns_guest_free(s->guests[i].proc);
    }
    free(s->guests);
    free(s->rx);
    free(s->arena);
    free(s->pfd);
    if (s->pinned && sched_setaffinity(0, sizeof(s->saved_cpus), &s->saved_cpus) < 0) {
        /* Nothing to report it to: the thread merely stays on its one CPU. */
    }
    free(s->cpus);
    free(s->watchdog_off);
    free(s);
}
