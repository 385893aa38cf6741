/*
 * qns_files.h - the user's own files in the default guest: "SRC:DST" pairs
 * packed into a newc cpio archive that Linux unpacks after the default
 * initramfs (it unpacks concatenated archives in turn, later ones over
 * earlier ones), so a program can be tried in a guest without building an
 * image.
 *
 * The archive is byte-reproducible: entries sorted by name, every folder on
 * the way to a file its own entry (0755), files 0755 when their source has
 * an exec bit and 0644 otherwise, owner 0:0, mtime the default guest's
 * QNS_FILES_EPOCH, inode numbers counted in that order. Only regular files
 * and folders are packed; a folder contributes the files below it and the
 * folders that hold them (an empty folder has nothing to ship).
 *
 *   qns_files *f = qns_files_new();
 *   if (qns_files_add(f, "app.sh:/usr/local/bin/app.sh", NULL, err) < 0) ...
 *   if (qns_files_initrd(f, "guest/initramfs.cpio", cache, &path, err) < 0) ...
 *   qns_files_free(f);
 *
 * Errors are values: -1 with a one-line reason in errbuf (QNS_ERRBUF_SIZE
 * bytes) that names the bad path.
 */
#ifndef QNS_FILES_H
#define QNS_FILES_H

#include "qns_errbuf.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every entry's mtime: 2020-01-01T00:00:00Z, the default guest's EPOCH. */
#define QNS_FILES_EPOCH 1577836800u
/* newc has 32 bits for a file's size. */
#define QNS_FILES_MAX_SIZE 0xffffffffull

typedef struct qns_files qns_files;

qns_files *qns_files_new(void);
void qns_files_free(qns_files *f);

/* Adds "SRC:DST", split at its last ':' (so SRC may hold a ':', DST may
 * not). SRC is a regular file or a folder (then everything below it),
 * relative to base_dir (NULL: the current folder); DST is where it lands in
 * the guest: absolute, without '..' components, not /init, not in /proc,
 * /sys or /dev, and no other file's place. Symbolic links, devices, FIFOs
 * and sockets are refused, named. 0, or -1 with the reason in errbuf. */
int qns_files_add(qns_files *f, const char *spec, const char *base_dir, char *errbuf);

/* The regular files added, in archive order: where each is read from. */
size_t qns_files_count(const qns_files *f);
const char *qns_files_source(const qns_files *f, size_t i);

/* The archive (malloc'd into *data, *len bytes; free it), read from the
 * sources now. 0, or -1 with the reason in errbuf (a source that cannot be
 * read, is no longer a regular file, changed size while read, or is larger
 * than newc allows). */
int qns_files_archive(const qns_files *f, unsigned char **data, size_t *len, char *errbuf);

/* The initrd the guest boots: the default initramfs `base`, zero bytes up
 * to a multiple of 4, then the archive. Kept in CACHE_DIR/initrd/SHA256,
 * named by the SHA-256 of its bytes (reused when there, else written to a
 * temporary file and renamed into place), its path malloc'd into *path.
 * 0, or -1 with the reason in errbuf. */
int qns_files_initrd(const qns_files *f, const char *base, const char *cache_dir, char **path,
                     char *errbuf);

#ifdef __cplusplus
}
#endif

#endif
