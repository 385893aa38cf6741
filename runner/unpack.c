/*
 * unpack.c - a package is data: libarchive reads it, and nothing of what
 * the archive says about owners, modes beyond "executable", links or
 * devices is kept (rn_unpack; package_unpack.c puts a package's folder in
 * place). Every file and folder is made relative to a descriptor of its
 * folder, with O_NOFOLLOW and O_EXCL, so nothing is written outside it.
 */
#define _GNU_SOURCE
#include "unpack.h"
#include "runner.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define UNPACK_BLOCK 65536

typedef struct unpack {
    struct archive *a;
    int root; /* the folder unpacked into */
    const rn_unpack_limits *limits;
    const char *const *only;
    uint64_t bytes, members;
    GHashTable *seen; /* member names, normalised */
    char *why;
} unpack;

static int fail(unpack *u, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets u->why to "member 'NAME' WHAT" (NAME escaped; NULL: WHAT alone). */
static int fail(unpack *u, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    char *shown = name ? rn_quote_path(name) : NULL;
    g_free(u->why);
    u->why = shown ? g_strdup_printf("member '%s' %s", shown, what) : g_strdup(what);
    g_free(shown);
    g_free(what);
    return -1;
}

static int close_checked(int fd)
{
    /* Linux releases the descriptor even when close reports EINTR. */
    return close(fd) < 0 && errno != EINTR ? -1 : 0;
}

/* The member's name without "." components, empty ones and a trailing
 * '/', or NULL (u->why set) when it is no relative name below the folder. */
static char *normal_name(unpack *u, const char *name)
{
    if (name == NULL || *name == '\0') {
        fail(u, NULL, "a member has no name");
        return NULL;
    }
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            fail(u, name, "has control bytes in its name");
            return NULL;
        }
    }
    if (name[0] == '/') {
        fail(u, name, "has an absolute name");
        return NULL;
    }
    gchar **parts = g_strsplit(name, "/", -1);
    GString *out = g_string_new(NULL);
    int bad = 0;
    for (gchar **p = parts; *p && !bad; p++) {
        if (strcmp(*p, "..") == 0) {
            bad = 1;
        } else if (**p && strcmp(*p, ".") != 0) {
            g_string_append_printf(out, "%s%s", out->len ? "/" : "", *p);
        }
    }
    g_strfreev(parts);
    if (bad || out->len == 0) {
        fail(u, name, bad ? "has a '..' component" : "names no file");
        g_string_free(out, TRUE);
        return NULL;
    }
    return g_string_free(out, FALSE);
}

/* Why the member is neither a regular file nor a folder, or NULL. */
static char *kind_problem(struct archive_entry *e)
{
    const char *link = archive_entry_hardlink(e);
    if (link) {
        char *to = rn_quote_path(link), *why = g_strdup_printf("is a hard link to '%s'", to);
        g_free(to);
        return why;
    }
    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
    case AE_IFDIR:
        return NULL;
    case AE_IFLNK: {
        const char *target = archive_entry_symlink(e);
        char *to = rn_quote_path(target ? target : "");
        char *why = g_strdup_printf("is a symbolic link to '%s'", to);
        g_free(to);
        return why;
    }
    case AE_IFCHR:
        return g_strdup("is a character device");
    case AE_IFBLK:
        return g_strdup("is a block device");
    case AE_IFIFO:
        return g_strdup("is a FIFO");
    case AE_IFSOCK:
        return g_strdup("is a socket");
    default:
        return g_strdup("is of an unknown kind");
    }
}

/* Opens (making it 0755 when missing) the folder rel below the unpack
 * folder, one component at a time, never through a symbolic link. */
static int open_folder(unpack *u, const char *member, const char *rel)
{
    int fd = dup(u->root);
    if (fd < 0) {
        return fail(u, member, "cannot be unpacked: %s", g_strerror(errno));
    }
    gchar **parts = g_strsplit(rel, "/", -1);
    for (gchar **p = parts; *p && fd >= 0; p++) {
        int made = mkdirat(fd, *p, 0755) == 0;
        if (!made && errno != EEXIST) {
            fail(u, member, "cannot be unpacked: folder '%s': %s", *p, g_strerror(errno));
            close(fd);
            fd = -1;
            break;
        }
        int next = openat(fd, *p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            char *shown = rn_quote_path(*p);
            fail(u, member, "cannot be unpacked: '%s' on its way is not a folder (%s)", shown,
                 g_strerror(errno));
            g_free(shown);
        } else if (made && fchmod(next, 0755) < 0) { /* whatever the umask */
            fail(u, member, "cannot be unpacked: folder '%s': %s", *p, g_strerror(errno));
            close(next);
            next = -1;
        }
        close(fd);
        fd = next;
    }
    g_strfreev(parts);
    return fd;
}

/* Whether the member goes to disk (every member without only). */
static int wanted(const unpack *u, const char *name)
{
    for (const char *const *p = u->only; p && *p; p++) {
        if (g_pattern_match_simple(*p, name)) {
            return 1;
        }
    }
    return u->only == NULL;
}

static int make_folder(unpack *u, const char *name)
{
    int fd = open_folder(u, name, name);
    if (fd < 0) {
        return -1;
    }
    int r = fchmod(fd, 0755);
    int e = errno;
    if (close_checked(fd) < 0 || r < 0) {
        return fail(u, name, "cannot be unpacked: %s", g_strerror(r < 0 ? e : errno));
    }
    return 0;
}

/* The file's declared size against the limit and the free space. */
static int check_size(unpack *u, const char *name, int64_t size)
{
    uint64_t n = size > 0 ? (uint64_t)size : 0;
    if (n > u->limits->max_bytes - u->bytes) {
        return fail(u, name,
                    "would take the unpacked files past %" PRIu64 " bytes (it says it is %" PRIu64
                    " bytes, after %" PRIu64 "); a qns package is smaller",
                    u->limits->max_bytes, n, u->bytes);
    }
    struct statvfs fs;
    if (fstatvfs(u->root, &fs) < 0) {
        return fail(u, name, "cannot be unpacked: %s", g_strerror(errno));
    }
    uint64_t free_bytes = (uint64_t)fs.f_bavail * (uint64_t)fs.f_frsize;
    if (n > free_bytes) {
        return fail(u, name,
                    "is %" PRIu64 " bytes, but the file system has only %" PRIu64 " bytes free", n,
                    free_bytes);
    }
    return 0;
}

static int write_file(unpack *u, struct archive_entry *e, const char *name)
{
    int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    if (check_size(u, name, size) < 0) {
        return -1;
    }
    char *dir = g_path_get_dirname(name), *leaf = g_path_get_basename(name);
    int parent = strcmp(dir, ".") == 0 ? dup(u->root) : open_folder(u, name, dir);
    int fd = parent < 0
                 ? -1
                 : openat(parent, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int r = 0;
    if (parent >= 0 && fd < 0) {
        r = fail(u, name, "cannot be unpacked: %s", g_strerror(errno));
    } else if (parent < 0) {
        r = -1;
    }
    char *buf = g_malloc(UNPACK_BLOCK);
    for (la_ssize_t n = 1; r == 0 && n > 0;) {
        n = archive_read_data(u->a, buf, UNPACK_BLOCK);
        if (n < 0) {
            r = fail(u, name, "cannot be read: %s", archive_error_string(u->a));
        } else if ((uint64_t)n > u->limits->max_bytes - u->bytes) {
            r = fail(u, name, "takes the unpacked files past %" PRIu64 " bytes",
                     u->limits->max_bytes);
        } else if (n > 0 && rn_write_all(fd, buf, (size_t)n) < 0) {
            r = fail(u, name, "cannot be written: %s", g_strerror(errno));
        } else {
            u->bytes += (uint64_t)n;
        }
    }
    g_free(buf);
    mode_t mode = archive_entry_perm(e) & 0111 ? 0755 : 0644;
    if (r == 0 && fchmod(fd, mode) < 0) {
        r = fail(u, name, "cannot be unpacked: %s", g_strerror(errno));
    }
    if (fd >= 0 && close_checked(fd) < 0 && r == 0) {
        r = fail(u, name, "cannot be written: %s", g_strerror(errno));
    }
    if (parent >= 0) {
        close(parent);
    }
    g_free(leaf);
    g_free(dir);
    return r;
}

static int member(unpack *u, struct archive_entry *e)
{
    const char *raw = archive_entry_pathname(e);
    if (raw == NULL) {
        raw = archive_entry_pathname_utf8(e);
    }
    if (++u->members > u->limits->max_members) {
        return fail(u, NULL, "it holds more than %" PRIu64 " members; a qns package holds fewer",
                    u->limits->max_members);
    }
    char *name = normal_name(u, raw);
    if (name == NULL) {
        return -1;
    }
    int r = 0;
    char *kind = kind_problem(e);
    if (kind) {
        r = fail(u, raw, "%s; a package holds only regular files and folders", kind);
        g_free(name);
    } else if (!g_hash_table_add(u->seen, name)) {
        r = fail(u, raw, "is in the archive twice");
        name = NULL; /* the table's copy stays */
    } else if (!wanted(u, name)) {
        r = 0;
    } else if (archive_entry_filetype(e) == AE_IFDIR) {
        r = make_folder(u, name);
    } else {
        r = write_file(u, e, name);
    }
    g_free(kind);
    return r;
}

int rn_unpack_fd(int archive_fd, const char *into, const rn_unpack_limits *limits,
                 const char *const *only, char **why)
{
    unpack u = {.limits = limits, .only = only, .root = -1};
    u.seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int r = 0;
    if ((u.root = open(into, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        char *shown = rn_quote_path(into);
        r = fail(&u, NULL, "cannot open %s: %s", shown, g_strerror(errno));
        g_free(shown);
    }
    if (r == 0) {
        u.a = archive_read_new();
        archive_read_support_filter_zstd(u.a);
        archive_read_support_format_tar(u.a);
        if (archive_read_open_fd(u.a, archive_fd, UNPACK_BLOCK) != ARCHIVE_OK) {
            r = fail(&u, NULL, "not a tar archive: %s", archive_error_string(u.a));
        }
    }
    while (r == 0) {
        struct archive_entry *e;
        int got = archive_read_next_header(u.a, &e);
        if (got == ARCHIVE_EOF) {
            break;
        }
        if (got != ARCHIVE_OK) {
            r = fail(&u, NULL, "not a valid tar archive compressed with zstd: %s",
                     archive_error_string(u.a));
        } else {
            r = member(&u, e);
        }
    }
    if (u.a) {
        archive_read_free(u.a);
    }
    if (u.root >= 0) {
        close(u.root);
    }
    g_hash_table_destroy(u.seen);
    *why = u.why;
    return r;
}

int rn_unpack(const char *archive, const char *into, const rn_unpack_limits *limits,
              const char *const *only, char **why)
{
    int fd = open(archive, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        *why = g_strdup(errno == ELOOP ? "it is a symbolic link" : g_strerror(errno));
        return -1;
    }
    int r = -1;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        *why = g_strdup("it is not a regular file");
    } else {
        r = rn_unpack_fd(fd, into, limits, only, why);
    }
    close(fd);
    return r;
}
