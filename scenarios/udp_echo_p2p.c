/*
 * udp_echo_p2p - a default guest and an ns-3 node across a point-to-point
 * link with 5 ms of delay and 1% loss: the guest sends UDP datagrams to the
 * node's ns-3 UdpEchoServer and counts the echoes.
 *
 * Usage: udp_echo_p2p [OUTDIR]     (default: results/udp_echo_p2p)
 */
#include "qns.h"
#include "scenario_util.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    const char *out = argc > 1 ? argv[1] : "results/udp_echo_p2p";
    char err[QNS_ERRBUF_SIZE];
    if (scenario_make_dir(out) < 0) {
        return 1;
    }
    qns_sim_config sc = {.quantum_us = 10, .seed = 1, .out_dir = out};
    qns_sim *sim = qns_sim_new(&sc, err);
    /* 100 datagrams, 20 ms apart; each waits up to 1 s for its echo. */
    qns_guest_config g = {
        .name = "client",
        .command = "ok=0; for i in $(seq 1 100); do "
                   "r=$(echo qns-$i | socat -T1 - UDP4:10.0.1.2:9) && [ \"$r\" = qns-$i ] && "
                   "ok=$((ok+1)); sleep 0.02; done; echo \"echoed $ok of 100\"",
        .ends_run = 1,
        .nic_count = 1};
    g.nics[0].ipv4 = "10.0.1.1/24";
    qns_link_config wan = {.name = "wan", .type = QNS_LINK_P2P, .rate_bps = 10000000,
                           .delay_ns = 5000000, .loss = 0.01, .capture = 1};
    int gi = qns_sim_add_guest(sim, &g, err);
    int n = gi < 0 ? -1 : qns_sim_add_node(sim, "server", err);
    int l = n < 0 ? -1 : qns_sim_add_link(sim, &wan, err);
    if (l < 0 || qns_sim_attach_guest(sim, l, gi, 0, 0, err) < 0 ||
        qns_sim_attach_node(sim, l, n, "10.0.1.2/24", err) < 0 ||
        qns_sim_udp_echo_server(sim, n, 9, err) < 0) {
        fprintf(stderr, "error: %s\n", err);
        qns_sim_free(sim);
        return 1;
    }
    printf("udp_echo_p2p: guest 10.0.1.1 -> ns-3 UdpEchoServer 10.0.1.2:9, 10 Mbit/s, 5 ms, "
           "1%% loss\n");
    int status = scenario_run(sim, "udp_echo_p2p", 120000000000ull, 1, out);
    qns_sim_free(sim);
    return status;
}
