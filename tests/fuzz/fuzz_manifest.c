/*
 * fuzz_manifest.c - a manifest.json as a package from a stranger may carry
 * it, from arbitrary bytes: rn_manifest_parse either refuses it or gives an
 * object with an object of outputs, and every member that verify, pack and
 * guest import read comes out through the typed accessors without a GLib
 * warning or critical (which the run makes fatal).
 */
#include "environment.h"
#include "fuzz_check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Reads member of o as a string (or absent), every byte of it. Not
 * necessarily UTF-8: json-glib takes "\704" as the byte 0xc4. */
static void read_string(JsonObject *o, const char *member)
{
    const char *s = rn_json_string(o, member);
    CHECK(s == NULL || strlen(s) < SIZE_MAX);
}

/* Every member of o (maybe NULL) as a string: outputs and inputs map names
 * to SHA-256 hashes. */
static void read_members(JsonObject *o)
{
    GList *members = o ? json_object_get_members(o) : NULL;
    for (GList *l = members; l; l = l->next) {
        CHECK(l->data != NULL);
        read_string(o, l->data);
    }
    g_list_free(members);
}

static void read_object(JsonObject *root, const char *member, const char *const *names)
{
    JsonObject *o = rn_json_object(root, member);
    for (int i = 0; o && names[i]; i++) {
        read_string(o, names[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const top[] = {"status", "qns_version", "qns_commit", "ns3_version", NULL};
    static const char *const scenario[] = {"name", "base_dir", "sha256", NULL};
    static const char *const guest_image[] = {
        "dir",           "key",    "kind",          "kernel_release", "info_sha256", "kernel",
        "kernel_sha256", "initrd", "initrd_sha256", "disk",           "disk_sha256", NULL};
    static const char *const qemu[] = {"path",      "version",      "sha256",
                                       "build_key", "patch_series", NULL};
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);

    rn_manifest m;
    if (rn_manifest_parse((const char *)data, size, "manifest.json", &m) < 0) {
        CHECK(m.parser == NULL);
        return 0;
    }
    CHECK(m.parser != NULL && m.root != NULL && m.outputs != NULL);
    CHECK(rn_json_object(m.root, "outputs") == m.outputs);
    for (int i = 0; top[i]; i++) {
        read_string(m.root, top[i]);
    }
    read_object(m.root, "scenario", scenario);
    read_object(m.root, "guest_image", guest_image);
    read_object(m.root, "qemu", qemu);
    read_members(m.outputs);
    read_members(rn_json_object(m.root, "inputs"));
    g_object_unref(m.parser);
    return 0;
}
