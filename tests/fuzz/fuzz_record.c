/*
 * fuzz_record.c - the -netdev qqq record decoder on arbitrary bytes, the
 * bytes a guest's socket may carry. The same stream is fed whole, a byte at
 * a time and in uneven pieces: every way must give the same records and
 * the same outcome. Every record decoded is within its bounds and encodes
 * back to its exact bytes. Then the stream goes through a socket to a
 * channel's drain, which must call back for exactly the records after the
 * hello and end as the decoder said.
 */
#include "fuzz_check.h"
#include "qns_record.h"
#include "qns_record_io.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* What a pass over the stream found. */
typedef struct outcome {
    size_t *starts; /* offset of each record: at most one per header's bytes */
    size_t count;
    size_t failed_at; /* the bytes consumed when the decoder failed, or SIZE_MAX */
    size_t pending;   /* bytes of an unfinished record at the end */
} outcome;

/* The record at data: within bounds and encoding back to its bytes. */
static void check_record(const qns_record_decoder *dec, const uint8_t *data, size_t len)
{
    const qns_record_header *h = qns_record_decoder_header(dec);
    const uint8_t *payload = qns_record_decoder_frame(dec);
    char errbuf[QNS_ERRBUF_SIZE];
    CHECK(qns_record_header_check(h, errbuf) == 0);
    CHECK(h->length <= QNS_RECORD_MAX_FRAME);
    CHECK(len == QNS_RECORD_HEADER_SIZE + h->length);
    CHECK(memcmp(payload, data + QNS_RECORD_HEADER_SIZE, h->length) == 0);

    uint8_t again[QNS_RECORD_HEADER_SIZE + QNS_RECORD_MAX_FRAME];
    qns_record_header_encode(h, again);
    CHECK(memcmp(again, data, QNS_RECORD_HEADER_SIZE) == 0);
    switch (h->type) {
    case QNS_RECORD_FRAME:
        CHECK(h->length >= QNS_RECORD_MIN_FRAME);
        CHECK(qns_record_encode_frame(h->time_ns, payload, h->length, again, errbuf) == (long)len);
        break;
    case QNS_RECORD_HELLO:
        qns_record_encode_hello(again);
        CHECK((memcmp(again, data, len) == 0) == (h->time_ns == 0));
        return;
    case QNS_RECORD_LATE:
        qns_record_encode_late(h->time_ns, qns_record_late_wanted(payload), again);
        break;
    case QNS_RECORD_UNOPENED:
        qns_record_encode_unopened(h->time_ns, qns_record_late_wanted(payload), again);
        break;
    default:
        CHECK(0);
    }
    CHECK(memcmp(again, data, len) == 0);
}

/* The next piece's size: everything (0), a byte (1), or uneven sizes. */
static size_t piece(int how, uint32_t *state, size_t left)
{
    if (how == 0 || left == 0) {
        return left;
    }
    if (how == 1) {
        return 1;
    }
    *state = *state * 1103515245u + 12345u;
    size_t n = (*state >> 16) % 40; /* 0..39: empty pieces too */
    return n < left ? n : left;
}

static void decode(const uint8_t *data, size_t size, int how, outcome *out)
{
    qns_record_decoder *dec = qns_record_decoder_new();
    out->starts = malloc((size / QNS_RECORD_HEADER_SIZE + 1) * sizeof(size_t));
    CHECK(dec != NULL && out->starts != NULL);
    char errbuf[QNS_ERRBUF_SIZE];
    uint32_t state = (uint32_t)size;
    size_t off = 0, start = 0;
    out->count = 0;
    out->failed_at = SIZE_MAX;
    while (off < size && out->failed_at == SIZE_MAX) {
        size_t len = piece(how, &state, size - off), used = SIZE_MAX;
        errbuf[0] = '\0';
        int r = qns_record_decoder_feed(dec, data + off, len, &used, errbuf);
        CHECK(used <= len);
        off += used;
        if (r < 0) {
            CHECK(errbuf[0] != '\0' && memchr(errbuf, '\0', sizeof(errbuf)) != NULL);
            out->failed_at = off;
            /* Stuck in error from then on. */
            CHECK(qns_record_decoder_feed(dec, data + off, size - off, &used, errbuf) < 0);
            CHECK(used == 0);
        } else if (r == 0) {
            CHECK(used == len);
            CHECK(qns_record_decoder_pending(dec) == off - start);
        } else {
            CHECK(r == 1);
            check_record(dec, data + start, off - start);
            CHECK(qns_record_decoder_pending(dec) == 0);
            out->starts[out->count++] = start;
            start = off;
        }
    }
    out->pending = out->failed_at == SIZE_MAX ? qns_record_decoder_pending(dec) : 0;
    qns_record_decoder_free(dec);
}

/* The drain's callback: counts the records and checks they are in bounds. */
static int count_record(void *ctx, const qns_record_header *hdr, const uint8_t *frame, char *errbuf)
{
    (void)errbuf;
    CHECK(frame != NULL);
    CHECK(hdr->type != QNS_RECORD_HELLO && hdr->length <= QNS_RECORD_MAX_FRAME);
    (*(size_t *)ctx)++;
    return 0;
}

/* What the channel must do with the stream the decoder read as `o`: the
 * first record a hello, no other hello, each other record called back; then
 * -1 on a malformed or truncated record, 1 on the clean end. */
static int expected_drain(const uint8_t *data, const outcome *o, size_t *calls)
{
    *calls = 0;
    for (size_t i = 0; i < o->count; i++) {
        const uint8_t *p = data + o->starts[i];
        int hello = p[12] == QNS_RECORD_HELLO && p[13] == 0;
        if (hello != (i == 0)) {
            return -1;
        }
        *calls += !hello;
    }
    return o->failed_at != SIZE_MAX || o->pending > 0 ? -1 : 1;
}

static void drain(const uint8_t *data, size_t size, const outcome *o)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int buf = (int)size + 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    char errbuf[QNS_ERRBUF_SIZE];
    qns_record_channel *ch = qns_record_channel_new(sv[1], errbuf);
    CHECK(ch != NULL);
    size_t want_calls = 0, calls = 0;
    int want = expected_drain(data, o, &want_calls), r = 0;
    /* Written in pieces the socket takes, drained as they arrive. */
    size_t off = 0;
    int writing = 1;
    while (r == 0) {
        if (off < size) {
            ssize_t n = send(sv[0], data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
            CHECK(n > 0);
            off += (size_t)n;
        }
        if (off == size && writing) {
            close(sv[0]);
            writing = 0;
        }
        r = qns_record_channel_drain(ch, count_record, &calls, errbuf);
    }
    if (writing) {
        close(sv[0]);
    }
    CHECK(r == want);
    CHECK(r < 0 || calls == want_calls);
    CHECK(calls <= want_calls);
    qns_record_channel_free(ch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    outcome whole, other;
    decode(data, size, 0, &whole);
    for (int how = 1; how <= 2; how++) {
        decode(data, size, how, &other);
        CHECK(other.count == whole.count && other.failed_at == whole.failed_at &&
              other.pending == whole.pending);
        CHECK(memcmp(other.starts, whole.starts, whole.count * sizeof(size_t)) == 0);
        free(other.starts);
    }
    drain(data, size, &whole);
    free(whole.starts);
    return 0;
}
