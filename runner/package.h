/*
 * package.h - what qns pack (package.c) writes that the checks of an
 * unpacked package (package_check.c) read back: the QEMU wrapper and its
 * firmware list, and where an input goes in a package.
 */
#ifndef QNS_RUNNER_PACKAGE_H
#define QNS_RUNNER_PACKAGE_H

#include <json-glib/json-glib.h>

/* In a package's qemu/: the wrapper that runs the packed QEMU, and the
 * SHA-256 of each packed firmware file. */
#define RN_QEMU_WRAPPER "run-qemu"
#define RN_QEMU_SUMS "SHA256SUMS"

/* The wrapper's text: pack writes it, and verify runs a packed QEMU only
 * through this very text. */
extern const char rn_qemu_wrapper_text[];

/* Where an input of the manifest sits in a package: inputs/ and its path
 * relative to the scenario's base folder; NULL (after one line) when it is
 * outside that folder. g_free it. */
char *rn_input_rel(const char *path, JsonObject *root);

#endif
