/*
 * disk_chain.h - the files a guest's disk depends on: the image and, for a
 * qcow2 overlay, its chain of backing files, found as QEMU finds them, so
 * that the manifest hashes and a package carries every one of them.
 */
#ifndef QNS_RUNNER_DISK_CHAIN_H
#define QNS_RUNNER_DISK_CHAIN_H

#include <glib.h>

/* Images in one chain at most, the disk included. */
#define RN_DISK_CHAIN_MAX 16

/* One image of a chain. */
typedef struct rn_disk_file {
    char *path;    /* as QEMU opens it: the disk as given, then each backing
                      file's name joined to the folder of the image naming it
                      (without . and .. steps, when that is the same file) */
    char *backing; /* the backing file name this image holds, as written;
                      NULL when the chain ends here (raw, or qcow2 without) */
} rn_disk_file;

/* Follows the chain of disk (a path QEMU is given; its format probed, as
 * -drive file=DISK does): the rn_disk_file of disk first, then one per
 * backing file (free with g_ptr_array_unref). NULL, with *why (g_free) one
 * line on the first thing QEMU could not open or qns could not hash and
 * pack: a backing file that cannot be read, a json: or protocol name, a
 * backing format other than qcow2 and raw, an external data file, unknown
 * incompatible features, a header cut short, a loop, more than
 * RN_DISK_CHAIN_MAX images. Paths in *why are relative to shown_from when
 * below it (NULL: as they are). */
GPtrArray *rn_disk_chain(const char *disk, const char *shown_from, char **why);

/* NULL when a package can carry chain: every backing name is relative and
 * leads to a file below base_dir, where the package's inputs/ keeps the
 * same layout. Else one line (g_free) naming the image and its backing
 * name, with the qemu-img rebase command that makes it relative. */
char *rn_disk_chain_unpackable(const GPtrArray *chain, const char *base_dir);

#endif
