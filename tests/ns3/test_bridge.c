/* The ns-3 module and tap bridge through the public C API, with fake
 * guests: exact frame instants in both directions (guest stamp + L into
 * ns-3, ns-3 delivery + L into the guest), nanosecond captures, many guests,
 * guest death reported, bad descriptions refused, global routing over the
 * guests' links. */
#define _GNU_SOURCE
#include "qns.h"
#include "test_pcap.h"
#include "test_support.h"

#include <errno.h>
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

typedef ts_capture capture;

static void read_pcap(const char *path, capture *c)
{
    ts_read_pcap(path, DLT_EN10MB, c);
}

static const char *fake(void)
{
    return QNS_FAKE_GUEST;
}

/* Two fake guests on a CSMA LAN (100 Mbit/s, 1 us): a sends one frame at
 * 5 us, b echoes it at once. Runs in a child: one simulation per process. */
static int run_echo_lan(const char *dir, uint64_t latency_ns)
{
    char err[QNS_ERRBUF_SIZE];
    qns_sim_config sc = {.quantum_us = 10, .seed = 7, .out_dir = dir, .watchdog_ms = 10000};
    qns_sim *sim = qns_sim_new(&sc, err);
    char alog[256], blog[256];
    snprintf(alog, sizeof(alog), "%s/a.log", dir);
    snprintf(blog, sizeof(blog), "%s/b.log", dir);
    const char *pa[] = {fake(), "-log", alog, "send:5000:0:98", NULL};
    const char *pb[] = {fake(), "-log", blog, "echo:0", NULL};
    qns_guest_config a = {.name = "a", .nic_count = 1, .program = pa};
    qns_guest_config b = {.name = "b", .nic_count = 1, .program = pb};
    qns_link_config lan = {.name = "lan", .type = QNS_LINK_CSMA, .rate_bps = 100000000,
                           .delay_ns = 1000, .capture = 1};
    int ga = qns_sim_add_guest(sim, &a, err);
    int gb = qns_sim_add_guest(sim, &b, err);
    int l = qns_sim_add_link(sim, &lan, err);
    if (ga < 0 || gb < 0 || l < 0 || qns_sim_attach_guest(sim, l, ga, 0, latency_ns, err) < 0 ||
        qns_sim_attach_guest(sim, l, gb, 0, latency_ns, err) < 0 ||
        qns_sim_run(sim, 200000, err) < 0) {
        fprintf(stderr, "run_echo_lan: %s\n", err);
        return 1;
    }
    qns_guest_stats st;
    qns_sim_guest_stats(sim, ga, &st);
    int bad = st.frames_from_guest != 1 || st.frames_to_guest != 1 || st.clock_us != 200 ||
              qns_sim_late_frames(sim) != 0;
    qns_sim_free(sim);
    return bad ? 3 : 0;
}

static int in_child(int (*fn)(const char *, uint64_t), const char *dir, uint64_t arg)
{
    pid_t p = fork();
    if (p == 0) {
        _exit(fn(dir, arg));
    }
    int st;
    assert_int_equal(waitpid(p, &st, 0), p);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static char *make_dir(const char *tag)
{
    char *d = g_strdup_printf("bridge-%s-%d", tag, getpid());
    g_mkdir_with_parents(d, 0755);
    return d;
}

static void read_log_rx(const char *path, uint64_t *t, int *n)
{
    gchar *data;
    assert_true(g_file_get_contents(path, &data, NULL, NULL));
    *n = 0;
    gchar **lines = g_strsplit(data, "\n", -1);
    for (gchar **l = lines; *l; l++) {
        uint64_t x;
        if (sscanf(*l, "rx %" SCNu64, &x) == 1) {
            t[(*n)++] = x;
        }
        assert_null(strstr(*l, "late"));
    }
    g_strfreev(lines);
    g_free(data);
}

/* Durations ns-3's time cannot hold are refused before anything runs (the
 * guest is never started); the same simulation then runs as usual. */
static int run_with_bad_durations(const char *dir, uint64_t unused)
{
    (void)unused;
    char err[QNS_ERRBUF_SIZE];
    qns_sim_config sc = {.quantum_us = 10, .seed = 7, .out_dir = dir, .watchdog_ms = 10000};
    qns_sim *sim = qns_sim_new(&sc, err);
    char alog[256];
    snprintf(alog, sizeof(alog), "%s/a.log", dir);
    const char *pa[] = {fake(), "-log", alog, NULL};
    qns_guest_config a = {.name = "a", .nic_count = 0, .program = pa};
    if (sim == NULL || qns_sim_add_guest(sim, &a, err) < 0) {
        return 1;
    }
    int bad = 0;
    bad |= qns_sim_run(sim, (uint64_t)INT64_MAX + 1000, err) != -1 ||
           strcmp(err, "duration 9223372036854776807 ns is more than a run can last (at most "
                       "100 years of virtual time)") != 0;
    bad |= (qns_sim_run(sim, QNS_MAX_DURATION_NS + 1, err) != -1) << 1;
    bad |= (qns_sim_run(sim, 0, err) != -1 || strcmp(err, "duration must be more than 0") != 0)
           << 2;
    bad |= g_file_test(alog, G_FILE_TEST_EXISTS) << 3; /* the guest never started */
    bad |= (qns_sim_run(sim, 100000, err) != 0) << 4;
    qns_sim_free(sim);
    return bad;
}

static void durations_that_do_not_fit_are_refused_before_the_run(void **state)
{
    (void)state;
    char *dir = make_dir("durations");
    assert_int_equal(in_child(run_with_bad_durations, dir, 0), 0);
    g_free(dir);
}

static void frames_cross_at_stamp_plus_latency_both_ways(void **state)
{
    (void)state;
    char *dir = make_dir("exact");
    assert_int_equal(in_child(run_echo_lan, dir, 0), 0);
    /* a sends at s = 5000 ns; L = 10 us; 98-byte frame + 4 FCS on 100 Mbit/s
     * is 8160 ns; channel 1000 ns. ns-3 takes it at s + L = 15000, b's
     * device has it at 24160, b's NIC at 34160; b echoes at once, ns-3
     * takes it at 44160, a's device has it at 53320, a's NIC at 63320. */
    uint64_t t[8];
    int n;
    char path[256];
    snprintf(path, sizeof(path), "%s/b.log", dir);
    read_log_rx(path, t, &n);
    assert_int_equal(n, 1);
    assert_int_equal(t[0], 34160);
    snprintf(path, sizeof(path), "%s/a.log", dir);
    read_log_rx(path, t, &n);
    assert_int_equal(n, 1);
    assert_int_equal(t[0], 63320);

    /* Guest-side captures carry the guests' own instants. */
    capture c;
    snprintf(path, sizeof(path), "%s/a-nic0.pcap", dir);
    read_pcap(path, &c);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.t[0], 5000);
    assert_int_equal(c.t[1], 63320);
    assert_int_equal(c.len[0], 98);
    assert_int_equal(c.len[1], 98);
    snprintf(path, sizeof(path), "%s/b-nic0.pcap", dir);
    read_pcap(path, &c);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.t[0], 34160);
    assert_int_equal(c.t[1], 34160);

    /* ns-3's own capture of a's bridged device (node 0, device 0): sent at
     * s + L, received at 53320, nanosecond timestamps. */
    snprintf(path, sizeof(path), "%s/lan-0-0.pcap", dir);
    read_pcap(path, &c);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.t[0], 15000);
    assert_int_equal(c.t[1], 53320);
    g_free(dir);
}

static void larger_latency_shifts_every_instant(void **state)
{
    (void)state;
    char *dir = make_dir("latency");
    assert_int_equal(in_child(run_echo_lan, dir, 25000), 0);
    uint64_t t[8];
    int n;
    char path[256];
    snprintf(path, sizeof(path), "%s/a.log", dir);
    read_log_rx(path, t, &n);
    assert_int_equal(n, 1);
    /* four crossings of 25 us, two transmissions of 9160 ns */
    assert_int_equal(t[0], 5000 + 4 * 25000 + 2 * 9160);
    g_free(dir);
}

/* `guests` fake guests (the low 32 bits of `arg`) each send one frame on a
 * shared LAN, in fixed rounds when bit 32 is set, adaptive ones otherwise;
 * the LAN and every guest NIC are captured. */
static int run_many(const char *dir, uint64_t arg)
{
    char err[QNS_ERRBUF_SIZE];
    uint64_t guests = arg & 0xffffffffu;
    qns_sim_config sc = {.out_dir = dir,
                         .watchdog_ms = 10000,
                         .rounds = (arg >> 32) ? QNS_ROUNDS_FIXED : QNS_ROUNDS_ADAPTIVE};
    qns_sim *sim = qns_sim_new(&sc, err);
    qns_link_config lan = {.name = "lan", .type = QNS_LINK_CSMA, .capture = 1};
    int l = qns_sim_add_link(sim, &lan, err);
    char names[16][8], sends[16][32];
    for (uint64_t i = 0; i < guests; i++) {
        snprintf(names[i], sizeof(names[i]), "g%" PRIu64, i);
        snprintf(sends[i], sizeof(sends[i]), "send:%" PRIu64 ":0:64", 1000 + 20000 * i);
        const char *prog[] = {fake(), sends[i], NULL};
        qns_guest_config g = {.name = names[i], .nic_count = 1, .program = prog};
        int gi = qns_sim_add_guest(sim, &g, err);
        if (gi < 0 || qns_sim_attach_guest(sim, l, gi, 0, 0, err) < 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
    }
    if (qns_sim_run(sim, 1000000, err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    for (uint64_t i = 0; i < guests; i++) {
        qns_guest_stats st;
        qns_sim_guest_stats(sim, (int)i, &st);
        if (st.frames_from_guest != 1 || st.frames_to_guest != guests - 1 || st.clock_us != 1000) {
            fprintf(stderr, "guest %" PRIu64 ": from %" PRIu64 " to %" PRIu64 " clock %" PRId64
                            "\n",
                    i, st.frames_from_guest, st.frames_to_guest, st.clock_us);
            return 2;
        }
    }
    qns_sim_free(sim);
    return 0;
}

/* Eight guests on one LAN, with adaptive and with fixed rounds: every
 * capture the same, byte for byte. */
static void eight_guests_share_one_lan(void **state)
{
    (void)state;
    char *dir = make_dir("many"), *fixed = make_dir("many-fixed");
    assert_int_equal(in_child(run_many, dir, 8), 0);
    assert_int_equal(in_child(run_many, fixed, 8 | (1ull << 32)), 0);
    assert_int_equal(ts_child_count(), 0);
    int compared = 0;
    for (int i = 0; i < 8; i++) {
        char name[2][32];
        snprintf(name[0], sizeof(name[0]), "g%d-nic0.pcap", i);
        snprintf(name[1], sizeof(name[1]), "lan-%d-0.pcap", i);
        for (int k = 0; k < 2; k++) {
            char *p1 = g_build_filename(dir, name[k], NULL), *p2 = g_build_filename(fixed, name[k], NULL);
            if (!ts_same_bytes(p1, p2)) {
                fail_msg("%s differs between fixed and adaptive rounds", name[k]);
            }
            compared++;
            g_free(p1);
            g_free(p2);
        }
    }
    assert_int_equal(compared, 16);
    g_free(fixed);
    g_free(dir);
}

static int run_dying(const char *dir, uint64_t unused)
{
    (void)unused;
    char err[QNS_ERRBUF_SIZE];
    /* Fixed rounds: the message names the round. */
    qns_sim_config sc = {.out_dir = dir, .watchdog_ms = 10000, .rounds = QNS_ROUNDS_FIXED};
    qns_sim *sim = qns_sim_new(&sc, err);
    const char *prog[] = {fake(), "print:100:about to fail", "exit:55000:4", NULL};
    qns_guest_config g = {.name = "doomed", .nic_count = 1, .program = prog};
    qns_link_config lan = {.name = "lan", .type = QNS_LINK_CSMA};
    int l = qns_sim_add_link(sim, &lan, err);
    int gi = qns_sim_add_guest(sim, &g, err);
    qns_sim_attach_guest(sim, l, gi, 0, 0, err);
    int r = qns_sim_run(sim, 1000000, err);
    qns_sim_free(sim);
    if (r != -1) {
        return 1;
    }
    const char *want = "guest doomed exited with status 4 (";
    if (strncmp(err, want, strlen(want)) != 0 ||
        strstr(err, "at virtual time 50 us, round 6; console: about to fail | fake guest "
                    "exiting with status 4 at 55000 ns") == NULL) {
        fprintf(stderr, "unexpected: %s\n", err);
        return 2;
    }
    return ts_child_count() == 0 ? 0 : 3;
}

static void guest_death_stops_the_run_with_its_reason(void **state)
{
    (void)state;
    char *dir = make_dir("dying");
    assert_int_equal(in_child(run_dying, dir, 0), 0);
    g_free(dir);
}

/* One fake guest with `action` on a LAN, in fixed rounds; the run must fail
 * with `want` at the start of its message and leave no process. */
static int run_failing(const char *dir, const char *action, const char *want)
{
    char err[QNS_ERRBUF_SIZE];
    qns_sim_config sc = {.out_dir = dir, .watchdog_ms = 300, .rounds = QNS_ROUNDS_FIXED};
    qns_sim *sim = qns_sim_new(&sc, err);
    const char *prog[] = {fake(), action, NULL};
    qns_guest_config g = {.name = "bad", .nic_count = 1, .program = prog};
    qns_link_config lan = {.name = "lan", .type = QNS_LINK_CSMA};
    int l = qns_sim_add_link(sim, &lan, err);
    int gi = qns_sim_add_guest(sim, &g, err);
    qns_sim_attach_guest(sim, l, gi, 0, 0, err);
    int r = qns_sim_run(sim, 1000000, err);
    qns_sim_free(sim);
    if (r != -1 || strncmp(err, want, strlen(want)) != 0) {
        fprintf(stderr, "r=%d: %s\n", r, err);
        return 1;
    }
    return ts_child_count() == 0 ? 0 : 2;
}

static int run_crashing(const char *dir, uint64_t unused)
{
    (void)unused;
    return run_failing(dir, "crash:35000",
                       "guest bad was killed by signal 11 (Segmentation fault) (no reply) at "
                       "virtual time 30 us, round 4");
}

static int run_hanging(const char *dir, uint64_t unused)
{
    (void)unused;
    return run_failing(dir, "hang:7",
                       "guest bad did not reply within 300 ms in round 7 and used no CPU in the "
                       "last 270 ms (0 ms; hung); to wait for it however long it takes, set "
                       "watchdog_ms to QNS_WATCHDOG_NONE in qns_sim_config");
}

/* A run of one fake guest that breaks the frame protocol in a way only the
 * end of the run shows: a record it began and never finished, and a reply
 * far above its grant (which takes its clock past the end). */
static int run_cut_short(const char *dir, uint64_t unused)
{
    (void)unused;
    return run_failing(dir, "partial:5000:0:100:20",
                       "guest bad nic 0: the run ended in the middle of a record: the guest had "
                       "written 36 of its 116 bytes");
}

static int run_overshooting(const char *dir, uint64_t unused)
{
    (void)unused;
    return run_failing(dir, "overshoot:3:2147483000",
                       "guest bad replied 2147483010 us to a grant of 10 us in round 3, which "
                       "took its clock to 2147483030 us, past the run's end at 1000 us");
}

/* fn run in a child in a new folder bridge-TAG-PID must return 0. */
static void child_passes(int (*fn)(const char *, uint64_t), const char *tag)
{
    char *dir = make_dir(tag);
    assert_int_equal(in_child(fn, dir, 0), 0);
    g_free(dir);
}

static void record_cut_short_at_the_end_fails_the_run(void **state)
{
    (void)state;
    child_passes(run_cut_short, "cut");
}

static void reply_past_the_end_of_the_run_fails_it(void **state)
{
    (void)state;
    child_passes(run_overshooting, "overshoot");
}

/* An Ethernet frame of len bytes, as hex for the fake guest's sendhex: to
 * b's MAC from a's, 802.1Q-tagged (VID 5) when vlan is set. */
static char *frame_hex(uint32_t len, int vlan)
{
    GString *h = g_string_new("525400000002525400000001");
    g_string_append(h, vlan ? "8100000588b5" : "88b5");
    while (h->len < 2 * (gsize)len) {
        g_string_append_printf(h, "%02x", (unsigned)(h->len / 2) & 0xff);
    }
    return g_string_free(h, FALSE);
}

/* a sends frames of 1514, 1515, 9000 and 65535 bytes and 802.1Q-tagged ones
 * of 1518 and 1519 to b across a CSMA LAN of MTU 1500: those longer than
 * 1514 (1518 tagged) are dropped at a's bridge and counted for its NIC. */
static int run_too_long(const char *dir, uint64_t unused)
{
    (void)unused;
    char err[QNS_ERRBUF_SIZE];
    qns_sim_config sc = {.quantum_us = 10, .seed = 7, .out_dir = dir, .watchdog_ms = 10000};
    qns_sim *sim = qns_sim_new(&sc, err);
    char blog[256];
    snprintf(blog, sizeof(blog), "%s/b.log", dir);
    char *tagged = frame_hex(1518, 1), *tagged_long = frame_hex(1519, 1);
    char *s5 = g_strdup_printf("sendhex:5000:0:%s", tagged);
    char *s6 = g_strdup_printf("sendhex:6000:0:%s", tagged_long);
    const char *pa[] = {fake(),
                        "send:1000:0:1514",
                        "send:2000:0:1515",
                        "send:3000:0:9000",
                        "send:4000:0:65535",
                        s5,
                        s6,
                        NULL};
    const char *pb[] = {fake(), "-log", blog, NULL};
    qns_guest_config a = {.name = "a", .nic_count = 1, .program = pa};
    a.nics[0].mac = "52:54:00:00:00:01";
    qns_guest_config b = {.name = "b", .nic_count = 1, .program = pb};
    b.nics[0].mac = "52:54:00:00:00:02";
    qns_link_config lan = {.name = "lan",
                           .type = QNS_LINK_CSMA,
                           .rate_bps = 100000000,
                           .delay_ns = 1000,
                           .capture = 1};
    int ga = qns_sim_add_guest(sim, &a, err);
    int gb = qns_sim_add_guest(sim, &b, err);
    int l = qns_sim_add_link(sim, &lan, err);
    if (ga < 0 || gb < 0 || l < 0 || qns_sim_attach_guest(sim, l, ga, 0, 0, err) < 0 ||
        qns_sim_attach_guest(sim, l, gb, 0, 0, err) < 0 || qns_sim_run(sim, 1000000, err) < 0) {
        fprintf(stderr, "run_too_long: %s\n", err);
        return 1;
    }
    qns_guest_stats sa, sb;
    qns_sim_guest_stats(sim, ga, &sa);
    qns_sim_guest_stats(sim, gb, &sb);
    int bad = sa.frames_from_guest != 2 || sa.frames_too_long != 4 || sa.nic_count != 1 ||
              sa.nics[0].mtu != 1500 || sa.nics[0].frames_too_long != 4 ||
              sb.frames_to_guest != 2 || sb.frames_too_long != 0 || sb.nics[0].mtu != 1500;
    if (bad) {
        fprintf(stderr,
                "a: %" PRIu64 " out, %" PRIu64 " too long (nic0 mtu %u: %" PRIu64 "); b: %" PRIu64
                " in\n",
                sa.frames_from_guest, sa.frames_too_long, sa.nics[0].mtu,
                sa.nics[0].frames_too_long, sb.frames_to_guest);
    }
    qns_sim_free(sim);
    g_free(s5);
    g_free(s6);
    g_free(tagged);
    g_free(tagged_long);
    return bad ? 3 : 0;
}

static void frames_longer_than_the_mtu_are_dropped_at_the_bridge_and_counted(void **state)
{
    (void)state;
    char *dir = make_dir("mtu");
    assert_int_equal(in_child(run_too_long, dir, 0), 0);
    /* They left a: its own capture has all six. */
    capture c;
    char path[256];
    snprintf(path, sizeof(path), "%s/a-nic0.pcap", dir);
    read_pcap(path, &c);
    const uint32_t sent[] = {1514, 1515, 9000, 65535, 1518, 1519};
    assert_int_equal(c.n, 6);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(c.len[i], sent[i]);
    }
    /* No ns-3 capture and not b have any of the others (ns-3's CSMA
     * captures add the 4-byte FCS). */
    const char *crossed[] = {"b-nic0.pcap", "lan-0-0.pcap", "lan-1-0.pcap"};
    for (size_t k = 0; k < G_N_ELEMENTS(crossed); k++) {
        snprintf(path, sizeof(path), "%s/%s", dir, crossed[k]);
        read_pcap(path, &c);
        uint32_t fcs = k > 0 ? 4 : 0;
        assert_int_equal(c.n, 2);
        assert_int_equal(c.len[0], 1514 + fcs);
        assert_int_equal(c.len[1], 1518 + fcs);
    }
    g_free(dir);
}

/* b stops reading its NIC socket in round 2 while a sends it 300 full-size
 * frames on a 1 Gbit/s LAN: once b's socket is full, its grant cannot be
 * written, and the watchdog names b and its NIC. */
static int run_deaf(const char *dir, uint64_t unused)
{
    (void)unused;
    char err[QNS_ERRBUF_SIZE];
    qns_sim_config sc = {.out_dir = dir, .watchdog_ms = 300, .rounds = QNS_ROUNDS_FIXED};
    qns_sim *sim = qns_sim_new(&sc, err);
    const char *pa[] = {fake(), "every:10000:13000:0:1514:300", NULL};
    const char *pb[] = {fake(), "deaf:2", NULL};
    qns_guest_config a = {.name = "a", .nic_count = 1, .program = pa};
    qns_guest_config b = {.name = "b", .nic_count = 1, .program = pb};
    qns_link_config lan = {.name = "lan", .type = QNS_LINK_CSMA, .rate_bps = 1000000000};
    int l = qns_sim_add_link(sim, &lan, err);
    int ga = qns_sim_add_guest(sim, &a, err);
    int gb = qns_sim_add_guest(sim, &b, err);
    qns_sim_attach_guest(sim, l, ga, 0, 0, err);
    qns_sim_attach_guest(sim, l, gb, 0, 0, err);
    int r = qns_sim_run(sim, 10000000, err);
    qns_sim_free(sim);
    const char *head = "guest b nic 0 did not read its frames within 300 ms in round ";
    const char *tail = " (the socket is full) and used no CPU in the last 270 ms (0 ms; hung); "
                       "to wait for it however long it takes, set watchdog_ms to "
                       "QNS_WATCHDOG_NONE in qns_sim_config";
    if (r != -1 || strncmp(err, head, strlen(head)) != 0 || strstr(err, tail) == NULL) {
        fprintf(stderr, "r=%d: %s\n", r, err);
        return 1;
    }
    return ts_child_count() == 0 ? 0 : 2;
}

static void guest_that_stops_reading_its_frames_is_named_with_its_nic(void **state)
{
    (void)state;
    child_passes(run_deaf, "deaf");
}

static void guest_crash_stops_the_run_with_its_signal(void **state)
{
    (void)state;
    child_passes(run_crashing, "crash");
}

static void guest_hang_is_caught_by_the_watchdog(void **state)
{
    (void)state;
    char *dir = make_dir("hang");
    long long t0 = ts_now_ms();
    assert_int_equal(in_child(run_hanging, dir, 0), 0);
    assert_true(ts_now_ms() - t0 < 5000);
    g_free(dir);
}

/* Internet checksum over `n` bytes, folded with `sum`. */
static uint16_t inet_sum(const uint8_t *d, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        sum += (uint32_t)(d[i] << 8 | d[i + 1]);
    }
    if (n & 1) {
        sum += (uint32_t)(d[n - 1] << 8);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", d[i]);
    }
}

static const uint8_t guest_mac[6] = {0x52, 0x54, 0, 0, 0, 1};
static const uint8_t guest_ip[4] = {10, 0, 1, 1};

/* The guest's ARP request for tip. */
static void arp_request(const uint8_t tip[4], char *arp_hex)
{
    uint8_t arp[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0, 0, 1, 0x08, 0x06,
                       0, 1, 0x08, 0, 6, 4, 0, 1};
    memcpy(arp + 22, guest_mac, 6);
    memcpy(arp + 28, guest_ip, 4);
    memset(arp + 32, 0, 6);
    memcpy(arp + 38, tip, 4);
    hex(arp, sizeof(arp), arp_hex);
}

/* A 60-byte frame from the guest to dst_mac: an 18-byte UDP datagram
 * ("abc...r") from 10.0.1.1:12345 to dst_ip, port 9 (echo). */
static void udp_frame(const uint8_t dst_mac[6], const uint8_t dst_ip[4], char *udp_hex)
{
    uint8_t f[60] = {0};
    memcpy(f, dst_mac, 6);
    memcpy(f + 6, guest_mac, 6);
    f[12] = 0x08;
    uint8_t *ip = f + 14, *udp = f + 34;
    ip[0] = 0x45;
    ip[3] = 46; /* total length */
    ip[8] = 64; /* ttl */
    ip[9] = 17; /* udp */
    memcpy(ip + 12, guest_ip, 4);
    memcpy(ip + 16, dst_ip, 4);
    uint16_t c = inet_sum(ip, 20, 0);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    udp[0] = 0x30; /* source port 12345 */
    udp[1] = 0x39;
    udp[3] = 9; /* echo */
    udp[5] = 26;
    for (int i = 0; i < 18; i++) {
        udp[8 + i] = (uint8_t)('a' + i);
    }
    uint8_t pseudo[12 + 26];
    memcpy(pseudo, guest_ip, 4);
    memcpy(pseudo + 4, dst_ip, 4);
    pseudo[8] = 0;
    pseudo[9] = 17;
    pseudo[10] = 0;
    pseudo[11] = 26;
    memcpy(pseudo + 12, udp, 26);
    c = inet_sum(pseudo, sizeof(pseudo), 0);
    udp[6] = (uint8_t)(c >> 8);
    udp[7] = (uint8_t)c;
    hex(f, sizeof(f), udp_hex);
}

/* The guest (10.0.1.1, 52:54:00:00:00:01) asks ARP for 10.0.1.2 at 1 us,
 * then sends an 18-byte UDP datagram to its echo port at 100 us. */
static void p2p_frames(char *arp_hex, char *udp_hex)
{
    const uint8_t peer_mac[6] = {0x02, 0, 0, 0, 0, 9}, peer_ip[4] = {10, 0, 1, 2};
    arp_request(peer_ip, arp_hex);
    udp_frame(peer_mac, peer_ip, udp_hex);
}

static int run_p2p(const char *dir, uint64_t unused)
{
    (void)unused;
    char err[QNS_ERRBUF_SIZE], arp_hex[100], udp_hex[130], a1[160], a2[160], log[256];
    p2p_frames(arp_hex, udp_hex);
    snprintf(a1, sizeof(a1), "sendhex:1000:0:%s", arp_hex);
    snprintf(a2, sizeof(a2), "sendhex:100000:0:%s", udp_hex);
    snprintf(log, sizeof(log), "%s/g.log", dir);
    qns_sim_config sc = {.out_dir = dir, .watchdog_ms = 10000};
    qns_sim *sim = qns_sim_new(&sc, err);
    const char *prog[] = {fake(), "-log", log, a1, a2, NULL};
    qns_guest_config g = {.name = "g", .nic_count = 1, .program = prog};
    g.nics[0].mac = "52:54:00:00:00:01";
    qns_link_config wan = {.name = "wan", .type = QNS_LINK_P2P, .rate_bps = 10000000,
                           .delay_ns = 5000000, .capture = 1};
    int gi = qns_sim_add_guest(sim, &g, err);
    int n = qns_sim_add_node(sim, "server", err);
    int l = qns_sim_add_link(sim, &wan, err);
    if (gi < 0 || n < 0 || l < 0 || qns_sim_attach_guest(sim, l, gi, 0, 0, err) < 0 ||
        qns_sim_attach_node(sim, l, n, "10.0.1.2/24", err) < 0 ||
        qns_sim_udp_echo_server(sim, n, 9, err) < 0 || qns_sim_run(sim, 11000000, err) < 0) {
        fprintf(stderr, "run_p2p: %s\n", err);
        return 1;
    }
    qns_sim_free(sim);
    return 0;
}

static void point_to_point_bridge_answers_arp_and_carries_ip(void **state)
{
    (void)state;
    char *dir = make_dir("p2p");
    assert_int_equal(in_child(run_p2p, dir, 0), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/g-nic0.pcap", dir);
    capture c;
    read_pcap(path, &c);
    assert_int_equal(c.n, 4);
    /* ARP request at 1 us, answered by the bridge 2L later. */
    assert_int_equal(c.t[0], 1000);
    assert_int_equal(c.t[1], 21000);
    assert_int_equal(c.len[1], 60);
    /* UDP at 100 us; 48 bytes with PPP at 10 Mbit/s take 38400 ns; 5 ms each
     * way; the ns-3 echo server answers at once. */
    assert_int_equal(c.t[2], 100000);
    assert_int_equal(c.t[3], 100000 + 2 * 10000 + 2 * 38400 + 2 * 5000000);
    assert_int_equal(c.len[3], 60);
    g_free(dir);
}

/* guest g (10.0.1.1) --wan: p2p 10 Mbit/s, 5 ms-- router (10.0.1.2, 10.0.2.1)
 * --lan: csma 100 Mbit/s, 2 us-- server (10.0.2.2, UDP echo on port 9).
 * The guest's default gateway is the router: it sends two datagrams to the
 * server, at 100 us and at 50 ms. The server answers through the router only
 * with its route to 10.0.1.0/24, given before its attachment: any order. */
#define ROUTED_SEND1 100000u
#define ROUTED_SEND2 50000000u

/* The MAC the bridge answers ARP for the router with, and sends from: its
 * p2p device's, ns-3's first allocated one. */
static const uint8_t wan_mac[6] = {0, 0, 0, 0, 0, 1};

static int run_routed(const char *dir, uint64_t with_route)
{
    char err[QNS_ERRBUF_SIZE], udp_hex[130], a1[160], a2[160];
    const uint8_t server_ip[4] = {10, 0, 2, 2};
    udp_frame(wan_mac, server_ip, udp_hex);
    snprintf(a1, sizeof(a1), "sendhex:%u:0:%s", ROUTED_SEND1, udp_hex);
    snprintf(a2, sizeof(a2), "sendhex:%u:0:%s", ROUTED_SEND2, udp_hex);
    qns_sim_config sc = {.out_dir = dir, .watchdog_ms = 10000};
    qns_sim *sim = qns_sim_new(&sc, err);
    const char *prog[] = {fake(), a1, a2, NULL};
    qns_guest_config g = {.name = "g", .nic_count = 1, .program = prog};
    g.nics[0].mac = "52:54:00:00:00:01";
    qns_link_config wan = {.name = "wan", .type = QNS_LINK_P2P, .rate_bps = 10000000,
                           .delay_ns = 5000000, .capture = 1};
    qns_link_config lan = {.name = "lan", .type = QNS_LINK_CSMA, .rate_bps = 100000000,
                           .delay_ns = 2000, .capture = 1};
    int gi = qns_sim_add_guest(sim, &g, err);
    int router = qns_sim_add_node(sim, "router", err);
    int server = qns_sim_add_node(sim, "server", err);
    int w = qns_sim_add_link(sim, &wan, err);
    int l = qns_sim_add_link(sim, &lan, err);
    if (gi < 0 || router < 0 || server < 0 || w < 0 || l < 0 ||
        (with_route && qns_sim_add_route(sim, server, "10.0.1.0/24", "10.0.2.1", err) < 0) ||
        qns_sim_attach_guest(sim, w, gi, 0, 0, err) < 0 ||
        qns_sim_attach_node(sim, w, router, "10.0.1.2/24", err) < 0 ||
        qns_sim_attach_node(sim, l, router, "10.0.2.1/24", err) < 0 ||
        qns_sim_attach_node(sim, l, server, "10.0.2.2/24", err) < 0 ||
        qns_sim_udp_echo_server(sim, server, 9, err) < 0 ||
        qns_sim_run(sim, 61000000, err) < 0) {
        fprintf(stderr, "run_routed: %s\n", err);
        return 1;
    }
    qns_sim_free(sim);
    return 0;
}

/* The frame is the server's echo of the guest's datagram: 10.0.2.2:9 to
 * 10.0.1.1:12345, the same 18 bytes. */
static void assert_echo_from_server(const capture *c, int i)
{
    const uint8_t *ip = c->head[i] + 14, *udp = ip + 20;
    const uint8_t from[4] = {10, 0, 2, 2}, to[4] = {10, 0, 1, 1};
    assert_int_equal(c->len[i], 60);
    assert_memory_equal(c->head[i], guest_mac, 6);
    assert_memory_equal(c->head[i] + 6, wan_mac, 6);
    assert_int_equal(c->head[i][12] << 8 | c->head[i][13], 0x0800);
    assert_memory_equal(ip + 12, from, 4);
    assert_memory_equal(ip + 16, to, 4);
    assert_int_equal(ip[9], 17);
    assert_int_equal(udp[0] << 8 | udp[1], 9);
    assert_int_equal(udp[2] << 8 | udp[3], 12345);
    assert_memory_equal(udp + 8, "abcdefghijklmnopqr", 18);
}

/* The guest's two datagrams and the server's two echoes, exact once ARP
 * caches are warm, whichever routing found the way back. */
static void assert_routed_echoes(const char *dir)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/g-nic0.pcap", dir);
    capture c;
    read_pcap(path, &c);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.t[0], ROUTED_SEND1);
    assert_int_equal(c.t[2], ROUTED_SEND2);
    assert_echo_from_server(&c, 1);
    assert_echo_from_server(&c, 3);
    /* Once ARP caches are warm (second datagram), the path is fixed:
     *   bridge into ns-3                                  L =    10000
     *   wan: 46 IP bytes + 2 PPP = 48 B at 10 Mbit/s           38400
     *        + 5 ms delay                                    5000000
     *   lan: 46 IP + 14 Ethernet + 4 FCS = 64 B at 100 Mbit/s   5120
     *        + 2 us delay                                       2000
     * and the same back, plus one CSMA backoff slot (1 us): the echo
     * server answers in the nanosecond the request arrives, when ns-3's
     * CSMA channel still counts as busy (its propagation-complete event
     * runs after the deliveries of that instant), and a first retry waits
     * between 1 and 2^1 - 1 slots, so exactly one. */
    const uint64_t hops = 2 * (10000 + 38400 + 5000000 + 5120 + 2000) + 1000; /* 10112040 */
    assert_int_equal(c.t[3], ROUTED_SEND2 + hops);
    /* The first datagram waits for ARP on the lan, twice: the router asks for
     * 10.0.2.2 (request 7120, reply 1000 + 7120, the datagram then backs off
     * 1000 too), then the server for 10.0.2.1 (7120 + 8120). Each request
     * leaves after ns-3's ARP request jitter, whole milliseconds from 0 to
     * 10 (seeded). */
    const uint64_t arp = 7120 + 8120 + 1000 + 7120 + 8120; /* 31480 */
    assert_true(c.t[1] >= ROUTED_SEND1 + hops + arp);
    uint64_t jitter = c.t[1] - (ROUTED_SEND1 + hops + arp);
    assert_int_equal(jitter % 1000000, 0);
    assert_true(jitter <= 2 * 10000000);
}

static void static_route_lets_a_node_answer_a_guest_across_a_router(void **state)
{
    (void)state;
    char *dir = make_dir("routed");
    assert_int_equal(in_child(run_routed, dir, 1), 0);
    assert_routed_echoes(dir);
    g_free(dir);
}

/* ns-3's global routing sees past the guest's point-to-point link: the
 * router announces the guest's subnet, and the server answers without a
 * route written by hand. */
static void global_routing_lets_a_node_answer_a_guest_across_a_router(void **state)
{
    (void)state;
    char *dir = make_dir("unrouted");
    assert_int_equal(in_child(run_routed, dir, 0), 0);
    assert_routed_echoes(dir);
    g_free(dir);
}

/* guest g (10.0.1.1) --lan: csma 100 Mbit/s, 2 us-- router (10.0.1.2,
 * 10.0.2.1) --wan: p2p 10 Mbit/s, 5 ms-- server (10.0.2.2, UDP echo on 9).
 * A guest on a CSMA link beside an ns-3 router, which global routing used
 * to abort on; no route is written by hand. The guest answers ARP for
 * itself and sends two datagrams to the server through the router, whose
 * lan device has ns-3's second MAC (the guest's ghost device has the first). */
static const uint8_t lan_router_mac[6] = {0, 0, 0, 0, 0, 2};

static int run_routed_over_csma(const char *dir, uint64_t unused)
{
    (void)unused;
    char err[QNS_ERRBUF_SIZE], udp_hex[130], a1[160], a2[160];
    const uint8_t server_ip[4] = {10, 0, 2, 2};
    udp_frame(lan_router_mac, server_ip, udp_hex);
    snprintf(a1, sizeof(a1), "sendhex:%u:0:%s", ROUTED_SEND1, udp_hex);
    snprintf(a2, sizeof(a2), "sendhex:%u:0:%s", ROUTED_SEND2, udp_hex);
    qns_sim_config sc = {.out_dir = dir, .watchdog_ms = 10000};
    qns_sim *sim = qns_sim_new(&sc, err);
    const char *prog[] = {fake(), "arp:0:52:54:00:00:00:01:10.0.1.1", a1, a2, NULL};
    qns_guest_config g = {.name = "g", .nic_count = 1, .program = prog};
    g.nics[0].mac = "52:54:00:00:00:01";
    qns_link_config lan = {.name = "lan", .type = QNS_LINK_CSMA, .rate_bps = 100000000,
                           .delay_ns = 2000, .capture = 1};
    qns_link_config wan = {.name = "wan", .type = QNS_LINK_P2P, .rate_bps = 10000000,
                           .delay_ns = 5000000, .capture = 1};
    int gi = qns_sim_add_guest(sim, &g, err);
    int router = qns_sim_add_node(sim, "router", err);
    int server = qns_sim_add_node(sim, "server", err);
    int l = qns_sim_add_link(sim, &lan, err);
    int w = qns_sim_add_link(sim, &wan, err);
    if (gi < 0 || router < 0 || server < 0 || w < 0 || l < 0 ||
        qns_sim_attach_guest(sim, l, gi, 0, 0, err) < 0 ||
        qns_sim_attach_node(sim, l, router, "10.0.1.2/24", err) < 0 ||
        qns_sim_attach_node(sim, w, router, "10.0.2.1/24", err) < 0 ||
        qns_sim_attach_node(sim, w, server, "10.0.2.2/24", err) < 0 ||
        qns_sim_udp_echo_server(sim, server, 9, err) < 0 ||
        qns_sim_run(sim, 61000000, err) < 0) {
        fprintf(stderr, "run_routed_over_csma: %s\n", err);
        return 1;
    }
    qns_sim_free(sim);
    return 0;
}

static void global_routing_reaches_a_guest_on_a_csma_link(void **state)
{
    (void)state;
    char *dir = make_dir("csma-routed");
    assert_int_equal(in_child(run_routed_over_csma, dir, 0), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/g-nic0.pcap", dir);
    capture c;
    read_pcap(path, &c);
    /* datagram, the router's ARP request for the guest, the guest's reply,
     * the echo; the second datagram and its echo. */
    assert_int_equal(c.n, 6);
    assert_int_equal(c.t[0], ROUTED_SEND1);
    assert_int_equal(c.head[1][12] << 8 | c.head[1][13], 0x0806);
    assert_int_equal(c.head[2][12] << 8 | c.head[2][13], 0x0806);
    assert_int_equal(c.t[4], ROUTED_SEND2);
    for (int i = 3; i <= 5; i += 2) {
        const uint8_t *ip = c.head[i] + 14, *udp = ip + 20;
        const uint8_t from[4] = {10, 0, 2, 2}, to[4] = {10, 0, 1, 1};
        assert_memory_equal(c.head[i], guest_mac, 6);
        assert_memory_equal(c.head[i] + 6, lan_router_mac, 6);
        assert_memory_equal(ip + 12, from, 4);
        assert_memory_equal(ip + 16, to, 4);
        assert_memory_equal(udp + 8, "abcdefghijklmnopqr", 18);
    }
    /* bridge L, lan 64 B at 100 Mbit/s + 2 us, wan 48 B at 10 Mbit/s + 5 ms,
     * and the same back on idle links. */
    const uint64_t hops = 2 * (10000 + 5120 + 2000 + 38400 + 5000000);
    assert_int_equal(c.t[5], ROUTED_SEND2 + hops);
    g_free(dir);
}

/* A route whose gateway is on none of its node's subnets: on the only LAN
 * of the node (on_a_link), or of a node on no link. */
static int run_off_subnet_gateway(const char *dir, uint64_t on_a_link)
{
    char err[QNS_ERRBUF_SIZE];
    qns_sim_config sc = {.out_dir = dir, .watchdog_ms = 10000};
    qns_sim *sim = qns_sim_new(&sc, err);
    qns_link_config lan = {.name = "lan"};
    int l = qns_sim_add_link(sim, &lan, err);
    int n = qns_sim_add_node(sim, "server", err);
    int lonely = qns_sim_add_node(sim, "lonely", err);
    qns_sim_attach_node(sim, l, n, "10.0.2.2/24", err);
    const char *want;
    if (on_a_link) {
        qns_sim_add_route(sim, n, "10.0.1.0/24", "10.0.9.1", err);
        want = "node server: gateway 10.0.9.1 of the route to 10.0.1.0/24 is on none of the "
               "node's subnets (10.0.2.2/24)";
    } else {
        qns_sim_add_route(sim, lonely, "0.0.0.0/0", "10.0.2.1", err);
        want = "node lonely: gateway 10.0.2.1 of the route to 0.0.0.0/0 is on none of the "
               "node's subnets (the node is on no link)";
    }
    int r = qns_sim_run(sim, 1000000, err);
    qns_sim_free(sim);
    if (r != -1 || strcmp(err, want) != 0) {
        fprintf(stderr, "r=%d: %s\n", r, err);
        return 1;
    }
    return 0;
}

static void bad_routes_are_refused(void **state)
{
    (void)state;
    char err[QNS_ERRBUF_SIZE];
    qns_sim *sim = qns_sim_new(NULL, err);
    int n = qns_sim_add_node(sim, "server", err);
    assert_int_equal(qns_sim_add_route(sim, 1, "10.0.1.0/24", "10.0.2.1", err), -1);
    assert_string_equal(err, "no node 1");
    assert_int_equal(qns_sim_add_route(sim, -1, "10.0.1.0/24", "10.0.2.1", err), -1);
    assert_string_equal(err, "no node -1");
    const char *dests[] = {"10.0.1/24", "10.0.1.0", "10.0.1.0/33", "", NULL};
    for (int i = 0; i < 5; i++) {
        char want[200];
        snprintf(want, sizeof(want),
                 "node server: bad route destination '%s', expected A.B.C.D/PREFIX (0.0.0.0/0 "
                 "for the default route)",
                 dests[i] ? dests[i] : "");
        assert_int_equal(qns_sim_add_route(sim, n, dests[i], "10.0.2.1", err), -1);
        assert_string_equal(err, want);
    }
    assert_int_equal(qns_sim_add_route(sim, n, "10.0.1.7/24", "10.0.2.1", err), -1);
    assert_string_equal(err, "node server: route destination 10.0.1.7/24 has host bits set; the "
                             "network is 10.0.1.0/24");
    assert_int_equal(qns_sim_add_route(sim, n, "10.0.1.0/24", "10.0.2.256", err), -1);
    assert_string_equal(err, "node server: bad route gateway '10.0.2.256', expected A.B.C.D");
    assert_int_equal(qns_sim_add_route(sim, n, "10.0.1.0/24", NULL, err), -1);
    assert_string_equal(err, "node server: bad route gateway '', expected A.B.C.D");
    assert_int_equal(qns_sim_add_route(sim, n, "10.0.1.0/24", "10.0.2.1", err), 0);
    assert_int_equal(qns_sim_add_route(sim, n, "0.0.0.0/0", "10.0.2.1", err), 0);
    assert_int_equal(qns_sim_add_route(sim, n, "10.0.3.4/32", "10.0.2.1", err), 0);
    qns_sim_free(sim);

    /* The gateway is checked when the run starts, on the node's subnets. */
    char *dir = make_dir("badroute");
    assert_int_equal(in_child(run_off_subnet_gateway, dir, 1), 0);
    assert_int_equal(in_child(run_off_subnet_gateway, dir, 0), 0);
    g_free(dir);
}

static int stop_at_100us(void *ctx, const qns_progress *p)
{
    int *calls = ctx;
    (*calls)++;
    return p->virtual_ns >= 100000;
}

static int run_interrupted(const char *dir, uint64_t unused)
{
    (void)unused;
    char err[QNS_ERRBUF_SIZE];
    qns_sim_config sc = {.out_dir = dir, .watchdog_ms = 10000};
    qns_sim *sim = qns_sim_new(&sc, err);
    const char *prog[] = {fake(), "every:0:20000:0:64:1000", NULL};
    qns_guest_config g = {.name = "talker", .nic_count = 1, .program = prog};
    qns_link_config lan = {.name = "lan", .type = QNS_LINK_CSMA, .capture = 1};
    int l = qns_sim_add_link(sim, &lan, err);
    int gi = qns_sim_add_guest(sim, &g, err);
    qns_sim_attach_guest(sim, l, gi, 0, 0, err);
    int calls = 0;
    qns_sim_set_progress(sim, stop_at_100us, &calls, 0);
    int r = qns_sim_run(sim, 1000000000, err);
    uint64_t end = qns_sim_end_ns(sim);
    qns_sim_free(sim);
    if (r != 1 || end != 100000 || calls != 11) {
        fprintf(stderr, "r=%d end=%" PRIu64 " calls=%d\n", r, end, calls);
        return 1;
    }
    return ts_child_count() == 0 ? 0 : 2;
}

static void progress_callback_can_stop_a_run_with_captures_complete(void **state)
{
    (void)state;
    char *dir = make_dir("stop");
    assert_int_equal(in_child(run_interrupted, dir, 0), 0);
    char path[256];
    capture c;
    snprintf(path, sizeof(path), "%s/talker-nic0.pcap", dir);
    read_pcap(path, &c);
    /* sent at 0, 20, 40, 60, 80 us: all before the stop at 100 us */
    assert_int_equal(c.n, 5);
    assert_int_equal(c.t[4], 80000);
    g_free(dir);
}

/* One fake guest that prints the CPUs it may use; `pin` as qns_sim_config's. */
static int run_cpus(const char *dir, uint64_t pin)
{
    char err[QNS_ERRBUF_SIZE];
    qns_sim_config sc = {.out_dir = dir, .watchdog_ms = 10000, .pin = (int)pin};
    qns_sim *sim = qns_sim_new(&sc, err);
    const char *prog[] = {fake(), "cpus:0", NULL};
    qns_guest_config g = {.name = "g", .program = prog};
    if (sim == NULL || qns_sim_add_guest(sim, &g, err) < 0 || qns_sim_run(sim, 100000, err) != 0) {
        fprintf(stderr, "run_cpus: %s\n", err);
        return 1;
    }
    qns_sim_free(sim);
    return ts_child_count() == 0 ? 0 : 2;
}

/* The CPU list of the fake guest's "cpus: LIST" console line. */
static char *console_cpu_list(const char *path)
{
    gchar *data;
    assert_true(g_file_get_contents(path, &data, NULL, NULL));
    const char *p = strstr(data, "cpus: ");
    assert_non_null(p);
    p += strlen("cpus: ");
    char *list = g_strndup(p, strcspn(p, "\n"));
    g_free(data);
    return list;
}

/* pin reaches the guest through the API: a pinned guest may run on one CPU
 * only, an unpinned one wherever the test may. */
static void pinned_guest_runs_on_one_cpu(void **state)
{
    (void)state;
    char mine[256];
    ts_cpus_allowed(0, mine, sizeof(mine));
    for (uint64_t pin = 0; pin < 2; pin++) {
        char *dir = make_dir(pin ? "pinned" : "unpinned");
        assert_int_equal(in_child(run_cpus, dir, pin), 0);
        char *console = g_strdup_printf("%s/g.console", dir);
        char *list = console_cpu_list(console);
        if (pin) {
            assert_int_equal(strspn(list, "0123456789"), strlen(list));
        } else {
            assert_string_equal(list, mine);
        }
        g_free(list);
        g_free(console);
        g_free(dir);
    }
}

static void bad_descriptions_are_refused(void **state)
{
    (void)state;
    char err[QNS_ERRBUF_SIZE];
    qns_sim_config spin = {.spin_us = 2000000};
    assert_null(qns_sim_new(&spin, err));
    assert_string_equal(err, "spin_us 2000000 is above 1000000 (a second of busy-waiting per round)");
    qns_sim_config pin_spin = {.spin_us = 2000, .pin = 1};
    assert_null(qns_sim_new(&pin_spin, err));
    assert_string_equal(err, "pin and spin do not go together: guest 0 shares the simulator's "
                             "CPU, where either side's spinning holds the other off");
    assert_int_equal(qns_sim_config_check(&pin_spin, err), -1);
    assert_string_equal(err, "pin and spin do not go together: guest 0 shares the simulator's "
                             "CPU, where either side's spinning holds the other off");
    qns_sim_config fine = {.spin_us = 2000};
    assert_int_equal(qns_sim_config_check(&fine, err), 0);
    assert_int_equal(qns_name_check("node", "r-1_b", err), 0);
    assert_int_equal(qns_name_check("link", "", err), -1);
    assert_string_equal(err, "link name '' must be 1-32 letters, digits, '-' or '_'");
    assert_int_equal(qns_guest_key_check("2eea15694ec3", err), 0);
    assert_int_equal(qns_guest_key_check("2EEA", err), -1);
    assert_string_equal(err, "guest image key '2EEA' is not a key (up to 64 hex digits, e.g. from "
                             "qns guest list)");
    qns_sim *sim = qns_sim_new(NULL, err);
    const char *prog[] = {fake(), NULL};
    qns_guest_config g = {.name = "g", .nic_count = 1, .program = prog};
    int gi = qns_sim_add_guest(sim, &g, err);
    assert_int_equal(gi, 0);
    assert_int_equal(qns_sim_add_guest(sim, &g, err), -1);
    assert_string_equal(err, "guest g is defined twice");
    qns_guest_config bad = {.name = "bad name", .program = prog};
    assert_int_equal(qns_sim_add_guest(sim, &bad, err), -1);
    assert_string_equal(err, "guest name 'bad name' must be 1-32 letters, digits, '-' or '_'");
    qns_guest_config badmac = {.name = "m", .nic_count = 1, .program = prog};
    badmac.nics[0].mac = "52:54:00:zz:00:01";
    assert_int_equal(qns_sim_add_guest(sim, &badmac, err), -1);
    assert_string_equal(err, "guest m NIC 0: bad MAC address '52:54:00:zz:00:01'");
    qns_guest_config args = {.name = "k", .kernel_args = "qns.debug=1", .program = prog};
    assert_int_equal(qns_sim_add_guest(sim, &args, err), -1);
    assert_string_equal(err, "guest k: kernel_args adds to the default guest's command line; a "
                             "program has none");
    args.program = NULL;
    args.append = "console=ttyS0";
    assert_int_equal(qns_sim_add_guest(sim, &args, err), -1);
    assert_string_equal(err, "guest k: kernel_args adds to the default guest's command line; "
                             "with an own kernel or append, put them in append");

    /* The limits table's memory range, and a NIC count no array holds. */
    qns_guest_config small = {.name = "m", .memory_mb = 8, .program = prog};
    assert_int_equal(qns_sim_add_guest(sim, &small, err), -1);
    assert_string_equal(err, "guest m: memory_mb 8 is out of range (16 .. 1048576)");
    qns_guest_config negative = {.name = "n", .nic_count = -1, .program = prog};
    assert_int_equal(qns_sim_add_guest(sim, &negative, err), -1);
    assert_string_equal(err, "guest n: nic_count -1 is negative");
    qns_guest_config many = {.name = "n", .nic_count = QNS_MAX_NICS + 1, .program = prog};
    assert_int_equal(qns_sim_add_guest(sim, &many, err), -1);
    assert_string_equal(err, "guest n: 9 NICs, at most 8");

    qns_link_config p2p = {.name = "wan", .type = QNS_LINK_P2P};
    int l = qns_sim_add_link(sim, &p2p, err);
    assert_int_equal(qns_sim_attach_guest(sim, l, gi, 0, 5000, err), -1);
    assert_string_equal(err, "guest g NIC 0: bridge latency 5000 ns is below the quantum of "
                             "10000 ns");
    assert_int_equal(qns_sim_attach_guest(sim, l, gi, 1, 0, err), -1);
    assert_string_equal(err, "guest g has no NIC 1");
    assert_int_equal(qns_sim_attach_guest(sim, l, gi, 0, 0, err), 0);
    assert_int_equal(qns_sim_attach_guest(sim, l, gi, 0, 0, err), -1);
    assert_string_equal(err, "guest g NIC 0 is already attached to link wan");
    int n = qns_sim_add_node(sim, "r1", err);
    assert_int_equal(qns_sim_attach_node(sim, l, n, "10.0.0.300/24", err), -1);
    assert_string_equal(err, "node r1: bad IPv4 address '10.0.0.300/24' (expected A.B.C.D/PREFIX, e.g. "
                        "10.0.0.1/24)");
    assert_int_equal(qns_sim_attach_node(sim, l, n, "10.0.0.3/24", err), 0);
    assert_int_equal(qns_sim_attach_node(sim, l, n, "10.0.0.4/24", err), -1);
    assert_string_equal(err, "link wan: a point-to-point link has two ends");
    qns_link_config lossy = {.name = "x", .loss = 1.5};
    assert_int_equal(qns_sim_add_link(sim, &lossy, err), -1);
    assert_string_equal(err, "link x: loss rate must be between 0 and 1");
    qns_sim_free(sim);
    assert_int_equal(ts_child_count(), 0);
}

/* On its own description the API refuses what would make a link ambiguous:
 * two members with one MAC or one IPv4 address, a multicast MAC, a subnet's
 * network or broadcast address as a host's. */
static void clashing_or_impossible_addresses_are_refused(void **state)
{
    (void)state;
    char err[QNS_ERRBUF_SIZE], mac[18];
    qns_default_mac(0, 0, mac);
    assert_string_equal(mac, "52:54:00:00:00:01");
    qns_default_mac(258, 2, mac);
    assert_string_equal(mac, "52:54:00:01:02:03");
    qns_sim *sim = qns_sim_new(NULL, err);
    const char *prog[] = {fake(), NULL};
    qns_guest_config a = {.name = "a", .nic_count = 1, .program = prog};
    a.nics[0].ipv4 = "10.0.0.1/24";
    qns_guest_config b = {.name = "b", .nic_count = 1, .program = prog};
    b.nics[0].mac = "52:54:00:00:00:01"; /* a's default */
    qns_guest_config c = {.name = "c", .nic_count = 1, .program = prog};
    c.nics[0].ipv4 = "10.0.0.1/16";
    int ga = qns_sim_add_guest(sim, &a, err), gb = qns_sim_add_guest(sim, &b, err);
    int gc = qns_sim_add_guest(sim, &c, err);
    assert_true(ga == 0 && gb == 1 && gc == 2);
    qns_link_config lan = {.name = "lan"}, other = {.name = "other"};
    int l = qns_sim_add_link(sim, &lan, err), o = qns_sim_add_link(sim, &other, err);
    int n = qns_sim_add_node(sim, "r", err);
    assert_int_equal(qns_sim_attach_guest(sim, l, ga, 0, 0, err), 0);
    assert_int_equal(qns_sim_attach_guest(sim, l, gb, 0, 0, err), -1);
    assert_string_equal(err, "link lan: guest b NIC 0 has MAC address 52:54:00:00:00:01, as guest "
                             "a NIC 0 has");
    assert_int_equal(qns_sim_attach_guest(sim, l, gc, 0, 0, err), -1);
    assert_string_equal(err, "link lan: guest c NIC 0 has IPv4 address 10.0.0.1, as guest a NIC 0 "
                             "has");
    assert_int_equal(qns_sim_attach_node(sim, l, n, "10.0.0.1/24", err), -1);
    assert_string_equal(err, "link lan: node r has IPv4 address 10.0.0.1, as guest a NIC 0 has");
    /* On another link the same addresses are fine. */
    assert_int_equal(qns_sim_attach_guest(sim, o, gb, 0, 0, err), 0);
    assert_int_equal(qns_sim_attach_node(sim, o, n, "10.0.0.1/24", err), 0);
    assert_int_equal(qns_sim_attach_node(sim, l, n, "10.0.0.0/24", err), -1);
    assert_string_equal(err, "node r: 10.0.0.0/24 is the network address of 10.0.0.0/24, not a "
                             "host's");
    assert_int_equal(qns_sim_attach_node(sim, l, n, "10.0.3.255/22", err), -1);
    assert_string_equal(err, "node r: 10.0.3.255/22 is the broadcast address of 10.0.0.0/22, not "
                             "a host's");
    assert_int_equal(qns_sim_attach_node(sim, l, n, "10.0.0.2/24", err), 0);

    qns_guest_config m = {.name = "m", .nic_count = 1, .program = prog};
    m.nics[0].mac = "ff:ff:ff:ff:ff:ff";
    assert_int_equal(qns_sim_add_guest(sim, &m, err), -1);
    assert_string_equal(err, "guest m NIC 0: MAC address ff:ff:ff:ff:ff:ff is a multicast address "
                             "(lowest bit of the first byte set); a NIC needs a unicast one, e.g. "
                             "52:54:00:00:00:01");
    m.nics[0].mac = NULL;
    m.nics[0].ipv4 = "192.168.1.255/24";
    assert_int_equal(qns_sim_add_guest(sim, &m, err), -1);
    assert_string_equal(err, "guest m NIC 0: 192.168.1.255/24 is the broadcast address of "
                             "192.168.1.0/24, not a host's");
    m.nics[0].ipv4 = "192.168.1.255/31"; /* a /31 pair has no network or broadcast address */
    assert_int_equal(qns_sim_add_guest(sim, &m, err), 3);
    qns_sim_free(sim);
}

/* A quiet LAN for a second: fake guest a sends a frame every 100 ms from
 * 50 ms, b echoes each 20 us later, and ns-3 node n (10.0.0.3) tries to
 * reach a host nobody is (ARP requests that b echoes too). With `adaptive`
 * rounds fall only where something can happen. Writes the round count to
 * DIR/rounds. */
static int run_quiet_lan(const char *dir, uint64_t adaptive)
{
    char err[QNS_ERRBUF_SIZE];
    qns_sim_config sc = {.quantum_us = 10, .out_dir = dir, .watchdog_ms = 10000,
                         .rounds = adaptive ? QNS_ROUNDS_ADAPTIVE : QNS_ROUNDS_FIXED};
    qns_sim *sim = qns_sim_new(&sc, err);
    const char *pa[] = {fake(), "every:50000000:100000000:0:98:10", NULL};
    const char *pb[] = {fake(), "echo:20000", NULL};
    qns_guest_config a = {.name = "a", .nic_count = 1, .program = pa};
    qns_guest_config b = {.name = "b", .nic_count = 1, .program = pb};
    qns_link_config lan = {.name = "lan", .type = QNS_LINK_CSMA, .rate_bps = 100000000,
                           .delay_ns = 1000, .capture = 1};
    int ga = qns_sim_add_guest(sim, &a, err);
    int gb = qns_sim_add_guest(sim, &b, err);
    int n = qns_sim_add_node(sim, "n", err);
    int l = qns_sim_add_link(sim, &lan, err);
    if (ga < 0 || gb < 0 || n < 0 || l < 0 || qns_sim_attach_guest(sim, l, ga, 0, 0, err) < 0 ||
        qns_sim_attach_guest(sim, l, gb, 0, 0, err) < 0 ||
        qns_sim_attach_node(sim, l, n, "10.0.0.3/24", err) < 0 ||
        qns_sim_udp_echo_client(sim, n, "10.0.0.9", 9, 3, 300000000, 64, 10000000, err) < 0 ||
        qns_sim_run(sim, 1000000000, err) < 0) {
        fprintf(stderr, "run_quiet_lan: %s\n", err);
        return 1;
    }
    char path[256], text[32];
    snprintf(path, sizeof(path), "%s/rounds", dir);
    snprintf(text, sizeof(text), "%" PRIu64, qns_sim_rounds(sim));
    int ok = g_file_set_contents(path, text, -1, NULL);
    qns_guest_stats st;
    qns_sim_guest_stats(sim, gb, &st);
    /* 10 frames of a, and the echoes of n's ARP requests */
    ok = ok && st.frames_to_guest >= 10 && st.frames_from_guest == st.frames_to_guest &&
         st.clock_us == 1000000;
    qns_sim_free(sim);
    return ok ? 0 : 2;
}

static uint64_t rounds_of(const char *dir)
{
    char *path = g_strdup_printf("%s/rounds", dir), *text = NULL;
    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    uint64_t n = g_ascii_strtoull(text, NULL, 10);
    g_free(text);
    g_free(path);
    return n;
}

static void adaptive_rounds_give_the_outputs_of_fixed_rounds(void **state)
{
    (void)state;
    char *fixed = make_dir("fixed"), *adaptive = make_dir("adaptive");
    assert_int_equal(in_child(run_quiet_lan, fixed, 0), 0);
    assert_int_equal(in_child(run_quiet_lan, adaptive, 1), 0);
    const char *files[] = {"a-nic0.pcap", "b-nic0.pcap", "lan-1-0.pcap", "lan-2-0.pcap",
                           "lan-n-1.pcap"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char *p1 = g_build_filename(fixed, files[i], NULL);
        char *p2 = g_build_filename(adaptive, files[i], NULL);
        if (!ts_same_bytes(p1, p2)) {
            fail_msg("%s differs between fixed and adaptive rounds", files[i]);
        }
        g_free(p1);
        g_free(p2);
    }
    uint64_t rf = rounds_of(fixed), ra = rounds_of(adaptive);
    printf("rounds: fixed %" PRIu64 ", adaptive %" PRIu64 "\n", rf, ra);
    assert_int_equal(rf, 100000);
    assert_true(ra * 100 < rf);
    g_free(fixed);
    g_free(adaptive);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clashing_or_impossible_addresses_are_refused),
        cmocka_unit_test(durations_that_do_not_fit_are_refused_before_the_run),
        cmocka_unit_test(frames_cross_at_stamp_plus_latency_both_ways),
        cmocka_unit_test(larger_latency_shifts_every_instant),
        cmocka_unit_test(eight_guests_share_one_lan),
        cmocka_unit_test(guest_death_stops_the_run_with_its_reason),
        cmocka_unit_test(guest_crash_stops_the_run_with_its_signal),
        cmocka_unit_test(guest_hang_is_caught_by_the_watchdog),
        cmocka_unit_test(record_cut_short_at_the_end_fails_the_run),
        cmocka_unit_test(reply_past_the_end_of_the_run_fails_it),
        cmocka_unit_test(frames_longer_than_the_mtu_are_dropped_at_the_bridge_and_counted),
        cmocka_unit_test(guest_that_stops_reading_its_frames_is_named_with_its_nic),
        cmocka_unit_test(point_to_point_bridge_answers_arp_and_carries_ip),
        cmocka_unit_test(static_route_lets_a_node_answer_a_guest_across_a_router),
        cmocka_unit_test(global_routing_lets_a_node_answer_a_guest_across_a_router),
        cmocka_unit_test(global_routing_reaches_a_guest_on_a_csma_link),
        cmocka_unit_test(bad_routes_are_refused),
        cmocka_unit_test(adaptive_rounds_give_the_outputs_of_fixed_rounds),
        cmocka_unit_test(progress_callback_can_stop_a_run_with_captures_complete),
        cmocka_unit_test(bad_descriptions_are_refused),
        cmocka_unit_test(pinned_guest_runs_on_one_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
