/*
 * qns-guest-snapshot.cc - snapshots of the default guest, made once and
 * cached by key (qns-guest-snapshot.h).
 */
#include "qns-guest-snapshot.h"

#include "qns-file-hash.h"
#include "qns-guest-image.h"

#include "qns_snapshot.h"

#include <glib.h>
#include <glib/gstdio.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace
{

/* Grants of the boot, and how long it may take to be ready (virtual). */
constexpr int32_t kBootGrantUs = 10000;
constexpr int64_t kBootMaxUs = 120000000;

std::string SnapshotRoot()
{
    return QnsCacheDir() + "/snapshot";
}

void RemoveTree(const std::string &dir)
{
    GDir *d = g_dir_open(dir.c_str(), 0, nullptr);
    if (d != nullptr) {
        for (const gchar *n = g_dir_read_name(d); n; n = g_dir_read_name(d)) {
            g_unlink((dir + "/" + n).c_str());
        }
        g_dir_close(d);
    }
    g_rmdir(dir.c_str());
}

/* Boots into tmp (a fresh folder) and leaves the snapshot's files there. */
bool Boot(const std::string &guest, const std::string &tmp, const std::string &inputs,
          int nicCount, const QnsSnapshotArgv &makeArgv, QnsSnapshotStop stop, std::string &err)
{
    const std::string zeros = tmp + "/config";
    std::vector<std::string> argv;
    if (!QnsWriteFileAtomically(zeros, "", QNS_CONFIG_DISK_SIZE, err) ||
        !makeArgv(tmp, zeros, argv, err)) {
        return false;
    }
    std::vector<const char *> av;
    for (const auto &a : argv) {
        av.push_back(a.c_str());
    }
    av.push_back(nullptr);
    const std::string console = tmp + "/console", stream = tmp + "/stream";
    qns_snapshot_boot_spec spec = {guest.c_str(),      av.data(),    nicCount,   console.c_str(),
                                   stream.c_str(),     QNS_SNAPSHOT_READY, kBootGrantUs,
                                   kBootMaxUs,         stop.fn,      stop.ctx};
    char e[QNS_ERRBUF_SIZE];
    if (qns_snapshot_boot(&spec, e) < 0) {
        err = e;
        return false;
    }
    g_unlink(zeros.c_str());
    return QnsWriteFileAtomically(tmp + "/INPUTS", inputs, 0, err);
}

} // namespace

bool QnsSnapshotKey(const std::vector<std::string> &words, const std::vector<std::string> &files,
                    std::string &key, std::string &inputs, std::string &err)
{
    inputs = "qns snapshot 1\n";
    for (const auto &w : words) {
        bool isFile = false;
        for (const auto &f : files) {
            isFile = isFile || f == w;
        }
        std::string hex;
        if (isFile && !QnsFileSha256(w, hex, err)) {
            return false;
        }
        inputs += (isFile ? "file sha256:" + hex : "word " + w) + "\n";
    }
    key = QnsSha256Hex(inputs.data(), inputs.size());
    return true;
}

bool QnsSnapshotEnsure(const std::string &guest, const std::string &key, const std::string &inputs,
                       const std::string &first, int nicCount, const QnsSnapshotArgv &makeArgv,
                       QnsSnapshotStop stop, std::string &dir, std::string &err)
{
    if (!first.empty()) {
        dir = first + "/" + key;
        gchar *text = nullptr;
        gsize len = 0;
        bool same = g_file_get_contents((dir + "/INPUTS").c_str(), &text, &len, nullptr) &&
                    std::string(text, len) == inputs;
        g_free(text);
        if (same) {
            return true;
        }
    }
    const std::string root = SnapshotRoot();
    dir = root + "/" + key;
    if (g_file_test((dir + "/INPUTS").c_str(), G_FILE_TEST_IS_REGULAR)) {
        return true;
    }
    if (!QnsMakeDirs(root, err)) {
        return false;
    }
    const std::string lockPath = root + "/.lock-" + key;
    int lock = open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    while (lock >= 0 && flock(lock, LOCK_EX) < 0 && errno == EINTR) {
    }
    if (lock < 0) {
        err = "cannot lock " + lockPath + ": " + g_strerror(errno);
        return false;
    }
    bool ok = true;
    if (!g_file_test((dir + "/INPUTS").c_str(), G_FILE_TEST_IS_REGULAR)) {
        std::string tmpl = root + "/.make-" + key + "-XXXXXX";
        std::vector<char> t(tmpl.begin(), tmpl.end());
        t.push_back('\0');
        ok = g_mkdtemp(t.data()) != nullptr;
        const std::string tmp = t.data();
        if (ok && stop.booting != nullptr) {
            stop.booting(stop.ctx, guest.c_str(), key.c_str());
        }
        if (!ok) {
            err = "cannot create a folder in " + root + ": " + g_strerror(errno);
        } else if (!Boot(guest, tmp, inputs, nicCount, makeArgv, stop, err) ||
                   rename(tmp.c_str(), dir.c_str()) < 0) {
            if (err.empty()) {
                err = "cannot rename " + tmp + " to " + dir + ": " + g_strerror(errno);
            }
            RemoveTree(tmp);
            ok = false;
        }
    }
    close(lock); /* the lock file stays: another process may hold it open */
    return ok;
}

bool QnsSnapshotDiskOverlay(const std::string &base, const std::string &dir, std::string &err)
{
    const std::string qemu = QnsInstalledQemu();
    gchar *qemuPath = g_find_program_in_path(qemu.c_str());
    gchar *qemuDir = qemuPath ? g_path_get_dirname(qemuPath) : nullptr;
    const std::string img = std::string(qemuDir ? qemuDir : ".") + "/qemu-img";
    g_free(qemuDir);
    g_free(qemuPath);
    GStatBuf st;
    if (g_stat(base.c_str(), &st) < 0) {
        err = "cannot read " + base + ": " + g_strerror(errno);
        return false;
    }
    if (!g_file_test(img.c_str(), G_FILE_TEST_IS_EXECUTABLE)) {
        err = "no qemu-img beside " + qemu + " (it makes the snapshot's disk overlay)";
        return false;
    }
    const std::string out = dir + "/" QNS_SNAPSHOT_DISK, size = std::to_string(st.st_size);
    const gchar *argv[] = {img.c_str(), "create", "-q", "-f", "qcow2", "-u", "-b", "disk.img",
                           "-F", "raw", out.c_str(), size.c_str(), nullptr};
    gchar *errText = nullptr;
    gint status = 0;
    GError *gerr = nullptr;
    bool ok = g_spawn_sync(nullptr, const_cast<gchar **>(argv), nullptr, G_SPAWN_STDOUT_TO_DEV_NULL,
                           nullptr, nullptr, nullptr, &errText, &status, &gerr) &&
              g_spawn_check_wait_status(status, nullptr);
    if (!ok) {
        std::string why = gerr ? gerr->message : errText ? g_strstrip(errText) : "";
        err = "qemu-img cannot make " + out + (why.empty() ? "" : ": " + why);
    }
    g_clear_error(&gerr);
    g_free(errText);
    return ok;
}

bool QnsSnapshotConfigDisk(const std::string &words, std::string &path, std::string &err)
{
    if (words.size() > QNS_CONFIG_DISK_SIZE) {
        err = "its configuration is " + std::to_string(words.size()) + " bytes, more than " +
              std::to_string(QNS_CONFIG_DISK_SIZE) + " (the configuration disk)";
        return false;
    }
    const std::string dir = SnapshotRoot() + "/config";
    path = dir + "/" + QnsSha256Hex(words.data(), words.size());
    if (g_file_test(path.c_str(), G_FILE_TEST_IS_REGULAR)) {
        return true;
    }
    return QnsMakeDirs(dir, err) && QnsWriteFileAtomically(path, words, QNS_CONFIG_DISK_SIZE, err);
}
