/* Helpers shared by the guest-driving tests. */
#define _GNU_SOURCE
#include "test_support.h"

#include "qns_guest.h"

#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void ts_add(ts_argv *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->store[a->n], sizeof(a->store[a->n]), fmt, ap);
    va_end(ap);
    a->v[a->n] = a->store[a->n];
    a->n++;
    a->v[a->n] = NULL;
}

void ts_fake_argv_with(ts_argv *a, const char *fake_path, int nics, const char *qqq_extra)
{
    char opt[64];
    a->n = 0;
    ts_add(a, "%s", fake_path);
    ts_add(a, "-qqq");
    qns_guest_qqq_option(opt, sizeof(opt));
    ts_add(a, "%s%s", opt, qqq_extra);
    for (int i = 0; i < nics; i++) {
        char id[16];
        snprintf(id, sizeof(id), "n%d", i);
        ts_add(a, "-netdev");
        qns_guest_netdev_option(opt, sizeof(opt), id, i);
        ts_add(a, "%s", opt);
    }
}

void ts_fake_argv(ts_argv *a, const char *fake_path, int nics)
{
    ts_fake_argv_with(a, fake_path, nics, "");
}

void ts_fake_argv_horizon(ts_argv *a, const char *fake_path, int nics)
{
    ts_fake_argv_with(a, fake_path, nics, ",horizon=on");
}

/* Processes whose /proc/PID/stat fields match: ppid if > 0, pgrp if > 0,
 * and not zombies when live_only. */
static int count_processes(pid_t ppid_want, pid_t pgrp_want, int live_only)
{
    DIR *d = opendir("/proc");
    int count = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[300], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "re");
        if (f == NULL) {
            continue;
        }
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* Fields after the command name, which may hold spaces: ") S PPID PGRP" */
        char *p = strrchr(buf, ')');
        int ppid, pgrp;
        char state;
        if (p && sscanf(p + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 &&
            (ppid_want <= 0 || ppid == ppid_want) && (pgrp_want <= 0 || pgrp == pgrp_want) &&
            !(live_only && state == 'Z')) {
            count++;
        }
    }
    if (d) {
        closedir(d);
    }
    return count;
}

int ts_child_count(void)
{
    return count_processes(getpid(), 0, 0);
}

int ts_live_in_group(pid_t pgid)
{
    return count_processes(0, pgid, 1);
}

void ts_cpus_allowed(pid_t pid, char *list, size_t size)
{
    char path[64], line[512];
    if (pid == 0) {
        snprintf(path, sizeof(path), "/proc/self/status");
    } else {
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    }
    list[0] = '\0';
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        return;
    }
    while (fgets(line, sizeof(line), f)) {
        const char *key = "Cpus_allowed_list:";
        if (strncmp(line, key, strlen(key)) == 0) {
            const char *v = line + strlen(key);
            v += strspn(v, " \t");
            snprintf(list, size, "%.*s", (int)strcspn(v, "\n"), v);
            break;
        }
    }
    fclose(f);
}

long long ts_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

pid_t ts_start_cpu_burner(void)
{
    pid_t p = fork();
    if (p == 0) {
        /* A failed assertion skips ts_stop_cpu_burner: die with the test. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        volatile unsigned long x = 0;
        for (;;) {
            x++;
        }
    }
    return p;
}

void ts_stop_cpu_burner(pid_t burner)
{
    if (burner > 0) {
        kill(burner, SIGKILL);
        waitpid(burner, NULL, 0);
    }
}

int ts_same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa != NULL && fb != NULL;
    while (same) {
        int ca = getc(fa), cb = getc(fb);
        same = ca == cb;
        if (ca == EOF || cb == EOF) {
            same = same && !ferror(fa) && !ferror(fb);
            break;
        }
    }
    if (fa != NULL) {
        fclose(fa);
    }
    if (fb != NULL) {
        fclose(fb);
    }
    return same;
}
