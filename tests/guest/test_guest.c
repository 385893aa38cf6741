/* The default guest under the patched QEMU and real time grants, through
 * the C API: it boots to its end marker under 10 us and 1 ms quanta, a
 * command's output and exit status come back, two runs print byte-identical
 * consoles (virtual-time uptimes included), the power-off instant is the
 * same under any quantum, under load and spinning, and a bad parameter is reported
 * and ends in a clean power-off. Failures are failures: a set-up error, a
 * kernel panic, a command's exit status, a command cut off by the duration
 * and a guest that did not boot each fail the run with the guest's name, the
 * reason and its last console lines; the longest kernel command line the API
 * takes boots, one byte more is refused. Every guest here boots cold
 * (boot = cold: from its kernel); test_snapshot_boot restores them. */
#define _GNU_SOURCE
#include "qns.h"
#include "test_support.h"

#include <glib.h>
#include <inttypes.h>
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

typedef struct boot {
    const char *dir;
    uint32_t quantum_us;
    uint32_t spin_us;
    const char *command;
    const char *kernel_args;
    qns_nic_model model;
    int pin;
    uint64_t duration_ns; /* 0: 30 s */
    int fails;            /* the run is expected to fail: its error goes to DIR/error */
} boot;

static int write_text(const char *dir, const char *name, const char *text)
{
    char *path = g_strdup_printf("%s/%s", dir, name);
    int ok = g_file_set_contents(path, text, -1, NULL);
    g_free(path);
    return ok;
}

/* The guest a boot runs: g, with one NIC. */
static qns_guest_config boot_guest(const boot *b)
{
    qns_guest_config g = {.name = "g",
                          .command = b->command,
                          .kernel_args = b->kernel_args,
                          .ends_run = 1,
                          .nic_count = 1,
                          .boot = QNS_BOOT_COLD};
    g.nics[0].ipv4 = "10.0.0.1/24";
    g.nics[0].model = b->model;
    return g;
}

/* One guest with one NIC on a LAN of its own; runs until it powers off. */
static int run_boot(const boot *b)
{
    char err[QNS_ERRBUF_SIZE];
    qns_sim_config sc = {.quantum_us = b->quantum_us,
                         .seed = 3,
                         .out_dir = b->dir,
                         .spin_us = b->spin_us,
                         .pin = b->pin};
    qns_sim *sim = qns_sim_new(&sc, err);
    qns_guest_config g = boot_guest(b);
    qns_link_config lan = {.name = "lan", .type = QNS_LINK_CSMA};
    int gi = qns_sim_add_guest(sim, &g, err);
    int l = qns_sim_add_link(sim, &lan, err);
    if (gi < 0 || l < 0 || qns_sim_attach_guest(sim, l, gi, 0, 0, err) < 0) {
        fprintf(stderr, "run_boot: %s\n", err);
        return 1;
    }
    int r = qns_sim_run(sim, b->duration_ns ? b->duration_ns : 30000000000ull, err);
    qns_guest_stats st;
    qns_sim_guest_stats(sim, gi, &st);
    qns_sim_free(sim);
    if (b->fails) {
        char status[16];
        snprintf(status, sizeof(status), "%d", st.command_status);
        if (r != -1 || strcmp(st.error, err) != 0) {
            fprintf(stderr, "run_boot: run %d, error '%s', guest's '%s'\n", r, err, st.error);
            return 4;
        }
        int ok = write_text(b->dir, "error", err) && write_text(b->dir, "command_status", status);
        return ok ? 0 : 3;
    }
    if (r != 0) {
        fprintf(stderr, "run_boot: %s\n", err);
        return 1;
    }
    if (!st.done) {
        fprintf(stderr, "run_boot: the guest did not power off\n");
        return 2;
    }
    char *text = g_strdup_printf("%" PRId64, st.clock_us);
    int ok = write_text(b->dir, "clock_us", text);
    g_free(text);
    return ok ? 0 : 3;
}

/* `others`: children of ours that are not the simulation (a CPU burner). */
static void boot_in_child_beside(const boot *b, int others)
{
    pid_t p = fork();
    if (p == 0) {
        _exit(run_boot(b));
    }
    int st;
    assert_int_equal(waitpid(p, &st, 0), p);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(ts_child_count(), others);
}

static void boot_in_child(const boot *b)
{
    boot_in_child_beside(b, 0);
}

static char *console(const char *dir)
{
    char *path = g_strdup_printf("%s/g.console", dir);
    gchar *data = NULL;
    assert_true(g_file_get_contents(path, &data, NULL, NULL));
    g_free(path);
    return data;
}

/* The guest's virtual clock when it powered off, as the simulator saw it. */
static int64_t final_clock_us(const char *dir)
{
    char *path = g_strdup_printf("%s/clock_us", dir);
    gchar *data = NULL;
    assert_true(g_file_get_contents(path, &data, NULL, NULL));
    int64_t v = g_ascii_strtoll(data, NULL, 10);
    g_free(data);
    g_free(path);
    return v;
}

static char *fresh_dir(const char *tag)
{
    char *d = g_strdup_printf("guest-%s-%d", tag, getpid());
    g_mkdir_with_parents(d, 0755);
    return d;
}

static void boot_fails(boot *b, const char *want, int command_status);

static void boots_and_returns_output_and_status(uint32_t quantum_us, qns_nic_model model)
{
    char *dir = fresh_dir("boot");
    boot b = {.dir = dir,
              .quantum_us = quantum_us,
              .command = "echo hello from $(hostname); uname -r; exit 3",
              .model = model};
    boot_fails(&b, "guest g: its command exited with status 3; console: ", 3);
    char *out = console(dir);
    assert_non_null(strstr(out, "QNS-GUEST: ready "));
    assert_non_null(strstr(out, "QNS-CMD-BEGIN\r\nhello from g\r\n6.1.0-"));
    assert_non_null(strstr(out, "QNS-CMD-END status=3 uptime="));
    g_free(out);
    g_free(dir);
}

static void boots_under_10us_grants_virtio(void **state)
{
    (void)state;
    boots_and_returns_output_and_status(10, QNS_NIC_VIRTIO);
}

static void boots_under_1ms_grants_e1000(void **state)
{
    (void)state;
    boots_and_returns_output_and_status(1000, QNS_NIC_E1000);
}

static void two_runs_print_identical_consoles(void **state)
{
    (void)state;
    char *d1 = fresh_dir("same1"), *d2 = fresh_dir("same2");
    const char *cmd = "cat /proc/uptime; head -c 16 /dev/urandom | od -An -tx1; cat /proc/uptime";
    boot b1 = {d1, 10, 0, cmd, NULL, QNS_NIC_VIRTIO, 0, 0, 0},
         b2 = {d2, 10, 0, cmd, NULL, QNS_NIC_VIRTIO, 0, 0, 0};
    boot_in_child(&b1);
    boot_in_child(&b2);
    char *c1 = console(d1), *c2 = console(d2);
    assert_non_null(strstr(c1, "QNS-CMD-END status=0"));
    assert_string_equal(c1, c2);
    g_free(c1);
    g_free(c2);
    g_free(d1);
    g_free(d2);
}

/*
 * The guest stops at the power-off instruction and QEMU answers the grant in
 * flight with the time reached: the final clock is that instant, whatever
 * the quantum and however loaded the host is.
 */
static void power_off_instant_is_the_same_at_any_quantum(void **state)
{
    (void)state;
    /* 10 us; 1 ms; 1 ms under load; 1 ms with both sides spinning; 1 ms pinned */
    const uint32_t quanta[] = {10, 1000, 1000, 1000, 1000}, spin[] = {0, 0, 0, 2000, 0};
    int64_t clock[5];
    for (int i = 0; i < 5; i++) {
        char tag[16];
        snprintf(tag, sizeof(tag), "off%d", i);
        char *dir = fresh_dir(tag);
        boot b = {dir, quanta[i], spin[i], "true", NULL, QNS_NIC_VIRTIO, i == 4, 0, 0};
        pid_t burner = i == 2 ? ts_start_cpu_burner() : 0;
        boot_in_child_beside(&b, burner ? 1 : 0);
        ts_stop_cpu_burner(burner);
        clock[i] = final_clock_us(dir);
        g_free(dir);
    }
    assert_true(clock[0] > 500000);
    assert_int_equal(clock[1], clock[0]);
    assert_int_equal(clock[2], clock[0]);
    assert_int_equal(clock[3], clock[0]);
    assert_int_equal(clock[4], clock[0]);
}

/* spin_us reaches QEMU as -qqq spin=; test-kit programs get none. */
static void spin_is_passed_to_qemu(void **state)
{
    (void)state;
    char err[QNS_ERRBUF_SIZE];
    qns_sim_config sc = {.spin_us = 2000};
    qns_sim *sim = qns_sim_new(&sc, err);
    qns_guest_config g = {.name = "g", .command = "true", .boot = QNS_BOOT_COLD};
    qns_guest_config r = {.name = "r", .command = "true"}; /* restored */
    assert_int_equal(qns_sim_add_guest(sim, &g, err), 0);
    assert_int_equal(qns_sim_add_guest(sim, &r, err), 1);
    const char *want[] = {"write=3,read=4,spin=2000,horizon=on",
                          "write=3,read=4,spin=2000,horizon=on,restore=22"};
    for (int k = 0; k < 2; k++) {
        const char *const *a = qns_sim_guest_argv(sim, k);
        int i = 0;
        while (a[i] && strcmp(a[i], "-qqq")) {
            i++;
        }
        assert_non_null(a[i]);
        assert_string_equal(a[i + 1], want[k]);
    }
    qns_sim_free(sim);
}

static char *read_text(const char *dir, const char *name)
{
    char *path = g_strdup_printf("%s/%s", dir, name);
    gchar *data = NULL;
    assert_true(g_file_get_contents(path, &data, NULL, NULL));
    g_free(path);
    return data;
}

/* Boots b (which must fail the run) and checks the run's error begins with
 * want and the command status the guest reported. */
static void boot_fails(boot *b, const char *want, int command_status)
{
    b->fails = 1;
    if (b->quantum_us == 0) {
        b->quantum_us = 1000;
    }
    boot_in_child(b);
    char *got = read_text(b->dir, "error");
    print_message("%s\n", got);
    if (!g_str_has_prefix(got, want)) {
        fail_msg("run error:\n%s\nwanted it to begin with:\n%s", got, want);
    }
    assert_null(strchr(got, '\n'));
    g_free(got);
    char *status = read_text(b->dir, "command_status");
    assert_int_equal(atoi(status), command_status);
    g_free(status);
}

static void bad_parameter_is_reported_and_powers_off(void **state)
{
    (void)state;
    char *dir = fresh_dir("bad");
    boot b = {dir, 100, 0, "echo never", "qns.ipv6=maybe", QNS_NIC_VIRTIO, 0, 0, 0};
    boot_fails(&b, "guest g failed to set up: qns.ipv6 must be 0 or 1, not 'maybe'; console: ", -1);
    char *out = console(dir);
    assert_non_null(strstr(out, "QNS-GUEST: error: qns.ipv6 must be 0 or 1, not 'maybe'"));
    assert_null(strstr(out, "QNS-CMD-BEGIN"));
    g_free(out);
    g_free(dir);
}

static void unknown_parameter_fails_the_run(void **state)
{
    (void)state;
    char *dir = fresh_dir("bogus");
    boot b = {.dir = dir, .command = "echo never", .kernel_args = "qns.bogus=1"};
    boot_fails(&b,
               "guest g failed to set up: unknown parameter 'qns.bogus'; console: QNS-GUEST: "
               "error: unknown parameter 'qns.bogus'",
               -1);
    g_free(dir);
}

static void kernel_panic_fails_the_run(void **state)
{
    (void)state;
    char *dir = fresh_dir("panic");
    boot b = {.dir = dir, .command = "echo c > /proc/sysrq-trigger"};
    boot_fails(&b,
               "guest g: its kernel panicked (Kernel panic - not syncing: sysrq triggered crash); "
               "console: ",
               -1);
    g_free(dir);
}

static void command_exit_status_fails_the_run(void **state)
{
    (void)state;
    char *dir = fresh_dir("exit1");
    boot b = {.dir = dir, .command = "echo oops; exit 1"};
    boot_fails(&b,
               "guest g: its command exited with status 1; console: oops | QNS-CMD-END status=1 "
               "uptime=",
               1);
    g_free(dir);
}

static void command_cut_off_by_the_duration_fails_the_run(void **state)
{
    (void)state;
    char *dir = fresh_dir("cutoff");
    boot b = {.dir = dir, .command = "echo started; sleep 100", .duration_ns = 3000000000ull};
    boot_fails(&b,
               "guest g: its command was cut off by the end of the run's duration of 3 s; "
               "console: ",
               -1);
    g_free(dir);
}

static void guest_not_booted_by_the_end_fails_the_run(void **state)
{
    (void)state;
    char *dir = fresh_dir("noboot");
    boot b = {.dir = dir, .command = "true", .duration_ns = 100000000ull};
    boot_fails(&b,
               "guest g did not boot within the run's duration of 0.1 s (no \"QNS-GUEST: ready\" "
               "on its console); console: ",
               -1);
    g_free(dir);
}

/* The longest command the API takes still boots and runs (the limit is the
 * kernel's, not lower); one byte more, which a kernel given it would not
 * boot with, is refused before anything runs. */
static void command_line_limit_is_the_kernels(void **state)
{
    (void)state;
    char err[QNS_ERRBUF_SIZE];
    char *dir = fresh_dir("longest");
    char cmd[2048];
    boot b = {.dir = dir, .command = cmd, .quantum_us = 1000};
    size_t fits = 0, fits_len = 0;
    for (size_t n = 1000; n < sizeof(cmd) - 1; n++) {
        /* "true #xxx...": a comment fills the command out */
        memset(cmd, 'x', n);
        memcpy(cmd, "true #", 6);
        cmd[n] = '\0';
        qns_sim *sim = qns_sim_new(NULL, err);
        qns_guest_config g = boot_guest(&b);
        int r = qns_sim_add_guest(sim, &g, err);
        if (r == 0) {
            const char *const *a = qns_sim_guest_argv(sim, 0);
            for (int i = 0; a[i] && a[i + 1]; i++) {
                fits_len = strcmp(a[i], "-append") == 0 ? strlen(a[i + 1]) : fits_len;
            }
            fits = n;
        } else {
            char *want = g_strdup_printf(" bytes, more than the default guest's kernel takes "
                                         "(2047); the command (%zu bytes) is base64-encoded into "
                                         "it: shorten it",
                                         n);
            assert_true(g_str_has_prefix(err, "guest g: its kernel command line is "));
            assert_true(g_str_has_suffix(err, want));
            g_free(want);
        }
        qns_sim_free(sim);
        if (r < 0) {
            break;
        }
    }
    print_message("longest command %zu bytes, kernel command line %zu bytes\n", fits, fits_len);
    /* base64 grows in steps of 4 */
    assert_true(fits_len <= QNS_DEFAULT_GUEST_CMDLINE_MAX &&
                fits_len > QNS_DEFAULT_GUEST_CMDLINE_MAX - 4);
    memset(cmd, 'x', fits);
    memcpy(cmd, "true #", 6);
    cmd[fits] = '\0';
    boot_in_child(&b);
    char *out = console(dir);
    assert_non_null(strstr(out, "QNS-CMD-END status=0 uptime="));
    g_free(out);
    g_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(boots_under_10us_grants_virtio),
        cmocka_unit_test(boots_under_1ms_grants_e1000),
        cmocka_unit_test(two_runs_print_identical_consoles),
        cmocka_unit_test(power_off_instant_is_the_same_at_any_quantum),
        cmocka_unit_test(spin_is_passed_to_qemu),
        cmocka_unit_test(bad_parameter_is_reported_and_powers_off),
        cmocka_unit_test(command_line_limit_is_the_kernels),
        cmocka_unit_test(guest_not_booted_by_the_end_fails_the_run),
        cmocka_unit_test(unknown_parameter_fails_the_run),
        cmocka_unit_test(kernel_panic_fails_the_run),
        cmocka_unit_test(command_exit_status_fails_the_run),
        cmocka_unit_test(command_cut_off_by_the_duration_fails_the_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
