/*
 * verify.c - `qns verify` compares the environment with the manifest, re-runs
 * the scenario recorded in a run folder and compares every output's SHA-256
 * with the manifest. Wall time and statistics are not compared: only the
 * files, which the single virtual clock makes byte-identical. Packages:
 * package.c.
 */
#define _GNU_SOURCE
#include "environment.h"
#include "runner.h"

#include <errno.h>
#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The guest image folder the re-run of DIR's scenario boots: the one its
 * [scenario] guest_image names, else the packed or the default one. */
static char *rerun_guest_dir(const char *dir, const rn_places *places)
{
    char *copy = g_build_filename(dir, RN_SCENARIO_COPY, NULL);
    GKeyFile *kf = g_key_file_new();
    gsize len = 0;
    char *why = NULL, *text = rn_read_plain_file(copy, RN_SCENARIO_MAX_BYTES, &len, &why);
    char *key = text && g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, NULL)
                    ? g_key_file_get_string(kf, "scenario", "guest_image", NULL)
                    : NULL;
    g_free(text);
    g_free(why);
    char found[4096], e[QNS_ERRBUF_SIZE];
    char *guest =
        key && qns_guest_image_dir(g_strstrip(key), places->guest_dir, found, sizeof(found), e) == 0
            ? g_strdup(found)
        : places->guest_dir ? g_strdup(places->guest_dir)
                            : g_strdup(rn_default_guest_dir());
    g_free(key);
    g_key_file_free(kf);
    g_free(copy);
    return guest;
}

/* The SHA-256 of every input the manifest names. */
static GHashTable *known_inputs(JsonObject *root)
{
    GHashTable *known = g_hash_table_new(g_str_hash, g_str_equal);
    JsonObject *in = rn_json_object(root, "inputs");
    GList *members = in ? json_object_get_members(in) : NULL;
    for (GList *l = members; l; l = l->next) {
        const char *sum = rn_json_string(in, l->data);
        if (sum) {
            g_hash_table_add(known, (gpointer)sum);
        }
    }
    g_list_free(members);
    return known;
}

/* 0 when the manifest's run completed; else -1 after saying so. */
static int check_completed(const char *dir, const rn_manifest *m)
{
    const char *status = rn_json_string(m->root, "status");
    if (status && strcmp(status, "completed") != 0) {
        rn_error("the run in %s did not complete (%s); its outputs depend on when it stopped, so "
                 "there is nothing to verify",
                 dir, status);
        return -1;
    }
    return 0;
}

/* What differs between the manifest's environment and this one (NULL:
 * nothing), said. */
static char *say_environment(const char *dir, const rn_manifest *m, const char *packed_base,
                             const rn_places *places)
{
    char *guest_dir = rerun_guest_dir(dir, places);
    char *env_diff = rn_env_differences(m->root, places->qemu ? places->qemu : rn_default_qemu(),
                                        guest_dir, packed_base == NULL);
    g_free(guest_dir);
    if (env_diff) {
        rn_say("verify: the environment differs from the manifest: %s", env_diff);
    } else {
        rn_say("verify: the environment matches the manifest");
    }
    return env_diff;
}

/* 0 when the scenario copy at copy has the manifest's SHA-256; else -1
 * after saying so. */
static int check_copy(const char *copy, const rn_manifest *m)
{
    char *why = NULL, *copy_sum = rn_file_sha256(copy, &why);
    const char *want_copy = rn_json_string(rn_json_object(m->root, "scenario"), "sha256");
    int r = 0;
    if (copy_sum == NULL || want_copy == NULL || strcmp(copy_sum, want_copy) != 0) {
        rn_error("%s does not match the manifest%s%s", copy, why ? ": " : "", why ? why : "");
        r = -1;
    }
    g_free(why);
    g_free(copy_sum);
    return r;
}

/* Where the re-run goes: out_dir, else a new DIR/verify-TIMESTAMP[-N]. */
static char *rerun_dir(const char *dir, const char *out_dir)
{
    if (out_dir) {
        return g_strdup(out_dir);
    }
    char *ts = rn_timestamp(), *new_dir = NULL;
    /* Two verifies within a second get their own folders. */
    for (int k = 1; new_dir == NULL || g_file_test(new_dir, G_FILE_TEST_EXISTS); k++) {
        char *leaf =
            k == 1 ? g_strdup_printf("verify-%s", ts) : g_strdup_printf("verify-%s-%d", ts, k);
        g_free(new_dir);
        new_dir = g_build_filename(dir, leaf, NULL);
        g_free(leaf);
    }
    g_free(ts);
    return new_dir;
}

/* Runs the scenario copy again into new_dir, its relative paths against
 * the packed inputs, else the manifest's base folder when it is there,
 * else dir. The exit status of the run. */
static int rerun(const char *dir, const rn_manifest *m, const char *copy, const char *new_dir,
                 const char *packed_base, const rn_places *places, int trust_package)
{
    const char *base = rn_json_string(rn_json_object(m->root, "scenario"), "base_dir");
    GHashTable *known = known_inputs(m->root);
    rn_run_options opt = {.scenario_path = copy,
                          .out_dir = new_dir,
                          .places = *places,
                          .verifying = 1,
                          .trust_programs = trust_package,
                          .known_inputs = known,
                          .base_dir = packed_base                                     ? packed_base
                                      : base && g_file_test(base, G_FILE_TEST_IS_DIR) ? base
                                                                                      : dir};
    int status = rn_run(&opt);
    g_hash_table_destroy(known);
    g_free(opt.out_dir_used);
    return status;
}

/* Every file of the manifest, and every file the re-run wrote (rerun). */
static GPtrArray *files_to_compare(const rn_manifest *m, GPtrArray *rerun)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    GList *members = json_object_get_members(m->outputs);
    for (GList *l = members; l; l = l->next) {
        g_ptr_array_add(names, g_strdup(l->data));
    }
    g_list_free(members);
    for (guint i = 0; i < rerun->len; i++) {
        if (!json_object_has_member(m->outputs, g_ptr_array_index(rerun, i))) {
            g_ptr_array_add(names, g_strdup(g_ptr_array_index(rerun, i)));
        }
    }
    return names;
}

/* Output f compared: the manifest's SHA-256, the re-run's and the folder's,
 * one table row said. Whether all three match. */
static int compare_file(const rn_manifest *m, const char *dir, const char *new_dir, const char *f)
{
    const char *want = rn_json_string(m->outputs, f);
    char *p_new = g_build_filename(new_dir, f, NULL), *p_old = g_build_filename(dir, f, NULL);
    char *w1 = NULL, *w2 = NULL;
    char *got = rn_plain_file_sha256(p_new, &w1), *kept = rn_plain_file_sha256(p_old, &w2);
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
    /* The manifest's names and hashes may be a stranger's: rn_say escapes them. */
    rn_say("%-28s %-16s  %-16s  %-16s  %s", f, short_hash(want), short_hash(got), short_hash(kept),
           result);
    int match = strcmp(result, "match") == 0;
    g_free(got);
    g_free(kept);
    g_free(w1);
    g_free(w2);
    g_free(p_new);
    g_free(p_old);
    return match;
}

/* The table of every output; the names that differ into bad, *count the
 * files compared. The number that differ. */
static int compare_outputs(const rn_manifest *m, const char *dir, const char *new_dir, GString *bad,
                           guint *count)
{
    GPtrArray *rerun = rn_list_files(new_dir, rn_not_outputs);
    GPtrArray *names = files_to_compare(m, rerun);
    printf("\n");
    rn_say("%-28s %-16s  %-16s  %-16s  %s", "file", "expected", "got (re-run)", "kept in folder",
           "result");
    int failures = 0;
    for (guint i = 0; i < names->len; i++) {
        const char *f = g_ptr_array_index(names, i);
        if (!compare_file(m, dir, new_dir, f)) {
            failures++;
            g_string_append_printf(bad, "%s%s", bad->len ? ", " : "", f);
        }
    }
    *count = names->len;
    g_ptr_array_free(names, TRUE);
    g_ptr_array_free(rerun, TRUE);
    return failures;
}

/* The last line: OK, or FAILED with what differs; the exit status. */
static int say_verdict(int failures, guint count, const GString *bad, const char *env_diff,
                       int run_status, const char *new_dir)
{
    if (failures) {
        rn_say("verify: FAILED: %d of %u files differ: %s%s%s", failures, count, bad->str,
               env_diff ? "; the environment differs: " : "", env_diff ? env_diff : "");
        return RN_EXIT_FAIL;
    }
    if (run_status != RN_EXIT_OK) {
        /* The files matched, but the re-run failed (its error is above):
         * a failure is never a success. */
        printf("verify: FAILED: the re-run failed, although all %u files match (re-run in %s/)\n",
               count, new_dir);
        return RN_EXIT_FAIL;
    }
    rn_say("verify: OK: all %u files match (re-run in %s/)%s%s", count, new_dir,
           env_diff ? ", although the environment differs: " : "", env_diff ? env_diff : "");
    return RN_EXIT_OK;
}

/* How each guest of the manifest booted, by name: its "boot" ("cold" in
 * manifests from before snapshots, which have none). */
static GHashTable *manifest_boots(JsonObject *root)
{
    GHashTable *boots = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (guint i = 0; i < rn_manifest_guest_count(root); i++) {
        JsonObject *g = rn_manifest_guest(root, i);
        const char *name = g ? rn_json_string(g, "name") : NULL;
        const char *boot = g ? rn_json_string(g, "boot") : NULL;
        if (name) {
            g_hash_table_replace(boots, g_strdup(name), g_strdup(boot ? boot : "cold"));
        }
    }
    return boots;
}

/* The manifest checked, the run again, its outputs compared: the exit
 * status (m: loaded from dir). */
static int verify_manifest(const char *dir, const rn_manifest *m, const char *out_dir,
                           int trust_package)
{
    char *packed_base = NULL; /* the packed inputs, when there are */
    rn_places places = {0};   /* the packed QEMU and guest image, when there are */
    if (rn_package_prepare(dir, m->root, trust_package, &packed_base, &places) < 0) {
        return RN_EXIT_FAIL;
    }
    places.boots = manifest_boots(m->root);
    char *env_diff = say_environment(dir, m, packed_base, &places);
    char *copy = g_build_filename(dir, RN_SCENARIO_COPY, NULL);
    int copy_bad = check_copy(copy, m) < 0;
    char *new_dir = rerun_dir(dir, out_dir);
    int run_status =
        copy_bad ? RN_EXIT_FAIL : rerun(dir, m, copy, new_dir, packed_base, &places, trust_package);
    int status;
    if (copy_bad || (run_status != RN_EXIT_OK && run_status != RN_EXIT_FAIL)) {
        status = run_status == RN_EXIT_USAGE ? RN_EXIT_USAGE : RN_EXIT_FAIL;
    } else {
        GString *bad = g_string_new(NULL);
        guint count = 0;
        int failures = compare_outputs(m, dir, new_dir, bad, &count);
        status = say_verdict(failures, count, bad, env_diff, run_status, new_dir);
        g_string_free(bad, TRUE);
    }
    g_free(env_diff);
    g_free(packed_base);
    g_free((char *)places.qemu);
    g_free((char *)places.guest_dir);
    g_free((char *)places.snapshot_dir);
    g_hash_table_destroy(places.boots);
    g_free(copy);
    g_free(new_dir);
    return status;
}

static int verify_folder(const char *dir, const char *out_dir, int trust_package)
{
    rn_manifest m;
    if (rn_manifest_load(dir, &m) < 0) {
        return RN_EXIT_USAGE;
    }
    int status = check_completed(dir, &m) < 0 ? RN_EXIT_USAGE
                                              : verify_manifest(dir, &m, out_dir, trust_package);
    g_object_unref(m.parser);
    return status;
}

int rn_verify(const char *arg, const char *out_dir, int trust_package)
{
    if (rn_is_symlink(arg)) {
        rn_error("%s is a symbolic link; give the run folder or package itself", arg);
        return RN_EXIT_USAGE;
    }
    if (!g_file_test(arg, G_FILE_TEST_IS_REGULAR)) {
        return verify_folder(arg, out_dir, trust_package);
    }
    char *dir = rn_package_unpack(arg); /* a package from qns pack */
    int status = dir ? verify_folder(dir, out_dir, trust_package) : RN_EXIT_USAGE;
    g_free(dir);
    return status;
}
