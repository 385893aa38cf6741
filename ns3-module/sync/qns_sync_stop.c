/*
 * qns_sync_stop.c - stop requests, a guest's end (how it ended, what its
 * console said) and the shutdown of every guest.
 */
#define _GNU_SOURCE
#include "qns_sync_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

/* ---- stop requests -------------------------------------------------------- */

/* Whether a stop was requested: the stop descriptor turned readable (it
 * stays so, which is why one look is enough from then on). */
int stop_requested(qns_sync *s)
{
    if (!s->stopped && s->opts.stop_fd > 0) {
        struct pollfd p = {.fd = s->opts.stop_fd, .events = POLLIN};
        int r;
        do {
            r = poll(&p, 1, 0);
        } while (r < 0 && errno == EINTR);
        s->stopped = r > 0;
    }
    return s->stopped;
}

/* Sleeps up to ms of wall time; before a stop request, a request ends it
 * early. Returns whether a stop was requested. */
static int nap(qns_sync *s, int ms)
{
    struct pollfd p = {.fd = !s->stopped && s->opts.stop_fd > 0 ? s->opts.stop_fd : -1,
                       .events = POLLIN};
    if (poll(&p, 1, ms) > 0) {
        s->stopped = 1;
    }
    return s->stopped;
}

/* Waits up to timeout_ms for guest i's process to end, waking on a stop
 * request. Returns 1 when it has ended, 0 when not (yet), -1 on error. */
static int wait_guest(qns_sync *s, int i, int timeout_ms, char *errbuf)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int r = qns_guest_wait(s->guests[i].proc, 0, errbuf);
        if (r != 0 || now_ms() >= deadline || stop_requested(s)) {
            return r;
        }
        nap(s, 1);
    }
}

int fail_stopped(qns_sync *s, char *errbuf)
{
    s->stopped = 1;
    return fail(s, errbuf, "stopped on request in round %llu", (unsigned long long)s->round_no);
}

/*
 * The guest's pipe or socket closed: say how it ended and what it printed.
 * With `may_finish`, a clean exit under exit_zero_is_done marks the guest
 * done instead, and 0 is returned.
 */
const char closed_nic[] = "closed its NIC socket";

int guest_closed(qns_sync *s, int i, const char *what, int may_finish, char *errbuf)
{
    sync_guest *g = &s->guests[i];
    char end[128], tail[QNS_ERRBUF_SIZE / 2], werr[QNS_ERRBUF_SIZE];
    wait_guest(s, i, s->opts.shutdown_timeout_ms, werr);
    /* A guest that died closes its pipe and its sockets at once; whichever
     * the poll reported first, the message is the same. */
    if (what == closed_nic && qns_guest_ended(g->proc)) {
        what = "no reply";
    }
    if (may_finish && s->opts.exit_zero_is_done && qns_guest_ended(g->proc) &&
        WIFEXITED(qns_guest_exit_status(g->proc)) &&
        WEXITSTATUS(qns_guest_exit_status(g->proc)) == 0) {
        g->done = 1;
        g->replied = 1;
        return 0;
    }
    qns_guest_describe_end(g->proc, end, sizeof(end));
    qns_guest_console_tail(g->proc, s->opts.console_tail_lines, tail, sizeof(tail));
    return fail(s, errbuf, "guest %s %s (%s) at virtual time %lld us, round %llu%s%s",
                qns_guest_name(g->proc), end, what, (long long)g->clock_us,
                (unsigned long long)s->round_no, tail[0] ? "; console: " : "", tail);
}

/*
 * On a stop request: a guest in the middle of a grant does not see EOF until
 * the grant ends, so it gets SIGTERM now, and SIGKILL once the grace is over
 * (marked hung). One whose reply is already in its pipe waits for a grant
 * and exits by itself on EOF. Done before the pipes close where it can be,
 * so a guest never gets SIGTERM while it exits on EOF.
 */
static void stop_guests_mid_grant(qns_sync *s)
{
    char errbuf[QNS_ERRBUF_SIZE];
    for (int i = 0; i < s->count; i++) {
        sync_guest *g = &s->guests[i];
        int fd = qns_guest_reply_fd(g->proc);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int replied = g->replied || (fd >= 0 && poll(&p, 1, 0) > 0);
        g->hung = s->in_round && g->granted && g->grant_written && !replied &&
                  qns_guest_wait(g->proc, 0, errbuf) == 0;
        if (g->hung && kill(qns_guest_pid(g->proc), SIGTERM) < 0) {
            /* ESRCH: it has just ended; it is reaped below */
        }
    }
}

void qns_sync_shutdown(qns_sync *s)
{
    int stopping = stop_requested(s);
    if (stopping) {
        stop_guests_mid_grant(s);
    }
    for (int i = 0; i < s->count; i++) {
        sync_guest *g = &s->guests[i];
        for (int k = 0; k < qns_guest_nic_count(g->proc); k++) {
            qns_record_channel_free(g->nic[k]);
            g->nic[k] = NULL;
        }
    }
    /* Close every guest's pipes first so they all exit in parallel. */
    for (int i = 0; i < s->count; i++) {
        qns_guest_close(s->guests[i].proc);
    }
    /* A guest the watchdog gave up on is not waited for. */
    for (int i = 0; i < s->count; i++) {
        if (s->guests[i].hung && !stopping) {
            qns_guest_shutdown(s->guests[i].proc, 0); /* kills and reaps */
        }
    }
    char errbuf[QNS_ERRBUF_SIZE];
    int64_t now = now_ms();
    int64_t deadline = now + s->opts.shutdown_timeout_ms;
    int64_t grace_end = stopping ? now + QNS_SYNC_STOP_GRACE_MS : 0;
    for (;;) {
        if (!stopping && stop_requested(s)) {
            stopping = 1;
            stop_guests_mid_grant(s);
            grace_end = now_ms() + QNS_SYNC_STOP_GRACE_MS;
        }
        if (grace_end && now_ms() >= grace_end) {
            for (int i = 0; i < s->count; i++) {
                if (s->guests[i].hung) {
                    qns_guest_shutdown(s->guests[i].proc, 0);
                }
            }
            grace_end = 0;
        }
        int running = 0;
        for (int i = 0; i < s->count; i++) {
            running += qns_guest_wait(s->guests[i].proc, 0, errbuf) == 0;
        }
        if (running == 0 || now_ms() >= deadline) {
            break;
        }
        nap(s, 1);
    }
    for (int i = 0; i < s->count; i++) {
        qns_guest_shutdown(s->guests[i].proc, 0); /* kills and reaps what is left */
    }
}
