/*
 * scenario_defs.c - the ready scenarios as functions, so the programs, the
 * tests and the benchmarks all run the very same descriptions.
 */
#include "scenario_util.h"

#include <stdio.h>

/* Every ready scenario's simulation: seed 1, outputs into `out`. */
static qns_sim *scenario_sim_new(const char *out, uint32_t quantum_us, qns_round_mode rounds,
                                 char *err)
{
    qns_sim_config sc = {.quantum_us = quantum_us, .seed = 1, .out_dir = out, .rounds = rounds};
    return qns_sim_new(&sc, err);
}

/* Two default guests on a simulated 100 Mbit/s, 50 us CSMA LAN; h1 runs
 * `ping` (its arguments before the address) to h2. */
static qns_sim *lan_pings(const char *out, uint32_t quantum_us, qns_round_mode rounds,
                          const char *ping_args, int capture, char *err)
{
    qns_sim *sim = scenario_sim_new(out, quantum_us, rounds, err);
    if (sim == NULL) {
        return NULL;
    }
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "ping %s 10.0.0.2", ping_args);
    qns_guest_config h1 = {.name = "h1", .command = cmd, .ends_run = 1, .nic_count = 1};
    h1.nics[0].ipv4 = "10.0.0.1/24";
    qns_guest_config h2 = {.name = "h2", .nic_count = 1};
    h2.nics[0].ipv4 = "10.0.0.2/24";
    qns_link_config lan = {.name = "lan", .type = QNS_LINK_CSMA, .rate_bps = 100000000,
                           .delay_ns = 50000, .capture = capture};
    int g1 = qns_sim_add_guest(sim, &h1, err);
    int g2 = g1 < 0 ? -1 : qns_sim_add_guest(sim, &h2, err);
    int l = g2 < 0 ? -1 : qns_sim_add_link(sim, &lan, err);
    if (l < 0 || qns_sim_attach_guest(sim, l, g1, 0, 0, err) < 0 ||
        qns_sim_attach_guest(sim, l, g2, 0, 0, err) < 0) {
        qns_sim_free(sim);
        return NULL;
    }
    return sim;
}

/* h1 pings h2 five times. The main job of the README. */
qns_sim *scenario_lan_ping(const char *out, uint32_t quantum_us, qns_round_mode rounds, char *err)
{
    return lan_pings(out, quantum_us, rounds, "-c 5 -i 0.2", 1, err);
}

qns_sim *scenario_lan_ping_n(const char *out, uint32_t quantum_us, int count, int capture,
                             char *err)
{
    char args[32];
    snprintf(args, sizeof(args), "-c %d -i 0.2", count);
    return lan_pings(out, quantum_us, QNS_ROUNDS_ADAPTIVE, args, capture, err);
}

/* h1 pings h2 thirty times, a second apart: guests idle most of the time. */
qns_sim *scenario_ping_30(const char *out, uint32_t quantum_us, qns_round_mode rounds, char *err)
{
    return lan_pings(out, quantum_us, rounds, "-c 30 -i 1", 1, err);
}

/* A default guest and an ns-3 node across a point-to-point
 * link with 5 ms of delay and 1% loss: the guest sends UDP datagrams to the
 * node's ns-3 UdpEchoServer and counts the echoes. */
qns_sim *scenario_udp_echo_p2p(const char *out, uint32_t quantum_us, qns_round_mode rounds,
                               char *err)
{
    qns_sim *sim = scenario_sim_new(out, quantum_us, rounds, err);
    if (sim == NULL) {
        return NULL;
    }
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
        qns_sim_free(sim);
        return NULL;
    }
    return sim;
}

/* One default guest runs iperf3 -c to another through a
 * 10 Mbit/s point-to-point bottleneck with 20 ms of delay; the throughput
 * iperf3 reports is what that link allows. */
qns_sim *scenario_iperf_bottleneck(const char *out, uint32_t quantum_us, qns_round_mode rounds,
                                   char *err)
{
    qns_sim *sim = scenario_sim_new(out, quantum_us, rounds, err);
    if (sim == NULL) {
        return NULL;
    }
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
        qns_sim_free(sim);
        return NULL;
    }
    return sim;
}
