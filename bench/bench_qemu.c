/*
 * bench_qemu - what the patched QEMU, the default guest and the scenarios
 * cost in wall time, each against its baseline measured in the same run:
 *   - rounds/s of an idle QEMU at 10 us and 1 ms grants vs raw pipe ping-pong
 *   - a CPU-bound guest under -qqq at 1 ms grants vs the same QEMU free-running
 *   - the default guest's boot to power-off under grants, in wall and virtual s
 *   - lan_ping and iperf_bottleneck: wall s per virtual s and rounds/s at 10/100 us
 *
 * Usage: bench_qemu QEMU GUEST_DIR [cpu]   (cpu: only the CPU-bound table)
 */
#define _GNU_SOURCE
#include "bench_util.h"
#include "qns.h"
#include "qns_sync.h"
#include "scenario_util.h"

#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char err[QNS_ERRBUF_SIZE];

static void die(const char *what)
{
    fprintf(stderr, "bench_qemu: %s: %s\n", what, err);
    exit(1);
}

/* The default guest's QEMU command line for `command`, no NIC; -qqq spin=
 * `spin_us` unless 0. */
static char **guest_argv_spin(const char *command, uint32_t spin_us)
{
    qns_sim_config sc = {.spin_us = spin_us};
    qns_sim *sim = qns_sim_new(&sc, err);
    qns_guest_config g = {.name = "bench", .command = command};
    if (qns_sim_add_guest(sim, &g, err) < 0) {
        die("guest");
    }
    const char *const *a = qns_sim_guest_argv(sim, 0);
    int n = 0;
    while (a[n]) {
        n++;
    }
    char **copy = calloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++) {
        copy[i] = strdup(a[i]);
    }
    qns_sim_free(sim);
    return copy;
}

static char **guest_argv(const char *command)
{
    return guest_argv_spin(command, 0);
}

/* Grants of `grant_us` until the guest powers off; returns wall seconds.
 * spin_us and pin as in qns_sync_options. */
static double run_granted_opts(char **argv, int32_t grant_us, int spin_us, int pin,
                               int64_t *virtual_us, uint64_t *rounds)
{
    qns_sync_options o = {
        .watchdog_ms = 60000, .exit_zero_is_done = 1, .spin_us = spin_us, .pin = pin};
    qns_sync *s = qns_sync_new(&o, err);
    qns_guest_spec spec = {.name = "bench", .argv = (const char *const *)argv};
    if (qns_sync_add_guest(s, &spec, err) < 0) {
        die("spawn");
    }
    double t0 = bench_now_s();
    while (!qns_sync_guest_done(s, 0)) {
        if (qns_sync_round(s, &grant_us, err) < 0) {
            die("round");
        }
    }
    double dt = bench_now_s() - t0;
    *virtual_us = qns_sync_clock_us(s, 0);
    *rounds = qns_sync_rounds(s, 0);
    qns_sync_free(s);
    return dt;
}

static double run_granted(char **argv, int32_t grant_us, int64_t *virtual_us, uint64_t *rounds)
{
    return run_granted_opts(argv, grant_us, 0, 0, virtual_us, rounds);
}

/* The same command line without -qqq: QEMU runs free under icount. */
static double run_free(char **argv)
{
    const char *a[128];
    int n = 0;
    for (int i = 0; argv[i] && n < 127; i++) {
        if (!strcmp(argv[i], "-qqq")) {
            i++;
            continue;
        }
        a[n++] = argv[i];
    }
    a[n] = NULL;
    double t0 = bench_now_s();
    pid_t p = fork();
    if (p == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execv(a[0], (char *const *)a);
        _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(err, sizeof(err), "free-running QEMU ended with 0x%x", st);
        die("free run");
    }
    return bench_now_s() - t0;
}

static double idle_rounds_per_s(const char *qemu, int32_t grant_us, long rounds, int pin)
{
    char q[64];
    qns_guest_qqq_option(q, sizeof(q));
    const char *argv[] = {
        qemu,       "-machine", "pc", "-accel", "tcg",     "-nodefaults",       "-no-user-config",
        "-display", "none",     "-m", "128M",   "-icount", "shift=1,sleep=off", "-rtc",
        "clock=vm", "-qqq",     q,    NULL};
    qns_sync_options o = {.pin = pin};
    qns_sync *s = qns_sync_new(&o, err);
    qns_guest_spec spec = {.name = "idle", .argv = argv};
    if (qns_sync_add_guest(s, &spec, err) < 0) {
        die("spawn");
    }
    /* Let the firmware give up booting and halt first. */
    int32_t warm = 1000;
    for (int k = 0; k < 3000; k++) {
        if (qns_sync_round(s, &warm, err) < 0) {
            die("warm-up");
        }
    }
    double t0 = bench_now_s();
    for (long k = 0; k < rounds; k++) {
        if (qns_sync_round(s, &grant_us, err) < 0) {
            die("round");
        }
    }
    double dt = bench_now_s() - t0;
    qns_sync_free(s);
    return (double)rounds / dt;
}

static void scenario_row(const char *name, scenario_rounds_fn_t fn, uint32_t quantum_us)
{
    int p[2];
    if (pipe(p) < 0) {
        exit(1);
    }
    pid_t pid = fork();
    if (pid == 0) {
        char *dir = g_strdup_printf("bench-%s-%u", name, quantum_us);
        g_mkdir_with_parents(dir, 0755);
        qns_sim *sim = fn(dir, quantum_us, QNS_ROUNDS_ADAPTIVE, err);
        double t0 = bench_now_s();
        if (sim == NULL || qns_sim_run(sim, 120000000000ull, err) != 0) {
            fprintf(stderr, "bench_qemu: %s: %s\n", name, err);
            _exit(1);
        }
        double r[3] = {bench_now_s() - t0, (double)qns_sim_end_ns(sim) / 1e9,
                       (double)qns_sim_rounds(sim)};
        if (write(p[1], r, sizeof(r)) != sizeof(r)) {
            _exit(1);
        }
        _exit(0);
    }
    close(p[1]);
    double r[3];
    int ok = read(p[0], r, sizeof(r)) == sizeof(r);
    close(p[0]);
    waitpid(pid, NULL, 0);
    if (!ok) {
        printf("%-44s %12s\n", name, "failed");
        return;
    }
    char label[96];
    snprintf(label, sizeof(label), "%s, quantum %u us", name, quantum_us);
    printf("%-44s %9.2f s %9.2f s %12.1f %12.0f\n", label, r[0], r[1], r[0] / r[1], r[2] / r[0]);
}

/* How QEMU and the simulator wait must not change what the guest does. */
static void same_run(const char *how, int64_t vus, uint64_t rounds, int64_t want_vus,
                     uint64_t want_rounds)
{
    if (vus != want_vus || rounds != want_rounds) {
        snprintf(err, sizeof(err), "%s changed the run: %lld us in %llu rounds, not %lld in %llu",
                 how, (long long)vus, (unsigned long long)rounds, (long long)want_vus,
                 (unsigned long long)want_rounds);
        die("cpu-bound");
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*
 * A CPU-bound guest under -qqq at 1 ms grants against the same QEMU
 * running free under icount, as it is, pinned and spinning, interleaved
 * and repeated: this machine's wall times vary by several percent from run
 * to run, so the table gives the median and the fastest run of each, and
 * the ratios of both to the baseline's.
 */
static void cpu_bound_table(void)
{
    enum {
        REPEATS = 5,
        SPIN_US = 2000
    };
    const char *loop = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo $i";
    char **busy = guest_argv(loop);
    char **busy_spin = guest_argv_spin(loop, SPIN_US);
    double wq[REPEATS], wf[REPEATS], ws[REPEATS], wp[REPEATS];
    int64_t vus = 0, vus_spin = 0, vus_pin = 0;
    uint64_t rounds = 0, rounds_spin = 0, rounds_pin = 0;
    for (int i = 0; i < REPEATS; i++) {
        wq[i] = run_granted(busy, 1000, &vus, &rounds);
        wf[i] = run_free(busy);
        wp[i] = run_granted_opts(busy, 1000, 0, 1, &vus_pin, &rounds_pin);
        ws[i] = run_granted_opts(busy_spin, 1000, SPIN_US, 0, &vus_spin, &rounds_spin);
    }
    same_run("pinning", vus_pin, rounds_pin, vus, rounds);
    same_run("spinning", vus_spin, rounds_spin, vus, rounds);
    qsort(wq, REPEATS, sizeof(double), cmp_double);
    qsort(wf, REPEATS, sizeof(double), cmp_double);
    qsort(ws, REPEATS, sizeof(double), cmp_double);
    qsort(wp, REPEATS, sizeof(double), cmp_double);
    double mf = wf[REPEATS / 2];
    printf("\nCPU-bound default guest (boot, 300000 shell loop turns, power-off), "
           "%d runs each, interleaved\n",
           REPEATS);
    printf("(this machine's load comes and goes: the fastest run of each is the steadiest "
           "figure of its cost)\n");
    printf("%-44s %10s %10s %10s %12s %12s\n", "what", "median s", "min s", "max s", "median ratio",
           "min ratio");
    const struct {
        const char *what;
        const double *w;
    } row[] = {{"free-running -icount (baseline)", wf},
               {"-qqq, 1 ms grants", wq},
               {"-qqq, 1 ms grants, pinned", wp},
               {"-qqq, 1 ms grants, both sides spin 2 ms", ws}};
    for (size_t i = 0; i < sizeof(row) / sizeof(row[0]); i++) {
        const double *w = row[i].w;
        printf("%-44s %10.2f %10.2f %10.2f %12.3f %12.3f\n", row[i].what, w[REPEATS / 2], w[0],
               w[REPEATS - 1], w[REPEATS / 2] / mf, w[0] / wf[0]);
    }
    printf("-qqq cost per round, fastest runs: %.1f us sleeping, %.1f us pinned, %.1f us "
           "spinning (%.3f s virtual, %llu rounds)\n",
           1e6 * (wq[0] - wf[0]) / (double)rounds, 1e6 * (wp[0] - wf[0]) / (double)rounds,
           1e6 * (ws[0] - wf[0]) / (double)rounds, (double)vus / 1e6, (unsigned long long)rounds);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s QEMU GUEST_DIR\n", argv[0]);
        return 2;
    }
    setenv("QNS_QEMU", argv[1], 1);
    setenv("QNS_GUEST_DIR", argv[2], 1);

    if (argc > 3 && !strcmp(argv[3], "cpu")) {
        cpu_bound_table();
        return 0;
    }
    double raw = bench_raw_pipe(50000);
    double idle10 = idle_rounds_per_s(argv[1], 10, 20000, 0);
    double idle1000 = idle_rounds_per_s(argv[1], 1000, 2000, 0);
    double idle10p = idle_rounds_per_s(argv[1], 10, 20000, 1);
    double idle1000p = idle_rounds_per_s(argv[1], 1000, 2000, 1);
    printf("\npatched QEMU, idle guest (firmware halted)\n");
    printf("%-44s %12s %10s\n", "what", "rounds/s", "vs raw");
    printf("%-44s %12.0f %9.1f%%\n", "raw pipe ping-pong (baseline)", raw, 100.0);
    printf("%-44s %12.0f %9.1f%%\n", "-qqq, 10 us grants", idle10, 100 * idle10 / raw);
    printf("%-44s %12.0f %9.1f%%\n", "-qqq, 1 ms grants", idle1000, 100 * idle1000 / raw);
    printf("%-44s %12.0f %9.1f%%\n", "-qqq, 10 us grants, pinned", idle10p, 100 * idle10p / raw);
    printf("%-44s %12.0f %9.1f%%\n", "-qqq, 1 ms grants, pinned", idle1000p, 100 * idle1000p / raw);

    cpu_bound_table();

    int64_t vus;
    uint64_t rounds;
    char **boot = guest_argv("true");
    printf("\ndefault guest, boot to power-off under grants\n");
    printf("%-44s %12s %12s %10s\n", "grant", "wall s", "virtual s", "rounds");
    int32_t grants[] = {10, 1000};
    for (int i = 0; i < 2; i++) {
        double w = run_granted(boot, grants[i], &vus, &rounds);
        char label[64];
        snprintf(label, sizeof(label), "%d us", grants[i]);
        printf("%-44s %12.2f %12.3f %10llu\n", label, w, (double)vus / 1e6,
               (unsigned long long)rounds);
    }

    printf("\nscenarios (raw pipe baseline above: %.0f rounds/s)\n", raw);
    printf("%-44s %11s %11s %12s %12s\n", "scenario", "wall", "virtual", "wall/virt", "rounds/s");
    uint32_t quanta[] = {10, 100};
    for (int i = 0; i < 2; i++) {
        scenario_row("lan_ping", scenario_lan_ping, quanta[i]);
    }
    for (int i = 0; i < 2; i++) {
        scenario_row("iperf_bottleneck", scenario_iperf_bottleneck, quanta[i]);
    }
    return 0;
}
