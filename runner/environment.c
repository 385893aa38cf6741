/*
 * environment.c - the environment of a run: qns and its source commit,
 * ns-3, the QEMU binary (version, hash, build key and patch series from its
 * BUILD-INFO) and the default guest image (key, kernel release, boot file
 * hashes from GUEST-INFO). run.c writes it into the manifest; verify.c
 * compares the manifest's with the one it is about to run on.
 */
#define _GNU_SOURCE
#include "environment.h"
#include "qns_source_commit.h"
#include "runner.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The same as qns_sim_new with qemu/guest_dir NULL (the library decides). */
const char *rn_default_qemu(void)
{
    return qns_default_qemu();
}

const char *rn_default_guest_dir(void)
{
    return qns_default_guest_dir();
}

void rn_json_add_remembered_sha256(JsonBuilder *b, const char *member, const char *path)
{
    char sum[65], e[QNS_ERRBUF_SIZE];
    json_builder_set_member_name(b, member);
    if (qns_file_sha256(path, sum, e) == 0) {
        json_builder_add_string_value(b, sum);
    } else {
        json_builder_add_null_value(b);
    }
}

void rn_json_add_sha256(JsonBuilder *b, const char *member, const char *path)
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

void rn_json_add_string(JsonBuilder *b, const char *member, const char *v)
{
    json_builder_set_member_name(b, member);
    if (v) {
        json_builder_add_string_value(b, v);
    } else {
        json_builder_add_null_value(b);
    }
}

void rn_env_add_versions(JsonBuilder *b)
{
    rn_json_add_string(b, "qns_version", QNS_VERSION);
    rn_json_add_string(b, "qns_commit", QNS_SOURCE_COMMIT);
    rn_json_add_string(b, "ns3_version", QNS_NS3_VERSION);
}

/* build_key and patch_series from BUILD-INFO two folders above the binary
 * (INSTALL/bin/qemu-system-x86_64, INSTALL/BUILD-INFO). */
static void add_qemu_build(JsonBuilder *b, const char *qemu)
{
    char *bin = g_path_get_dirname(qemu), *root = g_path_get_dirname(bin);
    char *info = g_build_filename(root, "BUILD-INFO", NULL);
    gchar *text = NULL;
    char *key = NULL, *series = NULL;
    if (g_file_get_contents(info, &text, NULL, NULL)) {
        GString *patches = g_string_new(NULL);
        gchar **lines = g_strsplit(text, "\n", -1);
        for (gchar **l = lines; *l; l++) {
            if (g_str_has_prefix(*l, "key: ")) {
                g_free(key);
                key = g_strdup(*l + strlen("key: "));
            } else if (g_str_has_prefix(*l, "patch: ")) {
                g_string_append_printf(patches, "%s\n", *l);
            }
        }
        g_strfreev(lines);
        if (patches->len) {
            series = g_compute_checksum_for_string(G_CHECKSUM_SHA256, patches->str,
                                                   (gssize)patches->len);
        }
        g_string_free(patches, TRUE);
    }
    rn_json_add_string(b, "build_key", key);
    rn_json_add_string(b, "patch_series", series);
    g_free(series);
    g_free(key);
    g_free(text);
    g_free(info);
    g_free(root);
    g_free(bin);
}

void rn_env_add_qemu(JsonBuilder *b, const char *path)
{
    /* A package's run-qemu is described by the binary it runs. */
    char *base = g_path_get_basename(path), *dir = g_path_get_dirname(path);
    char *packed = g_build_filename(dir, "bin", "qemu-system-x86_64", NULL);
    const char *qemu =
        strcmp(base, "run-qemu") == 0 && g_file_test(packed, G_FILE_TEST_EXISTS) ? packed : path;
    char *version = qns_qemu_version(qemu);
    json_builder_set_member_name(b, "qemu");
    json_builder_begin_object(b);
    rn_json_add_string(b, "path", path);
    json_builder_set_member_name(b, "version");
    if (version != NULL) {
        json_builder_add_string_value(b, version);
    } else {
        json_builder_add_null_value(b);
    }
    free(version);
    rn_json_add_remembered_sha256(b, "sha256", qemu);
    add_qemu_build(b, qemu);
    json_builder_end_object(b);
    g_free(packed);
    g_free(dir);
    g_free(base);
}

const rn_image_file rn_image_files[] = {
    {"kernel", "kernel_sha256", 0},
    {"initrd", "initrd_sha256", 0},
    {"disk", "disk_sha256", 1},
};
const size_t rn_image_file_count = G_N_ELEMENTS(rn_image_files);

void rn_env_add_guest_image(JsonBuilder *b, const char *dir)
{
    char *info = g_build_filename(dir, "GUEST-INFO", NULL);
    GKeyFile *kf = g_key_file_new();
    json_builder_set_member_name(b, "guest_image");
    json_builder_begin_object(b);
    rn_json_add_string(b, "dir", dir);
    char *imported = rn_imported_image_key(dir);
    if (imported) {
        rn_json_add_string(b, "imported_as", imported); /* not built here */
    }
    g_free(imported);
    if (g_key_file_load_from_file(kf, info, G_KEY_FILE_NONE, NULL)) {
        rn_json_add_sha256(b, "info_sha256", info); /* the command line and QEMU options */
        const char *keys[] = {"key", "kind", "kernel_release", NULL};
        for (int i = 0; keys[i]; i++) {
            char *v = g_key_file_get_string(kf, "guest", keys[i], NULL);
            if (v || strcmp(keys[i], "kind") != 0) {
                rn_json_add_string(b, keys[i], v);
            }
            g_free(v);
        }
        for (size_t i = 0; i < rn_image_file_count; i++) {
            const rn_image_file *f = &rn_image_files[i];
            char *v = g_key_file_get_string(kf, "guest", f->name, NULL);
            if (v || !f->optional) {
                rn_json_add_string(b, f->name, v);
            }
            if (v) {
                char *p = g_build_filename(dir, v, NULL);
                rn_json_add_remembered_sha256(b, f->sha256, p);
                g_free(p);
            }
            g_free(v);
        }
        json_builder_set_member_name(b, "packages");
        json_builder_begin_object(b);
        gchar **pk = g_key_file_get_keys(kf, "packages", NULL, NULL);
        for (int i = 0; pk && pk[i]; i++) {
            char *v = g_key_file_get_string(kf, "packages", pk[i], NULL);
            rn_json_add_string(b, pk[i], v);
            g_free(v);
        }
        g_strfreev(pk);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    g_key_file_free(kf);
    g_free(info);
}

/* How a compared value is shown. */
enum {
    SHOW_PLAIN,
    SHOW_HASH,
    SHOW_COMMIT,
    SHOW_QEMU_VERSION
};

/* One compared value: where it sits, how people call it, how it is shown. */
typedef struct env_item {
    const char *object; /* NULL: the manifest's top level */
    const char *member;
    const char *label;
    int show;
} env_item;

static const env_item env_items[] = {
    {NULL, "qns_version", "qns version", SHOW_PLAIN},
    {NULL, "qns_commit", "qns commit", SHOW_COMMIT},
    {NULL, "ns3_version", "ns-3 version", SHOW_PLAIN},
    {"qemu", "version", "QEMU version", SHOW_QEMU_VERSION},
    {"qemu", "sha256", "QEMU SHA-256", SHOW_HASH},
    {"qemu", "build_key", "QEMU build key", SHOW_HASH},
    {"qemu", "patch_series", "QEMU patch series", SHOW_HASH},
    {"guest_image", "key", "guest image key", SHOW_HASH},
    {"guest_image", "kernel_release", "kernel", SHOW_PLAIN},
    {"guest_image", "kernel_sha256", "guest kernel SHA-256", SHOW_HASH},
    {"guest_image", "initrd_sha256", "guest initramfs SHA-256", SHOW_HASH},
    {"guest_image", "disk_sha256", "guest disk SHA-256", SHOW_HASH},
    {"guest_image", "info_sha256", "GUEST-INFO SHA-256", SHOW_HASH},
};

/* Hashes as their first 12 digits (a commit keeps its "-dirty"), QEMU
 * versions without the "QEMU emulator version " every one starts with. */
static char *shown(const char *v, int show)
{
    static const char qemu_prefix[] = "QEMU emulator version ";
    if (v == NULL) {
        return g_strdup("none");
    }
    if (show == SHOW_QEMU_VERSION && g_str_has_prefix(v, qemu_prefix)) {
        return g_strdup(v + strlen(qemu_prefix));
    }
    if ((show == SHOW_HASH || show == SHOW_COMMIT) && strspn(v, "0123456789abcdef") > 12) {
        return g_strdup_printf(
            "%.12s%s", v, show == SHOW_COMMIT && g_str_has_suffix(v, "-dirty") ? "-dirty" : "");
    }
    return g_strdup(v);
}

/* Each input (own kernel, initrd, disk, backing file) whose file at the
 * manifest's path no longer has its SHA-256, named relative to the
 * scenario's folder when below it. */
static void add_input_differences(GString *diff, JsonObject *manifest)
{
    JsonObject *in = rn_json_object(manifest, "inputs");
    const char *base = rn_json_string(rn_json_object(manifest, "scenario"), "base_dir");
    size_t n = base ? strlen(base) : 0;
    GList *members = in ? json_object_get_members(in) : NULL;
    for (GList *l = members; l; l = l->next) {
        const char *path = l->data, *was = rn_json_string(in, path);
        char *why = NULL, *is = rn_file_sha256(path, &why);
        if (g_strcmp0(was, is) != 0) {
            const char *name =
                base && strncmp(path, base, n) == 0 && path[n] == '/' ? path + n + 1 : path;
            char *a = shown(was, SHOW_HASH), *c = shown(is, SHOW_HASH);
            g_string_append_printf(diff, "%sinput %s SHA-256 %s%s vs %s%s", diff->len ? ", " : "",
                                   name, a, diff->len ? "" : " (manifest)", c,
                                   diff->len ? "" : " (now)");
            g_free(a);
            g_free(c);
        }
        g_free(is);
        g_free(why);
    }
    g_list_free(members);
}

char *rn_env_differences(JsonObject *manifest, const char *qemu, const char *guest_dir,
                         int with_inputs)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    rn_env_add_versions(b);
    if (rn_json_object(manifest, "qemu")) {
        rn_env_add_qemu(b, qemu);
    }
    if (rn_json_object(manifest, "guest_image")) {
        rn_env_add_guest_image(b, guest_dir);
    }
    json_builder_end_object(b);
    JsonNode *root = json_builder_get_root(b);
    JsonObject *now = json_node_get_object(root);

    GString *diff = g_string_new(NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(env_items); i++) {
        const env_item *it = &env_items[i];
        JsonObject *was_o = it->object ? rn_json_object(manifest, it->object) : manifest;
        JsonObject *now_o = it->object ? rn_json_object(now, it->object) : now;
        if (was_o == NULL || !json_object_has_member(was_o, it->member)) {
            continue; /* not recorded (an older manifest, or not used) */
        }
        const char *was = rn_json_string(was_o, it->member),
                   *is = rn_json_string(now_o, it->member);
        if (g_strcmp0(was, is) == 0) {
            continue;
        }
        char *a = shown(was, it->show), *c = shown(is, it->show);
        g_string_append_printf(diff, "%s%s %s%s vs %s%s", diff->len ? ", " : "", it->label, a,
                               diff->len ? "" : " (manifest)", c, diff->len ? "" : " (now)");
        g_free(a);
        g_free(c);
    }
    json_node_unref(root);
    g_object_unref(b);
    if (with_inputs) {
        add_input_differences(diff, manifest);
    }
    return diff->len ? g_string_free(diff, FALSE) : (g_string_free(diff, TRUE), NULL);
}
