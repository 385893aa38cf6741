/* bench_util.c - shared benchmark measurements. */
#define _GNU_SOURCE
#include "bench_util.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int xfer(int fd, void *p, int out)
{
    for (;;) {
        ssize_t n = out ? write(fd, p, 4) : read(fd, p, 4);
        if (n == 4) {
            return 0;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return -1;
    }
}

double bench_raw_pipe(long rounds)
{
    return bench_raw_pipe_on(rounds, -1);
}

double bench_raw_pipe_on(long rounds, int cpu)
{
    cpu_set_t saved;
    if (cpu >= 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (sched_getaffinity(0, sizeof(saved), &saved) < 0 ||
            sched_setaffinity(0, sizeof(one), &one) < 0) {
            perror("sched_setaffinity");
            exit(1);
        }
    }
    int a[2], b[2];
    if (pipe2(a, O_CLOEXEC) < 0 || pipe2(b, O_CLOEXEC) < 0) {
        perror("pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid == 0) {
        int v;
        close(a[1]);
        close(b[0]);
        while (xfer(a[0], &v, 0) == 0 && xfer(b[1], &v, 1) == 0) {
        }
        _exit(0);
    }
    close(a[0]);
    close(b[1]);
    int v = 10;
    double t0 = bench_now_s();
    for (long i = 0; i < rounds; i++) {
        if (xfer(a[1], &v, 1) < 0 || xfer(b[0], &v, 0) < 0) {
            fprintf(stderr, "raw pipe failed\n");
            exit(1);
        }
    }
    double dt = bench_now_s() - t0;
    close(a[1]);
    close(b[0]);
    waitpid(pid, NULL, 0);
    if (cpu >= 0 && sched_setaffinity(0, sizeof(saved), &saved) < 0) {
        perror("sched_setaffinity");
        exit(1);
    }
    return (double)rounds / dt;
}
