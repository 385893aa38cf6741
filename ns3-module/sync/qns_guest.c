/*
 * qns_guest.c - spawning, observing and stopping one guest process.
 * fork + exec rather than posix_spawn: the child must move descriptors onto
 * fixed numbers, set its parent-death signal and its own process group.
 */
#define _GNU_SOURCE
#include "qns_guest.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct qns_guest {
    char *name;
    char *console_path;
    pid_t pid;       /* the process spawned: the guest, or bwrap confining it */
    pid_t guest_pid; /* the guest's own: pid, or the confined one bwrap reported */
    int confined;    /* run under bwrap, which told its pid on QNS_GUEST_FD_INFO */
    int grant_fd;    /* write end: simulator -> guest */
    int reply_fd;    /* read end: guest -> simulator */
    int nic_count;
    int horizon;
    int nic_fd[QNS_GUEST_MAX_NICS];
    int ended;
    int status;
};

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

void qns_guest_qqq_option(char *out, size_t size)
{
    snprintf(out, size, "write=%d,read=%d", QNS_GUEST_FD_REPLY, QNS_GUEST_FD_GRANT);
}

void qns_guest_netdev_option(char *out, size_t size, const char *id, int nic)
{
    snprintf(out, size, "qqq,id=%s,fd=%d", id, QNS_GUEST_FD_NIC0 + nic);
}

/* Marks every descriptor from `first` up close-on-exec (Linux 5.11+). */
static int close_range_cloexec(int first)
{
#ifdef CLOSE_RANGE_CLOEXEC
    return close_range((unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC);
#else
    (void)first;
    errno = ENOSYS;
    return -1;
#endif
}

/* Whether argv runs bwrap with --info-fd QNS_GUEST_FD_INFO (qns_confine.h). */
static int asks_for_info(const char *const *argv)
{
    char want[16];
    snprintf(want, sizeof(want), "%d", QNS_GUEST_FD_INFO);
    for (int i = 1; argv[i] && argv[i + 1] && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--info-fd") == 0 && strcmp(argv[i + 1], want) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Added to the errno the child reports when it could not take its CPU. */
#define CHILD_ERR_AFFINITY 0x10000

/* Descriptors that go to fixed numbers above the NICs, once the rest is
 * closed: bwrap's info pipe and the snapshot file (-1: none). */
enum { EXTRA_INFO, EXTRA_SNAPSHOT, EXTRA_COUNT };
static const int extra_target[EXTRA_COUNT] = {QNS_GUEST_FD_INFO, QNS_GUEST_FD_SNAPSHOT};

/* Child side: moves the sources onto their fixed numbers and 0, 1 and 2 onto
 * /dev/null or the console; extra[] and *err_fd move above them. Returns -1
 * with errno set. Only async-signal-safe calls. */
static int child_move_fds(int *src, int nsrc, int console_fd, int *extra, int *err_fd)
{
    int high = QNS_GUEST_FD_NIC0 + nsrc + 16;

    /* Move every source above all targets first, so no dup2 clobbers one. */
    int tmp[QNS_GUEST_MAX_NICS + 4];
    for (int i = 0; i < nsrc; i++) {
        tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, high);
        if (tmp[i] < 0) {
            return -1;
        }
    }
    int tmp_console = console_fd >= 0 ? fcntl(console_fd, F_DUPFD_CLOEXEC, high) : -1;
    for (int i = 0; i < EXTRA_COUNT; i++) {
        if (extra[i] >= 0 && (extra[i] = fcntl(extra[i], F_DUPFD_CLOEXEC, high)) < 0) {
            return -1;
        }
    }
    int tmp_err = fcntl(*err_fd, F_DUPFD_CLOEXEC, high);
    if (tmp_err < 0) {
        return -1;
    }
    *err_fd = tmp_err;
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, 0) < 0) {
        return -1;
    }
    if (tmp_console >= 0) {
        if (dup2(tmp_console, 1) < 0 || dup2(tmp_console, 2) < 0) {
            return -1;
        }
    } else if (dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0) {
        return -1;
    }
    for (int i = 0; i < nsrc; i++) {
        int target = i == 0   ? QNS_GUEST_FD_REPLY
                     : i == 1 ? QNS_GUEST_FD_GRANT
                              : QNS_GUEST_FD_NIC0 + i - 2;
        if (dup2(tmp[i], target) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Child side, after fork: only async-signal-safe calls until exec. */
static void child_exec(const qns_guest_spec *spec, int *src, int nsrc, int console_fd, int *extra,
                       int err_fd, pid_t parent)
{
    int err;

    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) {
        _exit(127);
    }
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (child_move_fds(src, nsrc, console_fd, extra, &err_fd) < 0) {
        goto fail;
    }
    if (spec->pin_cpu > 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(spec->pin_cpu - 1, &one);
        if (sched_setaffinity(0, sizeof(one), &one) < 0) {
            err = errno | CHILD_ERR_AFFINITY;
            goto report;
        }
    }
    /* Nothing else crosses exec, whatever the embedding program left open. */
    int first = QNS_GUEST_FD_NIC0 + nsrc - 2;
    if (close_range_cloexec(first) < 0) {
        for (int fd = first; fd < 4096; fd++) {
            if (fd != err_fd) {
                fcntl(fd, F_SETFD, FD_CLOEXEC);
            }
        }
    }
    for (int i = 0; i < EXTRA_COUNT; i++) {
        if (extra[i] >= 0 && dup2(extra[i], extra_target[i]) < 0) {
            goto fail;
        }
    }
    execvp(spec->argv[0], (char *const *)spec->argv);
fail:
    err = errno;
report:
    while (write(err_fd, &err, sizeof(err)) < 0 && errno == EINTR) {
    }
    _exit(127);
}

static int make_pipe(int fds[2], char *errbuf, const char *what)
{
    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "cannot create %s pipe: %s", what, strerror(errno));
        return -1;
    }
    return 0;
}

static int read_exec_error(int fd, int *err)
{
    for (;;) {
        ssize_t n = read(fd, err, sizeof(*err));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return n == (ssize_t)sizeof(*err);
    }
}

/* The pid bwrap reports first on its info pipe ({"child-pid": N, ...}), or
 * 0 when it closed the pipe or said nothing within 10 s (it failed before
 * confining the guest, and says why on the console). */
static pid_t read_confined_pid(int fd)
{
    char buf[512];
    size_t len = 0;
    while (len < sizeof(buf) - 1 && memchr(buf, '}', len) == NULL) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, 10000);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        ssize_t n = r > 0 ? read(fd, buf + len, sizeof(buf) - 1 - len) : 0;
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    const char *at = strstr(buf, "\"child-pid\":");
    long pid = at ? strtol(at + strlen("\"child-pid\":"), NULL, 10) : 0;
    return pid > 0 ? (pid_t)pid : 0;
}

static void free_fields(qns_guest *g)
{
    free(g->name);
    free(g->console_path);
    free(g);
}

/* What a spawn opens: the pipes (the child's ends go to it, the parent keeps
 * the others), each NIC socket's child end and the console file. */
typedef struct spawn_fds {
    int grant[2], reply[2], errp[2], info[2];
    int nic_child[QNS_GUEST_MAX_NICS];
    int console_fd;
    int snapshot_fd;
} spawn_fds;

static int check_spec(const qns_guest_spec *spec, const char *name, char *errbuf)
{
    if (spec->argv == NULL || spec->argv[0] == NULL) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s: empty command line", name);
        return -1;
    }
    if (spec->pin_cpu < 0 || spec->pin_cpu > CPU_SETSIZE) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s: no CPU %d (0 .. %d)", name, spec->pin_cpu - 1,
                 CPU_SETSIZE - 1);
        return -1;
    }
    if (spec->nic_count < 0 || spec->nic_count > QNS_GUEST_MAX_NICS) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s: %d NICs, at most %d", name, spec->nic_count,
                 QNS_GUEST_MAX_NICS);
        return -1;
    }
    return 0;
}

/* The guest as the spec describes it, with no process and no descriptor. */
static qns_guest *new_guest(const qns_guest_spec *spec, const char *name, spawn_fds *f,
                            char *errbuf)
{
    qns_guest *g = calloc(1, sizeof(*g));
    if (g == NULL) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "out of memory");
        return NULL;
    }
    g->name = strdup(name);
    g->console_path = spec->console_path ? strdup(spec->console_path) : NULL;
    g->grant_fd = g->reply_fd = -1;
    g->pid = g->guest_pid = -1;
    g->nic_count = spec->nic_count;
    g->horizon = spec->horizon != 0;
    for (int i = 0; i < QNS_GUEST_MAX_NICS; i++) {
        g->nic_fd[i] = f->nic_child[i] = -1;
    }
    if (g->name == NULL || (spec->console_path && g->console_path == NULL)) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "out of memory");
        free_fields(g);
        return NULL;
    }
    return g;
}

/* Opens the pipes, the NIC sockets (the guest's ends go to g) and the
 * console file, all close-on-exec. */
static int open_fds(qns_guest *g, const qns_guest_spec *spec, const char *name, spawn_fds *f,
                    char *errbuf)
{
    if (make_pipe(f->grant, errbuf, "grant") < 0 || make_pipe(f->reply, errbuf, "reply") < 0 ||
        make_pipe(f->errp, errbuf, "exec status") < 0) {
        return -1;
    }
    g->confined = asks_for_info(spec->argv);
    if (g->confined && make_pipe(f->info, errbuf, "confinement info") < 0) {
        return -1;
    }
    for (int i = 0; i < spec->nic_count; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s: cannot create NIC %d socket: %s", name, i,
                     strerror(errno));
            return -1;
        }
        g->nic_fd[i] = sv[0];
        f->nic_child[i] = sv[1];
    }
    if (spec->snapshot_path) {
        int flags = spec->snapshot_save ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY;
        f->snapshot_fd = open(spec->snapshot_path, flags | O_CLOEXEC, 0644);
        if (f->snapshot_fd < 0) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s: cannot open snapshot %s: %s", name,
                     spec->snapshot_path, strerror(errno));
            return -1;
        }
    }
    if (spec->console_path) {
        f->console_fd = open(spec->console_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (f->console_fd < 0) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s: cannot open console file %s: %s", name,
                     spec->console_path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* Forks the child, which takes its ends of f and executes the guest. Returns
 * its pid, or -1. */
static pid_t fork_child(const qns_guest_spec *spec, const char *name, const spawn_fds *f,
                        char *errbuf)
{
    int src[QNS_GUEST_MAX_NICS + 2];
    int nsrc = 0;
    src[nsrc++] = f->reply[1];
    src[nsrc++] = f->grant[0];
    for (int i = 0; i < spec->nic_count; i++) {
        src[nsrc++] = f->nic_child[i];
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s: fork failed: %s", name, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int extra[EXTRA_COUNT] = {f->info[1], f->snapshot_fd};
        child_exec(spec, src, nsrc, f->console_fd, extra, f->errp[1], parent);
    }
    return pid;
}

/* The parent's side once the child runs: the child's ends closed, g given
 * its own. */
static void keep_parent_fds(qns_guest *g, const qns_guest_spec *spec, spawn_fds *f, pid_t pid)
{
    g->pid = g->guest_pid = pid;
    /* Also from here, so the parent never races the child's own setpgid. */
    setpgid(pid, pid);
    close_fd(&f->errp[1]);
    close_fd(&f->info[1]);
    close_fd(&f->reply[1]);
    close_fd(&f->grant[0]);
    close_fd(&f->console_fd);
    close_fd(&f->snapshot_fd);
    for (int i = 0; i < spec->nic_count; i++) {
        close_fd(&f->nic_child[i]);
    }
    g->grant_fd = f->grant[1];
    g->reply_fd = f->reply[0];
}

/* Waits for the child's exec (or the error it reports instead), takes the
 * confined pid bwrap reports, and makes g's pipes non-blocking. */
static int await_exec(qns_guest *g, const qns_guest_spec *spec, const char *name, spawn_fds *f,
                      char *errbuf)
{
    int err;
    if (read_exec_error(f->errp[0], &err)) {
        close_fd(&f->errp[0]);
        close_fd(&f->info[0]);
        if (err & CHILD_ERR_AFFINITY) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s: cannot run on CPU %d: %s", name,
                     spec->pin_cpu - 1, strerror(err & ~CHILD_ERR_AFFINITY));
        } else {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s: cannot execute %s: %s", name,
                     spec->argv[0], strerror(err));
        }
        return -1;
    }
    close_fd(&f->errp[0]);
    if (g->confined) {
        pid_t confined = read_confined_pid(f->info[0]);
        g->guest_pid = confined > 0 ? confined : g->pid;
        close_fd(&f->info[0]);
    }
    if (fcntl(g->reply_fd, F_SETFL, O_NONBLOCK) < 0 ||
        fcntl(g->grant_fd, F_SETFL, O_NONBLOCK) < 0) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s: fcntl: %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

/* Closes what a spawn that failed before its fork opened. */
static void close_spawn_fds(qns_guest *g, spawn_fds *f)
{
    close_fd(&f->grant[0]);
    close_fd(&f->grant[1]);
    close_fd(&f->reply[0]);
    close_fd(&f->reply[1]);
    close_fd(&f->errp[0]);
    close_fd(&f->errp[1]);
    close_fd(&f->info[0]);
    close_fd(&f->info[1]);
    close_fd(&f->console_fd);
    close_fd(&f->snapshot_fd);
    for (int i = 0; i < QNS_GUEST_MAX_NICS; i++) {
        close_fd(&g->nic_fd[i]);
        close_fd(&f->nic_child[i]);
    }
}

qns_guest *qns_guest_spawn(const qns_guest_spec *spec, char *errbuf)
{
    spawn_fds f = {{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}, {0}, -1, -1};
    const char *name = spec->name ? spec->name : "guest";

    if (check_spec(spec, name, errbuf) < 0) {
        return NULL;
    }
    qns_guest *g = new_guest(spec, name, &f, errbuf);
    if (g == NULL) {
        return NULL;
    }
    pid_t pid = -1;
    if (open_fds(g, spec, name, &f, errbuf) < 0 || (pid = fork_child(spec, name, &f, errbuf)) < 0) {
        close_spawn_fds(g, &f);
        free_fields(g);
        return NULL;
    }
    keep_parent_fds(g, spec, &f, pid);
    if (await_exec(g, spec, name, &f, errbuf) < 0) {
        qns_guest_free(g);
        return NULL;
    }
    return g;
}

const char *qns_guest_name(const qns_guest *g)
{
    return g->name;
}

pid_t qns_guest_pid(const qns_guest *g)
{
    return g->guest_pid;
}

int qns_guest_grant_fd(const qns_guest *g)
{
    return g->grant_fd;
}

int qns_guest_reply_fd(const qns_guest *g)
{
    return g->reply_fd;
}

int qns_guest_nic_count(const qns_guest *g)
{
    return g->nic_count;
}

int qns_guest_horizon(const qns_guest *g)
{
    return g->horizon;
}

int qns_guest_take_nic_fd(qns_guest *g, int nic)
{
    if (nic < 0 || nic >= g->nic_count) {
        return -1;
    }
    int fd = g->nic_fd[nic];
    g->nic_fd[nic] = -1;
    return fd;
}

int qns_guest_cpu_us(const qns_guest *g, int64_t *cpu_us, char *errbuf)
{
    clockid_t clock;
    int e = clock_getcpuclockid(g->guest_pid, &clock);
    struct timespec ts;
    if (e == 0 && clock_gettime(clock, &ts) < 0) {
        e = errno;
    }
    if (e != 0) {
        snprintf(errbuf, QNS_ERRBUF_SIZE, "cannot read the CPU time of process %ld: %s",
                 (long)g->guest_pid, strerror(e));
        return -1;
    }
    *cpu_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The guest's process group: the process and whatever it started. */
static void kill_group(const qns_guest *g)
{
    if (kill(-g->pid, SIGKILL) < 0 && errno == ESRCH) {
        kill(g->pid, SIGKILL); /* not (yet) a group of its own */
    }
}

/* The wait status of the guest itself: bwrap ends with 128 + N when the
 * process it confines was killed by signal N (QEMU's own exit statuses are
 * 0 and 1), which is told as that signal. */
static int guest_status(const qns_guest *g, int status)
{
    int st = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    return g->confined && st > 128 && st < 128 + NSIG ? st - 128 : status;
}

/* Reaps the guest once it has ended. Its group is killed first, while the
 * unreaped process still holds the group's id, so what the guest started
 * never outlives it and the signal can reach no stranger. */
static pid_t reap(qns_guest *g, int options)
{
    siginfo_t info;
    info.si_pid = 0;
    if (waitid(P_PID, (id_t)g->pid, &info, WEXITED | WNOWAIT | options) < 0) {
        return -1;
    }
    if (info.si_pid == 0) {
        return 0;
    }
    kill_group(g);
    int status;
    pid_t r;
    do {
        r = waitpid(g->pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    if (r == g->pid) {
        g->ended = 1;
        g->status = guest_status(g, status);
    }
    return r;
}

int qns_guest_wait(qns_guest *g, int timeout_ms, char *errbuf)
{
    if (g->ended || g->pid < 0) {
        return 1;
    }
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        pid_t r = reap(g, WNOHANG);
        if (r == g->pid) {
            return 1;
        }
        if (r < 0 && errno != EINTR) {
            snprintf(errbuf, QNS_ERRBUF_SIZE, "guest %s: waitpid: %s", g->name, strerror(errno));
            return -1;
        }
        if (now_ms() >= deadline) {
            return 0;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

int qns_guest_ended(const qns_guest *g)
{
    return g->ended;
}

int qns_guest_exit_status(const qns_guest *g)
{
    return g->status;
}

void qns_guest_describe_end(const qns_guest *g, char *out, size_t size)
{
    if (!g->ended) {
        snprintf(out, size, "is still running");
    } else if (WIFEXITED(g->status)) {
        snprintf(out, size, "exited with status %d", WEXITSTATUS(g->status));
    } else if (WIFSIGNALED(g->status)) {
        snprintf(out, size, "was killed by signal %d (%s)", WTERMSIG(g->status),
                 strsignal(WTERMSIG(g->status)));
    } else {
        snprintf(out, size, "ended with wait status 0x%x", (unsigned)g->status);
    }
}

void qns_guest_console_tail(const qns_guest *g, int lines, char *out, size_t size)
{
    char buf[4096];
    out[0] = '\0';
    if (g->console_path == NULL || size == 0) {
        return;
    }
    int fd = open(g->console_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    off_t end = lseek(fd, 0, SEEK_END);
    off_t start = end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0;
    ssize_t n = -1;
    if (end >= 0) {
        do {
            n = pread(fd, buf, (size_t)(end - start), start);
        } while (n < 0 && errno == EINTR);
    }
    close(fd);
    if (n <= 0) {
        return;
    }
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        buf[--n] = '\0';
    }
    /* Walk back `lines` newlines. */
    ssize_t i = n;
    int seen = 0;
    while (i > 0) {
        if (buf[i - 1] == '\n' && ++seen == lines) {
            break;
        }
        i--;
    }
    size_t o = 0;
    for (ssize_t k = i; k < n && o + 4 < size; k++) {
        char c = buf[k];
        if (c == '\r') {
            continue;
        }
        if (c == '\n') {
            out[o++] = ' ';
            out[o++] = '|';
            out[o++] = ' ';
        } else {
            out[o++] = (c >= 32 && c < 127) ? c : '?';
        }
    }
    out[o] = '\0';
}

void qns_guest_close(qns_guest *g)
{
    close_fd(&g->grant_fd);
    close_fd(&g->reply_fd);
    for (int i = 0; i < g->nic_count; i++) {
        close_fd(&g->nic_fd[i]);
    }
}

void qns_guest_shutdown(qns_guest *g, int timeout_ms)
{
    char errbuf[QNS_ERRBUF_SIZE];
    qns_guest_close(g);
    if (g->pid < 0 || g->ended) {
        return;
    }
    if (qns_guest_wait(g, timeout_ms, errbuf) == 1) {
        return;
    }
    kill_group(g);
    while (reap(g, 0) < 0 && errno == EINTR) {
    }
}

void qns_guest_free(qns_guest *g)
{
    if (g == NULL) {
        return;
    }
    qns_guest_shutdown(g, 1000);
    free_fields(g);
}
