/*
 * qns-guest-outcome.h - whether a guest's part of a finished run is a
 * success, judged from what its console shows (the default guest's markers:
 * QNS-GUEST: ready / error:, QNS-CMD-END status=N, a kernel panic) and how
 * it ended. Markers are evidence wherever they appear; their absence counts
 * only for the default guest, whose /init always prints them.
 */
#ifndef QNS_GUEST_OUTCOME_H
#define QNS_GUEST_OUTCOME_H

#include "qns-guest-argv.h"

#include <cstdint>
#include <string>

struct QnsConsoleEvidence {
    bool ready = false;     /* QNS-GUEST: ready */
    std::string setupError; /* the text after QNS-GUEST: error: */
    std::string panic;      /* the kernel's "Kernel panic - ..." line */
    int commandStatus = -1; /* QNS-CMD-END status=N; -1: none */
};

/* Reads the console file (a missing file shows nothing). */
QnsConsoleEvidence QnsReadConsole(const std::string &path);

/* Why the guest fails the run, one line naming it and ending with its
 * console tail; "" when it does not. poweredOff: it exited with status 0
 * during the run; durationNs: the run's duration, which it reached. */
std::string QnsGuestFailure(const QnsGuestDesc &guest, const QnsConsoleEvidence &ev,
                            bool poweredOff, uint64_t durationNs, const std::string &consoleTail);

#endif
