/*
 * qns-guest-spec.cc - a guest's settings, checked in one place.
 */
#include "qns-guest-spec.h"

#include "qns-address.h"

#include "qns_errbuf.h"

#include <glib.h>

#include <cstdio>
#include <cstdlib>

std::string QnsGuestName(const QnsGuestSpec &spec, int index)
{
    return spec.name.empty() ? "guest" + std::to_string(index) : spec.name;
}

int QnsNameCheck(const char *kind, const char *name, char *errbuf)
{
    std::string n = name ? name : "";
    bool ok = !n.empty() && n.size() <= QNS_NAME_MAX;
    for (char c : n) {
        ok = ok && (g_ascii_isalnum(c) || c == '-' || c == '_');
    }
    if (!ok && errbuf != nullptr) {
        std::snprintf(errbuf, QNS_ERRBUF_SIZE,
                      "%s name '%s' must be 1-%d letters, digits, '-' or '_'", kind, n.c_str(),
                      QNS_NAME_MAX);
    }
    return ok ? 0 : -1;
}

std::string QnsDefaultMac(int guest, int nic)
{
    char out[18];
    std::snprintf(out, sizeof(out), "52:54:00:%02x:%02x:%02x", (guest >> 8) & 0xff, guest & 0xff,
                  (nic + 1) & 0xff);
    return out;
}

namespace
{

bool ValidMac(const std::string &m)
{
    unsigned b[6];
    char tail;
    return m.size() == 17 && std::sscanf(m.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1],
                                         &b[2], &b[3], &b[4], &b[5], &tail) == 6;
}

bool SizeCheck(const QnsGuestSpec &s, const std::string &who, std::string &err)
{
    if (s.memoryMb != 0 && (s.memoryMb < QNS_MEMORY_MB_MIN || s.memoryMb > QNS_MEMORY_MB_MAX)) {
        err = who + ": memory_mb " + std::to_string(s.memoryMb) + " is out of range (" +
              std::to_string(QNS_MEMORY_MB_MIN) + " .. " + std::to_string(QNS_MEMORY_MB_MAX) + ")";
        return false;
    }
    if (s.icountShift > QNS_ICOUNT_SHIFT_MAX) {
        err = who + ": icount shift " + std::to_string(s.icountShift) + " is above " +
              std::to_string(QNS_ICOUNT_SHIFT_MAX);
        return false;
    }
    if (s.nics.size() > QNS_MAX_NICS) {
        err = who + ": " + std::to_string(s.nics.size()) + " NICs, at most " +
              std::to_string(QNS_MAX_NICS);
        return false;
    }
    return true;
}

bool NicCheck(const QnsNicSpec &n, int index, size_t i, const std::string &who, std::string &err)
{
    const std::string nic = who + " NIC " + std::to_string(i);
    if (!n.ipv4.empty() && !QnsHostAddressCheck(nic, n.ipv4, err)) {
        return false;
    }
    std::string mac = n.mac.empty() ? QnsDefaultMac(index, static_cast<int>(i)) : n.mac;
    if (!ValidMac(mac)) {
        err = nic + ": bad MAC address '" + mac + "'";
        return false;
    }
    if (std::strtoul(mac.substr(0, 2).c_str(), nullptr, 16) & 1) {
        err = nic + ": MAC address " + mac +
              " is a multicast address (lowest bit of the first byte set); a NIC needs a "
              "unicast one, e.g. 52:54:00:00:00:01";
        return false;
    }
    return true;
}

/* What goes into the default guest (kernel_args, files) has no place with a
 * program, an own kernel or initrd. */
bool DefaultGuestOnlyCheck(const QnsGuestSpec &s, const std::string &who, std::string &err)
{
    bool ownKernel = !s.kernel.empty();
    if (!s.kernelArgs.empty() && (s.hasProgram || ownKernel || !s.append.empty())) {
        err = who + ": kernel_args adds to the default guest's command line; " +
              (s.hasProgram ? "a program has none"
                            : "with an own kernel or append, put them in append");
        return false;
    }
    if (!s.files.empty() && (s.hasProgram || ownKernel || !s.initrd.empty())) {
        err = who + ": files go into the default guest's initramfs; " +
              (s.hasProgram ? "a program has none"
               : ownKernel  ? "with an own kernel, put them into its image when you build it"
                            : "with an own initrd, put them into it when you build it");
        return false;
    }
    if (s.hasProgram && s.program.empty()) {
        err = who + ": empty program";
        return false;
    }
    return true;
}

/* An own kernel or initrd runs its own init: what qns would tell the default
 * guest's /init (addresses, services, the command) reaches it only when the
 * image runs the qns agent (agent = yes), and then on the command line the
 * image's own append starts. Without it those settings would be silently
 * ignored: refused instead, as is an own kernel without a command line. */
bool OwnImageCheck(const QnsGuestSpec &s, const std::string &who, std::string &err)
{
    if (s.hasProgram) {
        return true;
    }
    bool own = !s.kernel.empty() || !s.initrd.empty();
    const char *hint = "; an own image gets them only if it runs the qns agent "
                       "(scenarios/guests/debian/qns-agent, its unit qns-agent.service) and says "
                       "so with agent = yes";
    if (s.agent && !own) {
        err = who + ": agent: only for an own kernel or initrd (the default guest and qns's "
                    "images run theirs)";
        return false;
    }
    if (!s.kernel.empty() && s.append.empty()) {
        err = who + ": kernel: an own kernel needs append = its command line (at least "
                    "console=ttyS0 for its console and root= for its disk); qns adds none";
        return false;
    }
    if (!own || s.agent) {
        return true;
    }
    if (!s.command.empty()) {
        err = who + ": command: nothing in an own image would run it" + hint;
        return false;
    }
    if (!s.services.empty()) {
        err = who + ": services: nothing in an own image would start them" + hint;
        return false;
    }
    for (size_t i = 0; i < s.nics.size(); i++) {
        if (!s.nics[i].ipv4.empty()) {
            err = who + ": nic" + std::to_string(i) +
                  ".ip: nothing in an own image would set the address (configure it in the "
                  "image)" +
                  hint;
            return false;
        }
    }
    return true;
}

} // namespace

bool QnsGuestSpecCheck(const QnsGuestSpec &spec, int index, std::string &err)
{
    const std::string name = QnsGuestName(spec, index), who = "guest " + name;
    if (!SizeCheck(spec, who, err)) {
        return false;
    }
    for (size_t i = 0; i < spec.nics.size(); i++) {
        if (!NicCheck(spec.nics[i], index, i, who, err)) {
            return false;
        }
    }
    char e[QNS_ERRBUF_SIZE];
    if (QnsNameCheck("guest", name.c_str(), e) < 0) {
        err = e;
        return false;
    }
    return DefaultGuestOnlyCheck(spec, who, err) && OwnImageCheck(spec, who, err);
}
