/*
 * qns_record_io.c - non-blocking record reader/writer on a stream socket.
 * It owns an output queue and an incremental decoder; it does not poll or
 * sleep, so callers keep full control of when they wait.
 */
#include "qns_record_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct qns_record_channel {
    int fd;
    qns_record_decoder *dec;
    uint8_t *out;
    size_t out_start;
    size_t out_end;
    size_t out_cap;
    int hello_seen;
    uint64_t frames_in;
    uint64_t frames_out;
};

qns_record_channel *qns_record_channel_new(int fd, char *errbuf)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "fd %d: %s", fd, strerror(errno));
        return NULL;
    }
    qns_record_channel *ch = calloc(1, sizeof(*ch));
    if (ch == NULL || (ch->dec = qns_record_decoder_new()) == NULL) {
        free(ch);
        snprintf(errbuf, QNS_ERRBUF_SIZE, "out of memory");
        return NULL;
    }
    ch->fd = fd;
    return ch;
}

void qns_record_channel_free(qns_record_channel *ch)
{
    if (ch == NULL) {
        return;
    }
    if (ch->fd >= 0) {
        close(ch->fd);
    }
    qns_record_decoder_free(ch->dec);
    free(ch->out);
    free(ch);
}

int qns_record_channel_fd(const qns_record_channel *ch)
{
    return ch->fd;
}

static int reserve(qns_record_channel *ch, size_t len, char *errbuf)
{
    if (ch->out_start == ch->out_end) {
        ch->out_start = ch->out_end = 0;
    }
    if (ch->out_end + len <= ch->out_cap) {
        return 0;
    }
    if (ch->out_start > 0) {
        memmove(ch->out, ch->out + ch->out_start, ch->out_end - ch->out_start);
        ch->out_end -= ch->out_start;
        ch->out_start = 0;
        if (ch->out_end + len <= ch->out_cap) {
            return 0;
        }
    }
    size_t cap = ch->out_cap ? ch->out_cap : 4096;
    while (cap < ch->out_end + len) {
        cap *= 2;
    }
    uint8_t *p = realloc(ch->out, cap);
    if (p == NULL) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "out of memory queueing %zu bytes", len);
        return -1;
    }
    ch->out = p;
    ch->out_cap = cap;
    return 0;
}

int qns_record_channel_queue_raw(qns_record_channel *ch, const uint8_t *data, size_t len,
                                 char *errbuf)
{
    if (reserve(ch, len, errbuf) < 0) {
        return -1;
    }
    memcpy(ch->out + ch->out_end, data, len);
    ch->out_end += len;
    return 0;
}

int qns_record_channel_queue_hello(qns_record_channel *ch, char *errbuf)
{
    uint8_t hello[QNS_RECORD_HEADER_SIZE];
    qns_record_encode_hello(hello);
    return qns_record_channel_queue_raw(ch, hello, sizeof(hello), errbuf);
}

int qns_record_channel_queue_frame(qns_record_channel *ch, uint64_t time_ns, const uint8_t *frame,
                                   size_t len, char *errbuf)
{
    if (len > QNS_RECORD_MAX_FRAME || reserve(ch, QNS_RECORD_HEADER_SIZE + len, errbuf) < 0) {
        if (len > QNS_RECORD_MAX_FRAME) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "frame length %zu out of range %d..%d", len,
                     QNS_RECORD_MIN_FRAME, QNS_RECORD_MAX_FRAME);
        }
        return -1;
    }
    long n = qns_record_encode_frame(time_ns, frame, len, ch->out + ch->out_end, errbuf);
    if (n < 0) {
        return -1;
    }
    ch->out_end += (size_t)n;
    ch->frames_out++;
    return 0;
}

size_t qns_record_channel_out_pending(const qns_record_channel *ch)
{
    return ch->out_end - ch->out_start;
}

int qns_record_channel_flush(qns_record_channel *ch, char *errbuf)
{
    while (ch->out_start < ch->out_end) {
        ssize_t n = send(ch->fd, ch->out + ch->out_start, ch->out_end - ch->out_start,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return 0;
            }
            snprintf(errbuf, QNS_ERRBUF_SIZE, "write failed: %s", strerror(errno));
            return -1;
        }
        ch->out_start += (size_t)n;
    }
    ch->out_start = ch->out_end = 0;
    return 0;
}

static int take_record(qns_record_channel *ch, qns_record_fn fn, void *ctx, char *errbuf)
{
    const qns_record_header *hdr = qns_record_decoder_header(ch->dec);
    if (!ch->hello_seen) {
        if (hdr->type != QNS_RECORD_HELLO) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "first record is not a hello (type %u)", hdr->type);
            return -1;
        }
        ch->hello_seen = 1;
        return 0;
    }
    if (hdr->type == QNS_RECORD_HELLO) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "unexpected second hello record");
        return -1;
    }
    ch->frames_in += hdr->type == QNS_RECORD_FRAME;
    return fn(ctx, hdr, qns_record_decoder_frame(ch->dec), errbuf);
}

int qns_record_channel_drain(qns_record_channel *ch, qns_record_fn fn, void *ctx, char *errbuf)
{
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = recv(ch->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0 && errno == ECONNRESET) {
            n = 0; /* the peer closed with records of ours unread: it is gone */
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return 0;
            }
            snprintf(errbuf, QNS_ERRBUF_SIZE, "read failed: %s", strerror(errno));
            return -1;
        }
        if (n == 0) {
            size_t pending = qns_record_decoder_pending(ch->dec);
            if (pending > 0) {
                snprintf(errbuf, QNS_ERRBUF_SIZE,
                         "truncated record: connection closed after %zu bytes of a record",
                         pending);
                return -1;
            }
            return 1;
        }
        size_t off = 0;
        while (off < (size_t)n) {
            size_t used;
            int r = qns_record_decoder_feed(ch->dec, buf + off, (size_t)n - off, &used, errbuf);
            off += used;
            if (r < 0) {
                char why[QNS_ERRBUF_SIZE];
                snprintf(why, sizeof(why), "%s", errbuf);
                snprintf(errbuf, QNS_ERRBUF_SIZE, "malformed record: %s", why);
                return -1;
            }
            if (r == 1 && take_record(ch, fn, ctx, errbuf) < 0) {
                return -1;
            }
        }
    }
}

size_t qns_record_channel_in_pending(const qns_record_channel *ch, size_t *record_size)
{
    *record_size = qns_record_decoder_record_size(ch->dec);
    return qns_record_decoder_pending(ch->dec);
}

int qns_record_channel_hello_seen(const qns_record_channel *ch)
{
    return ch->hello_seen;
}

uint64_t qns_record_channel_frames_in(const qns_record_channel *ch)
{
    return ch->frames_in;
}

uint64_t qns_record_channel_frames_out(const qns_record_channel *ch)
{
    return ch->frames_out;
}
