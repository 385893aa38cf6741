/* qns_snapshot_boot (qns_snapshot.h) with the fake guest as its QEMU (its
 * save=: a grant of -2 writes a line, replies 0, exits 0): the save comes
 * at the first grant after the console's ready line, and each way a boot
 * fails is said: not ready in time, the guest's own error, a guest that
 * ends, and a boot given up. No process is left in any case. A snapshot's
 * disk overlay is checked before QEMU opens it: only a plain qcow2 image
 * passes (qns_snapshot_disk_check). */
#define _GNU_SOURCE
#include "qns_guest.h"
#include "qns_snapshot.h"
#include "test_support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define READY "QNS-GUEST: waiting for configuration"

static char err[QNS_ERRBUF_SIZE];
static char console[64], stream[64];

/* The fake guest with one NIC, -qqq ...,save=22, then `actions`. */
static void fake_saving(ts_argv *a, const char *const *actions)
{
    char save[32];
    snprintf(save, sizeof(save), ",save=%d", QNS_GUEST_FD_SNAPSHOT);
    ts_fake_argv_with(a, QNS_FAKE_GUEST, 1, save);
    for (const char *const *x = actions; x && *x; x++) {
        ts_add(a, "%s", *x);
    }
}

static int64_t boot(const char *const *actions, int64_t max_us, int (*stop)(void *), void *ctx)
{
    snprintf(console, sizeof(console), "snap-%d.console", getpid());
    snprintf(stream, sizeof(stream), "snap-%d.stream", getpid());
    unlink(stream);
    ts_argv a;
    fake_saving(&a, actions);
    qns_snapshot_boot_spec spec = {.name = "g",
                                   .argv = a.v,
                                   .nic_count = 1,
                                   .console_path = console,
                                   .stream_path = stream,
                                   .ready = READY,
                                   .grant_us = 10000,
                                   .max_us = max_us,
                                   .stop = stop,
                                   .stop_ctx = ctx};
    int64_t t = qns_snapshot_boot(&spec, err);
    assert_int_equal(ts_child_count(), 0);
    return t;
}

static void saves_at_the_first_grant_after_the_ready_line(void **state)
{
    (void)state;
    const char *actions[] = {"print:5000000:booting", "print:25000000:" READY, NULL};
    assert_int_equal(boot(actions, 1000000, NULL, NULL), 30000);
    FILE *f = fopen(stream, "re");
    assert_non_null(f);
    char line[64] = "";
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_string_equal(line, "qns-fake-guest saved at 30000000\n");
}

static void a_guest_never_ready_is_given_up_at_max_us(void **state)
{
    (void)state;
    const char *actions[] = {"print:1000:booting", NULL};
    assert_int_equal(boot(actions, 50000, NULL, NULL), -1);
    assert_string_equal(err, "guest g: boot for its snapshot: not ready (\"" READY
                             "\") after 50000 us of virtual time (console: booting)");
}

static void the_guests_own_error_fails_the_boot(void **state)
{
    (void)state;
    const char *actions[] = {"print:5000000:QNS-GUEST: error: no disk", NULL};
    assert_int_equal(boot(actions, 1000000, NULL, NULL), -1);
    assert_string_equal(err, "guest g: boot for its snapshot: it failed (console: QNS-GUEST: "
                             "error: no disk)");
}

static void a_guest_that_ends_fails_the_boot(void **state)
{
    (void)state;
    const char *actions[] = {"print:1000:booting", "stop:15000000:0", NULL};
    assert_int_equal(boot(actions, 1000000, NULL, NULL), -1);
    assert_string_equal(err, "guest g: boot for its snapshot: QEMU stopped short of its grant "
                             "(the guest ended) (console: booting)");
}

/* Says stop from its third question on. */
static int stop_third(void *ctx)
{
    int *asked = ctx;
    return ++*asked >= 3;
}

static void a_boot_is_given_up_when_stop_says_so(void **state)
{
    (void)state;
    int asked = 0;
    const char *actions[] = {"print:25000000:" READY, NULL};
    assert_int_equal(boot(actions, 1000000, stop_third, &asked), -1);
    assert_int_equal(asked, 3);
    assert_string_equal(err, "guest g: boot for its snapshot: interrupted");
    /* Asked before anything starts, too. */
    asked = 2;
    assert_int_equal(boot(actions, 1000000, stop_third, &asked), -1);
    assert_int_equal(asked, 3);
    assert_int_equal(access(console, F_OK), 0); /* from the run before */
}

/* A qcow2 header: version, crypt method, incompatible features, then
 * 104 bytes in all (version 3) or `size`. */
static const char *qcow2(const char *name, uint32_t version, uint32_t crypt, uint32_t incompat,
                         size_t size)
{
    static char path[64];
    unsigned char h[512] = {0x51, 0x46, 0x49, 0xfb};
    uint32_t words[][2] = {{4, version}, {32, crypt}, {76, incompat}, {100, 104}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        for (int b = 0; b < 4; b++) {
            h[words[i][0] + (uint32_t)b] = (unsigned char)(words[i][1] >> (24 - 8 * b));
        }
    }
    snprintf(path, sizeof(path), "%s-%d.qcow2", name, getpid());
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    assert_int_equal(fwrite(h, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void only_a_plain_qcow2_image_passes_as_a_snapshot_disk(void **state)
{
    (void)state;
    const char *p = qcow2("plain", 3, 0, 0, 512);
    assert_int_equal(qns_snapshot_disk_check(p, err), 0);
    unlink(p);
    p = qcow2("dirty", 3, 0, 1, 512);
    assert_int_equal(qns_snapshot_disk_check(p, err), 0);
    unlink(p);
    p = qcow2("v2", 2, 0, 0, 72);
    assert_int_equal(qns_snapshot_disk_check(p, err), 0);
    unlink(p);
    char want[160];
    p = qcow2("datafile", 3, 0, 4, 512); /* an external data file */
    assert_int_equal(qns_snapshot_disk_check(p, err), -1);
    snprintf(want, sizeof(want),
             "%s has qcow2 features qns does not take (an external data file, or unknown ones)", p);
    assert_string_equal(err, want);
    unlink(p);
    p = qcow2("aes", 3, 1, 0, 512);
    assert_int_equal(qns_snapshot_disk_check(p, err), -1);
    snprintf(want, sizeof(want), "%s is an encrypted qcow2 image", p);
    assert_string_equal(err, want);
    unlink(p);
    p = qcow2("short", 3, 0, 0, 40); /* cut in its header */
    assert_int_equal(qns_snapshot_disk_check(p, err), -1);
    snprintf(want, sizeof(want), "%s is not a qcow2 image", p);
    assert_string_equal(err, want);
    unlink(p);
    p = qcow2("v4", 4, 0, 0, 512);
    assert_int_equal(qns_snapshot_disk_check(p, err), -1);
    assert_string_equal(err, (snprintf(want, sizeof(want), "%s is not a qcow2 image", p), want));
    unlink(p);
    assert_int_equal(qns_snapshot_disk_check("no-such.qcow2", err), -1);
    assert_string_equal(err, "cannot open no-such.qcow2: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(saves_at_the_first_grant_after_the_ready_line),
        cmocka_unit_test(a_guest_never_ready_is_given_up_at_max_us),
        cmocka_unit_test(the_guests_own_error_fails_the_boot),
        cmocka_unit_test(a_guest_that_ends_fails_the_boot),
        cmocka_unit_test(a_boot_is_given_up_when_stop_says_so),
        cmocka_unit_test(only_a_plain_qcow2_image_passes_as_a_snapshot_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
