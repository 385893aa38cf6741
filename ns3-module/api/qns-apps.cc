/*
 * qns-apps.cc - ns-3 applications on a simulation's nodes: UDP echo
 * servers and clients, packet sinks, bulk senders and on-off senders, their
 * checks, their installation at build time and the bytes a sink received.
 */
#include "qns-sim-internal.h"

#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"

#include <sstream>
#include <string>

using namespace ns3;

extern "C" int qns_sim_udp_echo_server(qns_sim *sim, int node, uint16_t port, char *errbuf)
{
    if (node < 0 || node >= static_cast<int>(sim->nodeNames.size())) {
        QnsSetErr(errbuf, "no node " + std::to_string(node));
        return -1;
    }
    sim->apps.push_back(QnsAppDesc{true, node, port, "", 0, 0, 0, 0});
    return 0;
}

extern "C" int qns_sim_udp_echo_client(qns_sim *sim, int node, const char *server_ipv4,
                                       uint16_t port, uint32_t count, uint64_t interval_ns,
                                       uint32_t size, uint64_t start_ns, char *errbuf)
{
    if (node < 0 || node >= static_cast<int>(sim->nodeNames.size())) {
        QnsSetErr(errbuf, "no node " + std::to_string(node));
        return -1;
    }
    Ipv4Address a;
    if (server_ipv4 == nullptr || !QnsParseAddress(server_ipv4, a)) {
        QnsSetErr(errbuf,
                  "bad server address '" + std::string(server_ipv4 ? server_ipv4 : "") + "'");
        return -1;
    }
    sim->apps.push_back(
        QnsAppDesc{false, node, port, server_ipv4, count, interval_ns, size, start_ns});
    return 0;
}

extern "C" const char *qns_app_kind_name(qns_app_kind kind)
{
    switch (kind) {
    case QNS_APP_PACKET_SINK:
        return "packet-sink";
    case QNS_APP_BULK_SEND:
        return "bulk-send";
    case QNS_APP_ON_OFF:
        return "on-off";
    }
    return "unknown";
}

extern "C" int qns_sim_add_app(qns_sim *sim, int node, const qns_app_config *app, char *errbuf)
{
    if (node < 0 || node >= static_cast<int>(sim->nodeNames.size())) {
        QnsSetErr(errbuf, "no node " + std::to_string(node));
        return -1;
    }
    bool sink = app->kind == QNS_APP_PACKET_SINK, onOff = app->kind == QNS_APP_ON_OFF;
    if (!sink && !onOff && app->kind != QNS_APP_BULK_SEND) {
        QnsSetErr(errbuf, "unknown application kind " + std::to_string(app->kind));
        return -1;
    }
    std::string what = qns_app_kind_name(app->kind);
    std::string proto = app->protocol ? app->protocol : "";
    bool udpToo = sink || onOff;
    if (proto != "tcp" && (proto != "udp" || !udpToo)) {
        QnsSetErr(errbuf, what + ": unknown protocol '" + proto + "', expected " +
                              (udpToo ? "tcp or udp" : "tcp"));
        return -1;
    }
    if (app->stop_ns != 0 && app->stop_ns <= app->start_ns) {
        QnsSetErr(errbuf, what + ": stop must come after start");
        return -1;
    }
    if (!onOff && (app->rate_bps || app->size || app->on_ns || app->off_ns)) {
        QnsSetErr(errbuf, what + ": rate, size, on and off are on-off settings");
        return -1;
    }
    if (onOff && app->size > 65507) {
        QnsSetErr(errbuf, what + ": size " + std::to_string(app->size) +
                              " is more than a UDP datagram holds (65507)");
        return -1;
    }
    if (app->port == 0) {
        QnsSetErr(errbuf, what + ": port 0; expected 1 .. 65535");
        return -1;
    }
    QnsNodeApp a{node, *app, proto, "", nullptr, 0};
    a.cfg.protocol = nullptr;
    a.cfg.remote_ipv4 = nullptr;
    if (sink) {
        if (app->remote_ipv4 != nullptr || app->max_bytes != 0) {
            QnsSetErr(errbuf, "packet-sink: takes no remote address and no max bytes");
            return -1;
        }
    } else {
        std::string err;
        a.remote = app->remote_ipv4 ? app->remote_ipv4 : "";
        if (!QnsIpv4Check(a.remote, false, err)) {
            QnsSetErr(errbuf, what + ": " + err);
            return -1;
        }
    }
    sim->nodeApps.push_back(a);
    return static_cast<int>(sim->nodeApps.size()) - 1;
}

extern "C" int qns_sim_app_count(const qns_sim *sim)
{
    return static_cast<int>(sim->nodeApps.size());
}

extern "C" int qns_sim_app_rx_bytes(const qns_sim *sim, int app, uint64_t *out)
{
    if (app < 0 || app >= static_cast<int>(sim->nodeApps.size())) {
        return -1;
    }
    *out = sim->nodeApps[static_cast<size_t>(app)].rxBytes;
    return 0;
}

static std::string NanoSecondsVariable(uint64_t ns)
{
    std::ostringstream s;
    s << "ns3::ConstantRandomVariable[Constant=" << static_cast<double>(ns) / 1e9 << "]";
    return s.str();
}

static std::string SocketFactoryOf(const std::string &protocol)
{
    return protocol == "tcp" ? "ns3::TcpSocketFactory" : "ns3::UdpSocketFactory";
}

/* An application of another rank's node is made on this rank too, so both
 * make the same objects (and draw the same random streams) as one process,
 * but it never starts here: its own rank runs it. */
static void KeepToItsRank(const qns_sim *sim, Ptr<Node> node, ApplicationContainer &apps)
{
    if (node->GetSystemId() != Simulator::GetSystemId()) {
        apps.Start(NanoSeconds(static_cast<int64_t>(sim->durationNs)) + Seconds(1));
        apps.Stop(Time(0));
    }
}

/* The UDP echo servers and clients. */
static void InstallEchoApps(qns_sim *sim, const NodeContainer &nodes)
{
    for (const auto &app : sim->apps) {
        Ptr<Node> n = nodes.Get(static_cast<uint32_t>(app.node));
        ApplicationContainer apps;
        if (app.server) {
            UdpEchoServerHelper h(app.port);
            apps = h.Install(n);
            apps.Start(Seconds(0));
        } else {
            UdpEchoClientHelper h(Ipv4Address(app.server_ip.c_str()), app.port);
            h.SetAttribute("MaxPackets", UintegerValue(app.count));
            h.SetAttribute("Interval", TimeValue(NanoSeconds(static_cast<int64_t>(app.interval))));
            h.SetAttribute("PacketSize", UintegerValue(app.size));
            apps = h.Install(n);
            apps.Start(NanoSeconds(static_cast<int64_t>(app.start)));
        }
        KeepToItsRank(sim, n, apps);
    }
}

static void InstallNodeApps(qns_sim *sim, const NodeContainer &nodes)
{
    for (auto &app : sim->nodeApps) {
        Ptr<Node> n = nodes.Get(static_cast<uint32_t>(app.node));
        const qns_app_config &c = app.cfg;
        ApplicationContainer apps;
        InetSocketAddress remote(Ipv4Address(app.remote.c_str()), c.port);
        if (c.kind == QNS_APP_PACKET_SINK) {
            PacketSinkHelper h(SocketFactoryOf(app.protocol),
                               InetSocketAddress(Ipv4Address::GetAny(), c.port));
            apps = h.Install(n);
            app.sink = DynamicCast<PacketSink>(apps.Get(0));
        } else if (c.kind == QNS_APP_BULK_SEND) {
            BulkSendHelper h(SocketFactoryOf(app.protocol), remote);
            h.SetAttribute("MaxBytes", UintegerValue(c.max_bytes));
            apps = h.Install(n);
        } else {
            OnOffHelper h(SocketFactoryOf(app.protocol), remote);
            h.SetAttribute("MaxBytes", UintegerValue(c.max_bytes));
            h.SetAttribute("DataRate", DataRateValue(DataRate(c.rate_bps ? c.rate_bps : 500000)));
            h.SetAttribute("PacketSize", UintegerValue(c.size ? c.size : 512));
            h.SetAttribute("OnTime",
                           StringValue(NanoSecondsVariable(c.on_ns ? c.on_ns : 1000000000)));
            h.SetAttribute("OffTime",
                           StringValue(NanoSecondsVariable(c.off_ns ? c.off_ns : 1000000000)));
            apps = h.Install(n);
        }
        apps.Start(NanoSeconds(static_cast<int64_t>(c.start_ns)));
        if (c.stop_ns != 0) {
            apps.Stop(NanoSeconds(static_cast<int64_t>(c.stop_ns)));
        }
        KeepToItsRank(sim, n, apps);
    }
}

namespace ns3
{

void QnsInstallApps(qns_sim *sim, const NodeContainer &nodes)
{
    InstallEchoApps(sim, nodes);
    InstallNodeApps(sim, nodes);
}

} // namespace ns3
