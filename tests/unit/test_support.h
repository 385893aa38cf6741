/* Shared helpers for tests that drive guests: argv building for the fake
 * guest and a check that no child process is left behind. */
#ifndef QNS_TEST_SUPPORT_H
#define QNS_TEST_SUPPORT_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TS_MAX_ARGS 64

typedef struct ts_argv {
    const char *v[TS_MAX_ARGS];
    int n;
    char store[TS_MAX_ARGS][128];
} ts_argv;

/* argv for the fake guest with `nics` NICs; append actions with ts_add. */
void ts_fake_argv(ts_argv *a, const char *fake_path, int nics);
/* The same, speaking the horizon extension (-qqq ...,horizon=on). */
void ts_fake_argv_horizon(ts_argv *a, const char *fake_path, int nics);
/* The same with qqq_extra after -qqq's "write=W,read=R" (",save=22"). */
void ts_fake_argv_with(ts_argv *a, const char *fake_path, int nics, const char *qqq_extra);
void ts_add(ts_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Children of this process that still exist (zombies included). */
int ts_child_count(void);

/* A child process that only burns CPU, to load the machine; stop it with
 * ts_stop_cpu_burner (killed and reaped). */
pid_t ts_start_cpu_burner(void);
void ts_stop_cpu_burner(pid_t burner);

/* The CPUs process `pid` (0: this one) may run on, as /proc/PID/status's
 * Cpus_allowed_list gives them ("0-1", "3"); "" if it cannot be read. */
void ts_cpus_allowed(pid_t pid, char *list, size_t size);

/* Processes of process group pgid that are alive (zombies not counted). */
int ts_live_in_group(pid_t pgid);

/* Milliseconds on the monotonic clock. */
long long ts_now_ms(void);

/* 1 when both files can be read and hold the same bytes, else 0. */
int ts_same_bytes(const char *a, const char *b);

#ifdef __cplusplus
}
#endif

#endif
