/*
 * ping_node - a qns user's program, built against the installed package
 * (find_package(qns) or pkg-config): one default guest pings an ns-3 node
 * across a CSMA LAN once, then powers off.
 *
 * Usage: ping_node OUTDIR     (the console and the captures go there)
 */
#include <qns.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ping_node OUTDIR\n");
        return 2;
    }
    char err[QNS_ERRBUF_SIZE];
    qns_sim_config sc = {.seed = 1, .out_dir = argv[1]};
    qns_sim *sim = qns_sim_new(&sc, err);
    if (sim == NULL) {
        fprintf(stderr, "ping_node: %s\n", err);
        return 1;
    }
    qns_guest_config g = {
        .name = "h1", .command = "ping -c 1 10.0.0.2", .ends_run = 1, .nic_count = 1};
    g.nics[0].ipv4 = "10.0.0.1/24";
    qns_link_config lan = {.name = "lan", .type = QNS_LINK_CSMA};
    int h1 = qns_sim_add_guest(sim, &g, err);
    int n1 = h1 < 0 ? -1 : qns_sim_add_node(sim, "n1", err);
    int l = n1 < 0 ? -1 : qns_sim_add_link(sim, &lan, err);
    int r = -1;
    if (l >= 0 && qns_sim_attach_guest(sim, l, h1, 0, 0, err) == 0 &&
        qns_sim_attach_node(sim, l, n1, "10.0.0.2/24", err) == 0) {
        /* QEMU: after the words of bwrap, which confines it, to its "--". */
        const char *const *a = qns_sim_guest_argv(sim, h1), *qemu = a[0];
        for (int i = 0; a[i] && a[i + 1]; i++) {
            if (strcmp(a[i], "--") == 0) {
                qemu = a[i + 1];
                break;
            }
        }
        printf("qemu: %s\n", qemu);
        printf("guest image: %s\n", qns_default_guest_dir());
        r = qns_sim_run(sim, 60000000000ull, err);
    }
    if (r == 0) {
        qns_guest_stats st;
        qns_sim_guest_stats(sim, h1, &st);
        printf("h1 powered off at %.3f s (virtual), command status %d, %llu rounds\n",
               (double)st.clock_us / 1e6, st.command_status,
               (unsigned long long)qns_sim_rounds(sim));
        printf("console: %s\n", st.console_path);
    } else {
        fprintf(stderr, "ping_node: %s\n", err);
    }
    qns_sim_free(sim);
    return r == 0 ? 0 : 1;
}
