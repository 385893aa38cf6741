/*
 * lan_ping - two default guests on a simulated 100 Mbit/s Ethernet LAN:
 * h1 pings h2 five times. The main job of the README.
 *
 * Usage: lan_ping [OUTDIR]     (default: results/lan_ping)
 */
#include "qns.h"
#include "scenario_util.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    const char *out = argc > 1 ? argv[1] : "results/lan_ping";
    char err[QNS_ERRBUF_SIZE];
    if (scenario_make_dir(out) < 0) {
        return 1;
    }
    qns_sim_config sc = {.quantum_us = 10, .seed = 1, .out_dir = out};
    qns_sim *sim = qns_sim_new(&sc, err);
    qns_guest_config h1 = {.name = "h1", .command = "ping -c 5 -i 0.2 10.0.0.2", .ends_run = 1,
                           .nic_count = 1};
    h1.nics[0].ipv4 = "10.0.0.1/24";
    qns_guest_config h2 = {.name = "h2", .nic_count = 1};
    h2.nics[0].ipv4 = "10.0.0.2/24";
    qns_link_config lan = {.name = "lan", .type = QNS_LINK_CSMA, .rate_bps = 100000000,
                           .delay_ns = 50000, .capture = 1};
    int g1 = qns_sim_add_guest(sim, &h1, err);
    int g2 = g1 < 0 ? -1 : qns_sim_add_guest(sim, &h2, err);
    int l = g2 < 0 ? -1 : qns_sim_add_link(sim, &lan, err);
    if (l < 0 || qns_sim_attach_guest(sim, l, g1, 0, 0, err) < 0 ||
        qns_sim_attach_guest(sim, l, g2, 0, 0, err) < 0) {
        fprintf(stderr, "error: %s\n", err);
        qns_sim_free(sim);
        return 1;
    }
    printf("lan_ping: h1 (10.0.0.1) pings h2 (10.0.0.2) across a 100 Mbit/s, 50 us CSMA LAN\n");
    int status = scenario_run(sim, "lan_ping", 60000000000ull, 2, out);
    qns_sim_free(sim);
    return status;
}
