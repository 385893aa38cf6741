/*
 * package_unpack.c - a package file (LEAF.tar.zst from qns pack) unpacked
 * beside it: rn_unpack into a new hidden folder there, which must hold one
 * folder with a manifest, then that folder moved into place by its own
 * name (or, when a folder of that name holds the same manifest, reused).
 */
#define _GNU_SOURCE
#include "environment.h"
#include "runner.h"
#include "unpack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

/* The one folder at the top of tmp, holding a manifest, or NULL after one line. */
static char *top_folder(const char *package, const char *tmp)
{
    GDir *d = g_dir_open(tmp, 0, NULL);
    const char *top = d ? g_dir_read_name(d) : NULL;
    char *name = top ? g_strdup(top) : NULL;
    if (d && (top == NULL || g_dir_read_name(d) != NULL)) {
        rn_error("%s is not a qns package (one folder at the top)", package);
        g_clear_pointer(&name, g_free);
    }
    if (d) {
        g_dir_close(d);
    }
    char *from = name ? g_build_filename(tmp, name, NULL) : NULL;
    char *manifest = from ? g_build_filename(from, RN_MANIFEST, NULL) : NULL;
    struct stat st;
    if (manifest && (lstat(manifest, &st) < 0 || !S_ISREG(st.st_mode))) {
        rn_error("%s is not a qns package (no %s/%s)", package, name, RN_MANIFEST);
        g_clear_pointer(&name, g_free);
    }
    g_free(manifest);
    g_free(from);
    return name;
}

/* Moves tmp/top to parent/top, or reuses parent/top when it holds this
 * package already: that folder, or NULL after one line. */
static char *put_in_place(const char *package, const char *tmp, const char *parent, const char *top)
{
    char *from = g_build_filename(tmp, top, NULL), *to = g_build_filename(parent, top, NULL);
    char *from_m = g_build_filename(from, RN_MANIFEST, NULL);
    char *to_m = g_build_filename(to, RN_MANIFEST, NULL);
    char *folder = NULL;
    struct stat st;
    if (lstat(to, &st) == 0 && S_ISLNK(st.st_mode)) {
        rn_error("%s unpacks into %s/, which is a symbolic link; qns writes only into a folder of "
                 "its own there: remove the link",
                 package, to);
    } else if (lstat(to, &st) == 0) {
        if (S_ISDIR(st.st_mode) && rn_same_contents(from_m, to_m)) {
            rn_say("verify: %s/ holds this package already (same manifest); verifying it", to);
            folder = g_strdup(to);
        } else {
            rn_error("%s unpacks into %s/, which holds another run; move one of them", package, to);
        }
    } else if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0) {
        rn_error("cannot rename %s to %s: %s", from, to, g_strerror(errno));
    } else {
        rn_say("verify: unpacked %s into %s/", package, to);
        folder = g_strdup(to);
    }
    g_free(to_m);
    g_free(from_m);
    g_free(to);
    g_free(from);
    return folder;
}

char *rn_package_unpack_limited(const char *package, const rn_unpack_limits *limits)
{
    if (rn_is_symlink(package)) {
        rn_error("%s is a symbolic link; qns unpacks a package only by its own name, so that it "
                 "unpacks beside it",
                 package);
        return NULL;
    }
    char *parent = g_path_get_dirname(package);
    char *tmp = rn_temp_dir(parent, ".qns-unpack-"), *folder = NULL, *why = NULL;
    if (tmp == NULL) {
        g_free(parent);
        return NULL;
    }
    if (rn_unpack(package, tmp, limits, NULL, &why) < 0) {
        rn_error("cannot unpack %s: %s", package, why);
    } else {
        char *top = top_folder(package, tmp);
        folder = top ? put_in_place(package, tmp, parent, top) : NULL;
        g_free(top);
    }
    rn_remove_tree(tmp);
    g_free(why);
    g_free(tmp);
    g_free(parent);
    return folder;
}

char *rn_package_unpack(const char *package)
{
    const rn_unpack_limits limits = RN_UNPACK_LIMITS;
    return rn_package_unpack_limited(package, &limits);
}
