/* boot = snapshot end to end, the way users meet it: separate `qns run` and
 * `qns verify` processes, each with a qns cache of its own.
 *
 * Two default guests on a LAN, restored from one snapshot (their machines
 * are the same): h1 prints its name, MAC and address, which only the
 * configuration disk delivered, and pings h2. Its command prints the same
 * lines as after a cold boot. `qns verify` of the results, beside a CPU hog
 * and with an empty cache, boots the snapshot again and gives every output
 * file byte for byte, and the snapshot it made is the same bytes as the
 * first. A guest with other memory gets another snapshot (qns snapshot
 * list shows both); a setting a
 * snapshot cannot carry, a configuration larger than its disk and a boot
 * that fails are each refused with a line that says so. Without a boot
 * key guests are restored, and verify boots each guest as its manifest
 * says (cold when it says nothing, as manifests from before snapshots). A
 * restored guest's first read of /dev/urandom returns at once (a cold one's
 * spins for about a second of virtual time); guests restored from one
 * snapshot draw the same first random bytes, and other ones after a reseed. */
#define _GNU_SOURCE
#include "test_spawn.h"
#include "test_support.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef QNS_BIN
#error "QNS_BIN must name the qns runner"
#endif

/* What h1's command prints, cold or restored. */
static const char expected_output[] = "h1\n"
                                      "02:00:00:00:01:01\n"
                                      "inet 10.0.0.1/24\n"
                                      "2 packets transmitted, 2 packets received, 0% packet loss\n";

static const char h1_command[] = "hostname; cat /sys/class/net/eth0/address; "
                                 "ip addr show eth0 | grep -o 'inet [0-9./]*'; "
                                 "ping -c 2 -i 0.2 10.0.0.2 | grep -o '2 packets.*loss'";

/* h1 boots as h1_boot with h1_extra and h1_command, unless h1_extra has a
 * command of its own. */
static char *scenario(const char *tag, const char *h1_boot, const char *h1_extra)
{
    char *path = g_strdup_printf("snap-%s-%d.ini", tag, getpid());
    char *text = g_strdup_printf(
        "[scenario]\nname = snap\nduration = 30s\nquantum = 100us\nseed = 1\n\n"
        "[guest h1]\nboot = %s\n%s\nends_run = true\nnic0.ip = 10.0.0.1/24\n"
        "nic0.mac = 02:00:00:00:01:01\n%s%s\n\n"
        "[guest h2]\nboot = snapshot\nnic0.ip = 10.0.0.2/24\n\n"
        "[link lan]\ntype = csma\ndelay = 50us\ncapture = true\nmembers = h1, h2\n",
        h1_boot, h1_extra, g_str_has_prefix(h1_extra, "command") ? "" : "command = ",
        g_str_has_prefix(h1_extra, "command") ? "" : h1_command);
    assert_true(g_file_set_contents(path, text, -1, NULL));
    g_free(text);
    return path;
}

/* Runs qns with QNS_CACHE_DIR=cache; its exit status, stdout+stderr in *out. */
static int qns(const char *cache, int load, char **out, const char *a1, const char *a2,
               const char *a3, const char *a4)
{
    const char *argv[] = {QNS_BIN, a1, a2, a3, a4, NULL};
    char **env = g_environ_setenv(g_get_environ(), "QNS_CACHE_DIR", cache, TRUE);
    gchar *o = NULL, *e = NULL;
    int ws;
    GError *ge = NULL;
    pid_t burner = load ? ts_start_cpu_burner() : -1;
    gboolean ok = g_spawn_sync(NULL, (char **)argv, env, 0, NULL, NULL, &o, &e, &ws, &ge);
    ts_stop_cpu_burner(burner);
    g_strfreev(env);
    if (!ok) {
        fail_msg("cannot run %s: %s", QNS_BIN, ge->message);
    }
    *out = g_strconcat(o, e, NULL);
    g_free(o);
    g_free(e);
    assert_int_equal(ts_child_count(), 0);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static void run_ok(const char *cache, int load, const char *a1, const char *a2, const char *a3,
                   const char *a4)
{
    char *out = NULL;
    int st = qns(cache, load, &out, a1, a2, a3, a4);
    if (st != 0) {
        fail_msg("qns %s %s: exit %d:\n%s", a1, a2, st, out);
    }
    g_free(out);
}

/* The lines between QNS-CMD-BEGIN and QNS-CMD-END of a console (whose
 * lines end in CR LF, as a serial line's do), ending in LF. */
static char *command_output(const char *console)
{
    char *text = NULL;
    assert_true(g_file_get_contents(console, &text, NULL, NULL));
    char *w = text;
    for (const char *r = text; *r; r++) {
        if (*r != '\r') {
            *w++ = *r;
        }
    }
    *w = '\0';
    char *b = strstr(text, "QNS-CMD-BEGIN\n"), *e = b ? strstr(b, "QNS-CMD-END status=0") : NULL;
    assert_non_null(b);
    assert_non_null(e);
    b += strlen("QNS-CMD-BEGIN\n");
    char *r = g_strndup(b, (size_t)(e - b));
    g_free(text);
    return r;
}

/* The value of `"member" : "value"` in the manifest's index-th guest. */
static char *manifest_guest(const char *dir, int index, const char *member)
{
    char *path = g_build_filename(dir, "manifest.json", NULL), *text = NULL;
    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    char *g = strstr(text, "\"guests\"");
    assert_non_null(g);
    for (int i = 0; i <= index; i++) {
        g = strstr(g + 1, "\"name\"");
        assert_non_null(g);
    }
    char *key = g_strdup_printf("\"%s\" : \"", member);
    char *next = strstr(g + 1, "\"name\""); /* the next guest's, or a link's */
    if (next != NULL) {
        *next = '\0';
    }
    char *m = strstr(g, key);
    char *r = NULL;
    if (m != NULL) {
        m += strlen(key);
        r = g_strndup(m, strcspn(m, "\""));
    }
    g_free(key);
    g_free(text);
    g_free(path);
    return r;
}

static char *cache_a, *cache_b, *key;

/* cp -r from to */
static void copy_folder(const char *from, const char *to)
{
    const char *cp[] = {"cp", "-r", from, to, NULL};
    char *said = NULL;
    ts_run_ok(cp, &said);
    g_free(said);
}

static int setup(void **state)
{
    (void)state;
    cache_a = g_strdup_printf("%s/snap-cache-a-%d", g_get_current_dir(), getpid());
    cache_b = g_strdup_printf("%s/snap-cache-b-%d", g_get_current_dir(), getpid());
    return 0;
}

static void restored_guests_do_what_cold_booted_ones_do(void **state)
{
    (void)state;
    char *cold = scenario("cold", "cold", ""), *snap = scenario("snap", "snapshot", "");
    char *cold_dir = g_strdup_printf("snap-out-cold-%d", getpid());
    char *snap_dir = g_strdup_printf("snap-out-snap-%d", getpid());
    /* h2 is restored in both: the first run makes the snapshot, and says so
     * once (the two guests' machines are one); the second only restores. */
    char *said[2] = {NULL, NULL};
    assert_int_equal(qns(cache_a, 0, &said[0], "run", cold, "-o", cold_dir), 0);
    assert_int_equal(qns(cache_a, 0, &said[1], "run", snap, "-o", snap_dir), 0);
    const char *booting = "booting its machine once for snapshot ";
    char *first = strstr(said[0], booting);
    if (first == NULL || strstr(first + 1, booting) != NULL ||
        strstr(said[0], "qns: guest h2: booting its machine once for snapshot ") == NULL ||
        strstr(said[1], booting) != NULL) {
        fail_msg("the snapshot's boot should be said once, by the first run:\n%s\n--\n%s",
                 said[0], said[1]);
    }
    g_free(said[0]);
    g_free(said[1]);
    char *c1 = g_build_filename(cold_dir, "h1.console", NULL);
    char *c2 = g_build_filename(snap_dir, "h1.console", NULL);
    char *o1 = command_output(c1), *o2 = command_output(c2);
    assert_string_equal(o1, expected_output);
    assert_string_equal(o2, expected_output);
    char *b1 = manifest_guest(cold_dir, 0, "boot"), *b2 = manifest_guest(snap_dir, 0, "boot");
    assert_string_equal(b1, "cold");
    assert_string_equal(b2, "snapshot");
    assert_null(manifest_guest(cold_dir, 0, "snapshot"));
    /* One machine, one snapshot: both guests are restored from it. */
    key = manifest_guest(snap_dir, 0, "snapshot");
    char *key2 = manifest_guest(snap_dir, 1, "snapshot");
    assert_non_null(key);
    assert_int_equal(strlen(key), 64);
    assert_string_equal(key, key2);
    char *inputs = g_strdup_printf("%s/snapshot/%s/INPUTS", cache_a, key);
    assert_true(g_file_test(inputs, G_FILE_TEST_IS_REGULAR));
    g_free(inputs);
    g_free(key2);
    g_free(b1);
    g_free(b2);
    g_free(o1);
    g_free(o2);
    g_free(c1);
    g_free(c2);
    g_free(cold_dir);
    g_free(cold);
    g_free(snap);
    g_free(snap_dir);
}

/* The virtual seconds h1's first read of /dev/urandom took, booted as boot
 * (from cache_a's snapshot when restored). */
static double first_urandom_read_s(const char *boot)
{
    char *ini = scenario(boot, boot,
                         "command = read a _ </proc/uptime; head -c 16 /dev/urandom | wc -c; "
                         "read b _ </proc/uptime; awk -v a=$a -v b=$b 'BEGIN { print b - a }'");
    char *dir = g_strdup_printf("snap-out-urandom-%s-%d", boot, getpid());
    run_ok(cache_a, 0, "run", ini, "-o", dir);
    char *console = g_build_filename(dir, "h1.console", NULL), *o = command_output(console);
    double took = -1;
    if (sscanf(o, "16\n%lf\n", &took) != 1) {
        fail_msg("h1 booted %s printed: %s", boot, o);
    }
    g_free(o);
    g_free(console);
    g_free(dir);
    g_free(ini);
    return took;
}

/* A guest restored from a snapshot has a ready random number generator: its
 * first read of /dev/urandom returns at once, where a cold-booted guest's
 * makes the kernel gather entropy from timer ticks for about a second. */
static void a_restored_guest_reads_urandom_at_once(void **state)
{
    (void)state;
    double cold = first_urandom_read_s("cold"), restored = first_urandom_read_s("snapshot");
    printf("first read of /dev/urandom: %.2f s cold, %.2f s restored (virtual)\n", cold, restored);
    assert_true(cold >= 0.9);
    assert_true(restored >= 0 && restored < 0.05);
}

/* Guests restored from one snapshot start from one generator state: their
 * first random bytes are the same; once the kernel reseeds (about a second
 * later), they are not. */
static void restored_guests_draw_apart_after_a_reseed(void **state)
{
    (void)state;
    static const char draw[] = "head -c 8 /dev/urandom | od -An -tx1; sleep 2; "
                               "head -c 8 /dev/urandom | od -An -tx1";
    char *ini = g_strdup_printf("draw-%d.ini", getpid());
    char *text = g_strdup_printf(
        "[scenario]\nname = draw\nduration = 30s\nquantum = 100us\nseed = 1\n\n"
        "[guest h1]\nboot = snapshot\ncommand = %s\nends_run = true\nnic0.ip = 10.0.0.1/24\n"
        "nic0.mac = 02:00:00:00:01:01\n\n"
        "[guest h2]\nboot = snapshot\ncommand = %s\nnic0.ip = 10.0.0.2/24\n\n"
        "[link lan]\ntype = csma\ndelay = 50us\nmembers = h1, h2\n",
        draw, draw);
    assert_true(g_file_set_contents(ini, text, -1, NULL));
    char *dir = g_strdup_printf("snap-out-draw-%d", getpid());
    run_ok(cache_a, 0, "run", ini, "-o", dir);
    char *c1 = g_build_filename(dir, "h1.console", NULL), *c2 = g_build_filename(dir, "h2.console", NULL);
    char *o1 = command_output(c1), *o2 = command_output(c2);
    char **l1 = g_strsplit(o1, "\n", -1), **l2 = g_strsplit(o2, "\n", -1);
    if (g_strv_length(l1) != 3 || g_strv_length(l2) != 3 || strlen(l1[0]) != 24) {
        fail_msg("h1 printed:\n%s\nh2 printed:\n%s", o1, o2);
    }
    printf("h1 drew %s then %s; h2 %s then %s\n", l1[0], l1[1], l2[0], l2[1]);
    assert_string_equal(l1[0], l2[0]);
    assert_string_not_equal(l1[1], l2[1]);
    g_strfreev(l1);
    g_strfreev(l2);
    g_free(o1);
    g_free(o2);
    g_free(c1);
    g_free(c2);
    g_free(dir);
    g_free(text);
    g_free(ini);
}

static void verify_on_an_empty_cache_makes_the_same_snapshot(void **state)
{
    (void)state;
    assert_non_null(key);
    char *snap_dir = g_strdup_printf("snap-out-snap-%d", getpid());
    run_ok(cache_b, 1, "verify", snap_dir, NULL, NULL);
    const char *files[] = {"stream", "ram", "console", "INPUTS"};
    char *da = g_strdup_printf("%s/snapshot/%s", cache_a, key);
    char *db = g_strdup_printf("%s/snapshot/%s", cache_b, key);
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        char *a = g_build_filename(da, files[i], NULL), *b = g_build_filename(db, files[i], NULL);
        if (!ts_same_bytes(a, b)) {
            fail_msg("snapshot file %s differs between two boots", files[i]);
        }
        g_free(a);
        g_free(b);
    }
    g_free(da);
    g_free(db);
    g_free(snap_dir);
}

/* qns pack carries the snapshot; verify of the package on an empty cache
 * restores from it and boots nothing. */
static void a_package_verifies_from_its_snapshot_without_booting(void **state)
{
    (void)state;
    assert_non_null(key);
    char *snap_dir = g_strdup_printf("snap-out-snap-%d", getpid());
    char *packed = g_strdup_printf("%s.tar.zst", snap_dir);
    char *elsewhere = g_strdup_printf("snap-elsewhere-%d", getpid());
    char *archive = g_build_filename(elsewhere, packed, NULL);
    char *cache_c = g_strdup_printf("%s/snap-cache-c-%d", g_get_current_dir(), getpid());
    run_ok(cache_a, 0, "pack", snap_dir, NULL, NULL);
    assert_int_equal(g_mkdir_with_parents(elsewhere, 0755), 0);
    assert_int_equal(rename(packed, archive), 0);
    char *out = NULL;
    int st = qns(cache_c, 0, &out, "verify", archive, NULL, NULL);
    if (st != 0 || strstr(out, "verify: restoring from the packed snapshots") == NULL) {
        fail_msg("exit %d:\n%s", st, out);
    }
    char *made = g_strdup_printf("%s/snapshot/%s", cache_c, key);
    assert_false(g_file_test(made, G_FILE_TEST_EXISTS));
    g_free(made);
    g_free(out);
    g_free(cache_c);
    g_free(archive);
    g_free(elsewhere);
    g_free(packed);
    g_free(snap_dir);
}

/* A results folder that carries a snapshot whose stream is not the one its
 * manifest names: verify refuses it before QEMU reads a byte of it. */
static void a_snapshot_that_is_not_the_manifests_is_refused(void **state)
{
    (void)state;
    assert_non_null(key);
    char *snap_dir = g_strdup_printf("snap-out-snap-%d", getpid());
    char *hostile = g_strdup_printf("snap-hostile-%d", getpid());
    copy_folder(snap_dir, hostile);
    char *folder = g_strdup_printf("%s/snapshot/%s", hostile, key);
    assert_int_equal(g_mkdir_with_parents(folder, 0755), 0);
    const char *names[] = {"INPUTS", "ram"};
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        char *from = g_strdup_printf("%s/snapshot/%s/%s", cache_a, key, names[i]);
        const char *ln[] = {"ln", "-s", from, folder, NULL};
        char *said = NULL;
        ts_run_ok(ln, &said);
        g_free(said);
        g_free(from);
    }
    char *stream = g_build_filename(folder, "stream", NULL);
    assert_true(g_file_set_contents(stream, "QEVM not the snapshot", -1, NULL));
    char *out = NULL;
    int st = qns(cache_a, 0, &out, "verify", hostile, NULL, NULL);
    if (st == 0 || strstr(out, "refusing to run: ") == NULL || strstr(out, "/stream has SHA-256 ") == NULL ||
        strstr(out, "the manifest says") == NULL) {
        fail_msg("exit %d:\n%s", st, out);
    }
    g_free(out);
    /* The right stream, and a disk overlay the manifest does not name (the
     * default guest has no root disk): refused too. */
    g_unlink(stream);
    char *real = g_strdup_printf("%s/snapshot/%s/stream", cache_a, key);
    assert_int_equal(symlink(real, stream), 0);
    g_free(real);
    char *disk = g_build_filename(folder, "disk.qcow2", NULL);
    assert_true(g_file_set_contents(disk, "QFI\xfb not named", -1, NULL));
    out = NULL;
    st = qns(cache_a, 0, &out, "verify", hostile, NULL, NULL);
    char *line = g_strdup_printf("%s is in the package, but the manifest names no "
                                 "snapshot_disk_sha256 for it", disk);
    if (st == 0 || strstr(out, line) == NULL) {
        fail_msg("exit %d, wanted \"%s\" in:\n%s", st, line, out);
    }
    g_free(line);
    g_free(disk);
    g_free(out);
    g_free(stream);
    g_free(folder);
    g_free(hostile);
    g_free(snap_dir);
}

/* A manifest (a stranger's) whose snapshot key is a path out of the cache
 * and the package: verify and pack refuse it before they read a file
 * there, and pack writes no archive. */
static void a_snapshot_key_that_is_a_path_is_refused(void **state)
{
    (void)state;
    assert_non_null(key);
    char *snap_dir = g_strdup_printf("snap-out-snap-%d", getpid());
    char *hostile = g_strdup_printf("snap-hostile-key-%d", getpid());
    copy_folder(snap_dir, hostile);
    char *manifest = g_build_filename(hostile, "manifest.json", NULL), *text = NULL;
    assert_true(g_file_get_contents(manifest, &text, NULL, NULL));
    char *quoted = g_strdup_printf("\"%s\"", key);
    char *at = strstr(text, quoted);
    assert_non_null(at);
    *at = '\0';
    char *bad = g_strdup_printf("%s\"../../../../../../tmp/qns-escape\"%s", text,
                                at + strlen(quoted));
    assert_true(g_file_set_contents(manifest, bad, -1, NULL));
    const char *cmds[] = {"verify", "pack"};
    for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) {
        char *out = NULL;
        int st = qns(cache_a, 0, &out, cmds[i], hostile, NULL, NULL);
        if (st == 0 || strstr(out, "the manifest's guest 0 has snapshot '../../../../../../tmp/"
                                   "qns-escape', which is no key") == NULL) {
            fail_msg("qns %s: exit %d:\n%s", cmds[i], st, out);
        }
        g_free(out);
    }
    char *archive = g_strdup_printf("%s.tar.zst", hostile);
    assert_false(g_file_test(archive, G_FILE_TEST_EXISTS));
    g_free(archive);
    g_free(bad);
    g_free(quoted);
    g_free(text);
    g_free(manifest);
    g_free(hostile);
    g_free(snap_dir);
}

static void other_memory_is_another_snapshot(void **state)
{
    (void)state;
    assert_non_null(key);
    char *sc = scenario("mem", "snapshot", "memory = 192");
    char *dir = g_strdup_printf("snap-out-mem-%d", getpid());
    run_ok(cache_a, 0, "run", sc, "-o", dir);
    char *k1 = manifest_guest(dir, 0, "snapshot"), *k2 = manifest_guest(dir, 1, "snapshot");
    assert_non_null(k1);
    assert_string_equal(k2, key);
    assert_string_not_equal(k1, key);
    char *path = g_strdup_printf("%s/snapshot/%s/INPUTS", cache_a, k1), *text = NULL;
    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    assert_non_null(strstr(text, "\nword 192M\n"));
    char *c = g_build_filename(dir, "h1.console", NULL), *o = command_output(c);
    assert_string_equal(o, expected_output);
    g_free(o);
    /* qns snapshot list shows both, with their machines. */
    char *list = NULL;
    assert_int_equal(qns(cache_a, 0, &list, "snapshot", "list", NULL, NULL), 0);
    char *l1 = g_strdup_printf("%s  ", key), *l2 = g_strdup_printf("%s  ", k1);
    if (!strstr(list, l1) || !strstr(list, l2) || !strstr(list, "  256M, 1 NIC (virtio-net-pci)\n") ||
        !strstr(list, "  192M, 1 NIC (virtio-net-pci)\n")) {
        fail_msg("qns snapshot list:\n%s", list);
    }
    g_free(l1);
    g_free(l2);
    g_free(list);
    g_free(c);
    g_free(text);
    g_free(path);
    g_free(k1);
    g_free(k2);
    g_free(dir);
    g_free(sc);
}

/* qns run of a scenario whose h1 has `extra`: exit 1 and `line` on stderr. */
static void refused(const char *tag, const char *extra, const char *line)
{
    char *sc = scenario(tag, "snapshot", extra);
    char *dir = g_strdup_printf("snap-out-%s-%d", tag, getpid());
    char *out = NULL;
    int st = qns(cache_a, 0, &out, "run", sc, "-o", dir);
    if (st == 0 || strstr(out, line) == NULL) {
        fail_msg("exit %d, wanted \"%s\" in:\n%s", st, line, out);
    }
    g_free(out);
    g_free(dir);
    g_free(sc);
}

static void what_a_snapshot_cannot_do_is_refused(void **state)
{
    (void)state;
    refused("kernel", "append = console=ttyS0",
            "guest h1: boot = snapshot: it takes an image's kernel, initrd and command line; use "
            "boot = cold");
    /* A 60000-byte command is 80000 bytes of base64. */
    char *big = g_strdup_printf("command = echo %0*d", 60000 - 5, 0);
    /* A guest's own disk (an image's root disk is carried as an overlay). */
    assert_true(g_file_set_contents("snap-own-disk.img", "not in a snapshot", -1, NULL));
    refused("disk", "disk = snap-own-disk.img",
            "guest h1: boot = snapshot: a guest's own disk is not in a snapshot (an image's root "
            "disk is); use boot = cold");
    refused("big", big, "bytes, more than 65536 (the configuration disk)");
    refused("big", big, "guest h1: its configuration is 80");
    g_free(big);
    /* The boot itself fails: QEMU refuses the machine (16 MiB is too little
     * for the initrd), or the kernel ends before /init runs (24 MiB). */
    refused("qemu", "memory = 16",
            "guest h1: boot for its snapshot: QEMU exited with status 1 (console: qemu: initrd "
            "is too large");
    refused("ends", "memory = 24",
            "guest h1: boot for its snapshot: QEMU stopped short of its grant (the guest ended)");
    /* A qns.* word is configuration: the restored guest's /init refuses it. */
    refused("bogus", "kernel_args = qns.bogus=1",
            "QNS-GUEST: error: unknown parameter 'qns.bogus'");
    /* Nothing half-made is left in the cache. */
    char *root = g_strdup_printf("%s/snapshot", cache_a);
    GDir *d = g_dir_open(root, 0, NULL);
    assert_non_null(d);
    for (const char *n = g_dir_read_name(d); n; n = g_dir_read_name(d)) {
        if (g_str_has_prefix(n, ".make-")) {
            fail_msg("%s/%s was left behind", root, n);
        }
    }
    g_dir_close(d);
    g_free(root);
    char *sc = scenario("word", "warm", ""), *out = NULL;
    assert_int_not_equal(qns(cache_a, 0, &out, "run", sc, "-o", "snap-out-word"), 0);
    assert_non_null(strstr(out, "boot: 'warm' is not auto, cold or snapshot"));
    g_free(out);
    g_free(sc);
}

/* The manifest of folder dir without its guests' boot members (as qns
 * wrote them before snapshots): `members` lines. */
static void forget_boots(const char *dir, int members)
{
    char *path = g_build_filename(dir, "manifest.json", NULL), *text = NULL;
    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    gchar **lines = g_strsplit(text, "\n", -1);
    GString *kept = g_string_new(NULL);
    int dropped = 0;
    for (gchar **l = lines; *l; l++) {
        const char *t = *l + strspn(*l, " ");
        if (g_str_has_prefix(t, "\"boot\" :") || g_str_has_prefix(t, "\"snapshot")) {
            dropped++;
            continue;
        }
        g_string_append_printf(kept, "%s%s", kept->len ? "\n" : "", *l);
    }
    assert_int_equal(dropped, members);
    assert_true(g_file_set_contents(path, kept->str, -1, NULL));
    g_string_free(kept, TRUE);
    g_strfreev(lines);
    g_free(text);
    g_free(path);
}

/* boot = auto, the default, restores both guests; verify boots each guest as
 * its manifest says: one whose manifest names no boot (qns's before
 * snapshots) is booted cold, so the restored run's outputs differ, while
 * a cold run's folder with such a manifest verifies. */
static void verify_boots_each_guest_as_its_manifest_says(void **state)
{
    (void)state;
    char *ini = g_strdup_printf("snap-auto-%d.ini", getpid());
    char *text = g_strdup_printf(
        "[scenario]\nname = snap\nduration = 30s\nquantum = 100us\nseed = 1\n\n"
        "[guest h1]\nends_run = true\nnic0.ip = 10.0.0.1/24\nnic0.mac = 02:00:00:00:01:01\n"
        "command = %s\n\n[guest h2]\nnic0.ip = 10.0.0.2/24\n\n"
        "[link lan]\ntype = csma\ndelay = 50us\ncapture = true\nmembers = h1, h2\n",
        h1_command);
    assert_true(g_file_set_contents(ini, text, -1, NULL));
    char *dir = g_strdup_printf("snap-out-auto-%d", getpid());
    run_ok(cache_a, 0, "run", ini, "-o", dir);
    for (int i = 0; i < 2; i++) {
        char *b = manifest_guest(dir, i, "boot");
        assert_string_equal(b, "snapshot");
        g_free(b);
    }
    char *old = g_strdup_printf("%s-old", dir), *cold = g_strdup_printf("%s-cold", dir);
    copy_folder(dir, old);
    forget_boots(old, 8); /* two guests: boot, snapshot and its two hashes */
    char *out = NULL;
    int st = qns(cache_a, 0, &out, "verify", old, "-o", cold);
    if (st == 0 || strstr(out, "h1.console") == NULL) {
        fail_msg("a restored run verified cold: exit %d:\n%s", st, out);
    }
    g_free(out);
    for (int i = 0; i < 2; i++) {
        char *b = manifest_guest(cold, i, "boot");
        assert_string_equal(b, "cold");
        g_free(b);
    }
    /* The same experiment either way. */
    char *c1 = g_build_filename(dir, "h1.console", NULL), *c2 = g_build_filename(cold, "h1.console", NULL);
    char *o1 = command_output(c1), *o2 = command_output(c2);
    assert_string_equal(o1, o2);
    forget_boots(cold, 2);
    char *again = g_strdup_printf("%s-again", cold);
    run_ok(cache_a, 0, "verify", cold, "-o", again);
    g_free(again);
    g_free(o1);
    g_free(o2);
    g_free(c1);
    g_free(c2);
    g_free(old);
    g_free(cold);
    g_free(dir);
    g_free(text);
    g_free(ini);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(restored_guests_do_what_cold_booted_ones_do),
        cmocka_unit_test(a_restored_guest_reads_urandom_at_once),
        cmocka_unit_test(restored_guests_draw_apart_after_a_reseed),
        cmocka_unit_test(verify_on_an_empty_cache_makes_the_same_snapshot),
        cmocka_unit_test(a_package_verifies_from_its_snapshot_without_booting),
        cmocka_unit_test(a_snapshot_that_is_not_the_manifests_is_refused),
        cmocka_unit_test(a_snapshot_key_that_is_a_path_is_refused),
        cmocka_unit_test(other_memory_is_another_snapshot),
        cmocka_unit_test(what_a_snapshot_cannot_do_is_refused),
        cmocka_unit_test(verify_boots_each_guest_as_its_manifest_says),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
