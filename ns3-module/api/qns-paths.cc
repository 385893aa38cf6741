/*
 * qns-paths.cc - the C API's names and places (qns.h): the cache folder,
 * the QEMU and guest image a configuration without them gets, default
 * MACs, name, key and address checks. The model computes them; this is their C face.
 */
#include "qns.h"

#include "qns-address.h"
#include "qns-file-hash.h"
#include "qns-guest-image.h"
#include "qns-guest-spec.h"

#include <cstdio>

extern "C" size_t qns_cache_dir(char *dir, size_t size)
{
    std::string d = QnsCacheDir();
    if (size > 0) {
        std::snprintf(dir, size, "%s", d.c_str());
    }
    return d.size();
}

extern "C" int qns_file_sha256(const char *path, char out[65], char *errbuf)
{
    std::string hex, err;
    if (!QnsFileSha256(path, hex, err)) {
        std::snprintf(errbuf, QNS_ERRBUF_SIZE, "%s", err.c_str());
        return -1;
    }
    std::snprintf(out, 65, "%s", hex.c_str());
    return 0;
}

extern "C" const char *qns_default_qemu(void)
{
    return QnsInstalledQemu();
}

extern "C" const char *qns_default_guest_dir(void)
{
    return QnsInstalledGuestDir();
}

extern "C" void qns_default_mac(int guest, int nic, char out[18])
{
    std::snprintf(out, 18, "%s", QnsDefaultMac(guest, nic).c_str());
}

extern "C" int qns_name_check(const char *kind, const char *name, char *errbuf)
{
    return QnsNameCheck(kind, name, errbuf);
}

extern "C" int qns_guest_key_check(const char *key, char *errbuf)
{
    return QnsGuestKeyCheck(key, errbuf);
}

extern "C" int qns_ipv4_check(const char *text, int with_prefix, char *errbuf)
{
    std::string err;
    if (!QnsIpv4Check(text ? text : "", with_prefix != 0, err)) {
        std::snprintf(errbuf, QNS_ERRBUF_SIZE, "%s", err.c_str());
        return -1;
    }
    return 0;
}
