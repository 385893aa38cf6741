/*
 * iperf_bottleneck - one default guest runs iperf3 -c to another through a
 * 10 Mbit/s point-to-point bottleneck with 20 ms of delay; the throughput
 * iperf3 reports is what that link allows.
 *
 * Usage: iperf_bottleneck [OUTDIR]     (default: results/iperf_bottleneck)
 */
#include "scenario_util.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    const char *out = argc > 1 ? argv[1] : "results/iperf_bottleneck";
    char err[QNS_ERRBUF_SIZE];
    if (scenario_make_dir(out) < 0) {
        return 1;
    }
    qns_sim *sim = scenario_iperf_bottleneck(out, 10, err);
    if (sim == NULL) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    printf("iperf_bottleneck: iperf3 client 10.0.2.1 -> server 10.0.2.2, 10 Mbit/s, 20 ms\n");
    int status = scenario_run(sim, "iperf_bottleneck", 120000000000ull, 2, out);
    qns_sim_free(sim);
    return status;
}
