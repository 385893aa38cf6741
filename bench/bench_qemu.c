/*
 * bench_qemu - what the patched QEMU, the default guest and the scenarios
 * cost in wall time, each against its baseline measured in the same run:
 *   - rounds/s of an idle QEMU at 10 us and 1 ms grants vs raw pipe ping-pong
 *   - a CPU-bound guest under -qqq at 1 ms grants vs the same QEMU free-running
 *   - the default guest's boot to power-off under grants, in wall and virtual s
 *   - the ready scenarios and a one-NIC boot under fixed rounds (the
 *     baseline) and adaptive rounds, and the boot against the same QEMU
 *     command line running free under icount
 *
 *   - the same rounds and boot with and without QEMU's seccomp sandbox, and
 *     with and without bwrap's confinement (qns_confine.h)
 *
 * Usage: bench_qemu QEMU GUEST_DIR [idle|cpu|rounds|boot|sandbox]   (only that table)
 */
#define _GNU_SOURCE
#include "bench_util.h"
#include "qns.h"
#include "qns_confine.h"
#include "qns_qemu_args.h"
#include "qns_sync.h"
#include "scenario_util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char err[QNS_ERRBUF_SIZE];

static void die(const char *what)
{
    fprintf(stderr, "bench_qemu: %s: %s\n", what, err);
    exit(1);
}

/* A copy of guest 0's QEMU command line in `sim`, which it frees. */
static char **take_argv(qns_sim *sim)
{
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

/* The default guest's QEMU command line for `command`, no NIC; -qqq spin=
 * `spin_us` unless 0. */
static char **guest_argv_spin(const char *command, uint32_t spin_us)
{
    qns_sim_config sc = {.spin_us = spin_us};
    qns_sim *sim = qns_sim_new(&sc, err);
    qns_guest_config g = {.name = "bench", .command = command, .boot = QNS_BOOT_COLD};
    if (qns_sim_add_guest(sim, &g, err) < 0) {
        die("guest");
    }
    return take_argv(sim);
}

static char **guest_argv(const char *command)
{
    return guest_argv_spin(command, 0);
}

/* Whether the command line asks QEMU to follow each reply with its horizon
 * (qns always does), so the sync core must read it. */
static int speaks_horizon(char **argv)
{
    for (int i = 0; argv[i] && argv[i + 1]; i++) {
        if (!strcmp(argv[i], "-qqq") && strstr(argv[i + 1], "horizon=on") != NULL) {
            return 1;
        }
    }
    return 0;
}

/* Grants of `grant_us` until the guest powers off; returns wall seconds.
 * spin_us and pin as in qns_sync_options. */
static double run_granted_opts(char **argv, int32_t grant_us, int spin_us, int pin,
                               int64_t *virtual_us, uint64_t *rounds)
{
    qns_sync_options o = {
        .watchdog_ms = 60000, .exit_zero_is_done = 1, .spin_us = spin_us, .pin = pin};
    qns_sync *s = qns_sync_new(&o, err);
    qns_guest_spec spec = {
        .name = "bench", .argv = (const char *const *)argv, .horizon = speaks_horizon(argv)};
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

/* The same command line without -qqq: QEMU runs free under icount. With
 * `nic`, its one -netdev qqq NIC gets a socket whose records are read and
 * dropped until QEMU exits. */
static double run_free_nic(char **argv, int nic)
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
    int sv[2] = {-1, -1};
    if (nic && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(err, sizeof(err), "socketpair: %s", strerror(errno));
        die("free run");
    }
    double t0 = bench_now_s();
    pid_t p = fork();
    if (p == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        dup2(devnull, QNS_GUEST_FD_INFO); /* where a confined one's bwrap tells its pid */
        /* dup2 clears close-on-exec: only QEMU's end crosses exec */
        if (nic && dup2(sv[1], QNS_GUEST_FD_NIC0) < 0) {
            _exit(126);
        }
        execv(a[0], (char *const *)a);
        _exit(127);
    }
    if (nic) {
        close(sv[1]);
        /* QEMU writes its records blocking: read them all, up to its exit */
        char buf[65536];
        ssize_t r;
        while ((r = read(sv[0], buf, sizeof(buf))) != 0) {
            if (r < 0 && errno != EINTR) {
                snprintf(err, sizeof(err), "reading the NIC: %s", strerror(errno));
                die("free run");
            }
        }
        close(sv[0]);
    }
    int st;
    while (waitpid(p, &st, 0) < 0) {
        if (errno != EINTR) {
            snprintf(err, sizeof(err), "waitpid: %s", strerror(errno));
            die("free run");
        }
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(err, sizeof(err), "free-running QEMU ended with 0x%x", st);
        die("free run");
    }
    return bench_now_s() - t0;
}

static double run_free(char **argv)
{
    return run_free_nic(argv, 0);
}

/* bwrap's words (qns_confine_argv) followed by argv's, the strings argv's;
 * argv's alone when confine is 0 (free the array, and *pre with g_strfreev). */
static const char **confined(const char *qemu, const char *const *argv, int confine, char ***pre)
{
    char *bwrap = NULL;
    *pre = NULL;
    if (confine) {
        if (qns_confine_find(&bwrap, err) <= 0) {
            die("bwrap");
        }
        *pre = qns_confine_argv(bwrap, qemu, NULL, 1);
        g_free(bwrap);
    }
    GPtrArray *a = g_ptr_array_new();
    for (char **w = *pre; w && *w; w++) {
        g_ptr_array_add(a, *w);
    }
    for (const char *const *w = argv; *w; w++) {
        g_ptr_array_add(a, (gpointer)*w);
    }
    g_ptr_array_add(a, NULL);
    return (const char **)g_ptr_array_free(a, FALSE);
}

static double idle_rounds_per_s_opts(const char *qemu, int32_t grant_us, long rounds, int pin,
                                     int sandbox, int confine)
{
    char q[64];
    qns_guest_qqq_option(q, sizeof(q));
    GStrvBuilder *sb = g_strv_builder_new();
    g_strv_builder_add(sb, qemu);
    g_strv_builder_addv(sb, (const char **)qns_qemu_machine_args);
    g_strv_builder_add_many(sb, "-m", "128M", "-icount", "shift=1,sleep=off", "-rtc", "clock=vm",
                            "-qqq", q, NULL);
    if (sandbox) {
        g_strv_builder_add_many(sb, "-sandbox", QNS_QEMU_SANDBOX, NULL);
    }
    char **bare = g_strv_builder_end(sb);
    g_strv_builder_unref(sb);
    char **pre;
    const char **argv = confined(qemu, (const char **)bare, confine, &pre);
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
    g_free(argv);
    g_strfreev(pre);
    g_strfreev(bare);
    return (double)rounds / dt;
}

/* As qns runs it: under seccomp, confined. */
static double idle_rounds_per_s(const char *qemu, int32_t grant_us, long rounds, int pin)
{
    return idle_rounds_per_s_opts(qemu, grant_us, rounds, pin, 1, 1);
}

/* argv without bwrap's words before QEMU's (to its "--"), freed with
 * argv's strings kept. */
static char **without_bwrap(char **argv)
{
    int n = 0, start = 0;
    while (argv[n]) {
        n++;
    }
    for (int i = 0; i < n && strstr(argv[0], "bwrap") != NULL; i++) {
        if (!strcmp(argv[i], "--")) {
            start = i + 1;
            break;
        }
    }
    char **a = calloc((size_t)(n - start) + 1, sizeof(char *));
    for (int i = start; i < n; i++) {
        a[i - start] = argv[i];
    }
    return a;
}

/* argv without its -sandbox option (freed with argv's strings kept). */
static char **without_sandbox(char **argv)
{
    int n = 0;
    while (argv[n]) {
        n++;
    }
    char **a = calloc((size_t)n + 1, sizeof(char *));
    for (int i = 0, k = 0; i < n; i++) {
        if (!strcmp(argv[i], "-sandbox") && argv[i + 1]) {
            i++;
            continue;
        }
        a[k++] = argv[i];
    }
    return a;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* What one simulation run took: wall s of qns_sim_run, virtual s, rounds. */
typedef struct sim_result {
    int ok;
    double wall_s, virtual_s, rounds;
} sim_result;

/* Runs fn's simulation into `dir` to its end, in a child process (one
 * simulation per process); a run with late frames fails. */
static sim_result run_sim(scenario_rounds_fn_t fn, const char *dir, uint32_t quantum_us,
                          qns_round_mode mode)
{
    sim_result res = {0};
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(err, sizeof(err), "pipe: %s", strerror(errno));
        die("scenario");
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        g_mkdir_with_parents(dir, 0755);
        qns_sim *sim = fn(dir, quantum_us, mode, err);
        double t0 = bench_now_s();
        if (sim == NULL || qns_sim_run(sim, 120000000000ull, err) != 0) {
            fprintf(stderr, "bench_qemu: %s: %s\n", dir, err);
            qns_sim_free(sim);
            _exit(1);
        }
        sim_result r = {1, bench_now_s() - t0, (double)qns_sim_end_ns(sim) / 1e9,
                        (double)qns_sim_rounds(sim)};
        uint64_t late = qns_sim_late_frames(sim);
        qns_sim_free(sim);
        if (late != 0) {
            fprintf(stderr, "bench_qemu: %s: %llu late frames\n", dir, (unsigned long long)late);
            _exit(1);
        }
        _exit(write(p[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
    }
    close(p[1]);
    ssize_t n;
    while ((n = read(p[0], &res, sizeof(res))) < 0 && errno == EINTR) {
    }
    if (n != sizeof(res)) {
        res.ok = 0;
    }
    close(p[0]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    return res;
}

static char *run_dir(const char *name, uint32_t quantum_us, qns_round_mode mode)
{
    return g_strdup_printf("bench-%s-%u-%s", name, quantum_us,
                           mode == QNS_ROUNDS_FIXED ? "fixed" : "adaptive");
}

/* Whether folders a and b hold the same files byte for byte: "same (N
 * files)", or what differs. */
static void compare_outputs(const char *a, const char *b, char *out, size_t size)
{
    GDir *da = g_dir_open(a, 0, NULL), *db = g_dir_open(b, 0, NULL);
    int na = 0, nb = 0;
    snprintf(out, size, "cannot list %s or %s", a, b);
    for (const char *f; da != NULL && db != NULL && (f = g_dir_read_name(da)) != NULL; na++) {
        char *pa = g_build_filename(a, f, NULL), *pb = g_build_filename(b, f, NULL);
        gchar *ca = NULL, *cb = NULL;
        gsize la = 0, lb = 0;
        int same = g_file_get_contents(pa, &ca, &la, NULL) &&
                   g_file_get_contents(pb, &cb, &lb, NULL) && la == lb && !memcmp(ca, cb, la);
        g_free(ca);
        g_free(cb);
        g_free(pa);
        g_free(pb);
        if (!same) {
            snprintf(out, size, "DIFFER: %s", f);
            na = -1;
            break;
        }
    }
    while (db != NULL && na >= 0 && g_dir_read_name(db) != NULL) {
        nb++;
    }
    if (na >= 0 && da != NULL && db != NULL) {
        if (na == nb) {
            snprintf(out, size, "same (%d files)", na);
        } else {
            snprintf(out, size, "DIFFER: %d files, %d", na, nb);
        }
    }
    if (da != NULL) {
        g_dir_close(da);
    }
    if (db != NULL) {
        g_dir_close(db);
    }
}

#define ROUNDS_ROW "%-26s %-9s %10.3f %9.2f %10.3f %10.0f %12.0f"

/* One scenario under fixed rounds (the baseline), then adaptive rounds: the
 * adaptive row gives its ratios to the fixed one, and whether the two runs'
 * captures and consoles are the same bytes. */
static void rounds_rows(const char *name, scenario_rounds_fn_t fn, uint32_t quantum_us)
{
    char label[64];
    snprintf(label, sizeof(label), "%s, %u us", name, quantum_us);
    char *dir[2] = {run_dir(name, quantum_us, QNS_ROUNDS_FIXED),
                    run_dir(name, quantum_us, QNS_ROUNDS_ADAPTIVE)};
    sim_result fixed = run_sim(fn, dir[0], quantum_us, QNS_ROUNDS_FIXED);
    sim_result adaptive = run_sim(fn, dir[1], quantum_us, QNS_ROUNDS_ADAPTIVE);
    const sim_result *r[2] = {&fixed, &adaptive};
    for (int i = 0; i < 2; i++) {
        const char *mode = i == 0 ? "fixed" : "adaptive";
        if (!r[i]->ok) {
            printf("%-26s %-9s failed\n", label, mode);
            continue;
        }
        printf(ROUNDS_ROW, label, mode, r[i]->virtual_s, r[i]->wall_s,
               r[i]->wall_s / r[i]->virtual_s, r[i]->rounds, r[i]->rounds / r[i]->virtual_s);
        if (i == 1 && fixed.ok) {
            char same[128];
            compare_outputs(dir[0], dir[1], same, sizeof(same));
            printf(" %8.3f %10.3f  %s", adaptive.wall_s / fixed.wall_s,
                   adaptive.rounds / fixed.rounds, same);
        }
        printf("\n");
    }
    g_free(dir[0]);
    g_free(dir[1]);
}

/* The default guest with one NIC on a LAN of its own: boots, runs `true`,
 * powers off. */
static qns_sim *boot_lan(const char *out, uint32_t quantum_us, qns_round_mode rounds, char *e)
{
    qns_sim_config sc = {.quantum_us = quantum_us, .seed = 1, .out_dir = out, .rounds = rounds};
    qns_sim *sim = qns_sim_new(&sc, e);
    if (sim == NULL) {
        return NULL;
    }
    qns_guest_config g = {
        .name = "boot", .command = "true", .ends_run = 1, .nic_count = 1, .boot = QNS_BOOT_COLD};
    g.nics[0].ipv4 = "10.0.0.1/24";
    qns_link_config lan = {.name = "lan", .type = QNS_LINK_CSMA};
    int gi = qns_sim_add_guest(sim, &g, e);
    int l = gi < 0 ? -1 : qns_sim_add_link(sim, &lan, e);
    if (l < 0 || qns_sim_attach_guest(sim, l, gi, 0, 0, e) < 0) {
        qns_sim_free(sim);
        return NULL;
    }
    return sim;
}

/*
 * The one-NIC boot under fixed and adaptive rounds against its own QEMU
 * command line without -qqq, running free under icount (its NIC's socket
 * read and dropped), interleaved and repeated: medians and fastest runs.
 */
static void boot_rows(uint32_t quantum_us)
{
    enum {
        REPEATS = 3
    };
    qns_sim *sim = boot_lan(".", quantum_us, QNS_ROUNDS_FIXED, err);
    if (sim == NULL) {
        die("boot guest");
    }
    char **argv = take_argv(sim);
    char *dir[2] = {run_dir("boot", quantum_us, QNS_ROUNDS_FIXED),
                    run_dir("boot", quantum_us, QNS_ROUNDS_ADAPTIVE)};
    double w[3][REPEATS];
    sim_result r[2] = {{0}, {0}};
    for (int k = 0; k < REPEATS; k++) {
        w[0][k] = run_free_nic(argv, 1);
        for (int i = 0; i < 2; i++) {
            r[i] = run_sim(boot_lan, dir[i], quantum_us,
                           i == 0 ? QNS_ROUNDS_FIXED : QNS_ROUNDS_ADAPTIVE);
            if (!r[i].ok) {
                snprintf(err, sizeof(err), "the run in %s failed", dir[i]);
                die("boot");
            }
            w[i + 1][k] = r[i].wall_s;
        }
    }
    char same[128];
    compare_outputs(dir[0], dir[1], same, sizeof(same));
    for (int i = 0; i < 3; i++) {
        qsort(w[i], REPEATS, sizeof(double), cmp_double);
    }
    printf("\ndefault guest with one NIC on a LAN, command true: boot to power-off, %d runs "
           "each, interleaved\n",
           REPEATS);
    printf("%-44s %9s %9s %10s %9s %12s %10s\n", "what", "median s", "min s", "virtual s", "rounds",
           "median ratio", "min ratio");
    char label[3][64];
    snprintf(label[0], sizeof(label[0]), "free-running -icount, no -qqq (baseline)");
    snprintf(label[1], sizeof(label[1]), "fixed rounds, quantum %u us", quantum_us);
    snprintf(label[2], sizeof(label[2]), "adaptive rounds, quantum %u us", quantum_us);
    for (int i = 0; i < 3; i++) {
        char virt[16] = "-", rounds[24] = "-";
        if (i > 0) {
            snprintf(virt, sizeof(virt), "%.3f", r[i - 1].virtual_s);
            snprintf(rounds, sizeof(rounds), "%.0f", r[i - 1].rounds);
        }
        printf("%-44s %9.2f %9.2f %10s %9s %12.3f %10.3f\n", label[i], w[i][REPEATS / 2], w[i][0],
               virt, rounds, w[i][REPEATS / 2] / w[0][REPEATS / 2], w[i][0] / w[0][0]);
    }
    printf("captures and consoles, fixed vs adaptive: %s\n", same);
    for (int i = 0; argv[i]; i++) {
        free(argv[i]);
    }
    free(argv);
    g_free(dir[0]);
    g_free(dir[1]);
}

/* Fixed rounds (the baseline) against adaptive rounds, in one run. */
static void rounds_table(void)
{
    printf("\nscenarios under fixed rounds (baseline) and adaptive rounds, the same quantum and "
           "bridge latency\n");
    printf("%-26s %-9s %10s %9s %10s %10s %12s %8s %10s  %s\n", "scenario, quantum", "mode",
           "virtual s", "wall s", "wall/virt", "rounds", "rounds/virt", "wall a/f", "rounds a/f",
           "captures and consoles");
    rounds_rows("lan_ping", scenario_lan_ping, 10);
    rounds_rows("lan_ping", scenario_lan_ping, 100);
    rounds_rows("ping_30", scenario_ping_30, 10);
    rounds_rows("udp_echo_p2p", scenario_udp_echo_p2p, 10);
    rounds_rows("iperf_bottleneck", scenario_iperf_bottleneck, 10);
    boot_rows(10);
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

/*
 * A CPU-bound guest under -qqq at 1 ms grants against the same QEMU
 * running free under icount, as it is, pinned and spinning, interleaved
 * and repeated: this machine's wall times vary by several percent from run
 * to run, so the table gives the median and the fastest run of each, and
 * the ratios of both to the baseline's.
 */
/* The CPU-bound command of cpu_bound_table. */
static const char cpu_loop[] = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo $i";

/* The CPU-bound guest alone through the C API, as `qns run` runs it (no
 * NIC: it never starts one, so adaptive rounds give it long grants). */
static qns_sim *cpu_bound_sim(const char *out, uint32_t quantum_us, qns_round_mode mode,
                              char *errbuf)
{
    qns_sim_config sc = {.quantum_us = quantum_us, .out_dir = out, .rounds = mode};
    qns_sim *sim = qns_sim_new(&sc, errbuf);
    qns_guest_config g = {.name = "busy", .command = cpu_loop, .ends_run = 1, .boot = QNS_BOOT_COLD};
    if (sim == NULL || qns_sim_add_guest(sim, &g, errbuf) < 0) {
        qns_sim_free(sim);
        return NULL;
    }
    return sim;
}

enum {
    CPU_REPEATS = 5,
    CPU_SPIN_US = 2000
};

/* Wall seconds of each way of running the CPU-bound guest, CPU_REPEATS
 * runs each, sorted; what the -qqq runs took in virtual time and rounds,
 * and the adaptive run's figures. */
typedef struct cpu_bound_runs {
    double wq[CPU_REPEATS], wf[CPU_REPEATS], ws[CPU_REPEATS], wp[CPU_REPEATS], wa[CPU_REPEATS];
    int64_t vus;
    uint64_t rounds;
    sim_result adaptive;
} cpu_bound_runs;

/* Each way in turn, CPU_REPEATS times, interleaved; dies when pinning or
 * spinning changes the run or the C API run fails. */
static void cpu_bound_run(cpu_bound_runs *c)
{
    const char *loop = cpu_loop;
    char **busy = guest_argv(loop);
    char **busy_spin = guest_argv_spin(loop, CPU_SPIN_US);
    int64_t vus_spin = 0, vus_pin = 0;
    uint64_t rounds_spin = 0, rounds_pin = 0;
    for (int i = 0; i < CPU_REPEATS; i++) {
        c->wq[i] = run_granted(busy, 1000, &c->vus, &c->rounds);
        c->wf[i] = run_free(busy);
        c->wp[i] = run_granted_opts(busy, 1000, 0, 1, &vus_pin, &rounds_pin);
        c->ws[i] = run_granted_opts(busy_spin, 1000, CPU_SPIN_US, 0, &vus_spin, &rounds_spin);
        c->adaptive = run_sim(cpu_bound_sim, "bench-cpu-adaptive", 10, QNS_ROUNDS_ADAPTIVE);
        if (!c->adaptive.ok) {
            snprintf(err, sizeof(err), "the C API run failed");
            die("CPU-bound guest, adaptive rounds");
        }
        c->wa[i] = c->adaptive.wall_s;
    }
    same_run("pinning", vus_pin, rounds_pin, c->vus, c->rounds);
    same_run("spinning", vus_spin, rounds_spin, c->vus, c->rounds);
    qsort(c->wq, CPU_REPEATS, sizeof(double), cmp_double);
    qsort(c->wf, CPU_REPEATS, sizeof(double), cmp_double);
    qsort(c->ws, CPU_REPEATS, sizeof(double), cmp_double);
    qsort(c->wp, CPU_REPEATS, sizeof(double), cmp_double);
    qsort(c->wa, CPU_REPEATS, sizeof(double), cmp_double);
}

static void cpu_bound_table(void)
{
    cpu_bound_runs c = {0};
    cpu_bound_run(&c);
    const double *wf = c.wf, *wq = c.wq, *wp = c.wp, *ws = c.ws;
    double mf = wf[CPU_REPEATS / 2];
    printf("\nCPU-bound default guest (boot, 300000 shell loop turns, power-off), "
           "%d runs each, interleaved\n",
           CPU_REPEATS);
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
               {"-qqq, 1 ms grants, both sides spin 2 ms", ws},
               {"qns default (adaptive rounds, quantum 10 us)", c.wa}};
    for (size_t i = 0; i < sizeof(row) / sizeof(row[0]); i++) {
        const double *w = row[i].w;
        printf("%-44s %10.2f %10.2f %10.2f %12.3f %12.3f\n", row[i].what, w[CPU_REPEATS / 2], w[0],
               w[CPU_REPEATS - 1], w[CPU_REPEATS / 2] / mf, w[0] / wf[0]);
    }
    printf("-qqq cost per round, fastest runs: %.1f us sleeping, %.1f us pinned, %.1f us "
           "spinning (%.3f s virtual, %llu rounds)\n",
           1e6 * (wq[0] - wf[0]) / (double)c.rounds, 1e6 * (wp[0] - wf[0]) / (double)c.rounds,
           1e6 * (ws[0] - wf[0]) / (double)c.rounds, (double)c.vus / 1e6,
           (unsigned long long)c.rounds);
    printf("qns default: %.0f rounds for %.3f s virtual (the guest has no NIC that could start: "
           "it runs in grants of 100 ms)\n",
           c.adaptive.rounds, c.adaptive.virtual_s);
}

/* Runs of each side in confine_rows, interleaved, their medians shown: a
 * shared host moves single runs by tens of percent. */
#define CONFINE_RUNS 5

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return v[n / 2];
}

/* What bwrap's confinement (qns_confine.h, on for every QEMU qns starts)
 * costs: the same rounds and boot (boot: qns's command line) without it are
 * the baseline; both under seccomp. */
static void confine_rows(const char *qemu, char **boot)
{
    printf("\nQEMU under bwrap (qns_confine.h), both with -sandbox; medians of %d interleaved "
           "runs\n",
           CONFINE_RUNS);
    printf("%-44s %12s %12s %10s\n", "what", "without", "with", "with/without");
    const int32_t grants[] = {10, 1000};
    const long counts[] = {20000, 2000};
    double off[CONFINE_RUNS], on[CONFINE_RUNS];
    for (int i = 0; i < 2; i++) {
        for (int k = 0; k < CONFINE_RUNS; k++) {
            off[k] = idle_rounds_per_s_opts(qemu, grants[i], counts[i], 0, 1, 0);
            on[k] = idle_rounds_per_s_opts(qemu, grants[i], counts[i], 0, 1, 1);
        }
        double m_off = median(off, CONFINE_RUNS), m_on = median(on, CONFINE_RUNS);
        char label[64];
        snprintf(label, sizeof(label), "idle guest, %d us grants: rounds/s", grants[i]);
        printf("%-44s %12.0f %12.0f %10.3f\n", label, m_off, m_on, m_on / m_off);
    }
    char **bare = without_bwrap(boot);
    int64_t vus_off = 0, vus_on = 0;
    uint64_t r_off = 0, r_on = 0;
    int same = 1;
    for (int k = 0; k < CONFINE_RUNS; k++) {
        int64_t v0, v1;
        uint64_t r0, r1;
        off[k] = run_granted(bare, 1000, &v0, &r0);
        on[k] = run_granted(boot, 1000, &v1, &r1);
        same = same && (k == 0 || (v0 == vus_off && v1 == vus_on && r0 == r_off && r1 == r_on));
        vus_off = v0, vus_on = v1, r_off = r0, r_on = r1;
    }
    double m_off = median(off, CONFINE_RUNS), m_on = median(on, CONFINE_RUNS);
    printf("%-44s %12.2f %12.2f %10.3f\n", "default guest boot, 1 ms grants: wall s", m_off, m_on,
           m_on / m_off);
    printf("%-44s %12.6f %12.6f %10s\n", "  virtual s (the same: bwrap is invisible)",
           (double)vus_off / 1e6, (double)vus_on / 1e6,
           same && vus_off == vus_on ? "same" : "DIFFER");
    printf("%-44s %12llu %12llu %10s\n", "  rounds", (unsigned long long)r_off,
           (unsigned long long)r_on, same && r_off == r_on ? "same" : "DIFFER");
    free(bare);
}

/* What QEMU's seccomp filter (QNS_QEMU_SANDBOX, on for every guest qns
 * starts) costs: the same rounds and boot without it are the baseline. */
static void sandbox_table(const char *qemu)
{
    printf("\nQEMU under -sandbox %s\n", QNS_QEMU_SANDBOX);
    printf("%-44s %12s %12s %10s\n", "what", "without", "with", "with/without");
    const int32_t grants[] = {10, 1000};
    const long counts[] = {20000, 2000};
    for (int i = 0; i < 2; i++) {
        double off = idle_rounds_per_s_opts(qemu, grants[i], counts[i], 0, 0, 1);
        double on = idle_rounds_per_s_opts(qemu, grants[i], counts[i], 0, 1, 1);
        char label[64];
        snprintf(label, sizeof(label), "idle guest, %d us grants: rounds/s", grants[i]);
        printf("%-44s %12.0f %12.0f %10.3f\n", label, off, on, on / off);
    }
    char **boot = guest_argv("true"), **bare = without_sandbox(boot);
    int64_t vus_off, vus_on;
    uint64_t r_off, r_on;
    double off = run_granted(bare, 1000, &vus_off, &r_off);
    double on = run_granted(boot, 1000, &vus_on, &r_on);
    printf("%-44s %12.2f %12.2f %10.3f\n", "default guest boot, 1 ms grants: wall s", off, on,
           on / off);
    printf("%-44s %12.6f %12.6f %10s\n", "  virtual s (the same: the filter is invisible)",
           (double)vus_off / 1e6, (double)vus_on / 1e6, vus_off == vus_on ? "same" : "DIFFER");
    free(bare);
    confine_rows(qemu, boot);
    g_strfreev(boot);
}

/* Rounds/s of an idle QEMU against a raw pipe ping-pong between two
 * processes, measured in the same run. */
static void idle_table(const char *qemu)
{
    /* Where the two processes run decides most of a round trip's cost (a
     * wake-up on another CPU costs more than one on the same), so each
     * -qqq row is set against a raw pipe placed as it is: unpinned, or
     * (as the scheduler's Pin places a guest) on one CPU. */
    double raw = bench_raw_pipe(50000);
    double rawp = bench_raw_pipe_on(50000, sched_getcpu());
    double idle10 = idle_rounds_per_s(qemu, 10, 20000, 0);
    double idle1000 = idle_rounds_per_s(qemu, 1000, 2000, 0);
    double idle10p = idle_rounds_per_s(qemu, 10, 20000, 1);
    double idle1000p = idle_rounds_per_s(qemu, 1000, 2000, 1);
    printf("\npatched QEMU, idle guest (firmware halted)\n");
    printf("%-44s %12s %10s\n", "what", "rounds/s", "vs raw");
    printf("%-44s %12.0f %9.1f%%\n", "raw pipe ping-pong (baseline)", raw, 100.0);
    printf("%-44s %12.0f %9.1f%%\n", "-qqq, 10 us grants", idle10, 100 * idle10 / raw);
    printf("%-44s %12.0f %9.1f%%\n", "-qqq, 1 ms grants", idle1000, 100 * idle1000 / raw);
    printf("%-44s %12.0f %9.1f%%\n", "raw pipe ping-pong, one CPU (baseline)", rawp, 100.0);
    printf("%-44s %12.0f %9.1f%%\n", "-qqq, 10 us grants, pinned", idle10p, 100 * idle10p / rawp);
    printf("%-44s %12.0f %9.1f%%\n", "-qqq, 1 ms grants, pinned", idle1000p,
           100 * idle1000p / rawp);
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
    if (argc > 3 && !strcmp(argv[3], "rounds")) {
        rounds_table();
        return 0;
    }
    if (argc > 3 && !strcmp(argv[3], "sandbox")) {
        sandbox_table(argv[1]);
        return 0;
    }
    if (argc > 3 && !strcmp(argv[3], "boot")) {
        boot_rows(10);
        return 0;
    }
    idle_table(argv[1]);
    if (argc > 3 && !strcmp(argv[3], "idle")) {
        return 0;
    }

    cpu_bound_table();
    sandbox_table(argv[1]);

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

    rounds_table();
    return 0;
}
