/*
 * qns-file-hash.cc - remembered SHA-256s of files (qns-file-hash.h).
 */
#include "qns-file-hash.h"

#include "qns-guest-image.h"

#include <glib.h>
#include <glib/gstdio.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

std::string QnsSha256Hex(const void *data, size_t len)
{
    gchar *h = g_compute_checksum_for_data(G_CHECKSUM_SHA256, static_cast<const guchar *>(data),
                                           len);
    std::string r = h;
    g_free(h);
    return r;
}

bool QnsMakeDirs(const std::string &dir, std::string &err)
{
    if (g_mkdir_with_parents(dir.c_str(), 0755) < 0) {
        err = "cannot create " + dir + ": " + g_strerror(errno);
        return false;
    }
    return true;
}

bool QnsWriteFileAtomically(const std::string &path, const std::string &data, size_t size,
                            std::string &err)
{
    std::string tmp = path + ".tmp-" + std::to_string(getpid());
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0;
    for (size_t done = 0; ok && done < data.size();) {
        ssize_t n = write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        ok = n > 0;
        done += ok ? static_cast<size_t>(n) : 0;
    }
    ok = ok && (size <= data.size() || ftruncate(fd, static_cast<off_t>(size)) == 0);
    int saved = errno;
    if (fd >= 0 && close(fd) < 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok && rename(tmp.c_str(), path.c_str()) < 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp.c_str());
        err = "cannot write " + path + ": " + g_strerror(saved);
    }
    return ok;
}

bool QnsFileSha256(const std::string &file, std::string &hex, std::string &err)
{
    std::string path = file;
    if (path.find('/') == std::string::npos) {
        gchar *found = g_find_program_in_path(path.c_str());
        path = found ? found : path;
        g_free(found);
    }
    struct stat st;
    if (stat(path.c_str(), &st) < 0) {
        err = "cannot read " + path + ": " + g_strerror(errno);
        return false;
    }
    std::string id = path + '\n' + std::to_string(st.st_dev) + '\n' + std::to_string(st.st_ino) +
                     '\n' + std::to_string(st.st_size) + '\n' + std::to_string(st.st_mtim.tv_sec) +
                     '.' + std::to_string(st.st_mtim.tv_nsec) + '\n' +
                     std::to_string(st.st_ctim.tv_sec) + '.' + std::to_string(st.st_ctim.tv_nsec);
    const std::string dir = QnsCacheDir() + "/hashes";
    const std::string memo = dir + "/" + QnsSha256Hex(id.data(), id.size());
    gchar *text = nullptr;
    if (g_file_get_contents(memo.c_str(), &text, nullptr, nullptr) && strlen(text) == 64) {
        hex = text;
        g_free(text);
        return true;
    }
    g_free(text);
    GMappedFile *m = g_mapped_file_new(path.c_str(), FALSE, nullptr);
    if (m == nullptr) {
        err = "cannot read " + path;
        return false;
    }
    hex = QnsSha256Hex(g_mapped_file_get_contents(m), g_mapped_file_get_length(m));
    g_mapped_file_unref(m);
    return QnsMakeDirs(dir, err) && QnsWriteFileAtomically(memo, hex, 0, err);
}
