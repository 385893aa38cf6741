/*
 * udp_echo_p2p - a default guest and an ns-3 node across a point-to-point
 * link with 5 ms of delay and 1% loss: the guest sends UDP datagrams to the
 * node's ns-3 UdpEchoServer and counts the echoes.
 *
 * Usage: udp_echo_p2p [OUTDIR]     (default: results/udp_echo_p2p)
 */
#include "scenario_util.h"

int main(int argc, char **argv)
{
    return scenario_main(argc, argv, "udp_echo_p2p", scenario_udp_echo_p2p,
                         "guest 10.0.1.1 -> ns-3 UdpEchoServer 10.0.1.2:9, 10 Mbit/s, 5 ms, "
                         "1% loss",
                         120000000000ull, 1);
}
