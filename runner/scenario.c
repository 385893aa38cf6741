/*
 * scenario.c - a scenario file loaded: its text scanned, every section
 * parsed, the environment its guests need checked and the whole built
 * once through the C API, all before anything runs; then its settings
 * filled for the rest of the runner (settings.h).
 * Every mistake is reported as "FILE:LINE: what is wrong", all of them, not
 * just the first. Not here: running, manifests (run.c, manifest_write.c).
 */
#define _GNU_SOURCE
#include "scenario_parse.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

void rn_sc_err(rn_scenario *sc, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    /* Control bytes never reach the terminal, wherever they came from (the
     * path, a message of the C API); values are shortened where quoted. */
    char *file = rn_quote_path(sc->path), *text = rn_escape(msg);
    if (line > 0) {
        g_string_append_printf(sc->errors, "%s:%d: %s\n", file, line, text);
    } else {
        g_string_append_printf(sc->errors, "%s: %s\n", file, text);
    }
    sc->error_count++;
    g_free(text);
    g_free(file);
    g_free(msg);
}

/* Reports a unit parser's reason as "KEY: reason". */
void rn_sc_err_why(rn_scenario *sc, const rn_key *k, char *why)
{
    rn_sc_err(sc, k->line, "%s: %s", k->key, why);
    g_free(why);
}

char *rn_sc_own(rn_scenario *sc, char *s)
{
    g_ptr_array_add(sc->owned, s);
    return s;
}

/* User input as a message quotes it (rn_quote), owned by sc. */
const char *rn_sc_shown(rn_scenario *sc, const char *s)
{
    return rn_sc_own(sc, rn_quote(s));
}

/* A path as a message quotes it: escaped, cut only past PATH_MAX. */
const char *rn_sc_shown_path(rn_scenario *sc, const char *s)
{
    return rn_sc_own(sc, rn_quote_path(s));
}

static void check_environment(rn_scenario *sc)
{
    for (guint i = 0; i < sc->guests->len; i++) {
        rn_guest *g = g_ptr_array_index(sc->guests, i);
        if (g->cfg.program) {
            continue;
        }
        const char *qemu = sc->set.qemu;
        char *why = rn_path_problem(qemu, X_OK);
        if (why) {
            rn_sc_err(sc, g->sec->line, "guest %s needs QEMU, but '%s' %s (set QNS_QEMU)",
                      g->sec->name, rn_sc_shown_path(sc, qemu), why);
            g_free(why);
        }
        if (g->cfg.kernel == NULL) {
            char *info = g_build_filename(sc->set.guest_dir, "GUEST-INFO", NULL);
            why = rn_path_problem(info, R_OK);
            if (why) {
                rn_sc_err(sc, g->sec->line,
                          "guest %s boots the default guest, but '%s' %s (set QNS_GUEST_DIR)",
                          g->sec->name, rn_sc_shown_path(sc, info), why);
                g_free(why);
            }
            g_free(info);
        }
    }
}

void rn_scenario_free(rn_scenario *sc)
{
    if (sc == NULL) {
        return;
    }
    for (guint i = 0; i < sc->guests->len; i++) {
        rn_guest *g = g_ptr_array_index(sc->guests, i);
        if (g->file_sources) {
            g_ptr_array_free(g->file_sources, TRUE);
        }
        g_free(g);
    }
    for (guint i = 0; i < sc->nodes->len; i++) {
        rn_node *n = g_ptr_array_index(sc->nodes, i);
        g_array_free(n->servers, TRUE);
        g_array_free(n->clients, TRUE);
        g_array_free(n->routes, TRUE);
        g_array_free(n->apps, TRUE);
        g_free(n);
    }
    for (guint i = 0; i < sc->links->len; i++) {
        rn_link *l = g_ptr_array_index(sc->links, i);
        g_array_free(l->members, TRUE);
        g_free(l);
    }
    g_ptr_array_free(sc->guests, TRUE);
    g_ptr_array_free(sc->nodes, TRUE);
    g_ptr_array_free(sc->links, TRUE);
    g_ptr_array_free(sc->sections, TRUE);
    g_ptr_array_free(sc->owned, TRUE);
    g_ptr_array_free(sc->owned_strv, TRUE);
    if (sc->kf) {
        g_key_file_free(sc->kf);
    }
    g_free(sc->guest_settings);
    g_free(sc->app_settings);
    g_free(sc->text);
    g_free(sc->path);
    g_free(sc);
}

static rn_scenario *scenario_new(const char *path, const char *base_dir, GString *errors)
{
    rn_scenario *sc = g_new0(rn_scenario, 1);
    sc->path = g_strdup(path);
    sc->errors = errors;
    sc->sections = g_ptr_array_new_with_free_func(rn_section_free);
    sc->guests = g_ptr_array_new();
    sc->nodes = g_ptr_array_new();
    sc->links = g_ptr_array_new();
    sc->owned = g_ptr_array_new_with_free_func(g_free);
    sc->owned_strv = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    sc->set.quantum_us = 10;
    sc->set.seed = 1;
    char *dir = g_path_get_dirname(path);
    sc->set.base_dir = rn_sc_own(sc, g_canonicalize_filename(base_dir ? base_dir : dir, NULL));
    g_free(dir);
    return sc;
}

/* The text read and scanned, and GKeyFile's reading of it: 0, or -1 after
 * mistakes. */
static int read_and_scan(rn_scenario *sc)
{
    if (rn_sc_read_text(sc) < 0) {
        return -1;
    }
    rn_sc_scan_text(sc);
    sc->kf = g_key_file_new();
    GError *ge = NULL;
    if (sc->error_count == 0 &&
        !g_key_file_load_from_data(sc->kf, sc->text, (gsize)-1, G_KEY_FILE_NONE, &ge)) {
        rn_sc_err(sc, 0, "%s", ge->message);
        g_error_free(ge);
    }
    return sc->error_count ? -1 : 0;
}

/* Every section, links last (they name guests and nodes); then what the
 * file lacks, and the defaults that depend on the file. */
static void parse_sections(rn_scenario *sc)
{
    const rn_section *scen = NULL;
    for (guint i = 0; i < sc->sections->len; i++) {
        const rn_section *s = g_ptr_array_index(sc->sections, i);
        if (s->kind == SEC_SCENARIO) {
            scen = s;
            rn_sc_parse_scenario(sc, s);
        } else if (s->kind == SEC_GUEST) {
            rn_sc_parse_guest(sc, s);
        } else if (s->kind == SEC_NODE) {
            rn_sc_parse_node(sc, s);
        }
    }
    rn_sc_parse_links(sc);
    if (scen == NULL) {
        rn_sc_err(sc, 1, "no [scenario] section (it needs at least duration = ...)");
    } else if (sc->set.duration_ns == 0 && sc->error_count == 0) {
        rn_sc_err(sc, scen->line, "[scenario] needs duration = ..., e.g. duration = 10s");
    }
    if (sc->set.name == NULL) {
        char *b = g_path_get_basename(sc->path);
        char *dot = strrchr(b, '.');
        if (dot && dot != b) {
            *dot = '\0';
        }
        sc->set.name = rn_sc_own(sc, b);
    }
    sc->set.guest_dir = sc->guest_image_dir    ? sc->guest_image_dir
                        : sc->places.guest_dir ? sc->places.guest_dir
                                               : rn_sc_own(sc, g_strdup(rn_default_guest_dir()));
}

static void add_once(GPtrArray *a, const char *file)
{
    for (guint j = 0; j < a->len; j++) {
        if (strcmp(g_ptr_array_index(a, j), file) == 0) {
            return;
        }
    }
    g_ptr_array_add(a, g_strdup(file));
}

/* Every file the guests read (settings.h, input_files), NULL-terminated,
 * owned by sc. */
static const char *const *input_files(rn_scenario *sc)
{
    GPtrArray *a = g_ptr_array_new();
    for (guint i = 0; i < sc->guests->len; i++) {
        const rn_guest *g = g_ptr_array_index(sc->guests, i);
        guint packed = g->file_sources ? g->file_sources->len : 0;
        for (guint k = 0; k < 3 + packed; k++) {
            const char *path = k == 0   ? g->kernel_path
                               : k == 1 ? g->initrd_path
                               : k == 2 ? g->disk_path
                                        : g_ptr_array_index(g->file_sources, k - 3);
            if (path != NULL) {
                add_once(a, path);
            }
        }
        for (char **b = g->disk_backing; b && *b; b++) {
            add_once(a, *b);
        }
    }
    g_ptr_array_add(a, NULL);
    char **files = (char **)g_ptr_array_free(a, FALSE);
    g_ptr_array_add(sc->owned_strv, files);
    return (const char *const *)files;
}

static void fill_guest_settings(rn_scenario *sc)
{
    rn_settings *set = &sc->set;
    sc->guest_settings = g_new0(rn_guest_settings, sc->guests->len + 1);
    for (guint i = 0; i < sc->guests->len; i++) {
        const rn_guest *g = g_ptr_array_index(sc->guests, i);
        sc->guest_settings[i] = (rn_guest_settings){
            .name = g->sec->name,
            .rank = g->cfg.rank,
            .program = g->cfg.program ? g->cfg.program[0] : NULL,
            .extra_args = g->cfg.extra_args,
            .files = (const char *const *)g->files_given,
        };
        set->uses_qemu |= g->cfg.program == NULL;
        set->uses_default_guest |=
            g->cfg.program == NULL && (g->cfg.kernel == NULL || g->cfg.initrd == NULL);
    }
    set->guest_count = (int)sc->guests->len;
    set->guests = sc->guest_settings;
}

/* Every node's applications, in node order, as rn_scenario_build adds
 * them. */
static void fill_app_settings(rn_scenario *sc)
{
    GArray *apps = g_array_new(TRUE, TRUE, sizeof(rn_app_settings));
    for (guint i = 0; i < sc->nodes->len; i++) {
        const rn_node *n = g_ptr_array_index(sc->nodes, i);
        for (guint k = 0; k < n->apps->len; k++) {
            rn_app_settings a = {.node = n->sec->name,
                                 .rank = n->rank,
                                 .cfg = g_array_index(n->apps, rn_app, k).cfg};
            g_array_append_val(apps, a);
        }
    }
    sc->set.app_count = (int)apps->len;
    sc->app_settings = (rn_app_settings *)(void *)g_array_free(apps, FALSE);
    sc->set.apps = sc->app_settings;
}

/* The settings that follow from the sections and the build (ranks, the
 * files the API packs). */
static void fill_settings(rn_scenario *sc)
{
    rn_settings *set = &sc->set;
    set->watchdog_effective_ms = set->watchdog_ms == 0                   ? QNS_WATCHDOG_DEFAULT_MS
                                 : set->watchdog_ms == QNS_WATCHDOG_NONE ? 0
                                                                         : set->watchdog_ms;
    fill_guest_settings(sc);
    fill_app_settings(sc);
    set->input_files = input_files(sc);
}

rn_scenario *rn_scenario_load(const char *path, const char *base_dir, const rn_places *places,
                              GString *errors)
{
    rn_scenario *sc = scenario_new(path, base_dir, errors);
    if (places != NULL) {
        sc->places.qemu = places->qemu ? rn_sc_own(sc, g_strdup(places->qemu)) : NULL;
        sc->places.guest_dir =
            places->guest_dir ? rn_sc_own(sc, g_strdup(places->guest_dir)) : NULL;
        sc->places.snapshot_dir =
            places->snapshot_dir ? rn_sc_own(sc, g_strdup(places->snapshot_dir)) : NULL;
        sc->set.snapshot_dir = sc->places.snapshot_dir;
        sc->set.stop = places->stop;
        sc->set.stop_ctx = places->stop_ctx;
        sc->set.snapshot_boot = places->snapshot_boot;
        sc->places.boots = places->boots;
    }
    sc->set.qemu = sc->places.qemu ? sc->places.qemu : rn_sc_own(sc, g_strdup(rn_default_qemu()));
    if (read_and_scan(sc) < 0) {
        rn_scenario_free(sc);
        return NULL;
    }
    parse_sections(sc);
    for (guint i = 0; sc->places.boots && i < sc->guests->len; i++) {
        rn_guest *g = g_ptr_array_index(sc->guests, i);
        const char *boot = g->cfg.name ? g_hash_table_lookup(sc->places.boots, g->cfg.name) : NULL;
        g->cfg.boot = boot && strcmp(boot, "snapshot") == 0 ? QNS_BOOT_SNAPSHOT : QNS_BOOT_COLD;
    }
    if (sc->error_count == 0) {
        check_environment(sc);
    }
    if (sc->error_count == 0) {
        /* What the C API refuses, before anything runs. */
        qns_sim_config cfg = rn_settings_sim_config(&sc->set, NULL);
        qns_sim_free(rn_scenario_build(sc, &cfg, errors));
    }
    if (sc->error_count) {
        rn_scenario_free(sc);
        return NULL;
    }
    fill_settings(sc);
    return sc;
}

const rn_settings *rn_scenario_settings(const rn_scenario *sc)
{
    return &sc->set;
}
