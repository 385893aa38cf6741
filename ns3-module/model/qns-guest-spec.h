/*
 * qns-guest-spec.h - a guest described once: what it boots, its memory, the
 * command it runs, its NICs, as typed fields. The C API fills one from a
 * qns_guest_config, QnsGuest's ns-3 attributes fill its own; QnsGuestSpecCheck
 * checks it (every check of a guest's settings is there) and
 * QnsGuestDescribe (qns-guest-argv.h) turns it into QEMU's command line.
 */
#ifndef QNS_GUEST_SPEC_H
#define QNS_GUEST_SPEC_H

#include "qns_limits.h"

#include <cstdint>
#include <string>
#include <vector>

enum class QnsNicModel {
    Virtio,
    E1000,
};

/* How a guest starts: booted from its kernel, or restored from a snapshot
 * of its machine booted once (qns-guest-snapshot.h); Auto: restored when
 * it can be (its image says snapshot=yes, and nothing of the guest's is
 * outside the snapshot), else booted. */
enum class QnsBoot {
    Auto,
    Cold,
    Snapshot,
};

struct QnsNicSpec {
    std::string ipv4; /* "A.B.C.D/P", a host of its subnet, set by the default guest; "" */
    std::string mac;  /* unicast "52:54:00:00:00:01"; "": QnsDefaultMac */
    QnsNicModel model = QnsNicModel::Virtio;
};

struct QnsGuestSpec {
    std::string name;           /* "": guestN */
    std::string qemu;           /* "": QnsInstalledQemu() */
    std::string guestDir;       /* the default guest image folder; "": QnsInstalledGuestDir() */
    std::string kernel, initrd; /* own ones instead of the default guest's; "" */
    std::string append;         /* own kernel command line (replaces the default's) */
    std::string kernelArgs;     /* added to the default guest's command line */
    std::string disk;           /* attached as a virtio disk in snapshot mode; "" */
    std::vector<std::string> diskBacking; /* the files disk names as its backing */
    uint32_t memoryMb = 0;                /* 0: the image's (QNS_MEMORY_MB_DEFAULT) */
    std::string command;                  /* run by the default guest, then it powers off; "" */
    std::string services;                 /* "udp-echo,tcp-sink,iperf3,httpd"; "" */
    std::vector<std::string> files;       /* "SRC:DST", packed after the initramfs */
    std::vector<std::string> extraArgs;   /* more QEMU arguments */
    bool hasProgram = false;              /* run program instead of QEMU (test kit) */
    std::vector<std::string> program;
    bool endsRun = false;
    bool agent = false; /* an own image whose init runs the qns agent */
    uint32_t icountShift = QNS_ICOUNT_SHIFT_DEFAULT;
    QnsBoot boot = QnsBoot::Auto;
    std::string snapshotDir; /* snapshots looked for here before the cache's; "" */
    /* Not a setting: asked while a snapshot is made (non-zero gives up). */
    int (*stop)(void *ctx) = nullptr;
    void *stopCtx = nullptr;
    /* Not a setting: told (with stopCtx) before a snapshot's boot. */
    void (*snapshotBoot)(void *ctx, const char *guest, const char *key) = nullptr;
    std::vector<QnsNicSpec> nics;
};

/* The name a guest has as the index-th of its simulation. */
std::string QnsGuestName(const QnsGuestSpec &spec, int index);

/* Every check of the settings alone (the name, the NICs, memory, icount
 * shift, what goes with what): true, or false with a reason naming the guest
 * (its index-th name) in err. */
bool QnsGuestSpecCheck(const QnsGuestSpec &spec, int index, std::string &err);

/* Guests, nodes and links are named with 1-QNS_NAME_MAX letters, digits,
 * '-' or '_'. 0, or -1 with "KIND name 'NAME' must be ..." in errbuf. */
int QnsNameCheck(const char *kind, const char *name, char *errbuf);

/* A guest's MAC when it names none: "52:54:00:GG:GG:NN" (guest index, NIC
 * index + 1). */
std::string QnsDefaultMac(int guest, int nic);

#endif
