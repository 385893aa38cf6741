/*
 * verify.c - `qns verify` re-runs the scenario recorded in a run folder and
 * compares every output's SHA-256 with the manifest; `qns pack` makes one
 * tarball of a run folder. Wall time and statistics are not compared: only
 * the files, which the single virtual clock makes byte-identical.
 */
#define _GNU_SOURCE
#include "runner.h"

#include <errno.h>
#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct manifest {
    JsonParser *parser;
    JsonObject *root;
    JsonObject *outputs;
} manifest;

static int manifest_load(const char *dir, manifest *m)
{
    char *path = g_build_filename(dir, RN_MANIFEST, NULL);
    GError *ge = NULL;
    m->parser = json_parser_new();
    int ok = json_parser_load_from_file(m->parser, path, &ge);
    if (!ok) {
        rn_error("cannot read %s: %s", path, ge->message);
        g_error_free(ge);
    } else {
        JsonNode *root = json_parser_get_root(m->parser);
        m->root = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
        m->outputs = m->root && json_object_has_member(m->root, "outputs")
                         ? json_object_get_object_member(m->root, "outputs")
                         : NULL;
        if (m->outputs == NULL) {
            rn_error("%s is not a qns manifest (no outputs)", path);
            ok = 0;
        }
    }
    g_free(path);
    if (!ok) {
        g_object_unref(m->parser);
    }
    return ok ? 0 : -1;
}

static const char *object_string(JsonObject *o, const char *member)
{
    if (o == NULL || !json_object_has_member(o, member)) {
        return NULL;
    }
    JsonNode *n = json_object_get_member(o, member);
    return JSON_NODE_HOLDS_VALUE(n) ? json_node_get_string(n) : NULL;
}

static const char *short_hash(const char *h)
{
    static char buf[4][20];
    static int k;
    k = (k + 1) % 4;
    if (h == NULL) {
        return "-";
    }
    snprintf(buf[k], sizeof(buf[k]), "%.16s", h);
    return buf[k];
}

int rn_verify(const char *dir, const char *out_dir)
{
    manifest m;
    if (manifest_load(dir, &m) < 0) {
        return RN_EXIT_USAGE;
    }
    const char *status = object_string(m.root, "status");
    if (status && strcmp(status, "completed") != 0) {
        rn_error("the run in %s did not complete (%s); its outputs depend on when it stopped, so "
                 "there is nothing to verify",
                 dir, status);
        g_object_unref(m.parser);
        return RN_EXIT_USAGE;
    }
    JsonObject *scen = json_object_get_object_member(m.root, "scenario");
    const char *base = object_string(scen, "base_dir");
    char *copy = g_build_filename(dir, RN_SCENARIO_COPY, NULL);
    char *why = NULL, *copy_sum = rn_file_sha256(copy, &why);
    const char *want_copy = object_string(scen, "sha256");
    int failures = 0;
    if (copy_sum == NULL || want_copy == NULL || strcmp(copy_sum, want_copy) != 0) {
        rn_error("%s does not match the manifest%s%s", copy, why ? ": " : "", why ? why : "");
        failures++;
    }
    g_free(why);

    char *new_dir;
    if (out_dir) {
        new_dir = g_strdup(out_dir);
    } else {
        char *ts = rn_timestamp();
        new_dir = NULL;
        /* Two verifies within a second get their own folders. */
        for (int k = 1; new_dir == NULL || g_file_test(new_dir, G_FILE_TEST_EXISTS); k++) {
            char *leaf = k == 1 ? g_strdup_printf("verify-%s", ts)
                                : g_strdup_printf("verify-%s-%d", ts, k);
            g_free(new_dir);
            new_dir = g_build_filename(dir, leaf, NULL);
            g_free(leaf);
        }
        g_free(ts);
    }
    rn_run_options opt = {.scenario_path = copy,
                          .out_dir = new_dir,
                          .base_dir = base && g_file_test(base, G_FILE_TEST_IS_DIR) ? base : dir};
    int run_status = failures ? RN_EXIT_FAIL : rn_run(&opt);
    g_free(opt.out_dir_used);
    if (failures || (run_status != RN_EXIT_OK && run_status != RN_EXIT_FAIL)) {
        g_free(copy_sum);
        g_free(copy);
        g_free(new_dir);
        g_object_unref(m.parser);
        return run_status == RN_EXIT_USAGE ? RN_EXIT_USAGE : RN_EXIT_FAIL;
    }

    /* Every file of the manifest, and every file the re-run wrote. */
    GPtrArray *rerun = rn_list_files(new_dir, rn_not_outputs);
    GPtrArray *names = g_ptr_array_new();
    GList *members = json_object_get_members(m.outputs);
    for (GList *l = members; l; l = l->next) {
        g_ptr_array_add(names, l->data);
    }
    for (guint i = 0; i < rerun->len; i++) {
        if (!json_object_has_member(m.outputs, g_ptr_array_index(rerun, i))) {
            g_ptr_array_add(names, g_ptr_array_index(rerun, i));
        }
    }
    printf("\n%-28s %-16s  %-16s  %-16s  %s\n", "file", "expected", "got (re-run)",
           "kept in folder", "result");
    GString *bad = g_string_new(NULL);
    for (guint i = 0; i < names->len; i++) {
        const char *f = g_ptr_array_index(names, i);
        const char *want = object_string(m.outputs, f);
        char *p_new = g_build_filename(new_dir, f, NULL), *p_old = g_build_filename(dir, f, NULL);
        char *w1 = NULL, *w2 = NULL;
        char *got = rn_file_sha256(p_new, &w1), *kept = rn_file_sha256(p_old, &w2);
        const char *result;
        if (want == NULL) {
            result = "MISMATCH (not in the manifest)";
        } else if (got == NULL) {
            result = "missing (not written by the re-run)";
        } else if (kept == NULL) {
            result = "missing (not in the folder)";
        } else if (strcmp(want, got) != 0) {
            result = "MISMATCH";
        } else if (strcmp(want, kept) != 0) {
            result = "MISMATCH (folder copy changed)";
        } else {
            result = "match";
        }
        if (strcmp(result, "match") != 0) {
            failures++;
            g_string_append_printf(bad, "%s%s", bad->len ? ", " : "", f);
        }
        printf("%-28s %-16s  %-16s  %-16s  %s\n", f, short_hash(want), short_hash(got),
               short_hash(kept), result);
        g_free(got);
        g_free(kept);
        g_free(w1);
        g_free(w2);
        g_free(p_new);
        g_free(p_old);
    }
    if (failures) {
        printf("verify: FAILED: %d of %u files differ: %s\n", failures, names->len, bad->str);
    } else {
        printf("verify: OK: all %u files match (re-run in %s/)\n", names->len, new_dir);
    }
    g_string_free(bad, TRUE);
    g_list_free(members);
    g_ptr_array_free(names, TRUE);
    g_ptr_array_free(rerun, TRUE);
    g_free(copy_sum);
    g_free(copy);
    g_free(new_dir);
    g_object_unref(m.parser);
    return failures ? RN_EXIT_FAIL : RN_EXIT_OK;
}

static char *readme_text(const char *leaf, const manifest *m)
{
    JsonObject *scen = json_object_get_object_member(m->root, "scenario");
    const char *name = object_string(scen, "name");
    const char *base = object_string(scen, "base_dir");
    GString *s = g_string_new(NULL);
    g_string_append_printf(s,
                           "qns run of scenario %s, packed by qns pack (qns %s)\n\n"
                           "  scenario.ini    the scenario file that was run\n"
                           "  manifest.json   versions, seed, quantum, statistics and the\n"
                           "                  SHA-256 of every output file\n"
                           "  everything else the outputs: pcaps, guest consoles\n\n"
                           "Re-run it and check that every output is byte-identical:\n\n"
                           "  tar xzf %s.tar.gz\n"
                           "  qns verify %s\n\n"
                           "verify runs %s/scenario.ini again into %s/verify-TIMESTAMP/ and\n"
                           "prints one line per output file: expected hash, re-run hash,\n"
                           "match or MISMATCH; it exits 0 only when every file matches.\n\n"
                           "Run it again into a folder of your choice:\n\n"
                           "  qns run %s/scenario.ini -o NEWDIR\n\n"
                           "Relative kernel, initrd and disk paths in scenario.ini were\n"
                           "resolved against %s; those files are not in this archive\n"
                           "(their SHA-256 are in manifest.json under \"inputs\").\n"
                           "Flows, RTTs and plots: qns report %s\n",
                           name ? name : leaf, QNS_VERSION, leaf, leaf, leaf, leaf, leaf,
                           base ? base : "the scenario's folder", leaf);
    return g_string_free(s, FALSE);
}

int rn_pack(const char *dir_arg)
{
    char *dir = g_strdup(dir_arg);
    while (strlen(dir) > 1 && g_str_has_suffix(dir, "/")) {
        dir[strlen(dir) - 1] = '\0';
    }
    manifest m;
    if (manifest_load(dir, &m) < 0) {
        g_free(dir);
        return RN_EXIT_USAGE;
    }
    char *parent = g_path_get_dirname(dir), *leaf = g_path_get_basename(dir);
    char *readme = g_build_filename(dir, "README.txt", NULL);
    char *text = readme_text(leaf, &m);
    GError *ge = NULL;
    int status = RN_EXIT_OK;
    if (!g_file_set_contents(readme, text, -1, &ge)) {
        rn_error("cannot write %s: %s", readme, ge->message);
        g_clear_error(&ge);
        status = RN_EXIT_FAIL;
    }
    char *tarball = g_strdup_printf("%s.tar.gz", dir);
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    const char *fixed[] = {"tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner",
                           "--mtime=@0", "-I", "gzip -n", "-cf", NULL};
    for (int i = 0; fixed[i]; i++) {
        g_ptr_array_add(argv, g_strdup(fixed[i]));
    }
    g_ptr_array_add(argv, g_strdup(tarball));
    g_ptr_array_add(argv, g_strdup("-C"));
    g_ptr_array_add(argv, g_strdup(parent));
    const char *own_files[] = {"README.txt", RN_MANIFEST, RN_SCENARIO_COPY, NULL};
    for (int i = 0; own_files[i]; i++) {
        g_ptr_array_add(argv, g_build_filename(leaf, own_files[i], NULL));
    }
    GList *members = json_object_get_members(m.outputs);
    int n = 3;
    for (GList *l = members; l; l = l->next, n++) {
        g_ptr_array_add(argv, g_build_filename(leaf, (const char *)l->data, NULL));
    }
    g_list_free(members);
    g_ptr_array_add(argv, NULL);
    int wait_status = 0;
    char *err_out = NULL;
    if (status == RN_EXIT_OK &&
        (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                       &err_out, &wait_status, &ge) ||
         !g_spawn_check_wait_status(wait_status, &ge))) {
        fprintf(stderr, "qns: tar failed: %s%s%s", ge->message, err_out ? "\n" : "",
                err_out ? err_out : "");
        g_clear_error(&ge);
        status = RN_EXIT_FAIL;
    }
    if (status == RN_EXIT_OK) {
        printf("qns: packed %d files of %s into %s\n", n, dir, tarball);
        printf("qns: to check it elsewhere: tar xzf %s.tar.gz && qns verify %s\n", leaf, leaf);
    }
    g_free(err_out);
    g_ptr_array_free(argv, TRUE);
    g_free(tarball);
    g_free(text);
    g_free(readme);
    g_free(parent);
    g_free(leaf);
    g_free(dir);
    g_object_unref(m.parser);
    return status;
}
