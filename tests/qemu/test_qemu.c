/* The patched QEMU against DESIGN.md sections 2 and 3, driven by the
 * time-grant core: replies equal grants, nothing runs before the first
 * grant, barrier, negative grant, EOF, every refusal, frame stamps inside
 * their round, and identical record streams run after run, idle or loaded.
 * Through the raw pipes and socket (qemu_wire.h): the late-frame record,
 * a clean stop on a malformed record, SIGTERM while a record write blocks,
 * and QMP stop/cont and the gdbstub while QEMU waits for a grant.
 * No guest OS: the firmware (SeaBIOS, and iPXE's DHCP with -boot n) is the
 * guest code. The horizon of -qqq horizon=on: sealed until a NIC starts
 * (iPXE starting its e1000, or a RARP the monitor sends), the grant ending
 * there, frames for earlier instants dropped with unopened records; then
 * busy while the firmware runs, its next timer or a frame on its way while
 * it halts; single-int replies without it. */
#define _GNU_SOURCE
#include "qemu_harness.h"
#include "qemu_wire.h"
#include "qns_qemu_args.h"
#include "qns_sync.h"
#include "test_support.h"

#include <errno.h>
#include <glib.h>
#include <setjmp.h>
#include <signal.h>
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

#ifndef QNS_QEMU_BINARY
#error "QNS_QEMU_BINARY must name the patched qemu-system-x86_64"
#endif

static char err[QNS_ERRBUF_SIZE];

typedef struct frames {
    size_t n;
    uint64_t t[4096];
    uint32_t sum[4096];
    uint32_t len[4096];
    int outside_window;
    int out_of_order;
    uint64_t last;
    qns_sync *s;
} frames;

static void on_frame(void *ctx, const qns_sync_frame *f)
{
    frames *fr = ctx;
    /* Delivered at the end of its round: the round covered [clock - reply, clock). */
    int64_t end = qns_sync_clock_us(fr->s, f->guest) * 1000;
    int64_t start = end - (int64_t)qns_sync_last_reply_us(fr->s, f->guest) * 1000;
    if ((int64_t)f->time_ns < start || (int64_t)f->time_ns >= end) {
        fr->outside_window++;
    }
    if (f->time_ns < fr->last) {
        fr->out_of_order++;
    }
    fr->last = f->time_ns;
    if (fr->n < 4096) {
        fr->t[fr->n] = f->time_ns;
        fr->sum[fr->n] = fnv(f->data, f->length);
        fr->len[fr->n] = f->length;
        fr->n++;
    }
}

static qns_sync *start_qemu(ts_argv *a, int nics, const char *console, frames *fr)
{
    qns_sync_options o = {.watchdog_ms = 60000, .shutdown_timeout_ms = 3000};
    qns_sync *s = qns_sync_new(&o, err);
    assert_non_null(s);
    if (fr) {
        fr->s = s;
        qns_sync_set_frame_handler(s, on_frame, fr);
    }
    qns_guest_spec spec = {
        .name = "qemu", .argv = a->v, .nic_count = nics, .console_path = console};
    if (qns_sync_add_guest(s, &spec, err) < 0) {
        fail_msg("%s", err);
    }
    return s;
}

static void grant(qns_sync *s, int32_t g)
{
    if (qns_sync_round(s, &g, err) < 0) {
        fail_msg("grant %d: %s", g, err);
    }
}

static void replies_equal(int32_t g, int rounds, nic_kind nic)
{
    ts_argv a;
    char *con = console_name("replies");
    qemu_argv(&a, nic, NULL, NULL);
    frames *fr = calloc(1, sizeof(*fr));
    qns_sync *s = start_qemu(&a, nic != NIC_NONE, con, fr);
    for (int k = 0; k < rounds; k++) {
        grant(s, g);
        if (qns_sync_last_reply_us(s, 0) != g) {
            fail_msg("round %d: reply %d to grant %d", k + 1, qns_sync_last_reply_us(s, 0), g);
        }
    }
    assert_int_equal(qns_sync_clock_us(s, 0), (int64_t)g * rounds);
    assert_int_equal(fr->outside_window, 0);
    qns_sync_free(s);
    free(fr);
    unlink(con);
    g_free(con);
    assert_int_equal(ts_child_count(), 0);
}

static void replies_equal_grants_at_1us(void **state)
{
    (void)state;
    replies_equal(1, 10000, NIC_NONE);
}

static void replies_equal_grants_at_10us_with_network_boot(void **state)
{
    (void)state;
    replies_equal(10, 10000, NIC_VIRTIO);
}

static void replies_equal_grants_at_1000us(void **state)
{
    (void)state;
    replies_equal(1000, 10000, NIC_NONE);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void nothing_runs_before_the_first_grant(void **state)
{
    (void)state;
    ts_argv a;
    char *con = console_name("first"), *dbg = g_strdup_printf("qemu-debugcon-%d.log", getpid());
    qemu_argv(&a, NIC_NONE, dbg, NULL);
    qns_sync *s = start_qemu(&a, 0, con, NULL);
    usleep(700000);
    /* SeaBIOS writes to the debug console from its first instructions. */
    assert_int_equal(file_size(dbg), 0);
    grant(s, 0);
    assert_int_equal(file_size(dbg), 0);
    grant(s, 20000);
    assert_true(file_size(dbg) > 0);
    qns_sync_free(s);
    unlink(con);
    unlink(dbg);
    g_free(con);
    g_free(dbg);
}

static void barrier_answers_zero_without_running(void **state)
{
    (void)state;
    ts_argv a;
    char *con = console_name("barrier");
    qemu_argv(&a, NIC_NONE, NULL, NULL);
    qns_sync *s = start_qemu(&a, 0, con, NULL);
    grant(s, 0);
    assert_int_equal(qns_sync_last_reply_us(s, 0), 0);
    grant(s, 500);
    grant(s, 0);
    assert_int_equal(qns_sync_last_reply_us(s, 0), 0);
    assert_int_equal(qns_sync_clock_us(s, 0), 500);
    grant(s, 500);
    assert_int_equal(qns_sync_last_reply_us(s, 0), 500);
    qns_sync_free(s);
    unlink(con);
    g_free(con);
}

static void negative_grant_stops_qemu_with_status_1(void **state)
{
    (void)state;
    ts_argv a;
    char *con = console_name("negative");
    qemu_argv(&a, NIC_NONE, NULL, NULL);
    qns_sync *s = start_qemu(&a, 0, con, NULL);
    grant(s, 100);
    qns_guest *g = (qns_guest *)qns_sync_guest(s, 0);
    int32_t bad = -5;
    assert_int_equal(write(qns_guest_grant_fd(g), &bad, sizeof(bad)), sizeof(bad));
    assert_int_equal(qns_guest_wait(g, 5000, err), 1);
    int st = qns_guest_exit_status(g);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    char *out = slurp(con);
    assert_non_null(strstr(out, "qqq: negative grant -5"));
    g_free(out);
    qns_sync_free(s);
    unlink(con);
    g_free(con);
}

static void eof_ends_qemu_with_status_0_promptly(void **state)
{
    (void)state;
    ts_argv a;
    char *con = console_name("eof");
    qemu_argv(&a, NIC_VIRTIO, NULL, NULL);
    qns_sync *s = start_qemu(&a, 1, con, NULL);
    grant(s, 1000);
    qns_guest *g = (qns_guest *)qns_sync_guest(s, 0);
    long long t0 = ts_now_ms();
    qns_guest_close(g);
    assert_int_equal(qns_guest_wait(g, 1000, err), 1);
    assert_true(ts_now_ms() - t0 < 1000);
    char how[128];
    qns_guest_describe_end(g, how, sizeof(how));
    assert_string_equal(how, "exited with status 0");
    qns_sync_free(s);
    unlink(con);
    g_free(con);
}

static void sigterm_while_waiting_ends_qemu_promptly(void **state)
{
    (void)state;
    ts_argv a;
    char *con = console_name("sigterm");
    qemu_argv(&a, NIC_NONE, NULL, NULL);
    qns_sync *s = start_qemu(&a, 0, con, NULL);
    grant(s, 1000);
    qns_guest *g = (qns_guest *)qns_sync_guest(s, 0);
    long long t0 = ts_now_ms();
    kill(qns_guest_pid(g), SIGTERM);
    assert_int_equal(qns_guest_wait(g, 1000, err), 1);
    assert_true(ts_now_ms() - t0 < 1000);
    qns_sync_free(s);
    unlink(con);
    g_free(con);
}

/* Starts QEMU with a bad configuration: it must exit 1 before any grant,
 * with `want` on its stderr. `qqq` replaces the -qqq option's value, `drop`
 * removes an option of the working set and `extra` adds options. */
static void expect_refusal(const char *qqq, const char *const *extra, const char *drop,
                           const char *want)
{
    ts_argv a, b;
    qemu_argv(&a, NIC_NONE, NULL, NULL);
    b.n = 0;
    for (int i = 0; i < a.n; i++) {
        if (drop && !strcmp(a.v[i], drop)) {
            i++;
            continue;
        }
        if (qqq && i > 0 && !strcmp(a.v[i - 1], "-qqq")) {
            ts_add(&b, "%s", qqq);
        } else {
            ts_add(&b, "%s", a.v[i]);
        }
    }
    for (const char *const *p = extra; p && *p; p++) {
        ts_add(&b, "%s", *p);
    }
    qns_guest_spec spec = {.name = "qemu", .argv = b.v};
    qemu_expect_refusal(&spec, want);
}

static void refusals_name_the_problem(void **state)
{
    (void)state;
    expect_refusal("read=4", NULL, NULL, "-qqq: write=FD is required");
    expect_refusal("write=3", NULL, NULL, "-qqq: read=FD is required");
    expect_refusal("write=77,read=4", NULL, NULL, "-qqq: write=77 is not an open file descriptor");
    expect_refusal("write=3,read=0", NULL, NULL, "-qqq: read=0 is not a pipe");
    expect_refusal("write=4,read=3", NULL, NULL, "is not open for");
    expect_refusal("write=3,read=4,spin=2000000", NULL, NULL,
                   "-qqq: spin=2000000 is above 1000000 us");
    expect_refusal("write=3,read=4,horizon=maybe", NULL, NULL,
                   "-qqq write=3,read=4,horizon=maybe: Parameter 'horizon' expects 'on' or "
                   "'off'\n");
    expect_refusal(NULL, NULL, "-icount", "-qqq: requires -icount shift=N,sleep=off");
    const char *sleep_on[] = {"-icount", "shift=1,sleep=on", NULL};
    expect_refusal(NULL, sleep_on, "-icount", "-qqq: requires -icount sleep=off");
    const char *shift10[] = {"-icount", "shift=10,sleep=off", NULL};
    expect_refusal(NULL, shift10, "-icount",
                   "-qqq: icount shift=10 is above 9 (one instruction would outweigh 1 us)");
    const char *autoshift[] = {"-icount", "shift=auto,sleep=off", NULL};
    expect_refusal(NULL, autoshift, "-icount", "-qqq: requires a fixed -icount shift=N, not auto");
    const char *hostclock[] = {"-rtc", "clock=host", NULL};
    expect_refusal(NULL, hostclock, "-rtc", "-qqq: requires -rtc clock=vm");
    expect_refusal(NULL, NULL, "-rtc", "-qqq: requires -rtc clock=vm");
    /* A virtio-blk iothread would complete requests on host time. */
    const char *iothread[] = {"-object",   "iothread,id=io0",
                              "-blockdev", "driver=null-co,node-name=d0",
                              "-device",   "virtio-blk-pci,drive=d0,iothread=io0",
                              NULL};
    expect_refusal(NULL, iothread, NULL,
                   "-qqq: an iothread would complete requests on host time; use the main loop "
                   "(no iothread)");
    /* Every disk controller but virtio-blk completes requests from the main
     * loop, on host time: a disk on one is refused (here IDE, as a client
     * that passes `-drive file=...,index=0,media=disk` gets on pc). An empty
     * drive does no I/O and is left alone. */
    const char *ide[] = {"-drive", "file=/dev/null,format=raw,index=0,media=disk", NULL};
    expect_refusal(NULL, ide, NULL,
                   "-qqq: drive ide0-hd0 is attached to ide-hd, which completes requests on "
                   "host time; attach it with if=virtio (virtio-blk)\n");
    const char *ahci[] = {
        "-blockdev", "driver=null-co,node-name=d1", "-device", "ich9-ahci,id=sata",
        "-device",   "ide-hd,drive=d1,bus=sata.0",  NULL};
    expect_refusal(NULL, ahci, NULL,
                   "-qqq: drive d1 is attached to ide-hd, which completes requests on host time; "
                   "attach it with if=virtio (virtio-blk)\n");
    const char *scsi[] = {"-blockdev", "driver=null-co,node-name=d2",
                          "-device",   "virtio-scsi-pci,id=scsi",
                          "-device",   "scsi-hd,drive=d2",
                          NULL};
    expect_refusal(NULL, scsi, NULL,
                   "-qqq: drive d2 is attached to scsi-hd, which completes requests on host "
                   "time; attach it with if=virtio (virtio-blk)\n");
    /* The build has no KVM at all (--disable-kvm): -qqq's own check for an
     * accelerator other than TCG is never reached. */
    const char *kvm[] = {"-accel", "kvm", NULL};
    expect_refusal(NULL, kvm, "-accel", "-accel kvm: invalid accelerator kvm");
    assert_int_equal(ts_child_count(), 0);
}

/* Runs the firmware's network boot for `rounds` rounds of 1 ms and records
 * every frame. With `load`, a CPU-bound process competes the whole time. */
static void network_boot_frames(nic_kind nic, int rounds, int load, frames *fr)
{
    pid_t burner = load ? ts_start_cpu_burner() : -1;
    ts_argv a;
    char *con = console_name("net");
    qemu_argv(&a, nic, NULL, NULL);
    memset(fr, 0, sizeof(*fr));
    qns_sync *s = start_qemu(&a, 1, con, fr);
    for (int k = 0; k < rounds; k++) {
        grant(s, 1000);
    }
    qns_sync_free(s);
    ts_stop_cpu_burner(burner);
    char *out = slurp(con);
    assert_null(strstr(out, "late records"));
    g_free(out);
    unlink(con);
    g_free(con);
}

static void identical_runs(nic_kind nic)
{
    frames *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
    network_boot_frames(nic, 6000, 0, a);
    network_boot_frames(nic, 6000, 1, b);
    /* iPXE sent DHCP discovers within the 6 s. */
    assert_true(a->n >= 2);
    assert_int_equal(a->outside_window, 0);
    assert_int_equal(a->out_of_order, 0);
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_int_equal(a->t[i], b->t[i]);
        assert_int_equal(a->len[i], b->len[i]);
        assert_int_equal(a->sum[i], b->sum[i]);
    }
    free(a);
    free(b);
    assert_int_equal(ts_child_count(), 0);
}

static void virtio_net_record_streams_are_identical_idle_and_loaded(void **state)
{
    (void)state;
    identical_runs(NIC_VIRTIO);
}

static void e1000_record_streams_are_identical_idle_and_loaded(void **state)
{
    (void)state;
    identical_runs(NIC_E1000);
}

static char *socket_name(const char *tag)
{
    return g_strdup_printf("qemu-%s-%d.sock", tag, getpid());
}

/* QEMU spoken to through its raw pipes and NIC socket. */
typedef struct raw_qemu {
    qns_guest *g;
    int nic; /* simulator end of NIC 0, or -1 */
    char *con;
} raw_qemu;

static void raw_start(raw_qemu *q, const char *tag, nic_kind nic, const char *const *extra)
{
    ts_argv a;
    qw_record *r = malloc(sizeof(*r));
    q->con = console_name(tag);
    qemu_argv(&a, nic, NULL, extra);
    qns_guest_spec spec = {
        .name = "qemu", .argv = a.v, .nic_count = nic != NIC_NONE, .console_path = q->con};
    q->g = qns_guest_spawn(&spec, err);
    assert_non_null(q->g);
    q->nic = -1;
    if (nic != NIC_NONE) {
        q->nic = qns_guest_take_nic_fd(q->g, 0);
        assert_true(q->nic >= 0);
        /* QEMU's hello, then ours */
        assert_int_equal(qw_read_record(q->nic, r, 20000), 0);
        assert_int_equal(r->type, 1);
        assert_int_equal(r->length, 0);
        assert_int_equal(qw_write_record(q->nic, 0, 1, 1, NULL, 0), 0);
    }
    free(r);
}

static void raw_grant(raw_qemu *q, int32_t g)
{
    int32_t reply = -1;
    if (qw_grant(qns_guest_grant_fd(q->g), qns_guest_reply_fd(q->g), g, &reply, 20000) < 0) {
        fail_msg("no reply to grant %d", g);
    }
    assert_int_equal(reply, g);
}

static void raw_stop(raw_qemu *q)
{
    if (q->nic >= 0) {
        close(q->nic);
    }
    qns_guest_free(q->g);
    unlink(q->con);
    g_free(q->con);
}

/* A broadcast frame of the minimum Ethernet size, local experimental type. */
static void test_frame(uint8_t f[60])
{
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    memcpy(f + 6, "\x52\x54\x00\x00\x00\x02", 6);
    f[12] = 0x88;
    f[13] = 0xb5;
}

static uint64_t le64_at(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* A grant on a QEMU started with horizon=on: the reply and the horizon. */
static int32_t raw_grant_reply_horizon(raw_qemu *q, int32_t g, int32_t *reply)
{
    int32_t horizon = -100;
    if (qw_grant_horizon(qns_guest_grant_fd(q->g), qns_guest_reply_fd(q->g), g, reply, &horizon,
                         30000) < 0) {
        fail_msg("no reply and horizon to grant %d", g);
    }
    return horizon;
}

/* Grants a guest whose firmware (iPXE) starts its NIC 5 s at once: the
 * grant ends at the first whole microsecond at or after the NIC started
 * (short, with horizon -3); returns that instant in us. */
static int32_t raw_grant_until_the_nic_starts(raw_qemu *q)
{
    int32_t reply = -1;
    assert_int_equal(raw_grant_reply_horizon(q, 0, &reply), QNS_HORIZON_SEALED);
    int32_t h = raw_grant_reply_horizon(q, 5000000, &reply);
    if (h != QNS_HORIZON_OPENED || reply <= 0 || reply >= 5000000) {
        fail_msg("a grant of 5 s to a network boot: reply %d us, horizon %d", reply, h);
    }
    return reply;
}

/* Reads records until one of `type` (frames the firmware sent skipped,
 * each checked to be stamped after `after_ns`). */
static void read_record_of_type(raw_qemu *q, qw_record *r, uint16_t type, uint64_t after_ns)
{
    for (;;) {
        assert_int_equal(qw_read_record(q->nic, r, 5000), 0);
        if (r->type == type) {
            return;
        }
        assert_int_equal(r->type, 0);
        assert_true(r->time_ns > after_ns);
    }
}

static void late_frame_comes_back_as_a_late_record(void **state)
{
    (void)state;
    raw_qemu q;
    uint8_t frame[60];
    qw_record *r = malloc(sizeof(*r));
    const char *on[] = {"-qqq", "horizon=on", NULL};
    raw_start(&q, "late", NIC_E1000, on);
    int64_t open_us = raw_grant_until_the_nic_starts(&q);
    int32_t reply = -1;
    raw_grant_reply_horizon(&q, 1000, &reply);
    assert_int_equal(reply, 1000);
    /* QEMU's clock is 1 ms past the NIC's start: a frame for 0.5 ms past it is late. */
    uint64_t now_ns = (uint64_t)(open_us + 1000) * 1000, asked_ns = now_ns - 500000;
    test_frame(frame);
    assert_int_equal(qw_write_record(q.nic, asked_ns, 0, 1, frame, sizeof(frame)), 0);
    raw_grant_reply_horizon(&q, 100, &reply);
    /* the NIC started within the microsecond before open_us */
    read_record_of_type(&q, r, 2, (uint64_t)(open_us - 1) * 1000);
    assert_int_equal(r->version, 1);
    assert_int_equal(r->length, 8);
    /* handed to the NIC as the grant after it came began (iPXE runs: the
     * timer fires after the instruction in progress, 1 ns at shift=1) */
    assert_in_range(r->time_ns, now_ns, now_ns + 2);
    assert_int_equal(le64_at(r->payload), asked_ns);
    raw_stop(&q);
    free(r);
}

/* Before its NIC started, a guest is sealed: frames for it are dropped and
 * reported with unopened records (type 3), and the grant ends where the NIC
 * starts. From then on frames reach it. */
static void frames_before_the_nic_started_come_back_as_unopened_records(void **state)
{
    (void)state;
    raw_qemu q;
    uint8_t frame[60];
    qw_record *r = malloc(sizeof(*r));
    const char *on[] = {"-qqq", "horizon=on", NULL};
    raw_start(&q, "unopened", NIC_E1000, on);
    test_frame(frame);
    /* one frame for 1 s, while the firmware is still in its POST */
    assert_int_equal(qw_write_record(q.nic, 1000000000, 0, 1, frame, sizeof(frame)), 0);
    int64_t open_us = raw_grant_until_the_nic_starts(&q);
    assert_true(open_us > 1000000);
    read_record_of_type(&q, r, 3, 0);
    assert_int_equal(r->length, 8);
    assert_int_equal(r->time_ns, 1000000000);          /* dropped at its instant */
    assert_int_equal(le64_at(r->payload), 1000000000); /* its stamp */
    /* a frame for 10 us after the start is delivered on time: no record */
    assert_int_equal(
        qw_write_record(q.nic, (uint64_t)(open_us + 10) * 1000, 0, 1, frame, sizeof(frame)), 0);
    int32_t reply = -1;
    assert_int_equal(raw_grant_reply_horizon(&q, 1000, &reply), QNS_HORIZON_BUSY);
    assert_int_equal(reply, 1000);
    while (qw_readable(q.nic, 200) == 1) {
        assert_int_equal(qw_read_record(q.nic, r, 1000), 0);
        assert_int_equal(r->type, 0); /* only what iPXE sends */
    }
    raw_stop(&q);
    free(r);
}

/* Without a NIC, or with one the firmware never starts (no option ROM), a
 * guest stays sealed: a grant of 3 s runs in full, and every horizon is -2. */
static void a_guest_whose_nic_never_starts_stays_sealed(void **state)
{
    (void)state;
    const char *none[] = {"-qqq", "horizon=on", NULL};
    const char *norom[] = {"-qqq", "horizon=on", "-global", "e1000.romfile=", NULL};
    const struct {
        nic_kind nic;
        const char *const *extra;
    } c[] = {{NIC_NONE, none}, {NIC_E1000, norom}};
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        raw_qemu q;
        int32_t reply = -1;
        raw_start(&q, "sealed", c[i].nic, c[i].extra);
        const int32_t grants[] = {0, 1000, 3000000, 0};
        for (size_t k = 0; k < sizeof(grants) / sizeof(grants[0]); k++) {
            assert_int_equal(raw_grant_reply_horizon(&q, grants[k], &reply), QNS_HORIZON_SEALED);
            assert_int_equal(reply, grants[k]);
        }
        raw_stop(&q);
    }
}

/* A grant on a QEMU started with horizon=on; returns the horizon. */
static int32_t raw_grant_horizon(raw_qemu *q, int32_t g)
{
    int32_t reply = -1;
    int32_t horizon = raw_grant_reply_horizon(q, g, &reply);
    assert_int_equal(reply, g);
    assert_true(horizon >= QNS_HORIZON_BUSY);
    return horizon;
}

/*
 * A QEMU with an e1000 the firmware never starts (no option ROM) and a QMP
 * socket: SeaBIOS runs its POST, finds nothing to boot and halts with the
 * PIT's tick (about 55 ms) armed. The NIC starts when it first sends, so a
 * RARP from QMP's announce-self while QEMU waits for a grant starts it at
 * that instant: the next grant is answered with 0 and -3, and from then on
 * the horizon tells what the guest does.
 */
static void raw_start_unsealed(raw_qemu *q, const char *tag, char **qmp_path)
{
    *qmp_path = socket_name(tag);
    char *opt = g_strdup_printf("unix:%s,server=on,wait=off", *qmp_path);
    const char *extra[] = {"-qqq", "horizon=on", "-global", "e1000.romfile=", "-qmp", opt, NULL};
    char ans[4096];
    qw_record *r = malloc(sizeof(*r));
    raw_start(q, tag, NIC_E1000, extra);
    int32_t reply = -1;
    assert_int_equal(raw_grant_reply_horizon(q, 0, &reply), QNS_HORIZON_SEALED);
    int m = qw_qmp_open(*qmp_path, 10000);
    assert_true(m >= 0);
    assert_int_equal(qw_qmp(m,
                            "{\"execute\": \"announce-self\", \"arguments\": {\"initial\": 1, "
                            "\"max\": 1, \"rounds\": 1, \"step\": 1}}",
                            ans, sizeof(ans), 5000),
                     0);
    assert_int_equal(qw_read_record(q->nic, r, 5000), 0);
    assert_int_equal(r->type, 0);
    assert_int_equal(r->time_ns, 0);
    assert_int_equal(raw_grant_reply_horizon(q, 1000, &reply), QNS_HORIZON_OPENED);
    assert_int_equal(reply, 0);
    close(m);
    free(r);
    g_free(opt);
}

static void horizon_is_busy_while_running_and_the_next_timer_when_halted(void **state)
{
    (void)state;
    raw_qemu q;
    char *qmp = NULL;
    raw_start_unsealed(&q, "horizon", &qmp);
    /* before the first instruction, and in the middle of the POST */
    assert_int_equal(raw_grant_horizon(&q, 0), QNS_HORIZON_BUSY);
    assert_int_equal(raw_grant_horizon(&q, 1000), QNS_HORIZON_BUSY);
    int32_t h = QNS_HORIZON_BUSY;
    for (int i = 0; i < 100 && h <= 0; i++) {
        h = raw_grant_horizon(&q, 10000);
    }
    assert_true(h > 1000 && h < 100000);
    /* a barrier tells the same horizon; half of it later, half is left */
    assert_int_equal(raw_grant_horizon(&q, 0), h);
    int32_t half = h / 2;
    assert_int_equal(raw_grant_horizon(&q, half), h - half);
    /* granting the rest, the guest stays halted up to its tick, now due */
    int32_t due = raw_grant_horizon(&q, h - half);
    assert_in_range(due, 0, 0);
    /* it handles the tick and halts again until the next one */
    int32_t next = raw_grant_horizon(&q, 1000);
    assert_true(next > 10000 && next < 100000);
    raw_stop(&q);
    unlink(qmp);
    g_free(qmp);
}

/* A frame the simulator sent for a halted guest's future bounds its horizon. */
static void horizon_ends_at_a_frame_on_its_way(void **state)
{
    (void)state;
    raw_qemu q;
    char *qmp = NULL;
    uint8_t frame[60];
    raw_start_unsealed(&q, "horizon-frame", &qmp);
    int64_t t_us = 0;
    int32_t h = QNS_HORIZON_BUSY;
    for (int i = 0; i < 100 && h < 2000; i++) {
        h = raw_grant_horizon(&q, 10000);
        t_us += 10000;
    }
    assert_true(h >= 2000 && h < 100000);
    int32_t d = h / 2;
    test_frame(frame);
    assert_int_equal(
        qw_write_record(q.nic, (uint64_t)(t_us + d) * 1000, 0, 1, frame, sizeof(frame)), 0);
    /* read before the barrier's answer: the frame is due in d us */
    assert_int_equal(raw_grant_horizon(&q, 0), d);
    assert_int_equal(raw_grant_horizon(&q, d - 1), 1);
    assert_int_equal(raw_grant_horizon(&q, 1), 0);
    raw_stop(&q);
    unlink(qmp);
    g_free(qmp);
}

/* Without horizon=on a reply is one int and nothing follows it. */
static void without_horizon_a_reply_is_one_int(void **state)
{
    (void)state;
    raw_qemu q;
    raw_start(&q, "nohorizon", NIC_NONE, NULL);
    const int32_t grants[] = {0, 1000, 30000, 0, 60000};
    for (size_t i = 0; i < sizeof(grants) / sizeof(grants[0]); i++) {
        raw_grant(&q, grants[i]);
        assert_int_equal(qw_readable(qns_guest_reply_fd(q.g), 200), 0);
    }
    raw_stop(&q);
}

static void malformed_record_stops_qemu_cleanly_with_status_1(void **state)
{
    (void)state;
    raw_qemu q;
    uint8_t frame[60];
    int32_t g = 100, reply;
    raw_start(&q, "malformed", NIC_E1000, NULL);
    raw_grant(&q, 1000);
    test_frame(frame);
    /* A frame for the NIC before it started, counted at QEMU's clean exit
     * only (no horizon=on), then a bad version. */
    assert_int_equal(qw_write_record(q.nic, 500000, 0, 1, frame, sizeof(frame)), 0);
    assert_int_equal(qw_write_record(q.nic, 2000000, 0, 2, frame, sizeof(frame)), 0);
    /* QEMU refuses that record as soon as it reads it and may be gone by
     * now: the grant may meet a closed pipe. */
    (void)qw_write_full(qns_guest_grant_fd(q.g), &g, sizeof(g));
    /* no reply: EOF on the reply pipe */
    assert_int_equal(qw_read_full(qns_guest_reply_fd(q.g), &reply, sizeof(reply), 10000), -1);
    assert_int_equal(qns_guest_wait(q.g, 10000, err), 1);
    int st = qns_guest_exit_status(q.g);
    char *out = slurp(q.con);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 1 ||
        !strstr(out, "qqq: netdev n0: record version 2, expected 1\n") ||
        !strstr(out, "qqq: netdev n0: 1 frames dropped before the NIC started\n")) {
        fail_msg("wanted status 1, the error and a clean shutdown; got status 0x%x and: %s", st,
                 out);
    }
    g_free(out);
    raw_stop(&q);
}

static void sigterm_ends_qemu_while_a_record_write_blocks(void **state)
{
    (void)state;
    raw_qemu q;
    char ans[4096], *qmp = socket_name("qmp-flood"),
                    *opt = g_strdup_printf("unix:%s,server=on,wait=off", qmp);
    const char *extra[] = {"-qmp", opt, NULL};
    raw_start(&q, "flood", NIC_E1000, extra);
    raw_grant(&q, 1000);
    int m = qw_qmp_open(qmp, 10000);
    assert_true(m >= 0);
    /* One RARP a millisecond from the main loop; the simulator never reads:
     * the socket fills and QEMU's write blocks. */
    assert_int_equal(qw_qmp(m,
                            "{\"execute\": \"announce-self\", \"arguments\": {\"initial\": 1, "
                            "\"max\": 1, \"rounds\": 100000, \"step\": 0}}",
                            ans, sizeof(ans), 5000),
                     0);
    usleep(1500000);
    /* Stuck: the monitor no longer answers. */
    assert_int_equal(qw_qmp(m, "{\"execute\": \"query-status\"}", ans, sizeof(ans), 500), -1);
    long long t0 = ts_now_ms();
    kill(qns_guest_pid(q.g), SIGTERM);
    assert_int_equal(qns_guest_wait(q.g, 2000, err), 1);
    assert_true(ts_now_ms() - t0 < 2000);
    char how[128];
    qns_guest_describe_end(q.g, how, sizeof(how));
    assert_string_equal(how, "exited with status 0");
    close(m);
    raw_stop(&q);
    unlink(qmp);
    g_free(qmp);
    g_free(opt);
}

/* QEMU under -qqq with a QMP socket, granted `first` us, its QMP open. */
typedef struct qmp_qemu {
    qns_sync *s;
    int m;
    char *con, *qmp, *opt;
} qmp_qemu;

/* rtc: the -rtc value instead of qemu_argv's, or NULL. */
static void qmp_start_with(qmp_qemu *q, const char *tag, const char *rtc, int32_t first,
                           const char *sandbox)
{
    ts_argv a, b;
    q->con = console_name(tag);
    q->qmp = socket_name(tag);
    q->opt = g_strdup_printf("unix:%s,server=on,wait=off", q->qmp);
    const char *extra[] = {"-qmp", q->opt, sandbox ? "-sandbox" : NULL, sandbox, NULL};
    qemu_argv(&a, NIC_NONE, NULL, extra);
    b.n = 0;
    for (int i = 0; i < a.n; i++) {
        ts_add(&b, "%s", rtc && i > 0 && !strcmp(a.v[i - 1], "-rtc") ? rtc : a.v[i]);
    }
    q->s = start_qemu(&b, 0, q->con, NULL);
    grant(q->s, first);
    q->m = qw_qmp_open(q->qmp, 10000);
    assert_true(q->m >= 0);
}

static void qmp_start(qmp_qemu *q, const char *tag, const char *rtc, int32_t first)
{
    qmp_start_with(q, tag, rtc, first, NULL);
}

static void qmp_stop(qmp_qemu *q)
{
    close(q->m);
    qns_sync_free(q->s);
    unlink(q->con);
    unlink(q->qmp);
    g_free(q->con);
    g_free(q->qmp);
    g_free(q->opt);
}

static void qmp_stop_and_cont_are_served_while_waiting_for_a_grant(void **state)
{
    (void)state;
    char ans[4096];
    qmp_qemu q;
    qmp_start(&q, "qmp", NULL, 1000);
    qns_sync *s = q.s;
    int m = q.m;
    assert_int_equal(qw_qmp(m, "{\"execute\": \"stop\"}", ans, sizeof(ans), 3000), 0);
    assert_non_null(strstr(ans, "\"return\": {}"));
    assert_int_equal(qw_qmp(m, "{\"execute\": \"query-status\"}", ans, sizeof(ans), 3000), 0);
    assert_non_null(strstr(ans, "\"status\": \"paused\""));
    assert_int_equal(qw_qmp(m, "{\"execute\": \"cont\"}", ans, sizeof(ans), 3000), 0);
    assert_non_null(strstr(ans, "\"return\": {}"));
    assert_int_equal(qw_qmp(m, "{\"execute\": \"query-status\"}", ans, sizeof(ans), 3000), 0);
    assert_non_null(strstr(ans, "\"status\": \"running\""));
    grant(s, 1000);
    assert_int_equal(qns_sync_last_reply_us(s, 0), 1000);
    assert_int_equal(qns_sync_clock_us(s, 0), 2000);
    qmp_stop(&q);
}

/* The guest's RTC (the pc machine's rtc-time, read over QMP) at virtual
 * time 0 with the -rtc options given. */
static void rtc_time_at_start(const char *rtc, char *ans, size_t size)
{
    qmp_qemu q;
    qmp_start(&q, "rtc", rtc, 0);
    assert_int_equal(qw_qmp(q.m,
                            "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"/machine\", "
                            "\"property\": \"rtc-time\"}}",
                            ans, size, 3000),
                     0);
    qmp_stop(&q);
}

/* Nothing may depend on the host's clock under -qqq unless asked for: a
 * client that passes only -rtc clock=vm (as the seed's did) gets an RTC
 * that starts at 2020-01-01T00:00:00, the date qns passes; base=utc still
 * asks for the host's date. */
static void rtc_starts_at_a_fixed_date_without_base(void **state)
{
    (void)state;
    char ans[4096];
    const char *want = "\"tm_year\": 120, \"tm_sec\": 0, \"tm_hour\": 0, \"tm_min\": 0, "
                       "\"tm_mon\": 0, \"tm_mday\": 1}";
    rtc_time_at_start("clock=vm", ans, sizeof(ans));
    if (strstr(ans, want) == NULL) {
        fail_msg("wanted the RTC at 2020-01-01T00:00:00 (%s), got %s", want, ans);
    }
    rtc_time_at_start("clock=vm,base=utc", ans, sizeof(ans));
    assert_null(strstr(ans, "\"tm_year\": 120,"));
    assert_non_null(strstr(ans, "\"tm_year\": 1"));
    assert_int_equal(ts_child_count(), 0);
}

static void gdbstub_stops_and_continues_a_guest_waiting_for_a_grant(void **state)
{
    (void)state;
    raw_qemu q;
    char ans[4096], *gdb = socket_name("gdb");
    char *opt = g_strdup_printf("unix:%s,server=on,wait=off", gdb);
    const char *extra[] = {"-gdb", opt, NULL};
    int32_t g = 1000, reply;
    raw_start(&q, "gdb", NIC_NONE, extra);
    raw_grant(&q, 1000);
    /* Attaching stops the guest; the stop reply says why. */
    int d = qw_connect(gdb, 10000);
    assert_true(d >= 0);
    assert_int_equal(qw_write_full(d, "$?#3f", 5), 0);
    assert_int_equal(qw_read_until(d, "#", ans, sizeof(ans), 3000), 0);
    assert_non_null(strstr(ans, "$T05"));
    /* Stopped: a grant gets no reply... */
    assert_int_equal(qw_write_full(qns_guest_grant_fd(q.g), &g, sizeof(g)), 0);
    assert_int_equal(qw_read_full(qns_guest_reply_fd(q.g), &reply, sizeof(reply), 700), -1);
    /* ...until the debugger continues the guest. */
    assert_int_equal(qw_write_full(d, "+$c#63", 6), 0);
    assert_int_equal(qw_read_full(qns_guest_reply_fd(q.g), &reply, sizeof(reply), 5000), 0);
    assert_int_equal(reply, 1000);
    raw_grant(&q, 1000);
    close(d);
    raw_stop(&q);
    unlink(gdb);
    g_free(gdb);
    g_free(opt);
}

/* The "Seccomp:" mode of a process (0 none, 2 filter), from /proc. */
static int seccomp_mode(pid_t pid)
{
    char *path = g_strdup_printf("/proc/%d/status", (int)pid), *text = NULL;
    int mode = -1;
    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    const char *at = strstr(text, "\nSeccomp:");
    if (at) {
        mode = atoi(at + strlen("\nSeccomp:"));
    }
    g_free(text);
    g_free(path);
    return mode;
}

/* Asks QEMU over QMP to migrate to "exec:touch MARK": a program QEMU would
 * start for its owner, or for whoever reached its monitor. Whether MARK
 * appears within a second. */
static int exec_migration_runs(qmp_qemu *q, const char *mark)
{
    char cmd[512], ans[4096];
    snprintf(cmd, sizeof(cmd),
             "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"exec:touch %s\"}}", mark);
    (void)qw_qmp(q->m, cmd, ans, sizeof(ans), 3000);
    for (int i = 0; i < 100 && !g_file_test(mark, G_FILE_TEST_EXISTS); i++) {
        g_usleep(10000);
    }
    return g_file_test(mark, G_FILE_TEST_EXISTS);
}

/* Every QEMU qns starts runs under QNS_QEMU_SANDBOX (seccomp, in the patched
 * build): its filter is on before the guest runs, and a program it would
 * start (here through an exec: migration) never runs. Without the sandbox
 * the same request runs it, so the check can fail. */
static void qemu_runs_confined_by_seccomp(void **state)
{
    (void)state;
    char *mark = g_strdup_printf("%s/qemu-sandbox-%d.mark", g_get_current_dir(), getpid());
    qmp_qemu q;
    qmp_start_with(&q, "sandbox", NULL, 1000, QNS_QEMU_SANDBOX);
    assert_int_equal(seccomp_mode(qns_guest_pid(qns_sync_guest(q.s, 0))), 2);
    assert_false(exec_migration_runs(&q, mark));
    qmp_stop(&q);
    qmp_start_with(&q, "unconfined", NULL, 1000, NULL);
    assert_int_equal(seccomp_mode(qns_guest_pid(qns_sync_guest(q.s, 0))), 0);
    assert_true(exec_migration_runs(&q, mark));
    qmp_stop(&q);
    unlink(mark);
    g_free(mark);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replies_equal_grants_at_1us),
        cmocka_unit_test(replies_equal_grants_at_10us_with_network_boot),
        cmocka_unit_test(replies_equal_grants_at_1000us),
        cmocka_unit_test(nothing_runs_before_the_first_grant),
        cmocka_unit_test(barrier_answers_zero_without_running),
        cmocka_unit_test(negative_grant_stops_qemu_with_status_1),
        cmocka_unit_test(eof_ends_qemu_with_status_0_promptly),
        cmocka_unit_test(sigterm_while_waiting_ends_qemu_promptly),
        cmocka_unit_test(refusals_name_the_problem),
        cmocka_unit_test(virtio_net_record_streams_are_identical_idle_and_loaded),
        cmocka_unit_test(e1000_record_streams_are_identical_idle_and_loaded),
        cmocka_unit_test(late_frame_comes_back_as_a_late_record),
        cmocka_unit_test(frames_before_the_nic_started_come_back_as_unopened_records),
        cmocka_unit_test(a_guest_whose_nic_never_starts_stays_sealed),
        cmocka_unit_test(horizon_is_busy_while_running_and_the_next_timer_when_halted),
        cmocka_unit_test(horizon_ends_at_a_frame_on_its_way),
        cmocka_unit_test(without_horizon_a_reply_is_one_int),
        cmocka_unit_test(malformed_record_stops_qemu_cleanly_with_status_1),
        cmocka_unit_test(sigterm_ends_qemu_while_a_record_write_blocks),
        cmocka_unit_test(qmp_stop_and_cont_are_served_while_waiting_for_a_grant),
        cmocka_unit_test(qemu_runs_confined_by_seccomp),
        cmocka_unit_test(gdbstub_stops_and_continues_a_guest_waiting_for_a_grant),
        cmocka_unit_test(rtc_starts_at_a_fixed_date_without_base),
    };
    /* QNS_TEST_FILTER=PATTERN runs only the matching tests (cmocka's glob). */
    if (getenv("QNS_TEST_FILTER")) {
        cmocka_set_test_filter(getenv("QNS_TEST_FILTER"));
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
