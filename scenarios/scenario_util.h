/*
 * scenario_util.h - small helpers shared by the C scenarios: command-line
 * handling and printing what a guest's command printed.
 */
#ifndef QNS_SCENARIO_UTIL_H
#define QNS_SCENARIO_UTIL_H

#include "qns.h"

/* Makes `dir` (and parents); returns 0 or -1 with a message on stderr. */
int scenario_make_dir(const char *dir);

/* A ready scenario's simulation writing into `out`: with adaptive rounds
 * (scenario_fn_t), or with rounds placed as `rounds` says. */
typedef qns_sim *(*scenario_fn_t)(const char *out, uint32_t quantum_us, char *err);
typedef qns_sim *(*scenario_rounds_fn_t)(const char *out, uint32_t quantum_us,
                                         qns_round_mode rounds, char *err);

/* Runs `sim` for at most duration_ns, prints the outcome and each guest's
 * command output; returns the process exit status (0 on success). */
int scenario_run(qns_sim *sim, const char *name, uint64_t duration_ns, int guests,
                 const char *out_dir);

/* Runs a C scenario program: makes OUTDIR (argv[1], else
 * results/NAME), builds the scenario at a 10 us quantum with adaptive
 * rounds, prints `intro`, then what scenario_run prints for at most
 * duration_ns; returns the process exit status. */
int scenario_main(int argc, char **argv, const char *name, scenario_rounds_fn_t fn,
                  const char *intro, uint64_t duration_ns, int guests);

/* The ready scenarios (scenario_defs.c); NULL with err set on failure. */
qns_sim *scenario_lan_ping(const char *out, uint32_t quantum_us, qns_round_mode rounds, char *err);
/* lan_ping with `count` echoes, adaptive rounds, and ns-3 captures only
 * if `capture`. */
qns_sim *scenario_lan_ping_n(const char *out, uint32_t quantum_us, int count, int capture,
                             char *err);
qns_sim *scenario_ping_30(const char *out, uint32_t quantum_us, qns_round_mode rounds, char *err);
qns_sim *scenario_udp_echo_p2p(const char *out, uint32_t quantum_us, qns_round_mode rounds,
                               char *err);
qns_sim *scenario_iperf_bottleneck(const char *out, uint32_t quantum_us, qns_round_mode rounds,
                                   char *err);

#endif
