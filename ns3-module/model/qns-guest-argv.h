/*
 * qns-guest-argv.h - turns a qns_guest_config into the command line of its
 * QEMU process: machine and clock options, the default guest's kernel,
 * initrd and command line (read from its GUEST-INFO), or the user's own, the
 * -qqq option and one -netdev qqq / -device pair per NIC.
 */
#ifndef QNS_GUEST_ARGV_H
#define QNS_GUEST_ARGV_H

#include "qns.h"

#include <string>
#include <vector>

struct QnsGuestDesc {
    std::string name;
    std::vector<std::string> argv;
    int nicCount = 0;
    bool endsRun = false;
    std::string console;
    std::vector<std::string> macs;
    std::vector<std::string> ipv4s; /* "" for a NIC without one */
    /* The default guest's /init runs (its initramfs): its console markers
     * are expected; with a command of ours it must report how that ended. */
    bool defaultInit = false;
    bool runsCommand = false;
    bool horizon = false;           /* started with -qqq horizon=on */
    /* The regular files of cfg.files, in the archive appended to its initrd. */
    std::vector<std::string> files;
};

/* The QEMU and the default guest image folder a guest gets when nothing
 * names them: $QNS_QEMU / $QNS_GUEST_DIR when set, else those installed
 * with the library (qns-default-paths.cc). */
const char *QnsInstalledQemu();
const char *QnsInstalledGuestDir();
/* A guest's MAC when it names none: "52:54:00:GG:GG:NN" (guest index, NIC
 * index + 1). */
std::string QnsDefaultMac(int guest, int nic);
/* 0, or -1 with "KIND name 'NAME' must be ..." in errbuf: 1-32 letters,
 * digits, '-' or '_'. */
int QnsNameCheck(const char *kind, const char *name, char *errbuf);
/* 0, or -1 with the reason: 1-64 lowercase hex digits. */
int QnsGuestKeyCheck(const char *key, char *errbuf);

/* The QEMU binary: the config's, else QnsInstalledQemu(). */
std::string QnsDefaultQemu(const char *configured);
/* The default guest folder: the config's, else QnsInstalledGuestDir(). */
std::string QnsDefaultGuestDir(const char *configured);
/* qns_cache_dir() as a string. */
std::string QnsCacheDir();
/* The default guest image of key: $QNS_GUEST_DIR when its GUEST-INFO has that
 * key (a package's packed image), else the cache's guest/KEY (QNS_CACHE_DIR,
 * else $XDG_CACHE_HOME/qns, else ~/.cache/qns). False with err when neither. */
bool QnsGuestImageDir(const char *key, std::string &dir, std::string &err);

/* spinUs: -qqq spin= for QEMU (a program, the test kit, gets none);
 * icountShift: -icount shift=; horizon: -qqq horizon=on, for adaptive
 * rounds. */
bool QnsGuestDescribe(const qns_guest_config &cfg, int index, uint32_t seed, uint32_t spinUs,
                      uint32_t icountShift, bool horizon,
                      const std::string &qemu, const std::string &guestDir,
                      const std::string &outDir, QnsGuestDesc &out, std::string &err);

#endif
