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

/* The snapshots the manifest's guests were restored from (boot = snapshot),
 * each key once: the first guest object (borrowed) of each, whose members
 * "snapshot" (the key: 64 lowercase hex digits), "snapshot_stream_sha256"
 * and "snapshot_ram_sha256" name it. NULL after one line (doing: ...) when
 * a key is not a key. In a package: snapshot/KEY/{INPUTS,stream,ram}. */
GPtrArray *rn_manifest_snapshots(JsonObject *root, const char *doing);

/* The files of such a guest's snapshot, each with the SHA-256 it must have
 * (names[k], shas[k]; NULL when the manifest names none): INPUTS (the key),
 * stream, ram, and disk.qcow2 when the manifest names its overlay
 * ("snapshot_disk_sha256"). How many. */
#define RN_SNAPSHOT_FILES_MAX 4
size_t rn_snapshot_files(JsonObject *g, const char *names[RN_SNAPSHOT_FILES_MAX],
                         const char *shas[RN_SNAPSHOT_FILES_MAX]);

/* Where an input of the manifest sits in a package: inputs/ and its path
 * relative to the scenario's base folder; NULL (after one line) when it is
 * outside that folder. g_free it. */
char *rn_input_rel(const char *path, JsonObject *root);

#endif
