/*
 * qemu_harness.c - the command line and console helpers the tests of the
 * patched QEMU share (qemu_harness.h).
 */
#include "qemu_harness.h"
#include "qns_guest.h"

#include <glib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef QNS_QEMU_BINARY
#error "QNS_QEMU_BINARY must name the patched qemu-system-x86_64"
#endif

/* argv for QEMU under -qqq; `extra` (NULL-terminated) goes at the end. */
void qemu_argv(ts_argv *a, nic_kind nic, const char *debugcon, const char *const *extra)
{
    char opt[64];
    a->n = 0;
    ts_add(a, "%s", QNS_QEMU_BINARY);
    const char *base[] = {"-machine",    "pc",
                          "-accel",      "tcg",
                          "-nodefaults", "-no-user-config",
                          "-display",    "none",
                          "-m",          "128M",
                          "-icount",     "shift=1,sleep=off",
                          "-rtc",        "clock=vm,base=2020-01-01T00:00:00",
                          "-seed",       "1",
                          NULL};
    for (const char *const *p = base; *p; p++) {
        ts_add(a, "%s", *p);
    }
    ts_add(a, "-qqq");
    qns_guest_qqq_option(opt, sizeof(opt));
    ts_add(a, "%s", opt);
    if (nic != NIC_NONE) {
        ts_add(a, "-netdev");
        qns_guest_netdev_option(opt, sizeof(opt), "n0", 0);
        ts_add(a, "%s", opt);
        ts_add(a, "-device");
        ts_add(a, "%s,netdev=n0,mac=52:54:00:12:34:56",
               nic == NIC_VIRTIO ? "virtio-net-pci" : "e1000");
        ts_add(a, "-boot");
        ts_add(a, "n");
    }
    if (debugcon) {
        ts_add(a, "-debugcon");
        ts_add(a, "file:%s", debugcon);
        ts_add(a, "-global");
        ts_add(a, "isa-debugcon.iobase=0x402");
    }
    for (const char *const *p = extra; p && *p; p++) {
        ts_add(a, "%s", *p);
    }
}

uint32_t fnv(const uint8_t *d, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) {
        h = (h ^ d[i]) * 16777619u;
    }
    return h;
}

char *console_name(const char *tag)
{
    return g_strdup_printf("qemu-%s-%d.console", tag, getpid());
}

char *slurp(const char *path)
{
    gchar *d = NULL;
    if (!g_file_get_contents(path, &d, NULL, NULL)) {
        return g_strdup("");
    }
    return d;
}

static void expect_exit_1(qns_guest_spec *spec, const char *want, int whole)
{
    char errbuf[QNS_ERRBUF_SIZE];
    char *con = console_name("refuse");
    spec->console_path = con;
    qns_guest *g = qns_guest_spawn(spec, errbuf);
    assert_non_null(g);
    assert_int_equal(qns_guest_wait(g, 20000, errbuf), 1);
    int st = qns_guest_exit_status(g);
    char *out = slurp(con);
    int said = whole ? strcmp(out, want) == 0 : strstr(out, want) != NULL;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 1 || !said) {
        fail_msg("wanted status 1 and '%s', got status 0x%x and: %s", want, st, out);
    }
    g_free(out);
    qns_guest_free(g);
    unlink(con);
    g_free(con);
}

void qemu_expect_refusal(qns_guest_spec *spec, const char *want)
{
    expect_exit_1(spec, want, 0);
}

void qemu_expect_refusal_line(qns_guest_spec *spec, const char *line)
{
    expect_exit_1(spec, line, 1);
}
