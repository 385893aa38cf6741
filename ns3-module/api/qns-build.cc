/*
 * qns-build.cc - a simulation's description into ns-3 objects at run time:
 * its nodes, each link's channel and devices (with ns-3's captures), the
 * guests put on their devices with QnsHelper, the nodes' addresses and
 * routes, the applications and global routing.
 */
#include "qns-sim-internal.h"
#include "qns-wifi.h"

#include "ns3/core-module.h"
#include "ns3/csma-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"

#include <string>

using namespace ns3;

/* The link's configuration with its Wi-Fi strings, valid while l is. */
qns_link_config WifiConfig(const QnsLinkDesc &l)
{
    qns_link_config c = l.cfg;
    c.wifi_mode = l.hasWifiMode ? l.wifiMode.c_str() : nullptr;
    c.standard = l.hasStandard ? l.standard.c_str() : nullptr;
    c.rate_manager = l.hasRateManager ? l.rateManager.c_str() : nullptr;
    c.wifi_rate = l.hasWifiRate ? l.wifiRate.c_str() : nullptr;
    return c;
}

/* ns-3's promiscuous pcap of each device, as the helpers' EnablePcap
 * writes it (same file names), but with the file kept to check it. */
template <typename Device>
static void CapturePromiscuous(qns_sim *sim, const NetDeviceContainer &devs,
                               const std::string &prefix, PcapHelper::DataLinkType dlt)
{
    PcapHelper helper;
    for (uint32_t i = 0; i < devs.GetN(); i++) {
        Ptr<Device> dev = devs.Get(i)->GetObject<Device>();
        if (dev->GetNode()->GetSystemId() != Simulator::GetSystemId()) {
            continue; /* another rank's device: that rank captures it */
        }
        std::string name = helper.GetFilenameFromDevice(prefix, dev);
        Ptr<PcapFileWrapper> file = helper.CreateFile(name, std::ios::out, dlt);
        helper.HookDefaultSink<Device>(dev, "PromiscSniffer", file);
        sim->pcaps.emplace_back(name, file);
    }
}

/* The system id of an object on `rank`: the rank across ranks; 0 in one
 * process (which runs every rank's part: ns-3's global routing fills in
 * only the nodes of the process's own system id). */
static uint32_t SystemIdOf(uint32_t rank)
{
    return QnsSimulatorIsDistributed() ? rank : 0;
}

static bool IsLocal(uint32_t rank)
{
    return SystemIdOf(rank) == Simulator::GetSystemId();
}

static Ptr<NetDevice> InstallLinkDevices(qns_sim *sim, const QnsLinkDesc &l, NodeContainer &members,
                                         NetDeviceContainer &devs, const std::string &prefix)
{
    QueueSize q(std::to_string(l.cfg.queue_packets) + "p");
    if (l.cfg.type == QNS_LINK_CSMA) {
        CsmaHelper csma;
        csma.SetChannelAttribute("DataRate", DataRateValue(DataRate(l.cfg.rate_bps)));
        csma.SetChannelAttribute("Delay",
                                 TimeValue(NanoSeconds(static_cast<int64_t>(l.cfg.delay_ns))));
        csma.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", QueueSizeValue(q));
        devs = csma.Install(members);
        if (l.cfg.capture) {
            CapturePromiscuous<CsmaNetDevice>(sim, devs, prefix, PcapHelper::DLT_EN10MB);
        }
    } else if (l.cfg.type == QNS_LINK_WIFI) {
        qns_link_config cfg = WifiConfig(l);
        cfg.capture = cfg.capture && IsLocal(QnsLinkRank(sim, l));
        /* The access point qns adds: a node of its own, without IP. */
        Ptr<Node> ap = QnsWifiHasAccessPoint(cfg)
                           ? CreateObject<Node>(SystemIdOf(QnsLinkRank(sim, l)))
                           : nullptr;
        devs = QnsWifiInstall(cfg, l.name, members, ap, prefix, sim->pcaps);
    } else {
        PointToPointHelper p2p;
        p2p.SetDeviceAttribute("DataRate", DataRateValue(DataRate(l.cfg.rate_bps)));
        p2p.SetChannelAttribute("Delay",
                                TimeValue(NanoSeconds(static_cast<int64_t>(l.cfg.delay_ns))));
        p2p.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", QueueSizeValue(q));
        devs = p2p.Install(members);
        if (l.cfg.capture) {
            CapturePromiscuous<PointToPointNetDevice>(sim, devs, prefix, PcapHelper::DLT_PPP);
        }
    }
    if (l.cfg.loss > 0) {
        for (uint32_t i = 0; i < devs.GetN(); i++) {
            Ptr<RateErrorModel> em = CreateObject<RateErrorModel>();
            em->SetAttribute("ErrorRate", DoubleValue(l.cfg.loss));
            em->SetAttribute("ErrorUnit", StringValue("ERROR_UNIT_PACKET"));
            devs.Get(i)->SetAttribute("ReceiveErrorModel", PointerValue(em));
        }
    }
    return nullptr;
}

/* The first interface of ip whose subnet holds address (CheckRoutes made
 * sure there is one). */
static uint32_t InterfaceOnSubnetOf(Ptr<Ipv4> ip, Ipv4Address address)
{
    for (uint32_t i = 0; i < ip->GetNInterfaces(); i++) {
        for (uint32_t j = 0; j < ip->GetNAddresses(i); j++) {
            Ipv4InterfaceAddress ia = ip->GetAddress(i, j);
            if (ia.GetMask().IsMatch(ia.GetLocal(), address)) {
                return i;
            }
        }
    }
    NS_FATAL_ERROR("no interface on the subnet of " << address);
}

/*
 * Global routing over links with guests. A guest is a host, not a router:
 * on a CSMA link its ghost node has no IP stack, and ns-3 sees the link as a
 * stub or transit network of its nodes. On a point-to-point link ns-3's
 * global routing requires an IP stack on the far end: the ghost gets one
 * without a global router (and without interfaces, so it never answers a
 * frame), and the ns-3 node at the near end announces the link's subnet as
 * an external route, so every ns-3 node reaches the guest. The stacks are
 * installed after every other object, so the random streams ns-3 assigns
 * to the scenario's own objects stay what they were.
 */
static void InstallRoutingOnGuestLinks(const qns_sim *sim, NodeContainer &nodes,
                                       NodeContainer &p2pGhosts)
{
    InternetStackHelper ghostStack;
    Ipv4StaticRoutingHelper staticOnly;
    ghostStack.SetRoutingHelper(staticOnly);
    ghostStack.SetIpv6StackInstall(false);
    ghostStack.Install(p2pGhosts);
    for (const auto &l : sim->links) {
        bool guestEnd = false;
        for (const auto &m : l.members) {
            guestEnd |= m.isGuest;
        }
        if (l.cfg.type != QNS_LINK_P2P || !guestEnd) {
            continue;
        }
        for (const auto &m : l.members) {
            Ipv4Address a;
            Ipv4Mask mask;
            if (m.isGuest || !QnsParseCidr(m.ipv4, a, mask)) {
                continue;
            }
            Ptr<GlobalRouter> router =
                nodes.Get(static_cast<uint32_t>(m.node))->GetObject<GlobalRouter>();
            if (router) {
                router->InjectRoute(a.CombineMask(mask), mask);
            }
        }
    }
    Ipv4GlobalRoutingHelper::PopulateRoutingTables();
}

/* The scenario's ns-3 nodes, each on its rank, named, with an IP stack. */
static void CreateNodes(const qns_sim *sim, NodeContainer &nodes)
{
    for (uint32_t rank : sim->nodeRanks) {
        nodes.Create(1, SystemIdOf(rank));
    }
    for (size_t i = 0; i < sim->nodeNames.size(); i++) {
        Names::Add(sim->nodeNames[i], nodes.Get(static_cast<uint32_t>(i)));
    }
    InternetStackHelper stack;
    stack.Install(nodes);
}

/* Link l's members on its devices (member k on device k): a guest's NIC
 * through its bridge, a node's interface with its address. */
static bool AttachMembers(qns_sim *sim, const QnsLinkDesc &l, const NetDeviceContainer &devs,
                          std::string &err)
{
    const auto &guests = sim->helper.GetRun()->GetGuests();
    for (size_t k = 0; k < l.members.size(); k++) {
        const QnsMember &m = l.members[k];
        Ptr<NetDevice> dev = devs.Get(static_cast<uint32_t>(k));
        if (m.isGuest) {
            sim->helper.SetBridgeAttribute(
                "Latency", TimeValue(NanoSeconds(static_cast<int64_t>(m.latencyNs))));
            if (!sim->helper.Install(guests[static_cast<size_t>(m.guest)],
                                     static_cast<uint32_t>(m.nic), dev, err)) {
                return false;
            }
        } else {
            Ipv4Address a;
            Ipv4Mask mask;
            QnsParseCidr(m.ipv4, a, mask);
            Ptr<Ipv4> ip = dev->GetNode()->GetObject<Ipv4>();
            int32_t ifi = static_cast<int32_t>(ip->AddInterface(dev));
            ip->AddAddress(ifi, Ipv4InterfaceAddress(a, mask));
            ip->SetUp(ifi);
        }
    }
    return true;
}

/* Link number li, once checked: a ghost node for each guest member (added
 * to p2pGhosts on a point-to-point link), its devices, its members on them. */
static bool BuildLink(qns_sim *sim, size_t li, const NodeContainer &nodes, NodeContainer &p2pGhosts,
                      std::string &err)
{
    const QnsLinkDesc &l = sim->links[li];
    char e[QNS_ERRBUF_SIZE];
    if (qns_sim_link_check(sim, static_cast<int>(li), e) < 0) {
        err = e;
        return false;
    }
    if (l.members.empty()) {
        return true;
    }
    NodeContainer members;
    for (const auto &m : l.members) {
        Ptr<Node> n = m.isGuest ? CreateObject<Node>(SystemIdOf(QnsMemberRank(sim, m)))
                                : nodes.Get(static_cast<uint32_t>(m.node));
        members.Add(n);
        if (m.isGuest && l.cfg.type == QNS_LINK_P2P) {
            p2pGhosts.Add(n);
        }
    }
    NetDeviceContainer devs;
    InstallLinkDevices(sim, l, members, devs, sim->outDir + "/" + l.name);
    return AttachMembers(sim, l, devs, err);
}

/* The nodes' static routes. Static routing has priority 0 in
 * InternetStackHelper's list routing, global routing -10: a static route
 * wins over a global one. */
static void InstallStaticRoutes(const qns_sim *sim, const NodeContainer &nodes)
{
    Ipv4StaticRoutingHelper staticRouting;
    for (const auto &r : sim->routes) {
        Ptr<Ipv4> ip = nodes.Get(static_cast<uint32_t>(r.node))->GetObject<Ipv4>();
        staticRouting.GetStaticRouting(ip)->AddNetworkRouteTo(r.network, r.mask, r.gateway,
                                                              InterfaceOnSubnetOf(ip, r.gateway));
    }
}

namespace ns3
{

bool QnsBuild(qns_sim *sim, std::string &err)
{
    if (!QnsCheckRoutes(sim, err)) {
        return false;
    }
    NodeContainer nodes;
    CreateNodes(sim, nodes);

    NodeContainer p2pGhosts;
    sim->helper.GetRun()->ScheduleStart();
    for (size_t li = 0; li < sim->links.size(); li++) {
        if (!BuildLink(sim, li, nodes, p2pGhosts, err)) {
            return false;
        }
    }
    InstallStaticRoutes(sim, nodes);
    QnsInstallApps(sim, nodes);
    InstallRoutingOnGuestLinks(sim, nodes, p2pGhosts);
    return true;
}

} // namespace ns3
