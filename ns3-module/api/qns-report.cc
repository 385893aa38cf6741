/*
 * qns-report.cc - reporting a run the same way in every program (qns.h):
 * escaping, a guest's command output, the run's and a guest's summary line.
 */
#include "qns.h"

#include "qns_console.h"
#include "qns_escape.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

extern "C" char *qns_escape(const char *s, size_t max_chars)
{
    return qns_text_escape(s ? s : "", max_chars);
}

extern "C" int qns_print_command_output(const char *guest, const char *console_path, FILE *out)
{
    qns_console c;
    if (qns_console_read(console_path, &c) < 0) {
        qns_console_clear(&c);
        return -2;
    }
    char *shown = qns_escape(guest, 0);
    for (char **l = c.shown; *l; l++) {
        char *line = qns_escape(*l, 0); /* a guest is code from anyone */
        std::fprintf(out, "  %s| %s\n", shown, line);
        std::free(line);
    }
    std::free(shown);
    int status = c.command_status;
    qns_console_clear(&c);
    return status;
}

extern "C" int qns_run_summary(uint64_t end_ns, double wall_s, uint64_t rounds,
                               uint64_t late_frames, char *buf, size_t size)
{
    double virt = static_cast<double>(end_ns) / 1e9;
    return std::snprintf(buf, size,
                         "%.6f s of virtual time in %.3f s wall (%.3fx), %" PRIu64
                         " rounds, %" PRIu64 " late frames",
                         virt, wall_s, wall_s > 0 ? virt / wall_s : 0.0, rounds, late_frames);
}

extern "C" int qns_guest_summary(const qns_guest_stats *st, char *buf, size_t size)
{
    char unopened[64] = "";
    if (st->frames_unopened > 0) {
        std::snprintf(unopened, sizeof(unopened), " (%" PRIu64 " before its NIC started)",
                      st->frames_unopened);
    }
    char tooLong[QNS_MAX_NICS * 96] = "";
    size_t o = 0;
    for (int n = 0; n < st->nic_count && n < QNS_MAX_NICS; n++) {
        if (st->nics[n].frames_too_long > 0) {
            o += static_cast<size_t>(
                std::snprintf(tooLong + o, sizeof(tooLong) - o,
                              ", %" PRIu64 " frames dropped at nic%d (longer than MTU %u)",
                              st->nics[n].frames_too_long, n, st->nics[n].mtu));
        }
    }
    return std::snprintf(buf, size,
                         "%" PRIu64 " frames out, %" PRIu64 " frames in%s%s, clock %.6f s%s",
                         st->frames_from_guest, st->frames_to_guest, unopened, tooLong,
                         static_cast<double>(st->clock_us) / 1e6, st->done ? ", powered off" : "");
}
