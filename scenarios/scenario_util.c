/*
 * scenario_util.c - helpers shared by the C scenarios.
 */
#define _GNU_SOURCE
#include "scenario_util.h"

#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    char summary[256];
    qns_run_summary(qns_sim_end_ns(sim), wall, qns_sim_rounds(sim), qns_sim_late_frames(sim),
                    summary, sizeof(summary));
    printf("%s: %s\n", name, summary);
    int status = 0;
    for (int i = 0; i < guests; i++) {
        qns_guest_stats st;
        qns_sim_guest_stats(sim, i, &st);
        const char *n = strrchr(st.console_path, '/');
        n = n ? n + 1 : st.console_path;
        char gname[64];
        snprintf(gname, sizeof(gname), "%.*s", (int)(strcspn(n, ".")), n);
        char line[QNS_MAX_NICS * 96 + 256];
        qns_guest_summary(&st, line, sizeof(line));
        printf("guest %s: %s\n", gname, line);
        int s = qns_print_command_output(gname, st.console_path, stdout);
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
