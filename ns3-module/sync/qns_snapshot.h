/*
 * qns_snapshot.h - boots one guest to be saved (QEMU's -qqq ...,save=FD,
 * qemu-patch/0011): grants of a fixed size from time 0 until its console
 * says it is ready, then a grant of -2, which saves the machine where its
 * clock stands and ends QEMU. The guest runs alone: its NICs are opened and
 * whatever it sends is dropped. With the same argv the save comes at the same
 * virtual instant, so the same bytes are saved.
 */
#ifndef QNS_SNAPSHOT_H
#define QNS_SNAPSHOT_H

#include "qns_errbuf.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qns_snapshot_boot_spec {
    const char *name;         /* used in every message */
    const char *const *argv;  /* QEMU's, with -qqq write=3,read=4,save=22 (qns_guest.h) */
    int nic_count;            /* its -netdev qqq,fd=5+i */
    const char *console_path; /* the boot's console; read after each grant */
    const char *stream_path;  /* created: the saved machine */
    const char *ready;        /* the console line that says it is ready */
    int32_t grant_us;         /* > 0 */
    int64_t max_us;           /* not ready by then: an error */
    int (*stop)(void *ctx);   /* asked before each grant: non-zero gives up
                                 ("interrupted"); NULL: never */
    void *stop_ctx;
} qns_snapshot_boot_spec;

/*
 * Boots and saves. Returns the virtual time of the save in us (>= 0), or -1
 * with errbuf: the guest ended, said "QNS-GUEST: error", was not ready in
 * max_us, or QEMU refused the save; the console's last lines follow. Given
 * up at spec->stop: -1 with "guest NAME: boot for its snapshot: interrupted".
 */
int64_t qns_snapshot_boot(const qns_snapshot_boot_spec *spec, char *errbuf);

/*
 * A snapshot's root disk overlay, which may come from a package: 0 when
 * path is a qcow2 image (version 2 or 3) that keeps its data in itself,
 * unencrypted, with no incompatible feature but a dirty bit. Its backing
 * file is given on QEMU's command line, so the name in it is not read.
 * -1 with errbuf naming path otherwise: an external data file would have
 * QEMU open a file the image names.
 */
int qns_snapshot_disk_check(const char *path, char *errbuf);

#ifdef __cplusplus
}
#endif

#endif
