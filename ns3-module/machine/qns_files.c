/*
 * qns_files.c - the user's own files as a newc cpio archive appended to the
 * default guest's initramfs (qns_files.h). Written here, byte by byte, so
 * the archive depends on nothing but the files' bytes and exec bits: no
 * cpio program, no umask, no owner, no clock. Not here: which guests may
 * have files (QnsGuestDescribe) and the manifest (the runner).
 */
#define _GNU_SOURCE
#include "qns_files.h"

#include "qns_errbuf.h"

#include <glib.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct entry {
    char *name; /* in the archive: the guest path without its leading '/' */
    char *src;  /* NULL for a folder */
    int exec;   /* the source has an exec bit */
} entry;

struct qns_files {
    GPtrArray *entries; /* entry *, sorted by name after each add */
    GPtrArray *files;   /* the entries of regular files, in that order */
    GHashTable *by_name;
};

static void entry_free(gpointer p)
{
    entry *e = p;
    g_free(e->name);
    g_free(e->src);
    g_free(e);
}

qns_files *qns_files_new(void)
{
    qns_files *f = g_new0(qns_files, 1);
    f->entries = g_ptr_array_new_with_free_func(entry_free);
    f->files = g_ptr_array_new();
    f->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    return f;
}

void qns_files_free(qns_files *f)
{
    if (f == NULL) {
        return;
    }
    g_hash_table_destroy(f->by_name);
    g_ptr_array_free(f->files, TRUE);
    g_ptr_array_free(f->entries, TRUE);
    g_free(f);
}

static const char *kind_of(mode_t m)
{
    return S_ISLNK(m)    ? "a symbolic link"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISSOCK(m) ? "a socket"
                         : "not a regular file or folder";
}

/* A place the default guest owns: its /init, and what it mounts over. */
static int reserved(const char *name, char *errbuf)
{
    if (strcmp(name, "init") == 0 || strncmp(name, "init/", 5) == 0) {
        return qns_fail(errbuf, "destination '/%s' would replace the default guest's /init", name);
    }
    static const char *const mounts[] = {"proc", "sys", "dev"};
    for (size_t i = 0; i < G_N_ELEMENTS(mounts); i++) {
        size_t n = strlen(mounts[i]);
        if (strncmp(name, mounts[i], n) == 0 && (name[n] == '\0' || name[n] == '/')) {
            return qns_fail(errbuf,
                            "destination '/%s' is in /%s, which the default guest mounts "
                            "at boot",
                            name, mounts[i]);
        }
    }
    return 0;
}

/* read(2), again after a signal. */
static ssize_t read_some(int fd, void *buf, size_t n)
{
    ssize_t r;
    do {
        r = read(fd, buf, n);
    } while (r < 0 && errno == EINTR);
    return r;
}

static entry *add_entry(qns_files *f, const char *name, const char *src, int exec)
{
    entry *e = g_new0(entry, 1);
    e->name = g_strdup(name);
    e->src = g_strdup(src);
    e->exec = exec;
    g_ptr_array_add(f->entries, e);
    g_hash_table_insert(f->by_name, e->name, e);
    return e;
}

/* Regular file src at name, with every folder on its way. */
static int add_file(qns_files *f, const char *name, const char *src, const struct stat *st,
                    char *errbuf)
{
    if (reserved(name, errbuf) < 0) {
        return -1;
    }
    if ((unsigned long long)st->st_size > QNS_FILES_MAX_SIZE) {
        return qns_fail(errbuf, "'%s' has %lld bytes, more than a cpio archive holds (4 GiB - 1)",
                        src, (long long)st->st_size);
    }
    entry *there = g_hash_table_lookup(f->by_name, name);
    if (there && there->src) {
        return qns_fail(errbuf, "destination '/%s' is given twice ('%s' and '%s')", name,
                        there->src, src);
    }
    if (there) {
        return qns_fail(errbuf,
                        "destination '/%s' is a folder of other files, so '%s' cannot be "
                        "put there",
                        name, src);
    }
    char *dir = g_strdup(name);
    for (char *slash = strchr(dir, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        entry *d = g_hash_table_lookup(f->by_name, dir);
        if (d && d->src) {
            qns_fail(errbuf, "destination '/%s' is the file '%s', so it cannot hold '%s'", dir,
                     d->src, src);
            g_free(dir);
            return -1;
        }
        if (d == NULL) {
            add_entry(f, dir, NULL, 1);
        }
        *slash = '/';
    }
    g_free(dir);
    add_entry(f, name, src, (st->st_mode & 0111) != 0);
    return 0;
}

static int add_tree(qns_files *f, const char *name, const char *src, char *errbuf);

/* One lstat'd source at name ("" for the guest's root folder). */
static int add_path(qns_files *f, const char *name, const char *src, const struct stat *st,
                    char *errbuf)
{
    if (S_ISREG(st->st_mode)) {
        if (*name == '\0') {
            return qns_fail(
                errbuf, "destination '/' is the root folder; '%s' needs a file name there", src);
        }
        return add_file(f, name, src, st, errbuf);
    }
    if (S_ISDIR(st->st_mode)) {
        return add_tree(f, name, src, errbuf);
    }
    return qns_fail(errbuf, "'%s' is %s; only regular files and folders are packed", src,
                    kind_of(st->st_mode));
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Everything below folder src, at name. */
static int add_tree(qns_files *f, const char *name, const char *src, char *errbuf)
{
    DIR *d = opendir(src); /* O_CLOEXEC in glibc */
    if (d == NULL) {
        return qns_fail(errbuf, "cannot read folder '%s': %s", src, g_strerror(errno));
    }
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            g_ptr_array_add(names, g_strdup(de->d_name));
        }
        errno = 0;
    }
    int r = errno ? qns_fail(errbuf, "cannot read folder '%s': %s", src, g_strerror(errno)) : 0;
    closedir(d);
    /* Sorted, so that the first of several mistakes is always the same. */
    g_ptr_array_sort(names, by_string);
    for (guint i = 0; r == 0 && i < names->len; i++) {
        const char *n = g_ptr_array_index(names, i);
        char *child = g_build_filename(src, n, NULL);
        char *at = *name ? g_strconcat(name, "/", n, NULL) : g_strdup(n);
        struct stat st;
        r = lstat(child, &st) < 0
                ? qns_fail(errbuf, "cannot read '%s': %s", child, g_strerror(errno))
                : add_path(f, at, child, &st, errbuf);
        g_free(at);
        g_free(child);
    }
    g_ptr_array_free(names, TRUE);
    return r;
}

/* DST as an archive name: no leading '/', empty and '.' components dropped;
 * NULL (errbuf set) when it is not absolute or has a '..'. */
static char *archive_name(const char *dst, char *errbuf)
{
    if (dst[0] != '/') {
        qns_fail(errbuf, "destination '%s' is not an absolute path (e.g. /usr/local/bin/NAME)",
                 dst);
        return NULL;
    }
    gchar **parts = g_strsplit(dst, "/", -1);
    GString *name = g_string_new(NULL);
    int ok = 1;
    for (int i = 0; ok && parts[i]; i++) {
        if (strcmp(parts[i], "..") == 0) {
            qns_fail(errbuf, "destination '%s' has a '..' component", dst);
            ok = 0;
        } else if (*parts[i] && strcmp(parts[i], ".")) {
            g_string_append_printf(name, "%s%s", name->len ? "/" : "", parts[i]);
        }
    }
    g_strfreev(parts);
    return g_string_free(name, !ok);
}

static int name_order(gconstpointer a, gconstpointer b)
{
    return strcmp((*(entry *const *)a)->name, (*(entry *const *)b)->name);
}

int qns_files_add(qns_files *f, const char *spec, const char *base_dir, char *errbuf)
{
    const char *colon = spec ? strrchr(spec, ':') : NULL;
    if (colon == NULL || colon == spec || colon[1] == '\0') {
        return qns_fail(errbuf, "'%s' is not SRC:DST (e.g. ./app:/usr/local/bin/app)",
                        spec ? spec : "");
    }
    char *src_given = g_strndup(spec, (gsize)(colon - spec));
    char *src = base_dir && !g_path_is_absolute(src_given)
                    ? g_build_filename(base_dir, src_given, NULL)
                    : g_strdup(src_given);
    char *name = archive_name(colon + 1, errbuf);
    int r = -1;
    struct stat st;
    if (name == NULL) {
    } else if (lstat(src, &st) < 0) {
        qns_fail(errbuf, "cannot read '%s': %s", src, g_strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        guint before = f->entries->len;
        guint files = 0;
        r = add_path(f, name, src, &st, errbuf);
        for (guint i = before; r == 0 && i < f->entries->len; i++) {
            files += ((entry *)g_ptr_array_index(f->entries, i))->src != NULL;
        }
        if (r == 0 && files == 0) {
            r = qns_fail(errbuf, "folder '%s' holds no files", src);
        }
    } else {
        r = add_path(f, name, src, &st, errbuf);
    }
    /* Archive order: sorted by name, so every folder before what it holds. */
    g_ptr_array_sort(f->entries, name_order);
    g_ptr_array_set_size(f->files, 0);
    for (guint i = 0; i < f->entries->len; i++) {
        entry *e = g_ptr_array_index(f->entries, i);
        if (e->src) {
            g_ptr_array_add(f->files, e);
        }
    }
    g_free(name);
    g_free(src);
    g_free(src_given);
    return r;
}

size_t qns_files_count(const qns_files *f)
{
    return f->files->len;
}

const char *qns_files_source(const qns_files *f, size_t i)
{
    return i < f->files->len ? ((entry *)g_ptr_array_index(f->files, (guint)i))->src : NULL;
}

static void pad4(GByteArray *a)
{
    static const guint8 zeros[3] = {0, 0, 0};
    g_byte_array_append(a, zeros, (4 - a->len % 4) % 4);
}

static void header(GByteArray *a, unsigned ino, unsigned mode, unsigned nlink, unsigned mtime,
                   unsigned size, const char *name)
{
    char h[111];
    unsigned namesize = (unsigned)strlen(name) + 1;
    snprintf(h, sizeof(h), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode,
             0u, 0u, nlink, mtime, size, 0u, 0u, 0u, 0u, namesize, 0u);
    g_byte_array_append(a, (const guint8 *)h, 110);
    g_byte_array_append(a, (const guint8 *)name, namesize);
    pad4(a);
}

/* The whole of regular file src appended to a; its size in *size. */
static int read_source(GByteArray *a, const char *src, unsigned *size, char *errbuf)
{
    int fd;
    do {
        fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return qns_fail(errbuf, "cannot read '%s': %s", src, g_strerror(errno));
    }
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) < 0) {
        r = qns_fail(errbuf, "cannot read '%s': %s", src, g_strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        r = qns_fail(errbuf, "'%s' is %s; only regular files and folders are packed", src,
                     kind_of(st.st_mode));
    } else if ((unsigned long long)st.st_size > QNS_FILES_MAX_SIZE) {
        r = qns_fail(errbuf, "'%s' has %lld bytes, more than a cpio archive holds (4 GiB - 1)", src,
                     (long long)st.st_size);
    }
    guint start = a->len;
    unsigned long long got = 0;
    guint8 buf[65536];
    while (r == 0) {
        ssize_t n = read_some(fd, buf, sizeof(buf));
        if (n < 0) {
            r = qns_fail(errbuf, "cannot read '%s': %s", src, g_strerror(errno));
        } else if (n == 0) {
            break;
        } else if ((got += (unsigned long long)n) > (unsigned long long)st.st_size) {
            r = qns_fail(errbuf, "'%s' grew while it was read", src);
        } else {
            g_byte_array_append(a, buf, (guint)n);
        }
    }
    if (r == 0 && got != (unsigned long long)st.st_size) {
        r = qns_fail(errbuf, "'%s' shrank while it was read", src);
    }
    close(fd);
    if (r < 0) {
        g_byte_array_set_size(a, start);
    }
    *size = (unsigned)got;
    return r;
}

int qns_files_archive(const qns_files *f, unsigned char **data, size_t *len, char *errbuf)
{
    GByteArray *a = g_byte_array_new();
    int r = 0;
    for (guint i = 0; r == 0 && i < f->entries->len; i++) {
        const entry *e = g_ptr_array_index(f->entries, i);
        unsigned ino = i + 1;
        if (e->src == NULL) {
            header(a, ino, 040755, 2, QNS_FILES_EPOCH, 0, e->name);
            continue;
        }
        /* The header takes the size, which is known once the file is read. */
        GByteArray *body = g_byte_array_new();
        unsigned size = 0;
        r = read_source(body, e->src, &size, errbuf);
        if (r == 0) {
            header(a, ino, e->exec ? 0100755 : 0100644, 1, QNS_FILES_EPOCH, size, e->name);
            g_byte_array_append(a, body->data, body->len);
            pad4(a);
        }
        g_byte_array_free(body, TRUE);
    }
    if (r < 0) {
        g_byte_array_free(a, TRUE);
        return -1;
    }
    header(a, 0, 0, 1, 0, 0, "TRAILER!!!");
    *len = a->len;
    *data = g_malloc(a->len ? a->len : 1);
    memcpy(*data, a->data, a->len);
    g_byte_array_free(a, TRUE);
    return 0;
}

/* ---- the combined initrd ------------------------------------------------- */

static int write_all(int fd, const guint8 *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* base, then zeros to a multiple of 4, into sum and (fd >= 0) fd. Its size
 * in *size. 0, or -1 with errbuf. */
static int copy_base(const char *base, GChecksum *sum, int fd, const char *to,
                     unsigned long long *size, char *errbuf)
{
    int in;
    do {
        in = open(base, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    } while (in < 0 && errno == EINTR);
    if (in < 0) {
        return qns_fail(errbuf, "cannot read the default initramfs '%s': %s", base,
                        g_strerror(errno));
    }
    guint8 buf[1 << 16];
    int r = 0;
    *size = 0;
    for (;;) {
        ssize_t n = read_some(in, buf, sizeof(buf));
        if (n < 0) {
            r = qns_fail(errbuf, "cannot read the default initramfs '%s': %s", base,
                         g_strerror(errno));
        }
        if (n <= 0) {
            break;
        }
        g_checksum_update(sum, buf, (gssize)n);
        if (fd >= 0 && write_all(fd, buf, (size_t)n) < 0) {
            r = qns_fail(errbuf, "cannot write '%s': %s", to, g_strerror(errno));
            break;
        }
        *size += (unsigned long long)n;
    }
    close(in);
    static const guint8 zeros[3] = {0, 0, 0};
    size_t pad = (4 - *size % 4) % 4;
    g_checksum_update(sum, zeros, (gssize)pad);
    if (r == 0 && fd >= 0 && write_all(fd, zeros, pad) < 0) {
        r = qns_fail(errbuf, "cannot write '%s': %s", to, g_strerror(errno));
    }
    *size += pad;
    return r;
}

/* Writes base + archive to a temporary file in dir and renames it to
 * dir/want; the bytes written must hash to want (else base changed while
 * it was read). */
static int write_initrd(const char *dir, const char *want, const char *base,
                        const unsigned char *archive, size_t len, char *errbuf)
{
    char *tmp = g_build_filename(dir, ".initrd-XXXXXX", NULL);
    char *final = g_build_filename(dir, want, NULL);
    int fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) {
        qns_fail(errbuf, "cannot write the guest's initrd in '%s': %s", dir, g_strerror(errno));
        g_free(final);
        g_free(tmp);
        return -1;
    }
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    unsigned long long size;
    int r = copy_base(base, sum, fd, tmp, &size, errbuf);
    g_checksum_update(sum, archive, (gssize)len);
    if (r == 0 && (write_all(fd, archive, len) < 0 || fsync(fd) < 0)) {
        r = qns_fail(errbuf, "cannot write '%s': %s", tmp, g_strerror(errno));
    }
    if (close(fd) < 0 && r == 0) {
        r = qns_fail(errbuf, "cannot write '%s': %s", tmp, g_strerror(errno));
    }
    if (r == 0 && strcmp(g_checksum_get_string(sum), want) != 0) {
        r = qns_fail(errbuf, "the default initramfs '%s' changed while it was read", base);
    }
    if (r == 0 && rename(tmp, final) < 0) {
        r = qns_fail(errbuf, "cannot rename '%s' to '%s': %s", tmp, final, g_strerror(errno));
    }
    if (r < 0) {
        unlink(tmp);
    }
    g_checksum_free(sum);
    g_free(final);
    g_free(tmp);
    return r;
}

int qns_files_initrd(const qns_files *f, const char *base, const char *cache_dir, char **path,
                     char *errbuf)
{
    unsigned char *archive = NULL;
    size_t len = 0;
    if (qns_files_archive(f, &archive, &len, errbuf) < 0) {
        return -1;
    }
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    unsigned long long size = 0;
    int r = copy_base(base, sum, -1, NULL, &size, errbuf);
    g_checksum_update(sum, archive, (gssize)len);
    char *dir = g_build_filename(cache_dir, "initrd", NULL);
    char *want = g_strdup(g_checksum_get_string(sum));
    char *at = g_build_filename(dir, want, NULL);
    struct stat st;
    if (r == 0 && g_mkdir_with_parents(dir, 0755) < 0) {
        r = qns_fail(errbuf, "cannot make the folder '%s': %s", dir, g_strerror(errno));
    }
    /* Named by its content and only ever renamed into place whole: one of
     * that name and size is that content. */
    if (r == 0 && !(stat(at, &st) == 0 && S_ISREG(st.st_mode) &&
                    (unsigned long long)st.st_size == size + len)) {
        r = write_initrd(dir, want, base, archive, len, errbuf);
    }
    if (r == 0) {
        *path = g_strdup(at);
    }
    g_free(at);
    g_free(want);
    g_free(dir);
    g_checksum_free(sum);
    g_free(archive);
    return r;
}
