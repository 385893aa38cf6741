/*
 * iperf_bottleneck - one default guest runs iperf3 -c to another through a
 * 10 Mbit/s point-to-point bottleneck with 20 ms of delay; the throughput
 * iperf3 reports is what that link allows.
 *
 * Usage: iperf_bottleneck [OUTDIR]     (default: results/iperf_bottleneck)
 */
#include "qns.h"
#include "scenario_util.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    const char *out = argc > 1 ? argv[1] : "results/iperf_bottleneck";
    char err[QNS_ERRBUF_SIZE];
    if (scenario_make_dir(out) < 0) {
        return 1;
    }
    qns_sim_config sc = {.quantum_us = 10, .seed = 1, .out_dir = out};
    qns_sim *sim = qns_sim_new(&sc, err);
    qns_guest_config c = {.name = "client",
                          .command = "sleep 1; iperf3 -c 10.0.2.2 -t 10 -f m",
                          .ends_run = 1,
                          .nic_count = 1};
    c.nics[0].ipv4 = "10.0.2.1/24";
    qns_guest_config s = {.name = "server", .services = "iperf3", .nic_count = 1};
    s.nics[0].ipv4 = "10.0.2.2/24";
    /* A queue of a bandwidth-delay product: 10 Mbit/s x 40 ms = 50 kB. */
    qns_link_config wan = {.name = "bottleneck", .type = QNS_LINK_P2P, .rate_bps = 10000000,
                           .delay_ns = 20000000, .queue_packets = 34, .capture = 1};
    int gc = qns_sim_add_guest(sim, &c, err);
    int gs = gc < 0 ? -1 : qns_sim_add_guest(sim, &s, err);
    int l = gs < 0 ? -1 : qns_sim_add_link(sim, &wan, err);
    if (l < 0 || qns_sim_attach_guest(sim, l, gc, 0, 0, err) < 0 ||
        qns_sim_attach_guest(sim, l, gs, 0, 0, err) < 0) {
        fprintf(stderr, "error: %s\n", err);
        qns_sim_free(sim);
        return 1;
    }
    printf("iperf_bottleneck: iperf3 client 10.0.2.1 -> server 10.0.2.2, 10 Mbit/s, 20 ms\n");
    int status = scenario_run(sim, "iperf_bottleneck", 120000000000ull, 2, out);
    qns_sim_free(sim);
    return status;
}
