/* The default guest under the patched QEMU and real time grants, through
 * the C API: it boots to its end marker under 10 us and 1 ms quanta, a
 * command's output and exit status come back, two runs print byte-identical
 * consoles (virtual-time uptimes included), the power-off instant is the
 * same under any quantum, under load and spinning, and a bad parameter is reported
 * and ends in a clean power-off. */
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
} boot;

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
    qns_guest_config g = {.name = "g",
                          .command = b->command,
                          .kernel_args = b->kernel_args,
                          .ends_run = 1,
                          .nic_count = 1};
    g.nics[0].ipv4 = "10.0.0.1/24";
    g.nics[0].model = b->model;
    qns_link_config lan = {.name = "lan", .type = QNS_LINK_CSMA};
    int gi = qns_sim_add_guest(sim, &g, err);
    int l = qns_sim_add_link(sim, &lan, err);
    if (gi < 0 || l < 0 || qns_sim_attach_guest(sim, l, gi, 0, 0, err) < 0 ||
        qns_sim_run(sim, 30000000000ull, err) != 0) {
        fprintf(stderr, "run_boot: %s\n", err);
        return 1;
    }
    qns_guest_stats st;
    qns_sim_guest_stats(sim, gi, &st);
    qns_sim_free(sim);
    if (!st.done) {
        fprintf(stderr, "run_boot: the guest did not power off\n");
        return 2;
    }
    char *path = g_strdup_printf("%s/clock_us", b->dir);
    char *text = g_strdup_printf("%" PRId64, st.clock_us);
    int ok = g_file_set_contents(path, text, -1, NULL);
    g_free(path);
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

static void boots_and_returns_output_and_status(uint32_t quantum_us, qns_nic_model model)
{
    char *dir = fresh_dir("boot");
    boot b = {dir, quantum_us, 0, "echo hello from $(hostname); uname -r; exit 3", NULL, model, 0};
    boot_in_child(&b);
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
    boot b1 = {d1, 10, 0, cmd, NULL, QNS_NIC_VIRTIO, 0},
         b2 = {d2, 10, 0, cmd, NULL, QNS_NIC_VIRTIO, 0};
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
        boot b = {dir, quanta[i], spin[i], "true", NULL, QNS_NIC_VIRTIO, i == 4};
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
    qns_guest_config g = {.name = "g", .command = "true"};
    assert_int_equal(qns_sim_add_guest(sim, &g, err), 0);
    const char *const *a = qns_sim_guest_argv(sim, 0);
    int i = 0;
    while (a[i] && strcmp(a[i], "-qqq")) {
        i++;
    }
    assert_non_null(a[i]);
    assert_string_equal(a[i + 1], "write=3,read=4,spin=2000");
    qns_sim_free(sim);
}

static void bad_parameter_is_reported_and_powers_off(void **state)
{
    (void)state;
    char *dir = fresh_dir("bad");
    boot b = {dir, 100, 0, "echo never", "qns.ipv6=maybe", QNS_NIC_VIRTIO, 0};
    boot_in_child(&b);
    char *out = console(dir);
    assert_non_null(strstr(out, "QNS-GUEST: error: qns.ipv6 must be 0 or 1, not 'maybe'"));
    assert_null(strstr(out, "QNS-CMD-BEGIN"));
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
