/*
 * qns-guest-argv.h - turns a guest's description (qns-guest-spec.h) into the
 * command line of its QEMU process, in steps: the machine and clock
 * options, the default guest's kernel, initrd and command line (read from
 * its GUEST-INFO) or the user's own, the disks, the -qqq option and one
 * -netdev qqq / -device pair per NIC, and the confinement around it all.
 */
#ifndef QNS_GUEST_ARGV_H
#define QNS_GUEST_ARGV_H

#include "qns-guest-spec.h"

#include <string>
#include <vector>

/* What a guest was prepared as: its QEMU command line and what its run is
 * judged by. */
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
    bool horizon = false; /* started with -qqq horizon=on */
    /* The regular files of spec.files, in the archive appended to its initrd. */
    std::vector<std::string> files;
    /* Restored from a snapshot: its key, and the stream QEMU restores
     * (-qqq restore=, given as QNS_GUEST_FD_SNAPSHOT); "" when booted. */
    std::string snapshotKey, snapshotStream;
    std::string snapshotStreamSha, snapshotRamSha; /* their SHA-256s */
    std::string snapshotDiskSha; /* its root disk overlay's, "" without one */
};

/* Checks spec (QnsGuestSpecCheck) and builds the command line of the
 * index-th guest of its simulation: RNG seed = seed + index, console in
 * outDir/NAME.console, -qqq spin=spinUs (a program, the test kit, gets
 * none), horizon: -qqq horizon=on, for adaptive rounds. False with the
 * reason, naming the guest, in err. */
bool QnsGuestDescribe(const QnsGuestSpec &spec, int index, uint32_t seed, uint32_t spinUs,
                      bool horizon, const std::string &outDir, QnsGuestDesc &out, std::string &err);

#endif
