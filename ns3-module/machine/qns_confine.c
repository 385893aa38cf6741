/*
 * qns_confine.c - bwrap's command line for QEMU (qns_confine.h). What QEMU
 * reads of the host apart from its inputs is listed here and nowhere else:
 * /usr (its libraries, seabios, ipxe and qemu-system-data's firmware), the
 * top-level links into it that a merged /usr has, and the loader's cache.
 */
#define _GNU_SOURCE
#include "qns_confine.h"

#include "qns_errbuf.h"
#include "qns_guest.h"

#include <glib.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Top-level folders the loader and QEMU's libraries may be named through:
 * links into /usr on a merged /usr (Debian's), folders elsewhere. */
static const char *const root_dirs[] = {"/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"};
/* Read-only besides /usr and the inputs, where they exist. */
static const char *const system_files[] = {"/etc/ld.so.cache"};
/* The devices it may open: no terminal (its session's would take input a
 * TIOCSTI pushed; a session of its own would put it in a scheduling
 * autogroup apart from the simulator, which slows every round), no pty. */
static const char *const devices[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                                      "/dev/urandom"};

int qns_confine_find(char **bwrap, char *errbuf)
{
    const char *opt_out = getenv(QNS_CONFINE_OPT_OUT);
    *bwrap = NULL;
    if (opt_out != NULL && strcmp(opt_out, "1") == 0) {
        return 0;
    }
    *bwrap = g_find_program_in_path("bwrap");
    if (*bwrap == NULL) {
        return qns_fail(errbuf,
                        "QEMU runs confined by bwrap, which is not on PATH: install the package "
                        "%s, or set %s=1 to run QEMU unconfined",
                        QNS_CONFINE_PACKAGE, QNS_CONFINE_OPT_OUT);
    }
    return 1;
}

int qns_confine_qemu_check(const char *qemu, char *errbuf)
{
    char *found = strchr(qemu, '/') ? g_strdup(qemu) : g_find_program_in_path(qemu);
    int e = found == NULL ? ENOENT : access(found, X_OK) < 0 ? errno : 0;
    g_free(found);
    return e == 0 ? 0 : qns_fail(errbuf, "cannot execute %s: %s", qemu, strerror(e));
}

static void add(GPtrArray *a, const char *w)
{
    g_ptr_array_add(a, g_strdup(w));
}

static int under_usr(const char *abs)
{
    return strcmp(abs, "/usr") == 0 || g_str_has_prefix(abs, "/usr/");
}

/* A read-only bind of path at the same place, absolute; none for what /usr
 * already shows, for / itself, or for a path that does not exist. */
static void bind_read(GPtrArray *a, const char *path)
{
    char *abs = g_canonicalize_filename(path, NULL);
    if (!under_usr(abs) && strcmp(abs, "/") != 0) {
        add(a, "--ro-bind-try");
        add(a, abs);
        add(a, abs);
    }
    g_free(abs);
}

/* The folder QEMU is installed in: that of its binary, or the one above a
 * bin/ (where share/qemu is found), whichever path names it. */
static void bind_qemu_dir(GPtrArray *a, const char *binary)
{
    char *dir = g_path_get_dirname(binary), *base = g_path_get_basename(dir);
    if (strcmp(base, "bin") == 0) {
        char *up = g_path_get_dirname(dir);
        g_free(dir);
        dir = up;
    }
    bind_read(a, dir);
    g_free(base);
    g_free(dir);
}

static void bind_qemu(GPtrArray *a, const char *qemu)
{
    char *found = strchr(qemu, '/') ? g_strdup(qemu) : g_find_program_in_path(qemu);
    if (found == NULL) {
        return; /* QEMU's exec then fails and says so */
    }
    bind_qemu_dir(a, found);
    /* A link to a QEMU elsewhere: its own folder too. */
    char *real = realpath(found, NULL);
    char *abs = g_canonicalize_filename(found, NULL);
    if (real != NULL && strcmp(real, abs) != 0) {
        bind_qemu_dir(a, real);
    }
    free(real);
    g_free(abs);
    g_free(found);
}

static void bind_root_dirs(GPtrArray *a)
{
    for (size_t i = 0; i < G_N_ELEMENTS(root_dirs); i++) {
        struct stat st;
        if (lstat(root_dirs[i], &st) < 0) {
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            char *target = g_file_read_link(root_dirs[i], NULL);
            if (target != NULL) {
                add(a, "--symlink");
                add(a, target);
                add(a, root_dirs[i]);
            }
            g_free(target);
        } else if (S_ISDIR(st.st_mode)) {
            bind_read(a, root_dirs[i]);
        }
    }
}

char **qns_confine_argv(const char *bwrap, const char *qemu, const char *const *reads, int tell_pid)
{
    return qns_confine_argv_writing(bwrap, qemu, reads, NULL, tell_pid);
}

char **qns_confine_argv_writing(const char *bwrap, const char *qemu, const char *const *reads,
                                const char *const *writes, int tell_pid)
{
    static const char *const options[] = {
        "--die-with-parent",
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--uid",
        QNS_CONFINE_ID,
        "--gid",
        QNS_CONFINE_ID,
        "--cap-drop",
        "ALL",
        "--as-pid-1",
        "--ro-bind",
        "/usr",
        "/usr",
    };
    static const char *const scratch[] = {"--proc",  "/proc",    "--tmpfs",    "/tmp",
                                          "--tmpfs", "/var/tmp", "--unsetenv", "TMPDIR"};
    GPtrArray *a = g_ptr_array_new();
    add(a, bwrap);
    for (size_t i = 0; i < G_N_ELEMENTS(options); i++) {
        add(a, options[i]);
    }
    if (tell_pid) {
        char info[16];
        snprintf(info, sizeof(info), "%d", QNS_GUEST_FD_INFO);
        add(a, "--info-fd");
        add(a, info);
    }
    bind_root_dirs(a);
    for (size_t i = 0; i < G_N_ELEMENTS(system_files); i++) {
        bind_read(a, system_files[i]);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(scratch); i++) {
        add(a, scratch[i]);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(devices); i++) {
        add(a, "--dev-bind-try");
        add(a, devices[i]);
        add(a, devices[i]);
    }
    bind_qemu(a, qemu);
    for (const char *const *r = reads; r && *r; r++) {
        bind_read(a, *r);
    }
    for (const char *const *w = writes; w && *w; w++) {
        char *abs = g_canonicalize_filename(*w, NULL);
        add(a, "--bind");
        add(a, abs);
        add(a, abs);
        g_free(abs);
    }
    add(a, "--");
    g_ptr_array_add(a, NULL);
    return (char **)g_ptr_array_free(a, FALSE);
}
