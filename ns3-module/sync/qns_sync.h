/*
 * qns_sync.h - the simulator side of the -qqq time-grant protocol across N
 * guests (DESIGN.md section 2), with each guest's -netdev qqq record
 * channels (section 3) drained while it waits so no buffer can deadlock.
 *
 * A round writes every pending record and then every grant, waits for every
 * reply while draining records, and hands the round's received frames to the
 * caller in a deterministic order: (time_ns, guest, nic, arrival). Each
 * guest's virtual clock is the sum of its replies. Plain C, no ns-3.
 */
#ifndef QNS_SYNC_H
#define QNS_SYNC_H

#include "qns_guest.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A grant value meaning "this guest gets no grant this round". */
#define QNS_NO_GRANT INT32_MIN

/*
 * The horizon extension of -qqq (`-qqq write=W,read=R,horizon=on`, asked for
 * with qns_guest_spec.horizon): each reply is followed by a second int, the
 * guest's horizon in whole microseconds after the instant the reply reached:
 * it cannot transmit before then unless a frame reaches it first (every
 * vCPU halted, nothing pending; its next virtual-timer deadline, including
 * frames already scheduled for delivery, rounded down). QNS_HORIZON_BUSY: it
 * may transmit at once (it is running); QNS_HORIZON_NONE: it has no deadline
 * at all. QNS_HORIZON_SEALED: none of its NICs has started yet, so nothing it
 * does reaches the network and frames for it are dropped (and reported with
 * unopened records); a grant to it ends early, at the first whole
 * microsecond at or after a NIC starts, and that reply says
 * QNS_HORIZON_OPENED (it may transmit at once). Anything below
 * QNS_HORIZON_OPENED is a protocol error.
 */
#define QNS_HORIZON_BUSY (-1)
#define QNS_HORIZON_SEALED (-2)
#define QNS_HORIZON_OPENED (-3)
#define QNS_HORIZON_NONE INT32_MAX

typedef struct qns_sync_options {
    int watchdog_ms;         /* a guest that has not replied within this much wall
                                time of a round, and used no CPU in it (less than
                                1% of it, leaving out its first tenth, at most a
                                second), is hung and fails the round; one that
                                used CPU is busy on a crowded host and is waited
                                for, judged again every watchdog_ms. A guest whose
                                CPU time cannot be read is hung once the time is
                                up. 0: none */
    const char *watchdog_off; /* how the user turns the watchdog off, ending the
                                 watchdog's message ("to wait for it however long
                                 it takes, ..."): the words of the interface they
                                 set it in; copied. NULL: "set watchdog_ms to 0" */
    int shutdown_timeout_ms; /* wait after closing pipes before SIGKILL; 0: 2000 */
    int console_tail_lines;  /* lines of console quoted in errors; 0: 3 */
    int exit_zero_is_done;   /* a guest exiting with status 0 (a guest OS powering
                                off) is done, not failed: it gets no more grants
                                and frames for it are dropped */
    int spin_us;             /* poll for replies without sleeping for up to this
                                much wall time per round before blocking; pays
                                while guests plus simulator fit the host's cores
                                (pair it with -qqq spin=); 0: never */
    int pin;                 /* 1: the calling thread stays on the CPU it runs on
                                at qns_sync_new, guest k on the k-th allowed CPU
                                after it (guest 0 shares it), so a guest and the
                                simulator, which take turns, wake each other
                                without crossing cores; qns_sync_free gives the
                                thread its CPUs back. For a machine a run has to
                                itself: runs started side by side may pick the
                                same CPU. 0: the OS places everything */
    int stop_fd;             /* N > 0: a descriptor (the read end of a pipe a signal
                                handler writes to) that turns readable, and stays
                                so, when the run must stop: every wait of a round
                                or a shutdown wakes at once, the round fails with
                                qns_sync_stopped() set, and shutdown ends guests
                                without waiting them out. The caller owns it.
                                0: none */
    int wait_report_ms;      /* while a round has waited this long for a guest,
                                and every wait_report_ms after, wait_fn is called;
                                0: never */
    int (*wait_fn)(void *ctx, int guest, int64_t waited_ms); /* the first guest the
                                round still waits for, and the wall time waited so
                                far; a non-zero return stops the run as stop_fd
                                does */
    void *wait_ctx;
} qns_sync_options;

/* A frame received from a guest NIC, valid during the callback only. */
typedef struct qns_sync_frame {
    int guest;
    int nic;
    uint64_t time_ns;
    const uint8_t *data;
    uint32_t length;
} qns_sync_frame;

typedef void (*qns_sync_frame_fn)(void *ctx, const qns_sync_frame *frame);

typedef struct qns_sync qns_sync;

/* The one check of spin_us and pin (qns_sync_new makes it): spin_us at most
 * QNS_SPIN_US_MAX, and not with pin. 0, or -1 with the reason in errbuf. */
int qns_sync_spin_check(uint32_t spin_us, int pin, char *errbuf);

/* Creates an empty set of guests. Ignores SIGPIPE process-wide. */
qns_sync *qns_sync_new(const qns_sync_options *opts, char *errbuf);

/*
 * Spawns a guest (see qns_guest_spec) and opens its NIC channels, queueing
 * the hello record on each. Returns the guest index, or -1 with errbuf set.
 */
int qns_sync_add_guest(qns_sync *s, const qns_guest_spec *spec, char *errbuf);

int qns_sync_guest_count(const qns_sync *s);
const qns_guest *qns_sync_guest(const qns_sync *s, int guest);

void qns_sync_set_frame_handler(qns_sync *s, qns_sync_frame_fn fn, void *ctx);

/*
 * Queues a frame for guest NIC delivery at time_ns; it is written before the
 * guest's next grant. Returns 0, or -1 with errbuf set (bad index, length).
 */
int qns_sync_send_frame(qns_sync *s, int guest, int nic, uint64_t time_ns, const uint8_t *data,
                        uint32_t length, char *errbuf);

/*
 * One round: grants_us[i] for guest i (>= 0, or QNS_NO_GRANT). Returns 0 when
 * every granted guest replied; -1 with errbuf naming the guest and the cause
 * (exit status or signal and its last console lines, malformed record, a
 * frame stamped outside its round or before its NIC's previous one, a late
 * record, watchdog), after which the set is failed and only shutdown is
 * allowed.
 */
int qns_sync_round(qns_sync *s, const int32_t *grants_us, char *errbuf);

/*
 * A round in two halves, so the caller can work while guests run: begin
 * writes pending records and grants; end waits for every reply (draining
 * records) and delivers the round's frames. qns_sync_round is both at once.
 */
int qns_sync_round_begin(qns_sync *s, const int32_t *grants_us, char *errbuf);
int qns_sync_round_end(qns_sync *s, char *errbuf);

/*
 * One round of the scheduling policy of DESIGN.md section 4: every guest
 * whose clock is behind target_us is granted the difference; guests at or
 * past it (after an overshoot) get none.
 */
int qns_sync_round_to(qns_sync *s, int64_t target_us, char *errbuf);
int qns_sync_round_begin_to(qns_sync *s, int64_t target_us, char *errbuf);
/* As qns_sync_round_begin_to, with a target of each guest's own
 * (targets_us[i] for guest i: a lookahead may let guests run apart). */
int qns_sync_round_begin_targets(qns_sync *s, const int64_t *targets_us, char *errbuf);

/*
 * After the last round, the run having ended at end_ns: fails (naming the
 * guest and NIC, as a round does) when a guest's NIC socket holds part of a
 * record (a header and some of its frame, say), which no later byte can
 * complete now, or when a reply above its grant (which the protocol allows)
 * took a guest's clock past end_ns, naming the grant, the reply and the end.
 * Records whole but written after a guest's last reply are not delivered.
 * Returns 0, or -1 with errbuf set.
 */
int qns_sync_check_end(qns_sync *s, uint64_t end_ns, char *errbuf);

/* Per guest: virtual clock (sum of replies) and granted total, in us; rounds. */
int64_t qns_sync_clock_us(const qns_sync *s, int guest);
int64_t qns_sync_granted_us(const qns_sync *s, int guest);
uint64_t qns_sync_rounds(const qns_sync *s, int guest);
uint64_t qns_sync_frames_in(const qns_sync *s, int guest);
uint64_t qns_sync_frames_out(const qns_sync *s, int guest);
int32_t qns_sync_last_reply_us(const qns_sync *s, int guest);

/* Whether the guest exited with status 0 under exit_zero_is_done. */
int qns_sync_guest_done(const qns_sync *s, int guest);
/*
 * The earliest instant (us) the guest may transmit, as its last reply said
 * and the frames queued for it since: its clock while it runs, before its
 * first reply, or when it does not speak the horizon extension; INT64_MAX
 * for a guest that is done, or has no deadline and no frame coming.
 */
int64_t qns_sync_horizon_us(const qns_sync *s, int guest);

/* Whether the guest's last reply said it is sealed: no NIC has started yet. */
int qns_sync_guest_sealed(const qns_sync *s, int guest);
/* The instant (us) its first NIC started, as its reply said; -1 before. */
int64_t qns_sync_opened_us(const qns_sync *s, int guest);
/*
 * Whether a frame for the guest at time_ns can only be dropped because no NIC
 * of the guest had started by then (before the instant its first NIC
 * started, or while it is sealed and already past time_ns); counts it with
 * the unopened frames if so. The guest would drop it itself: this keeps it
 * from reaching a guest that is already past it.
 */
int qns_sync_drop_unopened(qns_sync *s, int guest, uint64_t time_ns);
/* Frames for the guest dropped because their NIC had not started: reported
 * by the guest (unopened records), or by qns_sync_drop_unopened. */
uint64_t qns_sync_frames_unopened(const qns_sync *s, int guest);

/* Late records the guest sent: frames it received after their instant.
 * The first one fails the round. */
uint64_t qns_sync_late_records(const qns_sync *s, int guest);
/* Frames dropped because their guest was done. */
uint64_t qns_sync_frames_dropped(const qns_sync *s, int guest);

/* Whether a round failed. */
int qns_sync_failed(const qns_sync *s);
/* Whether it failed because a stop was requested (stop_fd or wait_fn). */
int qns_sync_stopped(const qns_sync *s);

/* How long a guest stopped in the middle of a grant has to exit after SIGTERM. */
#define QNS_SYNC_STOP_GRACE_MS 50

/*
 * Closes every guest's pipes and sockets, waits for them to exit (up to the
 * shutdown timeout), then kills what is left. A guest the watchdog gave up
 * on is killed at once. After a stop request a guest in the middle of a
 * grant (which sees no EOF until the grant ends) gets SIGTERM, and SIGKILL
 * QNS_SYNC_STOP_GRACE_MS later; a guest waiting for a grant exits on EOF.
 * Idempotent.
 */
void qns_sync_shutdown(qns_sync *s);

/* Shuts down if needed and frees everything. */
void qns_sync_free(qns_sync *s);

#ifdef __cplusplus
}
#endif

#endif
