/*
 * qns-topology.cc - the C API's topology: ns-3 nodes, links, guests and
 * nodes attached to links, nodes' static routes, and their checks.
 */
#include "qns-sim-internal.h"

#include "qns-guest-port.h"
#include "qns-wifi.h"

#include <glib.h>

#include <sstream>
#include <string>

using namespace ns3;

namespace ns3
{

uint32_t QnsMemberRank(const qns_sim *sim, const QnsMember &m)
{
    return m.isGuest ? sim->guestRanks[static_cast<size_t>(m.guest)]
                     : sim->nodeRanks[static_cast<size_t>(m.node)];
}

uint32_t QnsLinkRank(const qns_sim *sim, const QnsLinkDesc &l)
{
    return l.members.empty() ? 0 : QnsMemberRank(sim, l.members[0]);
}

} // namespace ns3

static std::string MemberName(const qns_sim *sim, const QnsMember &m)
{
    return m.isGuest ? "guest " + sim->guests[static_cast<size_t>(m.guest)].name + " NIC " +
                           std::to_string(m.nic)
                     : "node " + sim->nodeNames[static_cast<size_t>(m.node)];
}

static std::string MemberIpv4(const qns_sim *sim, const QnsMember &m)
{
    return m.isGuest ? sim->guests[static_cast<size_t>(m.guest)].ipv4s[static_cast<size_t>(m.nic)]
                     : m.ipv4;
}

/* No two members of one link share a MAC (guests; ns-3 allocates its
 * devices' own) or an IPv4 address; then the member joins the link. */
static int Join(qns_sim *sim, int link, const QnsMember &m, char *errbuf)
{
    auto &l = sim->links[static_cast<size_t>(link)];
    std::string ip = MemberIpv4(sim, m);
    for (const auto &o : l.members) {
        if (m.isGuest && o.isGuest) {
            const std::string &mac =
                sim->guests[static_cast<size_t>(m.guest)].macs[static_cast<size_t>(m.nic)];
            if (g_ascii_strcasecmp(mac.c_str(), sim->guests[static_cast<size_t>(o.guest)]
                                                    .macs[static_cast<size_t>(o.nic)]
                                                    .c_str()) == 0) {
                QnsSetErr(errbuf, "link " + l.name + ": " + MemberName(sim, m) +
                                      " has MAC address " + mac + ", as " + MemberName(sim, o) +
                                      " has");
                return -1;
            }
        }
        if (!ip.empty() && QnsHostOf(ip) == QnsHostOf(MemberIpv4(sim, o))) {
            QnsSetErr(errbuf, "link " + l.name + ": " + MemberName(sim, m) + " has IPv4 address " +
                                  QnsHostOf(ip) + ", as " + MemberName(sim, o) + " has");
            return -1;
        }
    }
    l.members.push_back(m);
    return 0;
}

static bool CheckLink(qns_sim *sim, int link, char *errbuf)
{
    if (link < 0 || link >= static_cast<int>(sim->links.size())) {
        QnsSetErr(errbuf, "no link " + std::to_string(link));
        return false;
    }
    auto &l = sim->links[static_cast<size_t>(link)];
    if (l.cfg.type == QNS_LINK_P2P && l.members.size() >= 2) {
        QnsSetErr(errbuf, "link " + l.name + ": a point-to-point link has two ends");
        return false;
    }
    return true;
}

/* Route r's gateway must be on a subnet of one of its node's attachments:
 * checked on the description, before any guest starts. */
static bool CheckRoute(const qns_sim *sim, const QnsRouteDesc &r, std::string &err)
{
    bool onSubnet = false;
    std::string subnets;
    for (const auto &l : sim->links) {
        for (const auto &m : l.members) {
            Ipv4Address a;
            Ipv4Mask mask;
            if (m.isGuest || m.node != r.node || !QnsParseCidr(m.ipv4, a, mask)) {
                continue;
            }
            onSubnet |= mask.IsMatch(a, r.gateway);
            subnets += (subnets.empty() ? "" : ", ") + m.ipv4;
        }
    }
    if (!onSubnet) {
        err = "node " + sim->nodeNames[static_cast<size_t>(r.node)] + ": gateway " + r.gatewayText +
              " of the route to " + r.destination + " is on none of the node's subnets (" +
              (subnets.empty() ? "the node is on no link" : subnets) + ")";
        return false;
    }
    return true;
}

namespace ns3
{

bool QnsCheckRoutes(const qns_sim *sim, std::string &err)
{
    for (const auto &r : sim->routes) {
        if (!CheckRoute(sim, r, err)) {
            return false;
        }
    }
    return true;
}

} // namespace ns3

extern "C" int qns_sim_add_node(qns_sim *sim, const char *name, char *errbuf)
{
    std::string n = name ? name : "node" + std::to_string(sim->nodeNames.size());
    if (qns_name_check("node", n.c_str(), errbuf) < 0) {
        return -1;
    }
    for (const auto &x : sim->nodeNames) {
        if (x == n) {
            QnsSetErr(errbuf, "node " + n + " is defined twice");
            return -1;
        }
    }
    sim->nodeNames.push_back(n);
    sim->nodeRanks.push_back(0);
    return static_cast<int>(sim->nodeNames.size()) - 1;
}

extern "C" int qns_link_check(const qns_link_config *link, char *errbuf)
{
    std::string err;
    if (!QnsWifiCheck(*link, link->name ? link->name : "", err)) {
        QnsSetErr(errbuf, err);
        return -1;
    }
    return 0;
}

extern "C" int qns_sim_add_link(qns_sim *sim, const qns_link_config *link, char *errbuf)
{
    QnsLinkDesc l;
    l.cfg = *link;
    l.name = link->name ? link->name : "link" + std::to_string(sim->links.size());
    l.cfg.name = nullptr;
    if (qns_name_check("link", l.name.c_str(), errbuf) < 0) {
        return -1;
    }
    std::string err;
    if (l.cfg.type != QNS_LINK_CSMA && l.cfg.type != QNS_LINK_P2P && l.cfg.type != QNS_LINK_WIFI) {
        QnsSetErr(errbuf, "link " + l.name + ": unknown link type");
        return -1;
    }
    if (!QnsWifiCheck(l.cfg, l.name, err)) {
        QnsSetErr(errbuf, err);
        return -1;
    }
    /* The strings are the caller's: kept as copies (see WifiConfig). */
    auto keep = [](const char *&field, std::string &copy, bool &set) {
        set = field != nullptr;
        copy = set ? field : "";
        field = nullptr;
    };
    keep(l.cfg.wifi_mode, l.wifiMode, l.hasWifiMode);
    keep(l.cfg.standard, l.standard, l.hasStandard);
    keep(l.cfg.rate_manager, l.rateManager, l.hasRateManager);
    keep(l.cfg.wifi_rate, l.wifiRate, l.hasWifiRate);
    if (l.cfg.type == QNS_LINK_WIFI) {
        sim->links.push_back(l);
        return static_cast<int>(sim->links.size()) - 1;
    }
    if (l.cfg.rate_bps == 0) {
        l.cfg.rate_bps = 100000000;
    }
    if (l.cfg.queue_packets == 0) {
        l.cfg.queue_packets = 100;
    }
    if (!(l.cfg.loss >= 0.0 && l.cfg.loss <= 1.0)) {
        QnsSetErr(errbuf, "link " + l.name + ": loss rate must be between 0 and 1");
        return -1;
    }
    sim->links.push_back(l);
    return static_cast<int>(sim->links.size()) - 1;
}

extern "C" int qns_sim_link_check(const qns_sim *sim, int link, char *errbuf)
{
    if (link < 0 || link >= static_cast<int>(sim->links.size())) {
        QnsSetErr(errbuf, "no link " + std::to_string(link));
        return -1;
    }
    const QnsLinkDesc &l = sim->links[static_cast<size_t>(link)];
    if (l.cfg.type == QNS_LINK_P2P && l.members.size() != 2) {
        QnsSetErr(errbuf, "link " + l.name +
                              ": a point-to-point link has exactly two members, it has " +
                              std::to_string(l.members.size()));
        return -1;
    }
    for (const auto &m : l.members) {
        if (QnsMemberRank(sim, m) == QnsLinkRank(sim, l)) {
            continue;
        }
        const QnsMember &first = l.members[0];
        if (l.cfg.type != QNS_LINK_P2P) {
            QnsSetErr(errbuf, "link " + l.name + ": " + MemberName(sim, first) + " is on rank " +
                                  std::to_string(QnsMemberRank(sim, first)) + ", " +
                                  MemberName(sim, m) + " on rank " +
                                  std::to_string(QnsMemberRank(sim, m)) +
                                  "; only a point-to-point link joins two ranks");
            return -1;
        }
        if (l.cfg.delay_ns == 0) {
            QnsSetErr(errbuf,
                      "link " + l.name + " joins ranks " +
                          std::to_string(QnsMemberRank(sim, first)) + " and " +
                          std::to_string(QnsMemberRank(sim, m)) +
                          ": its delay must be above 0 (it is ns-3's lookahead between them)");
            return -1;
        }
    }
    return 0;
}

extern "C" int qns_sim_attach_guest(qns_sim *sim, int link, int guest, int nic, uint64_t latency_ns,
                                    char *errbuf)
{
    if (!CheckLink(sim, link, errbuf)) {
        return -1;
    }
    if (guest < 0 || guest >= static_cast<int>(sim->guests.size())) {
        QnsSetErr(errbuf, "no guest " + std::to_string(guest));
        return -1;
    }
    const auto &g = sim->guests[static_cast<size_t>(guest)];
    if (nic < 0 || nic >= g.nicCount) {
        QnsSetErr(errbuf, "guest " + g.name + " has no NIC " + std::to_string(nic));
        return -1;
    }
    for (const auto &l : sim->links) {
        for (const auto &m : l.members) {
            if (m.isGuest && m.guest == guest && m.nic == nic) {
                QnsSetErr(errbuf, "guest " + g.name + " NIC " + std::to_string(nic) +
                                      " is already attached to link " + l.name);
                return -1;
            }
        }
    }
    std::string err;
    if (latency_ns != 0 && !QnsLatencyCheck(NanoSeconds(static_cast<int64_t>(latency_ns)),
                                            MicroSeconds(sim->cfg.quantum_us), err)) {
        QnsSetErr(errbuf, "guest " + g.name + " NIC " + std::to_string(nic) + ": " + err);
        return -1;
    }
    return Join(sim, link, QnsMember{true, guest, nic, latency_ns, -1, ""}, errbuf);
}

extern "C" int qns_sim_attach_node(qns_sim *sim, int link, int node, const char *ipv4, char *errbuf)
{
    if (!CheckLink(sim, link, errbuf)) {
        return -1;
    }
    if (node < 0 || node >= static_cast<int>(sim->nodeNames.size())) {
        QnsSetErr(errbuf, "no node " + std::to_string(node));
        return -1;
    }
    std::string err;
    if (!QnsHostAddressCheck("node " + sim->nodeNames[static_cast<size_t>(node)], ipv4 ? ipv4 : "",
                             err)) {
        QnsSetErr(errbuf, err);
        return -1;
    }
    return Join(sim, link, QnsMember{false, -1, -1, 0, node, ipv4}, errbuf);
}

extern "C" int qns_sim_add_route(qns_sim *sim, int node, const char *destination,
                                 const char *gateway, char *errbuf)
{
    if (node < 0 || node >= static_cast<int>(sim->nodeNames.size())) {
        QnsSetErr(errbuf, "no node " + std::to_string(node));
        return -1;
    }
    const std::string &name = sim->nodeNames[static_cast<size_t>(node)];
    QnsRouteDesc r{node, destination ? destination : "", gateway ? gateway : "", {}, {}, {}};
    if (!QnsParseCidr(r.destination, r.network, r.mask, 0)) {
        QnsSetErr(errbuf, "node " + name + ": bad route destination '" + r.destination +
                              "', expected A.B.C.D/PREFIX (0.0.0.0/0 for the default route)");
        return -1;
    }
    if (r.network != r.network.CombineMask(r.mask)) {
        std::ostringstream net;
        net << r.network.CombineMask(r.mask) << "/" << r.mask.GetPrefixLength();
        QnsSetErr(errbuf, "node " + name + ": route destination " + r.destination +
                              " has host bits set; the network is " + net.str());
        return -1;
    }
    if (!QnsParseAddress(r.gatewayText, r.gateway)) {
        QnsSetErr(errbuf,
                  "node " + name + ": bad route gateway '" + r.gatewayText + "', expected A.B.C.D");
        return -1;
    }
    sim->routes.push_back(r);
    return 0;
}

extern "C" int qns_sim_route_check(const qns_sim *sim, int route, char *errbuf)
{
    if (route < 0 || route >= static_cast<int>(sim->routes.size())) {
        QnsSetErr(errbuf, "no route " + std::to_string(route));
        return -1;
    }
    std::string err;
    if (!CheckRoute(sim, sim->routes[static_cast<size_t>(route)], err)) {
        QnsSetErr(errbuf, err);
        return -1;
    }
    return 0;
}
