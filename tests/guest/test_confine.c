/* The confinement every QEMU qns starts runs under (qns_confine.h), shown
 * on the command lines qns builds: QEMU cannot create a host file, cannot
 * read a host file that is not one of its inputs, and runs without
 * capabilities as uid 65534 of a user namespace of its own, under seccomp.
 * Each check also runs unconfined (QNS_QEMU_UNCONFINED=1), where it comes
 * out the other way, so it can fail. Without bwrap on PATH qns refuses to
 * start a QEMU, in one line that names the package. The qemu-img that makes
 * a snapshot's disk overlay, which runs unconfined, is the installed QEMU's,
 * never one beside a QEMU the simulation was given (a package's); without
 * it, the guest is refused in one line. */
#define _GNU_SOURCE
#include "qns.h"
#include "qns_confine.h"
#include "qns_sync.h"
#include "test_support.h"

#include <glib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* A folder of its own under the current one, absolute. */
static char *fresh_dir(const char *tag)
{
    char *cwd = g_get_current_dir();
    char *d = g_strdup_printf("%s/confine-%s-%d", cwd, tag, getpid());
    g_free(cwd);
    assert_int_equal(g_mkdir_with_parents(d, 0755), 0);
    return d;
}

static void set_confined(int confined)
{
    if (confined) {
        assert_int_equal(unsetenv(QNS_CONFINE_OPT_OUT), 0);
    } else {
        assert_int_equal(setenv(QNS_CONFINE_OPT_OUT, "1", 1), 0);
    }
}

/* The command line qns runs the default guest with (booted cold), no NIC,
 * disk and extra_args as given (NULL: none); g_strfreev. */
static char **guest_argv(const char *disk, const char *const *extra)
{
    char err[QNS_ERRBUF_SIZE];
    qns_sim_config sc = {.quantum_us = 1000};
    qns_sim *sim = qns_sim_new(&sc, err);
    assert_non_null(sim);
    qns_guest_config g = {.name = "g", .disk = disk, .extra_args = extra, .boot = QNS_BOOT_COLD};
    if (qns_sim_add_guest(sim, &g, err) < 0) {
        fail_msg("add_guest: %s", err);
    }
    char **argv = g_strdupv((char **)qns_sim_guest_argv(sim, 0));
    qns_sim_free(sim);
    return argv;
}

/* QEMU started from argv as qns starts it, given `rounds` grants of 1 ms:
 * 0 when it took them all (it runs), -1 when it ended first. */
typedef struct started {
    qns_sync *s;
    char *console;
} started;

static int start(started *st, char **argv, const char *dir, int rounds)
{
    char err[QNS_ERRBUF_SIZE];
    int horizon = 0;
    for (char **a = argv; *a; a++) {
        horizon = horizon || strstr(*a, "horizon=on") != NULL;
    }
    st->console = g_strdup_printf("%s/g.console", dir);
    qns_sync_options o = {.watchdog_ms = 60000};
    st->s = qns_sync_new(&o, err);
    assert_non_null(st->s);
    qns_guest_spec spec = {.name = "g",
                           .argv = (const char *const *)argv,
                           .console_path = st->console,
                           .horizon = horizon};
    if (qns_sync_add_guest(st->s, &spec, err) < 0) {
        fail_msg("spawn: %s", err);
    }
    int32_t grant = 1000;
    for (int k = 0; k < rounds; k++) {
        if (qns_sync_round(st->s, &grant, err) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Stops it; its console's text (g_free), the file removed. */
static char *stop(started *st)
{
    char *text = NULL;
    qns_sync_free(st->s);
    assert_true(g_file_get_contents(st->console, &text, NULL, NULL));
    unlink(st->console);
    g_free(st->console);
    return text;
}

/* -pidfile makes QEMU create a host file at start: confined it cannot (the
 * folder is not there for it, and what it sees is not the host's) and
 * ends; unconfined the file appears. */
static void qemu_cannot_write_outside(void **state)
{
    (void)state;
    char *dir = fresh_dir("write");
    char *mark = g_strdup_printf("%s/written-by-qemu", dir);
    const char *extra[] = {"-pidfile", mark, NULL};
    for (int confined = 1; confined >= 0; confined--) {
        set_confined(confined);
        char **argv = guest_argv(NULL, extra);
        started st;
        assert_int_equal(start(&st, argv, dir, 20), confined ? -1 : 0);
        /* (QEMU removes its pid file when it ends: looked for while it runs.) */
        assert_int_equal(g_file_test(mark, G_FILE_TEST_EXISTS), !confined);
        char *console = stop(&st);
        if (confined) {
            assert_non_null(strstr(console, "cannot create PID file"));
        }
        unlink(mark);
        g_free(console);
        g_strfreev(argv);
    }
    set_confined(1);
    rmdir(dir);
    g_free(mark);
    g_free(dir);
}

/* An input (disk =) in the test's folder is readable; another file in the
 * same folder, which qns does not give QEMU, is not there for it. */
static void qemu_reads_only_its_inputs(void **state)
{
    (void)state;
    char *dir = fresh_dir("read");
    char *input = g_strdup_printf("%s/input.img", dir), *other = g_strdup_printf("%s/other", dir);
    char *drive = g_strdup_printf("file=%s,if=virtio,format=raw,readonly=on", other);
    char zeros[65536] = {0};
    assert_true(g_file_set_contents(input, zeros, sizeof(zeros), NULL));
    assert_true(g_file_set_contents(other, zeros, sizeof(zeros), NULL));
    const char *extra[] = {"-drive", drive, NULL};
    for (int confined = 1; confined >= 0; confined--) {
        set_confined(confined);
        started st;
        char **argv = guest_argv(input, NULL);
        assert_int_equal(start(&st, argv, dir, 20), 0); /* its input it reads */
        g_free(stop(&st));
        g_strfreev(argv);
        argv = guest_argv(input, extra);
        assert_int_equal(start(&st, argv, dir, 20), confined ? -1 : 0);
        char *console = stop(&st);
        if (confined) {
            char *want = g_strdup_printf("Could not open '%s': No such file or directory", other);
            assert_non_null(strstr(console, want));
            g_free(want);
        }
        g_free(console);
        g_strfreev(argv);
    }
    set_confined(1);
    unlink(input);
    unlink(other);
    rmdir(dir);
    g_free(drive);
    g_free(other);
    g_free(input);
    g_free(dir);
}

/* A field of /proc/PID/status ("CapEff:" ...), trimmed; g_free. */
static char *status_field(pid_t pid, const char *field)
{
    char *path = g_strdup_printf("/proc/%d/status", (int)pid), *text = NULL, *v = NULL;
    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    char *key = g_strdup_printf("\n%s:", field);
    const char *at = strstr(text, key);
    if (at) {
        at += strlen(key);
        v = g_strstrip(g_strndup(at, strcspn(at, "\n")));
    }
    g_free(key);
    g_free(text);
    g_free(path);
    assert_non_null(v);
    return v;
}

/* The first uid of /proc/PID/uid_map: the process's uid 0 .. inside its
 * user namespace (0 in the host's). */
static long first_mapped_uid(pid_t pid)
{
    char *path = g_strdup_printf("/proc/%d/uid_map", (int)pid), *text = NULL;
    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    long uid = strtol(text, NULL, 10);
    g_free(text);
    g_free(path);
    return uid;
}

static int same_namespace(pid_t pid, const char *ns)
{
    char *mine = g_strdup_printf("/proc/self/ns/%s", ns);
    char *its = g_strdup_printf("/proc/%d/ns/%s", (int)pid, ns);
    char *a = g_file_read_link(mine, NULL), *b = g_file_read_link(its, NULL);
    assert_non_null(a);
    assert_non_null(b);
    int same = strcmp(a, b) == 0;
    g_free(a);
    g_free(b);
    g_free(its);
    g_free(mine);
    return same;
}

/* Whether the process sees a /dev/tty (its session's terminal, where a
 * TIOCSTI would push input), as its root shows it. */
static int has_tty(pid_t pid)
{
    /* procfs's link to the process's root folder, then its dev/tty */
    char *proc = g_strdup_printf("/proc/%d", (int)pid);
    char *tty = g_build_filename(proc, "root", "dev", "tty", NULL);
    g_free(proc);
    int has = g_file_test(tty, G_FILE_TEST_EXISTS);
    g_free(tty);
    return has;
}

/* The running QEMU, seen from the host: no capability at all, none to
 * gain, seccomp on, uid 65534 of a user namespace of its own, no network
 * of the host's and no terminal. Unconfined under root it holds root's. */
static void qemu_runs_without_privileges(void **state)
{
    (void)state;
    char *dir = fresh_dir("privileges");
    for (int confined = 1; confined >= 0; confined--) {
        set_confined(confined);
        char **argv = guest_argv(NULL, NULL);
        started st;
        assert_int_equal(start(&st, argv, dir, 20), 0);
        pid_t pid = qns_guest_pid(qns_sync_guest(st.s, 0));
        char *eff = status_field(pid, "CapEff"), *prm = status_field(pid, "CapPrm");
        char *bnd = status_field(pid, "CapBnd"), *nnp = status_field(pid, "NoNewPrivs");
        char *seccomp = status_field(pid, "Seccomp");
        assert_string_equal(seccomp, "2");
        if (confined) {
            assert_string_equal(eff, "0000000000000000");
            assert_string_equal(prm, "0000000000000000");
            assert_string_equal(bnd, "0000000000000000");
            assert_string_equal(nnp, "1");
            assert_int_equal(first_mapped_uid(pid), 65534);
            assert_false(same_namespace(pid, "user"));
            assert_false(same_namespace(pid, "net"));
            assert_false(same_namespace(pid, "mnt"));
            assert_false(has_tty(pid));
        } else {
            assert_true(same_namespace(pid, "user"));
            assert_true(same_namespace(pid, "net"));
            assert_int_equal(has_tty(pid), g_file_test("/dev/tty", G_FILE_TEST_EXISTS));
            if (geteuid() == 0) {
                assert_string_not_equal(eff, "0000000000000000");
            }
        }
        g_free(seccomp);
        g_free(nnp);
        g_free(bnd);
        g_free(prm);
        g_free(eff);
        g_free(stop(&st));
        g_strfreev(argv);
    }
    set_confined(1);
    rmdir(dir);
    g_free(dir);
}

/* No bwrap on PATH: no QEMU starts, and the one-line reason names the
 * package and the way out; opted out, QEMU runs without it. A program (the
 * user's own, not QEMU) runs as it is. */
static void without_bwrap_qemu_is_refused(void **state)
{
    (void)state;
    char *dir = fresh_dir("nobwrap");
    char *path = g_strdup(getenv("PATH"));
    assert_int_equal(setenv("PATH", dir, 1), 0);
    char err[QNS_ERRBUF_SIZE];
    qns_sim_config sc = {.quantum_us = 1000};
    qns_sim *sim = qns_sim_new(&sc, err);
    qns_guest_config g = {.name = "g"};
    assert_int_equal(qns_sim_add_guest(sim, &g, err), -1);
    assert_string_equal(err, "guest g: QEMU runs confined by bwrap, which is not on PATH: install "
                             "the package bubblewrap, or set QNS_QEMU_UNCONFINED=1 to run QEMU "
                             "unconfined");
    const char *program[] = {"/bin/true", NULL};
    qns_guest_config p = {.name = "p", .program = program};
    assert_int_equal(qns_sim_add_guest(sim, &p, err), 0);
    assert_string_equal(qns_sim_guest_argv(sim, 0)[0], "/bin/true");
    set_confined(0);
    assert_int_equal(qns_sim_add_guest(sim, &g, err), 1);
    assert_null(strstr(qns_sim_guest_argv(sim, 1)[0], "bwrap"));
    set_confined(1);
    qns_sim_free(sim);
    assert_int_equal(setenv("PATH", path, 1), 0);
    rmdir(dir);
    g_free(path);
    g_free(dir);
}

/* An image with a root disk (the default guest's files, its GUEST-INFO
 * naming disk.img too) restored from a snapshot, with QEMU given as a
 * folder's qemu-system-x86_64 beside a qemu-img that leaves a mark: the
 * snapshot is made with its overlay, by the installed qemu-img; the mark
 * is never left. */
static void a_given_qemus_qemu_img_never_runs(void **state)
{
    (void)state;
    set_confined(0);
    char *dir = fresh_dir("qemu-img");
    char *img = g_build_filename(dir, "img", NULL), *q = g_build_filename(dir, "q", NULL);
    char *cache = g_build_filename(dir, "cache", NULL), *mark = g_build_filename(dir, "MARK", NULL);
    assert_int_equal(g_mkdir_with_parents(img, 0755), 0);
    assert_int_equal(g_mkdir_with_parents(q, 0755), 0);
    const char *guest = qns_default_guest_dir();
    gchar *info = NULL;
    char *from = g_build_filename(guest, "GUEST-INFO", NULL);
    assert_true(g_file_get_contents(from, &info, NULL, NULL));
    gchar **parts = g_strsplit(info, "[guest]\n", 2); /* disk= goes under [guest] */
    assert_non_null(parts[1]);
    char *with_disk = g_strconcat(parts[0], "[guest]\ndisk=disk.img\n", parts[1], NULL);
    g_strfreev(parts);
    char *to = g_build_filename(img, "GUEST-INFO", NULL);
    assert_true(g_file_set_contents(to, with_disk, -1, NULL));
    const char *names[] = {"vmlinux", "initramfs.cpio"};
    for (size_t i = 0; i < 2; i++) {
        char *a = g_build_filename(guest, names[i], NULL), *b = g_build_filename(img, names[i], NULL);
        assert_int_equal(symlink(a, b), 0);
        g_free(a);
        g_free(b);
    }
    char *disk = g_build_filename(img, "disk.img", NULL);
    char *zeros = g_malloc0(1 << 20);
    assert_true(g_file_set_contents(disk, zeros, 1 << 20, NULL));
    g_free(zeros);
    char *qemu = g_build_filename(q, "qemu-system-x86_64", NULL);
    assert_int_equal(symlink(qns_default_qemu(), qemu), 0);
    char *fake = g_build_filename(q, "qemu-img", NULL);
    char *script = g_strdup_printf("#!/bin/sh\ntouch '%s'\nexit 1\n", mark);
    assert_true(g_file_set_contents(fake, script, -1, NULL));
    assert_int_equal(chmod(fake, 0755), 0);
    assert_int_equal(setenv("QNS_CACHE_DIR", cache, 1), 0);
    char err[QNS_ERRBUF_SIZE];
    qns_sim_config sc = {.quantum_us = 1000, .qemu = qemu, .guest_dir = img};
    qns_sim *sim = qns_sim_new(&sc, err);
    assert_non_null(sim);
    qns_guest_config g = {.name = "g", .boot = QNS_BOOT_SNAPSHOT};
    if (qns_sim_add_guest(sim, &g, err) < 0) {
        fail_msg("add_guest: %s", err);
    }
    qns_sim_free(sim);
    assert_int_equal(unsetenv("QNS_CACHE_DIR"), 0);
    assert_false(g_file_test(mark, G_FILE_TEST_EXISTS));
    /* The one snapshot made (beside config/ and its lock) has the overlay. */
    char *root = g_build_filename(cache, "snapshot", NULL);
    GDir *d = g_dir_open(root, 0, NULL);
    assert_non_null(d);
    int overlays = 0;
    for (const char *n = g_dir_read_name(d); n; n = g_dir_read_name(d)) {
        char *overlay = g_strdup_printf("%s/%s/disk.qcow2", root, n);
        overlays += strlen(n) == 64 && g_file_test(overlay, G_FILE_TEST_IS_REGULAR);
        g_free(overlay);
    }
    g_dir_close(d);
    assert_int_equal(overlays, 1);
    /* An installed QEMU (QNS_QEMU) without its qemu-img: one line, before
     * any QEMU starts, and nothing half-made in the cache. */
    char *bare = g_build_filename(dir, "bare", NULL);
    char *bare_qemu = g_build_filename(bare, "qemu-system-x86_64", NULL);
    char *cache2 = g_build_filename(dir, "cache2", NULL);
    assert_int_equal(g_mkdir_with_parents(bare, 0755), 0);
    assert_int_equal(symlink(qns_default_qemu(), bare_qemu), 0);
    assert_int_equal(setenv("QNS_QEMU", bare_qemu, 1), 0);
    assert_int_equal(setenv("QNS_CACHE_DIR", cache2, 1), 0);
    sc.qemu = NULL;
    sim = qns_sim_new(&sc, err);
    assert_non_null(sim);
    assert_int_equal(qns_sim_add_guest(sim, &g, err), -1);
    char *want = g_strdup_printf("guest g: no qemu-img beside %s (it makes the snapshot's disk "
                                 "overlay)",
                                 bare_qemu);
    assert_string_equal(err, want);
    qns_sim_free(sim);
    assert_int_equal(unsetenv("QNS_QEMU"), 0);
    assert_int_equal(unsetenv("QNS_CACHE_DIR"), 0);
    assert_int_equal(ts_child_count(), 0);
    char *root2 = g_build_filename(cache2, "snapshot", NULL);
    d = g_dir_open(root2, 0, NULL);
    for (const char *n = d ? g_dir_read_name(d) : NULL; n; n = g_dir_read_name(d)) {
        if (g_str_has_prefix(n, ".make-")) {
            fail_msg("%s/%s was left behind", root2, n);
        }
    }
    if (d) {
        g_dir_close(d);
    }
    g_free(root2);
    g_free(want);
    g_free(cache2);
    g_free(bare_qemu);
    g_free(bare);
    set_confined(1);
    g_free(root);
    g_free(script);
    g_free(fake);
    g_free(qemu);
    g_free(disk);
    g_free(to);
    g_free(with_disk);
    g_free(from);
    g_free(info);
    g_free(mark);
    g_free(cache);
    g_free(q);
    g_free(img);
    g_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(qemu_cannot_write_outside),
        cmocka_unit_test(qemu_reads_only_its_inputs),
        cmocka_unit_test(qemu_runs_without_privileges),
        cmocka_unit_test(without_bwrap_qemu_is_refused),
        cmocka_unit_test(a_given_qemus_qemu_img_never_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
