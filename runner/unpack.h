/*
 * unpack.h - unpacking a package (LEAF.tar.zst from qns pack) as data:
 * only regular files and folders, modes of our own, no owners, bounded in
 * size and member count, never writing through a symbolic link.
 */
#ifndef QNS_RUNNER_UNPACK_H
#define QNS_RUNNER_UNPACK_H

#include <stdint.h>

/* What qns unpacks at most: far more than any package holds (the guest
 * image and QEMU are a few hundred MiB). */
#define RN_UNPACK_MAX_BYTES ((uint64_t)16 << 30) /* 16 GiB */
#define RN_UNPACK_MAX_MEMBERS ((uint64_t)100000)

typedef struct rn_unpack_limits {
    uint64_t max_bytes;   /* the sum of the unpacked files' sizes */
    uint64_t max_members; /* members of the archive, folders included */
} rn_unpack_limits;

#define RN_UNPACK_LIMITS                                                                           \
    {                                                                                              \
        RN_UNPACK_MAX_BYTES, RN_UNPACK_MAX_MEMBERS                                                 \
    }

/* Unpacks the tar archive (zstd-compressed or plain) at path archive into
 * the existing folder into: regular files (0755 when the archive gives any
 * execute bit, else 0644) and folders (0755), owners and times ignored.
 * Refuses the whole archive at the first symbolic link, hard link, device,
 * FIFO or socket, absolute name, '..' component, name with control bytes,
 * member given twice, at the limits, or when a member's declared size is
 * more than the file system has free. With only (NULL-terminated glob
 * patterns, g_pattern_match_simple), every member is checked but only the
 * files matching one are written (and the folders on their way). Returns
 * 0, or -1 with one line in *why (g_free it) naming the member; then what
 * it wrote below into is still there, for the caller to remove. The
 * archive is opened without following a symbolic link, so is into. */
int rn_unpack(const char *archive, const char *into, const rn_unpack_limits *limits,
              const char *const *only, char **why);

/* rn_unpack of the archive open at archive_fd (read from where it stands,
 * left open). */
int rn_unpack_fd(int archive_fd, const char *into, const rn_unpack_limits *limits,
                 const char *const *only, char **why);

/* rn_package_unpack with the given limits (qns uses RN_UNPACK_LIMITS);
 * package_unpack.c. */
char *rn_package_unpack_limited(const char *package, const rn_unpack_limits *limits);

#endif
