/*
 * qns-csma-global-routing - two QEMU guests and an ns-3 router on a CSMA
 * LAN; the router links to an ns-3 host over point-to-point, and ns-3's
 * global routing finds the way. Guest h1 pings the host; the host's
 * UdpEchoClient sends five datagrams to guest h2's UDP echo service.
 *
 *   h1 10.1.1.1 --+
 *   h2 10.1.1.2 --+-- csma -- 10.1.1.3 router 10.1.2.1 -- p2p -- 10.1.2.2 host
 *
 *   qns-csma-global-routing --outDir=out [--ns3::QnsSyncScheduler::Quantum=10us]
 *
 * Writes out/h1.console, out/h2.console, the guests' captures and the
 * LAN's pcaps; prints how many echoes came back to the host.
 */
#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/csma-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/qns-module.h"

#include <iostream>

using namespace ns3;

namespace
{

void CountEcho(uint32_t *count, Ptr<const Packet>)
{
    (*count)++;
}

} // namespace

int main(int argc, char *argv[])
{
    std::string outDir = ".";
    CommandLine cmd(__FILE__);
    cmd.AddValue("outDir", "Folder for consoles and captures (must exist)", outDir);
    cmd.Parse(argc, argv);

    GlobalValue::Bind("ChecksumEnabled", BooleanValue(true));
    Config::SetDefault("ns3::PcapFileWrapper::NanosecMode", BooleanValue(true));

    NodeContainer lan(3); /* h1's and h2's ghost nodes, the router */
    Ptr<Node> router = lan.Get(2);
    Ptr<Node> host = CreateObject<Node>();

    CsmaHelper csma;
    csma.SetChannelAttribute("DataRate", StringValue("100Mbps"));
    csma.SetChannelAttribute("Delay", TimeValue(MicroSeconds(5)));
    NetDeviceContainer lanDev = csma.Install(lan);
    PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", StringValue("10Mbps"));
    p2p.SetChannelAttribute("Delay", TimeValue(MilliSeconds(2)));
    NetDeviceContainer wanDev = p2p.Install(router, host);

    InternetStackHelper internet;
    internet.Install(NodeContainer(router, host));
    Ipv4AddressHelper ipv4;
    ipv4.SetBase("10.1.1.0", "255.255.255.0", "0.0.0.3");
    ipv4.Assign(NetDeviceContainer(lanDev.Get(2)));
    ipv4.SetBase("10.1.2.0", "255.255.255.0", "0.0.0.1");
    ipv4.Assign(wanDev);
    Ipv4GlobalRoutingHelper::PopulateRoutingTables();

    UdpEchoClientHelper client(Ipv4Address("10.1.1.2"), 7);
    client.SetAttribute("MaxPackets", UintegerValue(5));
    client.SetAttribute("Interval", TimeValue(MilliSeconds(100)));
    client.SetAttribute("PacketSize", UintegerValue(64));
    ApplicationContainer app = client.Install(host);
    app.Start(Seconds(3));
    uint32_t echoes = 0;
    app.Get(0)->TraceConnectWithoutContext("Rx", MakeBoundCallback(&CountEcho, &echoes));

    csma.EnablePcap(outDir + "/lan", lanDev.Get(2), true);

    QnsHelper qns;
    qns.SetOutputDirectory(outDir);
    const std::string route = "qns.route=10.1.2.0/24,10.1.1.3";
    Ptr<QnsGuest> h1 = qns.CreateGuest("h1", "10.1.1.1/24", "sleep 3; ping -c 3 10.1.2.2");
    h1->SetAttribute("KernelArgs", StringValue(route));
    Ptr<QnsGuest> h2 = qns.CreateGuest("h2", "10.1.1.2/24", "");
    h2->SetAttribute("KernelArgs", StringValue(route));
    h2->SetAttribute("Services", StringValue("udp-echo"));
    qns.Install(h1, 0, lanDev.Get(0));
    qns.Install(h2, 0, lanDev.Get(1));

    Simulator::Stop(Seconds(60));
    Simulator::Run();
    std::cout << "qns-csma-global-routing: " << echoes << " of 5 echoes back at the host"
              << std::endl;
    int status = qns.Conclude("qns-csma-global-routing");
    Simulator::Destroy();
    return status;
}
