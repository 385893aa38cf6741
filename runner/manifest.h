/*
 * manifest.h - a run folder's manifest.json: written once a run is over
 * (manifest_write.c), read back by verify, pack and guest import
 * (manifest_read.c, which needs nothing of the C API).
 */
#ifndef QNS_RUNNER_MANIFEST_H
#define QNS_RUNNER_MANIFEST_H

#include "runner.h"

#include <json-glib/json-glib.h>
#include <stdint.h>

/* ---- manifest_read.c */

/* A run folder's manifest.json: root object and its outputs. */
typedef struct rn_manifest {
    JsonParser *parser; /* g_object_unref it */
    JsonObject *root;
    JsonObject *outputs;
} rn_manifest;

/* A manifest is short text of a few levels: a larger or deeper one is no
 * qns manifest, and is refused before it is parsed. */
#define RN_MANIFEST_MAX_BYTES ((gsize)16 << 20) /* 16 MiB */
#define RN_MANIFEST_MAX_DEPTH 64

/* Reads DIR/manifest.json (a regular file, not through a symbolic link, at
 * most RN_MANIFEST_MAX_BYTES, nested at most RN_MANIFEST_MAX_DEPTH deep);
 * every output it names must be a plain relative name whose file in DIR,
 * when there, is a regular file. -1 after printing one line on what is
 * wrong. */
int rn_manifest_load(const char *dir, rn_manifest *m);

/* The manifest in the len bytes at data (maybe a stranger's): a JSON object
 * with an object "outputs". NAME names it in messages. 0, or -1 after
 * printing one line on what is wrong (m->parser is then NULL). */
int rn_manifest_parse(const char *data, size_t len, const char *name, rn_manifest *m);

/* An object member of o, NULL when absent or not an object. */
JsonObject *rn_json_object(JsonObject *o, const char *member);

/* A string member of o, NULL when absent or not a string. */
const char *rn_json_string(JsonObject *o, const char *member);

/* The manifest's guests: how many (0 when "guests" is not an array), and
 * the i-th's object (NULL when it is not an object). */
guint rn_manifest_guest_count(JsonObject *root);
JsonObject *rn_manifest_guest(JsonObject *root, guint i);

/* ---- manifest_write.c */

/* What the guests boot from (QEMU, the default guest image, own kernels,
 * initrds and disks, their backing files, the files they pack), hashed
 * before the run: writing the manifest after it, an interrupted one too,
 * then takes no time. json_node_unref it. */
JsonNode *rn_manifest_boot_inputs(const rn_settings *set);

/* The run's record of what was run and what came of it: the versions, the
 * scenario (source: its file, absolute; the copy in dir hashed), its
 * settings, the outcome, each rank's figures (ranks > 1), the members of
 * inputs (from rn_manifest_boot_inputs), each guest's and node
 * application's figures, and the SHA-256 of every output file in dir.
 * Written to dir/manifest.json; 0, or -1 after one line on what failed. */
int rn_manifest_write(const char *dir, const rn_settings *set, const char *source, JsonNode *inputs,
                      const rn_run_result *rr, uint32_t ranks, const rn_rank_figures *figures);

#endif
