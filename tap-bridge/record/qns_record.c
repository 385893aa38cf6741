/*
 * qns_record.c - encoding, decoding and validation of -netdev qqq records.
 * Pure byte manipulation: no I/O, no allocation besides the decoder itself.
 */
#include "qns_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_le32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

void qns_record_header_encode(const qns_record_header *hdr, uint8_t out[QNS_RECORD_HEADER_SIZE])
{
    put_le64(out, hdr->time_ns);
    put_le32(out + 8, hdr->length);
    put_le16(out + 12, hdr->type);
    put_le16(out + 14, hdr->version);
}

int qns_record_header_check(const qns_record_header *hdr, char *errbuf)
{
    if (hdr->version != QNS_RECORD_VERSION) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "record version %u, expected %u", hdr->version,
                 QNS_RECORD_VERSION);
        return -1;
    }
    switch (hdr->type) {
    case QNS_RECORD_FRAME:
        if (hdr->length < QNS_RECORD_MIN_FRAME || hdr->length > QNS_RECORD_MAX_FRAME) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "frame length %u out of range %d..%d", hdr->length,
                     QNS_RECORD_MIN_FRAME, QNS_RECORD_MAX_FRAME);
            return -1;
        }
        return 0;
    case QNS_RECORD_HELLO:
        if (hdr->length != 0) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "hello record with length %u, expected 0",
                     hdr->length);
            return -1;
        }
        return 0;
    case QNS_RECORD_LATE:
    case QNS_RECORD_UNOPENED:
        if (hdr->length != QNS_RECORD_LATE_LENGTH) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "%s record with length %u, expected %d",
                     hdr->type == QNS_RECORD_LATE ? "late" : "unopened", hdr->length,
                     QNS_RECORD_LATE_LENGTH);
            return -1;
        }
        return 0;
    default:
        snprintf(errbuf, QNS_ERRBUF_SIZE, "unknown record type %u", hdr->type);
        return -1;
    }
}

int qns_record_header_decode(const uint8_t in[QNS_RECORD_HEADER_SIZE], qns_record_header *hdr,
                             char *errbuf)
{
    hdr->time_ns = get_le64(in);
    hdr->length = get_le32(in + 8);
    hdr->type = get_le16(in + 12);
    hdr->version = get_le16(in + 14);
    return qns_record_header_check(hdr, errbuf);
}

long qns_record_encode_frame(uint64_t time_ns, const uint8_t *frame, size_t frame_len,
                             uint8_t *out, char *errbuf)
{
    qns_record_header hdr = {
        .time_ns = time_ns,
        .length = (uint32_t)frame_len,
        .type = QNS_RECORD_FRAME,
        .version = QNS_RECORD_VERSION,
    };
    if (frame_len < QNS_RECORD_MIN_FRAME || frame_len > QNS_RECORD_MAX_FRAME) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "frame length %zu out of range %d..%d", frame_len,
                 QNS_RECORD_MIN_FRAME, QNS_RECORD_MAX_FRAME);
        return -1;
    }
    qns_record_header_encode(&hdr, out);
    memcpy(out + QNS_RECORD_HEADER_SIZE, frame, frame_len);
    return (long)(QNS_RECORD_HEADER_SIZE + frame_len);
}

void qns_record_encode_hello(uint8_t out[QNS_RECORD_HEADER_SIZE])
{
    qns_record_header hdr = {
        .time_ns = 0,
        .length = 0,
        .type = QNS_RECORD_HELLO,
        .version = QNS_RECORD_VERSION,
    };
    qns_record_header_encode(&hdr, out);
}

static void encode_report(uint16_t type, uint64_t time_ns, uint64_t wanted_ns,
                          uint8_t out[QNS_RECORD_HEADER_SIZE + QNS_RECORD_LATE_LENGTH])
{
    qns_record_header hdr = {
        .time_ns = time_ns,
        .length = QNS_RECORD_LATE_LENGTH,
        .type = type,
        .version = QNS_RECORD_VERSION,
    };
    qns_record_header_encode(&hdr, out);
    put_le64(out + QNS_RECORD_HEADER_SIZE, wanted_ns);
}

void qns_record_encode_late(uint64_t time_ns, uint64_t wanted_ns,
                            uint8_t out[QNS_RECORD_HEADER_SIZE + QNS_RECORD_LATE_LENGTH])
{
    encode_report(QNS_RECORD_LATE, time_ns, wanted_ns, out);
}

void qns_record_encode_unopened(uint64_t time_ns, uint64_t wanted_ns,
                                uint8_t out[QNS_RECORD_HEADER_SIZE + QNS_RECORD_LATE_LENGTH])
{
    encode_report(QNS_RECORD_UNOPENED, time_ns, wanted_ns, out);
}

uint64_t qns_record_late_wanted(const uint8_t payload[QNS_RECORD_LATE_LENGTH])
{
    return get_le64(payload);
}

struct qns_record_decoder {
    uint8_t head[QNS_RECORD_HEADER_SIZE];
    size_t head_have;
    qns_record_header hdr;
    size_t frame_have;
    int complete;
    int failed;
    uint8_t frame[QNS_RECORD_MAX_FRAME];
};

qns_record_decoder *qns_record_decoder_new(void)
{
    return calloc(1, sizeof(qns_record_decoder));
}

void qns_record_decoder_free(qns_record_decoder *dec)
{
    free(dec);
}

int qns_record_decoder_feed(qns_record_decoder *dec, const uint8_t *data, size_t len,
                            size_t *consumed, char *errbuf)
{
    size_t used = 0;
    *consumed = 0;
    if (dec->failed) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "decoder already failed on a malformed record");
        return -1;
    }
    if (dec->complete) {
        dec->complete = 0;
        dec->head_have = 0;
        dec->frame_have = 0;
    }
    if (dec->head_have < QNS_RECORD_HEADER_SIZE) {
        size_t take = QNS_RECORD_HEADER_SIZE - dec->head_have;
        if (take > len) {
            take = len;
        }
        memcpy(dec->head + dec->head_have, data, take);
        dec->head_have += take;
        used += take;
        if (dec->head_have < QNS_RECORD_HEADER_SIZE) {
            *consumed = used;
            return 0;
        }
        if (qns_record_header_decode(dec->head, &dec->hdr, errbuf) < 0) {
            dec->failed = 1;
            *consumed = used;
            return -1;
        }
    }
    size_t take = dec->hdr.length - dec->frame_have;
    if (take > len - used) {
        take = len - used;
    }
    memcpy(dec->frame + dec->frame_have, data + used, take);
    dec->frame_have += take;
    used += take;
    *consumed = used;
    if (dec->frame_have < dec->hdr.length) {
        return 0;
    }
    dec->complete = 1;
    return 1;
}

const qns_record_header *qns_record_decoder_header(const qns_record_decoder *dec)
{
    return &dec->hdr;
}

const uint8_t *qns_record_decoder_frame(const qns_record_decoder *dec)
{
    return dec->frame;
}

size_t qns_record_decoder_pending(const qns_record_decoder *dec)
{
    if (dec->complete) {
        return 0;
    }
    return dec->head_have + dec->frame_have;
}

size_t qns_record_decoder_record_size(const qns_record_decoder *dec)
{
    if (dec->head_have < QNS_RECORD_HEADER_SIZE) {
        return QNS_RECORD_HEADER_SIZE;
    }
    return QNS_RECORD_HEADER_SIZE + dec->hdr.length;
}
