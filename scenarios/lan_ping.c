/*
 * lan_ping - two default guests on a simulated 100 Mbit/s Ethernet LAN:
 * h1 pings h2 five times. The main job of the README.
 *
 * Usage: lan_ping [OUTDIR]     (default: results/lan_ping)
 */
#include "scenario_util.h"

int main(int argc, char **argv)
{
    return scenario_main(argc, argv, "lan_ping", scenario_lan_ping,
                         "h1 (10.0.0.1) pings h2 (10.0.0.2) across a 100 Mbit/s, 50 us CSMA LAN",
                         60000000000ull, 2);
}
