/*
 * run.c - `qns run`: builds a scenario through qns.h, runs it with a
 * progress display, stops cleanly on SIGINT/SIGTERM, and leaves one folder
 * with the outputs, a copy of the scenario and manifest.json (versions,
 * seeds, statistics and the SHA-256 of every output file). Not here: the
 * scenario syntax (scenario*.c), the manifest (manifest_write.c), comparing
 * runs (verify.c).
 */
#define _GNU_SOURCE
#include "environment.h"
#include "runner.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What the SIGINT/SIGTERM/SIGHUP handler needs: the signal, and the run to
 * stop (NULL until the simulation exists; it is stopped as soon as it does). */
static volatile sig_atomic_t stop_signal;
static qns_sim *volatile stop_sim;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
    qns_sim_request_stop(stop_sim);
}

/* A closed terminal or a dropped ssh session (SIGHUP) stops a run as
 * Ctrl-C and SIGTERM do: captures complete, manifest written, no QEMU left. */
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};

static const char *stop_signal_name(int sig)
{
    return sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "SIGINT";
}

/* A round that waits this long for a guest is news in the progress line. */
#define RN_WAIT_NEWS_S 1.0

typedef struct progress_ctx {
    int tty;
    double last_print_s;
    int printed;
    int wait_shown; /* the current long wait has been printed once */
} progress_ctx;

static void print_progress(const qns_progress *p, int tty)
{
    double virt = (double)p->virtual_ns / 1e9, dur = (double)p->duration_ns / 1e9;
    double speed = p->wall_s > 0 ? virt / p->wall_s : 0;
    double rps = p->wall_s > 0 ? (double)p->rounds / p->wall_s : 0;
    double pct = p->duration_ns ? 100.0 * (double)p->virtual_ns / (double)p->duration_ns : 0;
    char wait[96] = "";
    if (p->waiting_guest && p->waiting_s >= RN_WAIT_NEWS_S) {
        snprintf(wait, sizeof(wait), "%swaiting for guest %s for %.1f s", tty ? "  " : ", ",
                 p->waiting_guest, p->waiting_s);
    }
    if (tty) {
        printf("\r  virtual %.6f / %.3f s (%3.0f%%)  wall %.1f s  speed %.3fx  %.0f rounds/s  "
               "%" PRIu64 " frames%s\033[K",
               virt, dur, pct, p->wall_s, speed, rps, p->frames, wait);
    } else {
        printf("progress: virtual %.6f / %.3f s (%.0f%%), wall %.1f s, speed %.3fx, %.0f "
               "rounds/s, %" PRIu64 " frames%s\n",
               virt, dur, pct, p->wall_s, speed, rps, p->frames, wait);
    }
    fflush(stdout);
}

static int on_progress(void *ctx, const qns_progress *p)
{
    progress_ctx *pc = ctx;
    double every = pc->tty ? 0.2 : 5.0;
    /* A long wait is shown when it becomes long, then at the usual pace. */
    int long_wait = p->waiting_guest && p->waiting_s >= RN_WAIT_NEWS_S;
    int news = long_wait && !pc->wait_shown;
    pc->wait_shown = long_wait && (pc->wait_shown || news);
    if (pc->tty >= 0 && (news || p->wall_s - pc->last_print_s >= every)) {
        pc->last_print_s = p->wall_s;
        pc->printed = 1;
        print_progress(p, pc->tty);
    }
    return stop_signal != 0;
}

/* Why dir cannot take a run, or NULL: it holds a run (manifest.json), or
 * anything else but a lock file; with locked 0 (before the lock is taken),
 * a folder with a lock file is left to the lock to judge (a run may be
 * writing into it). A run folder's outputs are then exactly what its run
 * wrote: nothing else was there. */
static char *out_dir_problem(const char *dir, const char *shown, int locked)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    if (d == NULL) {
        return NULL; /* a new folder (one that cannot be made is said then) */
    }
    char *other = NULL;
    int manifest = 0, lock = 0;
    for (const char *n; (n = g_dir_read_name(d)) != NULL;) {
        manifest |= strcmp(n, RN_MANIFEST) == 0;
        lock |= strcmp(n, RN_LOCK_FILE) == 0;
        if (other == NULL && strcmp(n, RN_LOCK_FILE) != 0) {
            other = rn_quote_path(n);
        }
    }
    g_dir_close(d);
    char *why = NULL;
    if (manifest) {
        why = g_strdup_printf("%s already holds a run (manifest.json); choose another -o", shown);
    } else if (other && (locked || !lock)) {
        why = g_strdup_printf("%s is not empty (it holds '%s'); a run goes into a new or empty "
                              "folder: choose another -o",
                              shown, other);
    }
    g_free(other);
    return why;
}

/* Creates and locks the output folder (*lock_fd) for the whole run, and
 * only then looks for anything in it, so two runs never share it. */
static char *make_out_dir(const rn_run_options *opt, const rn_settings *set, int *lock_fd)
{
    char *dir;
    if (opt->out_dir) {
        dir = g_strdup(opt->out_dir);
    } else {
        char *ts = rn_timestamp();
        char *leaf = g_strdup_printf("%s-%s", set->name, ts);
        dir = g_build_filename("results", leaf, NULL);
        g_free(leaf);
        g_free(ts);
    }
    char *shown = rn_quote_path(dir), *why = NULL;
    if (rn_is_symlink(dir)) {
        why = g_strdup_printf("%s is a symbolic link; a run goes into a folder named as itself",
                              shown);
    }
    if (why == NULL) {
        why = out_dir_problem(dir, shown, 0);
    }
    if (why == NULL && g_mkdir_with_parents(dir, 0755) < 0) {
        why = g_strdup_printf("cannot create %s: %s", shown, g_strerror(errno));
    }
    if (why == NULL && (*lock_fd = rn_lock_dir(dir, &why)) >= 0 &&
        (why = out_dir_problem(dir, shown, 1)) != NULL) {
        /* A run that held the lock until a moment ago, or a file put there. */
        rn_unlock_dir(*lock_fd);
        *lock_fd = -1;
    }
    if (why) {
        rn_error("%s", why);
        g_clear_pointer(&dir, g_free);
    }
    g_free(why);
    g_free(shown);
    return dir;
}

static int copy_file(const char *from, const char *to)
{
    gchar *data;
    gsize len;
    GError *ge = NULL;
    if (!g_file_get_contents(from, &data, &len, &ge) ||
        !g_file_set_contents(to, data, (gssize)len, &ge)) {
        rn_error("cannot copy %s to %s: %s", from, to, ge->message);
        g_error_free(ge);
        return -1;
    }
    g_free(data);
    return 0;
}

/* ---- the run ----------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A copy of the scenario file in the run folder (unless it is that copy). */
static int copy_scenario(const char *path, const char *dir)
{
    char *copy = g_build_filename(dir, RN_SCENARIO_COPY, NULL);
    char *src_abs = g_canonicalize_filename(path, NULL);
    char *copy_abs = g_canonicalize_filename(copy, NULL);
    int r = strcmp(src_abs, copy_abs) == 0 ? 0 : copy_file(path, copy);
    g_free(copy_abs);
    g_free(src_abs);
    g_free(copy);
    return r;
}

/* "qns: running NAME (...) into DIR/", and whether its guest image came
 * from a package. */
static void say_running(const rn_settings *set, const char *dir, uint32_t ranks)
{
    char *dur = rn_format_duration(set->duration_ns);
    char across[48] = "";
    if (ranks > 1) {
        snprintf(across, sizeof(across), ", %" PRIu32 " ranks", ranks);
    }
    rn_say("qns: running %s (%s, quantum %" PRIu32 " us%s, seed %" PRIu32 "%s) into %s/", set->name,
           dur, set->quantum_us, set->fixed_rounds ? ", fixed rounds" : "", set->seed, across, dir);
    g_free(dur);
    char *imported = set->uses_default_guest ? rn_imported_image_key(set->guest_dir) : NULL;
    if (imported) {
        rn_say("qns: guest image %s was imported from a package, not built here", imported);
    }
    g_free(imported);
    fflush(stdout);
}

/* The guests' stats and the applications' bytes of the run sim made. */
static void collect_results(qns_sim *sim, const rn_settings *set, rn_run_result *rr)
{
    rr->stopped_by = qns_sim_stopped_by(sim);
    rr->end_ns = qns_sim_end_ns(sim);
    rr->rounds = qns_sim_rounds(sim);
    rr->late_frames = qns_sim_late_frames(sim);
    rr->guest_count = set->guest_count;
    rr->guests = g_new0(qns_guest_stats, (gsize)rr->guest_count + 1);
    for (int i = 0; i < rr->guest_count; i++) {
        qns_sim_guest_stats(sim, i, &rr->guests[i]);
    }
    rr->app_count = set->app_count;
    rr->app_rx_bytes = g_new0(uint64_t, (gsize)rr->app_count + 1);
    for (int i = 0; i < rr->app_count; i++) {
        qns_sim_app_rx_bytes(sim, i, &rr->app_rx_bytes[i]);
    }
}

/* Runs sim for the scenario's duration with the progress display (rank 0,
 * unless quiet), stoppable by the stop signals; its results into rr. Frees
 * sim, which closes the captures and ends every guest process. Returns the
 * stop signal that came, or 0. */
static int run_sim(const rn_run_options *opt, qns_sim *sim, const rn_settings *set,
                   rn_run_result *rr)
{
    progress_ctx pc = {.tty = opt->quiet || qns_rank() != 0 ? -1 : isatty(STDOUT_FILENO)};
    qns_sim_set_progress(sim, on_progress, &pc, 100);
    stop_sim = sim;
    if (stop_signal) {
        qns_sim_request_stop(sim); /* it came while the run was being set up */
    }
    double t0 = now_s();
    rr->r = qns_sim_run(sim, set->duration_ns, rr->error);
    rr->wall_s = now_s() - t0;
    if (pc.printed && pc.tty > 0) {
        printf("\n");
    }
    collect_results(sim, set, rr);
    int sig = stop_signal;
    stop_sim = NULL;
    qns_sim_free(sim);
    return sig;
}

static void free_result(rn_run_result *rr)
{
    g_free(rr->guests);
    g_free(rr->app_rx_bytes);
}

/* On a rank other than 0: its part goes to rank 0, which reports. */
static int send_part(const rn_settings *set, const rn_run_result *rr, const char *dir, int sig)
{
    int status = rn_rank_send(set, rr, dir) < 0 ? RN_EXIT_FAIL : RN_EXIT_OK;
    if (status == RN_EXIT_OK && rr->r != 0) {
        status = rr->r < 0 ? RN_EXIT_FAIL : 128 + (sig ? sig : SIGINT);
    }
    return status;
}

/* The run's error, or the signal that stopped it, said; the exit status
 * that follows from them (status: so far). */
static int say_outcome(const rn_run_result *rr, int sig, int status)
{
    if (rr->r < 0) {
        rn_error("%s", rr->error);
        return RN_EXIT_FAIL;
    }
    if (rr->r == 1) {
        printf("qns: stopped by %s at virtual time %.6f s\n", stop_signal_name(sig),
               (double)rr->end_ns / 1e9);
        return 128 + (sig ? sig : SIGINT);
    }
    return status;
}

/* The run's summary, each guest's and its command's output, and what each
 * packet sink received. */
static void say_results(const rn_settings *set, const rn_run_result *rr)
{
    char summary[256];
    qns_run_summary(rr->end_ns, rr->wall_s, rr->rounds, rr->late_frames, summary, sizeof(summary));
    printf("qns: %s\n", summary);
    for (int i = 0; i < rr->guest_count; i++) {
        const qns_guest_stats *st = &rr->guests[i];
        const char *name = set->guests[i].name;
        char line[QNS_MAX_NICS * 96 + 256];
        qns_guest_summary(st, line, sizeof(line));
        rn_say("guest %s: %s", name, line);
        /* Its exit status is judged by the C API: a failure is in r and err. */
        qns_print_command_output(name, st->console_path, stdout);
    }
    for (int i = 0; i < rr->app_count; i++) {
        const char *node = set->apps[i].node;
        const qns_app_config *a = &set->apps[i].cfg;
        if (a->kind == QNS_APP_PACKET_SINK) {
            rn_say("node %s: packet-sink %s:%u received %" PRIu64 " bytes", node, a->protocol,
                   (unsigned)a->port, rr->app_rx_bytes[i]);
        }
    }
}

/* On rank 0, after the run: every rank's part gathered, the outcome and
 * results said, the manifest written. The exit status. */
static int report_run(const rn_run_options *opt, const rn_settings *set, rn_run_result *rr,
                      const char *dir, JsonNode *inputs, int sig)
{
    const uint32_t ranks = qns_ranks();
    int status = RN_EXIT_OK;
    rn_rank_figures *figures = g_new0(rn_rank_figures, ranks);
    if (ranks > 1 && rn_rank_gather(set, rr, dir, ranks, figures) < 0) {
        status = RN_EXIT_FAIL;
    }
    status = say_outcome(rr, sig, status);
    say_results(set, rr);
    char *src_abs = g_canonicalize_filename(opt->scenario_path, NULL);
    if (rn_manifest_write(dir, set, src_abs, inputs, rr, ranks, figures) < 0) {
        status = status == RN_EXIT_OK ? RN_EXIT_FAIL : status;
    } else {
        rn_say("qns: outputs and manifest in %s/", dir);
    }
    g_free(src_abs);
    g_free(figures);
    return status;
}

/* Runs the loaded scenario into dir: the whole run, or across ranks this
 * rank's part (dir: rank 0's run folder, another rank's staging folder). */
static int run_loaded(rn_run_options *opt, rn_scenario *sc, const char *dir)
{
    const rn_settings *set = rn_scenario_settings(sc);
    const uint32_t rank = qns_rank();
    GString *errors = g_string_new(NULL);
    qns_sim_config cfg = rn_settings_sim_config(set, dir);
    qns_sim *sim = rn_scenario_build(sc, &cfg, errors);
    if (sim == NULL) {
        fputs(errors->str, stderr);
        g_string_free(errors, TRUE);
        return RN_EXIT_USAGE;
    }
    g_string_free(errors, TRUE);
    JsonNode *inputs = rank == 0 ? rn_manifest_boot_inputs(set) : NULL;
    if (rank == 0) {
        say_running(set, dir, qns_ranks());
    }
    rn_run_result rr = {0};
    int sig = run_sim(opt, sim, set, &rr);
    int status =
        rank == 0 ? report_run(opt, set, &rr, dir, inputs, sig) : send_part(set, &rr, dir, sig);
    if (inputs) {
        json_node_unref(inputs);
    }
    free_result(&rr);
    return status;
}

static int run_all(rn_run_options *opt);

/* Every file a stranger's scenario would read into a guest (kernels,
 * initrds, disks and their backing files, files =) must be one the manifest
 * names, with the same bytes: a path such as /etc/shadow as a guest's disk
 * would otherwise copy the reader's own files into the guest and its
 * outputs. */
static int refuse_unknown_inputs(const rn_run_options *opt, const rn_settings *set)
{
    int r = 0;
    for (const char *const *in = set->input_files; r == 0 && *in; in++) {
        const char *path = *in;
        char *why = NULL, *sum = rn_file_sha256(path, &why);
        if (sum == NULL || opt->known_inputs == NULL ||
            !g_hash_table_contains(opt->known_inputs, sum)) {
            char *shown = rn_quote_path(path);
            rn_error("the scenario reads '%s' into a guest, which is no input the manifest names "
                     "with these bytes: qns verify reads none unless you pass --trust-package",
                     shown);
            g_free(shown);
            r = -1;
        }
        g_free(sum);
        g_free(why);
    }
    return r;
}

/* A run folder or a package may be a stranger's: the files its scenario
 * reads into guests must be the manifest's inputs, and the programs it
 * names run and QEMU options other than the allowed ones (qns_qemu_args.h)
 * pass only when the user said so. */
static int refuse_untrusted(const rn_run_options *opt, const rn_settings *set)
{
    if (!opt->trust_programs && refuse_unknown_inputs(opt, set) < 0) {
        return -1;
    }
    for (int i = 0; i < set->guest_count; i++) {
        const char *program = set->guests[i].program;
        const char *const *extra = set->guests[i].extra_args;
        const char *name = set->guests[i].name;
        char e[QNS_ERRBUF_SIZE];
        if (extra && qns_qemu_args_check(extra, e) < 0) {
            if (!opt->trust_programs) {
                rn_error("guest %s: extra_args: %s; qns verify passes none unless you pass "
                         "--trust-package",
                         name, e);
                return -1;
            }
            rn_say("verify: guest %s passes its extra_args to QEMU (--trust-package)", name);
        }
        if (program == NULL) {
            continue;
        }
        char *shown = rn_quote_path(program);
        if (!opt->trust_programs) {
            rn_error("guest %s runs the program '%s', which the run folder or package names: "
                     "qns verify runs none unless you pass --trust-package",
                     name, shown);
            g_free(shown);
            return -1;
        }
        rn_say("verify: guest %s runs the program '%s' (--trust-package)", name, shown);
        g_free(shown);
    }
    return 0;
}

/* Whether a stop signal came (qns_sim_config.stop: a snapshot being made
 * for a guest gives up). */
static int stop_asked(void *ctx)
{
    (void)ctx;
    return stop_signal != 0;
}

/* qns_sim_config.snapshot_boot: a guest's machine is booted once, which
 * takes a while the first time; said on this rank's behalf. */
static void snapshot_booting(void *ctx, const char *guest, const char *key)
{
    (void)ctx;
    char rank[32] = "";
    if (qns_ranks() > 1) {
        snprintf(rank, sizeof(rank), "rank %" PRIu32 ": ", qns_rank());
    }
    rn_say("qns: %sguest %s: booting its machine once for snapshot %.12s… (runs restore it "
           "from now on)",
           rank, guest, key);
}

/* The stop signals are handled from the start: one that comes before the
 * run folder exists (a snapshot being made included) ends qns without
 * making it, one that comes later stops the run as soon as its simulation
 * exists. */
int rn_run(rn_run_options *opt)
{
    struct sigaction sa = {.sa_handler = on_stop_signal, .sa_flags = SA_RESTART};
    struct sigaction old[G_N_ELEMENTS(stop_signals)];
    sigemptyset(&sa.sa_mask);
    stop_signal = 0;
    stop_sim = NULL;
    opt->places.stop = stop_asked;
    opt->places.stop_ctx = NULL;
    opt->places.snapshot_boot = snapshot_booting;
    for (size_t i = 0; i < G_N_ELEMENTS(stop_signals); i++) {
        sigaction(stop_signals[i], &sa, &old[i]);
    }
    int status = run_all(opt);
    for (size_t i = 0; i < G_N_ELEMENTS(stop_signals); i++) {
        sigaction(stop_signals[i], &old[i], NULL);
    }
    return status;
}

/* Whether -o names the root folder (said). */
static int out_dir_is_root(const rn_run_options *opt)
{
    char *out_abs = opt->out_dir ? g_canonicalize_filename(opt->out_dir, NULL) : NULL;
    int root = out_abs && strcmp(out_abs, "/") == 0;
    g_free(out_abs);
    if (root) {
        rn_error("-o %s is the root folder; a run goes into a new or empty folder of its own",
                 opt->out_dir);
    }
    return root;
}

/* The scenario, loaded on every rank, or NULL on all of them after the
 * mistakes are said. Every rank reads the file on its own machine, so one
 * may find what the others do not (a guest image missing there): all go
 * on, or none. Rank 0's mistakes are every rank's; another rank's are
 * said by it. */
static rn_scenario *load_on_every_rank(const rn_run_options *opt)
{
    const uint32_t rank = qns_rank(), ranks = qns_ranks();
    GString *errors = g_string_new(NULL);
    rn_scenario *sc = rn_scenario_load(opt->scenario_path, opt->base_dir, &opt->places, errors);
    int failed = sc == NULL ? (rank == 0 ? 2 : 1) : 0;
    int worst = ranks > 1 ? qns_ranks_max(failed) : failed;
    if (worst && failed && (rank == 0 || worst == 1)) {
        gchar **lines = g_strsplit(errors->str, "\n", -1);
        for (gchar **l = lines; *l && **l; l++) {
            if (rank == 0) {
                fprintf(stderr, "%s\n", *l);
            } else {
                fprintf(stderr, "rank %" PRIu32 ": %s\n", rank, *l);
            }
        }
        g_strfreev(lines);
    } else if (worst && !failed && rank == 0) {
        rn_error("another rank could not read the scenario (it says why)");
    }
    g_string_free(errors, TRUE);
    if (worst) {
        g_clear_pointer(&sc, rn_scenario_free);
    }
    return sc;
}

/* 0 when the scenario's ranks are the processes mpirun started; else -1,
 * said by rank 0. */
static int check_rank_count(const rn_run_options *opt, const rn_settings *set)
{
    const uint32_t ranks = qns_ranks();
    if (ranks == 1 || set->rank_count == ranks) {
        return 0;
    }
    if (qns_rank() == 0) {
        char *shown = rn_quote_path(opt->scenario_path);
        rn_error("%s: its guests and nodes are on ranks 0 .. %" PRIu32 " (%" PRIu32
                 " processes), but mpirun started %" PRIu32,
                 shown, set->rank_count - 1, set->rank_count, ranks);
        g_free(shown);
    }
    return -1;
}

/* The folder this rank runs into: rank 0 makes and locks the run folder
 * (*lock_fd) with the scenario's copy; the others run into staging folders
 * and hand their files to it. All go on only if all could: else NULL, and
 * *status is the exit status. */
static char *make_run_dir(const rn_run_options *opt, const rn_settings *set, int *lock_fd,
                          int *status)
{
    const uint32_t rank = qns_rank();
    char *dir =
        rank == 0 ? make_out_dir(opt, set, lock_fd) : rn_temp_dir(g_get_tmp_dir(), "qns-rank-");
    int fail = dir == NULL;
    if (!fail && rank == 0 && copy_scenario(opt->scenario_path, dir) < 0) {
        fail = 2;
    }
    int any = qns_ranks_max(fail);
    if (any) {
        if (dir != NULL && rank != 0) {
            g_rmdir(dir);
        }
        rn_unlock_dir(*lock_fd);
        *lock_fd = -1;
        g_clear_pointer(&dir, g_free);
        *status = any == 2 ? RN_EXIT_FAIL : RN_EXIT_USAGE;
    }
    return dir;
}

/* Everything before the run that may refuse it: -1 with *status set. */
static int refuse_before_run(rn_run_options *opt, const rn_settings *set, int *status)
{
    if (check_rank_count(opt, set) < 0 || (opt->verifying && refuse_untrusted(opt, set) < 0)) {
        *status = RN_EXIT_USAGE;
        return -1;
    }
    if (qns_ranks() == 1 && stop_signal) {
        rn_error("stopped by %s before the run began; no run folder made",
                 stop_signal_name(stop_signal));
        *status = 128 + stop_signal;
        return -1;
    }
    return 0;
}

static int run_all(rn_run_options *opt)
{
    if (out_dir_is_root(opt)) {
        return RN_EXIT_USAGE;
    }
    rn_scenario *sc = load_on_every_rank(opt);
    if (sc == NULL && qns_ranks() == 1 && stop_signal) {
        rn_error("stopped by %s before the run began; no run folder made",
                 stop_signal_name(stop_signal));
        return 128 + stop_signal;
    }
    if (sc == NULL) {
        return RN_EXIT_USAGE;
    }
    const rn_settings *set = rn_scenario_settings(sc);
    int status = RN_EXIT_USAGE, lock_fd = -1;
    char *dir = NULL;
    if (refuse_before_run(opt, set, &status) == 0 &&
        (dir = make_run_dir(opt, set, &lock_fd, &status)) != NULL) {
        status = run_loaded(opt, sc, dir);
        rn_unlock_dir(lock_fd);
        if (qns_rank() == 0) {
            opt->out_dir_used = g_steal_pointer(&dir);
        }
    }
    g_free(dir);
    rn_scenario_free(sc);
    return status;
}
