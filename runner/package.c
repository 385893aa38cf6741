/*
 * package.c - `qns pack` makes one archive of a run folder.
 */
#define _GNU_SOURCE
#include "environment.h"
#include "runner.h"

#include <stdio.h>
#include <string.h>

static char *readme_text(const char *leaf, const rn_manifest *m)
{
    JsonObject *scen = json_object_get_object_member(m->root, "scenario");
    const char *name = rn_json_string(scen, "name");
    const char *base = rn_json_string(scen, "base_dir");
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
    rn_manifest m;
    if (rn_manifest_load(dir, &m) < 0) {
        g_free(dir);
        return RN_EXIT_USAGE;
    }
    char *parent = g_path_get_dirname(dir), *leaf = g_path_get_basename(dir);
    char *readme = g_build_filename(dir, "README.txt", NULL);
    char *text = readme_text(leaf, &m);
    GError *ge = NULL;
    int status = RN_EXIT_OK;
    if (!g_file_set_contents(readme, text, -1, &ge)) {
        fprintf(stderr, "qns: cannot write %s: %s\n", readme, ge->message);
        g_clear_error(&ge);
        status = RN_EXIT_FAIL;
    }
    char *tarball = g_strdup_printf("%s.tar.gz", dir);
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    const char *fixed[] = {"tar",        "--sort=name", "--owner=0", "--group=0", "--numeric-owner",
                           "--mtime=@0", "-I",          "gzip -n",   "-cf",       NULL};
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
