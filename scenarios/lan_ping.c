/*
 * lan_ping - two default guests on a simulated 100 Mbit/s Ethernet LAN:
 * h1 pings h2 five times. The main job of the README.
 *
 * Usage: lan_ping [OUTDIR]     (default: results/lan_ping)
 */
#include "scenario_util.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    const char *out = argc > 1 ? argv[1] : "results/lan_ping";
    char err[QNS_ERRBUF_SIZE];
    if (scenario_make_dir(out) < 0) {
        return 1;
    }
    qns_sim *sim = scenario_lan_ping(out, 10, err);
    if (sim == NULL) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    printf("lan_ping: h1 (10.0.0.1) pings h2 (10.0.0.2) across a 100 Mbit/s, 50 us CSMA LAN\n");
    int status = scenario_run(sim, "lan_ping", 60000000000ull, 2, out);
    qns_sim_free(sim);
    return status;
}
