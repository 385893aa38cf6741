/*
 * qns_record_io.h - one end of a -netdev qqq stream socket: a non-blocking
 * reader that turns bytes into records and a non-blocking writer with an
 * output queue. Both the simulator side and the fake guest use it. It never
 * blocks and never drops: the caller polls (see qns_record_channel_wants_write)
 * and calls flush/drain when the socket is ready.
 */
#ifndef QNS_RECORD_IO_H
#define QNS_RECORD_IO_H

#include "qns_record.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qns_record_channel qns_record_channel;

/* Called for every frame or late record drained (hdr->type says which);
 * return 0, or -1 with errbuf set. */
typedef int (*qns_record_fn)(void *ctx, const qns_record_header *hdr, const uint8_t *frame,
                             char *errbuf);

/*
 * Takes ownership of `fd` (closed by _free) and makes it non-blocking.
 * Returns NULL with errbuf set on failure.
 */
qns_record_channel *qns_record_channel_new(int fd, char *errbuf);
void qns_record_channel_free(qns_record_channel *ch);
int qns_record_channel_fd(const qns_record_channel *ch);

/* Queues records for sending; nothing is written until flush. */
int qns_record_channel_queue_hello(qns_record_channel *ch, char *errbuf);
int qns_record_channel_queue_frame(qns_record_channel *ch, uint64_t time_ns, const uint8_t *frame,
                                   size_t len, char *errbuf);
/* Queues raw bytes (used by tests and the fake guest to send malformed data). */
int qns_record_channel_queue_raw(qns_record_channel *ch, const uint8_t *data, size_t len,
                                 char *errbuf);

/* Bytes queued and not yet written. */
size_t qns_record_channel_out_pending(const qns_record_channel *ch);

/*
 * Writes as much of the queue as the socket takes. Returns 0 (check
 * out_pending for what is left) or -1 on a write error (peer gone: EPIPE).
 */
int qns_record_channel_flush(qns_record_channel *ch, char *errbuf);

/*
 * Reads everything the socket holds now, calling fn for each frame record.
 * The first record must be a hello; later hellos are errors. Returns 0 when
 * the socket is empty (EAGAIN), 1 on a clean EOF at a record boundary, -1 on
 * a malformed or truncated record or a read error.
 */
int qns_record_channel_drain(qns_record_channel *ch, qns_record_fn fn, void *ctx, char *errbuf);

/* Bytes of a record partly read so far (0 between records), and the whole
 * record's size (QNS_RECORD_HEADER_SIZE until its header is whole). */
size_t qns_record_channel_in_pending(const qns_record_channel *ch, size_t *record_size);

/* Whether the peer's hello has been received. */
int qns_record_channel_hello_seen(const qns_record_channel *ch);

/* Counters. */
uint64_t qns_record_channel_frames_in(const qns_record_channel *ch);
uint64_t qns_record_channel_frames_out(const qns_record_channel *ch);

#ifdef __cplusplus
}
#endif

#endif
