/* A package carries everything its run booted from: two default guests and
 * one ping at a 1 ms quantum run through `qns run`, the pinging guest first
 * reading its disk, a qcow2 overlay on a qcow2 overlay on a raw image (so
 * it boots cold; the other is restored from a snapshot, which the package
 * carries), are packed with `qns pack --with-qemu`, and the package alone, moved to a
 * fresh folder with an empty qns cache, QNS_QEMU / QNS_GUEST_DIR pointing at
 * nothing and the disk's images moved away, verifies with --trust-package:
 * every output byte-identical, run from the packed guest image, disk chain
 * and QEMU (named with its SHA-256 first; the re-run's manifest says so), no
 * process left. Without --trust-package the packed QEMU never runs (a
 * replaced one that leaves a mark leaves none) and this machine's own QEMU
 * verifies it; with it, a replaced one runs confined: it prints to its
 * console and leaves no mark; a wrapper that is not pack's, a changed packed firmware file
 * or GUEST-INFO is refused before anything runs. */
#define _GNU_SOURCE
#include "runner.h"
#include "test_support.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef QNS_BIN
#error "QNS_BIN must name the qns runner"
#endif

static const char ping_ini[] = "[scenario]\nname = ping1\nduration = 30s\nquantum = 1ms\n"
                               "seed = 1\n\n"
                               "[guest h1]\ncommand = head -c 23 /dev/vda; ping -c 1 10.0.0.2\n"
                               "disk = disks/top.qcow2\nends_run = true\n"
                               "nic0.ip = 10.0.0.1/24\n\n"
                               "[guest h2]\nnic0.ip = 10.0.0.2/24\n\n"
                               "[link lan]\ntype = csma\ncapture = true\nmembers = h1, h2\n";

/* Runs `qns ARGS...` in cwd with envp (NULL: ours); exit status, stdout in *out. */
static int qns(const char *cwd, char **envp, char **out, const char *const *args)
{
    const char *argv[12] = {QNS_BIN};
    for (int i = 0; args[i] && i < 10; i++) {
        argv[i + 1] = args[i];
    }
    gchar *o = NULL, *e = NULL;
    int ws;
    GError *ge = NULL;
    if (!g_spawn_sync(cwd, (char **)argv, envp, 0, NULL, NULL, &o, &e, &ws, &ge)) {
        fail_msg("cannot run %s: %s", QNS_BIN, ge->message);
    }
    printf("qns %s %s:\n%s%s", args[0], args[1], o, e);
    g_free(e);
    *out = o;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Runs `qemu-img ARGS` in dir. */
static void qemu_img(const char *dir, const char *args)
{
    char *cmd = g_strdup_printf("exec qemu-img %s", args);
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    gchar *e = NULL;
    int ws;
    assert_true(g_spawn_sync(dir, (char **)argv, NULL, 0, NULL, NULL, NULL, &e, &ws, NULL));
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
        fail_msg("qemu-img %s: %s (scripts/setup-deps.sh installs qemu-utils)", args, e);
    }
    g_free(e);
    g_free(cmd);
}

static char *rerun_member(const char *manifest, const char *object, const char *member)
{
    JsonParser *p = json_parser_new();
    assert_true(json_parser_load_from_file(p, manifest, NULL));
    JsonObject *o =
        json_object_get_object_member(json_node_get_object(json_parser_get_root(p)), object);
    char *v = g_strdup(json_object_get_string_member(o, member));
    g_object_unref(p);
    return v;
}

static char *sha_of(const char *path)
{
    char *why = NULL, *sum = rn_file_sha256(path, &why);
    assert_non_null(sum);
    return sum;
}

static void package_verifies_from_its_own_guest_and_qemu_only(void **state)
{
    (void)state;
    char *dir = g_strdup_printf("package-%d", getpid());
    char *fresh = g_build_filename(dir, "fresh", NULL);
    char *cache = g_build_filename(fresh, "empty-cache", NULL);
    g_mkdir_with_parents(cache, 0755);
    char *ini = g_build_filename(dir, "ping1.ini", NULL);
    assert_true(g_file_set_contents(ini, ping_ini, -1, NULL));
    /* disks/top.qcow2 -> disks/mid.qcow2 -> base.raw: 64 KiB, text first */
    char *base = g_build_filename(dir, "base.raw", NULL),
         *disks = g_build_filename(dir, "disks", NULL);
    gchar *bytes = g_malloc0(65536);
    memcpy(bytes, "qns backing chain base\n", 23);
    assert_true(g_file_set_contents(base, bytes, 65536, NULL));
    g_free(bytes);
    g_mkdir_with_parents(disks, 0755);
    qemu_img(disks, "create -q -f qcow2 -b ../base.raw -F raw mid.qcow2");
    qemu_img(disks, "create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2");
    char *out;
    const char *run[] = {"run", "-q", "ping1.ini", "-o", "run", NULL};
    assert_int_equal(qns(dir, NULL, &out, run), 0);
    g_free(out);
    /* The guest read the base image's bytes through both overlays. */
    char *console = g_build_filename(dir, "run", "h1.console", NULL);
    assert_true(g_file_get_contents(console, &out, NULL, NULL));
    assert_non_null(strstr(out, "qns backing chain base\r\n")); /* a serial console */
    g_free(out);
    g_free(console);
    const char *pack[] = {"pack", "--with-qemu", "run", NULL};
    assert_int_equal(qns(dir, NULL, &out, pack), 0);
    /* 22 files, the disk's three images and h2's snapshot (INPUTS, stream,
     * RAM; h1, with a disk of its own, boots cold) */
    assert_true(g_str_has_prefix(out, "qns: packed 28 files of run into run.tar.zst ("));
    assert_non_null(strstr(out, " MiB), with the guest image and QEMU\n"));
    g_free(out);
    char *from = g_build_filename(dir, "run.tar.zst", NULL);
    char *to = g_build_filename(fresh, "run.tar.zst", NULL);
    assert_int_equal(rename(from, to), 0);
    char *away = g_strdup_printf("%s-away", disks), *base_away = g_strdup_printf("%s-away", base);
    assert_int_equal(rename(disks, away), 0);
    assert_int_equal(rename(base, base_away), 0);

    char **envp = g_get_environ();
    char *cache_abs = g_canonicalize_filename(cache, NULL);
    envp = g_environ_setenv(envp, "QNS_CACHE_DIR", cache_abs, TRUE);
    envp = g_environ_setenv(envp, "QNS_QEMU", "/nonexistent/qemu-system-x86_64", TRUE);
    envp = g_environ_setenv(envp, "QNS_GUEST_DIR", "/nonexistent/guest", TRUE);
    const char *verify[] = {"verify", "--trust-package", "run.tar.zst", "-o", "rerun", NULL};
    assert_int_equal(qns(fresh, envp, &out, verify), 0);
    char *packed_bin = g_build_filename(fresh, "run", "qemu", "bin", "qemu-system-x86_64", NULL);
    char *packed_abs = g_canonicalize_filename(packed_bin, NULL);
    char *packed_sha = sha_of(packed_bin);
    char *named = g_strdup_printf("verify: unpacked run.tar.zst into ./run/\n"
                                  "verify: running the packed QEMU ./run/qemu/bin/"
                                  "qemu-system-x86_64, SHA-256 %s (--trust-package)\n"
                                  "verify: running from the packed guest image, inputs, QEMU\n",
                                  packed_sha);
    if (!g_str_has_prefix(out, named)) {
        fail_msg("want\n%sgot\n%s", named, out);
    }
    assert_non_null(strstr(out, "verify: OK: all 6 files match (re-run in rerun/)"));
    g_free(out);
    assert_int_equal(ts_child_count(), 0);

    /* Without --trust-package the packed QEMU never runs: this machine's
     * own does (the build's, the same build: the environment matches). */
    char **own = g_environ_unsetenv(g_strdupv(envp), "QNS_QEMU");
    const char *untrusted[] = {"verify", "run", "-o", "rerun-own", NULL};
    assert_int_equal(qns(fresh, own, &out, untrusted), 0);
    char *carries = g_strdup_printf("verify: the package carries a QEMU (qemu/bin/"
                                    "qemu-system-x86_64, SHA-256 %.16s); verify runs this "
                                    "machine's own and compares the builds (--trust-package "
                                    "runs the packed one)\n"
                                    "verify: running from the packed guest image, inputs\n"
                                    "verify: restoring from the packed snapshots\n"
                                    "verify: the environment matches the manifest\n",
                                    packed_sha);
    assert_non_null(strstr(out, carries));
    assert_non_null(strstr(out, "verify: OK: all 6 files match (re-run in rerun-own/)"));
    g_free(out);

    /* A hostile package: its QEMU replaced by a script that tries to leave a
     * mark, the manifest's hash made to match. verify runs it only when
     * trusted, and then confined: it prints to its console, in the results
     * folder, and writes nothing else. */
    char *mark = g_build_filename(g_get_current_dir(), fresh, "MARK", NULL);
    gchar *genuine = NULL, *manifest_text = NULL;
    gsize genuine_len = 0;
    char *run_manifest = g_build_filename(fresh, "run", "manifest.json", NULL);
    assert_true(g_file_get_contents(packed_bin, &genuine, &genuine_len, NULL));
    assert_true(g_file_get_contents(run_manifest, &manifest_text, NULL, NULL));
    char *payload = g_strdup_printf("#!/bin/sh\necho qns-payload-ran\ntouch '%s'\n", mark);
    assert_true(g_file_set_contents(packed_bin, payload, -1, NULL));
    assert_int_equal(chmod(packed_bin, 0755), 0);
    char *payload_sha = sha_of(packed_bin);
    char *at = strstr(manifest_text, packed_sha);
    assert_non_null(at);
    memcpy(at, payload_sha, strlen(payload_sha));
    assert_true(g_file_set_contents(run_manifest, manifest_text, -1, NULL));
    const char *hostile[] = {"verify", "run", "-o", "rerun-hostile", NULL};
    (void)qns(fresh, envp, &out, hostile); /* its own QEMU is /nonexistent here */
    assert_false(g_file_test(mark, G_FILE_TEST_EXISTS));
    assert_non_null(strstr(out, "verify: the package carries a QEMU"));
    g_free(out);
    const char *trusted[] = {"verify", "--trust-package", "run", "-o", "rerun-trusted", NULL};
    assert_int_not_equal(qns(fresh, envp, &out, trusted), 0);
    assert_false(g_file_test(mark, G_FILE_TEST_EXISTS));
    char *ran = g_build_filename(fresh, "rerun-trusted", "h1.console", NULL), *ran_text = NULL;
    assert_true(g_file_get_contents(ran, &ran_text, NULL, NULL));
    assert_non_null(strstr(ran_text, "qns-payload-ran\n"));
    g_free(ran_text);
    g_free(ran);
    char *running = g_strdup_printf("verify: running the packed QEMU run/qemu/bin/"
                                    "qemu-system-x86_64, SHA-256 %s (--trust-package)\n",
                                    payload_sha);
    assert_non_null(strstr(out, running));
    g_free(out);
    assert_int_equal(ts_child_count(), 0);
    /* The genuine QEMU again, and a wrapper that is not pack's: refused. */
    assert_true(g_file_set_contents(packed_bin, genuine, (gssize)genuine_len, NULL));
    assert_int_equal(chmod(packed_bin, 0755), 0);
    memcpy(at, packed_sha, strlen(packed_sha));
    assert_true(g_file_set_contents(run_manifest, manifest_text, -1, NULL));
    char *wrapper = g_build_filename(fresh, "run", "qemu", "run-qemu", NULL);
    gchar *wrapper_text = NULL;
    assert_true(g_file_get_contents(wrapper, &wrapper_text, NULL, NULL));
    char *evil = g_strdup_printf("#!/bin/sh\ntouch '%s'\n%s", mark, wrapper_text);
    assert_true(g_file_set_contents(wrapper, evil, -1, NULL));
    unlink(mark);
    const char *wrapped[] = {"verify", "--trust-package", "run", "-o", "rerun-wrapper", NULL};
    assert_int_equal(qns(fresh, envp, &out, wrapped), 1);
    assert_false(g_file_test(mark, G_FILE_TEST_EXISTS));
    g_free(out);
    assert_true(g_file_set_contents(wrapper, wrapper_text, -1, NULL));
    g_free(evil);
    g_free(wrapper_text);
    g_free(wrapper);
    g_free(running);
    g_free(payload_sha);
    g_free(payload);
    g_free(run_manifest);
    g_free(manifest_text);
    g_free(genuine);
    g_free(mark);
    g_free(carries);
    g_strfreev(own);
    g_free(named);
    g_free(packed_sha);
    g_free(packed_abs);
    g_free(packed_bin);

    /* The re-run booted the packed files: its manifest names them. */
    char *manifest = g_build_filename(fresh, "rerun", "manifest.json", NULL);
    char *qemu = rerun_member(manifest, "qemu", "path");
    char *guest = rerun_member(manifest, "guest_image", "dir");
    char *fresh_abs = g_canonicalize_filename(fresh, NULL);
    char *want_qemu = g_build_filename(fresh_abs, "run", "qemu", "run-qemu", NULL);
    char *want_guest = g_build_filename(fresh_abs, "run", "guest", NULL);
    assert_string_equal(qemu, want_qemu);
    assert_string_equal(guest, want_guest);
    g_free(want_guest);
    g_free(want_qemu);

    /* A changed packed firmware file or GUEST-INFO: refused before anything runs. */
    const char *again[] = {"verify", "--trust-package", "run", NULL};
    const char *tampered[][2] = {{"run/qemu/share/qemu/bios-256k.bin", "qemu/SHA256SUMS"},
                                 {"run/guest/GUEST-INFO", "the manifest"}};
    for (size_t i = 0; i < G_N_ELEMENTS(tampered); i++) {
        char *p = g_build_filename(fresh, tampered[i][0], NULL);
        gchar *data;
        gsize len;
        assert_true(g_file_get_contents(p, &data, &len, NULL));
        data[len - 1] ^= 1;
        assert_true(g_file_set_contents(p, data, (gssize)len, NULL));
        char *why = NULL, *sum = rn_file_sha256(p, &why);
        char *prefix = g_strdup_printf("qns: refusing to run: %s has SHA-256 %.16s, %s says ",
                                       tampered[i][0], sum, tampered[i][1]);
        gchar *o = NULL, *e = NULL;
        int ws;
        const char *argv[] = {QNS_BIN, again[0], again[1], again[2], NULL};
        assert_true(g_spawn_sync(fresh, (char **)argv, envp, 0, NULL, NULL, &o, &e, &ws, NULL));
        assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 1);
        if (!g_str_has_prefix(e, prefix)) {
            fail_msg("want %s...\ngot %s", prefix, e);
        }
        assert_null(strstr(o, "running"));
        data[len - 1] ^= 1; /* restored for the next one */
        assert_true(g_file_set_contents(p, data, (gssize)len, NULL));
        g_free(o);
        g_free(e);
        g_free(prefix);
        g_free(sum);
        g_free(why);
        g_free(data);
        g_free(p);
    }
    g_free(base_away);
    g_free(away);
    g_free(disks);
    g_free(base);
    g_free(fresh_abs);
    g_free(guest);
    g_free(qemu);
    g_free(manifest);
    g_strfreev(envp);
    g_free(cache_abs);
    g_free(to);
    g_free(from);
    g_free(ini);
    g_free(cache);
    g_free(fresh);
    g_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(package_verifies_from_its_own_guest_and_qemu_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
