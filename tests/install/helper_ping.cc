/*
 * helper_ping - an ns-3 program of its own (two nodes on a CSMA LAN, node 0
 * with IPv4) into which the three lines marked "qns" put a QEMU guest, the
 * default guest, on node 1's device: it pings node 0 and powers off, which
 * ends the run. Built against the installed package; run in the folder that
 * gets the guest's console and capture. A failed run (the guest did not boot,
 * its ping failed) ends the program with status 1 at Simulator::Destroy.
 */
#include "ns3/core-module.h"
#include "ns3/csma-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/qns-module.h"

using namespace ns3;

int main()
{
    GlobalValue::Bind("ChecksumEnabled", BooleanValue(true));
    NodeContainer nodes(2);
    NetDeviceContainer devices = CsmaHelper().Install(nodes);
    InternetStackHelper().Install(nodes.Get(0));
    Ipv4AddressHelper("10.0.0.0", "255.255.255.0", "0.0.0.2").Assign(devices.Get(0));

    QnsHelper qns;                                                                  // qns
    Ptr<QnsGuest> h1 = qns.CreateGuest("h1", "10.0.0.1/24", "ping -c 2 10.0.0.2"); // qns
    qns.Install(h1, 0, devices.Get(1));                                             // qns

    Simulator::Stop(Seconds(30));
    Simulator::Run();
    Simulator::Destroy();
    return 0;
}
