/*
 * udp_echo_p2p - a default guest and an ns-3 node across a point-to-point
 * link with 5 ms of delay and 1% loss: the guest sends UDP datagrams to the
 * node's ns-3 UdpEchoServer and counts the echoes.
 *
 * Usage: udp_echo_p2p [OUTDIR]     (default: results/udp_echo_p2p)
 */
#include "scenario_util.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    const char *out = argc > 1 ? argv[1] : "results/udp_echo_p2p";
    char err[QNS_ERRBUF_SIZE];
    if (scenario_make_dir(out) < 0) {
        return 1;
    }
    qns_sim *sim = scenario_udp_echo_p2p(out, 10, err);
    if (sim == NULL) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    printf("udp_echo_p2p: guest 10.0.1.1 -> ns-3 UdpEchoServer 10.0.1.2:9, 10 Mbit/s, 5 ms, "
           "1%% loss\n");
    int status = scenario_run(sim, "udp_echo_p2p", 120000000000ull, 1, out);
    qns_sim_free(sim);
    return status;
}
