/* The simulator side of the time-grant protocol (DESIGN.md section 2) and of
 * the frame channel (section 3), driven against the fake guest. */
#define _GNU_SOURCE
#include "qns_limits.h"
#include "qns_record.h"
#include "qns_sync.h"
#include "test_support.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef QNS_FAKE_GUEST
#error "QNS_FAKE_GUEST must name the fake guest binary"
#endif

static char err[QNS_ERRBUF_SIZE];

typedef struct world {
    qns_sync *s;
    ts_argv argv;
    char console[64];
    /* frames received, in delivery order */
    int frames;
    int guest[8192];
    int nic[8192];
    uint64_t time_ns[8192];
    uint32_t len[8192];
    uint8_t first[8192];
} world;

static void on_frame(void *ctx, const qns_sync_frame *f)
{
    world *w = ctx;
    if (w->frames < 8192) {
        w->guest[w->frames] = f->guest;
        w->nic[w->frames] = f->nic;
        w->time_ns[w->frames] = f->time_ns;
        w->len[w->frames] = f->length;
        w->first[w->frames] = f->data[14];
    }
    w->frames++;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof(*w));
    qns_sync_options o = {.watchdog_ms = 10000, .shutdown_timeout_ms = 1000};
    w->s = qns_sync_new(&o, err);
    assert_non_null(w->s);
    qns_sync_set_frame_handler(w->s, on_frame, w);
    snprintf(w->console, sizeof(w->console), "console-%d.log", getpid());
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    qns_sync_free(w->s);
    unlink(w->console);
    free(w);
    assert_int_equal(ts_child_count(), 0);
    return 0;
}

static int add_guest(world *w, const char *name, int nics)
{
    qns_guest_spec spec = {
        .name = name, .argv = w->argv.v, .nic_count = nics, .console_path = w->console};
    int i = qns_sync_add_guest(w->s, &spec, err);
    if (i < 0) {
        fail_msg("add_guest: %s", err);
    }
    return i;
}

/* A fake guest without NICs that follows one action. */
static int add_scripted(world *w, const char *name, const char *action)
{
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    ts_add(&w->argv, "%s", action);
    return add_guest(w, name, 0);
}

/* The world's set of guests, made again with other options. */
static void renew(world *w, qns_sync_options o)
{
    qns_sync_free(w->s);
    w->s = qns_sync_new(&o, err);
    assert_non_null(w->s);
    qns_sync_set_frame_handler(w->s, on_frame, w);
}

static void round_ok(world *w, int32_t grant)
{
    int32_t g[8] = {grant, grant, grant, grant, grant, grant, grant, grant};
    if (qns_sync_round(w->s, g, err) != 0) {
        fail_msg("round: %s", err);
    }
}

static void replies_equal_grants_over_100000_rounds(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    add_guest(w, "g0", 0);
    for (int k = 0; k < 100000; k++) {
        round_ok(w, 10);
        if (qns_sync_last_reply_us(w->s, 0) != 10) {
            fail_msg("round %d: reply %d", k + 1, qns_sync_last_reply_us(w->s, 0));
        }
    }
    assert_int_equal(qns_sync_clock_us(w->s, 0), 1000000);
    assert_int_equal(qns_sync_rounds(w->s, 0), 100000);
}

static void overshoot_is_accounted_and_ahead_guest_waits(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    ts_add(&w->argv, "overshoot:5:25");
    add_guest(w, "g0", 0);
    for (int k = 1; k <= 4; k++) {
        assert_int_equal(qns_sync_round_to(w->s, 10 * k, err), 0);
    }
    assert_int_equal(qns_sync_round_to(w->s, 50, err), 0);
    assert_int_equal(qns_sync_last_reply_us(w->s, 0), 35); /* 10 granted + 25 over */
    assert_int_equal(qns_sync_clock_us(w->s, 0), 75);
    /* Ahead of T=60 and T=70: no grant, no round for the guest. */
    assert_int_equal(qns_sync_round_to(w->s, 60, err), 0);
    assert_int_equal(qns_sync_round_to(w->s, 70, err), 0);
    assert_int_equal(qns_sync_rounds(w->s, 0), 5);
    assert_int_equal(qns_sync_clock_us(w->s, 0), 75);
    /* Behind T=80 again: granted up to its own target, replies what it ran. */
    assert_int_equal(qns_sync_round_to(w->s, 80, err), 0);
    assert_int_equal(qns_sync_last_reply_us(w->s, 0), 5);
    assert_int_equal(qns_sync_clock_us(w->s, 0), 80);
    assert_int_equal(qns_sync_granted_us(w->s, 0), 80);
}

static void barrier_grant_zero_answers_zero(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    add_guest(w, "g0", 0);
    round_ok(w, 0);
    assert_int_equal(qns_sync_last_reply_us(w->s, 0), 0);
    assert_int_equal(qns_sync_clock_us(w->s, 0), 0);
    round_ok(w, 7);
    round_ok(w, 0);
    assert_int_equal(qns_sync_last_reply_us(w->s, 0), 0);
    assert_int_equal(qns_sync_clock_us(w->s, 0), 7);
    assert_int_equal(qns_sync_rounds(w->s, 0), 3);
}

static void negative_grant_is_refused_before_anything_is_sent(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    add_guest(w, "g0", 0);
    int32_t g = -5;
    assert_int_equal(qns_sync_round(w->s, &g, err), -1);
    assert_string_equal(err, "grant -5 us for guest g0 is negative");
    assert_false(qns_sync_failed(w->s));
    round_ok(w, 10);
    assert_int_equal(qns_sync_clock_us(w->s, 0), 10);
}

static void expect_round_error(world *w, int rounds, const char *want)
{
    for (int k = 0; k < rounds - 1; k++) {
        round_ok(w, 10);
    }
    int32_t g = 10;
    assert_int_equal(qns_sync_round(w->s, &g, err), -1);
    assert_string_equal(err, want);
    assert_true(qns_sync_failed(w->s));
}

static void negative_reply_is_an_error(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    ts_add(&w->argv, "negreply:3");
    add_guest(w, "g0", 0);
    expect_round_error(w, 3, "guest g0 replied -1 us to a grant of 10 us in round 3");
}

static void short_reply_is_an_error(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    ts_add(&w->argv, "shortreply:2");
    add_guest(w, "g0", 0);
    expect_round_error(w, 2,
                       "guest g0 exited with status 0 (truncated reply: 2 of 4 bytes) at "
                       "virtual time 10 us, round 2");
}

static void exit_is_reported_with_status_and_console(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    ts_add(&w->argv, "print:1000:booting");
    ts_add(&w->argv, "exit:25000:3");
    add_guest(w, "web", 0);
    expect_round_error(w, 3,
                       "guest web exited with status 3 (no reply) at virtual time 20 us, "
                       "round 3; console: booting | fake guest exiting with status 3 at "
                       "25000 ns");
}

static void crash_is_reported_with_signal(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    ts_add(&w->argv, "crash:5000");
    add_guest(w, "g0", 0);
    expect_round_error(w, 1,
                       "guest g0 was killed by signal 11 (Segmentation fault) (no reply) at "
                       "virtual time 0 us, round 1; console: fake guest crashing at 5000 ns");
}

/* One more round of 10 us for each guest, which fails with `want`; the wall
 * time it took, in ms. */
static long long failing_round_ms(world *w, const char *want)
{
    int32_t g[8] = {10, 10, 10, 10, 10, 10, 10, 10};
    long long t0 = ts_now_ms();
    assert_int_equal(qns_sync_round(w->s, g, err), -1);
    long long took = ts_now_ms() - t0;
    assert_string_equal(err, want);
    assert_true(qns_sync_failed(w->s));
    return took;
}

/* Shutdown kills the guest at once, as one the watchdog gave up on. */
static void shutdown_kills_at_once(world *w, int guest)
{
    long long t0 = ts_now_ms();
    qns_sync_shutdown(w->s);
    assert_true(ts_now_ms() - t0 < 1000);
    char how[128];
    qns_guest_describe_end(qns_sync_guest(w->s, guest), how, sizeof(how));
    assert_string_equal(how, "was killed by signal 9 (Killed)");
    assert_int_equal(ts_child_count(), 0);
}

/* A guest "stuck" that hangs in round `round` after busy_ms on the CPU, with
 * a 200 ms watchdog, fails that round with `want`, between min_ms and max_ms
 * of wall time into it, and is killed at once. */
typedef struct stuck_case {
    int busy_ms;
    int round;
    const char *want;
    long long min_ms, max_ms;
} stuck_case;

static const stuck_case stuck_cases[] = {
    /* Asleep, it used no CPU: hung at the first look, within the window
     * (less its first tenth, when it took the grant). */
    {0, 4,
     "guest stuck did not reply within 200 ms in round 4 and used no CPU in the last 180 ms "
     "(0 ms; hung); to wait for it however long it takes, set watchdog_ms to 0",
     200, 400},
    /* Busy in [20, 200] and part of [200, 400] ms, idle in [400, 600]: hung
     * at the end of its first idle window; the message counts the windows. */
    {300, 2,
     "guest stuck did not reply within 600 ms in round 2 and used no CPU in the last 200 ms "
     "(0 ms; hung); to wait for it however long it takes, set watchdog_ms to 0",
     600, 1000},
};

static void stuck_guest_fails(world *w, const stuck_case *c)
{
    renew(w, (qns_sync_options){.watchdog_ms = 200, .shutdown_timeout_ms = 3000});
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    ts_add(&w->argv, "busy:%d:%d", c->round, c->busy_ms);
    ts_add(&w->argv, "hang:%d", c->round);
    add_guest(w, "stuck", 0);
    for (int k = 1; k < c->round; k++) {
        round_ok(w, 10);
    }
    long long took = failing_round_ms(w, c->want);
    assert_true(took >= c->min_ms && took < c->max_ms);
    shutdown_kills_at_once(w, 0);
}

static void hang_is_caught_by_watchdog_and_killed(void **state)
{
    stuck_guest_fails(*state, &stuck_cases[0]);
}

static void guest_that_stops_running_is_hung_a_window_later(void **state)
{
    stuck_guest_fails(*state, &stuck_cases[1]);
}

/* Two guests, "idle" hanging in round 2 and the other following `action`,
 * with a 200 ms watchdog: round 2 fails with `want`, and both guests are
 * killed at once. */
typedef struct pair_case {
    const char *name, *action;
    const char *watchdog_off;
    const char *want;
} pair_case;

static const pair_case pair_cases[] = {
    /* The one that used no CPU is named; the busy one goes with it (at
     * once, not after its grant); the way to turn the watchdog off is the
     * caller's. */
    {"busy", "busy:2:10000", "set watchdog = off in [scenario]",
     "guest idle did not reply within 200 ms in round 2 and used no CPU in the last 180 ms "
     "(0 ms; hung); to wait for it however long it takes, set watchdog = off in [scenario]"},
    /* Both asleep: both named, "them". */
    {"asleep", "hang:2", NULL,
     "guest asleep, idle did not reply within 200 ms in round 2 and used no CPU in the last "
     "180 ms (0 ms; hung); to wait for them however long it takes, set watchdog_ms to 0"},
};

static void pair_fails(world *w, const pair_case *c)
{
    renew(w, (qns_sync_options){
                 .watchdog_ms = 200, .shutdown_timeout_ms = 3000, .watchdog_off = c->watchdog_off});
    add_scripted(w, c->name, c->action);
    add_scripted(w, "idle", "hang:2");
    round_ok(w, 10);
    failing_round_ms(w, c->want);
    shutdown_kills_at_once(w, 0);
    assert_true(qns_guest_ended(qns_sync_guest(w->s, 1)));
}

static void only_the_idle_guest_is_called_hung(void **state)
{
    pair_fails(*state, &pair_cases[0]);
}

static void two_idle_guests_are_named_together(void **state)
{
    pair_fails(*state, &pair_cases[1]);
}

/* ---- stop requests: a signal handler writes to a pipe ---------------------- */

static int stop_pipe_w = -1;

static void write_stop_byte(int sig)
{
    (void)sig;
    int saved = errno;
    char b = 1;
    if (write(stop_pipe_w, &b, 1) < 0) {
        /* the pipe is full: a stop is pending anyway */
    }
    errno = saved;
}

/* SIGALRM after ms, whose handler writes the stop byte. */
static void stop_after_ms(int stop_w, int ms)
{
    stop_pipe_w = stop_w;
    struct sigaction sa = {.sa_handler = write_stop_byte};
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
    struct itimerval t = {.it_value = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000}};
    assert_int_equal(setitimer(ITIMER_REAL, &t, NULL), 0);
}

static qns_sync *new_with_stop_fd(world *w, int *stop, int watchdog_ms)
{
    qns_sync_free(w->s);
    assert_int_equal(pipe2(stop, O_CLOEXEC | O_NONBLOCK), 0);
    qns_sync_options o = {
        .watchdog_ms = watchdog_ms, .shutdown_timeout_ms = 5000, .stop_fd = stop[0]};
    w->s = qns_sync_new(&o, err);
    assert_non_null(w->s);
    return w->s;
}

static void stop_request_wakes_a_round_and_ends_a_hung_guest_at_once(void **state)
{
    world *w = *state;
    int stop[2];
    new_with_stop_fd(w, stop, 60000);
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 1);
    ts_add(&w->argv, "hang:2");
    add_guest(w, "stuck", 1);
    round_ok(w, 10);
    int32_t g = 10;
    assert_int_equal(qns_sync_round_begin(w->s, &g, err), 0);
    long long t0 = ts_now_ms();
    stop_after_ms(stop[1], 200);
    assert_int_equal(qns_sync_round_end(w->s, err), -1);
    long long woke = ts_now_ms() - t0;
    assert_string_equal(err, "stopped on request in round 2");
    assert_true(qns_sync_stopped(w->s));
    assert_true(qns_sync_failed(w->s));
    /* The alarm comes at 200 ms; the round ends within 100 ms of it. */
    assert_true(woke >= 190 && woke < 300);
    /* The guest ignores EOF; after a stop it is not waited out (5 s). */
    t0 = ts_now_ms();
    qns_sync_shutdown(w->s);
    assert_true(ts_now_ms() - t0 < QNS_SYNC_STOP_GRACE_MS + 100);
    char how[128];
    qns_guest_describe_end(qns_sync_guest(w->s, 0), how, sizeof(how));
    assert_string_equal(how, "was killed by signal 15 (Terminated)");
    assert_int_equal(ts_child_count(), 0);
    close(stop[0]);
    close(stop[1]);
}

static void stop_request_wakes_a_shutdown_that_waits_for_a_guest(void **state)
{
    world *w = *state;
    int stop[2];
    new_with_stop_fd(w, stop, 60000);
    add_scripted(w, "dies", "crash:15000");
    add_scripted(w, "stuck", "hang:2");
    round_ok(w, 10);
    /* One guest dies in round 2; the other, stuck in it, ignores EOF. */
    int32_t g[2] = {10, 10};
    assert_int_equal(qns_sync_round(w->s, g, err), -1);
    assert_non_null(strstr(err, "guest dies was killed by signal 11"));
    assert_false(qns_sync_stopped(w->s));
    /* Without a stop this shutdown would wait 5 s for the guest. */
    long long t0 = ts_now_ms();
    stop_after_ms(stop[1], 100);
    qns_sync_shutdown(w->s);
    long long took = ts_now_ms() - t0;
    assert_true(took >= 90 && took < 100 + QNS_SYNC_STOP_GRACE_MS + 100);
    assert_true(qns_guest_ended(qns_sync_guest(w->s, 1)));
    assert_int_equal(ts_child_count(), 0);
    close(stop[0]);
    close(stop[1]);
}

typedef struct waits {
    int calls;
    int guest[8];
    int64_t waited_ms[8];
} waits;

static int record_wait(void *ctx, int guest, int64_t waited_ms)
{
    waits *r = ctx;
    if (r->calls < 8) {
        r->guest[r->calls] = guest;
        r->waited_ms[r->calls] = waited_ms;
    }
    r->calls++;
    return 0;
}

/* Records, and stops the run at the third call. */
static int on_wait(void *ctx, int guest, int64_t waited_ms)
{
    record_wait(ctx, guest, waited_ms);
    return ((waits *)ctx)->calls == 3;
}

static void long_round_reports_the_guest_it_waits_for_and_can_stop(void **state)
{
    world *w = *state;
    qns_sync_free(w->s);
    waits r = {0};
    qns_sync_options o = {.watchdog_ms = 60000,
                          .shutdown_timeout_ms = 5000,
                          .wait_report_ms = 200,
                          .wait_fn = on_wait,
                          .wait_ctx = &r};
    w->s = qns_sync_new(&o, err);
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    add_guest(w, "fine", 0);
    ts_add(&w->argv, "hang:3");
    add_guest(w, "stuck", 0);
    round_ok(w, 10); /* the guests start up in this one */
    r.calls = 0;
    round_ok(w, 10); /* a quick round reports nothing */
    assert_int_equal(r.calls, 0);
    int32_t g[2] = {10, 10};
    long long t0 = ts_now_ms();
    assert_int_equal(qns_sync_round(w->s, g, err), -1);
    assert_string_equal(err, "stopped on request in round 3");
    assert_true(qns_sync_stopped(w->s));
    assert_int_equal(r.calls, 3);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(r.guest[k], 1);
        assert_true(r.waited_ms[k] >= 200 * (k + 1));
    }
    assert_true(ts_now_ms() - t0 < 2000);
}

/* A grant that takes a guest three watchdog windows of wall time, all of it
 * on the CPU (a crowded host), is waited for: the run goes on to its end. */
static void busy_guest_is_waited_for_past_the_watchdog(void **state)
{
    world *w = *state;
    waits r = {0};
    renew(w, (qns_sync_options){.watchdog_ms = 200,
                                .shutdown_timeout_ms = 1000,
                                .wait_report_ms = 100,
                                .wait_fn = record_wait,
                                .wait_ctx = &r});
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    add_guest(w, "fine", 0);
    ts_add(&w->argv, "busy:3:600");
    add_guest(w, "slow", 0);
    round_ok(w, 10);
    round_ok(w, 10);
    r.calls = 0;
    long long t0 = ts_now_ms();
    round_ok(w, 10);
    long long took = ts_now_ms() - t0;
    assert_true(took >= 600);
    /* Progress reports go on meanwhile, naming the guest waited for. */
    assert_true(r.calls >= 4);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(r.guest[k], 1);
    }
    round_ok(w, 10);
    round_ok(w, 10);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(qns_sync_clock_us(w->s, i), 50);
        assert_int_equal(qns_sync_granted_us(w->s, i), 50);
        assert_int_equal(qns_sync_rounds(w->s, i), 5);
    }
    assert_false(qns_sync_failed(w->s));
}

static void exec_failure_is_reported(void **state)
{
    world *w = *state;
    const char *argv[] = {"/nonexistent/qemu-system-x86_64", NULL};
    qns_guest_spec spec = {.name = "g0", .argv = argv};
    assert_int_equal(qns_sync_add_guest(w->s, &spec, err), -1);
    assert_string_equal(err,
                        "guest g0: cannot execute /nonexistent/qemu-system-x86_64: No such file "
                        "or directory");
    assert_int_equal(ts_child_count(), 0);
}

/* What a guest starts goes with it: its process group is killed when it
 * exits by itself (the leftover child would run on) and when it is shut
 * down (a child that ignores SIGTERM). */
static void a_guest_takes_its_process_group_along(void **state)
{
    (void)state;
    const char *exits[] = {"/bin/sh", "-c", "trap '' TERM; (exec sleep 1000) & sleep 0.3; exit 3",
                           NULL};
    const char *hangs[] = {"/bin/sh", "-c", "trap '' TERM; (exec sleep 1000) & exec sleep 1000",
                           NULL};
    const char *const *argvs[] = {exits, hangs};
    for (int i = 0; i < 2; i++) {
        qns_guest_spec spec = {.name = "g0", .argv = argvs[i]};
        qns_guest *g = qns_guest_spawn(&spec, err);
        assert_non_null(g);
        pid_t pgid = qns_guest_pid(g);
        long long t0 = ts_now_ms();
        while (ts_live_in_group(pgid) < 2 && ts_now_ms() - t0 < 5000) {
            usleep(1000);
        }
        assert_true(ts_live_in_group(pgid) >= 2); /* the shell and what it started */
        if (i == 0) {
            assert_int_equal(qns_guest_wait(g, 5000, err), 1);
            assert_int_equal(WEXITSTATUS(qns_guest_exit_status(g)), 3);
        } else {
            qns_guest_shutdown(g, 100);
        }
        /* Killed at once; the orphaned child is reaped by whoever adopts it. */
        t0 = ts_now_ms();
        while (ts_live_in_group(pgid) > 0 && ts_now_ms() - t0 < 2000) {
            usleep(1000);
        }
        assert_int_equal(ts_live_in_group(pgid), 0);
        qns_guest_free(g);
    }
    assert_int_equal(ts_child_count(), 0);
}

static void console_file_error_is_reported(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    qns_guest_spec spec = {.name = "g0", .argv = w->argv.v, .console_path = "no/such/dir/c.log"};
    assert_int_equal(qns_sync_add_guest(w->s, &spec, err), -1);
    assert_string_equal(err, "guest g0: cannot open console file no/such/dir/c.log: No such file "
                             "or directory");
}

static void snapshot_file_error_is_reported(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    qns_guest_spec spec = {.name = "g0", .argv = w->argv.v, .snapshot_path = "no/such/dir/s"};
    assert_int_equal(qns_sync_add_guest(w->s, &spec, err), -1);
    assert_string_equal(err, "guest g0: cannot open snapshot no/such/dir/s: No such file or "
                             "directory");
    spec.snapshot_save = 1;
    assert_int_equal(qns_sync_add_guest(w->s, &spec, err), -1);
    assert_string_equal(err, "guest g0: cannot open snapshot no/such/dir/s: No such file or "
                             "directory");
    assert_int_equal(ts_child_count(), 0);
}

static void frames_cross_both_ways_at_exact_instants(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 1);
    ts_add(&w->argv, "send:5000:0:60");
    ts_add(&w->argv, "echo:2500");
    add_guest(w, "g0", 1);
    round_ok(w, 10); /* [0,10) us: the scripted send */
    assert_int_equal(w->frames, 1);
    assert_int_equal(w->time_ns[0], 5000);
    assert_int_equal(w->len[0], 60);
    uint8_t f[100];
    memset(f, 0, sizeof(f));
    f[14] = 0x42;
    assert_int_equal(qns_sync_send_frame(w->s, 0, 0, 12345, f, 100, err), 0);
    round_ok(w, 10); /* [10,20): delivered at 12345, echoed at 14845 */
    assert_int_equal(w->frames, 2);
    assert_int_equal(w->time_ns[1], 14845);
    assert_int_equal(w->len[1], 100);
    assert_int_equal(w->first[1], 0x42);
    assert_int_equal(qns_sync_frames_in(w->s, 0), 2);
    assert_int_equal(qns_sync_frames_out(w->s, 0), 1);
}

static void frames_at_the_grant_boundary_belong_to_the_next_round(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 1);
    ts_add(&w->argv, "send:10000:0:60");
    add_guest(w, "g0", 1);
    round_ok(w, 10);
    assert_int_equal(w->frames, 0);
    round_ok(w, 10);
    assert_int_equal(w->frames, 1);
    assert_int_equal(w->time_ns[0], 10000);
}

static void frames_are_delivered_in_time_guest_nic_order(void **state)
{
    world *w = *state;
    /* Guest 1 sends earlier than guest 0; equal times go by guest, then NIC. */
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 2);
    ts_add(&w->argv, "send:3000:1:60");
    ts_add(&w->argv, "send:3000:0:60");
    ts_add(&w->argv, "send:7000:0:60");
    add_guest(w, "a", 2);
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 2);
    ts_add(&w->argv, "send:3000:0:60");
    ts_add(&w->argv, "send:1000:1:60");
    add_guest(w, "b", 2);
    round_ok(w, 10);
    assert_int_equal(w->frames, 5);
    const int want_guest[] = {1, 0, 0, 1, 0};
    const int want_nic[] = {1, 0, 1, 0, 0};
    const uint64_t want_t[] = {1000, 3000, 3000, 3000, 7000};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(w->guest[i], want_guest[i]);
        assert_int_equal(w->nic[i], want_nic[i]);
        assert_int_equal(w->time_ns[i], want_t[i]);
    }
}

static void expect_malformed(world *w, const char *kind, const char *want)
{
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 2);
    char a[64];
    snprintf(a, sizeof(a), "malformed:5000:1:%s", kind);
    ts_add(&w->argv, "%s", a);
    add_guest(w, "g0", 2);
    expect_round_error(w, 1, want);
}

static void malformed_version_names_guest_and_nic(void **state)
{
    expect_malformed(*state, "version",
                     "guest g0 nic 1: malformed record: record version 2, expected 1");
}

static void malformed_length_names_guest_and_nic(void **state)
{
    expect_malformed(*state, "length",
                     "guest g0 nic 1: malformed record: frame length 5 out of range 14..65535");
}

static void malformed_type_names_guest_and_nic(void **state)
{
    expect_malformed(*state, "type", "guest g0 nic 1: malformed record: unknown record type 7");
}

static void truncated_record_names_guest_and_nic(void **state)
{
    expect_malformed(*state, "truncated",
                     "guest g0 nic 1: truncated record: connection closed after 26 bytes of a "
                     "record");
}

static void frame_stamped_before_its_round_is_a_protocol_error(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 1);
    ts_add(&w->argv, "stamp:15000:0:9000:60");
    add_guest(w, "g0", 1);
    expect_round_error(w, 2,
                       "guest g0 nic 0: frame stamped 9000 ns is before its round, which began "
                       "at 10000 ns");
}

static void frame_stamped_after_its_round_is_a_protocol_error(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 2);
    ts_add(&w->argv, "stamp:5000:1:11000:60");
    add_guest(w, "g0", 2);
    expect_round_error(w, 1,
                       "guest g0 nic 1: frame stamped 11000 ns is after the end of its round at "
                       "10000 ns");
}

static void frame_stamped_before_its_nics_previous_is_a_protocol_error(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 2);
    ts_add(&w->argv, "send:5000:1:60");
    ts_add(&w->argv, "stamp:6000:1:4000:60");
    ts_add(&w->argv, "stamp:6000:0:4000:60"); /* another NIC: its own order */
    add_guest(w, "g0", 2);
    expect_round_error(w, 1,
                       "guest g0 nic 1: frame stamped 4000 ns is earlier than the NIC's previous "
                       "frame, stamped 5000 ns");
}

/* A record the guest began and never finished is found when the run ends:
 * the header of a 100-byte frame and 20 of its bytes, on NIC 1. */
static void record_cut_short_at_the_end_names_guest_and_nic(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 2);
    ts_add(&w->argv, "send:2000:1:60");
    ts_add(&w->argv, "partial:5000:1:100:20");
    add_guest(w, "g0", 2);
    round_ok(w, 10);
    round_ok(w, 10);
    assert_int_equal(w->frames, 1);
    assert_int_equal(qns_sync_check_end(w->s, 20000, err), -1);
    assert_string_equal(err, "guest g0 nic 1: the run ended in the middle of a record: the guest "
                             "had written 36 of its 116 bytes");
    assert_true(qns_sync_failed(w->s));
}

/* The end of a run with whole records passes; then a header alone is cut
 * short too. */
static void whole_records_pass_the_end_and_a_header_alone_does_not(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 1);
    ts_add(&w->argv, "send:2000:0:60");
    ts_add(&w->argv, "partial:15000:0:60:0");
    add_guest(w, "g0", 1);
    round_ok(w, 10);
    assert_int_equal(qns_sync_check_end(w->s, 10000, err), 0);
    round_ok(w, 10);
    assert_int_equal(qns_sync_check_end(w->s, 20000, err), -1);
    assert_string_equal(err, "guest g0 nic 0: the run ended in the middle of a record: the guest "
                             "had written 16 of its 76 bytes");
}

/* A reply above its grant is allowed while the guest's clock stays within
 * the run; past the run's end it fails, naming grant, reply and end. */
static void overshoot_past_the_end_of_the_run_fails(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    ts_add(&w->argv, "overshoot:2:25");
    add_guest(w, "g0", 0);
    assert_int_equal(qns_sync_round_to(w->s, 10, err), 0);
    assert_int_equal(qns_sync_round_to(w->s, 20, err), 0);
    assert_int_equal(qns_sync_clock_us(w->s, 0), 45);
    assert_int_equal(qns_sync_check_end(w->s, 45000, err), 0);
    assert_int_equal(qns_sync_check_end(w->s, 44999, err), -1);
    assert_string_equal(err, "guest g0 replied 35 us to a grant of 10 us in round 2, which took "
                             "its clock to 45 us, past the run's end at 44.999 us");
}

/* A guest that stops reading its NIC socket keeps its grant from being
 * written once the socket is full: the watchdog names it and the NIC. */
static void guest_that_stops_reading_its_frames_is_named_with_its_nic(void **state)
{
    world *w = *state;
    renew(w, (qns_sync_options){.watchdog_ms = 200, .shutdown_timeout_ms = 3000});
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 2);
    ts_add(&w->argv, "deaf:2");
    add_guest(w, "g0", 2);
    round_ok(w, 10);
    round_ok(w, 10);
    static uint8_t f[QNS_RECORD_MAX_FRAME];
    for (int k = 0; k < 64; k++) {
        assert_int_equal(qns_sync_send_frame(w->s, 0, 1, 25000, f, sizeof(f), err), 0);
    }
    failing_round_ms(w, "guest g0 nic 1 did not read its frames within 200 ms in round 3 (the "
                        "socket is full) and used no CPU in the last 180 ms (0 ms; hung); to "
                        "wait for it however long it takes, set watchdog_ms to 0");
    qns_sync_shutdown(w->s);
    assert_true(qns_guest_ended(qns_sync_guest(w->s, 0)));
}

static void late_record_from_the_guest_fails_the_round(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 1);
    ts_add(&w->argv, "late:17000:0:12000");
    add_guest(w, "g0", 1);
    expect_round_error(w, 2,
                       "guest g0 nic 0: a frame stamped 12000 ns reached the NIC late, at 17000 "
                       "ns of the guest's clock");
    assert_int_equal(qns_sync_late_records(w->s, 0), 1);
}

/* A frame sent for an instant the guest has passed reaches it at once; the
 * guest (as QEMU does) reports it with a late record. */
static void frame_in_the_guests_past_comes_back_as_a_late_record(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 1);
    add_guest(w, "g0", 1);
    round_ok(w, 10);
    uint8_t f[60] = {0};
    assert_int_equal(qns_sync_send_frame(w->s, 0, 0, 4000, f, sizeof(f), err), 0);
    expect_round_error(w, 1,
                       "guest g0 nic 0: a frame stamped 4000 ns reached the NIC late, at 10000 "
                       "ns of the guest's clock");
    assert_int_equal(qns_sync_late_records(w->s, 0), 1);
    assert_int_equal(qns_sync_frames_in(w->s, 0), 0);
}

/* A fake guest speaking -qqq ...,horizon=on, whose NICs start at `open_ns`. */
static void add_sealed_guest(world *w, int nics, uint64_t open_ns)
{
    ts_fake_argv_horizon(&w->argv, QNS_FAKE_GUEST, nics);
    ts_add(&w->argv, "open:%llu", (unsigned long long)open_ns);
    qns_guest_spec spec = {.name = "g0",
                           .argv = w->argv.v,
                           .nic_count = nics,
                           .console_path = w->console,
                           .horizon = 1};
    if (qns_sync_add_guest(w->s, &spec, err) < 0) {
        fail_msg("add_guest: %s", err);
    }
}

/* Until its NIC starts a guest is sealed; a long grant ends at the first
 * whole microsecond at or after that, short, and the next grant counts on
 * from there; frames for the NIC before it started come back as unopened
 * records (counted, not frames, no error). */
static void a_sealed_guests_grant_ends_where_its_nic_starts(void **state)
{
    world *w = *state;
    add_sealed_guest(w, 1, 1500400400); /* 1500400.4 us: it gets frames from 1500401 us */
    assert_int_equal(qns_sync_opened_us(w->s, 0), -1);
    round_ok(w, 0);
    assert_true(qns_sync_guest_sealed(w->s, 0));
    uint8_t f[60] = {0};
    assert_int_equal(qns_sync_send_frame(w->s, 0, 0, 700000000, f, sizeof(f), err), 0);
    round_ok(w, 1000000);
    assert_int_equal(qns_sync_clock_us(w->s, 0), 1000000);
    assert_true(qns_sync_guest_sealed(w->s, 0));
    assert_int_equal(qns_sync_frames_unopened(w->s, 0), 1);
    assert_int_equal(qns_sync_late_records(w->s, 0), 0);
    assert_int_equal(w->frames, 0);
    round_ok(w, 1000000);
    assert_int_equal(qns_sync_last_reply_us(w->s, 0), 500401);
    assert_int_equal(qns_sync_clock_us(w->s, 0), 1500401);
    assert_int_equal(qns_sync_granted_us(w->s, 0), 1500401);
    assert_int_equal(qns_sync_opened_us(w->s, 0), 1500401);
    assert_false(qns_sync_guest_sealed(w->s, 0));
    assert_int_equal(qns_sync_horizon_us(w->s, 0), 1500401); /* it may act at once */
    /* a frame for its past before the start: dropped by the simulator */
    assert_int_equal(qns_sync_drop_unopened(w->s, 0, 1500400999), 1);
    assert_int_equal(qns_sync_drop_unopened(w->s, 0, 1500401000), 0);
    assert_int_equal(qns_sync_frames_unopened(w->s, 0), 2);
    round_ok(w, 10);
    assert_int_equal(qns_sync_clock_us(w->s, 0), 1500411);
    assert_int_equal(qns_sync_rounds(w->s, 0), 4);
}

/* While sealed and ahead of a frame's instant, the guest has passed it
 * with no NIC started: the simulator drops it rather than send it late. */
static void a_frame_a_sealed_guest_has_passed_is_dropped(void **state)
{
    world *w = *state;
    add_sealed_guest(w, 1, 5000000);
    round_ok(w, 2000);
    assert_true(qns_sync_guest_sealed(w->s, 0));
    assert_int_equal(qns_sync_drop_unopened(w->s, 0, 1999999), 1);
    assert_int_equal(qns_sync_drop_unopened(w->s, 0, 2000000), 0);
    assert_int_equal(qns_sync_frames_unopened(w->s, 0), 1);
}

/* A guest whose NIC starts at 10 us sends `action`: round `round` fails. */
static void expect_horizon_error(world *w, const char *action, int round, const char *want)
{
    ts_fake_argv_horizon(&w->argv, QNS_FAKE_GUEST, 1);
    ts_add(&w->argv, "open:10000");
    ts_add(&w->argv, "%s", action);
    qns_guest_spec spec = {
        .name = "g0", .argv = w->argv.v, .nic_count = 1, .console_path = w->console, .horizon = 1};
    assert_true(qns_sync_add_guest(w->s, &spec, err) >= 0);
    expect_round_error(w, round, want);
}

static void a_horizon_below_minus_3_breaks_the_protocol(void **state)
{
    expect_horizon_error(*state, "horizon:1:-4", 1,
                         "guest g0 sent horizon -4 us with its reply in round 1");
}

static void a_guest_sealed_again_breaks_the_protocol(void **state)
{
    expect_horizon_error(*state, "horizon:3:-2", 3,
                         "guest g0 says no NIC has started in round 3, but a NIC of it started at "
                         "10 us");
}

static void full_buffers_both_ways_do_not_deadlock(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 1);
    ts_add(&w->argv, "flood:1000:0:3000:1500");
    ts_add(&w->argv, "echo:100");
    add_guest(w, "g0", 1);
    uint8_t f[1500];
    memset(f, 0x5a, sizeof(f));
    for (int i = 0; i < 3000; i++) {
        assert_int_equal(qns_sync_send_frame(w->s, 0, 0, 2000, f, sizeof(f), err), 0);
    }
    round_ok(w, 10); /* 4.5 MB each way, then 4.5 MB of echoes */
    assert_int_equal(w->frames, 6000);
    assert_int_equal(w->time_ns[0], 1000);
    assert_int_equal(w->time_ns[2999], 1000);
    assert_int_equal(w->time_ns[3000], 2100);
    assert_int_equal(w->time_ns[5999], 2100);
    assert_int_equal(qns_sync_clock_us(w->s, 0), 10);
}

static void four_guests_run_in_one_round(void **state)
{
    world *w = *state;
    for (int i = 0; i < 4; i++) {
        char name[8];
        snprintf(name, sizeof(name), "g%d", i);
        ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 1);
        ts_add(&w->argv, "every:0:1000:0:64:100");
        add_guest(w, name, 1);
    }
    for (int k = 0; k < 10; k++) {
        round_ok(w, 10);
    }
    assert_int_equal(w->frames, 400);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(qns_sync_clock_us(w->s, i), 100);
        assert_int_equal(qns_sync_frames_in(w->s, i), 100);
    }
    /* Delivered in time order, guests interleaved by index. */
    assert_int_equal(w->guest[0], 0);
    assert_int_equal(w->guest[3], 3);
    assert_int_equal(w->time_ns[4], 1000);
}

static void clean_exit_can_mean_done(void **state)
{
    world *w = *state;
    qns_sync_free(w->s);
    qns_sync_options o = {.watchdog_ms = 10000, .exit_zero_is_done = 1};
    w->s = qns_sync_new(&o, err);
    qns_sync_set_frame_handler(w->s, on_frame, w);
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 1);
    ts_add(&w->argv, "send:21000:0:60");
    ts_add(&w->argv, "exit:25000:0");
    add_guest(w, "finisher", 1);
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 1);
    add_guest(w, "runner", 1);
    for (int k = 1; k <= 10; k++) {
        if (qns_sync_round_to(w->s, 10 * k, err) < 0) {
            fail_msg("round %d: %s", k, err);
        }
    }
    assert_true(qns_sync_guest_done(w->s, 0));
    assert_false(qns_sync_guest_done(w->s, 1));
    assert_int_equal(qns_sync_clock_us(w->s, 0), 20);
    assert_int_equal(qns_sync_clock_us(w->s, 1), 100);
    /* Its last frame, written before it exited, still arrived. */
    assert_int_equal(w->frames, 1);
    assert_int_equal(w->time_ns[0], 21000);
    uint8_t f[60] = {0};
    assert_int_equal(qns_sync_send_frame(w->s, 0, 0, 200000, f, 60, err), 0);
    assert_int_equal(qns_sync_frames_dropped(w->s, 0), 1);
    assert_false(qns_sync_failed(w->s));
}

/* Spinning changes how the simulator waits, never what it gets. */
static void spinning_simulator_gets_the_same_replies(void **state)
{
    world *w = *state;
    qns_sync_free(w->s);
    qns_sync_options o = {.watchdog_ms = 10000, .spin_us = 200};
    w->s = qns_sync_new(&o, err);
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    add_guest(w, "g0", 0);
    for (int k = 0; k < 10000; k++) {
        round_ok(w, 10);
        if (qns_sync_last_reply_us(w->s, 0) != 10) {
            fail_msg("round %d: reply %d", k + 1, qns_sync_last_reply_us(w->s, 0));
        }
    }
    assert_int_equal(qns_sync_clock_us(w->s, 0), 100000);
}

/* The one CPU process `pid` may run on, or -1 if not one. */
static int only_cpu_of(pid_t pid)
{
    char list[256];
    ts_cpus_allowed(pid, list, sizeof(list));
    size_t digits = strspn(list, "0123456789");
    return digits > 0 && list[digits] == '\0' ? atoi(list) : -1;
}

static int only_cpu(const cpu_set_t *set)
{
    if (CPU_COUNT(set) != 1) {
        return -1;
    }
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (CPU_ISSET(c, set)) {
            return c;
        }
    }
    return -1;
}

/* pin: the simulator keeps its CPU, guest 0 shares it, guest 1 takes the
 * next allowed one, and the thread gets all its CPUs back at the end. */
static void pinned_guests_take_cpus_in_turn(void **state)
{
    world *w = *state;
    cpu_set_t before, during, after;
    assert_int_equal(sched_getaffinity(0, sizeof(before), &before), 0);
    int allowed[CPU_SETSIZE], n = 0;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (CPU_ISSET(c, &before)) {
            allowed[n++] = c;
        }
    }
    qns_sync_free(w->s);
    qns_sync_options o = {.watchdog_ms = 10000, .pin = 1};
    w->s = qns_sync_new(&o, err);
    assert_non_null(w->s);
    assert_int_equal(sched_getaffinity(0, sizeof(during), &during), 0);
    int home = only_cpu(&during);
    assert_true(home >= 0 && CPU_ISSET(home, &before));
    int next = home;
    for (int i = 0; i < n; i++) {
        if (allowed[i] == home) {
            next = allowed[(i + 1) % n];
        }
    }
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    add_guest(w, "g0", 0);
    add_guest(w, "g1", 0);
    round_ok(w, 10);
    assert_int_equal(qns_sync_last_reply_us(w->s, 1), 10);
    assert_int_equal(only_cpu_of(qns_guest_pid(qns_sync_guest(w->s, 0))), home);
    assert_int_equal(only_cpu_of(qns_guest_pid(qns_sync_guest(w->s, 1))), next);
    qns_sync_free(w->s);
    w->s = NULL;
    assert_int_equal(sched_getaffinity(0, sizeof(after), &after), 0);
    assert_true(CPU_EQUAL(&before, &after));
}

/* Spinning next to a guest on one CPU would hold it off. */
static void pin_with_spin_is_refused(void **state)
{
    (void)state;
    qns_sync_options o = {.pin = 1, .spin_us = 100};
    assert_null(qns_sync_new(&o, err));
    assert_string_equal(err, "pin and spin do not go together: guest 0 shares the simulator's "
                             "CPU, where either side's spinning holds the other off");
}

/* The spin's one check: at most QNS_SPIN_US_MAX, and never negative. */
static void spin_out_of_range_is_refused(void **state)
{
    (void)state;
    qns_sync_options o = {.spin_us = 1000001};
    assert_null(qns_sync_new(&o, err));
    assert_string_equal(err,
                        "spin_us 1000001 is above 1000000 (a second of busy-waiting per round)");
    o.spin_us = -1;
    assert_null(qns_sync_new(&o, err));
    assert_string_equal(err, "spin -1 us is negative");
    assert_int_equal(qns_sync_spin_check(QNS_SPIN_US_MAX, 0, err), 0);
}

/* A CPU the guest cannot run on is reported as such, not as a failed exec. */
static void guest_on_a_missing_cpu_is_refused(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    qns_guest_spec spec = {.name = "g0", .argv = w->argv.v, .pin_cpu = 1 + 1000};
    assert_int_equal(qns_sync_add_guest(w->s, &spec, err), -1);
    assert_string_equal(err, "guest g0: cannot run on CPU 1000: Invalid argument");
    spec.pin_cpu = 1 + CPU_SETSIZE;
    assert_int_equal(qns_sync_add_guest(w->s, &spec, err), -1);
    assert_string_equal(err, "guest g0: no CPU 1024 (0 .. 1023)");
}

static void stop_mid_grant_then(world *w, int status, int extra_replies, int nics)
{
    qns_sync_free(w->s);
    qns_sync_options o = {
        .watchdog_ms = 10000, .shutdown_timeout_ms = 2000, .exit_zero_is_done = 1};
    w->s = qns_sync_new(&o, err);
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    ts_add(&w->argv, "stop:23000:%d:%d", status, extra_replies);
    add_guest(w, "g0", nics);
    round_ok(w, 10);
    round_ok(w, 10);
}

static void stop_mid_grant(world *w, int status)
{
    stop_mid_grant_then(w, status, 0, 0);
}

static void guest_powering_off_mid_grant_is_done(void **state)
{
    world *w = *state;
    stop_mid_grant(w, 0);
    round_ok(w, 10); /* replies 3 us of 10, then exits 0 */
    assert_true(qns_sync_guest_done(w->s, 0));
    assert_int_equal(qns_sync_clock_us(w->s, 0), 23);
    assert_false(qns_sync_failed(w->s));
}

static void guest_failing_mid_grant_is_reported(void **state)
{
    world *w = *state;
    stop_mid_grant(w, 2);
    int32_t g = 10;
    assert_int_equal(qns_sync_round(w->s, &g, err), -1);
    assert_string_equal(err, "guest g0 exited with status 2 (reply 3 us to a grant of 10 us) at "
                             "virtual time 23 us, round 3");
}

/* The guest's NIC socket closes right after its last reply; seen in the same
 * poll, the reply still counts: the clock is the instant the guest stopped. */
static void last_reply_counts_when_the_sockets_close_with_it(void **state)
{
    world *w = *state;
    stop_mid_grant_then(w, 0, 0, 1);
    int32_t g = 10;
    assert_int_equal(qns_sync_round_begin(w->s, &g, err), 0);
    usleep(300000); /* the guest replies 3 us of 10 and exits meanwhile */
    if (qns_sync_round_end(w->s, err) != 0) {
        fail_msg("round_end: %s", err);
    }
    assert_true(qns_sync_guest_done(w->s, 0));
    assert_int_equal(qns_sync_clock_us(w->s, 0), 23);
    assert_false(qns_sync_failed(w->s));
}

/* The short reply is a guest's last word: anything after it is an error. */
static void reply_after_the_final_short_reply_is_reported(void **state)
{
    world *w = *state;
    stop_mid_grant_then(w, 0, 2, 0);
    int32_t g = 10;
    assert_int_equal(qns_sync_round(w->s, &g, err), -1);
    assert_string_equal(err, "guest g0 stopped short: its clock is 23 us after 30 us granted "
                             "(reply 3 us to a grant of 10 us in round 3)");
}

static void well_behaved_guest_exits_by_itself_on_shutdown(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 1);
    add_guest(w, "g0", 1);
    round_ok(w, 10);
    long long t0 = ts_now_ms();
    qns_sync_shutdown(w->s);
    assert_true(ts_now_ms() - t0 < 500);
    char how[128];
    qns_guest_describe_end(qns_sync_guest(w->s, 0), how, sizeof(how));
    assert_string_equal(how, "exited with status 0");
}

static void free_without_shutdown_leaves_no_process(void **state)
{
    world *w = *state;
    ts_fake_argv(&w->argv, QNS_FAKE_GUEST, 0);
    ts_add(&w->argv, "hang:2");
    add_guest(w, "g0", 0);
    round_ok(w, 10);
    qns_sync_free(w->s);
    w->s = qns_sync_new(NULL, err);
    assert_int_equal(ts_child_count(), 0);
}

static void guest_dies_with_its_simulator(void **state)
{
    (void)state;
    /* Become the reaper of orphaned descendants, so we can watch the guest. */
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t sim = fork();
    if (sim == 0) {
        qns_sync *s = qns_sync_new(NULL, err);
        ts_argv a;
        ts_fake_argv(&a, QNS_FAKE_GUEST, 0);
        ts_add(&a, "hang:1");
        qns_guest_spec spec = {.name = "orphan", .argv = a.v};
        if (s == NULL || qns_sync_add_guest(s, &spec, err) < 0) {
            _exit(2);
        }
        pid_t gp = qns_guest_pid(qns_sync_guest(s, 0));
        /* A grant in the pipe, so the guest hangs in round 1 rather than
         * seeing the pipe's EOF and exiting by itself when we are gone. */
        int32_t grant = 10;
        if (write(qns_guest_grant_fd(qns_sync_guest(s, 0)), &grant, sizeof(grant)) !=
                sizeof(grant) ||
            write(p[1], &gp, sizeof(gp)) != sizeof(gp)) {
            _exit(3);
        }
        _exit(0); /* no shutdown: the parent "crashes" */
    }
    close(p[1]);
    pid_t guest;
    assert_int_equal(read(p[0], &guest, sizeof(guest)), sizeof(guest));
    close(p[0]);
    int st;
    assert_int_equal(waitpid(sim, &st, 0), sim);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* The guest was re-parented to us and must already be dying of SIGKILL. */
    assert_int_equal(waitpid(guest, &st, 0), guest);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGKILL);
    prctl(PR_SET_CHILD_SUBREAPER, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(replies_equal_grants_over_100000_rounds, setup, teardown),
        cmocka_unit_test_setup_teardown(overshoot_is_accounted_and_ahead_guest_waits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(barrier_grant_zero_answers_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(negative_grant_is_refused_before_anything_is_sent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(negative_reply_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(short_reply_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(exit_is_reported_with_status_and_console, setup, teardown),
        cmocka_unit_test_setup_teardown(crash_is_reported_with_signal, setup, teardown),
        cmocka_unit_test_setup_teardown(hang_is_caught_by_watchdog_and_killed, setup, teardown),
        cmocka_unit_test_setup_teardown(busy_guest_is_waited_for_past_the_watchdog, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(guest_that_stops_running_is_hung_a_window_later, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(only_the_idle_guest_is_called_hung, setup, teardown),
        cmocka_unit_test_setup_teardown(two_idle_guests_are_named_together, setup, teardown),
        cmocka_unit_test_setup_teardown(stop_request_wakes_a_round_and_ends_a_hung_guest_at_once,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(stop_request_wakes_a_shutdown_that_waits_for_a_guest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(long_round_reports_the_guest_it_waits_for_and_can_stop,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(exec_failure_is_reported, setup, teardown),
        cmocka_unit_test(a_guest_takes_its_process_group_along),
        cmocka_unit_test_setup_teardown(console_file_error_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(snapshot_file_error_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(frames_cross_both_ways_at_exact_instants, setup, teardown),
        cmocka_unit_test_setup_teardown(frames_at_the_grant_boundary_belong_to_the_next_round,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(frames_are_delivered_in_time_guest_nic_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(record_cut_short_at_the_end_names_guest_and_nic, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(whole_records_pass_the_end_and_a_header_alone_does_not,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(overshoot_past_the_end_of_the_run_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(guest_that_stops_reading_its_frames_is_named_with_its_nic,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_version_names_guest_and_nic, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_length_names_guest_and_nic, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_type_names_guest_and_nic, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated_record_names_guest_and_nic, setup, teardown),
        cmocka_unit_test_setup_teardown(a_sealed_guests_grant_ends_where_its_nic_starts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_frame_a_sealed_guest_has_passed_is_dropped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_horizon_below_minus_3_breaks_the_protocol, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_guest_sealed_again_breaks_the_protocol, setup, teardown),
        cmocka_unit_test_setup_teardown(frame_stamped_before_its_round_is_a_protocol_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(frame_stamped_after_its_round_is_a_protocol_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(frame_stamped_before_its_nics_previous_is_a_protocol_error,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(late_record_from_the_guest_fails_the_round, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(frame_in_the_guests_past_comes_back_as_a_late_record, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(full_buffers_both_ways_do_not_deadlock, setup, teardown),
        cmocka_unit_test_setup_teardown(four_guests_run_in_one_round, setup, teardown),
        cmocka_unit_test_setup_teardown(clean_exit_can_mean_done, setup, teardown),
        cmocka_unit_test_setup_teardown(guest_powering_off_mid_grant_is_done, setup, teardown),
        cmocka_unit_test_setup_teardown(guest_failing_mid_grant_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(spinning_simulator_gets_the_same_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(pinned_guests_take_cpus_in_turn, setup, teardown),
        cmocka_unit_test_setup_teardown(guest_on_a_missing_cpu_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(pin_with_spin_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(spin_out_of_range_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(last_reply_counts_when_the_sockets_close_with_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reply_after_the_final_short_reply_is_reported, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(well_behaved_guest_exits_by_itself_on_shutdown, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(free_without_shutdown_leaves_no_process, setup, teardown),
        cmocka_unit_test_setup_teardown(guest_dies_with_its_simulator, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
