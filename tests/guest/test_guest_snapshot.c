/* The default guest saved and restored under -qqq (qemu-patch/0011), with
 * its RAM in a file: booted 2.5 s with a command that pings an address
 * nobody answers, saved, restored twice (the second time beside a CPU hog).
 * Each restore sends exactly the ARP requests a guest that was never saved
 * sends after its first 2.5 s, to the nanosecond, and the RAM file is never
 * written. A Linux guest is what catches a restore that differs from the
 * saved machine: virtio-net asking it to announce itself (222 ns later on
 * its next frame) and the machine's reset writing the pristine kernel image
 * into RAM (the guest reset itself 25.9 ms in). */
#define _GNU_SOURCE
#include "qemu_wire.h"
#include "qns.h"
#include "qns_guest.h"
#include "qns_qemu_args.h"
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

#define BOOT_US 2500000
#define AFTER_US 1500000
#define MAX_FRAMES 64

static char err[QNS_ERRBUF_SIZE];

typedef struct frames {
    size_t n;
    uint64_t t[MAX_FRAMES];
    uint32_t len[MAX_FRAMES];
} frames;

/* Appends one formatted word (command lines here outgrow ts_argv's). */
static void add(GPtrArray *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(GPtrArray *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_ptr_array_add(a, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

/* The default guest as qns starts it (one virtio-net NIC, the ping as its
 * command), RAM in `ram`: mapped shared for a save, privately otherwise
 * (NULL: plain RAM). `qqq` is added to -qqq. */
static GPtrArray *guest_argv(const char *qqq, const char *ram, int save)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    qns_guest_info gi;
    char *info = g_build_filename(qns_default_guest_dir(), "GUEST-INFO", NULL);
    if (qns_guest_info_read(info, &gi, err) < 0) {
        fail_msg("%s", err);
    }
    add(a, "%s", qns_default_qemu());
    for (char **w = gi.machine; *w; w++) {
        add(a, "%s", *w);
    }
    add(a, "-kernel");
    add(a, "%s/%s", qns_default_guest_dir(), gi.kernel);
    add(a, "-initrd");
    add(a, "%s/%s", qns_default_guest_dir(), gi.initrd);
    add(a, "-append");
    /* base64 of "ping -c 5 -i 0.2 10.0.0.2" */
    add(a, "%s qns.hostname=h1 qns.net=eth0,10.0.0.1/24 qns.cmd=cGluZyAtYyA1IC1pIDAuMiAxMC4wLjAuMg==",
           gi.cmdline);
    const char *fixed[] = {"-icount", "shift=1,sleep=off", "-rtc", "base=2020-01-01T00:00:00,clock=vm",
                           "-seed", "1", "-serial", "stdio", "-netdev", "qqq,id=n0,fd=5", NULL};
    for (const char *const *p = fixed; *p; p++) {
        add(a, "%s", *p);
    }
    char *dev = g_strdup(gi.nic_virtio);
    char *id = strstr(dev, "netdev=ID"), *mac = strstr(dev, "mac=MAC");
    assert_non_null(id);
    assert_non_null(mac);
    add(a, "-device");
    add(a, "%.*snetdev=n0%.*smac=52:54:00:00:00:01%s", (int)(id - dev), dev,
           (int)(mac - id - strlen("netdev=ID")), id + strlen("netdev=ID"), mac + strlen("mac=MAC"));
    add(a, "-qqq");
    add(a, "write=3,read=4%s%s", qqq ? "," : "", qqq ? qqq : "");
    if (ram) {
        add(a, "-object");
        add(a, "memory-backend-file,id=ram0,size=256M,mem-path=%s,%s", ram,
               save ? "share=on" : "share=off,readonly=on,rom=off");
        add(a, "-machine");
        add(a, "memory-backend=ram0");
    }
    g_ptr_array_add(a, NULL);
    g_free(dev);
    g_free(info);
    qns_guest_info_clear(&gi);
    return a;
}

/* Runs the guest for `us` in 1 ms grants, then saves it when `snapshot` is
 * set and `save`, and records every frame it sent. */
static void run(const char *snapshot, int save, const char *ram, int us, int load, frames *fr)
{
    pid_t burner = load ? ts_start_cpu_burner() : -1;
    char *con = g_strdup_printf("guest-snap-%d.console", getpid());
    GPtrArray *a = guest_argv(snapshot ? (save ? "save=22" : "restore=22") : NULL, ram, save);
    qns_guest_spec spec = {.name = "h1",
                           .argv = (const char *const *)a->pdata,
                           .nic_count = 1,
                           .console_path = con,
                           .snapshot_path = snapshot,
                           .snapshot_save = save};
    qns_guest *g = qns_guest_spawn(&spec, err);
    if (g == NULL) {
        fail_msg("%s", err);
    }
    int nic = qns_guest_take_nic_fd(g, 0);
    qw_record *r = malloc(sizeof(*r));
    assert_int_equal(qw_read_record(nic, r, 20000), 0);
    assert_int_equal(r->type, 1);
    assert_int_equal(qw_write_record(nic, 0, 1, 1, NULL, 0), 0);
    int gfd = qns_guest_grant_fd(g), rfd = qns_guest_reply_fd(g);
    for (int done = 0; done < us; done += 1000) {
        int32_t reply = -1;
        assert_int_equal(qw_grant(gfd, rfd, 1000, &reply, 20000), 0);
        assert_int_equal(reply, 1000);
    }
    if (snapshot && save) {
        int32_t reply = -1;
        assert_int_equal(qw_grant(gfd, rfd, -2, &reply, 60000), 0);
        assert_int_equal(reply, 0);
        assert_int_equal(qns_guest_wait(g, 60000, err), 1);
        int st = qns_guest_exit_status(g);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    qns_guest_close(g);
    memset(fr, 0, sizeof(*fr));
    while (qw_read_record(nic, r, 5000) == 0) {
        if (r->type == 0 && fr->n < MAX_FRAMES) {
            fr->t[fr->n] = r->time_ns;
            fr->len[fr->n] = r->length;
            fr->n++;
        }
    }
    free(r);
    close(nic);
    qns_guest_free(g);
    g_ptr_array_free(a, TRUE);
    unlink(con);
    g_free(con);
    ts_stop_cpu_burner(burner);
}

static void restored_guests_send_the_frames_of_a_guest_never_saved(void **state)
{
    (void)state;
    char *snap = g_strdup_printf("guest-%d.snapshot", getpid());
    char *ram = g_strdup_printf("guest-%d.ram", getpid());
    frames *cold = malloc(sizeof(*cold)), *boot = malloc(sizeof(*boot));
    frames *r1 = malloc(sizeof(*r1)), *r2 = malloc(sizeof(*r2));

    run(NULL, 0, NULL, BOOT_US + AFTER_US, 0, cold);
    run(snap, 1, ram, BOOT_US, 0, boot);
    gchar *ram_before = NULL;
    gsize ram_size = 0;
    assert_true(g_file_get_contents(ram, &ram_before, &ram_size, NULL));
    assert_int_equal(ram_size, 256u << 20);
    run(snap, 0, ram, AFTER_US, 0, r1);
    run(snap, 0, ram, AFTER_US, 1, r2);

    /* the cold guest's frames after the save's instant, counted from it */
    size_t k = 0;
    while (k < cold->n && cold->t[k] < (uint64_t)BOOT_US * 1000) {
        k++;
    }
    assert_int_equal(k, boot->n);
    assert_true(cold->n - k >= 1); /* an ARP request after the save */
    assert_int_equal(r1->n, cold->n - k);
    assert_int_equal(r2->n, cold->n - k);
    for (size_t i = 0; i < r1->n; i++) {
        uint64_t want = cold->t[k + i] - (uint64_t)BOOT_US * 1000;
        if (r1->t[i] != want || r2->t[i] != want || r1->len[i] != cold->len[k + i]) {
            fail_msg("frame %zu after the save: %llu and %llu ns, cold %llu ns", i,
                     (unsigned long long)r1->t[i], (unsigned long long)r2->t[i],
                     (unsigned long long)want);
        }
    }
    gchar *ram_after = NULL;
    assert_true(g_file_get_contents(ram, &ram_after, &ram_size, NULL));
    assert_int_equal(ram_size, 256u << 20);
    assert_memory_equal(ram_before, ram_after, ram_size);
    printf("restored twice: %zu frames after the save, first at %llu ns, as in a cold boot\n",
           r1->n, (unsigned long long)r1->t[0]);

    g_free(ram_before);
    g_free(ram_after);
    unlink(snap);
    unlink(ram);
    g_free(snap);
    g_free(ram);
    free(cold);
    free(boot);
    free(r1);
    free(r2);
    assert_int_equal(ts_child_count(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(restored_guests_send_the_frames_of_a_guest_never_saved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
