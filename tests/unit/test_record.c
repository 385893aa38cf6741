/* Record codec of -netdev qqq (DESIGN.md section 3): wire form, incremental
 * decoding across arbitrary splits, strict validation with clear messages. */
#include "qns_record.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void header_wire_form_is_little_endian(void **state)
{
    (void)state;
    qns_record_header h = {.time_ns = 0x0102030405060708ULL, .length = 0x5dc,
                           .type = QNS_RECORD_FRAME, .version = 1};
    uint8_t b[16];
    qns_record_header_encode(&h, b);
    const uint8_t want[16] = {8, 7, 6, 5, 4, 3, 2, 1, 0xdc, 0x05, 0, 0, 0, 0, 1, 0};
    assert_memory_equal(b, want, 16);
    qns_record_header back;
    char err[QNS_ERRBUF_SIZE];
    assert_int_equal(qns_record_header_decode(b, &back, err), 0);
    assert_true(back.time_ns == h.time_ns);
    assert_int_equal(back.length, 1500);
}

static void hello_is_type_1_length_0(void **state)
{
    (void)state;
    uint8_t b[16];
    qns_record_encode_hello(b);
    const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0};
    assert_memory_equal(b, want, 16);
}

static void late_is_type_2_with_the_stamped_instant(void **state)
{
    (void)state;
    uint8_t b[24];
    char err[QNS_ERRBUF_SIZE];
    qns_record_encode_late(0x0102030405060708ull, 20000, b);
    const uint8_t want[24] = {8, 7, 6, 5, 4, 3, 2, 1, 8, 0, 0, 0, 2, 0, 1, 0,
                              0x20, 0x4e, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(b, want, 24);
    qns_record_header h;
    assert_int_equal(qns_record_header_decode(b, &h, err), 0);
    assert_int_equal(h.type, QNS_RECORD_LATE);
    assert_int_equal(qns_record_late_wanted(b + 16), 20000);
}

static void unopened_is_type_3_with_the_stamped_instant(void **state)
{
    (void)state;
    uint8_t b[24];
    char err[QNS_ERRBUF_SIZE];
    qns_record_encode_unopened(1500000, 1499990, b);
    const uint8_t want[24] = {0x60, 0xe3, 0x16, 0, 0, 0, 0, 0, 8, 0, 0, 0, 3, 0, 1, 0,
                              0x56, 0xe3, 0x16, 0, 0, 0, 0, 0};
    assert_memory_equal(b, want, 24);
    qns_record_header h;
    assert_int_equal(qns_record_header_decode(b, &h, err), 0);
    assert_int_equal(h.type, QNS_RECORD_UNOPENED);
    assert_int_equal(h.time_ns, 1500000);
    assert_int_equal(qns_record_late_wanted(b + 16), 1499990);
}

static void expect_bad(uint64_t t, uint32_t len, uint16_t type, uint16_t ver, const char *msg)
{
    qns_record_header h = {.time_ns = t, .length = len, .type = type, .version = ver};
    uint8_t b[16];
    char err[QNS_ERRBUF_SIZE];
    qns_record_header_encode(&h, b);
    qns_record_header back;
    assert_int_equal(qns_record_header_decode(b, &back, err), -1);
    assert_string_equal(err, msg);
}

static void malformed_headers_are_rejected_with_reason(void **state)
{
    (void)state;
    expect_bad(0, 60, 0, 2, "record version 2, expected 1");
    expect_bad(0, 13, 0, 1, "frame length 13 out of range 14..65535");
    expect_bad(0, 65536, 0, 1, "frame length 65536 out of range 14..65535");
    expect_bad(0, 0, 0, 1, "frame length 0 out of range 14..65535");
    expect_bad(0, 4, 1, 1, "hello record with length 4, expected 0");
    expect_bad(0, 0, 2, 1, "late record with length 0, expected 8");
    expect_bad(0, 9, 3, 1, "unopened record with length 9, expected 8");
    expect_bad(0, 60, 7, 1, "unknown record type 7");
}

static void encode_frame_refuses_bad_lengths(void **state)
{
    (void)state;
    uint8_t out[16 + 20];
    uint8_t f[20] = {0};
    char err[QNS_ERRBUF_SIZE];
    assert_int_equal(qns_record_encode_frame(5, f, 13, out, err), -1);
    assert_string_equal(err, "frame length 13 out of range 14..65535");
    assert_int_equal(qns_record_encode_frame(5, f, 20, out, err), 36);
}

/* A stream of three records of different sizes. */
static size_t make_stream(uint8_t *buf)
{
    char err[QNS_ERRBUF_SIZE];
    size_t n = 0;
    qns_record_encode_hello(buf);
    n += 16;
    const uint32_t lens[3] = {14, 1514, 60};
    for (int r = 0; r < 3; r++) {
        uint8_t f[1514];
        for (uint32_t i = 0; i < lens[r]; i++) {
            f[i] = (uint8_t)(i + 31 * r);
        }
        long w = qns_record_encode_frame(1000u * (uint64_t)(r + 1), f, lens[r], buf + n, err);
        assert_true(w > 0);
        n += (size_t)w;
    }
    return n;
}

static int decode_in_pieces(const uint8_t *buf, size_t n, size_t split)
{
    qns_record_decoder *d = qns_record_decoder_new();
    char err[QNS_ERRBUF_SIZE];
    int got = 0;
    size_t off = 0;
    while (off < n) {
        size_t chunk = split == 0 ? 1 : (off < split ? split - off : n - off);
        if (chunk > n - off) {
            chunk = n - off;
        }
        size_t base = off;
        while (off < base + chunk) {
            size_t used;
            int r = qns_record_decoder_feed(d, buf + off, base + chunk - off, &used, err);
            assert_int_not_equal(r, -1);
            off += used;
            if (r == 1) {
                const qns_record_header *h = qns_record_decoder_header(d);
                if (got == 0) {
                    assert_int_equal(h->type, QNS_RECORD_HELLO);
                } else {
                    static const uint32_t lens[3] = {14, 1514, 60};
                    assert_int_equal(h->length, lens[got - 1]);
                    assert_true(h->time_ns == 1000u * (uint64_t)got);
                    const uint8_t *f = qns_record_decoder_frame(d);
                    for (uint32_t i = 0; i < h->length; i++) {
                        assert_int_equal(f[i], (uint8_t)(i + 31 * (got - 1)));
                    }
                }
                got++;
            }
        }
    }
    assert_int_equal(qns_record_decoder_pending(d), 0);
    qns_record_decoder_free(d);
    return got;
}

static void records_split_at_every_byte_boundary(void **state)
{
    (void)state;
    uint8_t buf[4096];
    size_t n = make_stream(buf);
    assert_int_equal(decode_in_pieces(buf, n, 0), 4); /* one byte at a time */
    for (size_t split = 1; split < n; split++) {
        assert_int_equal(decode_in_pieces(buf, n, split), 4);
    }
}

static void decoder_stays_failed_after_malformed_header(void **state)
{
    (void)state;
    uint8_t b[16];
    qns_record_header h = {.time_ns = 1, .length = 60, .type = 0, .version = 9};
    qns_record_header_encode(&h, b);
    qns_record_decoder *d = qns_record_decoder_new();
    char err[QNS_ERRBUF_SIZE];
    size_t used;
    assert_int_equal(qns_record_decoder_feed(d, b, 16, &used, err), -1);
    assert_string_equal(err, "record version 9, expected 1");
    qns_record_encode_hello(b);
    assert_int_equal(qns_record_decoder_feed(d, b, 16, &used, err), -1);
    assert_string_equal(err, "decoder already failed on a malformed record");
    qns_record_decoder_free(d);
}

static void partial_record_is_pending(void **state)
{
    (void)state;
    uint8_t buf[4096];
    make_stream(buf);
    qns_record_decoder *d = qns_record_decoder_new();
    char err[QNS_ERRBUF_SIZE];
    size_t used;
    assert_int_equal(qns_record_decoder_feed(d, buf, 10, &used, err), 0);
    assert_int_equal(used, 10);
    assert_int_equal(qns_record_decoder_pending(d), 10);
    qns_record_decoder_free(d);
}

/* The size of the record in progress: the header's until it is whole, then
 * the header's and the frame's; pending says how much of it has come. */
static void partial_record_knows_its_size_once_its_header_is_whole(void **state)
{
    (void)state;
    uint8_t rec[QNS_RECORD_HEADER_SIZE + 100], frame[100] = {0};
    char err[QNS_ERRBUF_SIZE];
    assert_int_equal(qns_record_encode_frame(7, frame, sizeof(frame), rec, err), sizeof(rec));
    qns_record_decoder *d = qns_record_decoder_new();
    size_t used;
    assert_int_equal(qns_record_decoder_feed(d, rec, 15, &used, err), 0);
    assert_int_equal(qns_record_decoder_record_size(d), QNS_RECORD_HEADER_SIZE);
    assert_int_equal(qns_record_decoder_feed(d, rec + 15, 21, &used, err), 0);
    assert_int_equal(qns_record_decoder_pending(d), 36);
    assert_int_equal(qns_record_decoder_record_size(d), 116);
    assert_int_equal(qns_record_decoder_feed(d, rec + 36, 80, &used, err), 1);
    assert_int_equal(qns_record_decoder_pending(d), 0);
    qns_record_decoder_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_wire_form_is_little_endian),
        cmocka_unit_test(hello_is_type_1_length_0),
        cmocka_unit_test(late_is_type_2_with_the_stamped_instant),
        cmocka_unit_test(unopened_is_type_3_with_the_stamped_instant),
        cmocka_unit_test(malformed_headers_are_rejected_with_reason),
        cmocka_unit_test(encode_frame_refuses_bad_lengths),
        cmocka_unit_test(records_split_at_every_byte_boundary),
        cmocka_unit_test(decoder_stays_failed_after_malformed_header),
        cmocka_unit_test(partial_record_is_pending),
        cmocka_unit_test(partial_record_knows_its_size_once_its_header_is_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
