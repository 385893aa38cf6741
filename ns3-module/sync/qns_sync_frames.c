/*
 * qns_sync_frames.c - frames out to guests and in from them: a frame queued
 * for a guest's NIC, the records its sockets hold taken and checked (in its
 * round, in order, never late), the round's frames handed on in their order
 * and the checks at the run's end.
 */
#define _GNU_SOURCE
#include "qns_sync_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_nic(const qns_sync *s, int guest, int nic, char *errbuf)
{
    if (guest < 0 || guest >= s->count) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "no guest %d (have %d)", guest, s->count);
        return -1;
    }
    if (nic < 0 || nic >= qns_guest_nic_count(s->guests[guest].proc)) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s has no NIC %d",
                 qns_guest_name(s->guests[guest].proc), nic);
        return -1;
    }
    return 0;
}

int qns_sync_send_frame(qns_sync *s, int guest, int nic, uint64_t time_ns, const uint8_t *data,
                        uint32_t length, char *errbuf)
{
    if (check_nic(s, guest, nic, errbuf) < 0) {
        return -1;
    }
    if (s->guests[guest].done) {
        s->guests[guest].dropped++;
        return 0;
    }
    if (time_ns < s->guests[guest].queued_ns) {
        s->guests[guest].queued_ns = time_ns;
    }
    if (qns_record_channel_queue_frame(s->guests[guest].nic[nic], time_ns, data, length, errbuf) <
        0) {
        char why[QNS_ERRBUF_SIZE];
        snprintf(why, sizeof(why), "%s", errbuf);
        snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s nic %d: %s",
                 qns_guest_name(s->guests[guest].proc), nic, why);
        return -1;
    }
    return 0;
}

/* ---- receiving ---------------------------------------------------------- */

typedef struct rx_ctx {
    qns_sync *s;
    int guest;
    int nic;
} rx_ctx;

int grow(void **p, size_t *cap, size_t need, size_t elem, char *errbuf)
{
    if (need <= *cap) {
        return 0;
    }
    size_t c = *cap ? *cap : 64;
    while (c < need) {
        c *= 2;
    }
    void *q = realloc(*p, c * elem);
    if (q == NULL) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "out of memory buffering received frames");
        return -1;
    }
    *p = q;
    *cap = c;
    return 0;
}

/*
 * What a guest sends must fit the protocol: each frame stamped inside the
 * round that carried it (checked against the round's end once the guest
 * replied), no earlier than its NIC's previous one; a late record means the
 * guest saw one of our frames after its instant, which must never happen.
 * The caller names the guest and NIC.
 */
static int check_record(sync_guest *g, int nic, const qns_record_header *hdr,
                        const uint8_t *payload, char *errbuf)
{
    if (hdr->type == QNS_RECORD_LATE) {
        g->late++;
        snprintf(errbuf, QNS_ERRBUF_SIZE,
                 "a frame stamped %" PRIu64 " ns reached the NIC late, at %" PRIu64
                 " ns of the guest's clock",
                 qns_record_late_wanted(payload), hdr->time_ns);
        return -1;
    }
    uint64_t start_ns = (uint64_t)g->start_us * 1000;
    if (hdr->time_ns < start_ns) {
        snprintf(errbuf, QNS_ERRBUF_SIZE,
                 "frame stamped %" PRIu64 " ns is before its round, which began at %" PRIu64 " ns",
                 hdr->time_ns, start_ns);
        return -1;
    }
    if (hdr->time_ns < g->last_tx_ns[nic]) {
        snprintf(errbuf, QNS_ERRBUF_SIZE,
                 "frame stamped %" PRIu64 " ns is earlier than the NIC's previous frame, stamped "
                 "%" PRIu64 " ns",
                 hdr->time_ns, g->last_tx_ns[nic]);
        return -1;
    }
    g->last_tx_ns[nic] = hdr->time_ns;
    if (hdr->time_ns > g->max_tx_ns) {
        g->max_tx_ns = hdr->time_ns;
        g->max_tx_nic = nic;
    }
    return 0;
}

static int on_record(void *vctx, const qns_record_header *hdr, const uint8_t *frame, char *errbuf)
{
    rx_ctx *c = vctx;
    qns_sync *s = c->s;
    if (hdr->type == QNS_RECORD_UNOPENED) {
        s->guests[c->guest].unopened++;
        return 0;
    }
    if (check_record(&s->guests[c->guest], c->nic, hdr, frame, errbuf) < 0) {
        return -1;
    }
    if (grow((void **)&s->rx, &s->rx_cap, s->rx_count + 1, sizeof(rx_frame), errbuf) < 0 ||
        grow((void **)&s->arena, &s->arena_cap, s->arena_used + hdr->length, 1, errbuf) < 0) {
        return -1;
    }
    memcpy(s->arena + s->arena_used, frame, hdr->length);
    s->rx[s->rx_count++] = (rx_frame){
        .time_ns = hdr->time_ns,
        .seq = s->rx_seq++,
        .guest = c->guest,
        .nic = c->nic,
        .offset = s->arena_used,
        .length = hdr->length,
    };
    s->arena_used += hdr->length;
    return 0;
}

static int rx_order(const void *a, const void *b)
{
    const rx_frame *x = a, *y = b;
    if (x->time_ns != y->time_ns) {
        return x->time_ns < y->time_ns ? -1 : 1;
    }
    if (x->guest != y->guest) {
        return x->guest < y->guest ? -1 : 1;
    }
    if (x->nic != y->nic) {
        return x->nic < y->nic ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void deliver_round_frames(qns_sync *s)
{
    if (s->rx_count == 0) {
        return;
    }
    qsort(s->rx, s->rx_count, sizeof(rx_frame), rx_order);
    for (size_t i = 0; s->frame_fn && i < s->rx_count; i++) {
        const rx_frame *r = &s->rx[i];
        qns_sync_frame f = {
            .guest = r->guest,
            .nic = r->nic,
            .time_ns = r->time_ns,
            .data = s->arena + r->offset,
            .length = r->length,
        };
        s->frame_fn(s->frame_ctx, &f);
    }
    s->rx_count = 0;
    s->arena_used = 0;
}

/* Takes every record the guest's sockets hold; a protocol error on any NIC
 * is reported before a closed socket, which says less. */
int drain_guest(qns_sync *s, int i, char *errbuf)
{
    sync_guest *g = &s->guests[i];
    int closed = 0;
    for (int n = 0; n < qns_guest_nic_count(g->proc); n++) {
        rx_ctx c = {s, i, n};
        int r = qns_record_channel_drain(g->nic[n], on_record, &c, errbuf);
        if (r < 0) {
            char why[QNS_ERRBUF_SIZE];
            snprintf(why, sizeof(why), "%s", errbuf);
            return fail(s, errbuf, "guest %s nic %d: %s", qns_guest_name(g->proc), n, why);
        }
        closed |= r == 1;
    }
    if (closed && !g->done) {
        /* A guest that shut down wrote its last reply before its sockets
         * closed: take it first, so its clock is the instant it stopped. */
        if (g->granted && g->grant_written && !g->replied &&
            (read_reply(s, i, errbuf) < 0 || g->done)) {
            return g->done ? 0 : -1;
        }
        return guest_closed(s, i, closed_nic, 1, errbuf);
    }
    return 0;
}

/* A frame stamped after the instant the guest's reply says it reached (in
 * whole microseconds, so within the microsecond after it) was not sent in
 * this round. */
int check_round_end(qns_sync *s, int i, char *errbuf)
{
    sync_guest *g = &s->guests[i];
    uint64_t end_ns = (uint64_t)(g->clock_us + 1) * 1000;
    if (g->max_tx_ns >= end_ns) {
        return fail(s, errbuf,
                    "guest %s nic %d: frame stamped %" PRIu64
                    " ns is after the end of its round at %" PRIu64 " ns",
                    qns_guest_name(g->proc), g->max_tx_nic, g->max_tx_ns,
                    (uint64_t)g->clock_us * 1000);
    }
    return 0;
}

/* What a guest's NIC holds of a record it did not finish. */
static int check_whole_records(qns_sync *s, int i, char *errbuf)
{
    sync_guest *g = &s->guests[i];
    for (int n = 0; n < qns_guest_nic_count(g->proc); n++) {
        rx_ctx c = {s, i, n};
        if (qns_record_channel_drain(g->nic[n], on_record, &c, errbuf) < 0) {
            char why[QNS_ERRBUF_SIZE];
            snprintf(why, sizeof(why), "%s", errbuf);
            return fail(s, errbuf, "guest %s nic %d: %s", qns_guest_name(g->proc), n, why);
        }
        size_t size, have = qns_record_channel_in_pending(g->nic[n], &size);
        if (have >= QNS_RECORD_HEADER_SIZE) {
            return fail(s, errbuf,
                        "guest %s nic %d: the run ended in the middle of a record: the guest "
                        "had written %zu of its %zu bytes",
                        qns_guest_name(g->proc), n, have, size);
        }
        if (have > 0) {
            return fail(s, errbuf,
                        "guest %s nic %d: the run ended in the middle of a record: the guest "
                        "had written %zu bytes of its %d-byte header",
                        qns_guest_name(g->proc), n, have, QNS_RECORD_HEADER_SIZE);
        }
    }
    return 0;
}

int qns_sync_check_end(qns_sync *s, uint64_t end_ns, char *errbuf)
{
    if (s->failed || s->in_round) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "%s",
                 s->failed ? "the simulation already failed" : "a round is under way");
        return -1;
    }
    for (int i = 0; i < s->count; i++) {
        if (check_whole_records(s, i, errbuf) < 0) {
            return -1;
        }
    }
    /* Records after a guest's last reply belong to no round. */
    s->rx_count = 0;
    s->arena_used = 0;
    for (int i = 0; i < s->count; i++) {
        const sync_guest *g = &s->guests[i];
        if (g->clock_us > g->granted_us && (uint64_t)g->clock_us * 1000 > end_ns) {
            char end[48];
            snprintf(end, sizeof(end), end_ns % 1000 ? "%.3f" : "%.0f", (double)end_ns / 1e3);
            return fail(s, errbuf,
                        "guest %s replied %d us to a grant of %d us in round %llu, which took "
                        "its clock to %lld us, past the run's end at %s us",
                        qns_guest_name(g->proc), g->over_reply_us, g->over_grant_us,
                        (unsigned long long)g->over_round, (long long)g->clock_us, end);
        }
    }
    return 0;
}
