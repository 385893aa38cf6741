/*
 * environment.h - what a run ran on (qns, ns-3, QEMU, the default guest
 * image), written into the manifest and compared with it by verify.
 */
#ifndef QNS_RUNNER_ENVIRONMENT_H
#define QNS_RUNNER_ENVIRONMENT_H

#include "manifest.h"

#include <json-glib/json-glib.h>

/* member: the SHA-256 of path, or null when it cannot be read. */
void rn_json_add_sha256(JsonBuilder *b, const char *member, const char *path);
/* The same for a file that stays as it is (QEMU, the guest image, inputs):
 * its hash remembered in the qns cache (qns_file_sha256). */
void rn_json_add_remembered_sha256(JsonBuilder *b, const char *member, const char *path);
/* member: the string v, or null when v is NULL. */
void rn_json_add_string(JsonBuilder *b, const char *member, const char *v);

/* qns_version, qns_commit (the source commit this qns was built from,
 * "unknown" outside a git checkout) and ns3_version. */
void rn_env_add_versions(JsonBuilder *b);

/* "qemu": path, --version's first line (of a package's run-qemu wrapper: of
 * the packed binary beside it), SHA-256 of the binary, and from the
 * BUILD-INFO of its install folder (build-qemu.sh) build_key and
 * patch_series (SHA-256 of its patch lines: every patch's name and hash). */
void rn_env_add_qemu(JsonBuilder *b, const char *qemu);

/* "guest_image": folder, SHA-256 of GUEST-INFO, key, kernel and initramfs names and SHA-256,
 * kernel_release and the [packages] of DIR/GUEST-INFO. */
void rn_env_add_guest_image(JsonBuilder *b, const char *dir);

/* What differs between the environment the manifest root recorded and the
 * one given (qemu binary, guest image folder), for the parts the manifest
 * records, as "guest image key 906397202cd2 (manifest) vs 2eea15694ec3
 * (now), kernel 6.1.0-56-amd64 vs 6.1.0-57-amd64"; with_inputs: also each
 * of the manifest's inputs whose file has changed ("input disk/base.raw
 * SHA-256 ..."; not for a package, whose packed inputs are checked before
 * anything runs). NULL when nothing differs. */
char *rn_env_differences(JsonObject *manifest, const char *qemu, const char *guest_dir,
                         int with_inputs);

/* ---- package.c and package_check.c: verifying a package, and helpers
 * guest.c shares. */

/* Runs argv (searched in PATH); 0, or -1 after one line naming what failed. */
int rn_spawn(const char *const *argv, const char *what);
/* A new folder IN/PREFIXxxxxxx (g_free it), or NULL after one line. */
char *rn_temp_dir(const char *in, const char *prefix);
/* Whether files a and b can both be read and have the same bytes. */
int rn_same_contents(const char *a, const char *b);
/* Removes dir and everything below it, symlinks not followed. */
void rn_remove_tree(const char *dir);
/* 0 when path's SHA-256 is want; else -1 after one line "qns: DOING: PATH
 * has SHA-256 X, BY says Y" (hashes to 16 digits). */
int rn_check_sha(const char *path, const char *want, const char *doing, const char *by);
/* 0 when every boot file of the guest image in folder dir has the SHA-256
 * the manifest's guest_image gi gives; else -1 after rn_check_sha's line
 * on the first that differs. */
int rn_check_image_files(const char *dir, JsonObject *gi, const char *doing);

/* Unpacks PACKAGE beside it into the folder it holds (a folder that holds
 * the same manifest already is reused). Returns that folder (g_free it), or
 * NULL after one line on what is wrong. */
char *rn_package_unpack(const char *package);

/* Before a run folder from a package is verified: checks every packed boot
 * file (guest image, inputs, QEMU) against its SHA-256 in the manifest, -1
 * after one line naming the first that differs; then sets places->guest_dir
 * to the packed guest image, places->qemu to the packed QEMU (when packed,
 * and only with trust: a packed QEMU is a program from the package; without
 * trust this machine's own runs, and verify says so), else NULL, and
 * *base_dir to the packed inputs' folder (when packed; else NULL). g_free
 * what they point to. */
int rn_package_prepare(const char *dir, JsonObject *root, int trust, char **base_dir,
                       rn_places *places);

#endif
