/* The patched QEMU's snapshots (-qqq save=FD, restore=FD; qemu-patch/0011):
 * the firmware's network boot (iPXE's DHCP over virtio-net) is saved after
 * 2 s by a grant of -2. Saved twice, the second time beside a CPU hog, it is
 * the same bytes. Restored twice, the second time beside a CPU hog, it sends
 * the same frames at the same instants, counted from the save, and those are
 * the frames a guest that was never saved sends after its first 2 s. Guest
 * RAM that is a file mapped shared (memory-backend-file,share=on) stays out
 * of the stream; restores map the file privately and never write it, with
 * the same frames. The refusals: a save or restore file that is not a regular file, a stream
 * that cannot be loaded, frames still on their way to the guest, a grant of
 * -2 without save=. No process is left behind. */
#define _GNU_SOURCE
#include "qemu_harness.h"
#include "qemu_wire.h"
#include "qns_guest.h"
#include "test_support.h"

#include <glib.h>
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

#define BOOT_MS 2000  /* the save's instant */
#define AFTER_MS 4000 /* how long a restored guest runs */
#define MAX_RECS 256

static char err[QNS_ERRBUF_SIZE];

/* The frames one run sent: their stamps, lengths and FNV-1a sums. */
typedef struct recs {
    size_t n;
    uint64_t t[MAX_RECS];
    uint32_t len[MAX_RECS];
    uint32_t sum[MAX_RECS];
} recs;

/* One QEMU spoken to through its raw pipes and NIC 0's socket. */
typedef struct snap_qemu {
    qns_guest *g;
    int nic;
    char *con;
} snap_qemu;

/* Starts QEMU with a virtio-net NIC, `qqq` added to its -qqq option (NULL:
 * nothing) and `snapshot` passed at QNS_GUEST_FD_SNAPSHOT (NULL: none),
 * created for writing when `save`; with `ram`, guest RAM is that file,
 * mapped shared when saving and privately when restoring. Exchanges the
 * hello records. */
static void start_ram(snap_qemu *q, const char *tag, const char *qqq, const char *snapshot,
                      int save, const char *ram)
{
    ts_argv a;
    char *backend = g_strdup_printf("memory-backend-file,id=ram0,size=128M,mem-path=%s,%s", ram,
                                    save ? "share=on" : "share=off,readonly=on,rom=off");
    const char *extra[] = {"-qqq", qqq, "-object", backend, "-machine", "memory-backend=ram0",
                           NULL};
    if (ram == NULL) {
        extra[2] = NULL;
    }
    qemu_argv(&a, NIC_VIRTIO, NULL, qqq ? extra : NULL);
    g_free(backend);
    q->con = console_name(tag);
    qns_guest_spec spec = {.name = "qemu",
                           .argv = a.v,
                           .nic_count = 1,
                           .console_path = q->con,
                           .snapshot_path = snapshot,
                           .snapshot_save = save};
    q->g = qns_guest_spawn(&spec, err);
    if (q->g == NULL) {
        fail_msg("%s", err);
    }
    q->nic = qns_guest_take_nic_fd(q->g, 0);
    assert_true(q->nic >= 0);
    qw_record *r = malloc(sizeof(*r));
    assert_int_equal(qw_read_record(q->nic, r, 20000), 0);
    assert_int_equal(r->type, 1);
    assert_int_equal(qw_write_record(q->nic, 0, 1, 1, NULL, 0), 0);
    free(r);
}

static void start(snap_qemu *q, const char *tag, const char *qqq, const char *snapshot, int save)
{
    start_ram(q, tag, qqq, snapshot, save, NULL);
}

static void grant_ms(snap_qemu *q, int ms)
{
    for (int k = 0; k < ms; k++) {
        int32_t reply = -1;
        if (qw_grant(qns_guest_grant_fd(q->g), qns_guest_reply_fd(q->g), 1000, &reply, 20000) < 0) {
            fail_msg("no reply to grant %d", k + 1);
        }
        assert_int_equal(reply, 1000);
    }
}

/* Reads every frame QEMU has written (it wrote them during the grants). */
static void read_frames(snap_qemu *q, recs *out)
{
    qw_record *r = malloc(sizeof(*r));
    memset(out, 0, sizeof(*out));
    while (qw_readable(q->nic, 200) == 1 && qw_read_record(q->nic, r, 5000) == 0) {
        assert_int_equal(r->type, 0);
        if (out->n < MAX_RECS) {
            out->t[out->n] = r->time_ns;
            out->len[out->n] = r->length;
            out->sum[out->n] = fnv(r->payload, r->length);
            out->n++;
        }
    }
    free(r);
}

/* Waits for QEMU's exit and returns its console; `status` is the exit code
 * it must have had. */
static char *finish(snap_qemu *q, int status)
{
    assert_int_equal(qns_guest_wait(q->g, 60000, err), 1);
    int st = qns_guest_exit_status(q->g);
    char *out = slurp(q->con);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != status) {
        fail_msg("wanted exit status %d, got 0x%x: %s", status, st, out);
    }
    return out;
}

static void stop(snap_qemu *q)
{
    close(q->nic);
    qns_guest_free(q->g);
    unlink(q->con);
    g_free(q->con);
}

/* Boots for BOOT_MS and saves to `path` (RAM in `ram`, if not NULL): the
 * grant of -2 is answered with 0 and QEMU exits with status 0. */
static void save_after_boot(const char *path, const char *ram, int load, recs *boot)
{
    pid_t burner = load ? ts_start_cpu_burner() : -1;
    snap_qemu q;
    start_ram(&q, "save", "save=22", path, 1, ram);
    grant_ms(&q, BOOT_MS);
    int32_t reply = -1;
    assert_int_equal(qw_grant(qns_guest_grant_fd(q.g), qns_guest_reply_fd(q.g), -2, &reply, 60000),
                     0);
    assert_int_equal(reply, 0);
    g_free(finish(&q, 0));
    read_frames(&q, boot);
    stop(&q);
    ts_stop_cpu_burner(burner);
}

/* Runs for `ms` from `snapshot` (NULL: a cold boot; RAM mapped from `ram`
 * if not NULL) and records the frames. */
static void run_for(const char *snapshot, const char *ram, int ms, int load, recs *out)
{
    pid_t burner = load ? ts_start_cpu_burner() : -1;
    snap_qemu q;
    start_ram(&q, "run", snapshot ? "restore=22" : NULL, snapshot, 0, ram);
    grant_ms(&q, ms);
    read_frames(&q, out);
    stop(&q);
    ts_stop_cpu_burner(burner);
}

static void assert_same_frames(const recs *a, const recs *b, uint64_t shift_ns)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        if (a->t[i] != b->t[i] + shift_ns || a->len[i] != b->len[i] || a->sum[i] != b->sum[i]) {
            fail_msg("frame %zu: %llu ns, %u bytes, sum %08x against %llu ns, %u bytes, sum %08x", i,
                     (unsigned long long)a->t[i], a->len[i], a->sum[i],
                     (unsigned long long)(b->t[i] + shift_ns), b->len[i], b->sum[i]);
        }
    }
}

static char *snap_name(const char *tag)
{
    return g_strdup_printf("qemu-%s-%d.snapshot", tag, getpid());
}

/* The frames a guest never saved sends after its first BOOT_MS, and how
 * many it sent before: what a restored guest must reproduce. */
typedef struct cold_boot {
    recs before, after;
} cold_boot;

static int cold_boot_setup(void **state)
{
    cold_boot *c = calloc(1, sizeof(*c));
    recs *all = malloc(sizeof(*all));
    run_for(NULL, NULL, BOOT_MS + AFTER_MS, 0, all);
    for (size_t i = 0; i < all->n; i++) {
        recs *to = all->t[i] < (uint64_t)BOOT_MS * 1000000 ? &c->before : &c->after;
        to->t[to->n] = all->t[i];
        to->len[to->n] = all->len[i];
        to->sum[to->n] = all->sum[i];
        to->n++;
    }
    free(all);
    *state = c;
    return 0;
}

static int cold_boot_teardown(void **state)
{
    free(*state);
    return 0;
}

/* Saves twice (the second beside a CPU hog) with RAM in the stream or in
 * `ram` files, checks the snapshots are the same bytes, restores twice
 * (the second beside a CPU hog) and checks both send the cold boot's
 * frames. Returns the stream's size. */
static off_t save_twice_restore_twice(const cold_boot *c, const char *tag, int ram_file)
{
    recs *boot1 = malloc(sizeof(recs)), *boot2 = malloc(sizeof(recs));
    recs *r1 = malloc(sizeof(recs)), *r2 = malloc(sizeof(recs));
    char *p1 = g_strdup_printf("qemu-%s1-%d.snapshot", tag, getpid());
    char *p2 = g_strdup_printf("qemu-%s2-%d.snapshot", tag, getpid());
    char *m1 = ram_file ? g_strdup_printf("qemu-%s1-%d.ram", tag, getpid()) : NULL;
    char *m2 = ram_file ? g_strdup_printf("qemu-%s2-%d.ram", tag, getpid()) : NULL;

    save_after_boot(p1, m1, 0, boot1);
    save_after_boot(p2, m2, 1, boot2);
    if (!ts_same_bytes(p1, p2) || (ram_file && !ts_same_bytes(m1, m2))) {
        fail_msg("two snapshots of the same boot differ: %s, %s", p1, p2);
    }
    assert_same_frames(boot1, &c->before, 0);
    assert_same_frames(boot2, &c->before, 0);
    struct stat st;
    assert_int_equal(stat(p1, &st), 0);
    off_t size = st.st_size;
    if (ram_file) {
        assert_int_equal(stat(m1, &st), 0);
        assert_int_equal(st.st_size, 128 << 20);
    }
    char *ram_before = ram_file ? slurp(m1) : NULL;

    run_for(p1, m1, AFTER_MS, 0, r1);
    run_for(p1, m1, AFTER_MS, 1, r2);
    assert_true(r1->n >= 1); /* iPXE goes on with its DHCP */
    assert_same_frames(&c->after, r1, (uint64_t)BOOT_MS * 1000000);
    assert_same_frames(&c->after, r2, (uint64_t)BOOT_MS * 1000000);
    if (ram_file) {
        /* mapped privately: the restored guests never wrote the file */
        char *ram_after = slurp(m1);
        assert_memory_equal(ram_before, ram_after, 128 << 20);
        g_free(ram_after);
    }

    printf("%s: stream %lld bytes; restored: %zu frames, first at %llu ns after the save\n", tag,
           (long long)size, r1->n, (unsigned long long)r1->t[0]);
    unlink(p1);
    unlink(p2);
    if (ram_file) {
        unlink(m1);
        unlink(m2);
    }
    g_free(ram_before);
    g_free(p1);
    g_free(p2);
    g_free(m1);
    g_free(m2);
    free(boot1);
    free(boot2);
    free(r1);
    free(r2);
    assert_int_equal(ts_child_count(), 0);
    return size;
}

/* The stream's size with RAM in it, for the next test. */
static off_t whole_stream_size;

static void a_snapshot_is_the_same_bytes_and_restores_to_the_same_frames(void **state)
{
    whole_stream_size = save_twice_restore_twice(*state, "snap", 0);
    assert_true(whole_stream_size > 1000000); /* the firmware's RAM, zero pages left out */
}

/* RAM that is a shared file mapping stays out of the stream: the stream is
 * the devices only, the file holds RAM, and restores map it privately. */
static void ram_in_a_file_stays_out_of_the_stream_and_is_mapped_privately(void **state)
{
    off_t size = save_twice_restore_twice(*state, "ramfile", 1);
    /* without the guest's 128 MiB of RAM; the firmware ROMs stay in it */
    assert_true(whole_stream_size > 0);
    assert_true(size < whole_stream_size / 2);
}

/* QEMU started with `qqq` and `snapshot` exits 1 before any grant, saying
 * `want` (with `whole`, its console is that and nothing else). */
static void refused_at_start(const char *qqq, const char *snapshot, int whole, const char *want)
{
    ts_argv a;
    const char *extra[] = {"-qqq", qqq, NULL};
    qemu_argv(&a, NIC_NONE, NULL, extra);
    qns_guest_spec spec = {.name = "qemu", .argv = a.v, .snapshot_path = snapshot};
    if (whole) {
        qemu_expect_refusal_line(&spec, want);
    } else {
        qemu_expect_refusal(&spec, want);
    }
}

static void snapshots_that_cannot_be_refuse_to_start(void **state)
{
    (void)state;
    refused_at_start("save=22", "/dev/null", 0, "-qqq: save=22 is not a regular file");
    refused_at_start("restore=22", "/dev/null", 0, "-qqq: restore=22 is not a regular file");
    /* No snapshot at all: one line, nothing of QEMU's before it. */
    char *bad = snap_name("garbage");
    assert_true(g_file_set_contents(bad, "not a migration stream\n", -1, NULL));
    refused_at_start("restore=22", bad, 1,
                     "qemu-system-x86_64: -qqq: restore: not a snapshot (no QEMU migration stream "
                     "header)\n");
    /* A stream's header, then nothing this machine can load. */
    assert_true(g_file_set_contents(bad, "QEVM\0\0\0\3junk", 12, NULL));
    refused_at_start("restore=22", bad, 0,
                     "-qqq: restore: cannot load the snapshot (error -22): it was saved from "
                     "another machine, or is damaged\n");
    unlink(bad);
    g_free(bad);
    assert_int_equal(ts_child_count(), 0);
}

/* A grant of -2 that QEMU must refuse: status 1, `want` on its console. */
static void refused_save(snap_qemu *q, const char *want)
{
    int32_t minus2 = -2;
    assert_int_equal(write(qns_guest_grant_fd(q->g), &minus2, sizeof(minus2)), sizeof(minus2));
    char *out = finish(q, 1);
    if (strstr(out, want) == NULL) {
        fail_msg("wanted '%s', got: %s", want, out);
    }
    g_free(out);
    stop(q);
}

/* A frame waiting for its instant would be lost: no save, status 1. */
static void frames_on_their_way_refuse_the_save(void **state)
{
    (void)state;
    char *path = snap_name("pending");
    snap_qemu q;
    start(&q, "pending", "save=22", path, 1);
    grant_ms(&q, 10);
    uint8_t frame[60];
    memset(frame, 0xff, 6);
    memcpy(frame + 6, "\x52\x54\x00\x00\x00\x02\x88\xb5", 8);
    memset(frame + 14, 0, sizeof(frame) - 14);
    assert_int_equal(qw_write_record(q.nic, 50 * 1000000ull, 0, 1, frame, sizeof(frame)), 0);
    refused_save(&q, "qqq: cannot save: netdev n0 has frames on their way to the guest");
    unlink(path);
    g_free(path);
    assert_int_equal(ts_child_count(), 0);
}

static void minus_two_without_save_is_a_negative_grant(void **state)
{
    (void)state;
    snap_qemu q;
    start(&q, "nosave", NULL, NULL, 0);
    grant_ms(&q, 10);
    refused_save(&q, "qqq: negative grant -2");
    assert_int_equal(ts_child_count(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_snapshot_is_the_same_bytes_and_restores_to_the_same_frames),
        cmocka_unit_test(ram_in_a_file_stays_out_of_the_stream_and_is_mapped_privately),
        cmocka_unit_test(snapshots_that_cannot_be_refuse_to_start),
        cmocka_unit_test(frames_on_their_way_refuse_the_save),
        cmocka_unit_test(minus_two_without_save_is_a_negative_grant),
    };
    return cmocka_run_group_tests(tests, cold_boot_setup, cold_boot_teardown);
}
