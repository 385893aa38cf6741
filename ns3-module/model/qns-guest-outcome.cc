/*
 * qns-guest-outcome.cc - a guest's outcome from its console and its end.
 */
#include "qns-guest-outcome.h"

#include <glib.h>

#include <cstdio>
#include <cstring>

namespace
{

const char kReady[] = "QNS-GUEST: ready";
const char kError[] = "QNS-GUEST: error: ";
const char kCmdBegin[] = "QNS-CMD-BEGIN";
const char kCmdEnd[] = "QNS-CMD-END status=";
const char kPanic[] = "Kernel panic - ";

std::string Seconds(uint64_t ns)
{
    char s[32];
    std::snprintf(s, sizeof(s), "%.9g s", static_cast<double>(ns) / 1e9);
    return s;
}

} // namespace

QnsConsoleEvidence QnsReadConsole(const std::string &path)
{
    QnsConsoleEvidence ev;
    gchar *data = nullptr;
    if (!g_file_get_contents(path.c_str(), &data, nullptr, nullptr)) {
        return ev;
    }
    gchar **lines = g_strsplit(data, "\n", -1);
    bool inCommand = false;
    for (gchar **l = lines; *l; l++) {
        const char *line = g_strchomp(*l);
        const char *panic = std::strstr(line, kPanic);
        if (panic != nullptr && ev.panic.empty()) {
            ev.panic = panic;
        }
        /* What the command printed is its own, not the guest's word. */
        if (g_str_has_prefix(line, kCmdBegin)) {
            inCommand = true;
        } else if (g_str_has_prefix(line, kCmdEnd)) {
            inCommand = false;
            int status;
            if (std::sscanf(line + sizeof(kCmdEnd) - 1, "%d", &status) == 1) {
                ev.commandStatus = status;
            }
        } else if (inCommand) {
            continue;
        } else if (g_str_has_prefix(line, kReady)) {
            ev.ready = true;
        } else if (g_str_has_prefix(line, kError) && ev.setupError.empty()) {
            ev.setupError = line + sizeof(kError) - 1;
        }
    }
    g_strfreev(lines);
    g_free(data);
    return ev;
}

std::string QnsGuestFailure(const QnsGuestDesc &guest, const QnsConsoleEvidence &ev,
                            bool poweredOff, uint64_t durationNs, const std::string &consoleTail)
{
    const std::string who = "guest " + guest.name;
    std::string why;
    if (!ev.setupError.empty()) {
        why = who + " failed to set up: " + ev.setupError;
    } else if (!ev.panic.empty()) {
        why = who + ": its kernel panicked (" + ev.panic + ")";
    } else if (ev.commandStatus > 0) {
        why = who + ": its command exited with status " + std::to_string(ev.commandStatus);
    } else if (!poweredOff && guest.endsRun) {
        const std::string end = "the run's duration of " + Seconds(durationNs);
        if (guest.defaultInit && !ev.ready) {
            why = who + " did not boot within " + end + " (no \"" + kReady + "\" on its console)";
        } else if (guest.runsCommand && ev.commandStatus < 0) {
            why = who + ": its command was cut off by the end of " + end;
        } else {
            why = who + " had not powered off at the end of " + end;
        }
    } else if (poweredOff && guest.runsCommand && ev.commandStatus < 0) {
        why = who + " powered off before its command finished";
    } else if (poweredOff && guest.defaultInit && !ev.ready) {
        why = who + " powered off before it was ready";
    }
    if (why.empty()) {
        return why;
    }
    return why + "; console: " + (consoleTail.empty() ? "(empty)" : consoleTail);
}
