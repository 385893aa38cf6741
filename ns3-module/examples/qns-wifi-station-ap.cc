/*
 * qns-wifi-station-ap - a QEMU guest as an 802.11n station of an ns-3
 * access point, which routes between its Wi-Fi and a CSMA LAN with an ns-3
 * server (global routing): the guest pings the server and sends a UDP
 * datagram to the server's UdpEchoServer, which echoes it back.
 *
 *   sta (guest) 10.0.1.2 ))) ap 10.0.1.1 | 10.0.2.1 --csma-- 10.0.2.2 server
 *
 *   qns-wifi-station-ap --outDir=out [--ns3::QnsSyncScheduler::Quantum=10us]
 *
 * Writes out/sta.console, out/sta-nic0.pcap, out/wifi-N-0.pcap (radiotap)
 * and out/lan-N-0.pcap.
 */
#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/csma-module.h"
#include "ns3/internet-module.h"
#include "ns3/mobility-module.h"
#include "ns3/network-module.h"
#include "ns3/qns-module.h"
#include "ns3/wifi-module.h"

#include <iostream>

using namespace ns3;

int main(int argc, char *argv[])
{
    std::string outDir = ".";
    CommandLine cmd(__FILE__);
    cmd.AddValue("outDir", "Folder for consoles and captures (must exist)", outDir);
    cmd.Parse(argc, argv);

    GlobalValue::Bind("ChecksumEnabled", BooleanValue(true));
    Config::SetDefault("ns3::PcapFileWrapper::NanosecMode", BooleanValue(true));

    Ptr<Node> sta = CreateObject<Node>(); /* the guest's ghost node */
    Ptr<Node> ap = CreateObject<Node>();
    Ptr<Node> server = CreateObject<Node>();

    YansWifiChannelHelper channel = YansWifiChannelHelper::Default();
    YansWifiPhyHelper phy;
    phy.SetChannel(channel.Create());
    phy.SetPcapDataLinkType(WifiPhyHelper::DLT_IEEE802_11_RADIO);
    WifiHelper wifi;
    wifi.SetStandard(WIFI_STANDARD_80211n);
    wifi.SetRemoteStationManager("ns3::IdealWifiManager");
    WifiMacHelper mac;
    Ssid ssid("qns");
    mac.SetType("ns3::ApWifiMac", "Ssid", SsidValue(ssid));
    NetDeviceContainer apDev = wifi.Install(phy, mac, ap);
    mac.SetType("ns3::StaWifiMac", "Ssid", SsidValue(ssid));
    NetDeviceContainer staDev = wifi.Install(phy, mac, sta);

    MobilityHelper mobility;
    Ptr<ListPositionAllocator> at = CreateObject<ListPositionAllocator>();
    at->Add(Vector(0, 0, 0));
    at->Add(Vector(5, 0, 0));
    mobility.SetPositionAllocator(at);
    mobility.SetMobilityModel("ns3::ConstantPositionMobilityModel");
    mobility.Install(NodeContainer(ap, sta));

    CsmaHelper csma;
    csma.SetChannelAttribute("DataRate", StringValue("100Mbps"));
    csma.SetChannelAttribute("Delay", TimeValue(MicroSeconds(5)));
    NetDeviceContainer lanDev = csma.Install(NodeContainer(ap, server));

    InternetStackHelper internet;
    internet.Install(NodeContainer(ap, server));
    Ipv4AddressHelper ipv4;
    ipv4.SetBase("10.0.1.0", "255.255.255.0", "0.0.0.1");
    ipv4.Assign(apDev);
    ipv4.SetBase("10.0.2.0", "255.255.255.0", "0.0.0.1");
    ipv4.Assign(lanDev);
    Ipv4GlobalRoutingHelper::PopulateRoutingTables();

    UdpEchoServerHelper echo(7);
    echo.Install(server).Start(Seconds(0));

    phy.EnablePcap(outDir + "/wifi", NetDeviceContainer(apDev, staDev));
    csma.EnablePcap(outDir + "/lan", lanDev, true);

    QnsHelper qns;
    qns.SetOutputDirectory(outDir);
    Ptr<QnsGuest> guest =
        qns.CreateGuest("sta", "10.0.1.2/24",
                        "ping -c 3 10.0.2.2 && echo qns-over-wifi | socat -T 2 - UDP4:10.0.2.2:7");
    guest->SetAttribute("KernelArgs", StringValue("qns.route=10.0.2.0/24,10.0.1.1"));
    qns.Install(guest, 0, staDev.Get(0));

    Simulator::Stop(Seconds(60));
    Simulator::Run();
    int status = qns.Conclude("qns-wifi-station-ap");
    Simulator::Destroy();
    return status;
}
