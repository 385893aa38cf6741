/*
 * guest.c - `qns guest list` and `qns guest import`: default guest images
 * are artefacts in the cache, one folder per key (guest/KEY, as
 * build-guest.sh makes them). list shows them; import copies the image a
 * package carries into the cache, checked against the package's manifest,
 * under the SHA-256 of its files in guest-imported/: its GUEST-INFO's key
 * names the recipe it claims to come from, which its files cannot prove.
 */
#define _GNU_SOURCE
#include "environment.h"
#include "runner.h"
#include "unpack.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static char *info_string(GKeyFile *kf, const char *key)
{
    return g_key_file_get_string(kf, "guest", key, NULL);
}

/* The key of the image the build uses (its guest folder is a link into the
 * cache), or NULL. */
static char *default_key(void)
{
    char *info = g_build_filename(rn_default_guest_dir(), "GUEST-INFO", NULL);
    GKeyFile *kf = g_key_file_new();
    char *key =
        g_key_file_load_from_file(kf, info, G_KEY_FILE_NONE, NULL) ? info_string(kf, "key") : NULL;
    g_key_file_free(kf);
    g_free(info);
    return key;
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *rn_imported_guest_dir(void)
{
    char *guest = rn_guest_cache_dir(), *cache = g_path_get_dirname(guest);
    char *dir = g_build_filename(cache, QNS_IMPORTED_GUESTS, NULL);
    g_free(cache);
    g_free(guest);
    return dir;
}

char *rn_image_content_key(const char *dir)
{
    GPtrArray *files = rn_list_files(dir, NULL);
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    int ok = files->len > 0;
    for (guint i = 0; ok && i < files->len; i++) {
        const char *name = g_ptr_array_index(files, i);
        char *p = g_build_filename(dir, name, NULL), *why = NULL, *h = rn_file_sha256(p, &why);
        ok = h != NULL;
        if (ok) {
            char *line = g_strdup_printf("%s %s\n", h, name);
            g_checksum_update(sum, (const guchar *)line, (gssize)strlen(line));
            g_free(line);
        }
        g_free(h);
        g_free(why);
        g_free(p);
    }
    char *key = ok ? g_strdup(g_checksum_get_string(sum)) : NULL;
    g_checksum_free(sum);
    g_ptr_array_free(files, TRUE);
    return key;
}

char *rn_imported_image_key(const char *dir)
{
    char *cache = rn_imported_guest_dir(), *parent = g_path_get_dirname(dir);
    char *key = strcmp(parent, cache) == 0 ? g_path_get_basename(dir) : NULL;
    g_free(parent);
    g_free(cache);
    return key;
}

GPtrArray *rn_cache_keys(const char *cache)
{
    GDir *d = g_dir_open(cache, 0, NULL);
    GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
    for (const char *n; d && (n = g_dir_read_name(d)) != NULL;) {
        char *p = g_build_filename(cache, n, NULL);
        if (n[0] != '.' && g_file_test(p, G_FILE_TEST_IS_DIR)) {
            g_ptr_array_add(keys, g_strdup(n));
        }
        g_free(p);
    }
    if (d) {
        g_dir_close(d);
    }
    g_ptr_array_sort(keys, cmp_str);
    return keys;
}

static void list_image(const char *cache, const char *key, const char *dflt, int imported)
{
    char *dir = g_build_filename(cache, key, NULL);
    char *info = g_build_filename(dir, "GUEST-INFO", NULL);
    GKeyFile *kf = g_key_file_new();
    char *release = NULL, *kind = NULL, *asked = NULL, *claims = NULL, built[32] = "-";
    struct stat st;
    if (g_key_file_load_from_file(kf, info, G_KEY_FILE_NONE, NULL)) {
        release = info_string(kf, "kernel_release");
        kind = info_string(kf, "kind");
        asked = info_string(kf, "packages_requested");
        claims = info_string(kf, "key");
    }
    /* The folder appears when build-guest.sh or import moves it in. */
    if (stat(dir, &st) == 0) {
        struct tm tm;
        gmtime_r(&st.st_mtime, &tm);
        strftime(built, sizeof(built), "%Y-%m-%d %H:%M", &tm);
    }
    /* A distribution image (build-debian.sh) says so, with the packages
     * it was built with; the default guest's images have no kind. An
     * imported one says what its GUEST-INFO claims. */
    char *what =
        kind ? g_strdup_printf("  (%s%s%s)", kind, asked && *asked ? ": " : "", asked ? asked : "")
             : g_strdup("");
    char *from = imported ? g_strdup_printf("  (imported; its GUEST-INFO says key %.12s)",
                                            claims ? claims : "none")
                          : g_strdup("");
    rn_say("%-64s  %-16s  %-16s%s%s%s", key, release ? release : "(no GUEST-INFO)", built,
           !imported && dflt && strcmp(dflt, key) == 0 ? "  (the build's default)" : "", from,
           what);
    g_free(from);
    g_free(what);
    g_free(claims);
    g_free(asked);
    g_free(kind);
    g_free(release);
    g_key_file_free(kf);
    g_free(info);
    g_free(dir);
}

int rn_guest_list(void)
{
    char *cache = rn_guest_cache_dir(), *imported = rn_imported_guest_dir();
    GPtrArray *keys = rn_cache_keys(cache), *imports = rn_cache_keys(imported);
    if (keys->len + imports->len == 0) {
        rn_say("qns: no guest images in %s/", cache);
    } else {
        rn_say("%-64s  %-16s  %s", "key", "kernel", "in the cache since (UTC)");
    }
    char *dflt = default_key();
    for (guint i = 0; i < keys->len; i++) {
        list_image(cache, g_ptr_array_index(keys, i), dflt, 0);
    }
    for (guint i = 0; i < imports->len; i++) {
        list_image(imported, g_ptr_array_index(imports, i), dflt, 1);
    }
    g_free(dflt);
    g_ptr_array_free(imports, TRUE);
    g_ptr_array_free(keys, TRUE);
    g_free(imported);
    g_free(cache);
    return RN_EXIT_OK;
}

/* The boot files of the unpacked image against the unpacked manifest, and
 * its GUEST-INFO key against the manifest's. */
static int check_image(const char *image, JsonObject *gi, const char *package)
{
    char *info = g_build_filename(image, "GUEST-INFO", NULL);
    GKeyFile *kf = g_key_file_new();
    char *key =
        g_key_file_load_from_file(kf, info, G_KEY_FILE_NONE, NULL) ? info_string(kf, "key") : NULL;
    const char *want = rn_json_string(gi, "key");
    int r = -1;
    if (qns_guest_key_check(want, NULL) < 0 || g_strcmp0(key, want) != 0) {
        rn_error("%s: the packed GUEST-INFO has key %s, the manifest %s", package,
                 key ? key : "none", want ? want : "none");
    } else {
        r = rn_check_image_files(image, gi, "not importing the guest image");
    }
    g_free(key);
    g_key_file_free(kf);
    g_free(info);
    return r;
}

/* Unpacks PACKAGE's manifest and guest/ into tmp (every member checked as
 * verify checks it); the folder they are in, or NULL after one line. */
static char *unpack_image(const char *package, const char *tmp)
{
    const char *const only[] = {"*/" RN_MANIFEST, "*/guest/*", NULL};
    const rn_unpack_limits limits = RN_UNPACK_LIMITS;
    char *why = NULL;
    int r = rn_unpack(package, tmp, &limits, only, &why);
    if (r < 0) {
        rn_error("cannot unpack %s: %s", package, why);
        g_free(why);
    }
    GDir *d = r == 0 ? g_dir_open(tmp, 0, NULL) : NULL;
    const char *top = d ? g_dir_read_name(d) : NULL;
    char *folder = top ? g_build_filename(tmp, top, NULL) : NULL;
    if (d) {
        g_dir_close(d);
    }
    return folder;
}

/* The checked image (folder image, described by the manifest's
 * guest_image gi) moved into the cache of imports by its content key,
 * unless it is there already; an exit status. */
static int move_in(const char *image, JsonObject *gi, const char *cache, const char *package)
{
    const char *claims = rn_json_string(gi, "key");
    const char *release = rn_json_string(gi, "kernel_release");
    char *key = rn_image_content_key(image);
    char *dest = key ? g_build_filename(cache, key, NULL) : NULL;
    int status = RN_EXIT_FAIL;
    if (key == NULL) {
        rn_error("cannot read the guest image of %s", package);
    } else if (g_file_test(dest, G_FILE_TEST_IS_DIR)) {
        rn_say("qns: guest image %s (kernel %s) is in the cache already: %s/", key,
               release ? release : "?", dest);
        status = RN_EXIT_OK;
    } else if (rename(image, dest) < 0 || g_utime(dest, NULL) < 0) {
        rn_error("cannot move %s to %s: %s", image, dest, g_strerror(errno));
    } else {
        /* The key is the hash of the files: it proves what they are,
         * not where they come from. */
        rn_say("qns: imported guest image %s (kernel %s) into %s/", key, release ? release : "?",
               dest);
        rn_say("qns: its GUEST-INFO says it was built by the recipe of key %s, which its "
               "files do not prove; a scenario boots it with guest_image = %s",
               claims, key);
        status = RN_EXIT_OK;
    }
    g_free(dest);
    g_free(key);
    return status;
}

int rn_guest_import(const char *package)
{
    char *cache = rn_imported_guest_dir();
    if (g_mkdir_with_parents(cache, 0755) < 0) {
        rn_error("cannot create %s: %s", cache, g_strerror(errno));
        g_free(cache);
        return RN_EXIT_FAIL;
    }
    if (!g_file_test(package, G_FILE_TEST_IS_REGULAR)) {
        rn_error("%s is not a package file (from qns pack)", package);
        g_free(cache);
        return RN_EXIT_USAGE;
    }
    /* Unpacked inside the cache, so the image moves in with one rename. */
    char *tmp = rn_temp_dir(cache, ".import-");
    if (tmp == NULL) {
        g_free(cache);
        return RN_EXIT_FAIL;
    }
    int status = RN_EXIT_FAIL;
    char *folder = unpack_image(package, tmp);
    rn_manifest m = {0};
    JsonObject *gi =
        folder && rn_manifest_load(folder, &m) == 0 ? rn_json_object(m.root, "guest_image") : NULL;
    char *image = folder ? g_build_filename(folder, "guest", NULL) : NULL;
    char *info = image ? g_build_filename(image, "GUEST-INFO", NULL) : NULL;
    char e[QNS_ERRBUF_SIZE];
    if (folder && m.parser && (gi == NULL || !g_file_test(image, G_FILE_TEST_IS_DIR))) {
        rn_error("%s carries no default guest image", package);
    } else if (gi && qns_guest_info_check(info, e) < 0) {
        rn_error("not importing the guest image of %s: %s", package, e);
    } else if (gi && check_image(image, gi, package) == 0) {
        status = move_in(image, gi, cache, package);
    }
    if (m.parser) {
        g_object_unref(m.parser);
    }
    rn_remove_tree(tmp);
    g_free(info);
    g_free(image);
    g_free(folder);
    g_free(tmp);
    g_free(cache);
    return status;
}
