/*
 * qns-guest-snapshot.h - guests booted once: a snapshot of the default guest
 * booted with qns.boot=snapshot until its /init waits for its configuration,
 * cached by a key of what makes the machine, and the configuration disk a
 * restore attaches. See qemu-patch/0011 for the save and the restore.
 *
 * In the cache (QnsCacheDir()):
 *   snapshot/KEY/stream    the saved machine without its RAM (-qqq restore=)
 *   snapshot/KEY/ram       its RAM, mapped privately by every restore
 *   snapshot/KEY/console   the boot's console
 *   snapshot/KEY/INPUTS    the text the key is the SHA-256 of
 *   snapshot/KEY/disk.qcow2  an image's root disk as the boot left it: a
 *                          qcow2 overlay of the image's disk.img, which every
 *                          restore attaches with snapshot=on
 *   snapshot/config/SHA    configuration disks, by the SHA-256 of their words
 */
#ifndef QNS_GUEST_SNAPSHOT_H
#define QNS_GUEST_SNAPSHOT_H

#include <functional>
#include <string>
#include <vector>

/* The size of a configuration disk: its words, NUL-padded. */
#define QNS_CONFIG_DISK_SIZE 65536
/* The line the default guest's /init prints when it waits for them. */
#define QNS_SNAPSHOT_READY "QNS-GUEST: waiting for configuration"

/* The key of a snapshot of the machine `words` (QEMU's argv without the
 * clock seed, -qqq, the RAM backend and the configuration disk's file): the
 * SHA-256 of its words, each word that is one of `files` replaced by that
 * file's SHA-256. False with err when a file cannot be read. */
bool QnsSnapshotKey(const std::vector<std::string> &words, const std::vector<std::string> &files,
                    std::string &key, std::string &inputs, std::string &err);

/* Builds a boot's argv from the folder it saves into (its RAM file goes
 * there, as DIR/ram) and the zero-filled configuration disk it attaches. */
using QnsSnapshotArgv = std::function<bool(const std::string &dir, const std::string &configDisk,
                                           std::vector<std::string> &argv, std::string &err)>;

/* The snapshot of key: first/KEY when first is not "" and its INPUTS are
 * `inputs` (a package's), else the cache's, made now if there is none (under
 * a lock, so that guests and processes wanting it at once boot it once):
 * its folder in dir. False with err (naming guest) when the boot fails or
 * stop says to give it up. */
struct QnsSnapshotStop {
    int (*fn)(void *ctx); /* non-zero: give the boot up; NULL: never */
    void *ctx;
    /* told before the boot begins (with ctx); NULL: not told */
    void (*booting)(void *ctx, const char *guest, const char *key);
};
bool QnsSnapshotEnsure(const std::string &guest, const std::string &key, const std::string &inputs,
                       const std::string &first, int nicCount, const QnsSnapshotArgv &argv,
                       QnsSnapshotStop stop, std::string &dir, std::string &err);


/* The overlay of a snapshot's root disk, QNS_SNAPSHOT_DISK in dir: an
 * empty qcow2 image over `base` (raw), which it names "disk.img" (restores
 * give the backing file's path on QEMU's command line), made with the
 * qemu-img beside the installed QEMU (QnsInstalledQemu: the build's, or
 * $QNS_QEMU's), never one beside a QEMU a package brought: qemu-img runs
 * unconfined. False with err. */
#define QNS_SNAPSHOT_DISK "disk.qcow2"
bool QnsSnapshotDiskOverlay(const std::string &base, const std::string &dir, std::string &err);

/* The configuration disk with `words` (at most QNS_CONFIG_DISK_SIZE bytes):
 * its path in the cache. False with err. */
bool QnsSnapshotConfigDisk(const std::string &words, std::string &path, std::string &err);

#endif
