/*
 * qns_capture.c - ordered nanosecond pcap writing through libpcap.
 * A binary heap keyed by (time, arrival) holds frames until they are due.
 * The first write error (a full disk, a file size limit) is kept: every
 * later call reports it, and nothing more is written after it.
 */
#include "qns_capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pending {
    uint64_t time_ns;
    uint64_t seq;
    uint32_t len;
    uint8_t *data;
} pending;

struct qns_capture {
    pcap_t *pcap;
    pcap_dumper_t *dumper;
    char *path;
    pending *heap;
    size_t count;
    size_t cap;
    uint64_t seq;
    uint64_t written;
    int write_errno; /* the first write error, 0 while there is none */
};

static int before(const pending *a, const pending *b)
{
    return a->time_ns < b->time_ns || (a->time_ns == b->time_ns && a->seq < b->seq);
}

/* Remembers the stream's first error: errno of the failed write. */
static int check_stream(qns_capture *c, int failed)
{
    FILE *f = pcap_dump_file(c->dumper);
    if (c->write_errno == 0 && (failed || ferror(f))) {
        c->write_errno = errno ? errno : EIO;
    }
    return c->write_errno ? -1 : 0;
}

static int write_error(const qns_capture *c, char *errbuf)
{
    snprintf(errbuf, QNS_ERRBUF_SIZE, "capture %s: write failed: %s", c->path,
             strerror(c->write_errno));
    return -1;
}

qns_capture *qns_capture_open(const char *path, char *errbuf)
{
    qns_capture *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->path = strdup(path)) == NULL) {
        free(c);
        snprintf(errbuf, QNS_ERRBUF_SIZE, "out of memory");
        return NULL;
    }
    c->pcap = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144,
                                                   PCAP_TSTAMP_PRECISION_NANO);
    if (c->pcap == NULL) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "capture %s: pcap_open_dead failed", path);
        free(c->path);
        free(c);
        return NULL;
    }
    c->dumper = pcap_dump_open(c->pcap, path);
    if (c->dumper == NULL) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "capture %s: %s", path, pcap_geterr(c->pcap));
        pcap_close(c->pcap);
        free(c->path);
        free(c);
        return NULL;
    }
    return c;
}

int qns_capture_add(qns_capture *c, uint64_t time_ns, const uint8_t *data, uint32_t len,
                    char *errbuf)
{
    if (c->write_errno) {
        return write_error(c, errbuf);
    }
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        pending *h = realloc(c->heap, cap * sizeof(*h));
        if (h == NULL) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "capture %s: out of memory", c->path);
            return -1;
        }
        c->heap = h;
        c->cap = cap;
    }
    pending p = {.time_ns = time_ns, .seq = c->seq++, .len = len, .data = malloc(len ? len : 1)};
    if (p.data == NULL) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "capture %s: out of memory", c->path);
        return -1;
    }
    memcpy(p.data, data, len);
    size_t i = c->count++;
    while (i > 0 && before(&p, &c->heap[(i - 1) / 2])) {
        c->heap[i] = c->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    c->heap[i] = p;
    return 0;
}

static pending pop(qns_capture *c)
{
    pending top = c->heap[0];
    pending last = c->heap[--c->count];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const pending *best = &last;
        if (l < c->count && before(&c->heap[l], best)) {
            m = l;
            best = &c->heap[l];
        }
        if (r < c->count && before(&c->heap[r], best)) {
            m = r;
        }
        if (m == i) {
            break;
        }
        c->heap[i] = c->heap[m];
        i = m;
    }
    if (c->count > 0) {
        c->heap[i] = last;
    }
    return top;
}

int qns_capture_flush_before(qns_capture *c, uint64_t time_ns, char *errbuf)
{
    int wrote = 0;
    if (c->write_errno) {
        return write_error(c, errbuf);
    }
    while (c->count > 0 && c->heap[0].time_ns < time_ns) {
        pending p = pop(c);
        struct pcap_pkthdr h;
        h.ts.tv_sec = (time_t)(p.time_ns / 1000000000u);
        h.ts.tv_usec = (suseconds_t)(p.time_ns % 1000000000u); /* ns: nano precision */
        h.caplen = p.len;
        h.len = p.len;
        errno = 0;
        pcap_dump((u_char *)c->dumper, &h, p.data);
        free(p.data);
        if (check_stream(c, 0) < 0) {
            return write_error(c, errbuf);
        }
        c->written++;
        wrote = 1;
    }
    errno = 0;
    if (wrote && check_stream(c, pcap_dump_flush(c->dumper) < 0) < 0) {
        return write_error(c, errbuf);
    }
    return 0;
}

uint64_t qns_capture_frames(const qns_capture *c)
{
    return c->written;
}

int qns_capture_close(qns_capture *c, char *errbuf)
{
    if (c == NULL) {
        return 0;
    }
    int r = qns_capture_flush_before(c, UINT64_MAX, errbuf);
    /* UINT64_MAX itself is not "before": write a frame stamped so, too. */
    while (c->count > 0) {
        free(pop(c).data);
    }
    /* pcap_dump_close reports nothing; everything was flushed (and checked) above. */
    pcap_dump_close(c->dumper);
    pcap_close(c->pcap);
    free(c->heap);
    free(c->path);
    free(c);
    return r;
}
