/*
 * qns-guest-image.cc - where a guest's image is, and what its GUEST-INFO says.
 */
#include "qns-guest-image.h"

#include "qns_errbuf.h"
#include "qns_limits.h"
#include "qns_qemu_args.h"

#include <glib.h>

#include <cstdio>
#include <cstdlib>

namespace
{

/* The key= of DIR/GUEST-INFO, or "". */
std::string GuestInfoKey(const std::string &dir)
{
    std::string path = dir + "/GUEST-INFO", key;
    GKeyFile *kf = g_key_file_new();
    if (g_key_file_load_from_file(kf, path.c_str(), G_KEY_FILE_NONE, nullptr)) {
        gchar *v = g_key_file_get_string(kf, "guest", "key", nullptr);
        key = v ? v : "";
        g_free(v);
    }
    g_key_file_free(kf);
    return key;
}

} // namespace

std::string QnsCacheDir()
{
    const char *cache = std::getenv("QNS_CACHE_DIR"), *xdg = std::getenv("XDG_CACHE_HOME");
    return cache && *cache ? cache
           : xdg && *xdg   ? std::string(xdg) + "/qns"
                           : std::string(g_get_home_dir()) + "/.cache/qns";
}

int QnsGuestKeyCheck(const char *key, char *errbuf)
{
    std::string k = key ? key : "";
    if (k.empty() || k.size() > 64 ||
        k.find_first_not_of("0123456789abcdef") != std::string::npos) {
        if (errbuf != nullptr) {
            std::snprintf(errbuf, QNS_ERRBUF_SIZE,
                          "guest image key '%s' is not a key (up to 64 hex digits, e.g. from qns "
                          "guest list)",
                          k.c_str());
        }
        return -1;
    }
    return 0;
}

bool QnsGuestImageDir(const char *key, const std::string &first, std::string &dir, std::string &err)
{
    std::string k = key ? key : "";
    char e[QNS_ERRBUF_SIZE];
    if (QnsGuestKeyCheck(key, e) < 0) {
        err = e;
        return false;
    }
    const char *env = std::getenv("QNS_GUEST_DIR");
    const std::string look = !first.empty() ? first : env ? env : "";
    if (!look.empty() && GuestInfoKey(look) == k) {
        dir = look;
        return true;
    }
    std::string cand = QnsCacheDir() + "/guest/" + k;
    /* An image imported from a package stands under the hash of its files
     * (qns guest import checked it), apart from what the build made. */
    std::string imported = QnsCacheDir() + "/" + QNS_IMPORTED_GUESTS + "/" + k;
    if (GuestInfoKey(cand) == k) {
        dir = cand;
    } else if (g_file_test((imported + "/GUEST-INFO").c_str(), G_FILE_TEST_IS_REGULAR)) {
        dir = imported;
    } else {
        err = "guest image " + k + " is not in the cache (no " + cand +
              "/GUEST-INFO with that key); build it, or qns guest import a package that "
              "carries it";
        return false;
    }
    return true;
}

bool QnsReadGuestInfo(const std::string &dir, QnsGuestInfo &gi, std::string &err)
{
    std::string path = dir + "/GUEST-INFO";
    char e[QNS_ERRBUF_SIZE];
    qns_guest_info info;
    /* GUEST-INFO may come from a stranger's package: it is data, read once
     * and checked before any of it reaches QEMU's command line. */
    if (qns_guest_info_read(path.c_str(), &info, e) < 0) {
        bool there = g_file_test(path.c_str(), G_FILE_TEST_EXISTS);
        err = std::string(there ? "guest image: " : "default guest: ") + e;
        return false;
    }
    gi.kernel = info.kernel;
    gi.initrd = info.initrd;
    gi.cmdline = info.cmdline;
    gi.nicE1000 = info.nic_e1000;
    gi.nicVirtio = info.nic_virtio;
    gi.disk = info.disk ? info.disk : "";
    gi.snapshot = info.snapshot != 0;
    gi.machine.assign(info.machine, info.machine + g_strv_length(info.machine));
    qns_guest_info_clear(&info);
    return true;
}
