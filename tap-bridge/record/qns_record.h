/*
 * qns_record.h - the timestamped frame record of the -netdev qqq channel.
 *
 * Every message on a guest NIC's stream socket is a 16-byte little-endian
 * header followed by `length` frame bytes (DESIGN.md section 3). This file
 * encodes and decodes those records, incrementally from a byte stream, and
 * validates them strictly. It does no I/O: see qns_record_io.h for that.
 */
#ifndef QNS_RECORD_H
#define QNS_RECORD_H

#include "qns_errbuf.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QNS_RECORD_HEADER_SIZE 16
#define QNS_RECORD_VERSION 1
#define QNS_RECORD_MIN_FRAME 14
#define QNS_RECORD_MAX_FRAME 65535

enum qns_record_type {
    QNS_RECORD_FRAME = 0,
    QNS_RECORD_HELLO = 1,
    /* Guest to simulator: a frame from the simulator reached the NIC after
     * its instant. time_ns is the guest's clock when it was handed over; the
     * 8-byte payload is the instant it was stamped with (u64 LE). */
    QNS_RECORD_LATE = 2,
    /* Guest to simulator: a frame from the simulator was dropped because the
     * NIC had not started at its instant. Same layout as a late record
     * (time_ns: when it was dropped; payload: its stamp). */
    QNS_RECORD_UNOPENED = 3,
};

#define QNS_RECORD_LATE_LENGTH 8

typedef struct qns_record_header {
    uint64_t time_ns;
    uint32_t length;
    uint16_t type;
    uint16_t version;
} qns_record_header;

/* Writes the 16-byte wire form of `hdr` to `out`. */
void qns_record_header_encode(const qns_record_header *hdr, uint8_t out[QNS_RECORD_HEADER_SIZE]);

/* Parses and validates a header. Returns 0, or -1 with a message in errbuf. */
int qns_record_header_decode(const uint8_t in[QNS_RECORD_HEADER_SIZE], qns_record_header *hdr,
                             char *errbuf);

/* Checks a header's fields: version 1, a known type, a length in range. */
int qns_record_header_check(const qns_record_header *hdr, char *errbuf);

/*
 * Encodes a whole record (header + frame) into `out`, which must hold
 * QNS_RECORD_HEADER_SIZE + frame_len bytes. Returns the size written, or -1
 * with a message when the frame length is out of range.
 */
long qns_record_encode_frame(uint64_t time_ns, const uint8_t *frame, size_t frame_len,
                             uint8_t *out, char *errbuf);

/* The hello record that opens each direction of a channel. */
void qns_record_encode_hello(uint8_t out[QNS_RECORD_HEADER_SIZE]);

/* A late record: handed to the NIC at time_ns, stamped wanted_ns. */
void qns_record_encode_late(uint64_t time_ns, uint64_t wanted_ns,
                            uint8_t out[QNS_RECORD_HEADER_SIZE + QNS_RECORD_LATE_LENGTH]);

/* An unopened record: the frame stamped wanted_ns was dropped at time_ns. */
void qns_record_encode_unopened(uint64_t time_ns, uint64_t wanted_ns,
                                uint8_t out[QNS_RECORD_HEADER_SIZE + QNS_RECORD_LATE_LENGTH]);

/* The stamped instant a late or unopened record's payload carries. */
uint64_t qns_record_late_wanted(const uint8_t payload[QNS_RECORD_LATE_LENGTH]);

/*
 * Incremental decoder: feed it bytes as they arrive, in pieces of any size,
 * and take whole records out. It owns a buffer for one frame.
 */
typedef struct qns_record_decoder qns_record_decoder;

qns_record_decoder *qns_record_decoder_new(void);
void qns_record_decoder_free(qns_record_decoder *dec);

/*
 * Consumes up to `len` bytes from `data`, stopping at the end of the first
 * record completed. Sets *consumed to the bytes taken. Returns 1 when a record
 * is complete (read it with qns_record_decoder_header/_frame before feeding
 * again), 0 when more bytes are needed, -1 on a malformed header (errbuf says
 * why; the decoder is then stuck in error).
 */
int qns_record_decoder_feed(qns_record_decoder *dec, const uint8_t *data, size_t len,
                            size_t *consumed, char *errbuf);

const qns_record_header *qns_record_decoder_header(const qns_record_decoder *dec);
const uint8_t *qns_record_decoder_frame(const qns_record_decoder *dec);

/* Bytes of a partly received record held by the decoder (0 between records). */
size_t qns_record_decoder_pending(const qns_record_decoder *dec);

/* The whole size of that record: QNS_RECORD_HEADER_SIZE while its header is
 * not whole, then the header's and its length's. */
size_t qns_record_decoder_record_size(const qns_record_decoder *dec);

#ifdef __cplusplus
}
#endif

#endif
