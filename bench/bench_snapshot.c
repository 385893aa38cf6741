/*
 * bench_snapshot - boot once: default guests booted cold (the baseline) and
 * restored from a snapshot (boot = snapshot), side by side in one run, each
 * run a simulation of its own in a child process:
 *
 *   - `qns run scenarios/lan_ping.ini`, as a user runs it, end to end, with
 *     boot = cold and boot = snapshot (the default, boot = auto, restores
 *     them) for both guests, the first time with an empty snapshot cache
 *     (the snapshot is made then);
 *   - lan_ping (h1 pings h2 five times): wall time from the simulation's
 *     creation (guests described, the snapshot looked up) to h1's first
 *     frame and to the end;
 *   - a LAN of N guests, each pinging its neighbour: RSS and PSS per QEMU
 *     process (smaps_rollup), sampled once every guest is configured;
 *   - with a Debian image (DEBIAN_IMAGE, build-debian.sh's folder): two
 *     guests with systemd, the first sending five UDP datagrams to the
 *     second: wall time to the first frame and to the end.
 *
 * Usage: bench_snapshot QNS LAN_PING_INI [GUESTS [DEBIAN_IMAGE]]   (QNS: the
 * qns runner; QNS_QEMU and QNS_GUEST_DIR name QEMU and the default image;
 * GUESTS: the largest LAN, default 100)
 */
#define _GNU_SOURCE
#include "bench_util.h"
#include "qns.h"

#include <dirent.h>
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct lan_result {
    int ok;
    double wall_s;        /* qns_sim_new to the end of qns_sim_run */
    double first_frame_s; /* qns_sim_new to the first frame that crossed a bridge */
    double virtual_s;
    unsigned long long rounds;
    int qemus;            /* QEMU processes sampled */
    double rss_mib, pss_mib; /* their sums */
} lan_result;

typedef struct progress_ctx {
    double t0;
    uint64_t sample_at_ns;
    lan_result *r;
} progress_ctx;

/* The parent pid and command name of process pid: 0, or -1. */
static int proc_stat(pid_t pid, pid_t *ppid, char *comm, size_t size)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        return -1;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *l = strchr(buf, '('), *r = strrchr(buf, ')');
    if (l == NULL || r == NULL || r < l) {
        return -1;
    }
    snprintf(comm, size, "%.*s", (int)(r - l - 1), l + 1);
    int pp = 0;
    if (sscanf(r + 2, "%*c %d", &pp) != 1) {
        return -1;
    }
    *ppid = pp;
    return 0;
}

static int descends_from(pid_t pid, pid_t ancestor)
{
    char comm[64];
    for (int depth = 0; depth < 8 && pid > 1; depth++) {
        pid_t pp;
        if (proc_stat(pid, &pp, comm, sizeof(comm)) < 0) {
            return 0;
        }
        if (pp == ancestor) {
            return 1;
        }
        pid = pp;
    }
    return 0;
}

/* Adds the Rss and Pss lines (kB) of /proc/pid/smaps_rollup. */
static void add_memory(pid_t pid, double *rss_kb, double *pss_kb)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        return;
    }
    while (fgets(line, sizeof(line), f)) {
        double v;
        if (sscanf(line, "Rss: %lf kB", &v) == 1) {
            *rss_kb += v;
        } else if (sscanf(line, "Pss: %lf kB", &v) == 1) {
            *pss_kb += v;
        }
    }
    fclose(f);
}

/* The QEMU processes this process started (through bwrap): their number
 * and summed RSS and PSS. */
static void sample_qemus(lan_result *r)
{
    DIR *d = opendir("/proc");
    double rss = 0, pss = 0;
    r->qemus = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        pid_t pid = (pid_t)atoi(e->d_name);
        char comm[64];
        pid_t pp;
        if (pid <= 0 || proc_stat(pid, &pp, comm, sizeof(comm)) < 0 ||
            strncmp(comm, "qemu-system", 11) != 0 || !descends_from(pid, getpid())) {
            continue;
        }
        add_memory(pid, &rss, &pss);
        r->qemus++;
    }
    if (d) {
        closedir(d);
    }
    r->rss_mib = rss / 1024;
    r->pss_mib = pss / 1024;
}

static int on_progress(void *vctx, const qns_progress *p)
{
    progress_ctx *c = vctx;
    if (p->frames > 0 && c->r->first_frame_s == 0) {
        c->r->first_frame_s = bench_now_s() - c->t0;
    }
    if (c->sample_at_ns && p->virtual_ns >= c->sample_at_ns && c->r->qemus == 0) {
        sample_qemus(c->r);
    }
    return 0;
}

/* n guests on one 100 Mbit/s LAN, booted as `boot`. lan_ping (pairs == 0):
 * guest 0 pings guest 1 five times and ends the run. Otherwise guest i
 * pings guest i + 1 (the last the first) three times, then idles a second,
 * and every guest ends the run. */
static qns_sim *lan(const char *out, int n, qns_boot boot, int pairs, const char *first_cmd,
                    char *e)
{
    qns_sim_config sc = {.quantum_us = 10, .seed = 1, .out_dir = out};
    qns_sim *sim = qns_sim_new(&sc, e);
    qns_link_config l = {.name = "lan", .type = QNS_LINK_CSMA, .rate_bps = 100000000,
                         .delay_ns = 50000};
    int link = sim ? qns_sim_add_link(sim, &l, e) : -1;
    for (int i = 0; link >= 0 && i < n; i++) {
        char name[16], ip[32], cmd[96];
        snprintf(name, sizeof(name), "g%d", i);
        snprintf(ip, sizeof(ip), "10.0.%d.%d/16", (i + 1) / 250, (i + 1) % 250 + 1);
        int next = (i + 1) % n + 1;
        if (pairs) {
            snprintf(cmd, sizeof(cmd), "ping -c 3 -i 0.2 10.0.%d.%d; sleep 1", next / 250,
                     next % 250 + 1);
        } else {
            snprintf(cmd, sizeof(cmd), "%s", first_cmd ? first_cmd : "ping -c 5 -i 0.2 10.0.0.3");
        }
        qns_guest_config g = {.name = name, .nic_count = 1, .boot = boot};
        g.nics[0].ipv4 = ip;
        if (pairs || i == 0) {
            g.command = cmd;
            g.ends_run = 1;
        }
        int gi = qns_sim_add_guest(sim, &g, e);
        if (gi < 0 || qns_sim_attach_guest(sim, link, gi, 0, 0, e) < 0) {
            link = -1;
        }
    }
    if (link < 0 && sim) {
        qns_sim_free(sim);
        sim = NULL;
    }
    return sim;
}

/* One run in a child process (one simulation per process); memory sampled
 * at sample_at_ns of virtual time (0: not sampled). image: the guests'
 * image folder (NULL: QNS_GUEST_DIR's), with first_cmd for guest 0. */
static lan_result run_lan_of(const char *out, int n, qns_boot boot, int pairs,
                             uint64_t sample_at_ns, const char *image, const char *first_cmd)
{
    int fds[2];
    lan_result r = {0};
    if (pipe(fds) < 0) {
        return r;
    }
    pid_t p = fork();
    if (p == 0) {
        close(fds[0]);
        char e[QNS_ERRBUF_SIZE];
        g_mkdir_with_parents(out, 0755);
        if (image) {
            setenv("QNS_GUEST_DIR", image, 1);
        }
        progress_ctx c = {bench_now_s(), sample_at_ns, &r};
        qns_sim *sim = lan(out, n, boot, pairs, first_cmd, e);
        if (sim != NULL) {
            qns_sim_set_progress(sim, on_progress, &c, 2);
            r.ok = qns_sim_run(sim, 60000000000ull, e) == 0;
            r.wall_s = bench_now_s() - c.t0;
            r.virtual_s = (double)qns_sim_end_ns(sim) / 1e9;
            r.rounds = (unsigned long long)qns_sim_rounds(sim);
            qns_sim_free(sim);
        }
        if (!r.ok) {
            fprintf(stderr, "bench_snapshot: %s: %s\n", out, e);
        }
        ssize_t w = write(fds[1], &r, sizeof(r));
        _exit(w == (ssize_t)sizeof(r) ? 0 : 1);
    }
    close(fds[1]);
    ssize_t got = p > 0 ? read(fds[0], &r, sizeof(r)) : -1;
    close(fds[0]);
    int st;
    while (p > 0 && waitpid(p, &st, 0) < 0 && errno == EINTR) {
    }
    if (got != (ssize_t)sizeof(r)) {
        memset(&r, 0, sizeof(r));
    }
    return r;
}

static lan_result run_lan(const char *out, int n, qns_boot boot, int pairs, uint64_t sample_at_ns)
{
    return run_lan_of(out, n, boot, pairs, sample_at_ns, NULL, NULL);
}

/* lan_ping.ini with boot = `boot` for each of its guests, written to path. */
static void boot_variant(const char *ini, const char *boot, const char *path)
{
    GKeyFile *kf = g_key_file_new();
    GError *ge = NULL;
    if (!g_key_file_load_from_file(kf, ini, G_KEY_FILE_KEEP_COMMENTS, &ge)) {
        fprintf(stderr, "bench_snapshot: %s: %s\n", ini, ge->message);
        exit(1);
    }
    gchar **groups = g_key_file_get_groups(kf, NULL);
    for (gchar **g = groups; *g; g++) {
        if (g_str_has_prefix(*g, "guest ")) {
            g_key_file_set_string(kf, *g, "boot", boot);
        }
    }
    if (!g_key_file_save_to_file(kf, path, &ge)) {
        fprintf(stderr, "bench_snapshot: %s: %s\n", path, ge->message);
        exit(1);
    }
    g_strfreev(groups);
    g_key_file_free(kf);
}

/* Wall seconds of `qns run INI -o OUT-PID-N -q` (N: a new folder for each
 * run), or -1 when it fails. */
static double qns_run(const char *qns, const char *ini, const char *out, int n)
{
    char dir[128];
    snprintf(dir, sizeof(dir), "%s-%d-%d", out, (int)getpid(), n);
    const char *argv[] = {qns, "run", ini, "-o", dir, "-q", NULL};
    int ws = 0;
    double t0 = bench_now_s();
    gboolean ok = g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, NULL, &ws, NULL);
    double t = bench_now_s() - t0;
    return ok && WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? t : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void row(const char *what, int n, const lan_result *r, double wall, double first)
{
    char mem[64] = "-";
    if (r->qemus > 0) {
        snprintf(mem, sizeof(mem), "%6.1f %6.1f %7.2f", r->rss_mib / r->qemus,
                 r->pss_mib / r->qemus, r->pss_mib / 1024);
    }
    printf("%-40s %6d %8.2f %13.2f %9.3f %8llu %s\n", what, n, wall, first, r->virtual_s,
           r->rounds, mem);
    if (!r->ok) {
        printf("  (the run failed)\n");
    }
}

int main(int argc, char **argv)
{
    enum {
        REPEATS = 3
    };
    if (argc < 3) {
        fprintf(stderr, "usage: %s QNS LAN_PING_INI [GUESTS]\n", argv[0]);
        return 2;
    }
    int many = argc > 3 ? atoi(argv[3]) : 100;
    char *cache = g_strdup_printf("%s/bench-snapshot-cache-%d", g_get_current_dir(), getpid());
    setenv("QNS_CACHE_DIR", cache, 1);
    char *snap_ini = g_strdup_printf("lan_ping-snapshot-%d.ini", getpid());
    char *cold_ini = g_strdup_printf("lan_ping-cold-%d.ini", getpid());
    boot_variant(argv[2], "snapshot", snap_ini);
    boot_variant(argv[2], "cold", cold_ini);
    double q[2][REPEATS];
    double made_q = qns_run(argv[1], snap_ini, "qns-run-snapshot-made", 0);
    for (int k = 0; k < REPEATS; k++) {
        q[0][k] = qns_run(argv[1], cold_ini, "qns-run-cold", k);
        q[1][k] = qns_run(argv[1], snap_ini, "qns-run-snapshot", k);
    }
    qsort(q[0], REPEATS, sizeof(double), cmp_double);
    qsort(q[1], REPEATS, sizeof(double), cmp_double);
    printf("\nqns run scenarios/lan_ping.ini, end to end (the process's wall time, median of %d)\n",
           REPEATS);
    printf("%-40s %8s %8s\n", "boot", "wall s", "ratio");
    printf("%-40s %8.2f %8.3f\n", "cold (baseline)", q[0][REPEATS / 2], 1.0);
    printf("%-40s %8.2f %8.3f\n", "snapshot made (empty cache, once)", made_q,
           made_q / q[0][REPEATS / 2]);
    printf("%-40s %8.2f %8.3f\n", "snapshot", q[1][REPEATS / 2],
           q[1][REPEATS / 2] / q[0][REPEATS / 2]);
    printf("\nboot once: default guests booted cold (baseline) and restored from a snapshot "
           "(boot = snapshot), quantum 10 us\n");
    printf("%-40s %6s %8s %12s %9s %8s %6s %6s %7s\n", "what", "guests", "wall s", "first frame s",
           "virtual s", "rounds", "RSS", "PSS", "PSS");
    printf("%-40s %6s %8s %12s %9s %8s %6s %6s %7s\n", "", "", "", "", "", "", "MiB/g", "MiB/g",
           "GiB");
    double w[2][REPEATS], f[2][REPEATS];
    lan_result r[2] = {{0}, {0}};
    for (int k = 0; k < REPEATS; k++) {
        for (int i = 0; i < 2; i++) {
            r[i] = run_lan(i ? "snap-lan_ping" : "cold-lan_ping", 2,
                           i ? QNS_BOOT_SNAPSHOT : QNS_BOOT_COLD, 0, 0);
            w[i][k] = r[i].wall_s;
            f[i][k] = r[i].first_frame_s;
        }
    }
    for (int i = 0; i < 2; i++) {
        qsort(w[i], REPEATS, sizeof(double), cmp_double);
        qsort(f[i], REPEATS, sizeof(double), cmp_double);
    }
    row("lan_ping, cold (median of 3)", 2, &r[0], w[0][REPEATS / 2], f[0][REPEATS / 2]);
    row("lan_ping, snapshot (median of 3)", 2, &r[1], w[1][REPEATS / 2], f[1][REPEATS / 2]);
    const int sizes[] = {10, many};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        for (int i = 0; i < 2; i++) {
            if (i == 0 && sizes[s] > 10) {
                continue; /* cold boots of many guests: minutes; per guest as with 10 */
            }
            char what[64], dir[64];
            snprintf(what, sizeof(what), "LAN, each pings its neighbour, %s",
                     i ? "snapshot" : "cold");
            snprintf(dir, sizeof(dir), "%s-lan-%d", i ? "snap" : "cold", sizes[s]);
            /* Sampled once every guest pings: 0.4 s after a restore, 1.7 s
             * into a cold boot. */
            lan_result m = run_lan(dir, sizes[s], i ? QNS_BOOT_SNAPSHOT : QNS_BOOT_COLD, 1,
                                   i ? 400000000ull : 1700000000ull);
            row(what, sizes[s], &m, m.wall_s, m.first_frame_s);
        }
    }
    if (argc > 4) {
        /* A Debian image: bash sends the datagrams (dash has no /dev/udp). */
        const char *udp = "bash -c 'for i in 1 2 3 4 5; do echo qns > /dev/udp/10.0.0.3/9; "
                          "sleep 0.2; done'";
        lan_result made = run_lan_of("snap-debian-made", 2, QNS_BOOT_SNAPSHOT, 0, 0, argv[4], udp);
        row("debian, snapshot made (once)", 2, &made, made.wall_s, made.first_frame_s);
        lan_result d[2] = {{0}, {0}};
        for (int k = 0; k < REPEATS; k++) {
            for (int i = 0; i < 2; i++) {
                d[i] = run_lan_of(i ? "snap-debian" : "cold-debian", 2,
                                  i ? QNS_BOOT_SNAPSHOT : QNS_BOOT_COLD, 0, 0, argv[4], udp);
                w[i][k] = d[i].wall_s;
                f[i][k] = d[i].first_frame_s;
            }
        }
        for (int i = 0; i < 2; i++) {
            qsort(w[i], REPEATS, sizeof(double), cmp_double);
            qsort(f[i], REPEATS, sizeof(double), cmp_double);
        }
        row("debian (systemd), cold (median of 3)", 2, &d[0], w[0][REPEATS / 2],
            f[0][REPEATS / 2]);
        row("debian (systemd), snapshot (median of 3)", 2, &d[1], w[1][REPEATS / 2],
            f[1][REPEATS / 2]);
    }
    printf("wall s and first frame s from the simulation's creation (the snapshot looked up) "
           "in this process; RSS and PSS of the QEMU processes, per guest and in all\n");
    g_free(snap_ini);
    g_free(cold_ini);
    g_free(cache);
    return 0;
}
