/*
 * snapshot.c - `qns snapshot list`: the snapshots of the default guest
 * (boot = snapshot) in the cache, one folder per key (snapshot/KEY, as
 * qns-guest-snapshot.cc makes them): the machine each is of, as its INPUTS
 * say, its sizes and when it was made.
 */
#define _GNU_SOURCE
#include "runner.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* "256M, 2 NICs (virtio-net-pci, e1000)" from an INPUTS text: -m's word and
 * each -device that follows a -netdev; ", root disk" when an image's disk
 * is in it (its overlay is then in the snapshot). */
static char *machine_of(const char *inputs)
{
    gchar **lines = g_strsplit(inputs, "\n", -1);
    GString *nics = g_string_new(NULL);
    const char *memory = "?";
    int count = 0, disk = 0;
    for (int i = 0; lines[i] && lines[i + 1]; i++) {
        disk = disk || strcmp(lines[i], "word root-disk") == 0;
        if (strcmp(lines[i], "word -m") == 0 && g_str_has_prefix(lines[i + 1], "word ")) {
            memory = lines[i + 1] + 5;
        }
        if (strcmp(lines[i], "word -netdev") == 0 && lines[i + 2] &&
            strcmp(lines[i + 2], "word -device") == 0 && lines[i + 3]) {
            const char *dev = g_str_has_prefix(lines[i + 3], "word ") ? lines[i + 3] + 5 : "?";
            g_string_append_printf(nics, "%s%.*s", count++ ? ", " : "", (int)strcspn(dev, ","),
                                   dev);
        }
    }
    char *r = g_strdup_printf("%s, %d NIC%s%s%s%s%s", memory, count, count == 1 ? "" : "s",
                              count ? " (" : "", nics->str, count ? ")" : "",
                              disk ? ", root disk" : "");
    g_string_free(nics, TRUE);
    g_strfreev(lines);
    return r;
}

/* MiB a file holds on disk (a RAM file is sparse). */
static double allocated_mib(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (double)st.st_blocks * 512 / (1 << 20) : 0;
}

static void list_snapshot(const char *root, const char *key)
{
    char *dir = g_build_filename(root, key, NULL);
    char *inputs_path = g_build_filename(dir, "INPUTS", NULL);
    char *ram = g_build_filename(dir, "ram", NULL), *stream = g_build_filename(dir, "stream", NULL);
    gchar *inputs = NULL;
    char made[32] = "-";
    struct stat st;
    if (!g_file_get_contents(inputs_path, &inputs, NULL, NULL)) {
        g_free(inputs_path);
        g_free(ram);
        g_free(stream);
        g_free(dir);
        return; /* not a snapshot's folder */
    }
    if (stat(dir, &st) == 0) {
        struct tm tm;
        gmtime_r(&st.st_mtime, &tm);
        strftime(made, sizeof(made), "%Y-%m-%d %H:%M", &tm);
    }
    char *machine = machine_of(inputs);
    rn_say("%-64s  %-16s  %8.1f  %9.2f  %s", key, made, allocated_mib(ram),
           allocated_mib(stream), machine);
    g_free(machine);
    g_free(inputs);
    g_free(inputs_path);
    g_free(ram);
    g_free(stream);
    g_free(dir);
}

int rn_snapshot_list(void)
{
    size_t n = qns_cache_dir(NULL, 0);
    char *cache = g_malloc(n + 1);
    qns_cache_dir(cache, n + 1);
    char *root = g_build_filename(cache, "snapshot", NULL);
    GPtrArray *keys = rn_cache_keys(root);
    int shown = 0;
    for (guint i = 0; i < keys->len; i++) {
        const char *key = g_ptr_array_index(keys, i);
        if (strlen(key) != 64 || strspn(key, "0123456789abcdef") != 64) {
            continue; /* config/, hashes/ */
        }
        if (!shown++) {
            rn_say("%-64s  %-16s  %8s  %9s  %s", "key", "made (UTC)", "RAM MiB", "stream MiB",
                   "machine");
        }
        list_snapshot(root, key);
    }
    if (!shown) {
        rn_say("qns: no snapshots in %s/", root);
    }
    g_ptr_array_free(keys, TRUE);
    g_free(root);
    g_free(cache);
    return RN_EXIT_OK;
}
