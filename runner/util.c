/*
 * util.c - small helpers of the runner: file hashes, timestamps, listing
 * an output folder, locking it, quoting user input in messages and saying
 * why a path cannot be used.
 */
#define _GNU_SOURCE
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *rn_file_kind(unsigned int mode)
{
    return S_ISDIR(mode)    ? "a folder"
           : S_ISLNK(mode)  ? "a symbolic link"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "not a regular file";
}

/* Opens a regular file for reading without waiting on a FIFO or a device
 * (O_NONBLOCK, then fstat); with nofollow, a symbolic link is refused too.
 * -1 with *why set (g_free) when it cannot be read or is no regular file. */
static int open_regular(const char *path, int nofollow, struct stat *st, char **why)
{
    int fd;
    do {
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        *why = g_strdup(nofollow && errno == ELOOP ? "it is a symbolic link" : g_strerror(errno));
        return -1;
    }
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        *why = g_strdup_printf("it is %s, not a regular file", rn_file_kind(st->st_mode));
        close(fd);
        return -1;
    }
    return fd;
}

static char *sha256_of(const char *path, int nofollow, char **why)
{
    struct stat st;
    int fd = open_regular(path, nofollow, &st, why);
    if (fd < 0) {
        return NULL;
    }
    GError *ge = NULL;
    GMappedFile *m = g_mapped_file_new_from_fd(fd, FALSE, &ge);
    close(fd);
    if (m == NULL) {
        *why = g_strdup(ge->message);
        g_error_free(ge);
        return NULL;
    }
    const char *data = g_mapped_file_get_contents(m);
    gsize len = g_mapped_file_get_length(m);
    char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)(data ? data : ""),
                                            len);
    g_mapped_file_unref(m);
    return sum;
}

char *rn_file_sha256(const char *path, char **why)
{
    return sha256_of(path, 0, why);
}

char *rn_plain_file_sha256(const char *path, char **why)
{
    return sha256_of(path, 1, why);
}

char *rn_read_plain_file(const char *path, gsize max, gsize *len, char **why)
{
    struct stat st;
    int fd = open_regular(path, 1, &st, why);
    if (fd < 0) {
        return NULL;
    }
    if ((guint64)st.st_size > max) {
        *why = g_strdup_printf("it is larger than %" G_GSIZE_FORMAT " bytes", max);
        close(fd);
        return NULL;
    }
    GString *data = g_string_sized_new((gsize)st.st_size + 1);
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 || data->len + (gsize)(n > 0 ? n : 0) > max) {
            *why = n < 0 ? g_strdup(g_strerror(errno))
                         : g_strdup_printf("it is larger than %" G_GSIZE_FORMAT " bytes", max);
            close(fd);
            g_string_free(data, TRUE);
            return NULL;
        }
        if (n == 0) {
            break;
        }
        g_string_append_len(data, buf, n);
    }
    close(fd);
    *len = data->len;
    return g_string_free(data, FALSE);
}

int rn_is_symlink(const char *path)
{
    char *p = g_strdup(path);
    for (size_t n = strlen(p); n > 1 && p[n - 1] == '/'; n--) {
        p[n - 1] = '\0'; /* "link/" would name the folder it leads to */
    }
    struct stat st;
    int link = lstat(p, &st) == 0 && S_ISLNK(st.st_mode);
    g_free(p);
    return link;
}

char *rn_timestamp(void)
{
    time_t t = time(NULL);
    struct tm tm;
    char buf[32];
    localtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y%m%d-%H%M%S", &tm);
    return g_strdup(buf);
}

static void list_into(const char *root, const char *rel, const char *const *skip, GPtrArray *out)
{
    char *path = rel ? g_build_filename(root, rel, NULL) : g_strdup(root);
    GDir *d = g_dir_open(path, 0, NULL);
    if (d == NULL) {
        g_free(path);
        return;
    }
    const char *n;
    while ((n = g_dir_read_name(d)) != NULL) {
        char *r = rel ? g_build_filename(rel, n, NULL) : g_strdup(n);
        char *full = g_build_filename(root, r, NULL);
        int skipped = 0;
        for (int i = 0; skip && skip[i]; i++) {
            skipped |= g_pattern_match_simple(skip[i], r);
        }
        struct stat st;
        int known = lstat(full, &st) == 0; /* a symbolic link is neither */
        if (skipped) {
            g_free(r);
        } else if (known && S_ISDIR(st.st_mode)) {
            list_into(root, r, skip, out);
            g_free(r);
        } else if (known && S_ISREG(st.st_mode)) {
            g_ptr_array_add(out, r);
        } else {
            g_free(r);
        }
        g_free(full);
    }
    g_dir_close(d);
    g_free(path);
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *const rn_not_outputs[] = {RN_MANIFEST, RN_SCENARIO_COPY, RN_LOCK_FILE, "README.txt",
                                      "verify-*",  "report",         NULL};

GPtrArray *rn_list_files(const char *dir, const char *const *skip)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    list_into(dir, NULL, skip, out);
    g_ptr_array_sort(out, cmp_str);
    return out;
}

/* ---- quoting user input ------------------------------------------------------ */

char *rn_quote(const char *s)
{
    return qns_escape(s ? s : "", RN_QUOTE_MAX_CHARS);
}

char *rn_escape(const char *s)
{
    return qns_escape(s ? s : "", 0);
}

char *rn_quote_path(const char *s)
{
    return qns_escape(s ? s : "", RN_QUOTE_MAX_PATH);
}

/* Prints PREFIX, the message escaped as one line, and a newline to f. */
static void print_line(FILE *f, const char *prefix, const char *fmt, va_list ap)
{
    char *msg = g_strdup_vprintf(fmt, ap);
    char *text = rn_escape(msg);
    fprintf(f, "%s%s\n", prefix, text);
    g_free(text);
    g_free(msg);
}

void rn_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_line(stderr, "qns: ", fmt, ap);
    va_end(ap);
}

void rn_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_line(stdout, "", fmt, ap);
    va_end(ap);
}

/* ---- why a path cannot be used ----------------------------------------------- */

char *rn_path_problem(const char *path, int mode)
{
    if (access(path, mode) == 0) {
        return NULL;
    }
    int e = errno;
    if (e == ENOENT || e == ENOTDIR) {
        return g_strdup("is not there");
    }
    /* The first folder on the way this user cannot search, if it is one. */
    char *abs = g_canonicalize_filename(path, NULL);
    char *closed = NULL;
    for (char *slash = strchr(abs + 1, '/'); slash && closed == NULL;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (access(abs, X_OK) != 0) {
            closed = rn_quote_path(abs);
        }
        *slash = '/';
    }
    g_free(abs);
    char *why =
        closed ? g_strdup_printf("cannot be %s: %s (folder '%s' cannot be searched)",
                                 mode & X_OK ? "run" : "read", g_strerror(e), closed)
               : g_strdup_printf("cannot be %s: %s", mode & X_OK ? "run" : "read", g_strerror(e));
    g_free(closed);
    return why;
}

/* ---- the output folder's lock ------------------------------------------------- */

int rn_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The pid a lock holder wrote, 0 if none (yet). */
static long lock_holder(int fd)
{
    char buf[32];
    ssize_t n;
    do {
        n = pread(fd, buf, sizeof(buf) - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

int rn_lock_dir(const char *dir, char **why)
{
    char *path = g_build_filename(dir, RN_LOCK_FILE, NULL);
    char *shown = rn_quote_path(dir);
    int fd;
    do {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    } while (fd < 0 && errno == EINTR);
    int r;
    if (fd < 0) {
        *why = g_strdup_printf("cannot lock %s: %s", shown, g_strerror(errno));
        goto out;
    }
    do {
        r = flock(fd, LOCK_EX | LOCK_NB);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        if (errno == EWOULDBLOCK) {
            long pid = lock_holder(fd);
            *why = pid > 0 ? g_strdup_printf("%s is in use by another qns (pid %ld); wait for it "
                                             "or choose another folder",
                                             shown, pid)
                           : g_strdup_printf("%s is in use by another qns; wait for it or choose "
                                             "another folder",
                                             shown);
        } else {
            *why = g_strdup_printf("cannot lock %s: %s", shown, g_strerror(errno));
        }
        close(fd);
        fd = -1;
        goto out;
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || rn_write_all(fd, pid, (size_t)n) < 0) {
        *why = g_strdup_printf("cannot write %s: %s", path, g_strerror(errno));
        close(fd);
        fd = -1;
    }
out:
    g_free(shown);
    g_free(path);
    return fd;
}

void rn_unlock_dir(int fd)
{
    if (fd >= 0) {
        close(fd); /* the lock goes with the last descriptor; the file stays */
    }
}
