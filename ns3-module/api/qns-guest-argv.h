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
    bool horizon = false;           /* started with -qqq horizon=on */
};

/* The QEMU binary: the config's, else $QNS_QEMU, else the build's. */
std::string QnsDefaultQemu(const char *configured);
/* The default guest folder: the config's, else $QNS_GUEST_DIR, else the build's. */
std::string QnsDefaultGuestDir(const char *configured);

/* spinUs: -qqq spin= for QEMU (a program, the test kit, gets none);
 * horizon: -qqq horizon=on, for adaptive rounds. */
bool QnsGuestDescribe(const qns_guest_config &cfg, int index, uint32_t seed, uint32_t spinUs,
                      bool horizon,
                      const std::string &qemu, const std::string &guestDir,
                      const std::string &outDir, QnsGuestDesc &out, std::string &err);

#endif
