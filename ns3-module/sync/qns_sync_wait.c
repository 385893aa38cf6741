/*
 * qns_sync_wait.c - a round's wait for its replies: the poll (after a spin,
 * with spin_us), woken when the watchdog or a wait report is due. The
 * watchdog judges a guest that has not replied by the CPU time it used.
 */
#define _GNU_SOURCE
#include "qns_sync_internal.h"

#include <stdarg.h>
#include <stdio.h>

/* ---- the watchdog ---------------------------------------------------------- */

/*
 * A guest that has not replied within the watchdog's window is judged by
 * the CPU time its process used in it: a QEMU that runs is busy with the
 * grant, however slowly a crowded host lets it go, and only one that used
 * (next to) none is hung. A grant's first moments are left out of the
 * window (the guest takes the grant then), and so are rounds that end
 * before it, which never pay for reading a guest's CPU time.
 */
static int64_t cpu_window_skip_ms(int watchdog_ms)
{
    return watchdog_ms / 10 < 1000 ? watchdog_ms / 10 : 1000;
}

/*
 * Progress is at least 1% of the window in CPU time. A hung QEMU sleeps:
 * blocked on a lock, or only its main loop waking for its timers now and
 * then, which costs it well under 1% of a CPU; a starved guest that gets
 * 1% of a CPU still runs.
 */
static int made_progress(int64_t used_us, int64_t window_ms)
{
    return used_us > 0 && used_us >= window_ms * 10;
}

/* Where each guest still waited for starts its window: its CPU time now. */
static void start_cpu_windows(qns_sync *s)
{
    for (int i = 0; i < s->count; i++) {
        sync_guest *g = &s->guests[i];
        char why[QNS_ERRBUF_SIZE];
        if (g->replied) {
            continue;
        }
        if (qns_guest_cpu_us(g->proc, &g->cpu_us, why) < 0) {
            g->cpu_us = -1;
            snprintf(g->cpu_err, sizeof(g->cpu_err), "%s", why);
        }
    }
}

static size_t append(char *buf, size_t size, size_t o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static size_t append(char *buf, size_t size, size_t o, const char *fmt, ...)
{
    if (o >= size) {
        return o;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + o, size - o, fmt, ap);
    va_end(ap);
    return n < 0 ? o : o + (size_t)n;
}

/* The NIC whose records for the guest wait to be written, which keeps its
 * grant from being written: the guest stopped reading it and its socket is
 * full. -1 when the grant was written. */
static int unread_nic(const sync_guest *g)
{
    for (int n = 0; !g->grant_written && n < qns_guest_nic_count(g->proc); n++) {
        if (qns_record_channel_out_pending(g->nic[n]) > 0) {
            return n;
        }
    }
    return -1;
}

/*
 * Names the hung guests in msg, with how long they were waited for and the
 * CPU time they used in the last window (at most most_us, for the idle ones).
 */
static void describe_hung(const qns_sync *s, char *msg, size_t size, int64_t waited_ms,
                          int64_t window_ms, int idle, int64_t most_us)
{
    size_t o = 0;
    /* Passes: CPU time known, then unknown; each for guests that did not
     * reply, then for those that did not read their frames. */
    for (int pass = 0; pass < 4; pass++) {
        int cpu_unknown = pass / 2, unread = pass % 2, named = 0;
        const char *err = NULL;
        for (int i = 0; i < s->count; i++) {
            const sync_guest *g = &s->guests[i];
            int nic = unread_nic(g);
            if (!g->hung || (g->cpu_us < 0) != cpu_unknown || (nic >= 0) != unread) {
                continue;
            }
            if (named == 0) {
                o = append(msg, size, o, "%sguest ", o ? "; " : "");
            }
            o = append(msg, size, o, "%s%s", named ? ", " : "", qns_guest_name(g->proc));
            if (unread) {
                o = append(msg, size, o, " nic %d", nic);
            }
            err = err ? err : g->cpu_err;
            named++;
        }
        if (named == 0) {
            continue;
        }
        if (unread) {
            o = append(msg, size, o,
                       " did not read %s frames within %lld ms in round %llu (the socket is full)",
                       named > 1 ? "their" : "its", (long long)waited_ms,
                       (unsigned long long)s->round_no);
        } else {
            o = append(msg, size, o, " did not reply within %lld ms in round %llu",
                       (long long)waited_ms, (unsigned long long)s->round_no);
        }
        if (cpu_unknown) {
            o = append(msg, size, o, " and its CPU time is unknown (%s; hung?)", err);
        } else if (most_us < 1000) {
            /* A sleeping process can be woken for a few us now and then. */
            o = append(msg, size, o, " and used no CPU in the last %lld ms (0 ms; hung)",
                       (long long)window_ms);
        } else {
            o = append(
                msg, size, o, " and used %s%lld ms of CPU in the last %lld ms, under 1%% (hung)",
                idle > 1 ? "at most " : "", (long long)(most_us / 1000), (long long)window_ms);
        }
    }
}

/*
 * The window of `window_ms` (after `waited_ms` of the round) has ended with
 * guests still to reply. Those that used CPU in it start a new one; those
 * that did not, or whose CPU time cannot be read, are hung and fail the
 * round. Returns 0 when the wait goes on.
 */
static int judge_waiting(qns_sync *s, int64_t waited_ms, int64_t window_ms, char *errbuf)
{
    int idle = 0, unknown = 0;
    int64_t most_us = 0;
    for (int i = 0; i < s->count; i++) {
        sync_guest *g = &s->guests[i];
        char why[QNS_ERRBUF_SIZE];
        int64_t now_cpu;
        if (g->replied) {
            continue;
        }
        if (g->cpu_us < 0) {
            g->hung = 1;
        } else if (qns_guest_cpu_us(g->proc, &now_cpu, why) < 0) {
            g->cpu_us = -1;
            snprintf(g->cpu_err, sizeof(g->cpu_err), "%s", why);
            g->hung = 1;
        } else if (!made_progress(now_cpu - g->cpu_us, window_ms)) {
            most_us = now_cpu - g->cpu_us > most_us ? now_cpu - g->cpu_us : most_us;
            g->hung = 1;
        } else {
            g->cpu_us = now_cpu;
        }
        idle += g->hung && g->cpu_us >= 0;
        unknown += g->hung && g->cpu_us < 0;
    }
    if (idle + unknown == 0) {
        return 0;
    }
    char msg[QNS_ERRBUF_SIZE];
    describe_hung(s, msg, sizeof(msg), waited_ms, window_ms, idle, most_us);
    /* Whoever else the round waits for is given up on with them. */
    for (int i = 0; i < s->count; i++) {
        s->guests[i].hung = s->guests[i].granted && !s->guests[i].replied;
    }
    return fail(s, errbuf, "%s; to wait for %s however long it takes, %s", msg,
                idle + unknown > 1 ? "them" : "it", s->watchdog_off);
}

/* ---- the round's wait ---------------------------------------------------- */

void round_wait_begin(const qns_sync *s, round_wait *w)
{
    w->start = now_ms();
    w->watchdog_ms = s->opts.watchdog_ms;
    w->deadline = w->watchdog_ms > 0 ? w->start + w->watchdog_ms : 0;
    w->window_at = w->watchdog_ms > 0 ? w->start + cpu_window_skip_ms(w->watchdog_ms) : 0;
    w->window_ms = w->watchdog_ms - cpu_window_skip_ms(w->watchdog_ms);
    w->windows = 1;
    w->report_ms = s->opts.wait_fn ? s->opts.wait_report_ms : 0;
    w->next_report = w->report_ms > 0 ? w->start + w->report_ms : 0;
    w->spin_until = s->opts.spin_us > 0 ? now_us() + s->opts.spin_us : 0;
}

int round_wait_poll(qns_sync *s, const round_wait *w, size_t n)
{
    int64_t wake = w->deadline && (!w->next_report || w->deadline < w->next_report)
                       ? w->deadline
                       : w->next_report;
    wake = w->window_at && w->window_at < wake ? w->window_at : wake;
    int timeout = -1;
    if (wake) {
        int64_t left = wake - now_ms();
        timeout = left > 0 ? (int)left : 0;
    }
    /* A sleeping simulator is woken by every reply; spinning spends a
     * core to save that (see qns_sync_options.spin_us). */
    if (w->spin_until == 0) {
        return poll(s->pfd, n, timeout);
    }
    int r = poll(s->pfd, n, 0);
    while (r == 0 && now_us() < w->spin_until) {
        r = poll(s->pfd, n, 0);
    }
    if (r == 0) {
        r = poll(s->pfd, n, timeout);
    }
    return r;
}

int round_wait_timed_out(qns_sync *s, round_wait *w, int waiting, char *errbuf)
{
    int64_t now = now_ms();
    if (w->window_at && now >= w->window_at) {
        start_cpu_windows(s);
        w->window_at = 0;
        /* A host too busy to wake us in time still gets a whole window. */
        w->deadline = now + w->window_ms > w->deadline ? now + w->window_ms : w->deadline;
    }
    if (w->deadline && now >= w->deadline) {
        /* The message says the nominal times, which a run can repeat. */
        if (judge_waiting(s, (int64_t)w->watchdog_ms * w->windows, w->window_ms, errbuf) < 0) {
            return -1;
        }
        w->windows++;
        w->window_ms = w->watchdog_ms;
        w->deadline = now + w->watchdog_ms;
    }
    if (w->next_report && now >= w->next_report) {
        w->next_report = now + w->report_ms;
        if (s->opts.wait_fn(s->opts.wait_ctx, waiting, now - w->start) != 0) {
            return fail_stopped(s, errbuf);
        }
    }
    return 0;
}
