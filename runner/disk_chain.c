/*
 * disk_chain.c - follows a disk image's chain of backing files as QEMU
 * does, reading the qcow2 headers itself (no qemu-img at run time): the
 * image's format is probed by its magic, a backing name is taken as it is
 * when absolute, else joined to the folder of the image that names it, and
 * the backing format header extension, when there is one, says how QEMU
 * opens the next file. Whatever QEMU would take from elsewhere than plain
 * files of the chain (json: and protocol names, external data files,
 * features qns does not know) is refused, so that hashing and packing the
 * chain's files is hashing and packing all the disk depends on.
 *
 * Not a qcow2 checker: only the header fields that decide which files QEMU
 * opens are read; what is in the clusters is QEMU's business.
 */
#define _GNU_SOURCE
#include "disk_chain.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The qcow2 header (docs/interop/qcow2.txt in QEMU's tree). */
#define QCOW2_MAGIC "QFI\xfb"
#define QCOW2_V2_HEADER 72u  /* bytes of a version 2 header */
#define QCOW2_V3_HEADER 104u /* the least a version 3 header holds */
#define QCOW2_BACKING_NAME_MAX 1023u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
/* Incompatible feature bits: dirty, corrupt, external data file,
 * compression type, extended L2 entries. Only a data file brings in
 * another file; the others change how QEMU reads this one. */
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_KNOWN 0x1full

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Reads up to len bytes at off; the count read (less only at the end of
 * the file), or -1 with errno. */
static ssize_t read_at(int fd, void *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* path relative to from when below it, else as it is (g_free). */
static char *shown_name(const char *path, const char *from)
{
    char *abs = g_canonicalize_filename(path, NULL);
    char *base = from ? g_canonicalize_filename(from, NULL) : NULL;
    size_t n = base ? strlen(base) : 0;
    char *s = base && strncmp(abs, base, n) == 0 && abs[n] == '/' ? g_strdup(abs + n + 1)
                                                                  : g_strdup(path);
    g_free(base);
    g_free(abs);
    return s;
}

/* What one image says about the next: its backing name and format. */
typedef struct image_header {
    int qcow2;
    char *backing;        /* NULL: none */
    char *backing_format; /* from the header extension; NULL: probed */
} image_header;

/* The header extensions between off and end: the backing format's. */
static char *read_extensions(int fd, uint64_t off, uint64_t end, image_header *h, const char *name)
{
    for (int k = 0; off + 8 <= end && k < 1024; k++) {
        unsigned char e[8];
        ssize_t n = read_at(fd, e, sizeof(e), off);
        if (n < 0) {
            return g_strdup_printf("cannot read '%s': %s", name, g_strerror(errno));
        }
        if (n < (ssize_t)sizeof(e)) {
            return g_strdup_printf("'%s' is not a valid qcow2 image: its header extensions are "
                                   "cut short",
                                   name);
        }
        uint32_t type = be32(e), len = be32(e + 4);
        if (type == 0) {
            return NULL;
        }
        if (off + 8 + len > end) {
            return g_strdup_printf("'%s' is not a valid qcow2 image: a header extension runs past "
                                   "the header",
                                   name);
        }
        if (type == QCOW2_EXT_BACKING_FORMAT) {
            char fmt[64] = "";
            size_t want = len < sizeof(fmt) - 1 ? len : sizeof(fmt) - 1;
            n = read_at(fd, fmt, want, off + 8);
            if (n != (ssize_t)want) {
                return g_strdup_printf("'%s' is not a valid qcow2 image: its backing format is "
                                       "cut short",
                                       name);
            }
            fmt[want] = '\0';
            g_free(h->backing_format);
            h->backing_format = g_strdup(fmt);
        }
        off += 8 + (((uint64_t)len + 7) & ~7ull);
    }
    return NULL;
}

/* What a version 3 header b adds: its length into *header_len; NULL, or why
 * it is refused (an external data file, incompatible features qns does not
 * know, a length too short). */
static char *check_v3(const unsigned char *b, uint64_t *header_len, const char *name)
{
    uint64_t incompat = be64(b + 72);
    *header_len = be32(b + 100);
    if (incompat & QCOW2_INCOMPAT_DATA_FILE) {
        return g_strdup_printf("'%s' uses an external data file, which qns neither hashes "
                               "nor packs",
                               name);
    }
    if (incompat & ~QCOW2_INCOMPAT_KNOWN) {
        return g_strdup_printf("'%s' has incompatible features qns does not know (bits "
                               "0x%llx)",
                               name, (unsigned long long)(incompat & ~QCOW2_INCOMPAT_KNOWN));
    }
    if (*header_len < QCOW2_V3_HEADER) {
        return g_strdup_printf("'%s' is not a valid qcow2 image: header length %llu", name,
                               (unsigned long long)*header_len);
    }
    return NULL;
}

/* The backing file name of len bytes at off into h->backing; NULL, or why
 * it is refused. */
static char *read_backing_name(int fd, uint64_t size, uint64_t off, uint32_t len, image_header *h,
                               const char *name)
{
    if (len > QCOW2_BACKING_NAME_MAX) {
        return g_strdup_printf("'%s' names a backing file of %u bytes; QEMU takes at most %u", name,
                               len, QCOW2_BACKING_NAME_MAX);
    }
    char *bn = g_malloc(len + 1);
    ssize_t n = off <= size ? read_at(fd, bn, len, off) : 0;
    bn[n > 0 ? n : 0] = '\0';
    if (n != (ssize_t)len || memchr(bn, '\0', len)) {
        g_free(bn);
        return n < 0 ? g_strdup_printf("cannot read '%s': %s", name, g_strerror(errno))
                     : g_strdup_printf("'%s' is not a valid qcow2 image: its backing file "
                                       "name is cut short or holds a NUL byte",
                                       name);
    }
    h->backing = bn;
    return NULL;
}

/* Reads the header of the image open on fd (size bytes); NULL, or why it
 * is refused. */
static char *read_header(int fd, uint64_t size, image_header *h, const char *name)
{
    unsigned char b[QCOW2_V3_HEADER];
    ssize_t n = read_at(fd, b, sizeof(b), 0);
    if (n < 0) {
        return g_strdup_printf("cannot read '%s': %s", name, g_strerror(errno));
    }
    h->qcow2 = n >= 4 && memcmp(b, QCOW2_MAGIC, 4) == 0;
    if (!h->qcow2) {
        return NULL; /* raw: the chain ends */
    }
    uint32_t version = n >= 8 ? be32(b + 4) : 0;
    if (n >= 8 && version != 2 && version != 3) {
        return g_strdup_printf("'%s' is qcow2 version %u; qns reads versions 2 and 3", name,
                               version);
    }
    if (n < 8 || (size_t)n < (version == 2 ? QCOW2_V2_HEADER : QCOW2_V3_HEADER)) {
        return g_strdup_printf("'%s' starts like a qcow2 image, but its header is cut short (%zd "
                               "bytes)",
                               name, n);
    }
    uint64_t backing_off = be64(b + 8);
    uint32_t backing_len = be32(b + 16), cluster_bits = be32(b + 20);
    uint64_t header_len = QCOW2_V2_HEADER;
    char *why = version == 3 ? check_v3(b, &header_len, name) : NULL;
    if (why == NULL && (cluster_bits < 9 || cluster_bits > 21)) {
        why =
            g_strdup_printf("'%s' is not a valid qcow2 image: cluster_bits %u", name, cluster_bits);
    }
    if (why == NULL && backing_off != 0 && backing_len != 0) {
        why = read_backing_name(fd, size, backing_off, backing_len, h, name);
    }
    if (why) {
        return why;
    }
    /* Extensions end at the backing name, else with the first cluster. */
    uint64_t end =
        backing_off && backing_off < (1ull << cluster_bits) ? backing_off : 1ull << cluster_bits;
    return read_extensions(fd, header_len, end, h, name);
}

/* How QEMU finds a backing file (bdrv_get_full_backing_filename_from_filename,
 * path_combine): json: and protocol names are not files; an absolute name
 * is taken as it is; a relative one follows the naming image's folder. */
static char *backing_path(const char *image, const char *backing, const char *shown_image,
                          char **why)
{
    size_t before_colon = strcspn(backing, ":/");
    if (g_str_has_prefix(backing, "json:")) {
        *why = g_strdup_printf("'%s' names its backing file by a json: description; qns follows "
                               "only file names",
                               shown_image);
        return NULL;
    }
    if (backing[before_colon] == ':') {
        *why = g_strdup_printf("'%s' names its backing file by the protocol name '%s'; qns "
                               "follows only local files",
                               shown_image, backing);
        return NULL;
    }
    if (g_path_is_absolute(backing)) {
        return g_strdup(backing);
    }
    const char *slash = strrchr(image, '/');
    return slash ? g_strdup_printf("%.*s%s", (int)(slash - image + 1), image, backing)
                 : g_strdup(backing);
}

static void disk_file_free(gpointer p)
{
    rn_disk_file *f = p;
    g_free(f->path);
    g_free(f->backing);
    g_free(f);
}

/* The chain as a message shows it: a -> b -> c. */
static char *chain_text(GPtrArray *chain, const char *from, const char *last)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < chain->len; i++) {
        char *n = shown_name(((rn_disk_file *)g_ptr_array_index(chain, i))->path, from);
        g_string_append_printf(s, "%s -> ", n);
        g_free(n);
    }
    char *n = shown_name(last, from);
    g_string_append(s, n);
    g_free(n);
    return g_string_free(s, FALSE);
}

/* path without "." and ".." steps when that is the same file (it is not
 * when a folder before a ".." is a symlink), else as it is. */
static char *tidy_path(const char *path, const struct stat *st)
{
    if (!g_path_is_absolute(path)) {
        return g_strdup(path); /* relative to where QEMU runs: as given */
    }
    char *tidy = g_canonicalize_filename(path, NULL);
    struct stat t;
    if (strcmp(tidy, path) != 0 &&
        (stat(tidy, &t) < 0 || t.st_dev != st->st_dev || t.st_ino != st->st_ino)) {
        g_free(tidy);
        return g_strdup(path);
    }
    return tidy;
}

/* Opens path for reading, close-on-exec; -1 with errno. */
static int open_image(const char *path)
{
    int fd;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

/* Where a walk down a disk's chain is: the image to open next, the format
 * the image before says it has, and that image's name and the backing
 * name it holds, for messages about the next. */
typedef struct chain_walk {
    const char *disk, *shown_from;
    GPtrArray *chain; /* rn_disk_file of each image so far */
    GArray *seen;     /* struct stat of each image so far */
    char *path;       /* NULL: the chain has ended */
    char *format;     /* NULL probes */
    char *named_by, *name;
} chain_walk;

/* Opens w->path into *fd and *st; NULL, or why it cannot be read or is not
 * a regular file. */
static char *open_regular(const chain_walk *w, const char *shown, int *fd, struct stat *st)
{
    *fd = open_image(w->path);
    if (*fd < 0 || fstat(*fd, st) < 0) {
        return w->named_by ? g_strdup_printf("backing file '%s' of '%s' cannot be read: %s",
                                             w->name, w->named_by, g_strerror(errno))
                           : g_strdup_printf("cannot read '%s': %s", shown, g_strerror(errno));
    }
    if (!S_ISREG(st->st_mode)) {
        return w->named_by ? g_strdup_printf("backing file '%s' of '%s' is not a regular file",
                                             w->name, w->named_by)
                           : g_strdup_printf("'%s' is not a regular file", shown);
    }
    return NULL;
}

/* NULL when the image st may join the chain; else why not: it is in the
 * chain already (a loop), or the chain is as long as it may be. */
static char *check_room(const chain_walk *w, const struct stat *st)
{
    for (guint i = 0; i < w->seen->len; i++) {
        const struct stat *o = &g_array_index(w->seen, struct stat, i);
        if (o->st_dev == st->st_dev && o->st_ino == st->st_ino) {
            char *text = chain_text(w->chain, w->shown_from, w->path);
            char *why = g_strdup_printf("the backing chain loops: %s", text);
            g_free(text);
            return why;
        }
    }
    if (w->chain->len == RN_DISK_CHAIN_MAX) {
        char *top = shown_name(w->disk, w->shown_from);
        char *why = g_strdup_printf("the backing chain of '%s' is longer than %d images", top,
                                    RN_DISK_CHAIN_MAX);
        g_free(top);
        return why;
    }
    return NULL;
}

/* The header of the image open on fd into *h, when it is qcow2 or probed;
 * NULL, or why it is refused: not the qcow2 image the image before says it
 * is, or naming a backing format qns does not follow. */
static char *check_header(const chain_walk *w, int fd, const struct stat *st, const char *shown,
                          image_header *h)
{
    char *why = NULL;
    if (w->format == NULL || strcmp(w->format, "qcow2") == 0) {
        why = read_header(fd, (uint64_t)st->st_size, h, shown);
    }
    if (why == NULL && w->format && strcmp(w->format, "qcow2") == 0 && !h->qcow2) {
        why = g_strdup_printf("backing file '%s' of '%s' is not a qcow2 image, though '%s' "
                              "says it is",
                              w->name, w->named_by, w->named_by);
    }
    if (why == NULL && h->backing_format && strcmp(h->backing_format, "qcow2") != 0 &&
        strcmp(h->backing_format, "raw") != 0) {
        why = g_strdup_printf("'%s' says its backing file '%s' is %s; qns follows only qcow2 "
                              "and raw images",
                              shown, h->backing ? h->backing : "", h->backing_format);
    }
    return why;
}

/* One image of the chain: w->path opened, checked and added to w->chain,
 * then w moved on to its backing file (path NULL when there is none).
 * NULL, or why the chain cannot be followed. */
static char *walk_step(chain_walk *w)
{
    char *shown = shown_name(w->path, w->shown_from);
    struct stat st;
    int fd;
    image_header h = {0};
    char *why = open_regular(w, shown, &fd, &st);
    if (why == NULL) {
        why = check_room(w, &st);
    }
    if (why == NULL) {
        g_array_append_val(w->seen, st);
        why = check_header(w, fd, &st, shown, &h);
    }
    char *next = NULL;
    if (why == NULL) {
        rn_disk_file *f = g_new0(rn_disk_file, 1);
        f->path = tidy_path(w->path, &st);
        f->backing = g_strdup(h.backing);
        g_ptr_array_add(w->chain, f);
        next = h.backing ? backing_path(w->path, h.backing, shown, &why) : NULL;
    }
    if (fd >= 0) {
        close(fd);
    }
    g_free(w->format);
    w->format = h.backing_format; /* owned here now */
    g_free(w->named_by);
    w->named_by = shown;
    g_free(w->name);
    w->name = h.backing;
    g_free(w->path);
    w->path = next;
    return why;
}

GPtrArray *rn_disk_chain(const char *disk, const char *shown_from, char **why)
{
    chain_walk w = {.disk = disk,
                    .shown_from = shown_from,
                    .chain = g_ptr_array_new_with_free_func(disk_file_free),
                    .seen = g_array_new(FALSE, FALSE, sizeof(struct stat)),
                    .path = g_strdup(disk)};
    *why = NULL;
    while (w.path && *why == NULL) {
        *why = walk_step(&w);
    }
    g_free(w.path);
    g_free(w.format);
    g_free(w.named_by);
    g_free(w.name);
    g_array_free(w.seen, TRUE);
    if (*why) {
        g_ptr_array_unref(w.chain);
        return NULL;
    }
    return w.chain;
}

/* The relative path from folder dir to file to (both canonical). */
static char *relative_path(const char *dir, const char *to)
{
    gchar **d = g_strsplit(dir, "/", -1), **t = g_strsplit(to, "/", -1);
    guint i = 0;
    while (d[i] && t[i] && strcmp(d[i], t[i]) == 0) {
        i++;
    }
    GString *s = g_string_new(NULL);
    for (guint k = i; d[k]; k++) {
        if (*d[k]) {
            g_string_append(s, "../");
        }
    }
    for (guint k = i; t[k]; k++) {
        g_string_append_printf(s, "%s%s", k > i ? "/" : "", t[k]);
    }
    g_strfreev(d);
    g_strfreev(t);
    return g_string_free(s, FALSE);
}

char *rn_disk_chain_unpackable(const GPtrArray *chain, const char *base_dir)
{
    char *base = g_canonicalize_filename(base_dir, NULL), *why = NULL;
    size_t n = strlen(base);
    for (guint i = 0; why == NULL && i + 1 < chain->len; i++) {
        const rn_disk_file *f = g_ptr_array_index(chain, i), *b = g_ptr_array_index(chain, i + 1);
        char *image = g_canonicalize_filename(f->path, NULL), *dir = g_path_get_dirname(image);
        char *target = g_canonicalize_filename(b->path, NULL);
        if (strncmp(target, base, n) != 0 || target[n] != '/') {
            why = g_strdup_printf("backing file '%s' of %s is outside the scenario's folder %s, "
                                  "so the package could not carry it; copy it into the folder and "
                                  "rebase onto a relative path: qemu-img rebase -u -b REL %s",
                                  f->backing, image, base, image);
        } else if (g_path_is_absolute(f->backing)) {
            char *rel = relative_path(dir, target);
            why = g_strdup_printf("%s names its backing file by the absolute path '%s', which "
                                  "would not lead to the packed copy; rebase it onto a relative "
                                  "path: qemu-img rebase -u -b %s %s",
                                  image, f->backing, rel, image);
            g_free(rel);
        }
        g_free(target);
        g_free(dir);
        g_free(image);
    }
    g_free(base);
    return why;
}
