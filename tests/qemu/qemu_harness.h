/*
 * qemu_harness.h - what the tests of the patched QEMU share: its command
 * line under -qqq (the firmware as the guest, no OS), console file names
 * and reading a console back.
 */
#ifndef QEMU_HARNESS_H
#define QEMU_HARNESS_H

#include "qns_guest.h"
#include "test_support.h"

#include <stdint.h>

typedef enum nic_kind {
    NIC_NONE,
    NIC_VIRTIO,
    NIC_E1000
} nic_kind;

/* argv for QEMU under -qqq; `extra` (NULL-terminated) goes at the end. */
void qemu_argv(ts_argv *a, nic_kind nic, const char *debugcon, const char *const *extra);

/* The FNV-1a hash of a frame's bytes. */
uint32_t fnv(const uint8_t *d, uint32_t n);

/* "qemu-TAG-PID.console", to g_free. */
char *console_name(const char *tag);

/* The file's contents ("" when it cannot be read), to g_free. */
char *slurp(const char *path);

/* Starts QEMU as `spec` says (its console is set here): it must exit with
 * status 1, `want` on its console. */
void qemu_expect_refusal(qns_guest_spec *spec, const char *want);
/* The same, with `line` the whole console: one line and nothing else. */
void qemu_expect_refusal_line(qns_guest_spec *spec, const char *line);

#endif
