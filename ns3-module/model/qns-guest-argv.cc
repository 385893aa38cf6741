/*
 * qns-guest-argv.cc - QEMU command lines for guests, in steps.
 */
#include "qns-guest-argv.h"

#include "qns-file-hash.h"
#include "qns-guest-image.h"
#include "qns-guest-snapshot.h"

#include "qns_confine.h"
#include "qns_files.h"
#include "qns_guest.h"
#include "qns_qemu_args.h"
#include "qns_snapshot.h"

#include <glib.h>

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace
{

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

/* Confined, QEMU runs in a root of its own where the current folder is not:
 * its binary, image folder, kernel, initrd and disk are given to it as the
 * current folder would have resolved them. */
std::string Absolute(const std::string &p)
{
    if (p.empty()) {
        return p;
    }
    gchar *a = g_canonicalize_filename(p.c_str(), nullptr);
    std::string r = a;
    g_free(a);
    return r;
}

/* One guest's command line while it is being built. */
struct Build {
    const QnsGuestSpec &spec;
    int index;
    std::string qemu, guestDir, kernel, initrd, disk; /* resolved */
    QnsGuestInfo gi;
    bool ownKernel;
    std::vector<std::string> reads; /* QEMU's inputs, which its confinement shows */
    QnsGuestDesc &out;
};

std::string QqqOption(uint32_t spinUs, bool horizon)
{
    char opt[64];
    qns_guest_qqq_option(opt, sizeof(opt));
    return opt + (spinUs ? ",spin=" + std::to_string(spinUs) : std::string()) +
           (horizon ? ",horizon=on" : "");
}

std::string NetdevOption(int nic)
{
    char opt[64];
    qns_guest_netdev_option(opt, sizeof(opt), ("n" + std::to_string(nic)).c_str(), nic);
    return opt;
}

/* The test kit's program: its words, then -qqq and a -netdev per NIC. */
void ProgramArgv(const Build &b, bool horizon)
{
    auto &argv = b.out.argv;
    argv = b.spec.program;
    argv.insert(argv.begin() + 1, {"-qqq", QqqOption(0, horizon)});
    for (int i = 0; i < b.out.nicCount; i++) {
        argv.insert(argv.begin() + 3 + 2 * i, {"-netdev", NetdevOption(i)});
    }
}

/* The image's machine options (an own kernel gets qns's), its memory unless
 * the guest sets its own, and the clock: icount, the RTC and the seed. */
void MachineArgv(Build &b, const uint32_t *seed)
{
    if (b.ownKernel) {
        b.gi.machine.clear();
        for (const char *const *a = qns_qemu_machine_args; *a; a++) {
            b.gi.machine.emplace_back(*a);
        }
        b.gi.nicE1000 = "e1000,netdev=ID,mac=MAC";
        b.gi.nicVirtio = "virtio-net-pci,netdev=ID,mac=MAC";
    }
    auto &argv = b.out.argv;
    argv.push_back(b.qemu);
    std::string memory = std::to_string(QNS_MEMORY_MB_DEFAULT) + "M";
    for (size_t i = 0; i < b.gi.machine.size(); i++) {
        if (b.gi.machine[i] == "-m" && i + 1 < b.gi.machine.size()) {
            memory = b.gi.machine[++i]; /* the image's, unless the guest sets its own */
            continue;
        }
        argv.push_back(b.gi.machine[i]);
    }
    argv.push_back("-m");
    argv.push_back(b.spec.memoryMb ? std::to_string(b.spec.memoryMb) + "M" : memory);
    argv.insert(argv.end(), {"-icount", "shift=" + std::to_string(b.spec.icountShift) + ",sleep=off",
                             "-rtc", "base=2020-01-01T00:00:00,clock=vm"});
    if (seed != nullptr) {
        argv.insert(argv.end(), {"-seed", std::to_string(*seed + static_cast<uint32_t>(b.index))});
    }
    argv.insert(argv.end(), {"-serial", "stdio"});
}

/* The guest's own files in an archive after the default initramfs: initrd
 * becomes the combined initrd in the cache. */
bool PackFiles(Build &b, std::string &initrd, std::string &err)
{
    qns_files *f = qns_files_new();
    char e[QNS_ERRBUF_SIZE];
    char *path = nullptr;
    bool ok = true;
    for (size_t i = 0; ok && i < b.spec.files.size(); i++) {
        ok = qns_files_add(f, b.spec.files[i].c_str(), nullptr, e) == 0;
    }
    ok = ok && qns_files_initrd(f, initrd.c_str(), QnsCacheDir().c_str(), &path, e) == 0;
    if (ok) {
        initrd = path;
        for (size_t i = 0; i < qns_files_count(f); i++) {
            b.out.files.emplace_back(qns_files_source(f, i));
        }
    } else {
        err = "guest " + b.out.name + ": files: " + e;
    }
    g_free(path);
    qns_files_free(f);
    return ok;
}

/* -kernel and -initrd: the image's or the guest's own, with its files. */
bool BootArgv(Build &b, std::string &err)
{
    auto &argv = b.out.argv;
    argv.push_back("-kernel");
    argv.push_back(b.ownKernel ? b.kernel : b.guestDir + "/" + b.gi.kernel);
    b.reads.push_back(argv.back());
    if (b.initrd.empty() && b.ownKernel) {
        return true;
    }
    std::string initrd = !b.initrd.empty() ? b.initrd : b.guestDir + "/" + b.gi.initrd;
    if (!b.spec.files.empty() && !PackFiles(b, initrd, err)) {
        return false;
    }
    argv.push_back("-initrd");
    argv.push_back(initrd);
    b.reads.push_back(initrd);
    return true;
}

/* The words of kernel_args that are qns.* parameters (for /init: restored,
 * they are configuration) or not (for the kernel: part of the machine). */
std::string KernelArgWords(const QnsGuestSpec &s, bool qns)
{
    std::string out;
    gchar **words = g_strsplit_set(s.kernelArgs.c_str(), " \t", -1);
    for (gchar **w = words; *w; w++) {
        if (**w && g_str_has_prefix(*w, "qns.") == qns) {
            out += std::string(" ") + *w;
        }
    }
    g_strfreev(words);
    return out;
}

/* The qns.* words the default guest's /init (or the qns agent) reads. */
std::string AgentWords(const Build &b, bool restored)
{
    const QnsGuestSpec &s = b.spec;
    std::string words = " qns.hostname=" + b.out.name;
    for (size_t i = 0; restored && i < s.nics.size(); i++) {
        /* A restored NIC has the snapshot's MAC: the guest sets its own. */
        words += " qns.mac=eth" + std::to_string(i) + "," + b.out.macs[i];
    }
    for (size_t i = 0; i < s.nics.size(); i++) {
        if (!s.nics[i].ipv4.empty()) {
            words += " qns.net=eth" + std::to_string(i) + "," + s.nics[i].ipv4;
        }
    }
    if (!s.services.empty()) {
        words += " qns.services=" + s.services;
    }
    if (!s.kernelArgs.empty()) {
        words += restored ? KernelArgWords(s, true) : " " + s.kernelArgs;
    }
    if (!s.command.empty()) {
        gchar *b64 =
            g_base64_encode(reinterpret_cast<const guchar *>(s.command.data()), s.command.size());
        words += std::string(" qns.cmd=") + b64;
        g_free(b64);
    }
    return words;
}

/* -append: an own command line as it is, or the image's (or the agent
 * image's own) followed by the qns.* words. */
bool KernelCommandLine(Build &b, std::string &err)
{
    const QnsGuestSpec &s = b.spec;
    /* The default guest's /init, a qns image's agent, or an own image's
     * agent (agent = yes) reads the qns.* parameters and prints the markers. */
    b.out.defaultInit = (s.initrd.empty() && !b.ownKernel) || s.agent;
    b.out.runsCommand = b.out.defaultInit && !s.command.empty() && (s.append.empty() || s.agent);
    std::string append;
    if (!s.append.empty() && !s.agent) {
        append = s.append;
    } else if (!b.ownKernel || s.agent) {
        append = (!s.append.empty() ? s.append : b.gi.cmdline) + AgentWords(b, false);
    }
    if (!b.ownKernel && append.size() > QNS_DEFAULT_GUEST_CMDLINE_MAX) {
        err = "guest " + b.out.name + ": its kernel command line is " +
              std::to_string(append.size()) +
              " bytes, more than the default guest's kernel takes (" +
              std::to_string(QNS_DEFAULT_GUEST_CMDLINE_MAX) + ")";
        if (b.out.runsCommand) {
            err += "; the command (" + std::to_string(s.command.size()) +
                   " bytes) is base64-encoded into it: shorten it";
        }
        return false;
    }
    if (!append.empty()) {
        b.out.argv.insert(b.out.argv.end(), {"-append", append});
    }
    return true;
}

/* A distribution image's root disk and the guest's own disk. */
void DiskArgv(Build &b)
{
    auto &argv = b.out.argv;
    if (!b.ownKernel && !b.gi.disk.empty()) {
        /* A distribution image boots its root file system from its disk
         * (/dev/vda; a guest's own disk is then /dev/vdb); snapshot=on
         * keeps the cached image as it was built. */
        const std::string root = b.guestDir + "/" + b.gi.disk;
        argv.insert(argv.end(), {"-drive", DriveFile(root) + ",if=virtio,format=raw,snapshot=on"});
        b.reads.push_back(root);
    }
    if (!b.disk.empty()) {
        argv.insert(argv.end(), {"-drive", DriveFile(b.disk) + ",if=virtio,snapshot=on"});
        b.reads.push_back(b.disk);
        b.reads.insert(b.reads.end(), b.spec.diskBacking.begin(), b.spec.diskBacking.end());
    }
}

/* Each NIC's -netdev qqq and -device from the image's template, with the
 * guest's MACs (or, for a snapshot, the snapshot's: QnsDefaultMac of guest
 * 0), then the guest's extra arguments. */
void NicArgv(Build &b, bool snapshotMacs)
{
    auto &argv = b.out.argv;
    for (int i = 0; i < b.out.nicCount; i++) {
        const std::string id = "n" + std::to_string(i);
        const std::string &tmpl = b.spec.nics[static_cast<size_t>(i)].model == QnsNicModel::E1000
                                      ? b.gi.nicE1000
                                      : b.gi.nicVirtio;
        const std::string mac =
            snapshotMacs ? QnsDefaultMac(0, i) : b.out.macs[static_cast<size_t>(i)];
        argv.insert(argv.end(),
                    {"-netdev", NetdevOption(i), "-device",
                     Replace(Replace(tmpl, "netdev=ID", "netdev=" + id), "mac=MAC", "mac=" + mac)});
    }
    argv.insert(argv.end(), b.spec.extraArgs.begin(), b.spec.extraArgs.end());
}

/* The sandbox, -qqq and each NIC's -netdev qqq and -device from the image's
 * template, then the guest's extra arguments. */
void GrantAndNicArgv(Build &b, uint32_t spinUs, bool horizon)
{
    auto &argv = b.out.argv;
    /* Guests are untrusted code, and so is what a package carries: QEMU
     * confines itself with seccomp before the guest runs (no exec, no
     * set*id, no scheduler or resource changes, no obsolete calls). */
    argv.insert(argv.end(), {"-sandbox", QNS_QEMU_SANDBOX, "-qqq", QqqOption(spinUs, horizon)});
    NicArgv(b, false);
}

/* Runs argv (QEMU's) confined (qns_confine.h), seeing qemu and reads, unless
 * the user opted out. False with err when it cannot be. */
bool ConfineArgv(Build &b, std::vector<std::string> &argv, const std::vector<std::string> &writes,
                 std::string &err)
{
    char *bwrap = nullptr;
    char e[QNS_ERRBUF_SIZE];
    int c = qns_confine_find(&bwrap, e);
    if (c > 0 && qns_confine_qemu_check(b.qemu.c_str(), e) < 0) {
        c = -1;
    }
    if (c > 0) {
        std::vector<const char *> r;
        for (const auto &p : b.reads) {
            r.push_back(p.c_str());
        }
        r.push_back(nullptr);
        std::vector<const char *> w;
        for (const auto &p : writes) {
            w.push_back(p.c_str());
        }
        w.push_back(nullptr);
        char **pre = qns_confine_argv_writing(bwrap, b.qemu.c_str(), r.data(), w.data(), 1);
        argv.insert(argv.begin(), pre, pre + g_strv_length(pre));
        g_strfreev(pre);
    }
    g_free(bwrap);
    if (c < 0) {
        err = "guest " + b.out.name + ": " + e;
    }
    return c >= 0;
}

bool Confine(Build &b, std::string &err)
{
    return ConfineArgv(b, b.out.argv, {}, err);
}

/* -drive and -device of the configuration disk a snapshot's guest reads. */
std::vector<std::string> ConfigDiskArgv(const std::string &file)
{
    return {"-drive", DriveFile(file) + ",if=none,id=qns-config,format=raw,readonly=on", "-device",
            "virtio-blk-pci,drive=qns-config,serial=qns-config"};
}

/* Guest RAM in `file`: shared while a boot saves it, privately mapped and
 * never written by a restore (qemu-patch/0011). */
std::vector<std::string> RamArgv(const std::string &memory, const std::string &file, bool save)
{
    return {"-object",
            "memory-backend-file,id=qns-ram,size=" + memory + ",mem-path=" + file +
                (save ? ",share=on" : ",share=off,readonly=on,rom=off"),
            "-machine", "memory-backend=qns-ram"};
}

std::string MemoryOf(const std::vector<std::string> &argv)
{
    for (size_t i = 0; i + 1 < argv.size(); i++) {
        if (argv[i] == "-m") {
            return argv[i + 1];
        }
    }
    return std::to_string(QNS_MEMORY_MB_DEFAULT) + "M";
}

/* What a snapshot cannot carry yet, or "". */
std::string SnapshotRefusal(const Build &b)
{
    const QnsGuestSpec &s = b.spec;
    if (s.hasProgram || b.ownKernel || !s.initrd.empty() || !s.append.empty() || s.agent) {
        return "it takes an image's kernel, initrd and command line";
    }
    if (!b.gi.snapshot) {
        return "the image's init cannot wait for its configuration (its GUEST-INFO has no "
               "snapshot=yes; an image built before snapshots were: build it again)";
    }
    if (!s.disk.empty()) {
        return "a guest's own disk is not in a snapshot (an image's root disk is)";
    }
    return "";
}

/* -drive and -device of an image's root disk in a snapshot: the overlay
 * the boot wrote (qns-guest-snapshot.h) over the image's disk; a restore
 * writes to a throw-away overlay of its own (snapshot=on). */
std::vector<std::string> RootDiskArgv(const std::string &overlay, const std::string &base,
                                      bool restore)
{
    return {"-drive",
            DriveFile(overlay) + ",if=none,id=qns-root,format=qcow2,backing.driver=raw,"
                                 "backing.file.filename=" +
                Replace(base, ",", ",,") + (restore ? ",snapshot=on" : ""),
            "-device", "virtio-blk-pci,drive=qns-root"};
}

/* boot = snapshot: the machine without its seed, -qqq, RAM backend and
 * configuration disk (what the snapshot's key is made of), booted once into
 * the cache, then restored with this guest's configuration on its disk. */
bool SnapshotArgv(Build &b, uint32_t seed, uint32_t spinUs, bool horizon, std::string &err)
{
    const QnsGuestSpec &s = b.spec;
    std::string refusal = SnapshotRefusal(b);
    if (!refusal.empty()) {
        err = "guest " + b.out.name + ": boot = snapshot: " + refusal + "; use boot = cold";
        return false;
    }
    if (b.qemu.find('/') != std::string::npos && access(b.qemu.c_str(), X_OK) < 0) {
        err = "guest " + b.out.name + ": cannot execute " + b.qemu + ": " + g_strerror(errno);
        return false;
    }
    b.out.defaultInit = true;
    b.out.runsCommand = !s.command.empty();
    MachineArgv(b, nullptr);
    if (!BootArgv(b, err)) {
        return false;
    }
    auto &argv = b.out.argv;
    argv.insert(argv.end(),
                {"-append", b.gi.cmdline + KernelArgWords(s, false) + " qns.boot=snapshot",
                 "-sandbox", QNS_QEMU_SANDBOX});
    NicArgv(b, true);
    const std::vector<std::string> machine = argv;
    std::string key, inputs, dir, config;
    /* An image's root disk: /dev/vda, before the configuration disk. */
    const std::string root = b.gi.disk.empty() ? "" : b.guestDir + "/" + b.gi.disk;
    std::vector<std::string> keyWords(machine);
    if (!root.empty()) {
        keyWords.insert(keyWords.end(), {"root-disk", root});
        b.reads.push_back(root);
    }
    std::vector<std::string> files(b.reads);
    files.push_back(machine[0]);
    if (!QnsSnapshotKey(keyWords, files, key, inputs, err)) {
        err = "guest " + b.out.name + ": snapshot: " + err;
        return false;
    }
    const std::string memory = MemoryOf(machine);
    char qqq[64];
    qns_guest_qqq_option(qqq, sizeof(qqq));
    auto boot = [&](const std::string &into, const std::string &zeros,
                    std::vector<std::string> &out, std::string &e) {
        out = machine;
        out.insert(out.end(), {"-seed", "1"});
        if (!root.empty()) {
            if (!QnsSnapshotDiskOverlay(root, into, e)) {
                return false;
            }
            for (auto &w : RootDiskArgv(into + "/" QNS_SNAPSHOT_DISK, root, false)) {
                out.push_back(w);
            }
        }
        for (auto &w : ConfigDiskArgv(zeros)) {
            out.push_back(w);
        }
        for (auto &w : RamArgv(memory, into + "/ram", true)) {
            out.push_back(w);
        }
        out.insert(out.end(),
                   {"-qqq", std::string(qqq) + ",save=" + std::to_string(QNS_GUEST_FD_SNAPSHOT)});
        b.reads.push_back(zeros);
        bool ok = ConfineArgv(b, out, {into}, e);
        b.reads.pop_back();
        return ok;
    };
    if (!QnsSnapshotConfigDisk(AgentWords(b, true).substr(1) + "\n", config, err) ||
        !QnsSnapshotEnsure(b.out.name, key, inputs, s.snapshotDir, b.out.nicCount, boot,
                           {s.stop, s.stopCtx, s.snapshotBoot}, dir, err) ||
        !QnsFileSha256(dir + "/stream", b.out.snapshotStreamSha, err) ||
        !QnsFileSha256(dir + "/ram", b.out.snapshotRamSha, err) ||
        (!root.empty() &&
         !QnsFileSha256(dir + "/" QNS_SNAPSHOT_DISK, b.out.snapshotDiskSha, err))) {
        err = err.rfind("guest ", 0) == 0 ? err : "guest " + b.out.name + ": " + err;
        return false;
    }
    argv.insert(argv.end(), {"-seed", std::to_string(seed + static_cast<uint32_t>(b.index))});
    if (!root.empty()) {
        char e[QNS_ERRBUF_SIZE];
        if (qns_snapshot_disk_check((dir + "/" QNS_SNAPSHOT_DISK).c_str(), e) < 0) {
            err = "guest " + b.out.name + ": snapshot: " + e;
            return false;
        }
        for (auto &w : RootDiskArgv(dir + "/" QNS_SNAPSHOT_DISK, root, true)) {
            argv.push_back(w);
        }
        b.reads.push_back(dir + "/" QNS_SNAPSHOT_DISK);
    }
    for (auto &w : ConfigDiskArgv(config)) {
        argv.push_back(w);
    }
    for (auto &w : RamArgv(memory, dir + "/ram", false)) {
        argv.push_back(w);
    }
    argv.insert(argv.end(), {"-qqq", QqqOption(spinUs, horizon) + ",restore=" +
                                         std::to_string(QNS_GUEST_FD_SNAPSHOT)});
    b.reads.insert(b.reads.end(), {dir + "/ram", config});
    b.out.snapshotKey = key;
    b.out.snapshotStream = dir + "/stream";
    return Confine(b, err);
}

/* The name, console, NICs' MACs and addresses the run is judged by. */
void Identity(Build &b, const std::string &outDir)
{
    QnsGuestDesc &out = b.out;
    out.name = QnsGuestName(b.spec, b.index);
    out.nicCount = static_cast<int>(b.spec.nics.size());
    out.endsRun = b.spec.endsRun;
    out.console = outDir + "/" + out.name + ".console";
    for (size_t i = 0; i < b.spec.nics.size(); i++) {
        const QnsNicSpec &n = b.spec.nics[i];
        out.macs.push_back(n.mac.empty() ? QnsDefaultMac(b.index, static_cast<int>(i)) : n.mac);
        out.ipv4s.push_back(n.ipv4);
    }
}

} // namespace

bool QnsGuestDescribe(const QnsGuestSpec &spec, int index, uint32_t seed, uint32_t spinUs,
                      bool horizon, const std::string &outDir, QnsGuestDesc &out, std::string &err)
{
    if (!QnsGuestSpecCheck(spec, index, err)) {
        return false;
    }
    const std::string qemu = spec.qemu.empty() ? QnsInstalledQemu() : spec.qemu;
    Build b{spec,
            index,
            qemu.find('/') != std::string::npos ? Absolute(qemu) : qemu,
            Absolute(spec.guestDir.empty() ? QnsInstalledGuestDir() : spec.guestDir),
            Absolute(spec.kernel),
            Absolute(spec.initrd),
            Absolute(spec.disk),
            {},
            !spec.kernel.empty(),
            {},
            out};
    Identity(b, outDir);
    out.horizon = horizon;
    if (spec.hasProgram && spec.boot == QnsBoot::Snapshot) {
        err = "guest " + out.name + ": boot = snapshot takes QEMU and the default guest, not a program";
        return false;
    }
    if (spec.hasProgram) {
        ProgramArgv(b, horizon);
        return true;
    }
    if (!b.ownKernel && !QnsReadGuestInfo(b.guestDir, b.gi, err)) {
        return false;
    }
    if (!spec.files.empty() && !b.ownKernel && !b.gi.disk.empty()) {
        /* The initramfs of an image that boots from its disk is gone once
         * its root is mounted. */
        err = "guest " + out.name +
              ": files go into the default guest's initramfs; an image that "
              "boots from its disk gets them when it is built (build-debian.sh --file SRC:DST)";
        return false;
    }
    if (spec.boot == QnsBoot::Snapshot ||
        (spec.boot == QnsBoot::Auto && SnapshotRefusal(b).empty())) {
        return SnapshotArgv(b, seed, spinUs, horizon, err);
    }
    MachineArgv(b, &seed);
    if (!BootArgv(b, err) || !KernelCommandLine(b, err)) {
        return false;
    }
    DiskArgv(b);
    GrantAndNicArgv(b, spinUs, horizon);
    return Confine(b, err);
}
