/*
 * qns-wifi-adhoc-iperf - two QEMU guests on an 802.11n ad-hoc Wi-Fi link,
 * `distance` metres apart at a fixed rate: the client runs iperf3 against
 * the server for `seconds` s. The guests are added to an ordinary ns-3
 * Wi-Fi program with QnsHelper (the lines marked "qns"); the program keeps
 * its simulator, seeds and pcaps.
 *
 *   qns-wifi-adhoc-iperf --outDir=out [--distance=10] [--rate=HtMcs7]
 *                        [--seconds=3] [--ns3::QnsSyncScheduler::Quantum=10us]
 *
 * Writes out/client.console (iperf3's report), out/{client,server}-nic0.pcap
 * (the guests' side of the bridges) and out/air-N-0.pcap (radiotap).
 */
#include "ns3/core-module.h"
#include "ns3/mobility-module.h"
#include "ns3/network-module.h"
#include "ns3/qns-module.h"
#include "ns3/wifi-module.h"

#include <iostream>

using namespace ns3;

int main(int argc, char *argv[])
{
    std::string outDir = ".", rate = "HtMcs7";
    double distance = 10;
    uint32_t seconds = 3;
    CommandLine cmd(__FILE__);
    cmd.AddValue("outDir", "Folder for consoles and captures (must exist)", outDir);
    cmd.AddValue("distance", "Metres between the two stations", distance);
    cmd.AddValue("rate", "ConstantRateWifiManager's DataMode (802.11n, one antenna)", rate);
    cmd.AddValue("seconds", "How long iperf3 sends", seconds);
    cmd.Parse(argc, argv);

    GlobalValue::Bind("ChecksumEnabled", BooleanValue(true));
    Config::SetDefault("ns3::PcapFileWrapper::NanosecMode", BooleanValue(true));

    NodeContainer stations(2);
    YansWifiChannelHelper channel = YansWifiChannelHelper::Default();
    YansWifiPhyHelper phy;
    phy.SetChannel(channel.Create());
    phy.SetPcapDataLinkType(WifiPhyHelper::DLT_IEEE802_11_RADIO);
    WifiHelper wifi;
    wifi.SetStandard(WIFI_STANDARD_80211n);
    wifi.SetRemoteStationManager("ns3::ConstantRateWifiManager", "DataMode", StringValue(rate),
                                 "ControlMode", StringValue("HtMcs0"));
    WifiMacHelper mac;
    mac.SetType("ns3::AdhocWifiMac");
    NetDeviceContainer devices = wifi.Install(phy, mac, stations);

    MobilityHelper mobility;
    Ptr<ListPositionAllocator> at = CreateObject<ListPositionAllocator>();
    at->Add(Vector(0, 0, 0));
    at->Add(Vector(distance, 0, 0));
    mobility.SetPositionAllocator(at);
    mobility.SetMobilityModel("ns3::ConstantPositionMobilityModel");
    mobility.Install(stations);
    phy.EnablePcap(outDir + "/air", devices);

    QnsHelper qns;
    qns.SetOutputDirectory(outDir);
    Ptr<QnsGuest> server = qns.CreateGuest("server", "10.0.3.2/24", "");
    server->SetAttribute("Services", StringValue("iperf3"));
    Ptr<QnsGuest> client =
        qns.CreateGuest("client", "10.0.3.1/24",
                        "sleep 1; iperf3 -c 10.0.3.2 -t " + std::to_string(seconds) + " -f m");
    qns.Install(client, 0, devices.Get(0));
    qns.Install(server, 0, devices.Get(1));

    Simulator::Stop(Seconds(60));
    Simulator::Run();
    int status = qns.Conclude("qns-wifi-adhoc-iperf");
    Simulator::Destroy();
    return status;
}
