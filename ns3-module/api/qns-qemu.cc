/*
 * qns-qemu.cc - QEMU itself as the C API shows it (qns.h): its version, from
 * a QEMU run confined as every one qns starts.
 */
#include "qns.h"

#include "qns_confine.h"

#include <glib.h>

#include <cstdlib>
#include <cstring>

extern "C" char *qns_qemu_version(const char *qemu)
{
    char *bwrap = nullptr, err[QNS_ERRBUF_SIZE];
    int c = qns_confine_find(&bwrap, err);
    if (c < 0) {
        return nullptr;
    }
    GStrvBuilder *sb = g_strv_builder_new();
    if (c > 0) {
        char **pre = qns_confine_argv(bwrap, qemu, nullptr, 0);
        g_strv_builder_addv(sb, const_cast<const char **>(pre));
        g_strfreev(pre);
    }
    g_strv_builder_add_many(sb, qemu, "--version", nullptr);
    g_free(bwrap);
    char **argv = g_strv_builder_end(sb);
    g_strv_builder_unref(sb);
    char *out = nullptr;
    char *line = nullptr;
    if (g_spawn_sync(nullptr, argv, nullptr, G_SPAWN_STDERR_TO_DEV_NULL, nullptr, nullptr, &out,
                     nullptr, nullptr, nullptr) &&
        out != nullptr) {
        out[std::strcspn(out, "\n")] = '\0';
        line = strdup(out);
    }
    g_free(out);
    g_strfreev(argv);
    return line;
}
