/* Guests on Wi-Fi links, with fake guests: exact frame instants through
 * UseLocal bridges on an ad-hoc link (a frame the guest sent at s is handed
 * to the device at s + L, a frame the radio finished receiving at r reaches
 * the guest at r + L), an echo back, the same files from two separate
 * `qns run`s (the second under CPU load) that tshark reads as radiotap, and
 * a station behind an access point whose ARP is mapped between the guest's
 * MAC and its device's. */
#define _GNU_SOURCE
#include "qns.h"
#include "test_pcap.h"
#include "test_spawn.h"
#include "test_support.h"

#include <glib.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define L 10000    /* bridge latency: the quantum, 10 us */
#define SLOT 20000 /* 802.11n at 2.4 GHz: long slots */
#define AIFS 70000 /* best effort: SIFS 10 us + 3 slots */

static char *make_dir(const char *tag)
{
    char *d = g_strdup_printf("wifi-%s-%d", tag, getpid());
    g_mkdir_with_parents(d, 0755);
    return d;
}

static void read_in(const char *dir, const char *file, int dlt, ts_capture *c)
{
    char *p = g_build_filename(dir, file, NULL);
    ts_read_pcap(p, dlt, c);
    g_free(p);
}

/* Two fake guests on an 802.11n ad-hoc link 10 m apart (ideal rate
 * manager: broadcasts at DsssRate1Mbps). a sends frames at 5 us, 4996066 ns
 * and 9552131 ns; b echoes each 90 us after it has it. */
static char *adhoc_ini(const char *dir)
{
    char *text = g_strdup_printf(
        "[scenario]\nduration = 20ms\nseed = 7\nwatchdog = 10s\n\n"
        "[guest a]\nprogram = %s send:5000:0:98 send:4996066:0:98 send:9552131:0:98\n\n"
        "[guest b]\nprogram = %s echo:90000\n\n"
        "[link w]\ntype = wifi\nwifi_mode = adhoc\nstandard = 802.11n\n"
        "distance = 10m\ncapture = true\nmembers = a, b\n",
        QNS_FAKE_GUEST, QNS_FAKE_GUEST);
    char *p = g_build_filename(dir, "adhoc.ini", NULL);
    assert_true(g_file_set_contents(p, text, -1, NULL));
    g_free(text);
    return p;
}

static char *run_adhoc(const char *dir, const char *name)
{
    char *ini = adhoc_ini(dir);
    char *out = g_build_filename(dir, name, NULL);
    char *printed = NULL;
    const char *argv[] = {QNS_BIN, "run", "-q", ini, "-o", out, NULL};
    ts_run_ok(argv, &printed);
    g_free(printed);
    g_free(ini);
    return out;
}

static void assert_times(const ts_capture *c, const uint64_t *want, int n)
{
    assert_int_equal(c->n, n);
    for (int i = 0; i < n; i++) {
        if (c->t[i] != want[i]) {
            fail_msg("record %d at %" PRIu64 " ns, expected %" PRIu64, i, c->t[i], want[i]);
        }
    }
}

static void adhoc_frames_cross_at_exactly_l_both_ways(void **state)
{
    (void)state;
    char *dir = make_dir("adhoc");
    char *out = run_adhoc(dir, "run");
    ts_capture ga, gb, ra, rb;
    read_in(out, "a-nic0.pcap", DLT_EN10MB, &ga);
    read_in(out, "b-nic0.pcap", DLT_EN10MB, &gb);
    read_in(out, "w-0-0.pcap", DLT_IEEE802_11_RADIO, &ra); /* a's ghost node, device 0 */
    read_in(out, "w-1-0.pcap", DLT_IEEE802_11_RADIO, &rb);

    /* The 98-byte frame takes 1168 us on air, 10 m take 33 ns. ns-3's EDCA
     * sends on the first slot boundary (the medium's last busy end + AIFS
     * 70 us + k * 20 us) after the instant the device got the frame, once
     * its backoff is over. Frame 1 enters ns-3 at 15000 and waits out a's
     * first backoff (to 350 us). Frame 2 and both echoes are timed to enter
     * ns-3 (at stamp + L) exactly on a boundary, so they go on air one slot
     * later; frame 3 enters 1 ns before one, and goes on air 1 ns after
     * stamp + L. Were any entry 1 ns early (frames 2, echoes) or late
     * (frame 3), it would go on air a slot apart from these instants. */
    const uint64_t a_nic[] = {5000, 2826066, 4996066, 7502132, 9552131, 12038198};
    const uint64_t b_nic[] = {1528033, 1618033, 6204099, 6294099, 10740165, 10830165};
    const uint64_t a_radio[] = {350000,  2816066, 5026066,
                                7492132, 9562132, 12028198}; /* tx rx tx rx tx rx */
    const uint64_t b_radio[] = {1518033, 1648033,  6194099,
                                6324099, 10730165, 10860165}; /* rx tx rx tx rx tx */
    assert_times(&ga, a_nic, 6);
    assert_times(&gb, b_nic, 6);
    assert_times(&ra, a_radio, 6);
    assert_times(&rb, b_radio, 6);
    /* Into the guest: the radio's end of reception + L, exactly. */
    for (int i = 0; i < 6; i += 2) {
        assert_int_equal(gb.t[i], rb.t[i] + L);
        assert_int_equal(ga.t[i + 1], ra.t[i + 1] + L);
    }
    /* Out of the guest: entering ns-3 at stamp + L, on a boundary... */
    assert_int_equal(ra.t[2], ga.t[2] + L + SLOT);
    assert_int_equal(rb.t[1], gb.t[1] + L + SLOT);
    assert_int_equal(rb.t[3], gb.t[3] + L + SLOT);
    assert_int_equal(rb.t[5], gb.t[5] + L + SLOT);
    assert_int_equal((rb.t[1] - rb.t[0]) % SLOT, AIFS % SLOT);
    assert_int_equal((ra.t[2] - ra.t[1] - AIFS) % SLOT, 0);
    /* ...and 1 ns before one. */
    assert_int_equal(ra.t[4], ga.t[4] + L + 1);
    assert_int_equal((ra.t[4] - ra.t[3] - AIFS) % SLOT, 0);
    /* Radiotap: 144-byte records sent, 146 received (signal and noise). */
    assert_int_equal(ra.len[0], 144);
    assert_int_equal(rb.len[0], 146);

    /* UseLocal: b gets a's bytes from a's device's MAC (00:00:00:00:00:01,
     * ns-3's first), broadcast as a sent it; a gets the echo from b's. */
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t dev_a[6] = {0, 0, 0, 0, 0, 1}, dev_b[6] = {0, 0, 0, 0, 0, 2};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(ga.len[i], 98);
        assert_int_equal(gb.len[i], 98);
    }
    assert_memory_equal(gb.head[0], bcast, 6);
    assert_memory_equal(gb.head[0] + 6, dev_a, 6);
    assert_memory_equal(gb.head[0] + 12, ga.head[0] + 12, TS_CAPTURE_HEAD - 12);
    assert_memory_equal(ga.head[1] + 6, dev_b, 6);
    assert_memory_equal(ga.head[1] + 12, ga.head[0] + 12, TS_CAPTURE_HEAD - 12);
    g_free(out);
    g_free(dir);
}

static void two_runs_write_the_same_files_and_tshark_reads_the_radio(void **state)
{
    (void)state;
    char *dir = make_dir("twice");
    char *first = run_adhoc(dir, "first");
    pid_t burners[2] = {ts_start_cpu_burner(), ts_start_cpu_burner()};
    char *second = run_adhoc(dir, "second");
    ts_stop_cpu_burner(burners[0]);
    ts_stop_cpu_burner(burners[1]);
    const char *files[] = {"a-nic0.pcap", "b-nic0.pcap", "w-0-0.pcap",
                           "w-1-0.pcap",  "a.console",   "b.console"};
    ts_assert_same_files(first, second, files, G_N_ELEMENTS(files));

    char *radio = g_build_filename(first, "w-1-0.pcap", NULL);
    const char *argv[] = {"tshark",
                          "-r",
                          radio,
                          "-T",
                          "fields",
                          "-e",
                          "frame.time_epoch",
                          "-e",
                          "wlan.ta",
                          "-e",
                          "wlan.da",
                          "-e",
                          "radiotap.datarate",
                          NULL};
    char *text = NULL;
    ts_run_ok(argv, &text);
    assert_string_equal(text, "0.001518033\t00:00:00:00:00:01\tff:ff:ff:ff:ff:ff\t1\n"
                              "0.001648033\t00:00:00:00:00:02\tff:ff:ff:ff:ff:ff\t1\n"
                              "0.006194099\t00:00:00:00:00:01\tff:ff:ff:ff:ff:ff\t1\n"
                              "0.006324099\t00:00:00:00:00:02\tff:ff:ff:ff:ff:ff\t1\n"
                              "0.010730165\t00:00:00:00:00:01\tff:ff:ff:ff:ff:ff\t1\n"
                              "0.010860165\t00:00:00:00:00:02\tff:ff:ff:ff:ff:ff\t1\n");
    g_free(text);
    g_free(radio);
    g_free(first);
    g_free(second);
    g_free(dir);
}

/* Guest a's ARP request for 10.0.0.2 from its MAC 52:54:00:00:00:01
 * (10.0.0.1), padded to 60 bytes. */
#define ARP_REQUEST                                                                                \
    "ffffffffffff525400000001080600010800060400015254000000010a000001000000000000"                 \
    "0a000002000000000000000000000000000000000000"

/* Guest a and ns-3 node n (10.0.0.2), stations of the access point qns
 * adds on an 802.11n infrastructure link; a asks for n's MAC at 1 s, when
 * both have long associated. */
static char *infrastructure_ini(const char *dir)
{
    char *text = g_strdup_printf("[scenario]\nduration = 1500ms\nseed = 3\nwatchdog = 10s\n\n"
                                 "[guest a]\nprogram = %s sendhex:1000000000:0:" ARP_REQUEST "\n"
                                 "nic0.mac = 52:54:00:00:00:01\n\n"
                                 "[node n]\n\n"
                                 "[link w]\ntype = wifi\nwifi_mode = infrastructure\n"
                                 "capture = true\nmembers = a, n=10.0.0.2/24\n",
                                 QNS_FAKE_GUEST);
    char *p = g_build_filename(dir, "infra.ini", NULL);
    assert_true(g_file_set_contents(p, text, -1, NULL));
    g_free(text);
    return p;
}

/* The ARP frames of a radio capture, one line each: instant, transmitter,
 * receiver, opcode, sender and target hardware addresses. */
static char *radio_arp(const char *dir, const char *file)
{
    char *path = g_build_filename(dir, file, NULL), *text = NULL;
    const char *argv[] = {"tshark",
                          "-r",
                          path,
                          "-Y",
                          "arp",
                          "-T",
                          "fields",
                          "-e",
                          "frame.time_epoch",
                          "-e",
                          "wlan.ta",
                          "-e",
                          "wlan.ra",
                          "-e",
                          "arp.opcode",
                          "-e",
                          "arp.src.hw_mac",
                          "-e",
                          "arp.dst.hw_mac",
                          NULL};
    ts_run_ok(argv, &text);
    g_free(path);
    return text;
}

static void a_station_behind_an_access_point_resolves_an_ns3_node(void **state)
{
    (void)state;
    char *dir = make_dir("infra");
    char *ini = infrastructure_ini(dir);
    char *out = g_build_filename(dir, "run", NULL), *printed = NULL;
    const char *argv[] = {QNS_BIN, "run", "-q", ini, "-o", out, NULL};
    ts_run_ok(argv, &printed);

    /* a's ghost node is node 1 (n, node 0, has its loopback as device 0:
     * w-n-1.pcap), the access point node 2. The AP's device got ns-3's first
     * MAC, a's device the second, n's the third. On the air, a's request
     * comes from a's device's MAC, in the frame and in the ARP payload; the
     * AP relays it, n answers a's device, the AP relays the answer. */
    char *a_radio = radio_arp(out, "w-1-0.pcap");
    assert_string_equal(a_radio, "1.000010033\t00:00:00:00:00:02\t00:00:00:00:00:01\t1\t"
                                 "00:00:00:00:00:02\t00:00:00:00:00:00\n"
                                 "1.001037099\t00:00:00:00:00:01\tff:ff:ff:ff:ff:ff\t1\t"
                                 "00:00:00:00:00:02\t00:00:00:00:00:00\n"
                                 "1.001128166\t00:00:00:00:00:03\t00:00:00:00:00:01\t2\t"
                                 "00:00:00:00:00:03\t00:00:00:00:00:02\n"
                                 "1.001281233\t00:00:00:00:00:01\t00:00:00:00:00:02\t2\t"
                                 "00:00:00:00:00:03\t00:00:00:00:00:02\n");
    char *n_radio = radio_arp(out, "w-n-1.pcap");
    assert_non_null(strstr(n_radio, "\t00:00:00:00:00:03\t00:00:00:00:00:01\t2\t"
                                    "00:00:00:00:00:03\t00:00:00:00:00:02\n"));

    /* The guest sees its own MAC: the answer reaches a's NIC L after a's
     * radio had the AP's relay of it, addressed to 52:54:00:00:00:01 in the
     * frame and in the payload. a's own broadcast, relayed back by the AP,
     * is not passed up to it. */
    ts_capture ga;
    read_in(out, "a-nic0.pcap", DLT_EN10MB, &ga);
    assert_int_equal(ga.n, 2);
    assert_int_equal(ga.t[0], 1000000000);
    assert_int_equal(ga.t[1], 1001281233 + L);
    static const uint8_t reply[42] = {
        0x52, 0x54, 0,    0, 0, 1, 0,  0, 0, 0, 0, 3, 0x08, 0x06, /* Ethernet */
        0,    1,    0x08, 0, 6, 4, 0,  2,                         /* ARP reply */
        0,    0,    0,    0, 0, 3, 10, 0, 0, 2,                   /* n's device, 10.0.0.2 */
        0x52, 0x54, 0,    0, 0, 1, 10, 0, 0, 1};                  /* a's NIC, 10.0.0.1 */
    assert_int_equal(ga.len[1], sizeof(reply));
    assert_memory_equal(ga.head[1], reply, sizeof(reply));
    g_free(a_radio);
    g_free(n_radio);
    g_free(printed);
    g_free(out);
    g_free(ini);
    g_free(dir);
}

/* A 60-byte frame from a (52:54:00:00:00:01) to b's device, the second
 * of the link (00:00:00:00:00:02): unicast on the air. */
#define TO_B_DEVICE                                                                                \
    "00000000000252540000000188b5000000000000000000000000000000000000000000000000"                 \
    "0000000000000000000000000000000000000000000000"

typedef struct radio_case {
    const char *settings; /* the link's Wi-Fi keys */
    const char *field;    /* a radiotap field of the data frame b received */
    const char *value;    /* ...and its value */
} radio_case;

/* Each standard and rate setting carries a unicast frame from a to b at
 * the rate it says (fixed rates below the ideal manager's choice at 10 m,
 * so a rate that were not applied would show); b gets it addressed to its
 * own MAC. */
static void every_standard_and_rate_setting_carries_a_frame(void **state)
{
    (void)state;
    static const radio_case cases[] = {
        {"standard = 802.11g\nwifi_rate = ErpOfdmRate24Mbps\n", "radiotap.datarate", "24"},
        {"standard = 802.11g\nrate_manager = minstrel\n", NULL, NULL},
        {"standard = 802.11n\nwifi_rate = HtMcs3\n", "radiotap.mcs.index", "3"},
        {"standard = 802.11n\nrate_manager = minstrel\n", NULL, NULL},
        {"standard = 802.11ac\nwifi_rate = VhtMcs4\n", "radiotap.vht.mcs.0", "4"},
        {"standard = 802.11ac\nrate_manager = ideal\ndistance = 25m\n", NULL, NULL},
    };
    char *dir = make_dir("rates");
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *text = g_strdup_printf("[scenario]\nduration = 5ms\nwatchdog = 10s\n\n"
                                     "[guest a]\nprogram = %s sendhex:1000000:0:" TO_B_DEVICE "\n"
                                     "nic0.mac = 52:54:00:00:00:01\n\n"
                                     "[guest b]\nprogram = %s\nnic0.mac = 52:54:00:00:00:02\n\n"
                                     "[link w]\ntype = wifi\n%scapture = true\nmembers = a, b\n",
                                     QNS_FAKE_GUEST, QNS_FAKE_GUEST, cases[i].settings);
        char *name = g_strdup_printf("case%zu", i);
        char *ini = g_strdup_printf("%s/%s.ini", dir, name),
             *out = g_build_filename(dir, name, NULL);
        assert_true(g_file_set_contents(ini, text, -1, NULL));
        char *printed = NULL;
        const char *argv[] = {QNS_BIN, "run", "-q", ini, "-o", out, NULL};
        ts_run_ok(argv, &printed);
        ts_capture gb;
        read_in(out, "b-nic0.pcap", DLT_EN10MB, &gb);
        if (gb.n != 1) {
            fail_msg("%s: b got %d frames", cases[i].settings, gb.n);
        }
        static const uint8_t to_b[12] = {0x52, 0x54, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1};
        assert_memory_equal(gb.head[0], to_b, sizeof(to_b));
        if (cases[i].field != NULL) {
            char *radio = g_build_filename(out, "w-1-0.pcap", NULL), *shown = NULL;
            const char *tshark[] = {"tshark", "-r",     radio, "-Y",           "wlan.fc.type == 2",
                                    "-T",     "fields", "-e",  cases[i].field, NULL};
            ts_run_ok(tshark, &shown);
            char *want = g_strdup_printf("%s\n", cases[i].value);
            assert_string_equal(shown, want);
            g_free(want);
            g_free(shown);
            g_free(radio);
        }
        g_free(printed);
        g_free(out);
        g_free(ini);
        g_free(name);
        g_free(text);
    }
    g_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adhoc_frames_cross_at_exactly_l_both_ways),
        cmocka_unit_test(two_runs_write_the_same_files_and_tshark_reads_the_radio),
        cmocka_unit_test(a_station_behind_an_access_point_resolves_an_ns3_node),
        cmocka_unit_test(every_standard_and_rate_setting_carries_a_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
