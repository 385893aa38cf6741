/*
 * runner.h - the parts of the qns command-line runner: unit parsing,
 * scenario files, run/verify/pack, report. Internal to runner/; the only
 * simulation interface underneath is qns.h.
 */
#ifndef QNS_RUNNER_H
#define QNS_RUNNER_H

#include "qns.h"
#include "settings.h"

#include <glib.h>
#include <stdint.h>

/* Exit statuses of the qns command. */
enum {
    RN_EXIT_OK = 0,
    RN_EXIT_FAIL = 1,  /* the run failed, or verify found a difference */
    RN_EXIT_USAGE = 2, /* bad command line or bad scenario file */
    RN_EXIT_INTERRUPTED = 130,
};

/* ---- units.c: values as people write them. Each returns 0, or -1 with a
 * reason in *why (g_free it) that names the value and what was expected. */
int rn_parse_duration_ns(const char *s, uint64_t *out, char **why);
int rn_parse_rate_bps(const char *s, uint64_t *out, char **why);
/* "10m", "2.5m", "1km": whole millimetres, above 0. */
int rn_parse_distance_m(const char *s, double *out, char **why);
int rn_parse_loss(const char *s, double *out, char **why);
int rn_parse_queue(const char *s, uint32_t *out, char **why);
int rn_parse_memory_mb(const char *s, uint32_t *out, char **why);
int rn_parse_uint(const char *s, uint64_t max, uint64_t *out, char **why);
int rn_parse_bool(const char *s, int *out, char **why);
int rn_parse_ipv4(const char *s, int with_prefix, char **why);
/* "1.5 s", "250 us": a duration for people, in the largest exact-ish unit. */
char *rn_format_duration(uint64_t ns);

/* ---- settings.h (included above): a scenario file, loaded and checked, and its
 * settings. */

/* ---- util.c */
/* The SHA-256 of a regular file (a symbolic link followed; a FIFO or a
 * device is refused without waiting on it), or NULL with *why (g_free). */
char *rn_file_sha256(const char *path, char **why);
/* The same for a file of a run folder: a symbolic link is refused too. */
char *rn_plain_file_sha256(const char *path, char **why);
/* The bytes of a regular file of at most max bytes, not through a symbolic
 * link and without waiting on a FIFO; NULL with *why (g_free) else. */
char *rn_read_plain_file(const char *path, gsize max, gsize *len, char **why);
/* What a file of this mode is, for "PATH is ...": "a FIFO", "a symbolic
 * link", "a folder", ... */
const char *rn_file_kind(unsigned int mode);
/* Writes all of buf to fd, through short writes and EINTR; 0, or -1 with errno. */
int rn_write_all(int fd, const char *buf, size_t len);
/* Whether path (trailing slashes ignored) is a symbolic link itself. */
int rn_is_symlink(const char *path);
char *rn_timestamp(void); /* YYYYmmdd-HHMMSS, local time */
/* Regular files below dir (relative paths, sorted; symbolic links neither
 * listed nor followed), skipping names in skip. */
GPtrArray *rn_list_files(const char *dir, const char *const *skip);
/* What a run folder holds besides outputs: manifest, scenario copy, lock, ... */
extern const char *const rn_not_outputs[];
/* User input as messages quote it: control characters and bytes that are
 * not UTF-8 as \xNN (qns_escape), at most RN_QUOTE_MAX_CHARS
 * characters then "..." (a path: RN_QUOTE_MAX_PATH). rn_escape only
 * escapes. g_free each. */
#define RN_QUOTE_MAX_CHARS 64
#define RN_QUOTE_MAX_PATH 4096
char *rn_quote(const char *s);
char *rn_quote_path(const char *s);
char *rn_escape(const char *s);
/* Prints "qns: MESSAGE" and a newline to stderr, the message escaped as
 * rn_escape does: messages name paths and words of the command line. */
void rn_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints MESSAGE and a newline to stdout, escaped the same way: every line
 * that names a path, a file of a run folder or package, or shows text a
 * guest wrote. A message is one line (a newline in it is escaped too). */
void rn_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* NULL when access(path, mode) allows it; else what is wrong, to follow
 * "'PATH' ": "is not there", or "cannot be read: Permission denied (folder
 * '/x' cannot be searched)" (g_free). */
char *rn_path_problem(const char *path, int mode);
/* Locks an output folder against every other qns (flock on DIR/.qns.lock,
 * close-on-exec, holding this process's pid) until rn_unlock_dir. Returns
 * the descriptor, or -1 with *why set (g_free): "DIR is in use by another
 * qns (pid N); ...". The lock file stays, so it is never two files. */
int rn_lock_dir(const char *dir, char **why);
void rn_unlock_dir(int fd);

/* ---- ranks.c: a scenario split over MPI ranks (mpirun -np N qns run). Rank
 * 0 writes the run folder; every other rank runs into a staging folder of
 * its own, then sends its results and output files to rank 0. */

/* What a run (one rank's part, or all of it) produced. */
typedef struct rn_run_result {
    int r;          /* qns_sim_run's: 0 completed, 1 interrupted, -1 failed */
    int stopped_by; /* qns_sim_stopped_by's: the rank that ended the run, -1 */
    char error[QNS_ERRBUF_SIZE];
    uint64_t end_ns, rounds, late_frames;
    double wall_s;
    int guest_count;
    qns_guest_stats *guests;
    int app_count;
    uint64_t *app_rx_bytes; /* per node application: packet sinks' bytes received */
} rn_run_result;

/* A rank's own figures, for the manifest. */
typedef struct rn_rank_figures {
    uint64_t end_ns, rounds, late_frames;
    double wall_s;
} rn_rank_figures;

/* Rank `rank`'s message to rank 0: its outcome and figures, its guests'
 * stats and its applications' bytes from rr, and every file of staging;
 * *ok becomes 0 (the reason printed) when a file could not be read. */
GBytes *rn_rank_pack(const rn_settings *set, const rn_run_result *rr, const char *staging,
                     uint32_t rank, int *ok);
/* On rank 0: takes rank `from`'s message into rr (worst outcome, latest
 * end, its guests' and applications' parts; figure: its own), writing its
 * files into dir. 0, or -1 with what is wrong with it printed: malformed,
 * a guest or file that is not that rank's to report (another rank's guest,
 * a file another rank wrote, a name that is no file of a run folder). */
int rn_rank_take(const rn_settings *set, rn_run_result *rr, const char *dir, uint32_t from,
                 GBytes *msg, rn_rank_figures *figure);
/* On a rank other than 0: sends rr (its guests' and applications' parts)
 * and every file of staging to rank 0, then removes staging. 0 or -1. */
int rn_rank_send(const rn_settings *set, const rn_run_result *rr, const char *staging);
/* On rank 0, after its own part into rr: takes each other rank's (its
 * guests' stats, its applications' bytes, the worst outcome, the latest
 * end) and writes its files into dir; figures[k] gets rank k's own. 0, or
 * -1 with the reason printed. */
int rn_rank_gather(const rn_settings *set, rn_run_result *rr, const char *dir, uint32_t ranks,
                   rn_rank_figures *figures);

/* ---- environment.c: the QEMU and guest image folder qns_sim_new takes with
 * qemu/guest_dir NULL (the library decides). */
const char *rn_default_qemu(void);
const char *rn_default_guest_dir(void);

/* ---- run.c, verify.c, report.c: the subcommands. Each returns an exit status. */
typedef struct rn_run_options {
    const char *scenario_path;
    const char *out_dir;  /* NULL: results/NAME-TIMESTAMP */
    const char *base_dir; /* NULL: the scenario file's folder */
    rn_places places;     /* the QEMU and guest image (NULL fields: the library's) */
    int quiet;            /* no progress display */
    /* verify: the scenario came from a run folder or package, maybe a
     * stranger's; its guests' programs run only with trust_programs */
    int verifying, trust_programs;
    /* verify: the SHA-256 of every input file the manifest names (a
     * GHashTable of strings, or NULL): without trust, the scenario may read
     * no other file into a guest */
    GHashTable *known_inputs;
    char *out_dir_used; /* set by rn_run: the folder written (g_free it) */
} rn_run_options;

int rn_run(rn_run_options *opt);
/* dir: a run folder, or a package from rn_pack (unpacked beside it). */
/* trust_package: run the programs its scenario names (program =), which a
 * verify otherwise refuses. */
int rn_verify(const char *dir, const char *out_dir, int trust_package);
/* with_qemu: also the patched QEMU and its firmware (package.c); force:
 * replace DIR.tar.zst when it exists (else that is refused). */
int rn_pack(const char *dir, int with_qemu, int force);
/* The cache's guest image folder: QNS_CACHE_DIR, else $XDG_CACHE_HOME/qns,
 * else ~/.cache/qns; then guest/ (g_free it). */
char *rn_guest_cache_dir(void);
/* The cache's folder of imported guest images (QNS_IMPORTED_GUESTS). */
char *rn_imported_guest_dir(void);
/* The key of an imported image: the SHA-256 of "SHA256 NAME" lines of its
 * files in name order, or NULL when one cannot be read. */
char *rn_image_content_key(const char *dir);
/* The key of the imported image at dir, or NULL when dir is not one. */
char *rn_imported_image_key(const char *dir);
/* guest.c: `qns guest list`, `qns guest import PACKAGE`. */
int rn_guest_list(void);
/* The folder names (keys) under cache but hidden ones, sorted (g_free'd
 * with the array). */
GPtrArray *rn_cache_keys(const char *cache);
/* `qns snapshot list`: the snapshots in the cache (snapshot.c). */
int rn_snapshot_list(void);
int rn_guest_import(const char *package);
int rn_report(const char *dir, int plots);

/* The files of a guest image the manifest hashes: the GUEST-INFO key that
 * names the file, the manifest's member with its SHA-256, and whether an
 * image may lack it (the default guest has no disk; a distribution image
 * from build-debian.sh boots from one). */
typedef struct {
    const char *name, *sha256;
    int optional;
} rn_image_file;
extern const rn_image_file rn_image_files[];
extern const size_t rn_image_file_count;

#define RN_SCENARIO_COPY "scenario.ini"
#define RN_MANIFEST "manifest.json"
#define RN_LOCK_FILE ".qns.lock"

#endif
