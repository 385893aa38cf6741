/*
 * qns-partition.cc - the ranks of a simulation's guests and nodes: set one
 * by one or split at its point-to-point links (qns_sim_partition), and the
 * checks of them. Joining the ranks' processes is qns-ranks.cc's.
 */
#include "qns-sim-internal.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace ns3;

namespace ns3
{

/* The smallest delay of a point-to-point link between ranks (ns-3's
 * lookahead across them), 0 when there is none. */
uint64_t QnsCrossRankDelayNs(const qns_sim *sim)
{
    uint64_t least = 0;
    for (const auto &l : sim->links) {
        if (l.cfg.type == QNS_LINK_P2P && l.members.size() == 2 &&
            QnsMemberRank(sim, l.members[0]) != QnsMemberRank(sim, l.members[1]) &&
            (least == 0 || l.cfg.delay_ns < least)) {
            least = l.cfg.delay_ns;
        }
    }
    return least;
}

} // namespace ns3

/* Whether guest number g is a member of some link (else it runs on rank 0). */
static bool GuestOnALink(const qns_sim *sim, size_t g)
{
    for (const auto &l : sim->links) {
        for (const auto &m : l.members) {
            if (m.isGuest && m.guest == static_cast<int>(g)) {
                return true;
            }
        }
    }
    return false;
}

/* The parts a simulation splits into at its point-to-point links: the
 * guests and nodes each CSMA or Wi-Fi link joins are one part. Each
 * guest's part number (guests first, then nodes, in part[]); returns the
 * number of parts, numbered by their first guest or node. */
static uint32_t PartsAtPointToPointLinks(const qns_sim *sim, std::vector<uint32_t> &part)
{
    const size_t ng = sim->guests.size(), n = ng + sim->nodeNames.size();
    std::vector<size_t> up(n);
    for (size_t i = 0; i < n; i++) {
        up[i] = i;
    }
    auto root = [&up](size_t i) {
        while (up[i] != i) {
            i = up[i] = up[up[i]];
        }
        return i;
    };
    auto item = [ng](const QnsMember &m) {
        return m.isGuest ? static_cast<size_t>(m.guest) : ng + static_cast<size_t>(m.node);
    };
    for (const auto &l : sim->links) {
        if (l.cfg.type == QNS_LINK_P2P || l.members.empty()) {
            continue;
        }
        for (const auto &m : l.members) {
            size_t a = root(item(l.members[0])), b = root(item(m));
            up[std::max(a, b)] = std::min(a, b);
        }
    }
    std::vector<uint32_t> number(n, UINT32_MAX);
    uint32_t parts = 0;
    part.assign(n, 0);
    for (size_t i = 0; i < n; i++) {
        size_t r = root(i);
        if (number[r] == UINT32_MAX) {
            number[r] = parts++;
        }
        part[i] = number[r];
    }
    return parts;
}

extern "C" int qns_sim_set_node_rank(qns_sim *sim, int node, uint32_t rank, char *errbuf)
{
    if (node < 0 || node >= static_cast<int>(sim->nodeNames.size())) {
        QnsSetErr(errbuf, "no node " + std::to_string(node));
        return -1;
    }
    if (rank > QNS_MAX_RANK) {
        QnsSetErr(errbuf, "node " + sim->nodeNames[static_cast<size_t>(node)] + ": rank " +
                              std::to_string(rank) + " is above " + std::to_string(QNS_MAX_RANK));
        return -1;
    }
    sim->nodeRanks[static_cast<size_t>(node)] = rank;
    return 0;
}

extern "C" uint32_t qns_sim_rank_count(const qns_sim *sim)
{
    uint32_t n = 1;
    for (uint32_t r : sim->nodeRanks) {
        n = std::max(n, r + 1);
    }
    for (uint32_t r : sim->guestRanks) {
        n = std::max(n, r + 1);
    }
    return n;
}

extern "C" int qns_sim_partition(qns_sim *sim, uint32_t ranks, char *errbuf)
{
    if (ranks < 1 || ranks > QNS_MAX_RANK + 1) {
        QnsSetErr(errbuf, "ranks " + std::to_string(ranks) + " is not 1 .. " +
                              std::to_string(QNS_MAX_RANK + 1));
        return -1;
    }
    std::vector<uint32_t> part;
    const uint32_t parts = PartsAtPointToPointLinks(sim, part);
    const size_t ng = sim->guests.size();
    if (parts < ranks) {
        QnsSetErr(errbuf, "the network splits into " + std::to_string(parts) +
                              " part(s) at its point-to-point links, fewer than the " +
                              std::to_string(ranks) + " ranks asked for");
        return -1;
    }
    /* Guests need the cores: the parts with most guests go first, each to
     * the rank with fewest guests so far (then fewest parts, then lowest);
     * the part of a guest on no link stays on rank 0. */
    std::vector<uint32_t> guests(parts, 0);
    std::vector<bool> pinned(parts, false);
    for (size_t g = 0; g < ng; g++) {
        guests[part[g]]++;
        pinned[part[g]] = pinned[part[g]] || !GuestOnALink(sim, g);
    }
    std::vector<uint32_t> order(parts);
    for (uint32_t i = 0; i < parts; i++) {
        order[i] = i;
    }
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
        return pinned[a] != pinned[b] ? pinned[a] : guests[a] > guests[b];
    });
    std::vector<uint32_t> rankOf(parts, 0), load(ranks, 0), count(ranks, 0);
    for (uint32_t p : order) {
        uint32_t best = 0;
        for (uint32_t r = 1; r < ranks && !pinned[p]; r++) {
            if (load[r] < load[best] || (load[r] == load[best] && count[r] < count[best])) {
                best = r;
            }
        }
        rankOf[p] = best;
        load[best] += guests[p];
        count[best]++;
    }
    for (size_t g = 0; g < ng; g++) {
        sim->guestRanks[g] = rankOf[part[g]];
    }
    for (size_t i = 0; i < sim->nodeNames.size(); i++) {
        sim->nodeRanks[i] = rankOf[part[ng + i]];
    }
    return 0;
}

extern "C" uint32_t qns_sim_guest_rank(const qns_sim *sim, int guest)
{
    return guest >= 0 && guest < static_cast<int>(sim->guestRanks.size())
               ? sim->guestRanks[static_cast<size_t>(guest)]
               : 0;
}

extern "C" uint32_t qns_sim_node_rank(const qns_sim *sim, int node)
{
    return node >= 0 && node < static_cast<int>(sim->nodeRanks.size())
               ? sim->nodeRanks[static_cast<size_t>(node)]
               : 0;
}

extern "C" int qns_sim_ranks_check(const qns_sim *sim, uint32_t ranks, char *errbuf)
{
    uint32_t need = qns_sim_rank_count(sim);
    for (size_t g = 0; g < sim->guests.size(); g++) {
        if (!GuestOnALink(sim, g) && sim->guestRanks[g] != 0) {
            QnsSetErr(errbuf, "guest " + sim->guests[g].name + " is on rank " +
                                  std::to_string(sim->guestRanks[g]) +
                                  " but on no link; a guest without one runs on rank 0");
            return -1;
        }
    }
    if (need > 1 && QnsCrossRankDelayNs(sim) == 0) {
        QnsSetErr(errbuf, "guests and nodes are on ranks 0 .. " + std::to_string(need - 1) +
                              ", but no point-to-point link joins two ranks (its delay is ns-3's "
                              "lookahead)");
        return -1;
    }
    if (ranks > 1 && ranks != need) {
        QnsSetErr(errbuf, "guests and nodes are on ranks 0 .. " + std::to_string(need - 1) + " (" +
                              std::to_string(need) + " processes), but mpirun started " +
                              std::to_string(ranks));
        return -1;
    }
    if (ranks > 1 && sim->cfg.flow_monitor) {
        QnsSetErr(errbuf, "flow_monitor needs one process: across ranks each would see only its "
                          "own nodes' flows");
        return -1;
    }
    return 0;
}
