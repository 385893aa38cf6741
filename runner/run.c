/*
 * run.c - `qns run`: builds a scenario through qns.h, runs it with a
 * progress display, stops cleanly on SIGINT/SIGTERM, and leaves one folder
 * with the outputs, a copy of the scenario and manifest.json (versions,
 * seeds, statistics and the SHA-256 of every output file). Not here: the
 * scenario syntax (scenario*.c), comparing runs (verify.c).
 */
#define _GNU_SOURCE
#include "environment.h"
#include "qns_qemu_args.h"
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

/* ---- manifest -------------------------------------------------------------- */

static void add_u64(JsonBuilder *b, const char *name, uint64_t v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, (gint64)v);
}

/* What the guests boot from (QEMU, the default guest image, own kernels,
 * initrds and disks), hashed before the run: writing the manifest after it,
 * an interrupted one too, then takes no time. */
static JsonNode *boot_inputs(const rn_settings *set)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    if (set->uses_qemu) {
        rn_env_add_qemu(b, rn_default_qemu());
    }
    if (set->uses_default_guest) {
        rn_env_add_guest_image(b, set->guest_dir);
    }
    json_builder_set_member_name(b, "inputs");
    json_builder_begin_object(b);
    for (const char *const *in = set->input_files; *in; in++) {
        rn_json_add_sha256(b, *in, *in);
    }
    json_builder_end_object(b);
    json_builder_end_object(b);
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

static int write_manifest(const char *dir, const rn_settings *set, const char *source,
                          JsonNode *inputs, const rn_run_result *rr, uint32_t ranks,
                          const rn_rank_figures *figures)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    rn_env_add_versions(b);
    json_builder_set_member_name(b, "scenario");
    json_builder_begin_object(b);
    rn_json_add_string(b, "name", set->name);
    rn_json_add_string(b, "file", RN_SCENARIO_COPY);
    rn_json_add_string(b, "source", source);
    rn_json_add_string(b, "base_dir", set->base_dir);
    char *copy = g_build_filename(dir, RN_SCENARIO_COPY, NULL);
    rn_json_add_sha256(b, "sha256", copy);
    g_free(copy);
    json_builder_end_object(b);
    add_u64(b, "seed", set->seed);
    add_u64(b, "quantum_us", set->quantum_us);
    add_u64(b, "spin_us", set->spin_us);
    json_builder_set_member_name(b, "pin");
    json_builder_add_boolean_value(b, set->pin != 0);
    rn_json_add_string(b, "round_mode", set->fixed_rounds ? "fixed" : "adaptive");
    add_u64(b, "duration_ns", set->duration_ns);
    add_u64(b, "watchdog_ms", set->watchdog_effective_ms);
    rn_json_add_string(b, "status",
                       rr->r == 0   ? "completed"
                       : rr->r == 1 ? "interrupted"
                                    : "failed");
    rn_json_add_string(b, "error", rr->r < 0 ? rr->error : NULL);
    add_u64(b, "end_ns", rr->end_ns);
    json_builder_set_member_name(b, "wall_s");
    json_builder_add_double_value(b, rr->wall_s);
    add_u64(b, "rounds", rr->rounds);
    add_u64(b, "late_frames", rr->late_frames);
    if (ranks > 1) {
        /* Each rank's own figures: rounds and wall time are its own. */
        json_builder_set_member_name(b, "ranks");
        json_builder_begin_array(b);
        for (uint32_t k = 0; k < ranks; k++) {
            json_builder_begin_object(b);
            add_u64(b, "rank", k);
            add_u64(b, "end_ns", figures[k].end_ns);
            json_builder_set_member_name(b, "wall_s");
            json_builder_add_double_value(b, figures[k].wall_s);
            add_u64(b, "rounds", figures[k].rounds);
            add_u64(b, "late_frames", figures[k].late_frames);
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
    }
    JsonObject *in = json_node_get_object(inputs);
    GList *names = json_object_get_members(in);
    for (GList *l = names; l; l = l->next) {
        json_builder_set_member_name(b, l->data);
        json_builder_add_value(b, json_node_copy(json_object_get_member(in, l->data)));
    }
    g_list_free(names);

    json_builder_set_member_name(b, "guests");
    json_builder_begin_array(b);
    for (int i = 0; i < rr->guest_count; i++) {
        const qns_guest_stats *st = &rr->guests[i];
        json_builder_begin_object(b);
        rn_json_add_string(b, "name", set->guests[i].name);
        const char *const *files = set->guests[i].files;
        if (files) {
            json_builder_set_member_name(b, "files");
            json_builder_begin_array(b);
            for (; *files; files++) {
                json_builder_add_string_value(b, *files);
            }
            json_builder_end_array(b);
        }
        if (ranks > 1) {
            add_u64(b, "rank", set->guests[i].rank);
        }
        add_u64(b, "rounds", st->rounds);
        add_u64(b, "frames_from_guest", st->frames_from_guest);
        add_u64(b, "frames_to_guest", st->frames_to_guest);
        add_u64(b, "frames_unopened", st->frames_unopened);
        add_u64(b, "frames_too_long", st->frames_too_long);
        json_builder_set_member_name(b, "nics");
        json_builder_begin_array(b);
        for (int n = 0; n < st->nic_count && n < QNS_MAX_NICS; n++) {
            json_builder_begin_object(b);
            add_u64(b, "nic", (uint64_t)n);
            add_u64(b, "mtu", st->nics[n].mtu);
            add_u64(b, "frames_too_long", st->nics[n].frames_too_long);
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_set_member_name(b, "nic_started_us");
        json_builder_add_int_value(b, st->nic_started_us);
        json_builder_set_member_name(b, "clock_us");
        json_builder_add_int_value(b, st->clock_us);
        json_builder_set_member_name(b, "powered_off");
        json_builder_add_boolean_value(b, st->done);
        json_builder_set_member_name(b, "ended");
        json_builder_add_boolean_value(b, st->ended);
        json_builder_set_member_name(b, "exit_status");
        json_builder_add_int_value(b, st->exit_status);
        json_builder_set_member_name(b, "command_status");
        if (st->command_status >= 0) {
            json_builder_add_int_value(b, st->command_status);
        } else {
            json_builder_add_null_value(b);
        }
        rn_json_add_string(b, "error", st->error[0] ? st->error : NULL);
        char *cb = g_path_get_basename(st->console_path);
        rn_json_add_string(b, "console", cb);
        g_free(cb);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);

    json_builder_set_member_name(b, "apps");
    json_builder_begin_array(b);
    for (int i = 0; i < rr->app_count; i++) {
        const char *node = set->apps[i].node;
        const qns_app_config *a = &set->apps[i].cfg;
        int sink = a->kind == QNS_APP_PACKET_SINK;
        json_builder_begin_object(b);
        rn_json_add_string(b, "node", node);
        rn_json_add_string(b, "app", qns_app_kind_name(a->kind));
        rn_json_add_string(b, "protocol", a->protocol);
        rn_json_add_string(b, "remote", a->remote_ipv4);
        add_u64(b, "port", a->port);
        if (sink) {
            add_u64(b, "rx_bytes", rr->app_rx_bytes[i]);
        } else {
            add_u64(b, "max_bytes", a->max_bytes);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);

    json_builder_set_member_name(b, "outputs");
    json_builder_begin_object(b);
    GPtrArray *files = rn_list_files(dir, rn_not_outputs);
    for (guint i = 0; i < files->len; i++) {
        char *p = g_build_filename(dir, g_ptr_array_index(files, i), NULL);
        rn_json_add_sha256(b, g_ptr_array_index(files, i), p);
        g_free(p);
    }
    g_ptr_array_free(files, TRUE);
    json_builder_end_object(b);
    json_builder_end_object(b);

    JsonGenerator *gen = json_generator_new();
    JsonNode *root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    char *path = g_build_filename(dir, RN_MANIFEST, NULL);
    GError *ge = NULL;
    int ok = json_generator_to_file(gen, path, &ge);
    if (!ok) {
        rn_error("cannot write %s: %s", path, ge->message);
        g_error_free(ge);
    }
    g_free(path);
    json_node_unref(root);
    g_object_unref(gen);
    g_object_unref(b);
    return ok ? 0 : -1;
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

/* Runs the loaded scenario into dir: the whole run, or across ranks this
 * rank's part (dir: rank 0's run folder, another rank's staging folder). */
static int run_loaded(rn_run_options *opt, rn_scenario *sc, const char *dir)
{
    const rn_settings *set = rn_scenario_settings(sc);
    const uint32_t rank = qns_rank(), ranks = qns_ranks();
    char *src_abs = g_canonicalize_filename(opt->scenario_path, NULL);

    GString *errors = g_string_new(NULL);
    qns_sim_config cfg = rn_settings_sim_config(set, dir);
    qns_sim *sim = rn_scenario_build(sc, &cfg, errors);
    if (sim == NULL) {
        fputs(errors->str, stderr);
        g_string_free(errors, TRUE);
        g_free(src_abs);
        return RN_EXIT_USAGE;
    }
    g_string_free(errors, TRUE);
    JsonNode *inputs = rank == 0 ? boot_inputs(set) : NULL;

    if (rank == 0) {
        char *dur = rn_format_duration(set->duration_ns);
        char across[48] = "";
        if (ranks > 1) {
            snprintf(across, sizeof(across), ", %" PRIu32 " ranks", ranks);
        }
        rn_say("qns: running %s (%s, quantum %" PRIu32 " us%s, seed %" PRIu32 "%s) into %s/",
               set->name, dur, set->quantum_us, set->fixed_rounds ? ", fixed rounds" : "",
               set->seed, across, dir);
        g_free(dur);
        char *imported = set->uses_default_guest ? rn_imported_image_key(set->guest_dir) : NULL;
        if (imported) {
            rn_say("qns: guest image %s was imported from a package, not built here", imported);
        }
        g_free(imported);
        fflush(stdout);
    }

    progress_ctx pc = {.tty = opt->quiet || rank != 0 ? -1 : isatty(STDOUT_FILENO)};
    qns_sim_set_progress(sim, on_progress, &pc, 100);
    stop_sim = sim;
    if (stop_signal) {
        qns_sim_request_stop(sim); /* it came while the run was being set up */
    }

    double t0 = now_s();
    rn_run_result rr = {.guest_count = set->guest_count};
    rr.r = qns_sim_run(sim, set->duration_ns, rr.error);
    rr.wall_s = now_s() - t0;
    rr.stopped_by = qns_sim_stopped_by(sim);
    rr.end_ns = qns_sim_end_ns(sim);
    rr.rounds = qns_sim_rounds(sim);
    rr.late_frames = qns_sim_late_frames(sim);
    if (pc.printed && pc.tty > 0) {
        printf("\n");
    }
    rr.guests = g_new0(qns_guest_stats, (gsize)rr.guest_count + 1);
    for (int i = 0; i < rr.guest_count; i++) {
        qns_sim_guest_stats(sim, i, &rr.guests[i]);
    }
    rr.app_count = set->app_count;
    rr.app_rx_bytes = g_new0(uint64_t, (gsize)rr.app_count + 1);
    for (int i = 0; i < rr.app_count; i++) {
        qns_sim_app_rx_bytes(sim, i, &rr.app_rx_bytes[i]);
    }
    int sig = stop_signal;
    stop_sim = NULL;
    qns_sim_free(sim); /* closes the captures and ends every guest process */

    int status = RN_EXIT_OK;
    rn_rank_figures *figures = g_new0(rn_rank_figures, ranks);
    if (rank != 0) {
        /* Rank 0 reports: this rank's part goes there. */
        status = rn_rank_send(set, &rr, dir) < 0 ? RN_EXIT_FAIL : RN_EXIT_OK;
        if (status == RN_EXIT_OK && rr.r != 0) {
            status = rr.r < 0 ? RN_EXIT_FAIL : 128 + (sig ? sig : SIGINT);
        }
        g_free(figures);
        g_free(rr.guests);
        g_free(rr.app_rx_bytes);
        g_free(src_abs);
        return status;
    }
    if (ranks > 1 && rn_rank_gather(set, &rr, dir, ranks, figures) < 0) {
        status = RN_EXIT_FAIL;
    }
    if (rr.r < 0) {
        rn_error("%s", rr.error);
        status = RN_EXIT_FAIL;
    } else if (rr.r == 1) {
        printf("qns: stopped by %s at virtual time %.6f s\n", stop_signal_name(sig),
               (double)rr.end_ns / 1e9);
        status = 128 + (sig ? sig : SIGINT);
    }
    char summary[256];
    qns_run_summary(rr.end_ns, rr.wall_s, rr.rounds, rr.late_frames, summary, sizeof(summary));
    printf("qns: %s\n", summary);
    for (int i = 0; i < rr.guest_count; i++) {
        const qns_guest_stats *st = &rr.guests[i];
        const char *name = set->guests[i].name;
        char line[QNS_MAX_NICS * 96 + 256];
        qns_guest_summary(st, line, sizeof(line));
        rn_say("guest %s: %s", name, line);
        /* Its exit status is judged by the C API: a failure is in r and err. */
        qns_print_command_output(name, st->console_path, stdout);
    }
    for (int i = 0; i < rr.app_count; i++) {
        const char *node = set->apps[i].node;
        const qns_app_config *a = &set->apps[i].cfg;
        if (a->kind == QNS_APP_PACKET_SINK) {
            rn_say("node %s: packet-sink %s:%u received %" PRIu64 " bytes", node, a->protocol,
                   (unsigned)a->port, rr.app_rx_bytes[i]);
        }
    }
    if (write_manifest(dir, set, src_abs, inputs, &rr, ranks, figures) < 0) {
        status = status == RN_EXIT_OK ? RN_EXIT_FAIL : status;
    } else {
        rn_say("qns: outputs and manifest in %s/", dir);
    }
    json_node_unref(inputs);
    g_free(figures);
    g_free(rr.guests);
    g_free(rr.app_rx_bytes);
    g_free(src_abs);
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

/* The stop signals are handled from the start: one that comes before the
 * run folder exists ends qns without making it, one that comes later stops
 * the run as soon as its simulation exists. */
int rn_run(rn_run_options *opt)
{
    struct sigaction sa = {.sa_handler = on_stop_signal, .sa_flags = SA_RESTART};
    struct sigaction old[G_N_ELEMENTS(stop_signals)];
    sigemptyset(&sa.sa_mask);
    stop_signal = 0;
    stop_sim = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(stop_signals); i++) {
        sigaction(stop_signals[i], &sa, &old[i]);
    }
    int status = run_all(opt);
    for (size_t i = 0; i < G_N_ELEMENTS(stop_signals); i++) {
        sigaction(stop_signals[i], &old[i], NULL);
    }
    return status;
}

static int run_all(rn_run_options *opt)
{
    const uint32_t rank = qns_rank(), ranks = qns_ranks();
    char *out_abs = opt->out_dir ? g_canonicalize_filename(opt->out_dir, NULL) : NULL;
    int root = out_abs && strcmp(out_abs, "/") == 0;
    g_free(out_abs);
    if (root) {
        rn_error("-o %s is the root folder; a run goes into a new or empty folder of its own",
                 opt->out_dir);
        return RN_EXIT_USAGE;
    }
    GString *errors = g_string_new(NULL);
    rn_scenario *sc = rn_scenario_load(opt->scenario_path, opt->base_dir, errors);
    /* Every rank reads the file on its own machine, so one may find what
     * the others do not (a guest image missing there): all go on, or none.
     * Rank 0's mistakes are every rank's; another rank's are said by it. */
    int failed = sc == NULL ? (rank == 0 ? 2 : 1) : 0;
    int worst = ranks > 1 ? qns_ranks_max(failed) : failed;
    if (worst) {
        if (failed && (rank == 0 || worst == 1)) {
            gchar **lines = g_strsplit(errors->str, "\n", -1);
            for (gchar **l = lines; *l && **l; l++) {
                if (rank == 0) {
                    fprintf(stderr, "%s\n", *l);
                } else {
                    fprintf(stderr, "rank %" PRIu32 ": %s\n", rank, *l);
                }
            }
            g_strfreev(lines);
        } else if (!failed && rank == 0) {
            rn_error("another rank could not read the scenario (it says why)");
        }
        g_string_free(errors, TRUE);
        rn_scenario_free(sc);
        return RN_EXIT_USAGE;
    }
    g_string_free(errors, TRUE);
    const rn_settings *set = rn_scenario_settings(sc);
    if (ranks > 1 && set->rank_count != ranks) {
        if (rank == 0) {
            char *shown = rn_quote_path(opt->scenario_path);
            rn_error("%s: its guests and nodes are on ranks 0 .. %" PRIu32 " (%" PRIu32
                     " processes), but mpirun started %" PRIu32,
                     shown, set->rank_count - 1, set->rank_count, ranks);
            g_free(shown);
        }
        rn_scenario_free(sc);
        return RN_EXIT_USAGE;
    }
    if (opt->verifying && refuse_untrusted(opt, set) < 0) {
        rn_scenario_free(sc);
        return RN_EXIT_USAGE;
    }
    if (ranks == 1 && stop_signal) {
        rn_error("stopped by %s before the run began; no run folder made",
                 stop_signal_name(stop_signal));
        rn_scenario_free(sc);
        return 128 + stop_signal;
    }
    /* Rank 0 makes the run folder; the others run into staging folders
     * and hand their files to it. All go on only if all could. */
    int lock_fd = -1;
    char *dir =
        rank == 0 ? make_out_dir(opt, set, &lock_fd) : rn_temp_dir(g_get_tmp_dir(), "qns-rank-");
    int fail = dir == NULL;
    if (!fail && rank == 0 && copy_scenario(opt->scenario_path, dir) < 0) {
        fail = 2;
    }
    int any = qns_ranks_max(fail);
    if (any) {
        if (dir != NULL && rank != 0) {
            g_rmdir(dir);
        }
        rn_unlock_dir(lock_fd);
        g_free(dir);
        rn_scenario_free(sc);
        return any == 2 ? RN_EXIT_FAIL : RN_EXIT_USAGE;
    }
    int status = run_loaded(opt, sc, dir);
    rn_unlock_dir(lock_fd);
    if (rank == 0) {
        opt->out_dir_used = dir;
    } else {
        g_free(dir);
    }
    rn_scenario_free(sc);
    return status;
}
