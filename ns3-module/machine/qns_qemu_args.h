/*
 * qns_qemu_args.h - what may reach QEMU's command line from data: a guest
 * image's GUEST-INFO (which a package from a stranger carries) and a
 * scenario's extra_args (which a package's scenario may hold).
 *
 * QEMU's options can read, write and delete host files (-pidfile, -D,
 * -chardev, -drive, -readconfig, -object, romfile=...), start programs
 * (-netdev tap's script=) and open host sockets. Only options that qns
 * knows to be deterministic under -qqq and to touch nothing on the host
 * pass: the machine, its CPU and memory, the NIC models, and the switches
 * that keep QEMU from adding devices or reading config files.
 *
 *   if (qns_qemu_args_check(argv, err) < 0) -> err: "'-pidfile' ..."
 *   if (qns_guest_info_check("guest/GUEST-INFO", err) < 0) ...
 *
 * Errors are values: -1 with a one-line reason in errbuf (QNS_ERRBUF_SIZE
 * bytes) that names the refused word, escaped.
 */
#ifndef QNS_QEMU_ARGS_H
#define QNS_QEMU_ARGS_H

#include "qns_errbuf.h"

#ifdef __cplusplus
extern "C"
{
#endif

/* The seccomp filter every QEMU qns starts runs under. */
#define QNS_QEMU_SANDBOX "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

/* The options allowed, as the error messages list them. */
#define QNS_QEMU_ARGS_ALLOWED                                                                      \
    "-machine, -cpu, -smp, -m, -accel tcg, -display none, -vga none, -device e1000 or "            \
    "virtio-net-pci, -nodefaults, -no-user-config, -no-reboot"

    /* The machine a guest without an image's options gets (an own kernel),
     * and the one qns starts a bare QEMU as (its checks and benchmarks): a
     * PC with one qemu64 CPU under TCG, no default devices, no config file,
     * no display, no reboot. NULL-terminated. */
    extern const char *const qns_qemu_machine_args[];

    /* ARGV (NULL-terminated) holds only allowed options, each with a value
     * of the allowed shape: 0, or -1 with the first other word in errbuf. */
    int qns_qemu_args_check(const char *const *argv, char *errbuf);

    /* One -device value: an allowed NIC model with allowed properties. */
    int qns_qemu_device_check(const char *value, char *errbuf);

    /* A guest image's GUEST-INFO, read as data: only the groups [guest] and
     * [packages]; in [guest] only known keys; kernel, initrd and disk plain file
     * names in the image's folder; qemu_args allowed options plus -kernel and
     * -initrd naming those two files; nic_e1000 and nic_virtio allowed -device
     * values with netdev=ID and mac=MAC; no control bytes anywhere. 0, or -1
     * with the reason in errbuf. */
    int qns_guest_info_check(const char *path, char *errbuf);

    /* What a guest image's GUEST-INFO says, for QEMU's command line. */
    typedef struct qns_guest_info {
        char *kernel, *initrd, *cmdline; /* file names in the image's folder; its command line */
        char *nic_e1000, *nic_virtio;    /* -device templates with netdev=ID and mac=MAC */
        char *disk;                      /* a distribution image's root file system, or NULL */
        int snapshot; /* snapshot=yes: its init (or agent) booted with qns.boot=snapshot
                         waits for its configuration disk, so it can be saved there */
        char **machine; /* qemu_args' words (-m included) without -kernel and -initrd and
                           their values, NULL-terminated */
    } qns_guest_info;

    /* path read once and checked as qns_guest_info_check checks it, then its
     * entries: 0, or -1 with the reason (a required key missing: "PATH has no
     * KEY") in errbuf. qns_guest_info_clear frees it. */
    int qns_guest_info_read(const char *path, qns_guest_info *out, char *errbuf);
    void qns_guest_info_clear(qns_guest_info *gi);

#ifdef __cplusplus
}
#endif

#endif
