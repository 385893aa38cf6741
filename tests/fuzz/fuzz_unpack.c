/*
 * fuzz_unpack.c - a package file as a stranger may craft it, from arbitrary
 * bytes: rn_unpack_fd unpacks it into a new folder with small limits (1 MiB,
 * 64 members), or refuses it with one line of printable text. Either way
 * nothing appears beside that folder, and below it there are only regular
 * files (0644 or 0755; 0600 for one cut short by a refusal) and folders
 * (0755), one link each, adding up to at most the limit. An input of odd
 * length is unpacked as guest import does, with only some files written:
 * every file below the folder then matches one of those patterns.
 * Under libFuzzer, a mutated plain tar archive gets its headers' checksums
 * made right again, so that mutations of names, kinds, modes and sizes
 * reach rn_unpack's checks instead of libarchive's checksum test.
 */
#define _GNU_SOURCE
#include "fuzz_check.h"
#include "unpack.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DECOY "beside"
#define DECOY_TEXT "not to be touched\n"

typedef struct tree {
    const char *const *only;
    int refused;
    uint64_t bytes;
} tree;

static int matches(const char *const *only, const char *name)
{
    for (const char *const *p = only; *p; p++) {
        if (g_pattern_match_simple(*p, name)) {
            return 1;
        }
    }
    return 0;
}

/* Checks everything below the folder open at fd (closed here); rel is its
 * name below the unpack folder (NULL: that folder). */
static void check_folder(int fd, const char *rel, tree *t)
{
    DIR *d = fdopendir(fd);
    CHECK(d != NULL);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        struct stat st;
        CHECK(fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0);
        char *name = rel ? g_strconcat(rel, "/", e->d_name, NULL) : g_strdup(e->d_name);
        unsigned perm = st.st_mode & 07777;
        if (S_ISDIR(st.st_mode)) {
            CHECK(perm == 0755);
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            CHECK(sub >= 0);
            check_folder(sub, name, t);
        } else {
            CHECK(S_ISREG(st.st_mode) && st.st_nlink == 1);
            CHECK(perm == 0644 || perm == 0755 || (t->refused && perm == 0600));
            CHECK(t->only == NULL || matches(t->only, name));
            t->bytes += (uint64_t)st.st_size;
        }
        g_free(name);
    }
    closedir(d);
}

/* The sandbox holds the unpack folder and the decoy file, unchanged. */
static void check_beside(const char *sandbox)
{
    GDir *d = g_dir_open(sandbox, 0, NULL);
    CHECK(d != NULL);
    int n = 0;
    for (const char *name; (name = g_dir_read_name(d)) != NULL; n++) {
        CHECK(strcmp(name, "into") == 0 || strcmp(name, DECOY) == 0);
    }
    g_dir_close(d);
    CHECK(n == 2);
    char *decoy = g_build_filename(sandbox, DECOY, NULL), *text = NULL;
    CHECK(g_file_get_contents(decoy, &text, NULL, NULL) && strcmp(text, DECOY_TEXT) == 0);
    g_free(text);
    g_free(decoy);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)st;
    (void)f;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* A refusal is one line of printable text: UTF-8 without control
 * characters (C0, DEL, C1), names escaped. */
static void check_why(const char *why)
{
    CHECK(why != NULL && *why != '\0' && g_utf8_validate(why, -1, NULL));
    for (const char *p = why; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        CHECK(c >= 0x20 && (c < 0x7f || c > 0x9f));
    }
}

#ifdef QNS_LIBFUZZER
#define TAR_BLOCK 512

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* Sets the checksum of each 512-byte block that has the ustar magic. */
static void fix_tar_checksums(uint8_t *data, size_t size)
{
    for (size_t off = 0; off + TAR_BLOCK <= size; off += TAR_BLOCK) {
        uint8_t *h = data + off;
        if (memcmp(h + 257, "ustar", 5) != 0) {
            continue;
        }
        memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (size_t i = 0; i < TAR_BLOCK; i++) {
            sum += h[i];
        }
        char field[9];
        snprintf(field, sizeof(field), "%06o", sum & 0777777);
        memcpy(h + 148, field, 7); /* six digits and a NUL, then the space */
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed)
{
    (void)seed;
    size = LLVMFuzzerMutate(data, size, max_size);
    fix_tar_checksums(data, size);
    return size;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const only[] = {"*/GUEST-INFO", "*/guest/*", NULL};
    const rn_unpack_limits limits = {1 << 20, 64};
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);

    char *sandbox = g_build_filename(g_get_tmp_dir(), "fuzz-unpack-XXXXXX", NULL);
    CHECK(g_mkdtemp(sandbox) != NULL);
    char *into = g_build_filename(sandbox, "into", NULL);
    char *decoy = g_build_filename(sandbox, DECOY, NULL);
    CHECK(mkdir(into, 0755) == 0 && g_file_set_contents(decoy, DECOY_TEXT, -1, NULL));

    int fd = memfd_create("archive", MFD_CLOEXEC);
    CHECK(fd >= 0 && write(fd, data, size) == (ssize_t)size && lseek(fd, 0, SEEK_SET) == 0);
    tree t = {.only = size % 2 ? only : NULL};
    char *why = NULL;
    t.refused = rn_unpack_fd(fd, into, &limits, t.only, &why) < 0;
    close(fd);
    if (t.refused) {
        check_why(why);
    } else {
        CHECK(why == NULL);
    }

    check_beside(sandbox);
    int root = open(into, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    CHECK(root >= 0);
    check_folder(root, NULL, &t);
    CHECK(t.bytes <= limits.max_bytes);

    CHECK(nftw(sandbox, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
    g_free(why);
    g_free(decoy);
    g_free(into);
    g_free(sandbox);
    return 0;
}
