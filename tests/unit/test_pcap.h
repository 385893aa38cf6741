/* Reading a test's nanosecond pcap files into memory (libpcap), for exact
 * assertions on instants, lengths and leading bytes. Fails the running
 * cmocka test when a file cannot be read or has another link type. */
#ifndef QNS_TEST_PCAP_H
#define QNS_TEST_PCAP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

#define TS_MAX_PKTS 64
#define TS_CAPTURE_HEAD 96

    typedef struct ts_capture {
        int n;
        uint64_t t[TS_MAX_PKTS]; /* ns */
        uint32_t len[TS_MAX_PKTS];
        uint8_t head[TS_MAX_PKTS][TS_CAPTURE_HEAD]; /* each record's first bytes, zero-padded */
    } ts_capture;

    /* The first TS_MAX_PKTS records of the pcap at path, whose link type must be dlt. */
    void ts_read_pcap(const char *path, int dlt, ts_capture *c);

#ifdef __cplusplus
}
#endif

#endif
