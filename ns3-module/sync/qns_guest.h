/*
 * qns_guest.h - one guest process (QEMU or the fake guest) and its wiring:
 * the -qqq grant/reply pipes and one -netdev qqq socket per NIC, placed at
 * fixed descriptor numbers in the child so its argv is the same every run.
 * It spawns, reports how the process ended, and shuts it down without ever
 * leaving a process or zombie behind. It does not speak the protocols: see
 * qns_sync.h for rounds.
 */
#ifndef QNS_GUEST_H
#define QNS_GUEST_H

#include "qns_errbuf.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif


/* Descriptor numbers inside the child: `-qqq write=3,read=4`, NIC i at 5+i. */
#define QNS_GUEST_FD_REPLY 3
#define QNS_GUEST_FD_GRANT 4
#define QNS_GUEST_FD_NIC0 5
#define QNS_GUEST_MAX_NICS 16
/* When argv runs the guest under bwrap with --info-fd QNS_GUEST_FD_INFO (as
 * qns_confine_argv's does), a pipe there tells the spawner the pid of the
 * confined process: the one qns_guest_pid names and whose CPU time counts. */
#define QNS_GUEST_FD_INFO (QNS_GUEST_FD_NIC0 + QNS_GUEST_MAX_NICS)
/* The snapshot file, when the spec names one (`-qqq save=22` or `restore=22`). */
#define QNS_GUEST_FD_SNAPSHOT (QNS_GUEST_FD_INFO + 1)

typedef struct qns_guest_spec {
    const char *name;          /* used in every message about this guest */
    const char *const *argv;   /* NULL-terminated; argv[0] is looked up in PATH */
    int nic_count;             /* 0 .. QNS_GUEST_MAX_NICS */
    const char *console_path;  /* receives the child's stdout and stderr; NULL: discarded */
    int pin_cpu;               /* N > 0: the process (and every thread it starts) runs on
                                  CPU N - 1 only; 0: on the CPUs the caller may use */
    int horizon;               /* 1: the guest was started with -qqq ...,horizon=on and
                                  follows each reply with its horizon (qns_sync.h) */
    const char *snapshot_path; /* non-NULL: opened and passed as QNS_GUEST_FD_SNAPSHOT */
    int snapshot_save;         /* 1: created (truncated) for writing; 0: read-only */
} qns_guest_spec;

typedef struct qns_guest qns_guest;

/*
 * Starts the process. On success the parent holds the grant pipe's write end,
 * the reply pipe's read end and the simulator end of every NIC socket, all
 * close-on-exec. The child gets SIGKILL if this thread exits first and runs in
 * a process group of its own (a terminal's Ctrl-C reaches only the simulator,
 * which then shuts guests down in order). When the guest ends or is killed,
 * its whole group is killed, so no process it started survives it. Returns
 * NULL with errbuf set.
 */
qns_guest *qns_guest_spawn(const qns_guest_spec *spec, char *errbuf);

const char *qns_guest_name(const qns_guest *g);
/* The guest's own process: QEMU itself, also when confined (then bwrap,
 * which it runs under, is the process spawned, waited for and killed). */
pid_t qns_guest_pid(const qns_guest *g);
int qns_guest_grant_fd(const qns_guest *g);
int qns_guest_reply_fd(const qns_guest *g);
int qns_guest_nic_count(const qns_guest *g);

/*
 * Hands the simulator end of NIC i to the caller (who then owns and closes
 * it); returns -1 if already taken.
 */
int qns_guest_take_nic_fd(qns_guest *g, int nic);

/* Fills `out` with "-qqq"-option text for argv building: "write=3,read=4". */
void qns_guest_qqq_option(char *out, size_t size);
/* Whether the guest speaks the horizon extension (qns_guest_spec.horizon). */
int qns_guest_horizon(const qns_guest *g);
/* Fills `out` with "-netdev qqq" option text for NIC i: "qqq,id=ID,fd=N". */
void qns_guest_netdev_option(char *out, size_t size, const char *id, int nic);

/*
 * The CPU time the process has used so far, all its threads together (those
 * that ended included: utime + stime), in us, from its CPU-time clock
 * (clock_getcpuclockid), which counts in ns where /proc/PID/stat counts in
 * clock ticks of 10 ms. Returns 0, or -1 with errbuf set.
 */
int qns_guest_cpu_us(const qns_guest *g, int64_t *cpu_us, char *errbuf);

/*
 * Waits for the process to end if it has (non-blocking), or up to timeout_ms.
 * Returns 1 when it has ended (status recorded), 0 when still running, -1 on
 * error.
 */
int qns_guest_wait(qns_guest *g, int timeout_ms, char *errbuf);

/* Whether the process has ended, and how: "exited with status 3", ... */
int qns_guest_ended(const qns_guest *g);
int qns_guest_exit_status(const qns_guest *g); /* raw wait status */
void qns_guest_describe_end(const qns_guest *g, char *out, size_t size);

/* The last `lines` lines of the console file, joined with " | ". */
void qns_guest_console_tail(const qns_guest *g, int lines, char *out, size_t size);

/* Closes the pipes and NIC sockets still held: a well-behaved guest exits. */
void qns_guest_close(qns_guest *g);

/*
 * Closes the pipes (a well-behaved guest then exits by itself), waits up to
 * timeout_ms, then kills and reaps. Safe to call more than once.
 */
void qns_guest_shutdown(qns_guest *g, int timeout_ms);

/* Shuts down (if needed, with a short timeout) and frees. */
void qns_guest_free(qns_guest *g);

#ifdef __cplusplus
}
#endif

#endif
