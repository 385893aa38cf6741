/*
 * ping_30 - two default guests on a simulated 100 Mbit/s Ethernet LAN:
 * h1 pings h2 thirty times, a second apart, so the guests idle most of
 * the time. lan_ping over half a minute.
 *
 * Usage: ping_30 [OUTDIR]     (default: results/ping_30)
 */
#include "scenario_util.h"

int main(int argc, char **argv)
{
    return scenario_main(argc, argv, "ping_30", scenario_ping_30,
                         "h1 (10.0.0.1) pings h2 (10.0.0.2) 30 times, 1 s apart, across a "
                         "100 Mbit/s, 50 us CSMA LAN",
                         60000000000ull, 2);
}
