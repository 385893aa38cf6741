/*
 * scenario_util.c - helpers shared by the C scenarios.
 */
#define _GNU_SOURCE
#include "scenario_util.h"
#include "escape.h"

#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int scenario_print_command_output(const char *guest, const char *console_path)
{
    gchar *data = NULL;
    if (!g_file_get_contents(console_path, &data, NULL, NULL)) {
        return -2;
    }
    int status = -1, inside = 0;
    char *shown = scenario_escape(guest, 0);
    gchar **lines = g_strsplit(data, "\n", -1);
    for (gchar **l = lines; *l; l++) {
        g_strchomp(*l);
        if (g_str_has_prefix(*l, "QNS-CMD-BEGIN")) {
            inside = 1;
        } else if (g_str_has_prefix(*l, "QNS-CMD-END")) {
            inside = 0;
            sscanf(*l, "QNS-CMD-END status=%d", &status);
        } else if (inside || g_str_has_prefix(*l, "QNS-GUEST: error")) {
            char *line = scenario_escape(*l, 0); /* a guest is code from anyone */
            printf("  %s| %s\n", shown, line);
            g_free(line);
        }
    }
    g_strfreev(lines);
    g_free(shown);
    g_free(data);
    return status;
}

int scenario_make_dir(const char *dir)
{
    if (g_mkdir_with_parents(dir, 0755) < 0) {
        fprintf(stderr, "error: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

int scenario_run(qns_sim *sim, const char *name, uint64_t duration_ns, int guests,
                 const char *out_dir)
{
    char err[QNS_ERRBUF_SIZE];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = qns_sim_run(sim, duration_ns, err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (r < 0) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    double virt = (double)qns_sim_end_ns(sim) / 1e9;
    printf("%s: %.3f s of virtual time in %.1f s wall (%.3fx), %" PRIu64
           " rounds, %" PRIu64 " late frames\n",
           name, virt, wall, virt / wall, qns_sim_rounds(sim), qns_sim_late_frames(sim));
    int status = 0;
    for (int i = 0; i < guests; i++) {
        qns_guest_stats st;
        qns_sim_guest_stats(sim, i, &st);
        const char *n = strrchr(st.console_path, '/');
        n = n ? n + 1 : st.console_path;
        char gname[64];
        snprintf(gname, sizeof(gname), "%.*s", (int)(strcspn(n, ".")), n);
        printf("guest %s: %" PRIu64 " frames out, %" PRIu64 " frames in, clock %.6f s%s\n",
               gname, st.frames_from_guest, st.frames_to_guest, (double)st.clock_us / 1e6,
               st.done ? ", powered off" : "");
        int s = scenario_print_command_output(gname, st.console_path);
        if (s == -2) {
            printf("  %s: no console output\n", gname);
        }
        if (s > 0) {
            status = 1;
        }
    }
    printf("captures and consoles: %s/\n", out_dir);
    return status;
}

int scenario_main(int argc, char **argv, const char *name, scenario_rounds_fn_t fn,
                  const char *intro, uint64_t duration_ns, int guests)
{
    char *fallback = g_strdup_printf("results/%s", name);
    const char *out = argc > 1 ? argv[1] : fallback;
    char err[QNS_ERRBUF_SIZE];
    int status = 1;
    qns_sim *sim = NULL;
    if (scenario_make_dir(out) < 0) {
        goto done;
    }
    sim = fn(out, 10, QNS_ROUNDS_ADAPTIVE, err);
    if (sim == NULL) {
        fprintf(stderr, "error: %s\n", err);
        goto done;
    }
    printf("%s: %s\n", name, intro);
    status = scenario_run(sim, name, duration_ns, guests, out);
done:
    qns_sim_free(sim);
    g_free(fallback);
    return status;
}
