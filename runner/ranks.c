/*
 * ranks.c - a scenario split over MPI ranks: every rank runs its own part of
 * the one simulation (qns.h, "Ranks"); rank 0 writes the run folder, and the
 * others hand it their results and output files once the run is over, so
 * the folder and its manifest are those of a one-process run. Not here: the
 * run itself (run.c).
 */
#define _GNU_SOURCE
#include "environment.h"
#include "runner.h"

#include <stdio.h>
#include <string.h>

/* A rank's message: its outcome (and which rank ended the run) and figures, its guests' stats
 * (each NIC's MTU and frames too long for it, then the key and SHA-256s of the snapshot it
 * was restored from, or ""), its packet sinks' bytes, its files (name,
 * bytes). */
#define RANK_GUEST "(ittttxxiiiissa(ut)ssss)"
#define RANK_MSG "(iisttdta" RANK_GUEST "a(it)a(say))"

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

GBytes *rn_rank_pack(const rn_settings *set, const rn_run_result *rr, const char *staging,
                     uint32_t me, int *ok)
{
    GVariantBuilder guests, apps, files;
    g_variant_builder_init(&guests, G_VARIANT_TYPE("a" RANK_GUEST));
    for (int i = 0; i < rr->guest_count; i++) {
        const qns_guest_stats *st = &rr->guests[i];
        if (set->guests[i].rank != me) {
            continue;
        }
        GVariantBuilder nics;
        g_variant_builder_init(&nics, G_VARIANT_TYPE("a(ut)"));
        for (int n = 0; n < st->nic_count && n < QNS_MAX_NICS; n++) {
            g_variant_builder_add(&nics, "(ut)", st->nics[n].mtu,
                                  (guint64)st->nics[n].frames_too_long);
        }
        g_variant_builder_add(&guests, RANK_GUEST, i, (guint64)st->rounds,
                              (guint64)st->frames_from_guest, (guint64)st->frames_to_guest,
                              (guint64)st->frames_unopened, (gint64)st->nic_started_us,
                              (gint64)st->clock_us, st->done, st->ended, st->exit_status,
                              st->command_status, st->error, base_name(st->console_path), &nics,
                              st->snapshot_key, st->snapshot_stream_sha256,
                              st->snapshot_ram_sha256, st->snapshot_disk_sha256);
    }
    g_variant_builder_init(&apps, G_VARIANT_TYPE("a(it)"));
    for (int i = 0; i < rr->app_count; i++) {
        if (set->apps[i].rank == me) {
            g_variant_builder_add(&apps, "(it)", i, (guint64)rr->app_rx_bytes[i]);
        }
    }
    g_variant_builder_init(&files, G_VARIANT_TYPE("a(say)"));
    GPtrArray *names = rn_list_files(staging, rn_not_outputs);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        char *path = g_build_filename(staging, name, NULL);
        gchar *data = NULL;
        gsize len = 0;
        GError *ge = NULL;
        if (!g_file_get_contents(path, &data, &len, &ge)) {
            rn_error("rank %u: cannot read %s: %s", me, path, ge->message);
            g_error_free(ge);
            *ok = 0;
        } else {
            g_variant_builder_add(
                &files, "(s@ay)", name,
                g_variant_new_from_data(G_VARIANT_TYPE_BYTESTRING, data, len, TRUE, g_free, data));
        }
        g_free(path);
    }
    g_ptr_array_free(names, TRUE);
    GVariant *v = g_variant_ref_sink(g_variant_new(
        RANK_MSG, rr->r, rr->stopped_by, rr->error, (guint64)rr->end_ns, (guint64)rr->rounds,
        rr->wall_s, (guint64)rr->late_frames, &guests, &apps, &files));
    GBytes *b = g_variant_get_data_as_bytes(v);
    g_variant_unref(v);
    return b;
}

int rn_rank_send(const rn_settings *set, const rn_run_result *rr, const char *staging)
{
    int ok = 1;
    GBytes *msg = rn_rank_pack(set, rr, staging, qns_rank(), &ok);
    gsize len = 0;
    const void *data = g_bytes_get_data(msg, &len);
    char e[QNS_ERRBUF_SIZE];
    if (qns_ranks_send(data, len, e) < 0) {
        rn_error("rank %u: %s", qns_rank(), e);
        ok = 0;
    }
    g_bytes_unref(msg);
    rn_remove_tree(staging);
    return ok ? 0 : -1;
}

/* The worse of two outcomes: failed, then interrupted, then completed. */
static int worse(int a, int b)
{
    return a < 0 || b < 0 ? -1 : a > b ? a : b;
}

/* Rank from's outcome into rr: the worst outcome and its reason, the
 * latest end, the late frames added up. */
static void take_outcome(rn_run_result *rr, uint32_t from, gint32 r, gint32 stopped_by,
                         const char *error, guint64 end_ns, guint64 late)
{
    /* The reason of the rank whose failure ended the run wins over what
     * the others say of it ("rank K failed, which ended the run ..."). */
    if (r < 0 && (rr->r >= 0 || stopped_by == (gint32)from)) {
        snprintf(rr->error, sizeof(rr->error), "%s", error);
    }
    rr->r = worse(rr->r, r);
    rr->end_ns = end_ns > rr->end_ns ? end_ns : rr->end_ns;
    rr->late_frames += late;
}

/* The stats of rank from's guests into rr, their consoles in dir; 0 when
 * every one is a guest that rank runs, else -1 after a line for each other. */
static int take_guests(const rn_settings *set, rn_run_result *rr, const char *dir, uint32_t from,
                       GVariantIter *guests)
{
    int ok = 1;
    gint32 i, done, ended, exit_status, command_status;
    guint64 grounds, from_guest, to_guest, unopened;
    gint64 started, clock;
    const char *gerror, *console, *key, *stream_sha, *ram_sha, *disk_sha;
    GVariantIter *nics;
    while (g_variant_iter_next(guests, "(ittttxxiiii&s&sa(ut)&s&s&s&s)", &i, &grounds, &from_guest,
                               &to_guest, &unopened, &started, &clock, &done, &ended, &exit_status,
                               &command_status, &gerror, &console, &nics, &key, &stream_sha,
                               &ram_sha, &disk_sha)) {
        if (i < 0 || i >= rr->guest_count || set->guests[i].rank != from) {
            rn_error("rank %u sent the figures of a guest it does not run (%d)", from, i);
            g_variant_iter_free(nics);
            ok = 0;
            continue;
        }
        qns_guest_stats *st = &rr->guests[i];
        *st = (qns_guest_stats){.rounds = grounds,
                                .frames_from_guest = from_guest,
                                .frames_to_guest = to_guest,
                                .frames_unopened = unopened,
                                .nic_started_us = started,
                                .clock_us = clock,
                                .done = done,
                                .ended = ended,
                                .exit_status = exit_status,
                                .command_status = command_status};
        guint32 mtu;
        guint64 too_long;
        while (st->nic_count < QNS_MAX_NICS && g_variant_iter_next(nics, "(ut)", &mtu, &too_long)) {
            st->nics[st->nic_count++] = (qns_nic_stats){.mtu = mtu, .frames_too_long = too_long};
            st->frames_too_long += too_long;
        }
        g_variant_iter_free(nics);
        snprintf(st->error, sizeof(st->error), "%s", gerror);
        snprintf(st->console_path, sizeof(st->console_path), "%s/%s", dir, console);
        snprintf(st->snapshot_key, sizeof(st->snapshot_key), "%s", key);
        snprintf(st->snapshot_stream_sha256, sizeof(st->snapshot_stream_sha256), "%s", stream_sha);
        snprintf(st->snapshot_ram_sha256, sizeof(st->snapshot_ram_sha256), "%s", ram_sha);
        snprintf(st->snapshot_disk_sha256, sizeof(st->snapshot_disk_sha256), "%s", disk_sha);
    }
    return ok ? 0 : -1;
}

/* The bytes of rank from's applications into rr (others' are ignored). */
static void take_apps(const rn_settings *set, rn_run_result *rr, uint32_t from, GVariantIter *apps)
{
    gint32 i;
    guint64 rx;
    while (g_variant_iter_next(apps, "(it)", &i, &rx)) {
        if (i >= 0 && i < rr->app_count && set->apps[i].rank == from) {
            rr->app_rx_bytes[i] = rx;
        }
    }
}

/* Rank from's files written into dir; 0, or -1 after a line for each that
 * is no file of a run folder, another rank wrote too, or cannot be written. */
static int take_files(const char *dir, uint32_t from, GVariantIter *files)
{
    int ok = 1;
    const char *name;
    GVariant *bytes;
    while (g_variant_iter_next(files, "(&s@ay)", &name, &bytes)) {
        char *path = g_build_filename(dir, name, NULL);
        gsize len = 0;
        const char *data = g_variant_get_fixed_array(bytes, &len, 1);
        GError *ge = NULL;
        if (strchr(name, '/') != NULL || name[0] == '.' || g_file_test(path, G_FILE_TEST_EXISTS)) {
            rn_error("rank %u wrote %s, which %s", from, name,
                     g_file_test(path, G_FILE_TEST_EXISTS) ? "another rank wrote too"
                                                           : "is no file of a run folder");
            ok = 0;
        } else if (!g_file_set_contents(path, data ? data : "", (gssize)len, &ge)) {
            rn_error("cannot write rank %u's %s: %s", from, path, ge->message);
            g_error_free(ge);
            ok = 0;
        }
        g_free(path);
        g_variant_unref(bytes);
    }
    return ok ? 0 : -1;
}

static int take(const rn_settings *set, rn_run_result *rr, const char *dir, uint32_t from,
                GVariant *msg, rn_rank_figures *fig)
{
    if (!g_variant_is_normal_form(msg)) {
        rn_error("rank %u sent a malformed message of %zu bytes", from, g_variant_get_size(msg));
        return -1;
    }
    gint32 r, stopped_by;
    const char *error;
    guint64 end_ns, rounds, late;
    double wall;
    GVariantIter *guests, *apps, *files;
    g_variant_get(msg, "(ii&sttdta" RANK_GUEST "a(it)a(say))", &r, &stopped_by, &error, &end_ns,
                  &rounds, &wall, &late, &guests, &apps, &files);
    *fig =
        (rn_rank_figures){.end_ns = end_ns, .rounds = rounds, .late_frames = late, .wall_s = wall};
    take_outcome(rr, from, r, stopped_by, error, end_ns, late);
    int ok = take_guests(set, rr, dir, from, guests) == 0;
    take_apps(set, rr, from, apps);
    ok &= take_files(dir, from, files) == 0;
    g_variant_iter_free(guests);
    g_variant_iter_free(apps);
    g_variant_iter_free(files);
    return ok ? 0 : -1;
}

int rn_rank_take(const rn_settings *set, rn_run_result *rr, const char *dir, uint32_t from,
                 GBytes *bytes, rn_rank_figures *figure)
{
    GVariant *msg =
        g_variant_ref_sink(g_variant_new_from_bytes(G_VARIANT_TYPE(RANK_MSG), bytes, FALSE));
    int r = take(set, rr, dir, from, msg, figure);
    g_variant_unref(msg);
    return r;
}

int rn_rank_gather(const rn_settings *set, rn_run_result *rr, const char *dir, uint32_t ranks,
                   rn_rank_figures *figures)
{
    figures[0] = (rn_rank_figures){.end_ns = rr->end_ns,
                                   .rounds = rr->rounds,
                                   .late_frames = rr->late_frames,
                                   .wall_s = rr->wall_s};
    int ok = 1;
    for (uint32_t k = 1; k < ranks; k++) {
        void *data = NULL;
        size_t len = 0;
        char e[QNS_ERRBUF_SIZE];
        if (qns_ranks_recv(k, &data, &len, e) < 0) {
            rn_error("%s", e);
            ok = 0;
            continue;
        }
        GBytes *b = g_bytes_new_take(data, len);
        if (rn_rank_take(set, rr, dir, k, b, &figures[k]) < 0) {
            ok = 0;
        }
        g_bytes_unref(b);
    }
    return ok ? 0 : -1;
}
