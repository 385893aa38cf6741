/*
 * qns-guest-image.h - where a guest's QEMU and image are: the ones installed
 * with the library, the qns cache, images by key, and what an image's
 * GUEST-INFO says (checked as data: it may come from a stranger's package).
 */
#ifndef QNS_GUEST_IMAGE_H
#define QNS_GUEST_IMAGE_H

#include <string>
#include <vector>

/* The QEMU and the default guest image folder a guest gets when nothing
 * names them: $QNS_QEMU / $QNS_GUEST_DIR when set, else those installed
 * with the library (qns-default-paths.cc). */
const char *QnsInstalledQemu();
const char *QnsInstalledGuestDir();
/* The qns cache folder: $QNS_CACHE_DIR, else $XDG_CACHE_HOME/qns, else
 * ~/.cache/qns. */
std::string QnsCacheDir();
/* 0, or -1 with the reason in errbuf: 1-64 lowercase hex digits. */
int QnsGuestKeyCheck(const char *key, char *errbuf);
/* The default guest image of key: first (a package's packed image; "":
 * $QNS_GUEST_DIR) when its GUEST-INFO has that key, else the cache's
 * guest/KEY, else an imported one. False with err when none. */
bool QnsGuestImageDir(const char *key, const std::string &first, std::string &dir,
                      std::string &err);

/* What an image's GUEST-INFO says, for QEMU's command line. */
struct QnsGuestInfo {
    std::string kernel, initrd, cmdline, nicE1000, nicVirtio;
    std::string disk;                 /* a distribution image's root file system, or "" */
    bool snapshot = false;            /* its init can be saved waiting for its configuration */
    std::vector<std::string> machine; /* QEMU's machine options (-m included),
                                         without -kernel and -initrd */
};

/* Reads and checks dir/GUEST-INFO. False with err when it cannot be read or
 * is not what qns's images write. */
bool QnsReadGuestInfo(const std::string &dir, QnsGuestInfo &gi, std::string &err);

#endif
