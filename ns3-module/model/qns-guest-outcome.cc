/*
 * qns-guest-outcome.cc - a guest's outcome from its console and its end.
 */
#include "qns-guest-outcome.h"

#include "qns_console.h"

#include <cstdio>

namespace
{

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
    qns_console c;
    qns_console_read(path.c_str(), &c);
    ev.ready = c.ready != 0;
    ev.setupError = c.setup_error ? c.setup_error : "";
    ev.panic = c.panic ? c.panic : "";
    ev.commandStatus = c.command_status;
    qns_console_clear(&c);
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
            why = who + " did not boot within " + end + " (no \"" + QNS_CONSOLE_READY +
                  "\" on its console)";
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
