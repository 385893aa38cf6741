/*
 * iperf_bottleneck - one default guest runs iperf3 -c to another through a
 * 10 Mbit/s point-to-point bottleneck with 20 ms of delay; the throughput
 * iperf3 reports is what that link allows.
 *
 * Usage: iperf_bottleneck [OUTDIR]     (default: results/iperf_bottleneck)
 */
#include "scenario_util.h"

int main(int argc, char **argv)
{
    return scenario_main(argc, argv, "iperf_bottleneck", scenario_iperf_bottleneck,
                         "iperf3 client 10.0.2.1 -> server 10.0.2.2, 10 Mbit/s, 20 ms",
                         120000000000ull, 2);
}
