/*
 * qns-file-hash.h - SHA-256s of files that stay as they are (QEMU, guest
 * images, snapshots), remembered in the qns cache (QnsCacheDir()/hashes/ID,
 * ID the SHA-256 of the file's path, device, inode, size, modification and
 * change times), so that a run of many guests, and the next run, reads
 * each of them once; and the small file writes the cache needs.
 */
#ifndef QNS_FILE_HASH_H
#define QNS_FILE_HASH_H

#include <cstddef>
#include <string>

/* The SHA-256 of len bytes at data, in lowercase hex. */
std::string QnsSha256Hex(const void *data, size_t len);

/* The SHA-256 of the file at path (a bare name: the program found in PATH),
 * remembered as above. False with err when it cannot be read. */
bool QnsFileSha256(const std::string &path, std::string &hex, std::string &err);

/* Writes data to path through a temporary file beside it and a rename,
 * padded with NULs (a hole) to size when size is larger. False with err. */
bool QnsWriteFileAtomically(const std::string &path, const std::string &data, size_t size,
                            std::string &err);

/* Makes dir and its parents. False with err. */
bool QnsMakeDirs(const std::string &dir, std::string &err);

#endif
