/*
 * qns_sync.c - rounds of time grants across guests, with their frame
 * channels drained while waiting. One poll() loop, no threads, no globals
 * (except that SIGPIPE is ignored process-wide, as DESIGN.md section 2 asks).
 */
#define _GNU_SOURCE
#include "qns_sync.h"

#include "qns_limits.h"

#include "qns_record_io.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* Lists the CPUs the calling thread may use and keeps it on the one it is on
 * (or the first, if the OS cannot say), where guest 0 will run beside it. */
static int pin_home(qns_sync *s, char *errbuf)
{
    if (sched_getaffinity(0, sizeof(s->saved_cpus), &s->saved_cpus) < 0) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "pin: cannot read this thread's CPUs: %s",
                 strerror(errno));
        return -1;
    }
    s->cpus = calloc((size_t)CPU_COUNT(&s->saved_cpus) + 1, sizeof(int));
    if (s->cpus == NULL) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "out of memory");
        return -1;
    }
    int now = sched_getcpu();
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (CPU_ISSET(c, &s->saved_cpus)) {
            if (c == now) {
                s->home = s->cpu_count;
            }
            s->cpus[s->cpu_count++] = c;
        }
    }
    if (s->cpu_count == 0) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "pin: this thread may run on no CPU");
        return -1;
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(s->cpus[s->home], &one);
    if (sched_setaffinity(0, sizeof(one), &one) < 0) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "pin: cannot move to CPU %d: %s", s->cpus[s->home],
                 strerror(errno));
        return -1;
    }
    s->pinned = 1;
    return 0;
}

int qns_sync_spin_check(uint32_t spin_us, int pin, char *errbuf)
{
    if (spin_us > QNS_SPIN_US_MAX) {
        return qns_fail(errbuf,
                        "spin_us %" PRIu32 " is above %d (a second of busy-waiting per round)",
                        spin_us, QNS_SPIN_US_MAX);
    }
    if (pin && spin_us > 0) {
        return qns_fail(errbuf, "pin and spin do not go together: guest 0 shares the simulator's "
                                "CPU, where either side's spinning holds the other off");
    }
    return 0;
}

qns_sync *qns_sync_new(const qns_sync_options *opts, char *errbuf)
{
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
    }
    qns_sync *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "out of memory");
        return NULL;
    }
    if (opts) {
        s->opts = *opts;
    }
    if (s->opts.shutdown_timeout_ms <= 0) {
        s->opts.shutdown_timeout_ms = 2000;
    }
    if (s->opts.console_tail_lines <= 0) {
        s->opts.console_tail_lines = 3;
    }
    if (s->opts.stop_fd < 0) {
        s->opts.stop_fd = 0;
    }
    if (s->opts.watchdog_ms < 0) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "watchdog %d ms is negative", s->opts.watchdog_ms);
        free(s);
        return NULL;
    }
    if (s->opts.spin_us < 0 ||
        qns_sync_spin_check((uint32_t)s->opts.spin_us, s->opts.pin, errbuf) < 0) {
        if (s->opts.spin_us < 0) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "spin %d us is negative", s->opts.spin_us);
        }
        free(s);
        return NULL;
    }
    s->watchdog_off = strdup(s->opts.watchdog_off ? s->opts.watchdog_off : "set watchdog_ms to 0");
    if (s->watchdog_off == NULL) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "out of memory");
        free(s);
        return NULL;
    }
    s->opts.watchdog_off = s->watchdog_off;
    if (s->opts.pin && pin_home(s, errbuf) < 0) {
        free(s->cpus);
        free(s->watchdog_off);
        free(s);
        return NULL;
    }
    return s;
}

int qns_sync_add_guest(qns_sync *s, const qns_guest_spec *spec, char *errbuf)
{
    if (s->failed) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "cannot add guest: the simulation already failed");
        return -1;
    }
    if (s->count == s->cap) {
        int cap = s->cap ? s->cap * 2 : 4;
        sync_guest *p = realloc(s->guests, (size_t)cap * sizeof(*p));
        if (p == NULL) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "out of memory");
            return -1;
        }
        s->guests = p;
        s->cap = cap;
    }
    sync_guest *g = &s->guests[s->count];
    memset(g, 0, sizeof(*g));
    g->queued_ns = UINT64_MAX;
    g->open_us = -1;
    qns_guest_spec placed = *spec;
    if (s->pinned) {
        placed.pin_cpu = 1 + s->cpus[(s->home + s->count) % s->cpu_count];
    }
    g->proc = qns_guest_spawn(&placed, errbuf);
    if (g->proc == NULL) {
        return -1;
    }
    for (int i = 0; i < spec->nic_count; i++) {
        int fd = qns_guest_take_nic_fd(g->proc, i);
        g->nic[i] = qns_record_channel_new(fd, errbuf);
        if (g->nic[i] == NULL || qns_record_channel_queue_hello(g->nic[i], errbuf) < 0) {
            if (g->nic[i] == NULL) {
                close(fd);
            }
            for (int k = 0; k <= i; k++) {
                qns_record_channel_free(g->nic[k]);
            }
            qns_guest_free(g->proc);
            return -1;
        }
    }
    return s->count++;
}

int qns_sync_guest_count(const qns_sync *s)
{
    return s->count;
}

const qns_guest *qns_sync_guest(const qns_sync *s, int guest)
{
    return guest >= 0 && guest < s->count ? s->guests[guest].proc : NULL;
}

void qns_sync_set_frame_handler(qns_sync *s, qns_sync_frame_fn fn, void *ctx)
{
    s->frame_fn = fn;
    s->frame_ctx = ctx;
}

static int check_nic(const qns_sync *s, int guest, int nic, char *errbuf)
{
    if (guest < 0 || guest >= s->count) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "no guest %d (have %d)", guest, s->count);
        return -1;
    }
    if (nic < 0 || nic >= qns_guest_nic_count(s->guests[guest].proc)) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s has no NIC %d",
                 qns_guest_name(s->guests[guest].proc), nic);
        return -1;
    }
    return 0;
}

int qns_sync_send_frame(qns_sync *s, int guest, int nic, uint64_t time_ns, const uint8_t *data,
                        uint32_t length, char *errbuf)
{
    if (check_nic(s, guest, nic, errbuf) < 0) {
        return -1;
    }
    if (s->guests[guest].done) {
        s->guests[guest].dropped++;
        return 0;
    }
    if (time_ns < s->guests[guest].queued_ns) {
        s->guests[guest].queued_ns = time_ns;
    }
    if (qns_record_channel_queue_frame(s->guests[guest].nic[nic], time_ns, data, length, errbuf) <
        0) {
        char why[QNS_ERRBUF_SIZE];
        snprintf(why, sizeof(why), "%s", errbuf);
        snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s nic %d: %s",
                 qns_guest_name(s->guests[guest].proc), nic, why);
        return -1;
    }
    return 0;
}

/* ---- receiving ---------------------------------------------------------- */

typedef struct rx_ctx {
    qns_sync *s;
    int guest;
    int nic;
} rx_ctx;

static int grow(void **p, size_t *cap, size_t need, size_t elem, char *errbuf)
{
    if (need <= *cap) {
        return 0;
    }
    size_t c = *cap ? *cap : 64;
    while (c < need) {
        c *= 2;
    }
    void *q = realloc(*p, c * elem);
    if (q == NULL) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "out of memory buffering received frames");
        return -1;
    }
    *p = q;
    *cap = c;
    return 0;
}

/*
 * What a guest sends must fit the protocol: each frame stamped inside the
 * round that carried it (checked against the round's end once the guest
 * replied), no earlier than its NIC's previous one; a late record means the
 * guest saw one of our frames after its instant, which must never happen.
 * The caller names the guest and NIC.
 */
static int check_record(sync_guest *g, int nic, const qns_record_header *hdr,
                        const uint8_t *payload, char *errbuf)
{
    if (hdr->type == QNS_RECORD_LATE) {
        g->late++;
        snprintf(errbuf, QNS_ERRBUF_SIZE,
                 "a frame stamped %" PRIu64 " ns reached the NIC late, at %" PRIu64
                 " ns of the guest's clock",
                 qns_record_late_wanted(payload), hdr->time_ns);
        return -1;
    }
    uint64_t start_ns = (uint64_t)g->start_us * 1000;
    if (hdr->time_ns < start_ns) {
        snprintf(errbuf, QNS_ERRBUF_SIZE,
                 "frame stamped %" PRIu64 " ns is before its round, which began at %" PRIu64 " ns",
                 hdr->time_ns, start_ns);
        return -1;
    }
    if (hdr->time_ns < g->last_tx_ns[nic]) {
        snprintf(errbuf, QNS_ERRBUF_SIZE,
                 "frame stamped %" PRIu64 " ns is earlier than the NIC's previous frame, stamped "
                 "%" PRIu64 " ns",
                 hdr->time_ns, g->last_tx_ns[nic]);
        return -1;
    }
    g->last_tx_ns[nic] = hdr->time_ns;
    if (hdr->time_ns > g->max_tx_ns) {
        g->max_tx_ns = hdr->time_ns;
        g->max_tx_nic = nic;
    }
    return 0;
}

static int on_record(void *vctx, const qns_record_header *hdr, const uint8_t *frame, char *errbuf)
{
    rx_ctx *c = vctx;
    qns_sync *s = c->s;
    if (hdr->type == QNS_RECORD_UNOPENED) {
        s->guests[c->guest].unopened++;
        return 0;
    }
    if (check_record(&s->guests[c->guest], c->nic, hdr, frame, errbuf) < 0) {
        return -1;
    }
    if (grow((void **)&s->rx, &s->rx_cap, s->rx_count + 1, sizeof(rx_frame), errbuf) < 0 ||
        grow((void **)&s->arena, &s->arena_cap, s->arena_used + hdr->length, 1, errbuf) < 0) {
        return -1;
    }
    memcpy(s->arena + s->arena_used, frame, hdr->length);
    s->rx[s->rx_count++] = (rx_frame){
        .time_ns = hdr->time_ns,
        .seq = s->rx_seq++,
        .guest = c->guest,
        .nic = c->nic,
        .offset = s->arena_used,
        .length = hdr->length,
    };
    s->arena_used += hdr->length;
    return 0;
}

static int rx_order(const void *a, const void *b)
{
    const rx_frame *x = a, *y = b;
    if (x->time_ns != y->time_ns) {
        return x->time_ns < y->time_ns ? -1 : 1;
    }
    if (x->guest != y->guest) {
        return x->guest < y->guest ? -1 : 1;
    }
    if (x->nic != y->nic) {
        return x->nic < y->nic ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void deliver_round_frames(qns_sync *s)
{
    if (s->rx_count == 0) {
        return;
    }
    qsort(s->rx, s->rx_count, sizeof(rx_frame), rx_order);
    for (size_t i = 0; s->frame_fn && i < s->rx_count; i++) {
        const rx_frame *r = &s->rx[i];
        qns_sync_frame f = {
            .guest = r->guest,
            .nic = r->nic,
            .time_ns = r->time_ns,
            .data = s->arena + r->offset,
            .length = r->length,
        };
        s->frame_fn(s->frame_ctx, &f);
    }
    s->rx_count = 0;
    s->arena_used = 0;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_ms(void)
{
    return now_us() / 1000;
}

/* ---- failures ----------------------------------------------------------- */

static int fail(qns_sync *s, char *errbuf, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(qns_sync *s, char *errbuf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, QNS_ERRBUF_SIZE, fmt, ap);
    va_end(ap);
    s->failed = 1;
    return -1;
}

/* ---- stop requests -------------------------------------------------------- */

/* Whether a stop was requested: the stop descriptor turned readable (it
 * stays so, which is why one look is enough from then on). */
static int stop_requested(qns_sync *s)
{
    if (!s->stopped && s->opts.stop_fd > 0) {
        struct pollfd p = {.fd = s->opts.stop_fd, .events = POLLIN};
        int r;
        do {
            r = poll(&p, 1, 0);
        } while (r < 0 && errno == EINTR);
        s->stopped = r > 0;
    }
    return s->stopped;
}

/* Sleeps up to ms of wall time; before a stop request, a request ends it
 * early. Returns whether a stop was requested. */
static int nap(qns_sync *s, int ms)
{
    struct pollfd p = {.fd = !s->stopped && s->opts.stop_fd > 0 ? s->opts.stop_fd : -1,
                       .events = POLLIN};
    if (poll(&p, 1, ms) > 0) {
        s->stopped = 1;
    }
    return s->stopped;
}

/* Waits up to timeout_ms for guest i's process to end, waking on a stop
 * request. Returns 1 when it has ended, 0 when not (yet), -1 on error. */
static int wait_guest(qns_sync *s, int i, int timeout_ms, char *errbuf)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int r = qns_guest_wait(s->guests[i].proc, 0, errbuf);
        if (r != 0 || now_ms() >= deadline || stop_requested(s)) {
            return r;
        }
        nap(s, 1);
    }
}

static int fail_stopped(qns_sync *s, char *errbuf)
{
    s->stopped = 1;
    return fail(s, errbuf, "stopped on request in round %llu", (unsigned long long)s->round_no);
}

/*
 * The guest's pipe or socket closed: say how it ended and what it printed.
 * With `may_finish`, a clean exit under exit_zero_is_done marks the guest
 * done instead, and 0 is returned.
 */
static const char closed_nic[] = "closed its NIC socket";

static int guest_closed(qns_sync *s, int i, const char *what, int may_finish, char *errbuf)
{
    sync_guest *g = &s->guests[i];
    char end[128], tail[QNS_ERRBUF_SIZE / 2], werr[QNS_ERRBUF_SIZE];
    wait_guest(s, i, s->opts.shutdown_timeout_ms, werr);
    /* A guest that died closes its pipe and its sockets at once; whichever
     * the poll reported first, the message is the same. */
    if (what == closed_nic && qns_guest_ended(g->proc)) {
        what = "no reply";
    }
    if (may_finish && s->opts.exit_zero_is_done && qns_guest_ended(g->proc) &&
        WIFEXITED(qns_guest_exit_status(g->proc)) &&
        WEXITSTATUS(qns_guest_exit_status(g->proc)) == 0) {
        g->done = 1;
        g->replied = 1;
        return 0;
    }
    qns_guest_describe_end(g->proc, end, sizeof(end));
    qns_guest_console_tail(g->proc, s->opts.console_tail_lines, tail, sizeof(tail));
    return fail(s, errbuf, "guest %s %s (%s) at virtual time %lld us, round %llu%s%s",
                qns_guest_name(g->proc), end, what, (long long)g->clock_us,
                (unsigned long long)s->round_no, tail[0] ? "; console: " : "", tail);
}

/* ---- one round ---------------------------------------------------------- */

static int read_reply(qns_sync *s, int i, char *errbuf);

/* Takes every record the guest's sockets hold; a protocol error on any NIC
 * is reported before a closed socket, which says less. */
static int drain_guest(qns_sync *s, int i, char *errbuf)
{
    sync_guest *g = &s->guests[i];
    int closed = 0;
    for (int n = 0; n < qns_guest_nic_count(g->proc); n++) {
        rx_ctx c = {s, i, n};
        int r = qns_record_channel_drain(g->nic[n], on_record, &c, errbuf);
        if (r < 0) {
            char why[QNS_ERRBUF_SIZE];
            snprintf(why, sizeof(why), "%s", errbuf);
            return fail(s, errbuf, "guest %s nic %d: %s", qns_guest_name(g->proc), n, why);
        }
        closed |= r == 1;
    }
    if (closed && !g->done) {
        /* A guest that shut down wrote its last reply before its sockets
         * closed: take it first, so its clock is the instant it stopped. */
        if (g->granted && g->grant_written && !g->replied &&
            (read_reply(s, i, errbuf) < 0 || g->done)) {
            return g->done ? 0 : -1;
        }
        return guest_closed(s, i, closed_nic, 1, errbuf);
    }
    return 0;
}

static int flush_and_grant(qns_sync *s, int i, char *errbuf)
{
    sync_guest *g = &s->guests[i];
    for (int n = 0; n < qns_guest_nic_count(g->proc); n++) {
        if (qns_record_channel_flush(g->nic[n], errbuf) < 0) {
            return guest_closed(s, i, "its NIC socket refused records", 1, errbuf);
        }
        if (qns_record_channel_out_pending(g->nic[n]) > 0) {
            return 0;
        }
    }
    int32_t v = g->grant_us;
    for (;;) {
        ssize_t w = write(qns_guest_grant_fd(g->proc), &v, sizeof(v));
        if (w == (ssize_t)sizeof(v)) {
            break;
        }
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && errno == EPIPE) {
            return guest_closed(s, i, "its grant pipe is closed", 1, errbuf);
        }
        if (w < 0 && errno == EAGAIN) {
            return fail(s, errbuf, "guest %s has not read its previous grant",
                        qns_guest_name(g->proc));
        }
        return fail(s, errbuf, "guest %s: grant write failed: %s", qns_guest_name(g->proc),
                    w < 0 ? strerror(errno) : "short write");
    }
    g->grant_written = 1;
    return 0;
}

/*
 * After a short reply: whether the reply pipe reaches EOF within the
 * shutdown timeout, i.e. the guest is ending rather than misbehaving. The
 * short reply is a guest's last word (a QEMU whose guest shut the machine
 * down answers the grant in flight with the time reached and exits), so
 * any byte after it means the guest is not ending.
 */
static int stopped_for_good(qns_sync *s, int i)
{
    struct pollfd p[2] = {{.fd = qns_guest_reply_fd(s->guests[i].proc), .events = POLLIN},
                          {.fd = s->opts.stop_fd > 0 ? s->opts.stop_fd : -1, .events = POLLIN}};
    int64_t deadline = now_ms() + s->opts.shutdown_timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        int r = poll(p, 2, left > 0 ? (int)left : 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r > 0 && p[1].revents) {
            s->stopped = 1;
        }
        if (r <= 0 || s->stopped) {
            return 0;
        }
        char byte;
        ssize_t n = read(p[0].fd, &byte, 1);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        return n == 0;
    }
}

/* A frame stamped after the instant the guest's reply says it reached (in
 * whole microseconds, so within the microsecond after it) was not sent in
 * this round. */
static int check_round_end(qns_sync *s, int i, char *errbuf)
{
    sync_guest *g = &s->guests[i];
    uint64_t end_ns = (uint64_t)(g->clock_us + 1) * 1000;
    if (g->max_tx_ns >= end_ns) {
        return fail(s, errbuf,
                    "guest %s nic %d: frame stamped %" PRIu64
                    " ns is after the end of its round at %" PRIu64 " ns",
                    qns_guest_name(g->proc), g->max_tx_nic, g->max_tx_ns,
                    (uint64_t)g->clock_us * 1000);
    }
    return 0;
}

static int take_reply(qns_sync *s, int i, char *errbuf)
{
    sync_guest *g = &s->guests[i];
    int32_t reply;
    memcpy(&reply, g->reply_buf, sizeof(reply));
    g->horizon_us = QNS_HORIZON_BUSY;
    if (qns_guest_horizon(g->proc)) {
        memcpy(&g->horizon_us, g->reply_buf + sizeof(reply), sizeof(g->horizon_us));
    }
    g->replied = 1;
    g->reply_have = 0;
    if (g->horizon_us < QNS_HORIZON_OPENED) {
        return fail(s, errbuf, "guest %s sent horizon %d us with its reply in round %llu",
                    qns_guest_name(g->proc), g->horizon_us, (unsigned long long)s->round_no);
    }
    if ((g->horizon_us == QNS_HORIZON_OPENED || g->horizon_us == QNS_HORIZON_SEALED) &&
        g->open_us >= 0) {
        return fail(s, errbuf, "guest %s says %s in round %llu, but a NIC of it started at %lld us",
                    qns_guest_name(g->proc),
                    g->horizon_us == QNS_HORIZON_SEALED ? "no NIC has started" : "a NIC started",
                    (unsigned long long)s->round_no, (long long)g->open_us);
    }
    if (reply < 0) {
        return fail(s, errbuf, "guest %s replied %d us to a grant of %d us in round %llu",
                    qns_guest_name(g->proc), reply, g->grant_us, (unsigned long long)s->round_no);
    }
    if (reply > g->grant_us) {
        g->over_grant_us = g->grant_us;
        g->over_reply_us = reply;
        g->over_round = s->round_no;
    }
    g->clock_us += reply;
    g->last_reply_us = reply;
    g->rounds++;
    g->sealed = g->horizon_us == QNS_HORIZON_SEALED;
    if (g->horizon_us == QNS_HORIZON_OPENED) {
        /* A NIC started: the grant ended there, and the guest runs on. */
        g->open_us = g->clock_us;
        if (g->granted_us > g->clock_us) {
            g->granted_us = g->clock_us;
        }
    }
    if (g->clock_us < g->granted_us) {
        /* A guest that stops mid-grant (a guest OS powering off) replies with
         * what it ran and exits: that is its end, not a protocol error. */
        if (drain_guest(s, i, errbuf) < 0 || g->done) {
            return g->done ? 0 : -1;
        }
        if (stopped_for_good(s, i)) {
            char what[96];
            snprintf(what, sizeof(what), "reply %d us to a grant of %d us", reply, g->grant_us);
            return guest_closed(s, i, what, 1, errbuf);
        }
        return fail(s, errbuf,
                    "guest %s stopped short: its clock is %lld us after %lld us granted "
                    "(reply %d us to a grant of %d us in round %llu)",
                    qns_guest_name(g->proc), (long long)g->clock_us, (long long)g->granted_us,
                    reply, g->grant_us, (unsigned long long)s->round_no);
    }
    /* Every record of the round was written before the reply: take them all. */
    if (drain_guest(s, i, errbuf) < 0) {
        return -1;
    }
    return check_round_end(s, i, errbuf);
}

/* A reply is one int; with the horizon extension, two. */
static size_t reply_size(const sync_guest *g)
{
    return (qns_guest_horizon(g->proc) ? 2 : 1) * sizeof(int32_t);
}

static int read_reply(qns_sync *s, int i, char *errbuf)
{
    sync_guest *g = &s->guests[i];
    size_t size = reply_size(g);
    for (;;) {
        ssize_t n =
            read(qns_guest_reply_fd(g->proc), g->reply_buf + g->reply_have, size - g->reply_have);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                return 0;
            }
            return fail(s, errbuf, "guest %s: reply read failed: %s", qns_guest_name(g->proc),
                        strerror(errno));
        }
        if (n == 0) {
            if (g->reply_have > 0) {
                char what[64];
                snprintf(what, sizeof(what), "truncated reply: %zu of %zu bytes", g->reply_have,
                         size);
                return guest_closed(s, i, what, 0, errbuf);
            }
            return guest_closed(s, i, "no reply", 1, errbuf);
        }
        g->reply_have += (size_t)n;
        if (g->reply_have == size) {
            return take_reply(s, i, errbuf);
        }
    }
}

/* ---- the watchdog ---------------------------------------------------------- */

/*
 * A guest that has not replied within the watchdog's window is judged by
 * the CPU time its process used in it: a QEMU that runs is busy with the
 * grant, however slowly a crowded host lets it go, and only one that used
 * (next to) none is hung. A grant's first moments are left out of the
 * window (the guest takes the grant then), and so are rounds that end
 * before it, which never pay for reading a guest's CPU time.
 */
static int64_t cpu_window_skip_ms(int watchdog_ms)
{
    return watchdog_ms / 10 < 1000 ? watchdog_ms / 10 : 1000;
}

/*
 * Progress is at least 1% of the window in CPU time. A hung QEMU sleeps:
 * blocked on a lock, or only its main loop waking for its timers now and
 * then, which costs it well under 1% of a CPU; a starved guest that gets
 * 1% of a CPU still runs.
 */
static int made_progress(int64_t used_us, int64_t window_ms)
{
    return used_us > 0 && used_us >= window_ms * 10;
}

/* Where each guest still waited for starts its window: its CPU time now. */
static void start_cpu_windows(qns_sync *s)
{
    for (int i = 0; i < s->count; i++) {
        sync_guest *g = &s->guests[i];
        char why[QNS_ERRBUF_SIZE];
        if (g->replied) {
            continue;
        }
        if (qns_guest_cpu_us(g->proc, &g->cpu_us, why) < 0) {
            g->cpu_us = -1;
            snprintf(g->cpu_err, sizeof(g->cpu_err), "%s", why);
        }
    }
}

static size_t append(char *buf, size_t size, size_t o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static size_t append(char *buf, size_t size, size_t o, const char *fmt, ...)
{
    if (o >= size) {
        return o;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + o, size - o, fmt, ap);
    va_end(ap);
    return n < 0 ? o : o + (size_t)n;
}

/* The NIC whose records for the guest wait to be written, which keeps its
 * grant from being written: the guest stopped reading it and its socket is
 * full. -1 when the grant was written. */
static int unread_nic(const sync_guest *g)
{
    for (int n = 0; !g->grant_written && n < qns_guest_nic_count(g->proc); n++) {
        if (qns_record_channel_out_pending(g->nic[n]) > 0) {
            return n;
        }
    }
    return -1;
}

/*
 * The window of `window_ms` (after `waited_ms` of the round) has ended with
 * guests still to reply. Those that used CPU in it start a new one; those
 * that did not, or whose CPU time cannot be read, are hung and fail the
 * round. Returns 0 when the wait goes on.
 */
static int judge_waiting(qns_sync *s, int64_t waited_ms, int64_t window_ms, char *errbuf)
{
    int idle = 0, unknown = 0;
    int64_t most_us = 0;
    for (int i = 0; i < s->count; i++) {
        sync_guest *g = &s->guests[i];
        char why[QNS_ERRBUF_SIZE];
        int64_t now_cpu;
        if (g->replied) {
            continue;
        }
        if (g->cpu_us < 0) {
            g->hung = 1;
        } else if (qns_guest_cpu_us(g->proc, &now_cpu, why) < 0) {
            g->cpu_us = -1;
            snprintf(g->cpu_err, sizeof(g->cpu_err), "%s", why);
            g->hung = 1;
        } else if (!made_progress(now_cpu - g->cpu_us, window_ms)) {
            most_us = now_cpu - g->cpu_us > most_us ? now_cpu - g->cpu_us : most_us;
            g->hung = 1;
        } else {
            g->cpu_us = now_cpu;
        }
        idle += g->hung && g->cpu_us >= 0;
        unknown += g->hung && g->cpu_us < 0;
    }
    if (idle + unknown == 0) {
        return 0;
    }
    char msg[QNS_ERRBUF_SIZE];
    size_t o = 0;
    /* Passes: CPU time known, then unknown; each for guests that did not
     * reply, then for those that did not read their frames. */
    for (int pass = 0; pass < 4; pass++) {
        int cpu_unknown = pass / 2, unread = pass % 2, named = 0;
        const char *err = NULL;
        for (int i = 0; i < s->count; i++) {
            sync_guest *g = &s->guests[i];
            int nic = unread_nic(g);
            if (!g->hung || (g->cpu_us < 0) != cpu_unknown || (nic >= 0) != unread) {
                continue;
            }
            if (named == 0) {
                o = append(msg, sizeof(msg), o, "%sguest ", o ? "; " : "");
            }
            o = append(msg, sizeof(msg), o, "%s%s", named ? ", " : "", qns_guest_name(g->proc));
            if (unread) {
                o = append(msg, sizeof(msg), o, " nic %d", nic);
            }
            err = err ? err : g->cpu_err;
            named++;
        }
        if (named == 0) {
            continue;
        }
        if (unread) {
            o = append(msg, sizeof(msg), o,
                       " did not read %s frames within %lld ms in round %llu (the socket is full)",
                       named > 1 ? "their" : "its", (long long)waited_ms,
                       (unsigned long long)s->round_no);
        } else {
            o = append(msg, sizeof(msg), o, " did not reply within %lld ms in round %llu",
                       (long long)waited_ms, (unsigned long long)s->round_no);
        }
        if (cpu_unknown) {
            o = append(msg, sizeof(msg), o, " and its CPU time is unknown (%s; hung?)", err);
        } else if (most_us < 1000) {
            /* A sleeping process can be woken for a few us now and then. */
            o = append(msg, sizeof(msg), o, " and used no CPU in the last %lld ms (0 ms; hung)",
                       (long long)window_ms);
        } else {
            o = append(msg, sizeof(msg), o,
                       " and used %s%lld ms of CPU in the last %lld ms, under 1%% (hung)",
                       idle > 1 ? "at most " : "", (long long)(most_us / 1000),
                       (long long)window_ms);
        }
    }
    /* Whoever else the round waits for is given up on with them. */
    for (int i = 0; i < s->count; i++) {
        s->guests[i].hung = s->guests[i].granted && !s->guests[i].replied;
    }
    return fail(s, errbuf, "%s; to wait for %s however long it takes, %s", msg,
                idle + unknown > 1 ? "them" : "it", s->watchdog_off);
}

static int prepare_round(qns_sync *s, const int32_t *grants_us, char *errbuf)
{
    if (s->failed) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "the simulation already failed");
        return -1;
    }
    for (int i = 0; i < s->count; i++) {
        if (grants_us[i] < 0 && grants_us[i] != QNS_NO_GRANT) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "grant %d us for guest %s is negative", grants_us[i],
                     qns_guest_name(s->guests[i].proc));
            return -1;
        }
    }
    s->round_no++;
    for (int i = 0; i < s->count; i++) {
        sync_guest *g = &s->guests[i];
        g->start_us = g->clock_us;
        g->granted = grants_us[i] != QNS_NO_GRANT && !g->done;
        if (g->granted) {
            g->queued_ns = UINT64_MAX; /* written before this round's grant */
        }
        g->grant_us = g->granted ? grants_us[i] : 0;
        g->grant_written = 0;
        g->replied = !g->granted;
        g->reply_have = 0;
        if (g->granted) {
            g->granted_us += g->grant_us;
        }
    }
    return 0;
}

static size_t build_pollset(qns_sync *s, char *errbuf)
{
    size_t need = 1; /* the stop descriptor, last */
    for (int i = 0; i < s->count; i++) {
        need += 1 + (size_t)qns_guest_nic_count(s->guests[i].proc);
    }
    if (grow((void **)&s->pfd, &s->pfd_cap, need, sizeof(struct pollfd), errbuf) < 0) {
        return (size_t)-1;
    }
    size_t n = 0;
    for (int i = 0; i < s->count; i++) {
        sync_guest *g = &s->guests[i];
        int waiting = g->granted && !g->replied;
        s->pfd[n++] = (struct pollfd){
            .fd = waiting && g->grant_written ? qns_guest_reply_fd(g->proc) : -1,
            .events = POLLIN,
        };
        for (int k = 0; k < qns_guest_nic_count(g->proc); k++) {
            short ev = 0;
            if (waiting) {
                ev = POLLIN;
                if (qns_record_channel_out_pending(g->nic[k]) > 0) {
                    ev |= POLLOUT;
                }
            }
            s->pfd[n++] = (struct pollfd){
                .fd = ev ? qns_record_channel_fd(g->nic[k]) : -1,
                .events = ev,
            };
        }
    }
    s->pfd[n++] =
        (struct pollfd){.fd = s->opts.stop_fd > 0 ? s->opts.stop_fd : -1, .events = POLLIN};
    return n;
}

static int handle_events(qns_sync *s, char *errbuf)
{
    size_t n = 0;
    for (int i = 0; i < s->count; i++) {
        sync_guest *g = &s->guests[i];
        struct pollfd *rp = &s->pfd[n++];
        int nics = qns_guest_nic_count(g->proc);
        int nic_in = 0, nic_out = 0;
        for (int k = 0; k < nics; k++) {
            short re = s->pfd[n + (size_t)k].revents;
            nic_in |= re & (POLLIN | POLLHUP | POLLERR);
            nic_out |= re & POLLOUT;
        }
        n += (size_t)nics;
        if (g->replied) {
            continue;
        }
        if (nic_in && drain_guest(s, i, errbuf) < 0) {
            return -1;
        }
        if (g->done) {
            continue;
        }
        if ((nic_out || (nic_in && !g->grant_written)) && !g->grant_written &&
            flush_and_grant(s, i, errbuf) < 0) {
            return -1;
        }
        if (nic_out && g->grant_written) {
            for (int k = 0; k < nics; k++) {
                if (qns_record_channel_flush(g->nic[k], errbuf) < 0) {
                    return guest_closed(s, i, "its NIC socket refused records", 1, errbuf);
                }
            }
        }
        if (!g->done && rp->revents && read_reply(s, i, errbuf) < 0) {
            return -1;
        }
    }
    return 0;
}

int qns_sync_round_begin(qns_sync *s, const int32_t *grants_us, char *errbuf)
{
    if (s->in_round) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "a round is already under way");
        return -1;
    }
    if (prepare_round(s, grants_us, errbuf) < 0) {
        return -1;
    }
    s->in_round = 1;
    for (int i = 0; i < s->count; i++) {
        if (s->guests[i].granted && flush_and_grant(s, i, errbuf) < 0) {
            return -1;
        }
    }
    return 0;
}

int qns_sync_round_end(qns_sync *s, char *errbuf)
{
    if (!s->in_round) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "no round under way");
        return -1;
    }
    if (s->failed) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "the simulation already failed");
        return -1;
    }
    int64_t start = now_ms();
    int watchdog_ms = s->opts.watchdog_ms;
    int64_t deadline = watchdog_ms > 0 ? start + watchdog_ms : 0;
    /* The CPU window: from window_at (0: not begun) to the deadline. */
    int64_t window_at = watchdog_ms > 0 ? start + cpu_window_skip_ms(watchdog_ms) : 0;
    int64_t window_ms = watchdog_ms - cpu_window_skip_ms(watchdog_ms);
    int windows = 1;
    int report_ms = s->opts.wait_fn ? s->opts.wait_report_ms : 0;
    int64_t next_report = report_ms > 0 ? start + report_ms : 0;
    int64_t spin_until = s->opts.spin_us > 0 ? now_us() + s->opts.spin_us : 0;
    for (;;) {
        int waiting = -1;
        for (int i = s->count - 1; i >= 0; i--) {
            waiting = s->guests[i].replied ? waiting : i;
        }
        if (waiting < 0) {
            break;
        }
        if (stop_requested(s)) {
            return fail_stopped(s, errbuf);
        }
        size_t n = build_pollset(s, errbuf);
        if (n == (size_t)-1) {
            return fail(s, errbuf, "%s", "out of memory");
        }
        int64_t wake =
            deadline && (!next_report || deadline < next_report) ? deadline : next_report;
        wake = window_at && window_at < wake ? window_at : wake;
        int timeout = -1;
        if (wake) {
            int64_t left = wake - now_ms();
            timeout = left > 0 ? (int)left : 0;
        }
        /* A sleeping simulator is woken by every reply; spinning spends a
         * core to save that (see qns_sync_options.spin_us). */
        int r = poll(s->pfd, n, 0);
        while (r == 0 && now_us() < spin_until) {
            r = poll(s->pfd, n, 0);
        }
        if (r == 0) {
            r = poll(s->pfd, n, timeout);
        }
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(s, errbuf, "poll failed: %s", strerror(errno));
        }
        if (r == 0) {
            int64_t now = now_ms();
            if (window_at && now >= window_at) {
                start_cpu_windows(s);
                window_at = 0;
                /* A host too busy to wake us in time still gets a whole window. */
                deadline = now + window_ms > deadline ? now + window_ms : deadline;
            }
            if (deadline && now >= deadline) {
                /* The message says the nominal times, which a run can repeat. */
                if (judge_waiting(s, (int64_t)watchdog_ms * windows, window_ms, errbuf) < 0) {
                    return -1;
                }
                windows++;
                window_ms = watchdog_ms;
                deadline = now + watchdog_ms;
            }
            if (next_report && now >= next_report) {
                next_report = now + report_ms;
                if (s->opts.wait_fn(s->opts.wait_ctx, waiting, now - start) != 0) {
                    return fail_stopped(s, errbuf);
                }
            }
            continue;
        }
        if (s->pfd[n - 1].revents) {
            return fail_stopped(s, errbuf);
        }
        if (handle_events(s, errbuf) < 0) {
            return s->stopped ? fail_stopped(s, errbuf) : -1;
        }
    }
    s->in_round = 0;
    deliver_round_frames(s);
    return 0;
}

int qns_sync_round(qns_sync *s, const int32_t *grants_us, char *errbuf)
{
    if (qns_sync_round_begin(s, grants_us, errbuf) < 0) {
        return -1;
    }
    return qns_sync_round_end(s, errbuf);
}

static int32_t *grants_to(qns_sync *s, int64_t target_us, int32_t *stack, char *errbuf)
{
    int32_t *grants = s->count <= 16 ? stack : malloc((size_t)s->count * sizeof(int32_t));
    if (grants == NULL) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "out of memory");
        return NULL;
    }
    for (int i = 0; i < s->count; i++) {
        const sync_guest *g = &s->guests[i];
        /* Grants keep each guest's own target on the round grid. */
        int64_t d = target_us - g->granted_us;
        if (g->clock_us >= target_us || d < 0) {
            grants[i] = QNS_NO_GRANT;
        } else if (d > INT32_MAX) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "grant of %lld us for guest %s exceeds %d us",
                     (long long)d, qns_guest_name(g->proc), INT32_MAX);
            if (grants != stack) {
                free(grants);
            }
            return NULL;
        } else {
            grants[i] = (int32_t)d;
        }
    }
    return grants;
}

int qns_sync_round_begin_to(qns_sync *s, int64_t target_us, char *errbuf)
{
    int32_t stack[16] = {0};
    int32_t *grants = grants_to(s, target_us, stack, errbuf);
    if (grants == NULL) {
        return -1;
    }
    int r = qns_sync_round_begin(s, grants, errbuf);
    if (grants != stack) {
        free(grants);
    }
    return r;
}

int qns_sync_round_to(qns_sync *s, int64_t target_us, char *errbuf)
{
    if (qns_sync_round_begin_to(s, target_us, errbuf) < 0) {
        return -1;
    }
    return qns_sync_round_end(s, errbuf);
}

/* What a guest's NIC holds of a record it did not finish. */
static int check_whole_records(qns_sync *s, int i, char *errbuf)
{
    sync_guest *g = &s->guests[i];
    for (int n = 0; n < qns_guest_nic_count(g->proc); n++) {
        rx_ctx c = {s, i, n};
        if (qns_record_channel_drain(g->nic[n], on_record, &c, errbuf) < 0) {
            char why[QNS_ERRBUF_SIZE];
            snprintf(why, sizeof(why), "%s", errbuf);
            return fail(s, errbuf, "guest %s nic %d: %s", qns_guest_name(g->proc), n, why);
        }
        size_t size, have = qns_record_channel_in_pending(g->nic[n], &size);
        if (have >= QNS_RECORD_HEADER_SIZE) {
            return fail(s, errbuf,
                        "guest %s nic %d: the run ended in the middle of a record: the guest "
                        "had written %zu of its %zu bytes",
                        qns_guest_name(g->proc), n, have, size);
        }
        if (have > 0) {
            return fail(s, errbuf,
                        "guest %s nic %d: the run ended in the middle of a record: the guest "
                        "had written %zu bytes of its %d-byte header",
                        qns_guest_name(g->proc), n, have, QNS_RECORD_HEADER_SIZE);
        }
    }
    return 0;
}

int qns_sync_check_end(qns_sync *s, uint64_t end_ns, char *errbuf)
{
    if (s->failed || s->in_round) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "%s",
                 s->failed ? "the simulation already failed" : "a round is under way");
        return -1;
    }
    for (int i = 0; i < s->count; i++) {
        if (check_whole_records(s, i, errbuf) < 0) {
            return -1;
        }
    }
    /* Records after a guest's last reply belong to no round. */
    s->rx_count = 0;
    s->arena_used = 0;
    for (int i = 0; i < s->count; i++) {
        const sync_guest *g = &s->guests[i];
        if (g->clock_us > g->granted_us && (uint64_t)g->clock_us * 1000 > end_ns) {
            char end[48];
            snprintf(end, sizeof(end), end_ns % 1000 ? "%.3f" : "%.0f", (double)end_ns / 1e3);
            return fail(s, errbuf,
                        "guest %s replied %d us to a grant of %d us in round %llu, which took "
                        "its clock to %lld us, past the run's end at %s us",
                        qns_guest_name(g->proc), g->over_reply_us, g->over_grant_us,
                        (unsigned long long)g->over_round, (long long)g->clock_us, end);
        }
    }
    return 0;
}

int64_t qns_sync_clock_us(const qns_sync *s, int guest)
{
    return s->guests[guest].clock_us;
}

int64_t qns_sync_granted_us(const qns_sync *s, int guest)
{
    return s->guests[guest].granted_us;
}

uint64_t qns_sync_rounds(const qns_sync *s, int guest)
{
    return s->guests[guest].rounds;
}

uint64_t qns_sync_frames_in(const qns_sync *s, int guest)
{
    uint64_t n = 0;
    const sync_guest *g = &s->guests[guest];
    for (int k = 0; k < qns_guest_nic_count(g->proc); k++) {
        n += qns_record_channel_frames_in(g->nic[k]);
    }
    return n;
}

uint64_t qns_sync_frames_out(const qns_sync *s, int guest)
{
    uint64_t n = 0;
    const sync_guest *g = &s->guests[guest];
    for (int k = 0; k < qns_guest_nic_count(g->proc); k++) {
        n += qns_record_channel_frames_out(g->nic[k]);
    }
    return n;
}

int32_t qns_sync_last_reply_us(const qns_sync *s, int guest)
{
    return s->guests[guest].last_reply_us;
}

int qns_sync_guest_done(const qns_sync *s, int guest)
{
    return s->guests[guest].done;
}

int64_t qns_sync_horizon_us(const qns_sync *s, int guest)
{
    const sync_guest *g = &s->guests[guest];
    if (g->done) {
        return INT64_MAX;
    }
    if (!g->replied || g->horizon_us < 0) { /* busy, sealed or just opened */
        return g->clock_us;
    }
    /* A frame queued for it wakes it up: it is not in the reply's horizon. */
    int64_t h = g->horizon_us == QNS_HORIZON_NONE ? INT64_MAX : g->clock_us + g->horizon_us;
    if (g->queued_ns != UINT64_MAX && (int64_t)(g->queued_ns / 1000) < h) {
        h = (int64_t)(g->queued_ns / 1000);
    }
    return h;
}

int qns_sync_guest_sealed(const qns_sync *s, int guest)
{
    const sync_guest *g = &s->guests[guest];
    return g->sealed && !g->done;
}

int64_t qns_sync_opened_us(const qns_sync *s, int guest)
{
    return s->guests[guest].open_us;
}

int qns_sync_drop_unopened(qns_sync *s, int guest, uint64_t time_ns)
{
    sync_guest *g = &s->guests[guest];
    int before_open = g->open_us >= 0 && time_ns < (uint64_t)g->open_us * 1000;
    int passed_sealed = g->sealed && time_ns < (uint64_t)g->clock_us * 1000;
    if (!before_open && !passed_sealed) {
        return 0;
    }
    g->unopened++;
    return 1;
}

uint64_t qns_sync_frames_unopened(const qns_sync *s, int guest)
{
    return s->guests[guest].unopened;
}

uint64_t qns_sync_late_records(const qns_sync *s, int guest)
{
    return s->guests[guest].late;
}

uint64_t qns_sync_frames_dropped(const qns_sync *s, int guest)
{
    return s->guests[guest].dropped;
}

int qns_sync_failed(const qns_sync *s)
{
    return s->failed;
}

int qns_sync_stopped(const qns_sync *s)
{
    return s->stopped;
}

/*
 * On a stop request: a guest in the middle of a grant does not see EOF until
 * the grant ends, so it gets SIGTERM now, and SIGKILL once the grace is over
 * (marked hung). One whose reply is already in its pipe waits for a grant
 * and exits by itself on EOF. Done before the pipes close where it can be,
 * so a guest never gets SIGTERM while it exits on EOF.
 */
static void stop_guests_mid_grant(qns_sync *s)
{
    char errbuf[QNS_ERRBUF_SIZE];
    for (int i = 0; i < s->count; i++) {
        sync_guest *g = &s->guests[i];
        int fd = qns_guest_reply_fd(g->proc);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int replied = g->replied || (fd >= 0 && poll(&p, 1, 0) > 0);
        g->hung = s->in_round && g->granted && g->grant_written && !replied &&
                  qns_guest_wait(g->proc, 0, errbuf) == 0;
        if (g->hung && kill(qns_guest_pid(g->proc), SIGTERM) < 0) {
            /* ESRCH: it has just ended; it is reaped below */
        }
    }
}

void qns_sync_shutdown(qns_sync *s)
{
    int stopping = stop_requested(s);
    if (stopping) {
        stop_guests_mid_grant(s);
    }
    for (int i = 0; i < s->count; i++) {
        sync_guest *g = &s->guests[i];
        for (int k = 0; k < qns_guest_nic_count(g->proc); k++) {
            qns_record_channel_free(g->nic[k]);
            g->nic[k] = NULL;
        }
    }
    /* Close every guest's pipes first so they all exit in parallel. */
    for (int i = 0; i < s->count; i++) {
        qns_guest_close(s->guests[i].proc);
    }
    /* A guest the watchdog gave up on is not waited for. */
    for (int i = 0; i < s->count; i++) {
        if (s->guests[i].hung && !stopping) {
            qns_guest_shutdown(s->guests[i].proc, 0); /* kills and reaps */
        }
    }
    char errbuf[QNS_ERRBUF_SIZE];
    int64_t now = now_ms();
    int64_t deadline = now + s->opts.shutdown_timeout_ms;
    int64_t grace_end = stopping ? now + QNS_SYNC_STOP_GRACE_MS : 0;
    for (;;) {
        if (!stopping && stop_requested(s)) {
            stopping = 1;
            stop_guests_mid_grant(s);
            grace_end = now_ms() + QNS_SYNC_STOP_GRACE_MS;
        }
        if (grace_end && now_ms() >= grace_end) {
            for (int i = 0; i < s->count; i++) {
                if (s->guests[i].hung) {
                    qns_guest_shutdown(s->guests[i].proc, 0);
                }
            }
            grace_end = 0;
        }
        int running = 0;
        for (int i = 0; i < s->count; i++) {
            running += qns_guest_wait(s->guests[i].proc, 0, errbuf) == 0;
        }
        if (running == 0 || now_ms() >= deadline) {
            break;
        }
        nap(s, 1);
    }
    for (int i = 0; i < s->count; i++) {
        qns_guest_shutdown(s->guests[i].proc, 0); /* kills and reaps what is left */
    }
}

void qns_sync_free(qns_sync *s)
{
    if (s == NULL) {
        return;
    }
    qns_sync_shutdown(s);
    for (int i = 0; i < s->count; i++) {
        qns_guest_free(s->guests[i].proc);
    }
    free(s->guests);
    free(s->rx);
    free(s->arena);
    free(s->pfd);
    if (s->pinned && sched_setaffinity(0, sizeof(s->saved_cpus), &s->saved_cpus) < 0) {
        /* Nothing to report it to: the thread merely stays on its one CPU. */
    }
    free(s->cpus);
    free(s->watchdog_off);
    free(s);
}
