/*
 * qns-guest-argv.cc - QEMU command lines for guests.
 */
#include "qns-guest-argv.h"

#include "qns_confine.h"
#include "qns_files.h"
#include "qns_guest.h"
#include "qns_qemu_args.h"

#include <glib.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

std::string QnsDefaultMac(int guest, int nic)
{
    char out[18];
    std::snprintf(out, sizeof(out), "52:54:00:%02x:%02x:%02x", (guest >> 8) & 0xff, guest & 0xff,
                  (nic + 1) & 0xff);
    return out;
}

std::string QnsDefaultQemu(const char *configured)
{
    if (configured && *configured) {
        return configured;
    }
    return QnsInstalledQemu();
}

std::string QnsDefaultGuestDir(const char *configured)
{
    if (configured && *configured) {
        return configured;
    }
    return QnsInstalledGuestDir();
}

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

int QnsNameCheck(const char *kind, const char *name, char *errbuf)
{
    std::string n = name ? name : "";
    bool ok = !n.empty() && n.size() <= 32;
    for (char c : n) {
        ok = ok && (g_ascii_isalnum(c) || c == '-' || c == '_');
    }
    if (!ok && errbuf != nullptr) {
        std::snprintf(errbuf, QNS_ERRBUF_SIZE, "%s name '%s' must be 1-32 letters, digits, '-' or '_'",
                      kind, n.c_str());
    }
    return ok ? 0 : -1;
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

bool QnsGuestImageDir(const char *key, std::string &dir, std::string &err)
{
    std::string k = key ? key : "";
    char e[QNS_ERRBUF_SIZE];
    if (QnsGuestKeyCheck(key, e) < 0) {
        err = e;
        return false;
    }
    const char *env = std::getenv("QNS_GUEST_DIR");
    if (env && *env && GuestInfoKey(env) == k) {
        dir = env;
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

namespace
{

struct GuestInfo {
    std::string kernel, initrd, cmdline, nicE1000, nicVirtio;
    std::string disk;   /* a distribution image's root file system, or "" */
    std::string memory; /* the image's -m, used when the guest sets none */
    std::vector<std::string> machine;
};

std::vector<std::string> SplitWords(const std::string &s)
{
    std::vector<std::string> w;
    std::istringstream in(s);
    std::string x;
    while (in >> x) {
        w.push_back(x);
    }
    return w;
}

bool ReadGuestInfo(const std::string &dir, GuestInfo &gi, std::string &err)
{
    std::string path = dir + "/GUEST-INFO";
    char e[QNS_ERRBUF_SIZE];
    /* GUEST-INFO may come from a stranger's package: it is data, checked
     * before any of it reaches QEMU's command line. */
    if (g_file_test(path.c_str(), G_FILE_TEST_EXISTS) && qns_guest_info_check(path.c_str(), e) < 0) {
        err = std::string("guest image: ") + e;
        return false;
    }
    GKeyFile *kf = g_key_file_new();
    GError *ge = nullptr;
    if (!g_key_file_load_from_file(kf, path.c_str(), G_KEY_FILE_NONE, &ge)) {
        err = "default guest: cannot read " + path + ": " + ge->message;
        g_error_free(ge);
        g_key_file_free(kf);
        return false;
    }
    auto get = [&](const char *key, std::string &to) {
        gchar *v = g_key_file_get_string(kf, "guest", key, nullptr);
        if (v == nullptr) {
            err = "default guest: " + path + " has no " + key;
            return false;
        }
        to = v;
        g_free(v);
        return true;
    };
    std::string qemuArgs;
    bool ok = get("kernel", gi.kernel) && get("initrd", gi.initrd) && get("cmdline", gi.cmdline) &&
              get("qemu_args", qemuArgs) && get("nic_e1000", gi.nicE1000) &&
              get("nic_virtio", gi.nicVirtio);
    if (ok) {
        gchar *disk = g_key_file_get_string(kf, "guest", "disk", nullptr);
        gi.disk = disk ? disk : "";
        g_free(disk);
    }
    g_key_file_free(kf);
    if (!ok) {
        return false;
    }
    /* Machine options without the kernel and initrd, which are placed below. */
    auto words = SplitWords(qemuArgs);
    for (size_t i = 0; i < words.size(); i++) {
        if ((words[i] == "-kernel" || words[i] == "-initrd") && i + 1 < words.size()) {
            i++;
            continue;
        }
        gi.machine.push_back(words[i]);
    }
    return true;
}

std::string Replace(std::string s, const std::string &from, const std::string &to)
{
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) {
        s.replace(p, from.size(), to);
    }
    return s;
}

/* A file name as -drive's file= value: QEMU splits the value at commas and
 * reads ",," as one; a path with a comma would otherwise add options. */
std::string DriveFile(const std::string &path)
{
    return "file=" + Replace(path, ",", ",,");
}

bool ValidMac(const std::string &m)
{
    unsigned b[6];
    char tail;
    return m.size() == 17 && std::sscanf(m.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1],
                                         &b[2], &b[3], &b[4], &b[5], &tail) == 6;
}

/* The guest's own files in an archive after the default initramfs: initrd
 * becomes the combined initrd in the cache. */
bool PackFiles(const char *const *files, std::string &initrd, QnsGuestDesc &out, std::string &err)
{
    qns_files *f = qns_files_new();
    char e[QNS_ERRBUF_SIZE];
    char *path = nullptr;
    bool ok = true;
    for (const char *const *p = files; ok && *p; p++) {
        ok = qns_files_add(f, *p, nullptr, e) == 0;
    }
    ok = ok && qns_files_initrd(f, initrd.c_str(), QnsCacheDir().c_str(), &path, e) == 0;
    if (ok) {
        initrd = path;
        for (size_t i = 0; i < qns_files_count(f); i++) {
            out.files.emplace_back(qns_files_source(f, i));
        }
    } else {
        err = "guest " + out.name + ": files: " + e;
    }
    g_free(path);
    qns_files_free(f);
    return ok;
}

/* Runs argv (QEMU's) confined (qns_confine.h), seeing qemu and reads, unless
 * the user opted out. False with err when it cannot be. */
bool Confine(std::vector<std::string> &argv, const std::string &qemu,
             const std::vector<std::string> &reads, const std::string &name, std::string &err)
{
    char *bwrap = nullptr;
    char e[QNS_ERRBUF_SIZE];
    int c = qns_confine_find(&bwrap, e);
    if (c > 0 && qns_confine_qemu_check(qemu.c_str(), e) < 0) {
        c = -1;
    }
    if (c > 0) {
        std::vector<const char *> r;
        for (const auto &p : reads) {
            r.push_back(p.c_str());
        }
        r.push_back(nullptr);
        char **pre = qns_confine_argv(bwrap, qemu.c_str(), r.data(), 1);
        std::vector<std::string> words(pre, pre + g_strv_length(pre));
        argv.insert(argv.begin(), words.begin(), words.end());
        g_strfreev(pre);
    }
    g_free(bwrap);
    if (c < 0) {
        err = "guest " + name + ": " + e;
    }
    return c >= 0;
}

} // namespace

/* An own kernel or initrd runs its own init: what qns would tell the default
 * guest's /init (addresses, services, the command) reaches it only when the
 * image runs the qns agent (agent = yes), and then on the command line the
 * image's own append starts. Without it those settings would be silently
 * ignored: refused instead, as is an own kernel without a command line. */
bool OwnImageCheck(const qns_guest_config &cfg, const std::string &name, std::string &err)
{
    bool own = cfg.kernel != nullptr || cfg.initrd != nullptr;
    const char *hint = "; an own image gets them only if it runs the qns agent "
                       "(scenarios/guests/debian/qns-agent, its unit qns-agent.service) and says so with "
                       "agent = yes";
    if (cfg.agent && !own) {
        err = "guest " + name + ": agent: only for an own kernel or initrd (the default guest and "
              "qns's images run theirs)";
        return false;
    }
    if (cfg.kernel != nullptr && (cfg.append == nullptr || *cfg.append == '\0')) {
        err = "guest " + name + ": kernel: an own kernel needs append = its command line (at "
              "least console=ttyS0 for its console and root= for its disk); qns adds none";
        return false;
    }
    if (!own || cfg.agent) {
        return true;
    }
    if (cfg.command != nullptr) {
        err = "guest " + name + ": command: nothing in an own image would run it" + hint;
        return false;
    }
    if (cfg.services != nullptr && *cfg.services) {
        err = "guest " + name + ": services: nothing in an own image would start them" + hint;
        return false;
    }
    for (int i = 0; i < cfg.nic_count; i++) {
        if (cfg.nics[i].ipv4 != nullptr) {
            err = "guest " + name + ": nic" + std::to_string(i) +
                  ".ip: nothing in an own image would set the address (configure it in the "
                  "image)" + hint;
            return false;
        }
    }
    return true;
}

bool QnsGuestDescribe(const qns_guest_config &given, int index, uint32_t seed, uint32_t spinUs,
                      uint32_t icountShift, bool horizon,
                      const std::string &qemuGiven, const std::string &guestDirGiven,
                      const std::string &outDir, QnsGuestDesc &out, std::string &err)
{
    /* Confined, QEMU runs in a root of its own where the current folder is
     * not: its binary, image folder, kernel, initrd and disk are given to it
     * as the current folder would have resolved them. */
    auto abs = [](const std::string &p) {
        gchar *a = g_canonicalize_filename(p.c_str(), nullptr);
        std::string r = a;
        g_free(a);
        return r;
    };
    const std::string qemu = qemuGiven.find('/') != std::string::npos ? abs(qemuGiven) : qemuGiven;
    const std::string guestDir = guestDirGiven.empty() ? guestDirGiven : abs(guestDirGiven);
    qns_guest_config cfg = given;
    std::string absKernel = given.kernel ? abs(given.kernel) : "";
    std::string absInitrd = given.initrd ? abs(given.initrd) : "";
    std::string absDisk = given.disk ? abs(given.disk) : "";
    cfg.kernel = given.kernel ? absKernel.c_str() : nullptr;
    cfg.initrd = given.initrd ? absInitrd.c_str() : nullptr;
    cfg.disk = given.disk ? absDisk.c_str() : nullptr;
    out.name = cfg.name ? cfg.name : "guest" + std::to_string(index);
    char nameErr[QNS_ERRBUF_SIZE];
    if (QnsNameCheck("guest", out.name.c_str(), nameErr) < 0) {
        err = nameErr;
        return false;
    }
    if (cfg.nic_count < 0 || cfg.nic_count > QNS_MAX_NICS) {
        err = "guest " + out.name + ": " + std::to_string(cfg.nic_count) + " NICs, at most " +
              std::to_string(QNS_MAX_NICS);
        return false;
    }
    out.nicCount = cfg.nic_count;
    out.endsRun = cfg.ends_run != 0;
    out.console = outDir + "/" + out.name + ".console";
    for (int i = 0; i < cfg.nic_count; i++) {
        std::string mac;
        if (cfg.nics[i].mac) {
            mac = cfg.nics[i].mac;
        } else {
            mac = QnsDefaultMac(index, i);
        }
        if (!ValidMac(mac)) {
            err = "guest " + out.name + " NIC " + std::to_string(i) + ": bad MAC address '" + mac +
                  "'";
            return false;
        }
        if (std::strtoul(mac.substr(0, 2).c_str(), nullptr, 16) & 1) {
            err = "guest " + out.name + " NIC " + std::to_string(i) + ": MAC address " + mac +
                  " is a multicast address (lowest bit of the first byte set); a NIC needs a "
                  "unicast one, e.g. 52:54:00:00:00:01";
            return false;
        }
        out.macs.push_back(mac);
        out.ipv4s.push_back(cfg.nics[i].ipv4 ? cfg.nics[i].ipv4 : "");
    }

    if (cfg.kernel_args && *cfg.kernel_args && (cfg.program || cfg.kernel || cfg.append)) {
        err = "guest " + out.name + ": kernel_args adds to the default guest's command line; " +
              (cfg.program ? "a program has none"
                           : "with an own kernel or append, put them in append");
        return false;
    }
    bool hasFiles = cfg.files != nullptr && cfg.files[0] != nullptr;
    if (hasFiles && (cfg.program || cfg.kernel || cfg.initrd)) {
        err = "guest " + out.name + ": files go into the default guest's initramfs; " +
              (cfg.program  ? "a program has none"
               : cfg.kernel ? "with an own kernel, put them into its image when you build it"
                            : "with an own initrd, put them into it when you build it");
        return false;
    }
    char opt[64];
    if (cfg.program != nullptr) {
        for (const char *const *p = cfg.program; *p; p++) {
            out.argv.push_back(*p);
        }
        if (out.argv.empty()) {
            err = "guest " + out.name + ": empty program";
            return false;
        }
        qns_guest_qqq_option(opt, sizeof(opt));
        out.horizon = horizon;
        out.argv.insert(out.argv.begin() + 1,
                        {"-qqq", horizon ? opt + std::string(",horizon=on") : opt});
        for (int i = 0; i < cfg.nic_count; i++) {
            qns_guest_netdev_option(opt, sizeof(opt), ("n" + std::to_string(i)).c_str(), i);
            out.argv.insert(out.argv.begin() + 3 + 2 * i, {"-netdev", opt});
        }
        return true;
    }

    GuestInfo gi;
    bool ownKernel = cfg.kernel != nullptr;
    if (!OwnImageCheck(cfg, out.name, err)) {
        return false;
    }
    if (!ownKernel && !ReadGuestInfo(guestDir, gi, err)) {
        return false;
    }
    if (hasFiles && !ownKernel && !gi.disk.empty()) {
        /* The initramfs of an image that boots from its disk is gone once
         * its root is mounted. */
        err = "guest " + out.name + ": files go into the default guest's initramfs; an image that "
              "boots from its disk gets them when it is built (build-debian.sh --file SRC:DST)";
        return false;
    }
    if (ownKernel) {
        gi.machine = {"-machine", "pc", "-cpu", "qemu64", "-smp", "1", "-accel", "tcg",
                      "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"};
        gi.nicE1000 = "e1000,netdev=ID,mac=MAC";
        gi.nicVirtio = "virtio-net-pci,netdev=ID,mac=MAC";
    }
    out.argv.push_back(qemu);
    std::string memory = "256M";
    for (size_t i = 0; i < gi.machine.size(); i++) {
        if (gi.machine[i] == "-m" && i + 1 < gi.machine.size()) {
            memory = gi.machine[++i]; /* the image's, unless the guest sets its own */
            continue;
        }
        out.argv.push_back(gi.machine[i]);
    }
    out.argv.push_back("-m");
    out.argv.push_back(cfg.memory_mb ? std::to_string(cfg.memory_mb) + "M" : memory);
    out.argv.insert(out.argv.end(), {"-icount", "shift=" + std::to_string(icountShift) + ",sleep=off", "-rtc",
                                     "base=2020-01-01T00:00:00,clock=vm", "-seed",
                                     std::to_string(seed + static_cast<uint32_t>(index)),
                                     "-serial", "stdio"});
    std::vector<std::string> reads; /* QEMU's inputs, which its confinement shows */
    out.argv.push_back("-kernel");
    out.argv.push_back(ownKernel ? cfg.kernel : guestDir + "/" + gi.kernel);
    reads.push_back(out.argv.back());
    if (cfg.initrd || !ownKernel) {
        std::string initrd = cfg.initrd ? cfg.initrd : guestDir + "/" + gi.initrd;
        if (hasFiles && !PackFiles(cfg.files, initrd, out, err)) {
            return false;
        }
        out.argv.push_back("-initrd");
        out.argv.push_back(initrd);
        reads.push_back(initrd);
    }
    /* The default guest's /init, a qns image's agent, or an own image's
     * agent (agent = yes) reads the qns.* parameters and prints the markers. */
    bool agent = cfg.agent != 0;
    out.defaultInit = (cfg.initrd == nullptr && !ownKernel) || agent;
    out.runsCommand = out.defaultInit && cfg.command != nullptr && (cfg.append == nullptr || agent);
    std::string append;
    if (cfg.append && !agent) {
        append = cfg.append;
    } else if (!ownKernel || agent) {
        append = (cfg.append ? std::string(cfg.append) : gi.cmdline) + " qns.hostname=" + out.name;
        for (int i = 0; i < cfg.nic_count; i++) {
            if (cfg.nics[i].ipv4) {
                append += " qns.net=eth" + std::to_string(i) + "," + cfg.nics[i].ipv4;
            }
        }
        if (cfg.services && *cfg.services) {
            append += std::string(" qns.services=") + cfg.services;
        }
        if (cfg.kernel_args && *cfg.kernel_args) {
            append += std::string(" ") + cfg.kernel_args;
        }
        if (cfg.command) {
            gchar *b64 = g_base64_encode(reinterpret_cast<const guchar *>(cfg.command),
                                         std::strlen(cfg.command));
            append += std::string(" qns.cmd=") + b64;
            g_free(b64);
        }
    }
    if (!ownKernel && append.size() > QNS_DEFAULT_GUEST_CMDLINE_MAX) {
        err = "guest " + out.name + ": its kernel command line is " +
              std::to_string(append.size()) +
              " bytes, more than the default guest's kernel takes (" +
              std::to_string(QNS_DEFAULT_GUEST_CMDLINE_MAX) + ")";
        if (out.runsCommand) {
            err += "; the command (" + std::to_string(std::strlen(cfg.command)) +
                   " bytes) is base64-encoded into it: shorten it";
        }
        return false;
    }
    if (!append.empty()) {
        out.argv.push_back("-append");
        out.argv.push_back(append);
    }
    if (!ownKernel && !gi.disk.empty()) {
        /* A distribution image boots its root file system from its disk
         * (/dev/vda; a guest's own disk is then /dev/vdb); snapshot=on
         * keeps the cached image as it was built. */
        out.argv.push_back("-drive");
        out.argv.push_back(DriveFile(guestDir + "/" + gi.disk) + ",if=virtio,format=raw,snapshot=on");
        reads.push_back(guestDir + "/" + gi.disk);
    }
    if (cfg.disk) {
        out.argv.push_back("-drive");
        out.argv.push_back(DriveFile(cfg.disk) + ",if=virtio,snapshot=on");
        reads.push_back(cfg.disk);
        for (const char *const *b = cfg.disk_backing; b && *b; b++) {
            reads.push_back(*b);
        }
    }
    /* Guests are untrusted code, and so is what a package carries: QEMU
     * confines itself with seccomp before the guest runs (no exec, no
     * set*id, no scheduler or resource changes, no obsolete calls). */
    out.argv.insert(out.argv.end(), {"-sandbox", QNS_QEMU_SANDBOX});
    qns_guest_qqq_option(opt, sizeof(opt));
    out.argv.push_back("-qqq");
    out.horizon = horizon;
    out.argv.push_back(opt + (spinUs ? ",spin=" + std::to_string(spinUs) : std::string()) +
                       (horizon ? ",horizon=on" : ""));
    for (int i = 0; i < cfg.nic_count; i++) {
        std::string id = "n" + std::to_string(i);
        qns_guest_netdev_option(opt, sizeof(opt), id.c_str(), i);
        out.argv.push_back("-netdev");
        out.argv.push_back(opt);
        const std::string &tmpl = cfg.nics[i].model == QNS_NIC_E1000 ? gi.nicE1000 : gi.nicVirtio;
        out.argv.push_back("-device");
        out.argv.push_back(Replace(Replace(tmpl, "netdev=ID", "netdev=" + id), "mac=MAC",
                                   "mac=" + out.macs[static_cast<size_t>(i)]));
    }
    for (const char *const *p = cfg.extra_args; p && *p; p++) {
        out.argv.push_back(*p);
    }
    return Confine(out.argv, qemu, reads, out.name, err);
}
