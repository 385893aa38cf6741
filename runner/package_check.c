/*
 * package_check.c - what verify checks of an unpacked package before
 * anything of it runs (rn_package_prepare): every packed boot file against
 * its SHA-256 in the manifest, and a packed QEMU only with trust, through
 * the wrapper qns pack writes (package.c) and its firmware list.
 */
#define _GNU_SOURCE
#include "environment.h"
#include "package.h"
#include "runner.h"

#include <string.h>

int rn_same_contents(const char *a, const char *b)
{
    char *w1 = NULL, *w2 = NULL, *s1 = rn_file_sha256(a, &w1), *s2 = rn_file_sha256(b, &w2);
    int same = s1 && s2 && strcmp(s1, s2) == 0;
    g_free(s1);
    g_free(s2);
    g_free(w1);
    g_free(w2);
    return same;
}

/* The absolute path of dir/rel (g_free it). */
static char *packed_path(const char *dir, const char *rel)
{
    char *p = g_build_filename(dir, rel, NULL), *abs = g_canonicalize_filename(p, NULL);
    g_free(p);
    return abs;
}

/* Every firmware file of DIR/qemu/SHA256SUMS against its line there. */
static int check_firmware(const char *dir, const char *doing)
{
    char *qemu = g_build_filename(dir, "qemu", NULL);
    char *sums = g_build_filename(qemu, RN_QEMU_SUMS, NULL);
    gchar *text = NULL;
    int r = 0;
    if (!g_file_get_contents(sums, &text, NULL, NULL)) {
        rn_error("%s: %s is missing", doing, sums);
        r = -1;
    }
    gchar **lines = text ? g_strsplit(text, "\n", -1) : NULL;
    for (gchar **l = lines; r == 0 && l && *l; l++) {
        char *gap = strstr(*l, "  ");
        if (**l == '\0') {
            continue;
        }
        if (gap == NULL || strstr(gap + 2, "..") || g_path_is_absolute(gap + 2)) {
            rn_error("%s: bad line in %s: '%s'", doing, sums, *l);
            r = -1;
            break;
        }
        *gap = '\0';
        char *p = g_build_filename(qemu, gap + 2, NULL);
        r = rn_check_sha(p, *l, doing, "qemu/" RN_QEMU_SUMS);
        g_free(p);
    }
    g_strfreev(lines);
    g_free(text);
    g_free(sums);
    g_free(qemu);
    return r;
}

/* A packed QEMU is a program from the package: it runs only with trust,
 * named with its SHA-256 first, and its wrapper must be the one qns pack
 * writes. Without trust, this machine's own QEMU runs and the environment
 * check compares the two builds. 1: run the packed one; 0: not; -1: refused. */
static int use_packed_qemu(const char *dir, JsonObject *q, int trust)
{
    static const char doing[] = "refusing to run";
    char *bin = g_build_filename(dir, "qemu", "bin", "qemu-system-x86_64", NULL);
    char *wrapper = g_build_filename(dir, "qemu", RN_QEMU_WRAPPER, NULL);
    const char *sha = rn_json_string(q, "sha256");
    int r = 1;
    if (!trust) {
        rn_say("verify: the package carries a QEMU (qemu/bin/qemu-system-x86_64, SHA-256 %.16s); "
               "verify runs this machine's own and compares the builds (--trust-package runs "
               "the packed one)",
               sha ? sha : "none");
        r = 0;
    } else if (rn_check_sha(bin, sha, doing, "the manifest") < 0 ||
               check_firmware(dir, doing) < 0) {
        r = -1;
    } else {
        gchar *text = NULL;
        gsize len = 0;
        if (!g_file_get_contents(wrapper, &text, &len, NULL) ||
            len != strlen(rn_qemu_wrapper_text) || memcmp(text, rn_qemu_wrapper_text, len) != 0) {
            rn_error("%s: %s is not the wrapper qns pack writes", doing, wrapper);
            r = -1;
        } else {
            rn_say("verify: running the packed QEMU %s, SHA-256 %s (--trust-package)", bin, sha);
        }
        g_free(text);
    }
    g_free(wrapper);
    g_free(bin);
    return r;
}

int rn_check_image_files(const char *dir, JsonObject *gi, const char *doing)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < rn_image_file_count; i++) {
        const char *name = rn_json_string(gi, rn_image_files[i].name);
        if (name == NULL && rn_image_files[i].optional) {
            continue;
        }
        char *p = g_build_filename(dir, name ? name : "-", NULL);
        r = rn_check_sha(p, rn_json_string(gi, rn_image_files[i].sha256), doing, "the manifest");
        g_free(p);
    }
    return r;
}

/* The packed guest image (folder guest): its GUEST-INFO, when the manifest
 * has its hash, and its boot files against the manifest's guest_image gi. */
static int check_packed_guest(const char *guest, JsonObject *gi, const char *doing)
{
    int r = 0;
    if (rn_json_string(gi, "info_sha256")) {
        char *info = g_build_filename(guest, "GUEST-INFO", NULL);
        r = rn_check_sha(info, rn_json_string(gi, "info_sha256"), doing, "the manifest");
        g_free(info);
    }
    return r == 0 ? rn_check_image_files(guest, gi, doing) : r;
}

/* Every packed input of package folder dir against the manifest's inputs. */
static int check_packed_inputs(const char *dir, JsonObject *root, JsonObject *in, const char *doing)
{
    int r = 0;
    GList *members = json_object_get_members(in);
    for (GList *l = members; r == 0 && l; l = l->next) {
        char *rel = rn_input_rel(l->data, root);
        char *p = rel ? g_build_filename(dir, rel, NULL) : NULL;
        r = p ? rn_check_sha(p, rn_json_string(in, l->data), doing, "the manifest") : -1;
        g_free(p);
        g_free(rel);
    }
    g_list_free(members);
    return r;
}

/* Each packed snapshot (snapshot/KEY) against its key and the manifest
 * (its disk overlay too, when it has one):
 * 1 when there is one, 0 when none, -1 when one is not what it says. */
static int check_packed_snapshots(const char *dir, JsonObject *root, const char *doing)
{
    GPtrArray *snaps = rn_manifest_snapshots(root, doing);
    int r = snaps ? 0 : -1, found = 0;
    for (guint i = 0; r == 0 && i < snaps->len; i++) {
        JsonObject *g = g_ptr_array_index(snaps, i);
        const char *key = rn_json_string(g, "snapshot");
        char *folder = g_build_filename(dir, "snapshot", key, NULL);
        if (g_file_test(folder, G_FILE_TEST_IS_DIR)) {
            const char *names[RN_SNAPSHOT_FILES_MAX], *shas[RN_SNAPSHOT_FILES_MAX];
            size_t n = rn_snapshot_files(g, names, shas);
            for (size_t f = 0; r == 0 && f < n; f++) {
                char *p = g_build_filename(folder, names[f], NULL);
                r = rn_check_sha(p, shas[f], doing, f == 0 ? "its key" : "the manifest");
                g_free(p);
            }
            char *disk = g_build_filename(folder, "disk.qcow2", NULL);
            if (r == 0 && n < RN_SNAPSHOT_FILES_MAX && g_file_test(disk, G_FILE_TEST_EXISTS)) {
                rn_error("%s: %s is in the package, but the manifest names no "
                         "snapshot_disk_sha256 for it",
                         doing, disk);
                r = -1;
            }
            g_free(disk);
            found = 1;
        }
        g_free(folder);
    }
    if (snaps) {
        g_ptr_array_free(snaps, TRUE);
    }
    return r < 0 ? -1 : found;
}

/* places and *base_dir: what of package folder dir the re-run uses (the
 * inputs: the folder inputs, else NULL), said in one line. */
static void use_packed(const char *dir, int guest, const char *inputs, int qemu, char **base_dir,
                       rn_places *places)
{
    if (guest) {
        places->guest_dir = packed_path(dir, "guest");
    }
    if (qemu) {
        places->qemu = packed_path(dir, "qemu/" RN_QEMU_WRAPPER);
    }
    if (inputs) {
        *base_dir = g_canonicalize_filename(inputs, NULL);
    }
    if (guest || qemu || inputs) {
        rn_say("verify: running from the packed%s%s%s", guest ? " guest image" : "",
               inputs ? (guest ? ", inputs" : " inputs") : "",
               qemu ? (guest || inputs ? ", QEMU" : " QEMU") : "");
    }
}

int rn_package_prepare(const char *dir, JsonObject *root, int trust, char **base_dir,
                       rn_places *places)
{
    static const char doing[] = "refusing to run";
    JsonObject *gi = rn_json_object(root, "guest_image"), *q = rn_json_object(root, "qemu");
    JsonObject *in = rn_json_object(root, "inputs");
    char *guest = g_build_filename(dir, "guest", NULL);
    char *inputs = g_build_filename(dir, "inputs", NULL);
    char *wrapper = g_build_filename(dir, "qemu", RN_QEMU_WRAPPER, NULL);
    int packed_guest = gi && g_file_test(guest, G_FILE_TEST_IS_DIR);
    int packed_inputs = in && g_file_test(inputs, G_FILE_TEST_IS_DIR);
    int packed_qemu = q && g_file_test(wrapper, G_FILE_TEST_IS_REGULAR);
    *base_dir = NULL;
    places->qemu = places->guest_dir = places->snapshot_dir = NULL;
    int r = packed_guest ? check_packed_guest(guest, gi, doing) : 0;
    int packed_snapshots = r == 0 ? check_packed_snapshots(dir, root, doing) : 0;
    r = packed_snapshots < 0 ? -1 : r;
    if (r == 0 && packed_inputs) {
        r = check_packed_inputs(dir, root, in, doing);
    }
    if (r == 0 && packed_qemu) {
        packed_qemu = use_packed_qemu(dir, q, trust);
        r = packed_qemu < 0 ? -1 : 0;
    }
    if (r == 0) {
        use_packed(dir, packed_guest, packed_inputs ? inputs : NULL, packed_qemu, base_dir, places);
    }
    if (r == 0 && packed_snapshots > 0) {
        places->snapshot_dir = packed_path(dir, "snapshot");
        rn_say("verify: restoring from the packed snapshots");
    }
    g_free(wrapper);
    g_free(inputs);
    g_free(guest);
    return r;
}
