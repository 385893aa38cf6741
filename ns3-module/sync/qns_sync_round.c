/*
 * qns_sync_round.c - rounds of time grants across guests: a round prepared,
 * each guest's pending records and then its grant written, and its replies
 * waited for while its frame channels are drained (qns_sync_wait.c times the
 * wait).
 */
#define _GNU_SOURCE
#include "qns_sync_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int flush_and_grant(qns_sync *s, int i, char *errbuf)
{
    sync_guest *g = &s->guests[i];
    for (int n = 0; n < qns_guest_nic_count(g->proc); n++) {
        if (qns_record_channel_flush(g->nic[n], errbuf) < 0) {
            return guest_closed(s, i, "its NIC socket refused records", 1, errbuf);
        }
        if (qns_record_channel_out_pending(g->nic[n]) > 0) {
            return 0;
        }
    }
    int32_t v = g->grant_us;
    for (;;) {
        ssize_t w = write(qns_guest_grant_fd(g->proc), &v, sizeof(v));
        if (w == (ssize_t)sizeof(v)) {
            break;
        }
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && errno == EPIPE) {
            return guest_closed(s, i, "its grant pipe is closed", 1, errbuf);
        }
        if (w < 0 && errno == EAGAIN) {
            return fail(s, errbuf, "guest %s has not read its previous grant",
                        qns_guest_name(g->proc));
        }
        return fail(s, errbuf, "guest %s: grant write failed: %s", qns_guest_name(g->proc),
                    w < 0 ? strerror(errno) : "short write");
    }
    g->grant_written = 1;
    return 0;
}

static int prepare_round(qns_sync *s, const int32_t *grants_us, char *errbuf)
{
    if (s->failed) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "the simulation already failed");
        return -1;
    }
    for (int i = 0; i < s->count; i++) {
        if (grants_us[i] < 0 && grants_us[i] != QNS_NO_GRANT) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "grant %d us for guest %s is negative", grants_us[i],
                     qns_guest_name(s->guests[i].proc));
            return -1;
        }
    }
    s->round_no++;
    for (int i = 0; i < s->count; i++) {
        sync_guest *g = &s->guests[i];
        g->start_us = g->clock_us;
        g->granted = grants_us[i] != QNS_NO_GRANT && !g->done;
        if (g->granted) {
            g->queued_ns = UINT64_MAX; /* written before this round's grant */
        }
        g->grant_us = g->granted ? grants_us[i] : 0;
        g->grant_written = 0;
        g->replied = !g->granted;
        g->reply_have = 0;
        if (g->granted) {
            g->granted_us += g->grant_us;
        }
    }
    return 0;
}

static size_t build_pollset(qns_sync *s, char *errbuf)
{
    size_t need = 1; /* the stop descriptor, last */
    for (int i = 0; i < s->count; i++) {
        need += 1 + (size_t)qns_guest_nic_count(s->guests[i].proc);
    }
    if (grow((void **)&s->pfd, &s->pfd_cap, need, sizeof(struct pollfd), errbuf) < 0) {
        return (size_t)-1;
    }
    size_t n = 0;
    for (int i = 0; i < s->count; i++) {
        sync_guest *g = &s->guests[i];
        int waiting = g->granted && !g->replied;
        s->pfd[n++] = (struct pollfd){
            .fd = waiting && g->grant_written ? qns_guest_reply_fd(g->proc) : -1,
            .events = POLLIN,
        };
        for (int k = 0; k < qns_guest_nic_count(g->proc); k++) {
            short ev = 0;
            if (waiting) {
                ev = POLLIN;
                if (qns_record_channel_out_pending(g->nic[k]) > 0) {
                    ev |= POLLOUT;
                }
            }
            s->pfd[n++] = (struct pollfd){
                .fd = ev ? qns_record_channel_fd(g->nic[k]) : -1,
                .events = ev,
            };
        }
    }
    s->pfd[n++] =
        (struct pollfd){.fd = s->opts.stop_fd > 0 ? s->opts.stop_fd : -1, .events = POLLIN};
    return n;
}

/*
 * A guest's sockets come after its reply pipe in the poll set, so poll()
 * looked at them after it found the reply, and QEMU writes a round's records
 * before its reply: sockets it found empty had no record of the round left,
 * and draining them again would only fail with EAGAIN. That holds where
 * loads are not reordered with each other (x86's total store order);
 * elsewhere the sockets are drained after every reply.
 */
static int records_seen_after_reply(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return 1;
#else
    return 0;
#endif
}

static int handle_events(qns_sync *s, char *errbuf)
{
    size_t n = 0;
    for (int i = 0; i < s->count; i++) {
        sync_guest *g = &s->guests[i];
        struct pollfd *rp = &s->pfd[n++];
        int nics = qns_guest_nic_count(g->proc);
        int nic_in = 0, nic_out = 0;
        for (int k = 0; k < nics; k++) {
            short re = s->pfd[n + (size_t)k].revents;
            nic_in |= re & (POLLIN | POLLHUP | POLLERR);
            nic_out |= re & POLLOUT;
        }
        n += (size_t)nics;
        if (g->replied) {
            continue;
        }
        if (nic_in && drain_guest(s, i, errbuf) < 0) {
            return -1;
        }
        if (g->done) {
            continue;
        }
        if ((nic_out || (nic_in && !g->grant_written)) && !g->grant_written &&
            flush_and_grant(s, i, errbuf) < 0) {
            return -1;
        }
        if (nic_out && g->grant_written) {
            for (int k = 0; k < nics; k++) {
                if (qns_record_channel_flush(g->nic[k], errbuf) < 0) {
                    return guest_closed(s, i, "its NIC socket refused records", 1, errbuf);
                }
            }
        }
        if (!g->done && rp->revents) {
            g->records_taken = records_seen_after_reply();
            int r = read_reply(s, i, errbuf);
            g->records_taken = 0;
            if (r < 0) {
                return -1;
            }
        }
    }
    return 0;
}

int qns_sync_round_begin(qns_sync *s, const int32_t *grants_us, char *errbuf)
{
    if (s->in_round) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "a round is already under way");
        return -1;
    }
    if (prepare_round(s, grants_us, errbuf) < 0) {
        return -1;
    }
    s->in_round = 1;
    for (int i = 0; i < s->count; i++) {
        if (s->guests[i].granted && flush_and_grant(s, i, errbuf) < 0) {
            return -1;
        }
    }
    return 0;
}

int qns_sync_round_end(qns_sync *s, char *errbuf)
{
    if (!s->in_round) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "no round under way");
        return -1;
    }
    if (s->failed) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "the simulation already failed");
        return -1;
    }
    round_wait w;
    round_wait_begin(s, &w);
    for (;;) {
        int waiting = -1;
        for (int i = s->count - 1; i >= 0; i--) {
            waiting = s->guests[i].replied ? waiting : i;
        }
        if (waiting < 0) {
            break;
        }
        if (stop_requested(s)) {
            return fail_stopped(s, errbuf);
        }
        size_t n = build_pollset(s, errbuf);
        if (n == (size_t)-1) {
            return fail(s, errbuf, "%s", "out of memory");
        }
        int r = round_wait_poll(s, &w, n);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(s, errbuf, "poll failed: %s", strerror(errno));
        }
        if (r == 0) {
            if (round_wait_timed_out(s, &w, waiting, errbuf) < 0) {
                return -1;
            }
            continue;
        }
        if (s->pfd[n - 1].revents) {
            return fail_stopped(s, errbuf);
        }
        if (handle_events(s, errbuf) < 0) {
            return s->stopped ? fail_stopped(s, errbuf) : -1;
        }
    }
    s->in_round = 0;
    deliver_round_frames(s);
    return 0;
}

int qns_sync_round(qns_sync *s, const int32_t *grants_us, char *errbuf)
{
    if (qns_sync_round_begin(s, grants_us, errbuf) < 0) {
        return -1;
    }
    return qns_sync_round_end(s, errbuf);
}

static int32_t *grants_to(qns_sync *s, int64_t target_us, const int64_t *targets_us,
                          int32_t *stack, char *errbuf)
{
    int32_t *grants = s->count <= 16 ? stack : malloc((size_t)s->count * sizeof(int32_t));
    if (grants == NULL) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "out of memory");
        return NULL;
    }
    for (int i = 0; i < s->count; i++) {
        const sync_guest *g = &s->guests[i];
        if (targets_us != NULL) {
            target_us = targets_us[i];
        }
        /* Grants keep each guest's own target on the round grid. */
        int64_t d = target_us - g->granted_us;
        if (g->clock_us >= target_us || d < 0) {
            grants[i] = QNS_NO_GRANT;
        } else if (d > INT32_MAX) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "grant of %lld us for guest %s exceeds %d us",
                     (long long)d, qns_guest_name(g->proc), INT32_MAX);
            if (grants != stack) {
                free(grants);
            }
            return NULL;
        } else {
            grants[i] = (int32_t)d;
        }
    }
    return grants;
}

static int round_begin_to(qns_sync *s, int64_t target_us, const int64_t *targets_us,
                          char *errbuf)
{
    int32_t stack[16] = {0};
    int32_t *grants = grants_to(s, target_us, targets_us, stack, errbuf);
    if (grants == NULL) {
        return -1;
    }
    int r = qns_sync_round_begin(s, grants, errbuf);
    if (grants != stack) {
        free(grants);
    }
    return r;
}

int qns_sync_round_begin_to(qns_sync *s, int64_t target_us, char *errbuf)
{
    return round_begin_to(s, target_us, NULL, errbuf);
}

int qns_sync_round_begin_targets(qns_sync *s, const int64_t *targets_us, char *errbuf)
{
    return round_begin_to(s, 0, targets_us, errbuf);
}

int qns_sync_round_to(qns_sync *s, int64_t target_us, char *errbuf)
{
    if (qns_sync_round_begin_to(s, target_us, errbuf) < 0) {
        return -1;
    }
    return qns_sync_round_end(s, errbuf);
}
