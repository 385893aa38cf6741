/*
 * qns_sync_reply.c - a guest's reply to its grant: read from its pipe,
 * checked (its horizon, a reply short of the grant: a guest that stops), its
 * clock advanced, and the records it wrote before it taken.
 */
#define _GNU_SOURCE
#include "qns_sync_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * After a short reply: whether the reply pipe reaches EOF within the
 * shutdown timeout, i.e. the guest is ending rather than misbehaving. The
 * short reply is a guest's last word (a QEMU whose guest shut the machine
 * down answers the grant in flight with the time reached and exits), so
 * any byte after it means the guest is not ending.
 */
static int stopped_for_good(qns_sync *s, int i)
{
    struct pollfd p[2] = {{.fd = qns_guest_reply_fd(s->guests[i].proc), .events = POLLIN},
                          {.fd = s->opts.stop_fd > 0 ? s->opts.stop_fd : -1, .events = POLLIN}};
    int64_t deadline = now_ms() + s->opts.shutdown_timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        int r = poll(p, 2, left > 0 ? (int)left : 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r > 0 && p[1].revents) {
            s->stopped = 1;
        }
        if (r <= 0 || s->stopped) {
            return 0;
        }
        char byte;
        ssize_t n = read(p[0].fd, &byte, 1);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        return n == 0;
    }
}

/* Guest i's reply took its clock short of what it was granted: once its last
 * records are taken (which may find it done), it has either ended (its reply
 * pipe closes) or stopped short, which fails the round. */
static int stopped_short(qns_sync *s, int i, int32_t reply, char *errbuf)
{
    sync_guest *g = &s->guests[i];
    if (drain_guest(s, i, errbuf) < 0 || g->done) {
        return g->done ? 0 : -1;
    }
    if (stopped_for_good(s, i)) {
        char what[96];
        snprintf(what, sizeof(what), "reply %d us to a grant of %d us", reply, g->grant_us);
        return guest_closed(s, i, what, 1, errbuf);
    }
    return fail(s, errbuf,
                "guest %s stopped short: its clock is %lld us after %lld us granted "
                "(reply %d us to a grant of %d us in round %llu)",
                qns_guest_name(g->proc), (long long)g->clock_us, (long long)g->granted_us, reply,
                g->grant_us, (unsigned long long)s->round_no);
}

static int take_reply(qns_sync *s, int i, char *errbuf)
{
    sync_guest *g = &s->guests[i];
    int32_t reply;
    memcpy(&reply, g->reply_buf, sizeof(reply));
    g->horizon_us = QNS_HORIZON_BUSY;
    if (qns_guest_horizon(g->proc)) {
        memcpy(&g->horizon_us, g->reply_buf + sizeof(reply), sizeof(g->horizon_us));
    }
    g->replied = 1;
    g->reply_have = 0;
    if (g->horizon_us < QNS_HORIZON_OPENED) {
        return fail(s, errbuf, "guest %s sent horizon %d us with its reply in round %llu",
                    qns_guest_name(g->proc), g->horizon_us, (unsigned long long)s->round_no);
    }
    if ((g->horizon_us == QNS_HORIZON_OPENED || g->horizon_us == QNS_HORIZON_SEALED) &&
        g->open_us >= 0) {
        return fail(s, errbuf, "guest %s says %s in round %llu, but a NIC of it started at %lld us",
                    qns_guest_name(g->proc),
                    g->horizon_us == QNS_HORIZON_SEALED ? "no NIC has started" : "a NIC started",
                    (unsigned long long)s->round_no, (long long)g->open_us);
    }
    if (reply < 0) {
        return fail(s, errbuf, "guest %s replied %d us to a grant of %d us in round %llu",
                    qns_guest_name(g->proc), reply, g->grant_us, (unsigned long long)s->round_no);
    }
    if (reply > g->grant_us) {
        g->over_grant_us = g->grant_us;
        g->over_reply_us = reply;
        g->over_round = s->round_no;
    }
    g->clock_us += reply;
    g->last_reply_us = reply;
    g->rounds++;
    g->sealed = g->horizon_us == QNS_HORIZON_SEALED;
    if (g->horizon_us == QNS_HORIZON_OPENED) {
        /* A NIC started: the grant ended there, and the guest runs on. */
        g->open_us = g->clock_us;
        if (g->granted_us > g->clock_us) {
            g->granted_us = g->clock_us;
        }
    }
    if (g->clock_us < g->granted_us) {
        /* A guest that stops mid-grant (a guest OS powering off) replies with
         * what it ran and exits: that is its end, not a protocol error. */
        return stopped_short(s, i, reply, errbuf);
    }
    /* Every record of the round was written before the reply: take them all
     * (unless the poll that found the reply already did). */
    if (!g->records_taken && drain_guest(s, i, errbuf) < 0) {
        return -1;
    }
    return check_round_end(s, i, errbuf);
}

/* A reply is one int; with the horizon extension, two. */
static size_t reply_size(const sync_guest *g)
{
    return (qns_guest_horizon(g->proc) ? 2 : 1) * sizeof(int32_t);
}

int read_reply(qns_sync *s, int i, char *errbuf)
{
    sync_guest *g = &s->guests[i];
    size_t size = reply_size(g);
    for (;;) {
        ssize_t n =
            read(qns_guest_reply_fd(g->proc), g->reply_buf + g->reply_have, size - g->reply_have);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                return 0;
            }
            return fail(s, errbuf, "guest %s: reply read failed: %s", qns_guest_name(g->proc),
                        strerror(errno));
        }
        if (n == 0) {
            if (g->reply_have > 0) {
                char what[64];
                snprintf(what, sizeof(what), "truncated reply: %zu of %zu bytes", g->reply_have,
                         size);
                return guest_closed(s, i, what, 0, errbuf);
            }
            return guest_closed(s, i, "no reply", 1, errbuf);
        }
        g->reply_have += (size_t)n;
        if (g->reply_have == size) {
            return take_reply(s, i, errbuf);
        }
    }
}
