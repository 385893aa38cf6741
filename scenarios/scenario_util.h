/*
 * scenario_util.h - small helpers shared by the C scenarios: command-line
 * handling and printing what a guest's command printed.
 */
#ifndef QNS_SCENARIO_UTIL_H
#define QNS_SCENARIO_UTIL_H

#include "qns.h"

/* Prints the lines between the guest's QNS-CMD-BEGIN and QNS-CMD-END
 * markers, indented, and returns the command's exit status (-1 if the
 * command did not finish). */
int scenario_print_command_output(const char *guest, const char *console_path);

/* Makes `dir` (and parents); returns 0 or -1 with a message on stderr. */
int scenario_make_dir(const char *dir);

/* Runs `sim` for at most duration_ns, prints the outcome and each guest's
 * command output; returns the process exit status (0 on success). */
int scenario_run(qns_sim *sim, const char *name, uint64_t duration_ns, int guests,
                 const char *out_dir);

/* The ready scenarios (scenario_defs.c); NULL with err set on failure. */
typedef qns_sim *(*scenario_fn_t)(const char *out, uint32_t quantum_us, char *err);
qns_sim *scenario_lan_ping(const char *out, uint32_t quantum_us, char *err);
/* The same with `count` echoes, and ns-3 captures only if `capture`. */
qns_sim *scenario_lan_ping_n(const char *out, uint32_t quantum_us, int count, int capture,
                             char *err);
qns_sim *scenario_udp_echo_p2p(const char *out, uint32_t quantum_us, char *err);
qns_sim *scenario_iperf_bottleneck(const char *out, uint32_t quantum_us, char *err);

#endif
