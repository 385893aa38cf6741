/*
 * qns_confine.h - the confinement every QEMU qns starts runs under, besides
 * its own seccomp filter: bubblewrap (bwrap) puts it in new user, mount,
 * PID, network, IPC, UTS and cgroup namespaces, as uid and gid 65534 with no
 * capabilities and no way to gain any, in a session of its own. It sees the
 * host's /usr and its inputs read-only, an empty /tmp and /var/tmp (where
 * snapshot=on keeps a disk's overlay), its own /proc and a minimal /dev, and
 * nothing else: it can write no host file (but the folder a snapshot's boot
 * is saved into, qns_confine_argv_writing) and reach no host socket. The
 * descriptors it inherits (the grant pipes, the NIC sockets, the console)
 * stay open.
 *
 *   char *bwrap = NULL;
 *   int c = qns_confine_find(&bwrap, err);   1: confine, 0: opted out, -1: err
 *   char **pre = qns_confine_argv(bwrap, qemu, reads, 1);   bwrap ... --
 *
 * Errors are values: -1 with a one-line reason in errbuf (QNS_ERRBUF_SIZE).
 */
#ifndef QNS_CONFINE_H
#define QNS_CONFINE_H

#ifdef __cplusplus
extern "C"
{
#endif

/* QNS_QEMU_UNCONFINED=1 in the environment runs QEMU without bwrap. */
#define QNS_CONFINE_OPT_OUT "QNS_QEMU_UNCONFINED"
/* The Debian package that has bwrap. */
#define QNS_CONFINE_PACKAGE "bubblewrap"
/* The user and group QEMU runs as inside its user namespace. */
#define QNS_CONFINE_ID "65534"

    /* 1 with *bwrap (g_free) the bwrap found on PATH; 0 with *bwrap NULL when
     * QNS_QEMU_UNCONFINED=1; -1 with errbuf naming the package when there
     * is no bwrap on PATH. */
    int qns_confine_find(char **bwrap, char *errbuf);

    /* 0 when qemu (a path, or a name on PATH) is a file bwrap can execute
     * inside, else -1 with errbuf "cannot execute QEMU: why", the words a
     * failed exec of it has (bwrap's own would only reach the console). */
    int qns_confine_qemu_check(const char *qemu, char *errbuf);

    /* The words that run the command after them confined (g_strfreev):
     * bwrap, its options, read-only binds of QEMU's install folder (of qemu,
     * a path or a name on PATH) and of each of reads (NULL-terminated files
     * or folders, relative ones from the current folder; those that do not
     * exist are left out, so QEMU names them itself), then "--". With
     * tell_pid, bwrap writes the confined process's pid to
     * QNS_GUEST_FD_INFO, which qns_guest_spawn opens (qns_guest.h). */
    char **qns_confine_argv(const char *bwrap, const char *qemu, const char *const *reads,
                            int tell_pid);

    /* The same, and each folder of writes (NULL-terminated, existing) bound
     * writable at its place: where a snapshot's boot leaves its RAM file. */
    char **qns_confine_argv_writing(const char *bwrap, const char *qemu, const char *const *reads,
                                    const char *const *writes, int tell_pid);

#ifdef __cplusplus
}
#endif

#endif
