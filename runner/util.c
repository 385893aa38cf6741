/*
 * util.c - small helpers of the runner: file hashes, timestamps, the
 * default QEMU and guest image locations (resolved as the library does),
 * listing an output folder.
 */
#define _GNU_SOURCE
#include "runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

char *rn_file_sha256(const char *path, char **why)
{
    GError *ge = NULL;
    GMappedFile *m = g_mapped_file_new(path, FALSE, &ge);
    if (m == NULL) {
        *why = g_strdup(ge->message);
        g_error_free(ge);
        return NULL;
    }
    const char *data = g_mapped_file_get_contents(m);
    gsize len = g_mapped_file_get_length(m);
    char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)(data ? data : ""),
                                            len);
    g_mapped_file_unref(m);
    return sum;
}

char *rn_timestamp(void)
{
    time_t t = time(NULL);
    struct tm tm;
    char buf[32];
    localtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y%m%d-%H%M%S", &tm);
    return g_strdup(buf);
}

/* The same resolution as qns_sim_new with qemu/guest_dir NULL. */
const char *rn_default_qemu(void)
{
    const char *env = getenv("QNS_QEMU");
    return env && *env ? env : QNS_BUILD_QEMU;
}

const char *rn_default_guest_dir(void)
{
    const char *env = getenv("QNS_GUEST_DIR");
    return env && *env ? env : QNS_BUILD_GUEST_DIR;
}

static void list_into(const char *root, const char *rel, const char *const *skip, GPtrArray *out)
{
    char *path = rel ? g_build_filename(root, rel, NULL) : g_strdup(root);
    GDir *d = g_dir_open(path, 0, NULL);
    if (d == NULL) {
        g_free(path);
        return;
    }
    const char *n;
    while ((n = g_dir_read_name(d)) != NULL) {
        char *r = rel ? g_build_filename(rel, n, NULL) : g_strdup(n);
        char *full = g_build_filename(root, r, NULL);
        int skipped = 0;
        for (int i = 0; skip && skip[i]; i++) {
            skipped |= g_pattern_match_simple(skip[i], r);
        }
        if (skipped) {
            g_free(r);
        } else if (g_file_test(full, G_FILE_TEST_IS_DIR) &&
                   !g_file_test(full, G_FILE_TEST_IS_SYMLINK)) {
            list_into(root, r, skip, out);
            g_free(r);
        } else if (g_file_test(full, G_FILE_TEST_IS_REGULAR)) {
            g_ptr_array_add(out, r);
        } else {
            g_free(r);
        }
        g_free(full);
    }
    g_dir_close(d);
    g_free(path);
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *rn_list_files(const char *dir, const char *const *skip)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    list_into(dir, NULL, skip, out);
    g_ptr_array_sort(out, cmp_str);
    return out;
}
