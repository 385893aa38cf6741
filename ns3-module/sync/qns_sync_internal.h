/*
 * qns_sync_internal.h - what the grant core's files (qns_sync*.c) share, not
 * installed: a simulation (struct qns_sync) with each guest's state and the
 * frames of the round under way, and the functions one file gives another.
 *
 * qns_sync.c         the simulation: options, pinning, guests, their state
 * qns_sync_round.c   rounds: grants, the poll set and its events
 * qns_sync_reply.c   a guest's reply: read, checked, its clock advanced
 * qns_sync_frames.c  frames out to guests and in from them: their checks
 *                    (order, late records, a round's end, the run's end) and
 *                    their delivery in order
 * qns_sync_wait.c    a round's wait for its replies: poll, spin, the
 *                    watchdog and wait reports
 * qns_sync_stop.c    stop requests, a guest's end, shutdown
 */
#ifndef QNS_SYNC_INTERNAL_H
#define QNS_SYNC_INTERNAL_H

#include "qns_sync.h"

#include "qns_record_io.h"

#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* None of this leaves the library. */
#pragma GCC visibility push(hidden)

typedef struct sync_guest {
    qns_guest *proc;
    qns_record_channel *nic[QNS_GUEST_MAX_NICS];
    int64_t clock_us;
    int64_t granted_us;
    uint64_t rounds;
    int32_t last_reply_us;
    int done;
    int hung;          /* the watchdog gave up on it: shutdown does not wait for it */
    int64_t cpu_us;    /* its CPU time when the watchdog's window began; -1: unknown */
    char cpu_err[160]; /* why it is unknown */
    uint64_t dropped;
    uint64_t late;                           /* late records the guest sent */
    uint64_t unopened;                       /* frames dropped before a NIC started */
    int32_t over_grant_us, over_reply_us;    /* its last reply above its grant */
    uint64_t over_round;                     /* in this round (0: none yet) */
    int sealed;                              /* its last reply: no NIC started yet */
    int64_t open_us;                         /* its first NIC started here; -1 */
    uint64_t last_tx_ns[QNS_GUEST_MAX_NICS]; /* stamp of each NIC's last frame */
    /* this round */
    int64_t start_us;   /* the guest's clock when it began */
    uint64_t max_tx_ns; /* latest stamp of its frames */
    int max_tx_nic;     /* the NIC that sent it */
    int32_t grant_us;
    int granted;
    int grant_written;
    int replied;
    uint8_t reply_buf[2 * sizeof(int32_t)]; /* the reply, and the horizon if spoken */
    size_t reply_have;
    int32_t horizon_us; /* from the last reply; QNS_HORIZON_BUSY */
    int records_taken;  /* the poll that found the reply looked at its sockets
                           after the reply pipe, and they were drained */
    uint64_t queued_ns; /* earliest frame queued for its next grant */
} sync_guest;

typedef struct rx_frame {
    uint64_t time_ns;
    uint64_t seq;
    int guest;
    int nic;
    size_t offset;
    uint32_t length;
} rx_frame;

struct qns_sync {
    qns_sync_options opts;
    sync_guest *guests;
    int count;
    int cap;
    int failed;
    int stopped;
    int in_round;
    uint64_t round_no;
    qns_sync_frame_fn frame_fn;
    void *frame_ctx;
    /* frames received in the current round, delivered sorted at its end */
    rx_frame *rx;
    size_t rx_count;
    size_t rx_cap;
    uint8_t *arena;
    size_t arena_used;
    size_t arena_cap;
    uint64_t rx_seq;
    struct pollfd *pfd;
    size_t pfd_cap;
    /* opts.pin: the CPUs the thread had; guest k goes to cpus[(home + k) % cpu_count] */
    int pinned;
    cpu_set_t saved_cpus;
    int *cpus;
    int cpu_count;
    int home;
    char *watchdog_off; /* opts.watchdog_off, owned */
};

static inline int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t now_ms(void)
{
    return now_us() / 1000;
}

/* ---- qns_sync.c ---------------------------------------------------------- */

/* Says fmt in errbuf and marks the simulation failed; returns -1. */
int fail(qns_sync *s, char *errbuf, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- qns_sync_frames.c --------------------------------------------------- */

/* Makes *p hold `need` elements of `elem` bytes (*cap of them now). */
int grow(void **p, size_t *cap, size_t need, size_t elem, char *errbuf);
/* Takes every record guest i's NIC sockets hold. */
int drain_guest(qns_sync *s, int i, char *errbuf);
/* Fails guest i's round if it sent a frame after the instant it replied. */
int check_round_end(qns_sync *s, int i, char *errbuf);
/* Hands the round's frames to the frame handler in their order. */
void deliver_round_frames(qns_sync *s);

/* ---- qns_sync_reply.c ---------------------------------------------------- */

/* Reads what guest i's reply pipe holds; a whole reply is taken. */
int read_reply(qns_sync *s, int i, char *errbuf);

/* ---- qns_sync_wait.c ----------------------------------------------------- */

/* A round's wait for its replies: the wall-clock instants (ms, 0: none) at
 * which the watchdog and the wait reports look. */
typedef struct round_wait {
    int64_t start;
    int watchdog_ms;
    int64_t deadline;
    /* The CPU window: from window_at (0: not begun) to the deadline. */
    int64_t window_at;
    int64_t window_ms;
    int windows;
    int report_ms;
    int64_t next_report;
    int64_t spin_until; /* in us; 0: no spin */
} round_wait;

void round_wait_begin(const qns_sync *s, round_wait *w);
/* Polls the n descriptors of s->pfd (spinning first, with spin_us) until
 * the next instant w looks at. */
int round_wait_poll(qns_sync *s, const round_wait *w, size_t n);
/* The poll timed out: what is due at this instant; -1 ends the round. */
int round_wait_timed_out(qns_sync *s, round_wait *w, int waiting, char *errbuf);

/* ---- qns_sync_stop.c ----------------------------------------------------- */

/* What guest_closed says of a NIC socket that closed (told by its address). */
extern const char closed_nic[];
int stop_requested(qns_sync *s);
int fail_stopped(qns_sync *s, char *errbuf);
/* Guest i's pipe or socket closed (`what`): how it ended fails the round. */
int guest_closed(qns_sync *s, int i, const char *what, int may_finish, char *errbuf);

#pragma GCC visibility pop

#endif
