/*
 * manifest_write.c - a run's manifest.json, written once the run is over
 * (an interrupted or failed one too): versions, the scenario and its
 * settings, the outcome, what the guests booted from, each guest's and
 * application's figures, and the SHA-256 of every output file. Read back
 * by manifest_read.c.
 */
#include "environment.h"
#include "manifest.h"
#include "runner.h"

static void add_u64(JsonBuilder *b, const char *name, uint64_t v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, (gint64)v);
}

static void add_double(JsonBuilder *b, const char *name, double v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_double_value(b, v);
}

static void add_bool(JsonBuilder *b, const char *name, int v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_boolean_value(b, v != 0);
}

static void add_int(JsonBuilder *b, const char *name, int64_t v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, v);
}

JsonNode *rn_manifest_boot_inputs(const rn_settings *set)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    if (set->uses_qemu) {
        rn_env_add_qemu(b, set->qemu);
    }
    if (set->uses_default_guest) {
        rn_env_add_guest_image(b, set->guest_dir);
    }
    json_builder_set_member_name(b, "inputs");
    json_builder_begin_object(b);
    for (const char *const *in = set->input_files; *in; in++) {
        rn_json_add_remembered_sha256(b, *in, *in);
    }
    json_builder_end_object(b);
    json_builder_end_object(b);
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

/* "scenario": its name, the copy in dir with its SHA-256, where it came
 * from and the folder its relative paths resolve against. */
static void add_scenario(JsonBuilder *b, const char *dir, const rn_settings *set,
                         const char *source)
{
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
}

/* The [scenario] settings that decide the outputs. */
static void add_settings(JsonBuilder *b, const rn_settings *set)
{
    add_u64(b, "seed", set->seed);
    add_u64(b, "quantum_us", set->quantum_us);
    add_u64(b, "spin_us", set->spin_us);
    add_bool(b, "pin", set->pin);
    rn_json_add_string(b, "round_mode", set->fixed_rounds ? "fixed" : "adaptive");
    add_u64(b, "duration_ns", set->duration_ns);
    add_u64(b, "watchdog_ms", set->watchdog_effective_ms);
}

static void add_outcome(JsonBuilder *b, const rn_run_result *rr)
{
    rn_json_add_string(b, "status",
                       rr->r == 0   ? "completed"
                       : rr->r == 1 ? "interrupted"
                                    : "failed");
    rn_json_add_string(b, "error", rr->r < 0 ? rr->error : NULL);
    add_u64(b, "end_ns", rr->end_ns);
    add_double(b, "wall_s", rr->wall_s);
    add_u64(b, "rounds", rr->rounds);
    add_u64(b, "late_frames", rr->late_frames);
}

/* "ranks": each rank's own figures (rounds and wall time are its own). */
static void add_rank_figures(JsonBuilder *b, uint32_t ranks, const rn_rank_figures *figures)
{
    json_builder_set_member_name(b, "ranks");
    json_builder_begin_array(b);
    for (uint32_t k = 0; k < ranks; k++) {
        json_builder_begin_object(b);
        add_u64(b, "rank", k);
        add_u64(b, "end_ns", figures[k].end_ns);
        add_double(b, "wall_s", figures[k].wall_s);
        add_u64(b, "rounds", figures[k].rounds);
        add_u64(b, "late_frames", figures[k].late_frames);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}

/* Every member of the object node, copied. */
static void add_members_of(JsonBuilder *b, JsonNode *node)
{
    JsonObject *o = json_node_get_object(node);
    GList *names = json_object_get_members(o);
    for (GList *l = names; l; l = l->next) {
        json_builder_set_member_name(b, l->data);
        json_builder_add_value(b, json_node_copy(json_object_get_member(o, l->data)));
    }
    g_list_free(names);
}

static void add_strv(JsonBuilder *b, const char *name, const char *const *v)
{
    json_builder_set_member_name(b, name);
    json_builder_begin_array(b);
    for (; *v; v++) {
        json_builder_add_string_value(b, *v);
    }
    json_builder_end_array(b);
}

static void add_guest_nics(JsonBuilder *b, const qns_guest_stats *st)
{
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
}

/* How guest st ended: powered off, its command's status, its error, its
 * console file. */
static void add_guest_end(JsonBuilder *b, const qns_guest_stats *st)
{
    add_bool(b, "powered_off", st->done);
    add_bool(b, "ended", st->ended);
    add_int(b, "exit_status", st->exit_status);
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
}

static void add_guest(JsonBuilder *b, const rn_guest_settings *g, const qns_guest_stats *st,
                      uint32_t ranks)
{
    json_builder_begin_object(b);
    rn_json_add_string(b, "name", g->name);
    if (g->files) {
        add_strv(b, "files", g->files);
    }
    if (ranks > 1) {
        add_u64(b, "rank", g->rank);
    }
    rn_json_add_string(b, "boot", st->snapshot_key[0] ? "snapshot" : "cold");
    if (st->snapshot_key[0]) {
        rn_json_add_string(b, "snapshot", st->snapshot_key);
        rn_json_add_string(b, "snapshot_stream_sha256", st->snapshot_stream_sha256);
        rn_json_add_string(b, "snapshot_ram_sha256", st->snapshot_ram_sha256);
        if (st->snapshot_disk_sha256[0]) {
            rn_json_add_string(b, "snapshot_disk_sha256", st->snapshot_disk_sha256);
        }
    }
    add_u64(b, "rounds", st->rounds);
    add_u64(b, "frames_from_guest", st->frames_from_guest);
    add_u64(b, "frames_to_guest", st->frames_to_guest);
    add_u64(b, "frames_unopened", st->frames_unopened);
    add_u64(b, "frames_too_long", st->frames_too_long);
    add_guest_nics(b, st);
    add_int(b, "nic_started_us", st->nic_started_us);
    add_int(b, "clock_us", st->clock_us);
    add_guest_end(b, st);
    json_builder_end_object(b);
}

static void add_guests(JsonBuilder *b, const rn_settings *set, const rn_run_result *rr,
                       uint32_t ranks)
{
    json_builder_set_member_name(b, "guests");
    json_builder_begin_array(b);
    for (int i = 0; i < rr->guest_count; i++) {
        add_guest(b, &set->guests[i], &rr->guests[i], ranks);
    }
    json_builder_end_array(b);
}

/* Each node application: a packet sink with the bytes it received, a
 * sender with the bytes it may send. */
static void add_apps(JsonBuilder *b, const rn_settings *set, const rn_run_result *rr)
{
    json_builder_set_member_name(b, "apps");
    json_builder_begin_array(b);
    for (int i = 0; i < rr->app_count; i++) {
        const qns_app_config *a = &set->apps[i].cfg;
        json_builder_begin_object(b);
        rn_json_add_string(b, "node", set->apps[i].node);
        rn_json_add_string(b, "app", qns_app_kind_name(a->kind));
        rn_json_add_string(b, "protocol", a->protocol);
        rn_json_add_string(b, "remote", a->remote_ipv4);
        add_u64(b, "port", a->port);
        if (a->kind == QNS_APP_PACKET_SINK) {
            add_u64(b, "rx_bytes", rr->app_rx_bytes[i]);
        } else {
            add_u64(b, "max_bytes", a->max_bytes);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}

/* "outputs": the SHA-256 of every file of dir but the run folder's own. */
static void add_outputs(JsonBuilder *b, const char *dir)
{
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
}

/* b's object as dir/manifest.json; 0, or -1 after one line. */
static int save(JsonBuilder *b, const char *dir)
{
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
    return ok ? 0 : -1;
}

int rn_manifest_write(const char *dir, const rn_settings *set, const char *source, JsonNode *inputs,
                      const rn_run_result *rr, uint32_t ranks, const rn_rank_figures *figures)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    rn_env_add_versions(b);
    add_scenario(b, dir, set, source);
    add_settings(b, set);
    add_outcome(b, rr);
    if (ranks > 1) {
        add_rank_figures(b, ranks, figures);
    }
    add_members_of(b, inputs);
    add_guests(b, set, rr, ranks);
    add_apps(b, set, rr);
    add_outputs(b, dir);
    json_builder_end_object(b);
    int r = save(b, dir);
    g_object_unref(b);
    return r;
}
