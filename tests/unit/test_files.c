/* The default guest's own files (qns_files.h): the exact newc bytes of one
 * small file, computed by hand; sorted entries with every parent folder,
 * modes from the exec bit only, 4-byte padding and the trailer; identical
 * bytes from two runs whatever the files' times and other mode bits; each
 * refusal with its message; the combined initrd named by its SHA-256,
 * padded after the default initramfs and reused. */
#define _GNU_SOURCE
#include "qns_files.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

static char *make_dir(const char *tag)
{
    char *cwd = g_get_current_dir();
    char *d = g_strdup_printf("%s/files-%s-%d", cwd, tag, getpid());
    g_free(cwd);
    g_mkdir_with_parents(d, 0755);
    return d;
}

static char *put(const char *dir, const char *name, const char *text, int mode)
{
    char *p = g_build_filename(dir, name, NULL);
    char *parent = g_path_get_dirname(p);
    g_mkdir_with_parents(parent, 0755);
    g_free(parent);
    assert_true(g_file_set_contents(p, text, -1, NULL));
    assert_int_equal(chmod(p, (mode_t)mode), 0);
    return p;
}

static void remove_tree(const char *dir)
{
    char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    g_free(cmd);
}

/* The archive of specs (relative to base), which must be accepted. */
static GBytes *archive_of(const char *const *specs, const char *base)
{
    char err[QNS_ERRBUF_SIZE] = "";
    qns_files *f = qns_files_new();
    for (const char *const *s = specs; *s; s++) {
        if (qns_files_add(f, *s, base, err) < 0) {
            fail_msg("%s: %s", *s, err);
        }
    }
    unsigned char *data = NULL;
    size_t len = 0;
    assert_int_equal(qns_files_archive(f, &data, &len, err), 0);
    qns_files_free(f);
    return g_bytes_new_take(data, len);
}

static void one_small_file_is_the_hand_computed_newc(void **state)
{
    (void)state;
    char *dir = make_dir("one");
    char *src = put(dir, "hi.sh", "echo hi\n", 0755);
    const char *specs[] = {"hi.sh:/bin/hi.sh", NULL};
    GBytes *a = archive_of(specs, dir);
    /* 110-byte headers: magic, ino, mode, uid, gid, nlink, mtime, filesize,
     * devmajor, devminor, rdevmajor, rdevminor, namesize, check; the name
     * and its NUL padded to 4 with the header, then the data padded to 4.
     * mtime 0x5E0BE100 = 1577836800. */
    static const char want[] =
        /* bin/: ino 1, 040755, nlink 2, name "bin\0" (114 -> 116) */
        "070701" "00000001" "000041ED" "00000000" "00000000" "00000002" "5E0BE100"
        "00000000" "00000000" "00000000" "00000000" "00000000" "00000004" "00000000"
        "bin\0" "\0\0"
        /* bin/hi.sh: ino 2, 0100755, 8 bytes, name of 10 (120, no padding) */
        "070701" "00000002" "000081ED" "00000000" "00000000" "00000001" "5E0BE100"
        "00000008" "00000000" "00000000" "00000000" "00000000" "0000000A" "00000000"
        "bin/hi.sh\0"
        "echo hi\n"
        /* the trailer: name of 11 (121 -> 124) */
        "070701" "00000000" "00000000" "00000000" "00000000" "00000001" "00000000"
        "00000000" "00000000" "00000000" "00000000" "00000000" "0000000B" "00000000"
        "TRAILER!!!\0" "\0\0\0";
    size_t len;
    const unsigned char *got = g_bytes_get_data(a, &len);
    assert_int_equal(len, sizeof(want) - 1);
    assert_int_equal(len, 116 + 120 + 8 + 124);
    assert_memory_equal(got, want, len);
    /* Without the exec bit: 0100644, nothing else changes. */
    assert_int_equal(chmod(src, 0640), 0);
    GBytes *b = archive_of(specs, dir);
    const unsigned char *plain = g_bytes_get_data(b, &len);
    assert_memory_equal(plain + 116 + 14, "000081A4", 8);
    assert_memory_equal(plain, want, 116 + 14);
    assert_memory_equal(plain + 116 + 22, want + 116 + 22, len - 116 - 22);
    g_bytes_unref(b);
    g_bytes_unref(a);
    g_free(src);
    remove_tree(dir);
    g_free(dir);
}

typedef struct newc_entry {
    unsigned ino, mode, uid, gid, nlink, mtime, size;
    char name[256];
    size_t at; /* offset of its header */
} newc_entry;

static unsigned field(const unsigned char *h, int i)
{
    char hex[9];
    memcpy(hex, h + 6 + 8 * i, 8);
    hex[8] = '\0';
    return (unsigned)strtoul(hex, NULL, 16);
}

/* The entries of archive a up to and with its trailer; checks magic,
 * padding and that nothing follows the trailer. */
static GArray *parse(GBytes *a)
{
    size_t len;
    const unsigned char *d = g_bytes_get_data(a, &len);
    GArray *out = g_array_new(FALSE, TRUE, sizeof(newc_entry));
    size_t at = 0;
    for (;;) {
        assert_true(at + 110 <= len);
        assert_int_equal(at % 4, 0);
        assert_memory_equal(d + at, "070701", 6);
        newc_entry e = {.ino = field(d + at, 0), .mode = field(d + at, 1), .uid = field(d + at, 2),
                        .gid = field(d + at, 3), .nlink = field(d + at, 4),
                        .mtime = field(d + at, 5), .size = field(d + at, 6), .at = at};
        unsigned namesize = field(d + at, 11);
        assert_true(namesize > 1 && namesize < sizeof(e.name));
        memcpy(e.name, d + at + 110, namesize);
        assert_int_equal(e.name[namesize - 1], '\0');
        size_t data = (at + 110 + namesize + 3) / 4 * 4;
        for (size_t p = at + 110 + namesize; p < data; p++) {
            assert_int_equal(d[p], 0);
        }
        size_t next = (data + e.size + 3) / 4 * 4;
        for (size_t p = data + e.size; p < next; p++) {
            assert_int_equal(d[p], 0);
        }
        g_array_append_val(out, e);
        at = next;
        if (strcmp(e.name, "TRAILER!!!") == 0) {
            break;
        }
    }
    assert_int_equal(at, len);
    return out;
}

static void entries_are_sorted_with_their_folders_and_modes(void **state)
{
    (void)state;
    char *dir = make_dir("tree");
    g_free(put(dir, "conf/z.conf", "z=1\n", 0600));
    g_free(put(dir, "conf/sub/a.conf", "a=1\n", 0644));
    g_free(put(dir, "conf/run.sh", "#!/bin/sh\n", 0700));
    g_free(put(dir, "tool", "tool\n", 0744)); /* owner exec only: still 0755 */
    /* Given out of order; /etc is the parent of both. */
    const char *specs[] = {"tool:/usr/local/bin/tool", "conf:/etc/myapp", NULL};
    GBytes *a = archive_of(specs, dir);
    GArray *e = parse(a);
    static const struct {
        const char *name;
        unsigned mode;
    } want[] = {
        {"etc", 040755},
        {"etc/myapp", 040755},
        {"etc/myapp/run.sh", 0100755},
        {"etc/myapp/sub", 040755},
        {"etc/myapp/sub/a.conf", 0100644},
        {"etc/myapp/z.conf", 0100644},
        {"usr", 040755},
        {"usr/local", 040755},
        {"usr/local/bin", 040755},
        {"usr/local/bin/tool", 0100755},
        {"TRAILER!!!", 0},
    };
    assert_int_equal(e->len, G_N_ELEMENTS(want));
    for (guint i = 0; i < e->len; i++) {
        newc_entry *x = &g_array_index(e, newc_entry, i);
        assert_string_equal(x->name, want[i].name);
        assert_int_equal(x->mode, want[i].mode);
        assert_int_equal(x->uid, 0);
        assert_int_equal(x->gid, 0);
        if (i + 1 < e->len) {
            assert_int_equal(x->ino, i + 1);
            assert_int_equal(x->mtime, QNS_FILES_EPOCH);
            assert_int_equal(x->nlink, (want[i].mode & 040000) ? 2 : 1);
        }
    }
    assert_int_equal(g_array_index(e, newc_entry, 5).size, 4);
    /* The sources, in archive order. */
    qns_files *f = qns_files_new();
    char err[QNS_ERRBUF_SIZE];
    for (const char *const *s = specs; *s; s++) {
        assert_int_equal(qns_files_add(f, *s, dir, err), 0);
    }
    assert_int_equal(qns_files_count(f), 4);
    char *first = g_build_filename(dir, "conf", "run.sh", NULL);
    char *last = g_build_filename(dir, "tool", NULL);
    assert_string_equal(qns_files_source(f, 0), first);
    assert_string_equal(qns_files_source(f, 3), last);
    assert_null(qns_files_source(f, 4));
    qns_files_free(f);
    g_free(last);
    g_free(first);
    g_array_free(e, TRUE);
    g_bytes_unref(a);
    remove_tree(dir);
    g_free(dir);
}

static void two_runs_give_the_same_bytes_whatever_times_and_modes(void **state)
{
    (void)state;
    char *dir = make_dir("same");
    char *app = put(dir, "app", "#!/bin/sh\necho app\n", 0755);
    char *conf = put(dir, "etc/app.conf", "x = 1\n", 0644);
    const char *specs[] = {"app:/usr/bin/app", "etc:/etc/app", NULL};
    GBytes *a = archive_of(specs, dir);
    /* Other times, other read/write bits, the same exec bits. */
    struct timeval tv[2] = {{.tv_sec = 1000}, {.tv_sec = 2000}};
    assert_int_equal(utimes(app, tv), 0);
    assert_int_equal(utimes(conf, tv), 0);
    assert_int_equal(chmod(app, 0711), 0);
    assert_int_equal(chmod(conf, 0600), 0);
    GBytes *b = archive_of(specs, dir);
    assert_true(g_bytes_equal(a, b));
    /* A changed byte is a changed archive. */
    g_free(put(dir, "etc/app.conf", "x = 2\n", 0600));
    GBytes *c = archive_of(specs, dir);
    assert_false(g_bytes_equal(a, c));
    g_bytes_unref(c);
    g_bytes_unref(b);
    g_bytes_unref(a);
    g_free(conf);
    g_free(app);
    remove_tree(dir);
    g_free(dir);
}

typedef struct refusal {
    const char *spec; /* relative to the test's folder, DIR in want */
    const char *want; /* DIR stands for the folder */
} refusal;

static void each_refusal_names_what_is_wrong(void **state)
{
    (void)state;
    char *dir = make_dir("bad");
    g_free(put(dir, "app", "app\n", 0755));
    g_free(put(dir, "tree/ok", "ok\n", 0644));
    char *link = g_build_filename(dir, "link", NULL);
    assert_int_equal(symlink("app", link), 0);
    char *inner = g_build_filename(dir, "withlink", NULL);
    g_mkdir_with_parents(inner, 0755);
    char *inner_link = g_build_filename(inner, "l", NULL);
    assert_int_equal(symlink("../app", inner_link), 0);
    char *fifo_dir = g_build_filename(dir, "withfifo", NULL);
    g_mkdir_with_parents(fifo_dir, 0755);
    char *fifo = g_build_filename(fifo_dir, "f", NULL);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    char *empty = g_build_filename(dir, "empty", "sub", NULL);
    g_mkdir_with_parents(empty, 0755);
    const refusal cases[] = {
        {"missing:/usr/bin/x", "cannot read 'DIR/missing': No such file or directory"},
        {"app:usr/bin/app",
         "destination 'usr/bin/app' is not an absolute path (e.g. /usr/local/bin/NAME)"},
        {"app:/usr/../etc/app", "destination '/usr/../etc/app' has a '..' component"},
        {"link:/usr/bin/link",
         "'DIR/link' is a symbolic link; only regular files and folders are packed"},
        {"withlink:/opt/w",
         "'DIR/withlink/l' is a symbolic link; only regular files and folders are packed"},
        {"withfifo:/opt/f", "'DIR/withfifo/f' is a FIFO; only regular files and folders are packed"},
        {"/dev/null:/etc/null",
         "'/dev/null' is a character device; only regular files and folders are packed"},
        {"app:/init", "destination '/init' would replace the default guest's /init"},
        {"tree:/init", "destination '/init/ok' would replace the default guest's /init"},
        {"app:/proc/x", "destination '/proc/x' is in /proc, which the default guest mounts at boot"},
        {"tree:/sys", "destination '/sys/ok' is in /sys, which the default guest mounts at boot"},
        {"app:/dev/app", "destination '/dev/app' is in /dev, which the default guest mounts at boot"},
        {"app:/", "destination '/' is the root folder; 'DIR/app' needs a file name there"},
        {"empty:/opt/e", "folder 'DIR/empty' holds no files"},
        {"app", "'app' is not SRC:DST (e.g. ./app:/usr/local/bin/app)"},
        {":/x", "':/x' is not SRC:DST (e.g. ./app:/usr/local/bin/app)"},
        {"app:", "'app:' is not SRC:DST (e.g. ./app:/usr/local/bin/app)"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        qns_files *f = qns_files_new();
        char err[QNS_ERRBUF_SIZE] = "";
        int r = qns_files_add(f, cases[i].spec, dir, err);
        GString *want = g_string_new(cases[i].want);
        g_string_replace(want, "DIR", dir, 0);
        if (r != -1 || strcmp(err, want->str) != 0) {
            fail_msg("%s: %d '%s', wanted '%s'", cases[i].spec, r, err, want->str);
        }
        g_string_free(want, TRUE);
        qns_files_free(f);
    }
    /* Two sources at one place, a file where a folder must be. */
    qns_files *f = qns_files_new();
    char err[QNS_ERRBUF_SIZE];
    assert_int_equal(qns_files_add(f, "app:/opt/app", dir, err), 0);
    assert_int_equal(qns_files_add(f, "tree/ok:/opt/app", dir, err), -1);
    char *want = g_strdup_printf("destination '/opt/app' is given twice ('%s/app' and '%s/tree/ok')",
                                 dir, dir);
    assert_string_equal(err, want);
    g_free(want);
    assert_int_equal(qns_files_add(f, "tree/ok:/opt/app/x", dir, err), -1);
    want = g_strdup_printf("destination '/opt/app' is the file '%s/app', so it cannot hold "
                           "'%s/tree/ok'",
                           dir, dir);
    assert_string_equal(err, want);
    g_free(want);
    assert_int_equal(qns_files_add(f, "app:/opt", dir, err), -1);
    want = g_strdup_printf("destination '/opt' is a folder of other files, so '%s/app' cannot be "
                           "put there",
                           dir);
    assert_string_equal(err, want);
    g_free(want);
    qns_files_free(f);
    /* A source that is no longer readable when the archive is written. */
    f = qns_files_new();
    char *gone = put(dir, "gone", "x\n", 0644);
    assert_int_equal(qns_files_add(f, "gone:/x", dir, err), 0);
    assert_int_equal(unlink(gone), 0);
    unsigned char *data = NULL;
    size_t len = 0;
    assert_int_equal(qns_files_archive(f, &data, &len, err), -1);
    want = g_strdup_printf("cannot read '%s': No such file or directory", gone);
    assert_string_equal(err, want);
    assert_null(data);
    g_free(want);
    g_free(gone);
    qns_files_free(f);
    g_free(empty);
    g_free(fifo);
    g_free(fifo_dir);
    g_free(inner_link);
    g_free(inner);
    g_free(link);
    remove_tree(dir);
    g_free(dir);
}

static void the_initrd_is_the_initramfs_padded_then_the_archive_by_its_sha256(void **state)
{
    (void)state;
    char *dir = make_dir("initrd");
    char *cache = g_build_filename(dir, "cache", NULL);
    char *base = put(dir, "initramfs.cpio", "BASE!", 0644); /* 5 bytes: 3 of padding */
    g_free(put(dir, "app", "app\n", 0755));
    qns_files *f = qns_files_new();
    char err[QNS_ERRBUF_SIZE];
    assert_int_equal(qns_files_add(f, "app:/usr/bin/app", dir, err), 0);
    unsigned char *archive = NULL;
    size_t len = 0;
    assert_int_equal(qns_files_archive(f, &archive, &len, err), 0);
    char *path = NULL;
    if (qns_files_initrd(f, base, cache, &path, err) < 0) {
        fail_msg("%s", err);
    }
    gchar *got;
    gsize got_len;
    assert_true(g_file_get_contents(path, &got, &got_len, NULL));
    assert_int_equal(got_len, 8 + len);
    assert_memory_equal(got, "BASE!\0\0\0", 8);
    assert_memory_equal(got + 8, archive, len);
    char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)got, got_len);
    char *want = g_build_filename(cache, "initrd", sum, NULL);
    assert_string_equal(path, want);
    /* Nothing else left in the folder (no temporary file). */
    char *folder = g_build_filename(cache, "initrd", NULL);
    GDir *d = g_dir_open(folder, 0, NULL);
    assert_non_null(d);
    assert_string_equal(g_dir_read_name(d), sum);
    assert_null(g_dir_read_name(d));
    g_dir_close(d);
    /* Once there, it is reused as it is. */
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    char *again = NULL;
    assert_int_equal(qns_files_initrd(f, base, cache, &again, err), 0);
    assert_string_equal(again, path);
    assert_int_equal(stat(again, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    /* A missing default initramfs is named. */
    char *none = g_build_filename(dir, "none.cpio", NULL);
    char *never = NULL;
    assert_int_equal(qns_files_initrd(f, none, cache, &never, err), -1);
    char *msg = g_strdup_printf("cannot read the default initramfs '%s': No such file or directory",
                                none);
    assert_string_equal(err, msg);
    assert_null(never);
    g_free(msg);
    g_free(none);
    g_free(again);
    g_free(folder);
    g_free(want);
    g_free(sum);
    g_free(got);
    g_free(path);
    free(archive);
    qns_files_free(f);
    g_free(base);
    g_free(cache);
    remove_tree(dir);
    g_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_small_file_is_the_hand_computed_newc),
        cmocka_unit_test(entries_are_sorted_with_their_folders_and_modes),
        cmocka_unit_test(two_runs_give_the_same_bytes_whatever_times_and_modes),
        cmocka_unit_test(each_refusal_names_what_is_wrong),
        cmocka_unit_test(the_initrd_is_the_initramfs_padded_then_the_archive_by_its_sha256),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
