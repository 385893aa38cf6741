/*
 * qns-fake-guest - speaks the guest side of -qqq (DESIGN.md section 2) and
 * -netdev qqq (section 3) exactly as the patched QEMU does, with a virtual
 * clock in nanoseconds that advances only by grants. What it does in virtual
 * time follows a script, so protocol tests are fast, exact and repeatable.
 * It is a test instrument, not an emulator: no CPU, no devices.
 *
 * Usage: qns-fake-guest -qqq write=W,read=R[,horizon=on][,save=S] [-netdev qqq,id=ID,fd=N]...
 *                       [-log FILE] [ACTION]...
 * Actions (times in virtual ns, rounds counted from 1):
 *   send:T:NIC:LEN          send a LEN-byte frame at T
 *   sendhex:T:NIC:HEX       send the frame HEX at T
 *   every:T0:PERIOD:NIC:LEN:COUNT   COUNT frames, from T0 every PERIOD
 *   flood:T:NIC:COUNT:LEN   COUNT frames of LEN bytes, all at T
 *   echo:D                  send every received frame back after D ns
 *   overshoot:ROUND:K       run K us past the target in that round
 *   exit:T:STATUS           exit with STATUS at T, without replying
 *   stop:T:STATUS[:EXTRA]   at T, reply with the time run so far, then exit
 *                           with STATUS (a guest OS powering off mid-grant);
 *                           EXTRA zero replies after that one break the rule
 *   crash:T                 die of SIGSEGV at T
 *   hang:ROUND              stop answering in that round (until killed), asleep:
 *                           using no CPU
 *   busy:ROUND:MS           in that round, spin on the CPU for MS ms of wall time
 *                           before running the grant (a guest on a crowded host),
 *                           or before hanging, with hang: in the same round
 *   shortreply:ROUND        write 2 of the 4 reply bytes, then exit
 *   negreply:ROUND          reply -1
 *   horizon:ROUND:H         with horizon=on, send horizon H with that round's
 *                           reply (a guest breaking the protocol)
 *   malformed:T:NIC:KIND    KIND = version | length | type | truncated
 *   partial:T:NIC:LEN:HAVE  at T, write the header of a LEN-byte frame record and
 *                           HAVE of its frame bytes, never the rest (send nothing
 *                           more on that NIC)
 *   deaf:ROUND              from that round's grant on, read nothing more from the
 *                           NIC sockets (frames for it fill the sockets)
 *   stamp:T:NIC:STAMP:LEN   at T, send a LEN-byte frame stamped STAMP instead
 *                           of T (a guest breaking the protocol)
 *   late:T:NIC:WANTED       at T, send a late record for a frame stamped WANTED
 *   arp:NIC:MAC:IP          answer ARP requests for IPv4 address IP on NIC
 *                           with MAC, at the instant they arrive
 *   open:T                  its NICs start at T (default: at 0): frames for an
 *                           instant before the first whole us at or after T
 *                           are dropped (and, with horizon=on, reported with
 *                           unopened records); with horizon=on, replies say
 *                           sealed (-2) until then, the grant in flight ends
 *                           there and that reply says opened (-3). Scripted
 *                           sends come at or after T.
 *   print:T:TEXT            print TEXT on stdout (the console) at T
 *   cpus:T                  print "cpus: LIST" at T, LIST the CPUs this process
 *                           may run on (/proc/self/status Cpus_allowed_list)
 * With save=S, a grant of -2 writes "qns-fake-guest saved at NS" to fd S,
 * replies 0 and exits 0, as QEMU's save does.
 * With horizon=on, each reply is followed by the horizon: the microseconds
 * (rounded down) from the reply's instant to the next scripted event or
 * frame delivery, or INT32_MAX when there is none (the fake guest has no
 * CPU: it is never busy).
 * A frame received after its instant is handed over at once, counted and
 * reported with a late record, as QEMU does.
 * The -log file gets one line per frame: "tx|rx TIME_NS NIC LEN SUM [late]".
 */
#define _GNU_SOURCE
#include "qns_record.h"
#include "qns_record_io.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_NICS 16

enum kind {
    EV_SEND,
    EV_EXIT,
    EV_CRASH,
    EV_MALFORMED,
    EV_PRINT,
    EV_CPUS,
    EV_STOP,
    EV_STAMP,
    EV_LATE,
    EV_PARTIAL,
};

typedef struct event {
    uint64_t time_ns;
    uint64_t seq;
    enum kind kind;
    int nic;
    int status;
    uint64_t stamp_ns; /* EV_STAMP: the stamp; EV_LATE: the late frame's */
    uint8_t *data;
    uint32_t len;
    char *text;
} event;

typedef struct queue {
    event *ev;
    size_t count;
    size_t cap;
    uint64_t seq;
} queue;

typedef struct fake {
    int reply_fd;
    int grant_fd;
    int save_fd; /* -qqq ...,save=S, or -1 */
    int horizon; /* -qqq ...,horizon=on */
    int nic_count;
    qns_record_channel *nic[MAX_NICS];
    FILE *log;
    queue todo;    /* scripted events and echoes, by (time, seq) */
    queue inbound; /* frames from the simulator, by (time, arrival) */
    int64_t echo_ns; /* -1: off */
    int arp_nic;     /* -1: off */
    uint8_t arp_mac[6];
    uint8_t arp_ip[4];
    uint64_t overshoot_round, overshoot_us;
    uint64_t hang_round, shortreply_round, negreply_round;
    uint64_t deaf_round;
    int deaf; /* reads nothing from its NIC sockets */
    uint64_t busy_round, busy_ms;
    uint64_t horizon_round;
    int32_t horizon_value;
    uint64_t clock_ns;
    uint64_t target_ns;
    int64_t replies_us;
    uint64_t round;
    uint64_t late;
    uint64_t tx, rx;
    uint64_t open_ns;  /* NICs take frames from here on (open:) */
    int sealed;        /* no NIC has started yet */
} fake;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("qns-fake-guest: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void push(queue *q, event e)
{
    if (q->count == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 64;
        q->ev = realloc(q->ev, q->cap * sizeof(event));
        if (q->ev == NULL) {
            die("out of memory");
        }
    }
    e.seq = q->seq++;
    /* Keep sorted by (time, seq): insert after every event not later. */
    size_t lo = 0, hi = q->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (q->ev[mid].time_ns <= e.time_ns) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    memmove(&q->ev[lo + 1], &q->ev[lo], (q->count - lo) * sizeof(event));
    q->ev[lo] = e;
    q->count++;
}

static event pop(queue *q)
{
    event e = q->ev[0];
    memmove(&q->ev[0], &q->ev[1], (q->count - 1) * sizeof(event));
    q->count--;
    return e;
}

static uint32_t checksum(const uint8_t *d, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) {
        h = (h ^ d[i]) * 16777619u;
    }
    return h;
}

/* A deterministic Ethernet frame: broadcast, from 52:54:00:00:00:NIC. */
static uint8_t *make_frame(uint64_t t, int nic, uint32_t len, uint64_t n)
{
    uint8_t *f = malloc(len);
    if (f == NULL) {
        die("out of memory");
    }
    for (uint32_t i = 0; i < len; i++) {
        f[i] = (uint8_t)(i * 7 + n + t);
    }
    memset(f, 0xff, 6);
    uint8_t src[6] = {0x52, 0x54, 0, 0, 0, (uint8_t)nic};
    memcpy(f + 6, src, 6);
    f[12] = 0x88;
    f[13] = 0xb5;
    return f;
}

static uint64_t num(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || (*end != '\0' && *end != ':')) {
        die("bad %s '%s'", what, s);
    }
    return v;
}

/* Splits "a:b:c" in place into at most n fields; returns the count. */
static int fields(char *s, char **f, int n)
{
    int k = 0;
    f[k++] = s;
    for (char *p = s; *p && k < n; p++) {
        if (*p == ':') {
            *p = '\0';
            f[k++] = p + 1;
        }
    }
    return k;
}

static int check_nic(fake *g, uint64_t nic)
{
    if (nic >= (uint64_t)g->nic_count) {
        die("no NIC %" PRIu64 " (have %d)", nic, g->nic_count);
    }
    return (int)nic;
}

static uint8_t *parse_hex(const char *h, uint32_t *len)
{
    size_t n = strlen(h);
    if (n % 2 || n / 2 < QNS_RECORD_MIN_FRAME || n / 2 > QNS_RECORD_MAX_FRAME) {
        die("bad frame hex '%s'", h);
    }
    uint8_t *d = malloc(n / 2);
    if (d == NULL) {
        die("out of memory");
    }
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1) {
            die("bad frame hex '%s'", h);
        }
        d[i] = (uint8_t)v;
    }
    *len = (uint32_t)(n / 2);
    return d;
}

static void parse_action(fake *g, const char *arg)
{
    char *s = strdup(arg);
    char *f[8];
    int n = fields(s, f, 8);
    event e = {0};
    if (!strcmp(f[0], "send") && n == 4) {
        e.kind = EV_SEND;
        e.time_ns = num(f[1], "time");
        e.nic = check_nic(g, num(f[2], "nic"));
        e.len = (uint32_t)num(f[3], "length");
        e.data = make_frame(e.time_ns, e.nic, e.len, 0);
        push(&g->todo, e);
    } else if (!strcmp(f[0], "sendhex") && n == 4) {
        e.kind = EV_SEND;
        e.time_ns = num(f[1], "time");
        e.nic = check_nic(g, num(f[2], "nic"));
        e.data = parse_hex(f[3], &e.len);
        push(&g->todo, e);
    } else if (!strcmp(f[0], "every") && n == 6) {
        uint64_t t0 = num(f[1], "time"), period = num(f[2], "period");
        int nic = check_nic(g, num(f[3], "nic"));
        uint32_t len = (uint32_t)num(f[4], "length");
        uint64_t count = num(f[5], "count");
        for (uint64_t k = 0; k < count; k++) {
            event x = {.kind = EV_SEND, .time_ns = t0 + k * period, .nic = nic, .len = len};
            x.data = make_frame(x.time_ns, nic, len, k);
            push(&g->todo, x);
        }
    } else if (!strcmp(f[0], "flood") && n == 5) {
        uint64_t t = num(f[1], "time");
        int nic = check_nic(g, num(f[2], "nic"));
        uint64_t count = num(f[3], "count");
        uint32_t len = (uint32_t)num(f[4], "length");
        for (uint64_t k = 0; k < count; k++) {
            event x = {.kind = EV_SEND, .time_ns = t, .nic = nic, .len = len};
            x.data = make_frame(t, nic, len, k);
            push(&g->todo, x);
        }
    } else if (!strcmp(f[0], "stamp") && n == 5) {
        e.kind = EV_STAMP;
        e.time_ns = num(f[1], "time");
        e.nic = check_nic(g, num(f[2], "nic"));
        e.stamp_ns = num(f[3], "stamp");
        e.len = (uint32_t)num(f[4], "length");
        e.data = make_frame(e.time_ns, e.nic, e.len, 0);
        push(&g->todo, e);
    } else if (!strcmp(f[0], "late") && n == 4) {
        e.kind = EV_LATE;
        e.time_ns = num(f[1], "time");
        e.nic = check_nic(g, num(f[2], "nic"));
        e.stamp_ns = num(f[3], "stamp");
        push(&g->todo, e);
    } else if (!strcmp(f[0], "arp") && n >= 3) {
        /* The MAC's colons split it into fields: put it back together. */
        const char *rest = arg + (size_t)(f[2] - s);
        unsigned m[6], a[4];
        char tail;
        g->arp_nic = check_nic(g, num(f[1], "nic"));
        if (sscanf(rest, "%2x:%2x:%2x:%2x:%2x:%2x:%u.%u.%u.%u%c", &m[0], &m[1], &m[2], &m[3],
                   &m[4], &m[5], &a[0], &a[1], &a[2], &a[3], &tail) != 10) {
            die("bad arp action '%s': want arp:NIC:MAC:IP", arg);
        }
        for (int k = 0; k < 6; k++) {
            g->arp_mac[k] = (uint8_t)m[k];
        }
        for (int k = 0; k < 4; k++) {
            g->arp_ip[k] = (uint8_t)a[k];
        }
    } else if (!strcmp(f[0], "echo") && n == 2) {
        g->echo_ns = (int64_t)num(f[1], "delay");
    } else if (!strcmp(f[0], "overshoot") && n == 3) {
        g->overshoot_round = num(f[1], "round");
        g->overshoot_us = num(f[2], "overshoot");
    } else if (!strcmp(f[0], "exit") && n == 3) {
        e.kind = EV_EXIT;
        e.time_ns = num(f[1], "time");
        e.status = (int)num(f[2], "status");
        push(&g->todo, e);
    } else if (!strcmp(f[0], "stop") && (n == 3 || n == 4)) {
        e.kind = EV_STOP;
        e.time_ns = num(f[1], "time");
        e.status = (int)num(f[2], "status");
        e.len = n == 4 ? (uint32_t)num(f[3], "extra replies") : 0;
        push(&g->todo, e);
    } else if (!strcmp(f[0], "crash") && n == 2) {
        e.kind = EV_CRASH;
        e.time_ns = num(f[1], "time");
        push(&g->todo, e);
    } else if (!strcmp(f[0], "hang") && n == 2) {
        g->hang_round = num(f[1], "round");
    } else if (!strcmp(f[0], "busy") && n == 3) {
        g->busy_round = num(f[1], "round");
        g->busy_ms = num(f[2], "ms");
    } else if (!strcmp(f[0], "shortreply") && n == 2) {
        g->shortreply_round = num(f[1], "round");
    } else if (!strcmp(f[0], "negreply") && n == 2) {
        g->negreply_round = num(f[1], "round");
    } else if (!strcmp(f[0], "malformed") && n == 4) {
        e.kind = EV_MALFORMED;
        e.time_ns = num(f[1], "time");
        e.nic = check_nic(g, num(f[2], "nic"));
        e.text = strdup(f[3]);
        if (strcmp(e.text, "version") && strcmp(e.text, "length") && strcmp(e.text, "type") &&
            strcmp(e.text, "truncated")) {
            die("bad malformed kind '%s'", e.text);
        }
        push(&g->todo, e);
    } else if (!strcmp(f[0], "partial") && n == 5) {
        e.kind = EV_PARTIAL;
        e.time_ns = num(f[1], "time");
        e.nic = check_nic(g, num(f[2], "nic"));
        e.stamp_ns = num(f[3], "length");
        e.len = (uint32_t)num(f[4], "bytes written");
        if (e.len >= e.stamp_ns) {
            die("partial: %u of %" PRIu64 " bytes is not part of a frame", e.len, e.stamp_ns);
        }
        push(&g->todo, e);
    } else if (!strcmp(f[0], "deaf") && n == 2) {
        g->deaf_round = num(f[1], "round");
    } else if (!strcmp(f[0], "cpus") && n == 2) {
        e.kind = EV_CPUS;
        e.time_ns = num(f[1], "time");
        push(&g->todo, e);
    } else if (!strcmp(f[0], "horizon") && n == 3) {
        g->horizon_round = num(f[1], "round");
        g->horizon_value = (int32_t)strtol(f[2], NULL, 10);
    } else if (!strcmp(f[0], "open") && n == 2) {
        g->open_ns = (num(f[1], "time") + 999) / 1000 * 1000;
        g->sealed = 1;
    } else if (!strcmp(f[0], "print") && n >= 3) {
        e.kind = EV_PRINT;
        e.time_ns = num(f[1], "time");
        e.text = strdup(arg + (size_t)(f[2] - s));
        push(&g->todo, e);
    } else {
        die("bad action '%s'", arg);
    }
    free(s);
}

/* "write=W,read=R" and the options the fake guest knows: spin=US (taken,
 * no effect: it never sleeps for long), horizon=on and save=S. */
static void parse_qqq(fake *g, const char *opt)
{
    char *copy = strdup(opt), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char tail;
        if (sscanf(t, "write=%d%c", &g->reply_fd, &tail) == 1 ||
            sscanf(t, "read=%d%c", &g->grant_fd, &tail) == 1 ||
            sscanf(t, "save=%d%c", &g->save_fd, &tail) == 1 || !strncmp(t, "spin=", 5)) {
            continue;
        }
        if (!strcmp(t, "horizon=on")) {
            g->horizon = 1;
            continue;
        }
        die("bad -qqq '%s'", opt);
    }
    free(copy);
}

static void parse_args(fake *g, int argc, char **argv)
{
    const char *log = NULL;
    g->reply_fd = g->grant_fd = g->save_fd = -1;
    g->echo_ns = -1;
    g->arp_nic = -1;
    int i;
    /* Options first (fds must be known before actions name NICs). */
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-qqq") && i + 1 < argc) {
            parse_qqq(g, argv[++i]);
        } else if (!strcmp(argv[i], "-netdev") && i + 1 < argc) {
            int fd;
            char id[64];
            if (sscanf(argv[++i], "qqq,id=%63[^,],fd=%d", id, &fd) != 2) {
                die("bad -netdev '%s'", argv[i]);
            }
            if (g->nic_count == MAX_NICS) {
                die("too many NICs");
            }
            char err[QNS_ERRBUF_SIZE];
            g->nic[g->nic_count] = qns_record_channel_new(fd, err);
            if (g->nic[g->nic_count] == NULL) {
                die("netdev %s: %s", id, err);
            }
            g->nic_count++;
        } else if (!strcmp(argv[i], "-log") && i + 1 < argc) {
            log = argv[++i];
        } else {
            break;
        }
    }
    if (g->reply_fd < 0 || g->grant_fd < 0) {
        die("-qqq write=W,read=R is required");
    }
    for (; i < argc; i++) {
        parse_action(g, argv[i]);
    }
    if (log) {
        g->log = fopen(log, "we");
        if (g->log == NULL) {
            die("cannot open log %s: %s", log, strerror(errno));
        }
    }
}

/* ---- channel I/O --------------------------------------------------------- */

static int on_frame(void *ctx, const qns_record_header *hdr, const uint8_t *frame, char *errbuf)
{
    fake *g = ((void **)ctx)[0];
    int nic = (int)(intptr_t)((void **)ctx)[1];
    (void)errbuf;
    event e = {.kind = EV_SEND, .time_ns = hdr->time_ns, .nic = nic, .len = hdr->length};
    e.data = malloc(hdr->length);
    if (e.data == NULL) {
        die("out of memory");
    }
    memcpy(e.data, frame, hdr->length);
    push(&g->inbound, e);
    return 0;
}

static void drain_all(fake *g)
{
    char err[QNS_ERRBUF_SIZE];
    for (int i = 0; i < g->nic_count && !g->deaf; i++) {
        void *ctx[2] = {g, (void *)(intptr_t)i};
        int r = qns_record_channel_drain(g->nic[i], on_frame, ctx, err);
        if (r < 0) {
            die("netdev %d: %s", i, err);
        }
        if (r == 1) {
            /* The simulator went away: like QEMU, stop quietly. */
            exit(0);
        }
    }
}

/* Writes everything queued, draining input meanwhile: never deadlocks. */
static void flush_blocking(fake *g)
{
    char err[QNS_ERRBUF_SIZE];
    struct pollfd p[MAX_NICS];
    for (;;) {
        int pending = 0;
        for (int i = 0; i < g->nic_count; i++) {
            if (qns_record_channel_flush(g->nic[i], err) < 0) {
                exit(0); /* EPIPE: the simulator is gone */
            }
            size_t left = qns_record_channel_out_pending(g->nic[i]);
            pending += left > 0;
            p[i] =
                (struct pollfd){.fd = qns_record_channel_fd(g->nic[i]),
                                .events = (short)((g->deaf ? 0 : POLLIN) | (left ? POLLOUT : 0))};
        }
        if (!pending) {
            return;
        }
        if (poll(p, (nfds_t)g->nic_count, -1) < 0 && errno != EINTR) {
            die("poll: %s", strerror(errno));
        }
        drain_all(g);
    }
}

static void send_frame(fake *g, int nic, uint64_t t, const uint8_t *d, uint32_t len)
{
    char err[QNS_ERRBUF_SIZE];
    if (qns_record_channel_queue_frame(g->nic[nic], t, d, len, err) < 0) {
        die("netdev %d: %s", nic, err);
    }
    g->tx++;
    if (g->log) {
        fprintf(g->log, "tx %" PRIu64 " %d %u %08x\n", t, nic, len, checksum(d, len));
    }
}

/* A late record, or with `unopened` an unopened one. */
static void send_report(fake *g, int nic, uint64_t t, uint64_t wanted, int unopened)
{
    char err[QNS_ERRBUF_SIZE];
    uint8_t b[QNS_RECORD_HEADER_SIZE + QNS_RECORD_LATE_LENGTH];
    if (unopened) {
        qns_record_encode_unopened(t, wanted, b);
    } else {
        qns_record_encode_late(t, wanted, b);
    }
    if (qns_record_channel_queue_raw(g->nic[nic], b, sizeof(b), err) < 0) {
        die("netdev %d: %s", nic, err);
    }
}

/* The ARP reply to request `req` from the NIC's address, or NULL when the
 * frame is no ARP request for it. */
static uint8_t *arp_reply(const fake *g, const uint8_t *req, uint32_t len)
{
    static const uint8_t head[8] = {0, 1, 8, 0, 6, 4, 0, 1};
    if (len < 42 || req[12] != 0x08 || req[13] != 0x06 || memcmp(req + 14, head, 8) != 0 ||
        memcmp(req + 38, g->arp_ip, 4) != 0) {
        return NULL;
    }
    uint8_t *r = calloc(1, 60);
    if (r == NULL) {
        die("out of memory");
    }
    memcpy(r, req + 6, 6);
    memcpy(r + 6, g->arp_mac, 6);
    memcpy(r + 12, req + 12, 8);
    r[21] = 2;
    memcpy(r + 22, g->arp_mac, 6);
    memcpy(r + 28, g->arp_ip, 4);
    memcpy(r + 32, req + 22, 10);
    return r;
}

/* The header of a frame record of e->stamp_ns bytes and e->len of them. */
static void send_partial(fake *g, const event *e)
{
    char err[QNS_ERRBUF_SIZE];
    qns_record_header h = {.time_ns = g->clock_ns,
                           .length = (uint32_t)e->stamp_ns,
                           .type = QNS_RECORD_FRAME,
                           .version = QNS_RECORD_VERSION};
    uint8_t *b = calloc(1, QNS_RECORD_HEADER_SIZE + e->len);
    if (b == NULL) {
        die("out of memory");
    }
    qns_record_header_encode(&h, b);
    if (qns_record_channel_queue_raw(g->nic[e->nic], b, QNS_RECORD_HEADER_SIZE + e->len, err) < 0) {
        die("netdev %d: %s", e->nic, err);
    }
    free(b);
}

static void send_malformed(fake *g, const event *e)
{
    char err[QNS_ERRBUF_SIZE];
    uint8_t b[QNS_RECORD_HEADER_SIZE + 64];
    qns_record_header h = {.time_ns = e->time_ns, .length = 60, .type = QNS_RECORD_FRAME,
                           .version = QNS_RECORD_VERSION};
    size_t n = sizeof(b);
    if (!strcmp(e->text, "version")) {
        h.version = 2;
    } else if (!strcmp(e->text, "length")) {
        h.length = 5;
        n = QNS_RECORD_HEADER_SIZE + 5;
    } else if (!strcmp(e->text, "type")) {
        h.type = 7;
    } else {
        h.length = 100;
        n = QNS_RECORD_HEADER_SIZE + 10;
    }
    if (h.length == 60) {
        n = QNS_RECORD_HEADER_SIZE + 60;
    }
    memset(b, 0xab, sizeof(b));
    qns_record_header_encode(&h, b);
    if (qns_record_channel_queue_raw(g->nic[e->nic], b, n, err) < 0) {
        die("%s", err);
    }
    flush_blocking(g);
    if (!strcmp(e->text, "truncated")) {
        exit(0);
    }
}

/* ---- the time-grant loop -------------------------------------------------- */

static void write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && errno == EPIPE) {
            exit(0);
        }
        if (w <= 0) {
            die("reply write: %s", strerror(errno));
        }
        b += w;
        n -= (size_t)w;
    }
}

/* The horizon the fake guest replies with: see the usage. */
static int32_t horizon_us(const fake *g)
{
    uint64_t next = UINT64_MAX;
    if (g->todo.count > 0) {
        next = g->todo.ev[0].time_ns;
    }
    if (g->inbound.count > 0 && g->inbound.ev[0].time_ns < next) {
        next = g->inbound.ev[0].time_ns;
    }
    if (next == UINT64_MAX) {
        return INT32_MAX;
    }
    uint64_t us = next > g->clock_ns ? (next - g->clock_ns) / 1000 : 0;
    return us > INT32_MAX - 1 ? INT32_MAX - 1 : (int32_t)us;
}

/* A reply, with the horizon when the simulator asked for it. */
static void write_reply(fake *g, int32_t reply, int32_t horizon)
{
    int32_t r[2] = {reply, horizon};
    write_all(g->reply_fd, r, g->horizon ? sizeof(r) : sizeof(r[0]));
}

/* Returns the grant; exits like QEMU on EOF, a short read or a bad value. */
static int32_t wait_grant(fake *g)
{
    struct pollfd p[MAX_NICS + 1];
    int nics = g->deaf ? 0 : g->nic_count; /* deaf: it waits on the grant alone */
    for (;;) {
        p[0] = (struct pollfd){.fd = g->grant_fd, .events = POLLIN};
        for (int i = 0; i < nics; i++) {
            p[i + 1] = (struct pollfd){.fd = qns_record_channel_fd(g->nic[i]), .events = POLLIN};
        }
        if (nics > 0 && poll(p, (nfds_t)nics + 1, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("poll: %s", strerror(errno));
        }
        if (nics > 0 && !(p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            drain_all(g);
            continue;
        }
        /* A grant is readable: first take every record already written. */
        drain_all(g);
        int32_t v;
        size_t have = 0;
        while (have < sizeof(v)) {
            ssize_t r = read(g->grant_fd, (uint8_t *)&v + have, sizeof(v) - have);
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r < 0) {
                die("grant read: %s", strerror(errno));
            }
            if (r == 0) {
                if (have == 0) {
                    exit(0);
                }
                die("short grant: %zu of 4 bytes", have);
            }
            have += (size_t)r;
        }
        if (v == -2 && g->save_fd >= 0) {
            char text[64];
            int n = snprintf(text, sizeof(text), "qns-fake-guest saved at %" PRIu64 "\n",
                             g->clock_ns);
            int32_t zero = 0;
            write_all(g->save_fd, text, (size_t)n);
            write_all(g->reply_fd, &zero, sizeof(zero));
            exit(0);
        }
        if (v < 0) {
            die("negative grant %d", v);
        }
        return v;
    }
}

static void log_rx(fake *g, const event *e, int late)
{
    g->rx++;
    if (g->log) {
        fprintf(g->log, "rx %" PRIu64 " %d %u %08x%s\n", g->clock_ns, e->nic, e->len,
                checksum(e->data, e->len), late ? " late" : "");
    }
}

static void print_cpus(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (f == NULL) {
        die("cannot open /proc/self/status: %s", strerror(errno));
    }
    char line[512], list[512] = "";
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "Cpus_allowed_list: %511s", list) == 1) {
            break;
        }
    }
    fclose(f);
    if (list[0] == '\0') {
        die("no Cpus_allowed_list in /proc/self/status");
    }
    printf("cpus: %s\n", list);
    fflush(stdout);
}

static void run_event(fake *g, event *e)
{
    switch (e->kind) {
    case EV_SEND:
        send_frame(g, e->nic, g->clock_ns, e->data, e->len);
        break;
    case EV_STAMP:
        send_frame(g, e->nic, e->stamp_ns, e->data, e->len);
        break;
    case EV_LATE:
        send_report(g, e->nic, g->clock_ns, e->stamp_ns, 0);
        break;
    case EV_PRINT:
        printf("%s\n", e->text);
        fflush(stdout);
        break;
    case EV_CPUS:
        print_cpus();
        break;
    case EV_MALFORMED:
        send_malformed(g, e);
        break;
    case EV_PARTIAL:
        send_partial(g, e);
        break;
    case EV_EXIT:
        flush_blocking(g);
        printf("fake guest exiting with status %d at %" PRIu64 " ns\n", e->status, g->clock_ns);
        fflush(stdout);
        exit(e->status);
    case EV_STOP: {
        flush_blocking(g);
        int32_t reply = (int32_t)((int64_t)(g->clock_ns / 1000) - g->replies_us);
        write_reply(g, reply, -1);
        for (uint32_t k = 0; k < e->len; k++) {
            write_reply(g, 0, -1);
        }
        exit(e->status);
    }
    case EV_CRASH: {
        printf("fake guest crashing at %" PRIu64 " ns\n", g->clock_ns);
        fflush(stdout);
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
        _exit(139);
    }
    }
    free(e->data);
    free(e->text);
}

/* Runs virtual time up to (not including) g->target_ns. */
static void run_until_target(fake *g)
{
    for (;;) {
        int use_in = g->inbound.count > 0;
        int use_todo = g->todo.count > 0;
        if (use_in && use_todo) {
            use_in = g->inbound.ev[0].time_ns <= g->todo.ev[0].time_ns;
            use_todo = !use_in;
        }
        if (use_in) {
            if (g->inbound.ev[0].time_ns >= g->target_ns) {
                break;
            }
            event e = pop(&g->inbound);
            if (e.time_ns < g->open_ns) {
                /* For a NIC that has not started: dropped. */
                if (e.time_ns > g->clock_ns) {
                    g->clock_ns = e.time_ns;
                }
                if (g->horizon) {
                    send_report(g, e.nic, g->clock_ns, e.time_ns, 1);
                }
                if (g->log) {
                    fprintf(g->log, "drop %" PRIu64 " %d %u %08x\n", e.time_ns, e.nic, e.len,
                            checksum(e.data, e.len));
                }
                free(e.data);
                continue;
            }
            int late = e.time_ns < g->clock_ns;
            if (late) {
                g->late++;
                send_report(g, e.nic, g->clock_ns, e.time_ns, 0);
            } else {
                g->clock_ns = e.time_ns;
            }
            log_rx(g, &e, late);
            uint8_t *reply = e.nic == g->arp_nic ? arp_reply(g, e.data, e.len) : NULL;
            if (reply != NULL) {
                send_frame(g, e.nic, g->clock_ns, reply, 60);
                free(reply);
            }
            if (g->echo_ns >= 0) {
                event x = e;
                x.time_ns = g->clock_ns + (uint64_t)g->echo_ns;
                push(&g->todo, x);
            } else {
                free(e.data);
            }
        } else if (use_todo) {
            if (g->todo.ev[0].time_ns >= g->target_ns) {
                break;
            }
            event e = pop(&g->todo);
            if (e.time_ns > g->clock_ns) {
                g->clock_ns = e.time_ns;
            }
            run_event(g, &e);
        } else {
            break;
        }
    }
    if (g->clock_ns < g->target_ns) {
        g->clock_ns = g->target_ns;
    }
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Uses the CPU, and only it, for `ms` of wall time. */
static void spin_ms(uint64_t ms)
{
    int64_t end = monotonic_ms() + (int64_t)ms;
    while (monotonic_ms() < end) {
    }
}

int main(int argc, char **argv)
{
    static fake g;
    signal(SIGPIPE, SIG_IGN);
    parse_args(&g, argc, argv);
    char err[QNS_ERRBUF_SIZE];
    for (int i = 0; i < g.nic_count; i++) {
        if (qns_record_channel_queue_hello(g.nic[i], err) < 0) {
            die("%s", err);
        }
    }
    flush_blocking(&g);
    for (;;) {
        int32_t grant = wait_grant(&g);
        g.round++;
        g.deaf |= g.deaf_round > 0 && g.round >= g.deaf_round;
        if (g.round == g.busy_round) {
            spin_ms(g.busy_ms);
        }
        if (g.round == g.hang_round) {
            for (;;) {
                pause();
            }
        }
        g.target_ns += (uint64_t)grant * 1000;
        if (g.sealed && g.horizon && g.open_ns < g.target_ns) {
            /* The grant ends where a NIC starts. */
            g.target_ns = g.open_ns > g.clock_ns ? g.open_ns : g.clock_ns;
        }
        if (grant > 0) {
            uint64_t goal = g.target_ns;
            if (g.round == g.overshoot_round) {
                g.target_ns += g.overshoot_us * 1000;
            }
            run_until_target(&g);
            g.target_ns = goal;
        }
        flush_blocking(&g);
        if (g.log) {
            fflush(g.log);
        }
        int32_t reply = (int32_t)((int64_t)(g.clock_ns / 1000) - g.replies_us);
        if (g.round == g.negreply_round) {
            reply = -1;
        }
        if (g.round == g.shortreply_round) {
            write_all(g.reply_fd, &reply, 2);
            exit(0);
        }
        g.replies_us += reply;
        int32_t horizon = horizon_us(&g);
        if (g.sealed && g.clock_ns >= g.open_ns) {
            g.sealed = 0;
            horizon = -3;
        } else if (g.sealed) {
            horizon = -2;
        }
        if (g.round == g.horizon_round) {
            horizon = g.horizon_value;
        }
        write_reply(&g, reply, horizon);
    }
}
