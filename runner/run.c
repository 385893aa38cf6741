/*
 * run.c - `qns run`: builds a scenario through qns.h, runs it with a
 * progress display, stops cleanly on SIGINT/SIGTERM, and leaves one folder
 * with the outputs, a copy of the scenario and manifest.json (versions,
 * seeds, statistics and the SHA-256 of every output file). Not here: the
 * scenario syntax (scenario.c), comparing runs (verify.c).
 */
#define _GNU_SOURCE
#include "runner.h"
#include "scenario_util.h"

#include <errno.h>
#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

typedef struct progress_ctx {
    int tty;
    double last_print_s;
    int printed;
} progress_ctx;

static void print_progress(const qns_progress *p, int tty)
{
    double virt = (double)p->virtual_ns / 1e9, dur = (double)p->duration_ns / 1e9;
    double speed = p->wall_s > 0 ? virt / p->wall_s : 0;
    double rps = p->wall_s > 0 ? (double)p->rounds / p->wall_s : 0;
    double pct = p->duration_ns ? 100.0 * (double)p->virtual_ns / (double)p->duration_ns : 0;
    if (tty) {
        printf("\r  virtual %.6f / %.3f s (%3.0f%%)  wall %.1f s  speed %.3fx  %.0f rounds/s  "
               "%" PRIu64 " frames\033[K",
               virt, dur, pct, p->wall_s, speed, rps, p->frames);
    } else {
        printf("progress: virtual %.6f / %.3f s (%.0f%%), wall %.1f s, speed %.3fx, %.0f "
               "rounds/s, %" PRIu64 " frames\n",
               virt, dur, pct, p->wall_s, speed, rps, p->frames);
    }
    fflush(stdout);
}

static int on_progress(void *ctx, const qns_progress *p)
{
    progress_ctx *pc = ctx;
    double every = pc->tty ? 0.2 : 5.0;
    if (pc->tty >= 0 && p->wall_s - pc->last_print_s >= every) {
        pc->last_print_s = p->wall_s;
        pc->printed = 1;
        print_progress(p, pc->tty);
    }
    return stop_signal != 0;
}

/* Creates and locks the output folder (*lock_fd) for the whole run, and
 * only then looks for a finished run in it, so two runs never share it. */
static char *make_out_dir(const rn_run_options *opt, const rn_scenario *sc, int *lock_fd)
{
    char *dir;
    if (opt->out_dir) {
        dir = g_strdup(opt->out_dir);
    } else {
        char *ts = rn_timestamp();
        char *leaf = g_strdup_printf("%s-%s", rn_scenario_name(sc), ts);
        dir = g_build_filename("results", leaf, NULL);
        g_free(leaf);
        g_free(ts);
    }
    char *shown = rn_quote_path(dir), *why = NULL;
    char *manifest = g_build_filename(dir, RN_MANIFEST, NULL);
    int taken = g_file_test(manifest, G_FILE_TEST_EXISTS);
    if (taken) {
        rn_error("%s already holds a run (manifest.json); choose another -o", shown);
    } else if (g_mkdir_with_parents(dir, 0755) < 0) {
        rn_error("cannot create %s: %s", shown, g_strerror(errno));
        taken = 1;
    } else if ((*lock_fd = rn_lock_dir(dir, &why)) < 0) {
        rn_error("%s", why);
        taken = 1;
    } else if (g_file_test(manifest, G_FILE_TEST_EXISTS)) {
        /* A run that held the lock until a moment ago. */
        rn_error("%s already holds a run (manifest.json); choose another -o", shown);
        rn_unlock_dir(*lock_fd);
        *lock_fd = -1;
        taken = 1;
    }
    g_free(why);
    g_free(manifest);
    g_free(shown);
    if (taken) {
        g_free(dir);
        return NULL;
    }
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

static void add_sha(JsonBuilder *b, const char *member, const char *path)
{
    char *why = NULL, *sum = rn_file_sha256(path, &why);
    json_builder_set_member_name(b, member);
    if (sum) {
        json_builder_add_string_value(b, sum);
    } else {
        json_builder_add_null_value(b);
    }
    g_free(sum);
    g_free(why);
}

static void add_qemu(JsonBuilder *b)
{
    const char *qemu = rn_default_qemu();
    char *out = NULL;
    const char *argv[] = {qemu, "--version", NULL};
    json_builder_set_member_name(b, "qemu");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "path");
    json_builder_add_string_value(b, qemu);
    json_builder_set_member_name(b, "version");
    if (g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                     NULL, NULL, NULL) &&
        out) {
        out[strcspn(out, "\n")] = '\0';
        json_builder_add_string_value(b, out);
    } else {
        json_builder_add_null_value(b);
    }
    g_free(out);
    add_sha(b, "sha256", qemu);
    json_builder_end_object(b);
}

static void add_guest_image(JsonBuilder *b)
{
    const char *dir = rn_default_guest_dir();
    char *info = g_build_filename(dir, "GUEST-INFO", NULL);
    GKeyFile *kf = g_key_file_new();
    json_builder_set_member_name(b, "guest_image");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "dir");
    json_builder_add_string_value(b, dir);
    if (g_key_file_load_from_file(kf, info, G_KEY_FILE_NONE, NULL)) {
        const char *keys[] = {"key", "kernel", "kernel_release", "initrd", NULL};
        for (int i = 0; keys[i]; i++) {
            char *v = g_key_file_get_string(kf, "guest", keys[i], NULL);
            json_builder_set_member_name(b, keys[i]);
            json_builder_add_string_value(b, v);
            if (v && (strcmp(keys[i], "kernel") == 0 || strcmp(keys[i], "initrd") == 0)) {
                char *p = g_build_filename(dir, v, NULL);
                char *m = g_strdup_printf("%s_sha256", keys[i]);
                add_sha(b, m, p);
                g_free(m);
                g_free(p);
            }
            g_free(v);
        }
        json_builder_set_member_name(b, "packages");
        json_builder_begin_object(b);
        gchar **pk = g_key_file_get_keys(kf, "packages", NULL, NULL);
        for (int i = 0; pk && pk[i]; i++) {
            char *v = g_key_file_get_string(kf, "packages", pk[i], NULL);
            json_builder_set_member_name(b, pk[i]);
            json_builder_add_string_value(b, v);
            g_free(v);
        }
        g_strfreev(pk);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    g_key_file_free(kf);
    g_free(info);
}

typedef struct run_result {
    const char *status; /* completed, interrupted, failed */
    const char *error;
    uint64_t end_ns, rounds, late_frames;
    double wall_s;
    int guest_count;
    qns_guest_stats *guests;
} run_result;

static void add_u64(JsonBuilder *b, const char *name, uint64_t v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, (gint64)v);
}

static void add_str(JsonBuilder *b, const char *name, const char *v)
{
    json_builder_set_member_name(b, name);
    if (v) {
        json_builder_add_string_value(b, v);
    } else {
        json_builder_add_null_value(b);
    }
}

static int write_manifest(const char *dir, const rn_scenario *sc, const char *source,
                          const run_result *rr)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    add_str(b, "qns_version", QNS_VERSION);
    add_str(b, "ns3_version", QNS_NS3_VERSION);
    json_builder_set_member_name(b, "scenario");
    json_builder_begin_object(b);
    add_str(b, "name", rn_scenario_name(sc));
    add_str(b, "file", RN_SCENARIO_COPY);
    add_str(b, "source", source);
    add_str(b, "base_dir", rn_scenario_base_dir(sc));
    char *copy = g_build_filename(dir, RN_SCENARIO_COPY, NULL);
    add_sha(b, "sha256", copy);
    g_free(copy);
    json_builder_end_object(b);
    add_u64(b, "seed", rn_scenario_seed(sc));
    add_u64(b, "quantum_us", rn_scenario_quantum_us(sc));
    add_u64(b, "spin_us", rn_scenario_spin_us(sc));
    json_builder_set_member_name(b, "pin");
    json_builder_add_boolean_value(b, rn_scenario_pin(sc) != 0);
    add_str(b, "round_mode", rn_scenario_adaptive(sc) ? "adaptive" : "fixed");
    add_u64(b, "duration_ns", rn_scenario_duration_ns(sc));
    add_str(b, "status", rr->status);
    add_str(b, "error", rr->error);
    add_u64(b, "end_ns", rr->end_ns);
    json_builder_set_member_name(b, "wall_s");
    json_builder_add_double_value(b, rr->wall_s);
    add_u64(b, "rounds", rr->rounds);
    add_u64(b, "late_frames", rr->late_frames);
    if (rn_scenario_uses_qemu(sc)) {
        add_qemu(b);
    }
    if (rn_scenario_uses_default_guest(sc)) {
        add_guest_image(b);
    }
    json_builder_set_member_name(b, "inputs");
    json_builder_begin_object(b);
    GPtrArray *in = rn_scenario_input_files(sc);
    for (guint i = 0; i < in->len; i++) {
        add_sha(b, g_ptr_array_index(in, i), g_ptr_array_index(in, i));
    }
    g_ptr_array_free(in, TRUE);
    json_builder_end_object(b);

    json_builder_set_member_name(b, "guests");
    json_builder_begin_array(b);
    for (int i = 0; i < rr->guest_count; i++) {
        const qns_guest_stats *st = &rr->guests[i];
        json_builder_begin_object(b);
        add_str(b, "name", rn_scenario_guest_name(sc, i));
        add_u64(b, "rounds", st->rounds);
        add_u64(b, "frames_from_guest", st->frames_from_guest);
        add_u64(b, "frames_to_guest", st->frames_to_guest);
        json_builder_set_member_name(b, "clock_us");
        json_builder_add_int_value(b, st->clock_us);
        json_builder_set_member_name(b, "powered_off");
        json_builder_add_boolean_value(b, st->done);
        json_builder_set_member_name(b, "ended");
        json_builder_add_boolean_value(b, st->ended);
        json_builder_set_member_name(b, "exit_status");
        json_builder_add_int_value(b, st->exit_status);
        char *cb = g_path_get_basename(st->console_path);
        add_str(b, "console", cb);
        g_free(cb);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);

    json_builder_set_member_name(b, "outputs");
    json_builder_begin_object(b);
    GPtrArray *files = rn_list_files(dir, rn_not_outputs);
    for (guint i = 0; i < files->len; i++) {
        char *p = g_build_filename(dir, g_ptr_array_index(files, i), NULL);
        add_sha(b, g_ptr_array_index(files, i), p);
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

static int run_loaded(rn_run_options *opt, rn_scenario *sc, const char *dir)
{
    char copy[4096];
    snprintf(copy, sizeof(copy), "%s/%s", dir, RN_SCENARIO_COPY);
    char *src_abs = g_canonicalize_filename(opt->scenario_path, NULL);
    char *copy_abs = g_canonicalize_filename(copy, NULL);
    int same = strcmp(src_abs, copy_abs) == 0;
    g_free(copy_abs);
    if (!same && copy_file(opt->scenario_path, copy) < 0) {
        g_free(src_abs);
        return RN_EXIT_FAIL;
    }

    GString *errors = g_string_new(NULL);
    qns_sim_config cfg = {.quantum_us = rn_scenario_quantum_us(sc),
                          .seed = rn_scenario_seed(sc),
                          .out_dir = dir,
                          .spin_us = rn_scenario_spin_us(sc),
                          .pin = rn_scenario_pin(sc),
                          .adaptive = rn_scenario_adaptive(sc)};
    qns_sim *sim = rn_scenario_build(sc, &cfg, errors);
    if (sim == NULL) {
        fputs(errors->str, stderr);
        g_string_free(errors, TRUE);
        g_free(src_abs);
        return RN_EXIT_USAGE;
    }
    g_string_free(errors, TRUE);

    char *dur = rn_format_duration(rn_scenario_duration_ns(sc));
    printf("qns: running %s (%s, quantum %" PRIu32 " us%s, seed %" PRIu32 ") into %s/\n",
           rn_scenario_name(sc), dur, rn_scenario_quantum_us(sc),
           rn_scenario_adaptive(sc) ? ", adaptive rounds" : "", rn_scenario_seed(sc), dir);
    g_free(dur);
    fflush(stdout);

    progress_ctx pc = {.tty = opt->quiet ? -1 : isatty(STDOUT_FILENO)};
    qns_sim_set_progress(sim, on_progress, &pc, 100);
    struct sigaction sa = {.sa_handler = on_stop_signal, .sa_flags = SA_RESTART}, old_int,
                     old_term;
    sigemptyset(&sa.sa_mask);
    stop_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    char err[QNS_ERRBUF_SIZE] = "";
    double t0 = now_s();
    int r = qns_sim_run(sim, rn_scenario_duration_ns(sc), err);
    run_result rr = {.wall_s = now_s() - t0,
                     .end_ns = qns_sim_end_ns(sim),
                     .rounds = qns_sim_rounds(sim),
                     .late_frames = qns_sim_late_frames(sim),
                     .guest_count = rn_scenario_guest_count(sc)};
    if (pc.printed && pc.tty > 0) {
        printf("\n");
    }
    rr.status = r == 0 ? "completed" : r == 1 ? "interrupted" : "failed";
    rr.error = r < 0 ? err : NULL;
    rr.guests = g_new0(qns_guest_stats, (gsize)rr.guest_count + 1);
    for (int i = 0; i < rr.guest_count; i++) {
        qns_sim_guest_stats(sim, i, &rr.guests[i]);
    }
    qns_sim_free(sim); /* closes the captures and ends every guest process */
    int sig = stop_signal;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);

    int status = RN_EXIT_OK;
    if (r < 0) {
        rn_error("%s", err);
        status = RN_EXIT_FAIL;
    } else if (r == 1) {
        printf("qns: stopped by %s at virtual time %.6f s\n", sig == SIGTERM ? "SIGTERM" : "SIGINT",
               (double)rr.end_ns / 1e9);
        status = 128 + (sig ? sig : SIGINT);
    }
    double virt = (double)rr.end_ns / 1e9;
    printf("qns: %.6f s of virtual time in %.3f s wall (%.3fx), %" PRIu64 " rounds, %" PRIu64
           " late frames\n",
           virt, rr.wall_s, rr.wall_s > 0 ? virt / rr.wall_s : 0.0, rr.rounds, rr.late_frames);
    for (int i = 0; i < rr.guest_count; i++) {
        const qns_guest_stats *st = &rr.guests[i];
        const char *name = rn_scenario_guest_name(sc, i);
        printf("guest %s: %" PRIu64 " frames out, %" PRIu64 " frames in, clock %.6f s%s\n", name,
               st->frames_from_guest, st->frames_to_guest, (double)st->clock_us / 1e6,
               st->done ? ", powered off" : "");
        if (scenario_print_command_output(name, st->console_path) > 0 && status == RN_EXIT_OK) {
            status = RN_EXIT_FAIL;
        }
    }
    if (write_manifest(dir, sc, src_abs, &rr) < 0) {
        status = status == RN_EXIT_OK ? RN_EXIT_FAIL : status;
    } else {
        printf("qns: outputs and manifest in %s/\n", dir);
    }
    g_free(rr.guests);
    g_free(src_abs);
    return status;
}

int rn_run(rn_run_options *opt)
{
    GString *errors = g_string_new(NULL);
    rn_scenario *sc = rn_scenario_load(opt->scenario_path, opt->base_dir, errors);
    if (sc == NULL) {
        fputs(errors->str, stderr);
        g_string_free(errors, TRUE);
        return RN_EXIT_USAGE;
    }
    g_string_free(errors, TRUE);
    int lock_fd = -1;
    char *dir = make_out_dir(opt, sc, &lock_fd);
    if (dir == NULL) {
        rn_scenario_free(sc);
        return RN_EXIT_USAGE;
    }
    int status = run_loaded(opt, sc, dir);
    rn_unlock_dir(lock_fd);
    opt->out_dir_used = dir;
    rn_scenario_free(sc);
    return status;
}
