/* Raw ends of the patched QEMU's interfaces for tests that must see or send
 * exact bytes: grants on the -qqq pipes, records on a -netdev qqq socket, and
 * a minimal QMP client. Every read is bounded by a timeout, so a QEMU that
 * hangs fails the test instead of blocking it. Not a protocol implementation:
 * see qns_sync.h and qns_record.h for those. */
#ifndef QNS_QEMU_WIRE_H
#define QNS_QEMU_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Reads exactly n bytes within timeout_ms. Returns 0, or -1 on timeout,
 * EOF or error. */
int qw_read_full(int fd, void *buf, size_t n, int timeout_ms);
/* Writes all n bytes (blocking). Returns 0 or -1. */
int qw_write_full(int fd, const void *buf, size_t n);

/* Writes a grant, waits up to timeout_ms for the reply. Returns 0 and the
 * reply in *reply_us, or -1. */
int qw_grant(int grant_fd, int reply_fd, int32_t grant_us, int32_t *reply_us, int timeout_ms);
/* The same for -qqq ...,horizon=on: the reply and the horizon after it. */
int qw_grant_horizon(int grant_fd, int reply_fd, int32_t grant_us, int32_t *reply_us,
                     int32_t *horizon_us, int timeout_ms);
/* Whether fd has bytes to read within timeout_ms: 1, 0, or -1 on error. */
int qw_readable(int fd, int timeout_ms);

typedef struct qw_record {
    uint64_t time_ns;
    uint32_t length;
    uint16_t type;
    uint16_t version;
    uint8_t payload[65536];
} qw_record;

/* Reads one record (header and payload) within timeout_ms. Returns 0 or -1. */
int qw_read_record(int fd, qw_record *r, int timeout_ms);
/* Writes a record with the given header fields and payload. Returns 0 or -1. */
int qw_write_record(int fd, uint64_t time_ns, uint16_t type, uint16_t version, const void *payload,
                    uint32_t length);

/* Connects to the AF_UNIX stream socket at path, retrying up to timeout_ms
 * while QEMU creates it. Returns the fd, or -1. */
int qw_connect(const char *path, int timeout_ms);
/* Reads until what was read contains needle (NUL-terminated in out), within
 * timeout_ms. Returns 0, or -1 on timeout, EOF or a full buffer. */
int qw_read_until(int fd, const char *needle, char *out, size_t size, int timeout_ms);

/* Connects to QEMU's QMP socket at path (retrying up to timeout_ms while
 * QEMU creates it), reads the greeting and leaves command mode entered.
 * Returns the fd, or -1. */
int qw_qmp_open(const char *path, int timeout_ms);
/* Sends one command and waits up to timeout_ms for its answer (the first
 * line with "return" or "error"; events are skipped). Returns 0 with the
 * answer in out, or -1 on timeout or EOF. */
int qw_qmp(int fd, const char *json, char *out, size_t size, int timeout_ms);

#endif
