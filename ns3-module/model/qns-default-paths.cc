/*
 * qns-default-paths.cc - where this library finds the patched QEMU and the
 * default guest image when neither the config nor the environment names
 * them: next to the installed library (relative to the file it is loaded
 * from, so an install prefix can move), or, for the library still in the
 * build folder it was built in, the build's QEMU and guest image.
 *
 * Not for packages (a package's own image is named by QNS_GUEST_DIR, see
 * the runner) nor for guest images by key (qns-guest-argv.cc).
 */
#include "qns-guest-image.h"

#include <dlfcn.h>

#include <climits>
#include <cstdlib>
#include <string>

#ifndef QNS_BUILD_QEMU
#define QNS_BUILD_QEMU "qemu-system-x86_64"
#endif
#ifndef QNS_BUILD_GUEST_DIR
#define QNS_BUILD_GUEST_DIR "guest"
#endif
#ifndef QNS_BUILD_LIBDIR
#define QNS_BUILD_LIBDIR ""
#endif
#ifndef QNS_INSTALL_LIBDIR
#define QNS_INSTALL_LIBDIR "lib"
#endif
#ifndef QNS_INSTALL_QEMU
#define QNS_INSTALL_QEMU "libexec/qns/qemu/bin/qemu-system-x86_64"
#endif
#ifndef QNS_INSTALL_GUEST_DIR
#define QNS_INSTALL_GUEST_DIR "share/qns/guest"
#endif

namespace
{

struct DefaultPaths {
    std::string qemu, guestDir;
};

std::string RealPath(const char *path)
{
    char buf[PATH_MAX];
    return path && *path && realpath(path, buf) ? buf : "";
}

std::string Dirname(const std::string &path)
{
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

/* PREFIX/rel, or rel itself when it is absolute. */
std::string UnderPrefix(const std::string &prefix, const char *rel)
{
    return rel[0] == '/' ? rel : prefix + "/" + rel;
}

/* The install prefix of a library in libDir: libDir less QNS_INSTALL_LIBDIR
 * when it ends so, else its parent. */
std::string PrefixOf(const std::string &libDir)
{
    std::string tail = std::string("/") + QNS_INSTALL_LIBDIR;
    if (libDir.size() > tail.size() &&
        libDir.compare(libDir.size() - tail.size(), tail.size(), tail) == 0) {
        return libDir.substr(0, libDir.size() - tail.size());
    }
    return Dirname(libDir);
}

DefaultPaths Locate()
{
    static const char self = 0; /* an address inside this library */
    Dl_info info{};
    std::string lib = dladdr(&self, &info) ? RealPath(info.dli_fname) : "";
    std::string libDir = lib.empty() ? "" : Dirname(lib);
    if (libDir.empty() || libDir == RealPath(QNS_BUILD_LIBDIR)) {
        return {QNS_BUILD_QEMU, QNS_BUILD_GUEST_DIR};
    }
    std::string prefix = PrefixOf(libDir);
    return {UnderPrefix(prefix, QNS_INSTALL_QEMU), UnderPrefix(prefix, QNS_INSTALL_GUEST_DIR)};
}

/* Where the library lies does not change while it is loaded: found once. */
const DefaultPaths &Builtin()
{
    static const DefaultPaths paths = Locate();
    return paths;
}

const char *FromEnv(const char *name, const std::string &builtin)
{
    const char *env = std::getenv(name);
    return env && *env ? env : builtin.c_str();
}

} // namespace

const char *QnsInstalledQemu()
{
    return FromEnv("QNS_QEMU", Builtin().qemu);
}

const char *QnsInstalledGuestDir()
{
    return FromEnv("QNS_GUEST_DIR", Builtin().guestDir);
}
