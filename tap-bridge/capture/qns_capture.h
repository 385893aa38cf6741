/*
 * qns_capture.h - a nanosecond pcap file written with libpcap from frames
 * that arrive out of time order (a guest's sent frames are known after its
 * round, its received frames before they happen). Frames are buffered and
 * written in (time, arrival) order once the caller says no earlier frame can
 * come. Plain C, no ns-3.
 */
#ifndef QNS_CAPTURE_H
#define QNS_CAPTURE_H

#include "qns_errbuf.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif


typedef struct qns_capture qns_capture;

/* Creates (truncates) an Ethernet pcap with nanosecond timestamps. */
qns_capture *qns_capture_open(const char *path, char *errbuf);

/* Every call below returns -1 with "capture PATH: write failed: REASON" in
 * errbuf once a write has failed (disk full, file size limit), from the first
 * failure on. */

/* Buffers one frame stamped time_ns. */
int qns_capture_add(qns_capture *c, uint64_t time_ns, const uint8_t *data, uint32_t len,
                    char *errbuf);

/* Writes every buffered frame stamped before time_ns, in order. */
int qns_capture_flush_before(qns_capture *c, uint64_t time_ns, char *errbuf);

/* Frames written so far. */
uint64_t qns_capture_frames(const qns_capture *c);

/* Writes what is buffered, closes the file, frees. Returns 0 or -1. */
int qns_capture_close(qns_capture *c, char *errbuf);

#ifdef __cplusplus
}
#endif

#endif
