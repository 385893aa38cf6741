/*
 * package.c - `qns pack` makes one self-contained archive of a run folder:
 * the scenario, the manifest, the outputs and every file the guests booted
 * from (the default guest image, own kernels, initrds and disks; with
 * --with-qemu also the patched QEMU and the firmware it loads). package_unpack.c
 * unpacks it (rn_package_unpack), package_check.c checks the unpacked files
 * before verify.c runs from them only (rn_package_prepare).
 *
 * Inside LEAF.tar.zst:
 *   LEAF/README.txt, manifest.json, scenario.ini, outputs
 *   LEAF/guest/       GUEST-INFO, kernel, initramfs of the default guest image
 *   LEAF/inputs/REL   own boot files, the disks' backing files and guests' files, at
 *                     their path relative to the base folder (so relative backing
 *                     names still lead to them)
 *   LEAF/qemu/        bin/qemu-system-x86_64, BUILD-INFO, share/qemu/ firmware,
 *                     run-qemu (runs it with -L share/qemu)
 *   LEAF/snapshot/KEY/ INPUTS, stream, ram of each snapshot guests were restored
 *                     from (boot = snapshot), so that verify restores them too
 */
#define _GNU_SOURCE
#include "package.h"
#include "disk_chain.h"
#include "environment.h"
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PACK_SUFFIX ".tar.zst"

const char rn_qemu_wrapper_text[] =
    "#!/bin/sh\n"
    "# Written by qns pack: the packed QEMU, with the packed firmware first on\n"
    "# its search path.\n"
    "here=$(dirname \"$0\")\n"
    "exec \"$here/bin/qemu-system-x86_64\" -L \"$here/share/qemu\" \"$@\"\n";

/* ---- small helpers ------------------------------------------------------------ */

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)st;
    (void)type;
    (void)f;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

char *rn_temp_dir(const char *in, const char *prefix)
{
    char *tmpl = g_strdup_printf("%s/%sXXXXXX", in, prefix);
    if (g_mkdtemp(tmpl) == NULL) {
        rn_error("cannot create a folder in %s: %s", in, g_strerror(errno));
        g_clear_pointer(&tmpl, g_free);
    }
    return tmpl;
}

void rn_remove_tree(const char *dir)
{
    if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT) {
        rn_error("cannot remove %s: %s", dir, g_strerror(errno));
    }
}

int rn_spawn(const char *const *argv, const char *what)
{
    GError *ge = NULL;
    char *err_out = NULL;
    int ws = 0, ok = g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                                  &err_out, &ws, &ge) &&
                     g_spawn_check_wait_status(ws, &ge);
    if (!ok) {
        g_strchomp(err_out ? err_out : (err_out = g_strdup("")));
        rn_error("%s failed: %s%s%s", what, ge->message, *err_out ? ": " : "", err_out);
        g_error_free(ge);
    }
    g_free(err_out);
    return ok ? 0 : -1;
}

/* A symlink at stage/rel to the absolute path of target, folders made. */
static int stage_link(const char *stage, const char *rel, const char *target)
{
    char *at = g_build_filename(stage, rel, NULL), *parent = g_path_get_dirname(at);
    char *abs = g_canonicalize_filename(target, NULL);
    int ok = g_mkdir_with_parents(parent, 0755) == 0 && symlink(abs, at) == 0;
    if (!ok) {
        rn_error("cannot stage %s as %s: %s", target, rel, g_strerror(errno));
    }
    g_free(abs);
    g_free(parent);
    g_free(at);
    return ok ? 0 : -1;
}

static int stage_text(const char *stage, const char *rel, const char *text, int mode)
{
    char *at = g_build_filename(stage, rel, NULL), *parent = g_path_get_dirname(at);
    GError *ge = NULL;
    int ok = g_mkdir_with_parents(parent, 0755) == 0 && g_file_set_contents(at, text, -1, &ge) &&
             chmod(at, (mode_t)mode) == 0;
    if (!ok) {
        rn_error("cannot write %s: %s", at, ge ? ge->message : g_strerror(errno));
        g_clear_error(&ge);
    }
    g_free(parent);
    g_free(at);
    return ok ? 0 : -1;
}

int rn_check_sha(const char *path, const char *want, const char *doing, const char *by)
{
    char *why = NULL, *got = rn_file_sha256(path, &why);
    int ok = got && want && strcmp(got, want) == 0;
    if (got == NULL) {
        rn_error("%s: cannot read %s: %s", doing, path, why);
    } else if (!ok) {
        rn_error("%s: %s has SHA-256 %.16s, %s says %.16s", doing, path, got, by,
                 want ? want : "none");
    }
    g_free(got);
    g_free(why);
    return ok ? 0 : -1;
}

char *rn_guest_cache_dir(void)
{
    size_t n = qns_cache_dir(NULL, 0);
    char *c = g_malloc(n + 1), *g;
    qns_cache_dir(c, n + 1);
    g = g_build_filename(c, "guest", NULL);
    g_free(c);
    return g;
}

/* ---- what goes in ------------------------------------------------------------- */

/* The guest image the run booted: the cache's folder of its key when there
 * is one, else the folder the manifest names; its files must still have the
 * manifest's hashes. */
static int stage_guest(const char *stage, JsonObject *gi)
{
    const char *key = rn_json_string(gi, "key"), *dir = rn_json_string(gi, "dir");
    char *cache = rn_guest_cache_dir();
    char *by_key = key ? g_build_filename(cache, key, NULL) : NULL;
    const char *from = by_key && g_file_test(by_key, G_FILE_TEST_IS_DIR) ? by_key : dir;
    int r = from ? 0 : -1;
    if (r < 0) {
        rn_error("the manifest names no guest image folder");
    }
    for (size_t i = 0; r == 0 && i < rn_image_file_count; i++) {
        const char *name = rn_json_string(gi, rn_image_files[i].name);
        if (name == NULL && rn_image_files[i].optional) {
            continue;
        }
        char *p = g_build_filename(from, name ? name : "-", NULL);
        char *rel = g_build_filename("guest", name ? name : "-", NULL);
        r = rn_check_sha(p, rn_json_string(gi, rn_image_files[i].sha256),
                         "cannot pack the guest image", "the manifest");
        if (r == 0) {
            r = stage_link(stage, rel, p);
        }
        g_free(rel);
        g_free(p);
    }
    if (r == 0) {
        char *info = g_build_filename(from, "GUEST-INFO", NULL);
        const char *want = rn_json_string(gi, "info_sha256");
        r = want ? rn_check_sha(info, want, "cannot pack the guest image", "the manifest") : 0;
        if (r == 0) {
            r = stage_link(stage, "guest/GUEST-INFO", info);
        }
        g_free(info);
    }
    g_free(by_key);
    g_free(cache);
    return r;
}

GPtrArray *rn_manifest_snapshots(JsonObject *root, const char *doing)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < rn_manifest_guest_count(root); i++) {
        JsonObject *g = rn_manifest_guest(root, i);
        const char *key = g ? rn_json_string(g, "snapshot") : NULL;
        if (key == NULL) {
            continue;
        }
        int hex = strlen(key) == 64;
        for (const char *c = key; hex && *c; c++) {
            hex = (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f');
        }
        if (!hex) {
            rn_error("%s: the manifest's guest %u has snapshot '%.80s', which is no key", doing, i,
                     key);
            g_ptr_array_free(out, TRUE);
            return NULL;
        }
        int seen = 0;
        for (guint k = 0; !seen && k < out->len; k++) {
            seen = strcmp(rn_json_string(g_ptr_array_index(out, k), "snapshot"), key) == 0;
        }
        if (!seen) {
            g_ptr_array_add(out, g);
        }
    }
    return out;
}

size_t rn_snapshot_files(JsonObject *g, const char *names[RN_SNAPSHOT_FILES_MAX],
                         const char *shas[RN_SNAPSHOT_FILES_MAX])
{
    static const char *const all[][2] = {{"INPUTS", "snapshot"},
                                         {"stream", "snapshot_stream_sha256"},
                                         {"ram", "snapshot_ram_sha256"},
                                         {"disk.qcow2", "snapshot_disk_sha256"}};
    size_t n = 0;
    for (size_t f = 0; f < G_N_ELEMENTS(all); f++) {
        const char *sha = rn_json_string(g, all[f][1]);
        if (f < 3 || sha != NULL) {
            names[n] = all[f][0];
            shas[n++] = sha;
        }
    }
    return n;
}

/* Each snapshot the guests were restored from, out of the qns cache, its
 * stream and RAM with the manifest's hashes; *snapshots: how many. */
static int stage_snapshots(const char *stage, JsonObject *root, int *count, int *snapshots)
{
    static const char doing[] = "cannot pack a snapshot";
    GPtrArray *snaps = rn_manifest_snapshots(root, doing);
    size_t n = qns_cache_dir(NULL, 0);
    char *cache = g_malloc(n + 1);
    qns_cache_dir(cache, n + 1);
    int r = snaps ? 0 : -1;
    *snapshots = snaps ? (int)snaps->len : 0;
    for (guint i = 0; r == 0 && i < snaps->len; i++) {
        JsonObject *g = g_ptr_array_index(snaps, i);
        const char *key = rn_json_string(g, "snapshot");
        const char *names[RN_SNAPSHOT_FILES_MAX], *shas[RN_SNAPSHOT_FILES_MAX];
        size_t files = rn_snapshot_files(g, names, shas);
        for (size_t f = 0; r == 0 && f < files; f++, (*count)++) {
            char *p = g_build_filename(cache, "snapshot", key, names[f], NULL);
            char *rel = g_build_filename("snapshot", key, names[f], NULL);
            r = rn_check_sha(p, shas[f], doing, f == 0 ? "its key" : "the manifest");
            if (r == 0) {
                r = stage_link(stage, rel, p);
            }
            g_free(rel);
            g_free(p);
        }
    }
    if (snaps) {
        g_ptr_array_free(snaps, TRUE);
    }
    g_free(cache);
    return r;
}

char *rn_input_rel(const char *path, JsonObject *root)
{
    const char *base = rn_json_string(rn_json_object(root, "scenario"), "base_dir");
    char *base_abs = base ? g_canonicalize_filename(base, NULL) : NULL;
    char *abs = g_canonicalize_filename(path, base_abs);
    size_t n = base_abs ? strlen(base_abs) : 0;
    char *rel = NULL;
    if (base_abs == NULL || strncmp(abs, base_abs, n) != 0 || abs[n] != '/') {
        rn_error("%s is outside the scenario's folder %s, so it is not packed", path,
                 base_abs ? base_abs : "(none)");
    } else {
        rel = g_build_filename("inputs", abs + n + 1, NULL);
    }
    g_free(abs);
    g_free(base_abs);
    return rel;
}

/* A disk among the inputs whose backing files a package cannot carry so
 * that they still open elsewhere (an absolute backing name, one that leads
 * out of the base folder): -1 after one line naming it. Their files are
 * inputs of the manifest themselves (settings.h: input_files); a chain
 * that no longer opens has a file that changed since the run, which its
 * hash check names. */
static int check_backing_names(JsonObject *root, GList *inputs)
{
    const char *base = rn_json_string(rn_json_object(root, "scenario"), "base_dir");
    int r = 0;
    for (GList *l = inputs; l && r == 0 && base; l = l->next) {
        char *why = NULL;
        GPtrArray *chain = rn_disk_chain(l->data, NULL, &why);
        char *what = chain ? rn_disk_chain_unpackable(chain, base) : NULL;
        if (what) {
            rn_error("cannot pack an input: %s", what);
            r = -1;
        }
        g_free(what);
        g_free(why);
        if (chain) {
            g_ptr_array_unref(chain);
        }
    }
    return r;
}

/* Own kernels, initrds and disks below the base folder, with the disks'
 * backing files, at their relative path under inputs/. */
static int stage_inputs(const char *stage, JsonObject *root, int *count)
{
    JsonObject *in = rn_json_object(root, "inputs");
    GList *members = in ? json_object_get_members(in) : NULL;
    int r = check_backing_names(root, members);
    for (GList *l = members; l && r == 0; l = l->next) {
        const char *path = l->data;
        char *rel = rn_input_rel(path, root);
        r = rel ? rn_check_sha(path, rn_json_string(in, path), "cannot pack an input",
                               "the manifest")
                : -1;
        if (r == 0) {
            r = stage_link(stage, rel, path);
            (*count)++;
        }
        g_free(rel);
    }
    g_list_free(members);
    return r;
}

/* The firmware files QEMU loads for the guests' machine (BIOS, option ROMs
 * of both NIC models, vapic), from its own load_file trace, into fw (name ->
 * location); whether QEMU ran. */
static int trace_firmware(const char *qemu, GHashTable *fw)
{
    GStrvBuilder *sb = g_strv_builder_new();
    g_strv_builder_add_many(sb, "sh", "-c", "echo quit | exec \"$@\"", "sh", qemu, NULL);
    g_strv_builder_addv(sb, (const char **)qns_qemu_machine_args);
    g_strv_builder_add_many(sb, "-device", "virtio-net-pci", "-device", "e1000", "-S", "-monitor",
                            "stdio", "-trace", "load_file", NULL);
    char **argv = g_strv_builder_end(sb);
    g_strv_builder_unref(sb);
    char *out = NULL, *err = NULL;
    int ws = 0;
    int ok = g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                          &ws, NULL) &&
             g_spawn_check_wait_status(ws, NULL);
    gchar **lines = ok ? g_strsplit(err, "\n", -1) : NULL;
    for (gchar **l = lines; l && *l; l++) {
        char name[256], where[4096];
        const char *at = strstr(*l, "load_file name ");
        if (at && sscanf(at, "load_file name %255s location %4095s", name, where) == 2) {
            g_hash_table_replace(fw, g_strdup(name), g_strdup(where));
        }
    }
    g_strfreev(lines);
    g_strfreev(argv);
    g_free(out);
    g_free(err);
    return ok;
}

/* The kernel loaders (pvh.bin for a vmlinux, linuxboot_dma.bin for a
 * bzImage) the trace did not name, from QEMU's data folders (-L help), into
 * fw; whether QEMU ran. */
static int find_loaders(const char *qemu, GHashTable *fw)
{
    const char *dirs_argv[] = {qemu, "-L", "help", NULL};
    const char *loaders[] = {"pvh.bin", "linuxboot_dma.bin", NULL};
    char *dirs = NULL;
    int ws = 0;
    int ok = g_spawn_sync(NULL, (char **)dirs_argv, NULL, 0, NULL, NULL, &dirs, NULL, &ws, NULL) &&
             g_spawn_check_wait_status(ws, NULL);
    gchar **dl = ok ? g_strsplit(dirs, "\n", -1) : NULL;
    for (int i = 0; dl && loaders[i]; i++) {
        for (gchar **d = dl; *d && !g_hash_table_contains(fw, loaders[i]); d++) {
            char *p = **d ? g_build_filename(*d, loaders[i], NULL) : NULL;
            if (p && g_file_test(p, G_FILE_TEST_IS_REGULAR)) {
                g_hash_table_replace(fw, g_strdup(loaders[i]), p);
            } else {
                g_free(p);
            }
        }
    }
    g_strfreev(dl);
    g_free(dirs);
    return ok;
}

/* The firmware QEMU loads for the guests and its kernel loaders: name ->
 * location, or NULL when QEMU did not run or named none. */
static GHashTable *qemu_firmware(const char *qemu)
{
    GHashTable *fw = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (!trace_firmware(qemu, fw) || !find_loaders(qemu, fw) || g_hash_table_size(fw) == 0) {
        g_hash_table_destroy(fw);
        return NULL;
    }
    return fw;
}

static int stage_qemu(const char *stage, JsonObject *q, int *count)
{
    const char *qemu = rn_json_string(q, "path");
    if (qemu == NULL ||
        rn_check_sha(qemu, rn_json_string(q, "sha256"), "cannot pack QEMU", "the manifest") < 0) {
        if (qemu == NULL) {
            rn_error("the manifest names no QEMU binary");
        }
        return -1;
    }
    GHashTable *fw = qemu_firmware(qemu);
    if (fw == NULL) {
        rn_error("cannot find the firmware files %s loads (its -trace load_file)", qemu);
        return -1;
    }
    int r = stage_link(stage, "qemu/bin/qemu-system-x86_64", qemu);
    char *bin = g_path_get_dirname(qemu), *root = g_path_get_dirname(bin);
    char *info = g_build_filename(root, "BUILD-INFO", NULL);
    if (r == 0 && g_file_test(info, G_FILE_TEST_IS_REGULAR)) {
        r = stage_link(stage, "qemu/BUILD-INFO", info);
        (*count)++;
    }
    /* The firmware is not in the manifest: its hashes go beside it, sorted. */
    GString *sums = g_string_new(NULL);
    GList *names = g_list_sort(g_hash_table_get_keys(fw), (GCompareFunc)strcmp);
    for (GList *l = names; r == 0 && l; l = l->next) {
        const char *where = g_hash_table_lookup(fw, l->data);
        char *rel = g_build_filename("qemu", "share", "qemu", (const char *)l->data, NULL);
        char *why = NULL, *sum = rn_file_sha256(where, &why);
        if (sum == NULL) {
            rn_error("cannot pack QEMU's firmware: %s", why);
            r = -1;
        } else {
            g_string_append_printf(sums, "%s  share/qemu/%s\n", sum, (const char *)l->data);
            r = stage_link(stage, rel, where);
            (*count)++;
        }
        g_free(sum);
        g_free(why);
        g_free(rel);
    }
    g_list_free(names);
    if (r == 0) {
        r = stage_text(stage, "qemu/" RN_QEMU_WRAPPER, rn_qemu_wrapper_text, 0755);
        *count += 2;
    }
    if (r == 0) {
        r = stage_text(stage, "qemu/" RN_QEMU_SUMS, sums->str, 0644);
        (*count)++;
    }
    g_string_free(sums, TRUE);
    g_free(info);
    g_free(root);
    g_free(bin);
    g_hash_table_destroy(fw);
    return r;
}

static char *readme_text(const char *leaf, JsonObject *root, int guest, int inputs, int qemu,
                         int snapshots)
{
    JsonObject *scen = rn_json_object(root, "scenario");
    const char *name = rn_json_string(scen, "name");
    GString *s = g_string_new(NULL);
    g_string_append_printf(s,
                           "qns run of scenario %s, packed by qns pack (qns %s)\n\n"
                           "  scenario.ini    the scenario file that was run\n"
                           "  manifest.json   versions, seed, quantum, statistics and the\n"
                           "                  SHA-256 of every output and input file\n",
                           name ? name : leaf, QNS_VERSION);
    if (guest) {
        g_string_append(s, "  guest/          the default guest image the guests booted:\n"
                           "                  GUEST-INFO, kernel, initramfs\n");
    }
    if (inputs) {
        g_string_append(s, "  inputs/         the own kernels, initrds, disks and files of\n"
                           "                  the scenario and the disks' backing files, at\n"
                           "                  their paths relative to it\n");
    }
    if (qemu) {
        g_string_append(s, "  qemu/           the patched qemu-system-x86_64, its BUILD-INFO\n"
                           "                  and the firmware it loads (share/qemu/)\n");
    }
    if (snapshots) {
        g_string_append(s, "  snapshot/KEY/   each snapshot guests were restored from (boot =\n"
                           "                  snapshot): INPUTS (what KEY is the SHA-256 of),\n"
                           "                  the saved machine (stream) and its RAM (ram)\n");
    }
    g_string_append_printf(s,
                           "  everything else the outputs: pcaps, guest consoles\n\n"
                           "Re-run it and check that every output is byte-identical:\n\n"
                           "  qns verify %s" PACK_SUFFIX "\n\n"
                           "(or tar xf %s" PACK_SUFFIX " && qns verify %s). verify unpacks the\n"
                           "archive beside it (regular files and folders only, modes 0644 or\n"
                           "0755, refusing links and devices), checks every packed boot file\n"
                           "against its SHA-256 in the manifest, names what differs between the\n"
                           "manifest's environment and this one, runs %s/scenario.ini again\n"
                           "from the packed files%s into %s/verify-TIMESTAMP/ and prints one\n"
                           "line per output file: expected hash, re-run hash, match or\n"
                           "MISMATCH; it exits 0 only when every file matches.\n\n"
                           "What verify runs: this machine's own patched QEMU, confined by\n"
                           "seccomp, with the guests the package carries, and ns-3 inside qns\n"
                           "itself. Nothing else from the package runs or reaches QEMU's command\n"
                           "line unchecked: a packed QEMU (qemu/) is not run, a scenario whose\n"
                           "guests name programs of their own (program =) or QEMU options other\n"
                           "than the machine, CPU, memory and NIC models (extra_args =) is\n"
                           "refused, and GUEST-INFO is read as data. qns verify --trust-package\n"
                           "runs the packed QEMU and such programs and options, naming each\n"
                           "first; pass it only for a package whose author you trust.\n\n"
                           "Flows, RTTs and plots: qns report %s\n",
                           leaf, leaf, leaf, leaf, qemu ? " (QEMU included)" : "", leaf, leaf);
    return g_string_free(s, FALSE);
}

static char *human_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        return g_strdup("size unknown");
    }
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB"};
    double v = (double)st.st_size;
    int u = 0;
    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    return u ? g_strdup_printf("%.1f %s", v, units[u])
             : g_strdup_printf("%lld bytes", (long long)st.st_size);
}

/* Moves the finished archive into place; without force, never over a file
 * that is there (one that appeared while packing included). */
static int put_archive(const char *partial, const char *archive, int force)
{
    int r = force ? rename(partial, archive)
                  : renameat2(AT_FDCWD, partial, AT_FDCWD, archive, RENAME_NOREPLACE);
    if (r < 0 && !force && (errno == EINVAL || errno == ENOSYS)) {
        /* A file system without RENAME_NOREPLACE: link() does not replace either. */
        r = link(partial, archive) < 0 ? -1 : unlink(partial) < 0 ? -1 : 0;
    }
    if (r < 0 && errno == EEXIST) {
        rn_error("%s exists already; not replaced (qns pack --force replaces it)", archive);
    } else if (r < 0) {
        rn_error("cannot rename %s to %s: %s", partial, archive, g_strerror(errno));
    }
    return r;
}

/* dir_arg without trailing slashes, and the archive's name beside it:
 * RN_EXIT_OK, or RN_EXIT_USAGE after one line (a symbolic link, an archive
 * that is there already without force). */
static int pack_names(const char *dir_arg, int force, char **dir, char **archive)
{
    *dir = g_strdup(dir_arg);
    *archive = NULL;
    while (strlen(*dir) > 1 && g_str_has_suffix(*dir, "/")) {
        (*dir)[strlen(*dir) - 1] = '\0';
    }
    if (rn_is_symlink(*dir)) {
        rn_error("%s is a symbolic link; give the run folder itself", dir_arg);
        return RN_EXIT_USAGE;
    }
    *archive = g_strdup_printf("%s" PACK_SUFFIX, *dir);
    if (!force && g_file_test(*archive, G_FILE_TEST_EXISTS)) {
        rn_error("%s exists already; not replaced (qns pack --force replaces it)", *archive);
        return RN_EXIT_USAGE;
    }
    return RN_EXIT_OK;
}

/* The run's own files and its outputs (each with the manifest's hash)
 * linked into stage; *count goes up by one for each. */
static int stage_run_files(const char *stage, const char *dir, const rn_manifest *m, int *count)
{
    int r = 0;
    const char *own_files[] = {RN_MANIFEST, RN_SCENARIO_COPY, NULL};
    for (int i = 0; r == 0 && own_files[i]; i++, (*count)++) {
        char *p = g_build_filename(dir, own_files[i], NULL);
        r = stage_link(stage, own_files[i], p);
        g_free(p);
    }
    GList *members = json_object_get_members(m->outputs);
    for (GList *l = members; r == 0 && l; l = l->next, (*count)++) {
        char *p = g_build_filename(dir, (const char *)l->data, NULL);
        r = rn_check_sha(p, rn_json_string(m->outputs, l->data), "cannot pack an output",
                         "the manifest");
        if (r == 0) {
            r = stage_link(stage, l->data, p);
        }
        g_free(p);
    }
    g_list_free(members);
    return r;
}

/* Everything the package of run folder dir holds, linked or written into
 * stage (STAGING/LEAF), README.txt last; *count: the files. */
static int stage_all(const char *stage, const char *dir, const char *leaf, const rn_manifest *m,
                     int with_qemu, int *count)
{
    JsonObject *gi = rn_json_object(m->root, "guest_image");
    JsonObject *q = rn_json_object(m->root, "qemu");
    JsonObject *in = rn_json_object(m->root, "inputs");
    int with_inputs = in && json_object_get_size(in) > 0;
    int r = stage_run_files(stage, dir, m, count);
    if (r == 0 && gi) {
        r = stage_guest(stage, gi);
        *count += 3;
    }
    if (r == 0 && with_inputs) {
        r = stage_inputs(stage, m->root, count);
    }
    if (r == 0 && with_qemu) {
        r = stage_qemu(stage, q, count);
    }
    int snapshots = 0;
    if (r == 0) {
        r = stage_snapshots(stage, m->root, count, &snapshots);
    }
    if (r == 0) {
        char *text = readme_text(leaf, m->root, gi != NULL, with_inputs, with_qemu, snapshots);
        r = stage_text(stage, "README.txt", text, 0644);
        (*count)++;
        g_free(text);
    }
    return r;
}

/* stage_root/leaf archived by tar into partial, then moved to archive. */
static int write_archive(const char *stage_root, const char *leaf, const char *partial,
                         const char *archive, int force)
{
    const char *tar[] = {"tar",        "--sort=name",   "--owner=0", "--group=0", "--numeric-owner",
                         "--mtime=@0", "--dereference", "--zstd",    "-cf",       partial,
                         "-C",         stage_root,      leaf,        NULL};
    int r = rn_spawn(tar, "tar");
    if (r == 0) {
        r = put_archive(partial, archive, force);
    }
    return r;
}

/* Packs run folder dir (its manifest m) into archive, staged in a hidden
 * folder beside it; an exit status. */
static int pack_folder(const char *dir, const char *archive, const rn_manifest *m, int with_qemu,
                       int force)
{
    char *parent = g_path_get_dirname(dir), *leaf = g_path_get_basename(dir);
    char *stage_root = rn_temp_dir(parent, ".qns-pack-");
    if (stage_root == NULL) {
        g_free(parent);
        g_free(leaf);
        return RN_EXIT_FAIL;
    }
    char *stage = g_build_filename(stage_root, leaf, NULL);
    int with_guest = rn_json_object(m->root, "guest_image") != NULL;
    if (with_qemu && rn_json_object(m->root, "qemu") == NULL) {
        rn_say("qns: no guest of %s runs QEMU; --with-qemu adds nothing", dir);
        with_qemu = 0;
    }
    int n = 0, r = stage_all(stage, dir, leaf, m, with_qemu, &n);
    char *partial = g_strdup_printf("%s.partial", archive);
    if (r == 0) {
        r = write_archive(stage_root, leaf, partial, archive, force);
    }
    if (r < 0) {
        unlink(partial);
    } else {
        char *size = human_size(archive);
        rn_say("qns: packed %d files of %s into %s (%s)%s%s", n, dir, archive, size,
               with_guest ? ", with the guest image" : "", with_qemu ? " and QEMU" : "");
        rn_say("qns: to check it elsewhere: qns verify %s" PACK_SUFFIX, leaf);
        g_free(size);
    }
    rn_remove_tree(stage_root);
    g_free(partial);
    g_free(stage);
    g_free(stage_root);
    g_free(parent);
    g_free(leaf);
    return r == 0 ? RN_EXIT_OK : RN_EXIT_FAIL;
}

int rn_pack(const char *dir_arg, int with_qemu, int force)
{
    char *dir = NULL, *archive = NULL;
    rn_manifest m;
    int status = pack_names(dir_arg, force, &dir, &archive);
    if (status == RN_EXIT_OK && rn_manifest_load(dir, &m) < 0) {
        status = RN_EXIT_USAGE;
    } else if (status == RN_EXIT_OK) {
        status = pack_folder(dir, archive, &m, with_qemu, force);
        g_object_unref(m.parser);
    }
    g_free(archive);
    g_free(dir);
    return status;
}
