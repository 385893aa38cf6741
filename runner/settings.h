/*
 * settings.h - a scenario file as the rest of the runner reads it: one
 * plain value (rn_settings), filled once when the file is loaded and
 * checked, then read field by field through a const pointer. The scenario
 * handle (rn_scenario) owns it and every string it points to; it also
 * keeps what only the parsers and the build need (lines, sections).
 */
#ifndef QNS_RUNNER_SETTINGS_H
#define QNS_RUNNER_SETTINGS_H

#include "qns.h"

#include <glib.h>
#include <stdint.h>

/* A scenario is a short text file: anything larger is not one. */
#define RN_SCENARIO_MAX_BYTES (1024 * 1024)

/* A [guest NAME] section. */
typedef struct rn_guest_settings {
    const char *name;
    uint32_t rank;                 /* the MPI rank it runs on (rank =, or ranks = N's partition) */
    const char *program;           /* what it runs instead of QEMU (program =), or NULL */
    const char *const *extra_args; /* NULL-terminated, or NULL */
    const char *const *files;      /* files = SRC:DST pairs as written, NULL-terminated, or NULL */
} rn_guest_settings;

/* A node application (packet sink, bulk or on-off sender), numbered as
 * rn_scenario_build adds them (as qns_sim_add_app numbers them). */
typedef struct rn_app_settings {
    const char *node;   /* the name of the node it runs on */
    uint32_t rank;      /* its node's rank */
    qns_app_config cfg; /* strings owned by the scenario */
} rn_app_settings;

/* Where the QEMU and the default guest image a run uses are: NULL fields
 * are the library's (qns_default_qemu, qns_default_guest_dir); a verify of
 * a package names the packed ones. Passed as values, never through the
 * environment. */
typedef struct rn_places {
    const char *qemu;
    const char *guest_dir;
    const char *snapshot_dir; /* a package's snapshot/ (qns_sim_config.snapshot_dir) */
    int (*stop)(void *ctx);   /* gives up a snapshot's boot (qns_sim_config.stop) */
    void *stop_ctx;
    /* says that a snapshot's boot begins (qns_sim_config.snapshot_boot) */
    void (*snapshot_boot)(void *ctx, const char *guest, const char *key);
    /* verify: how each guest booted, by name ("snapshot" or "cold"), as its
     * manifest says: the re-run boots each so (a guest it does not name,
     * cold: runs from before boot = auto). NULL: as the scenario says. */
    GHashTable *boots;
} rn_places;

typedef struct rn_settings {
    const char *name;
    const char *base_dir; /* relative kernel/initrd/disk/files paths resolve against it */
    uint64_t duration_ns;
    uint32_t quantum_us, seed;
    uint32_t spin_us; /* -qqq spin= and the simulator's spin (0: off) */
    int pin;
    int flow_monitor;     /* FlowMonitor statistics in flowmon.xml */
    int fixed_rounds;     /* rounds = fixed (1) or adaptive (0, the default) */
    uint32_t watchdog_ms; /* as qns_sim_config takes it (0: the default, QNS_WATCHDOG_NONE: none) */
    uint32_t watchdog_effective_ms; /* the bound that applies (0: none) */
    const char *guest_image;        /* [scenario] guest_image = KEY, or NULL */
    const char *guest_dir; /* the guest image folder the guests boot: KEY's, else the default */
    const char *snapshot_dir; /* snapshots looked for before the cache's, or NULL */
    int (*stop)(void *ctx);   /* qns_sim_config.stop and its ctx */
    void *stop_ctx;
    void (*snapshot_boot)(void *ctx, const char *guest, const char *key); /* and this */
    const char *qemu;      /* the QEMU the guests run */
    /* The MPI processes the scenario runs on (rank = N of its guests and
     * nodes: the highest plus one), 1 when it is not split. */
    uint32_t rank_count;
    int uses_qemu;          /* a guest runs QEMU (not a test-kit program) */
    int uses_default_guest; /* ... and boots the default image's kernel or initramfs */
    int guest_count;
    const rn_guest_settings *guests;
    int app_count;
    const rn_app_settings *apps;
    /* Own kernels, initrds and disks the guests use, every backing file of
     * those disks and every file their `files` pack (absolute or
     * base-relative resolved paths), NULL-terminated: the manifest's inputs. */
    const char *const *input_files;
} rn_settings;

/* A scenario file, loaded and checked completely before anything runs. */
typedef struct rn_scenario rn_scenario;

/* Reads and checks FILE. Relative kernel/initrd/disk paths resolve against
 * base_dir (NULL: the file's folder). On mistakes returns NULL and appends
 * one "FILE:LINE: what is wrong\n" per mistake to errors. */
rn_scenario *rn_scenario_load(const char *path, const char *base_dir, const rn_places *places,
                              GString *errors);
void rn_scenario_free(rn_scenario *sc);

/* The settings of a loaded scenario, owned by it. */
const rn_settings *rn_scenario_settings(const rn_scenario *sc);

/* The qns_sim_config of the [scenario] settings, writing into out_dir
 * (NULL: "."). */
qns_sim_config rn_settings_sim_config(const rn_settings *set, const char *out_dir);

/* Builds the simulation described by sc. For each error the API reports
 * (all of them), appends "FILE:LINE: message\n" to errors; NULL when there
 * was one. rn_scenario_load has made the same calls once to check the file. */
qns_sim *rn_scenario_build(const rn_scenario *sc, const qns_sim_config *config, GString *errors);

#endif
