/* qns_snapshot_boot (qns_snapshot.h) with the fake guest as its QEMU (its
 * save=: a grant of -2 writes a line, replies 0, exits 0): the save comes
 * at the first grant after the console's ready line, and each way a boot
 * fails is said: not ready in time, the guest's own error, a guest that
 * ends, and a boot given up. No process is left in any case. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(saves_at_the_first_grant_after_the_ready_line),
        cmocka_unit_test(a_guest_never_ready_is_given_up_at_max_us),
        cmocka_unit_test(the_guests_own_error_fails_the_boot),
        cmocka_unit_test(a_guest_that_ends_fails_the_boot),
        cmocka_unit_test(a_boot_is_given_up_when_stop_says_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
