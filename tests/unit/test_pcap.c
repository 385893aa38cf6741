/* Reading a test's nanosecond pcap files into memory. */
#include "test_pcap.h"

#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

void ts_read_pcap(const char *path, int dlt, ts_capture *c)
{
    char e[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, e);
    if (p == NULL) {
        fail_msg("%s", e);
    }
    assert_int_equal(pcap_datalink(p), dlt);
    struct pcap_pkthdr *h;
    const u_char *d;
    c->n = 0;
    while (c->n < TS_MAX_PKTS && pcap_next_ex(p, &h, &d) == 1) {
        c->t[c->n] = (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;
        c->len[c->n] = h->caplen;
        memset(c->head[c->n], 0, TS_CAPTURE_HEAD);
        memcpy(c->head[c->n], d, h->caplen < TS_CAPTURE_HEAD ? h->caplen : TS_CAPTURE_HEAD);
        c->n++;
    }
    pcap_close(p);
}
