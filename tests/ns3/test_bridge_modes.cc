/* QnsBridge on its own, without the round scheduler (frames for the guest
 * go to a callback): the mode Auto picks for each kind of device, the one
 * line a bad combination gets, and UseLocal's mapping between the guest's
 * MAC and the device's, in the Ethernet header and the ARP payload, both
 * ways, at exactly L. */
#include "qns-bridge.h"

#include "ns3/core-module.h"
#include "ns3/csma-module.h"
#include "ns3/mobility-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/wifi-module.h"

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <setjmp.h>
#include <string>
#include <vector>

extern "C"
{
#include <cmocka.h>
}

using namespace ns3;

namespace
{

struct Delivered {
    uint64_t atNs;
    std::vector<uint8_t> bytes;
};

void Keep(std::vector<Delivered> *out, uint64_t atNs, const uint8_t *data, uint32_t length)
{
    out->push_back({atNs, std::vector<uint8_t>(data, data + length)});
}

Ptr<QnsBridge> BridgeOn(Ptr<NetDevice> dev, const std::string &mode)
{
    Ptr<QnsBridge> b = CreateObject<QnsBridge>();
    b->SetAttribute("Latency", TimeValue(MicroSeconds(10)));
    b->SetAttribute("Mode", StringValue(mode));
    b->SetAddress(Mac48Address("52:54:00:00:00:01"));
    dev->GetNode()->AddDevice(b);
    return b;
}

/* Connects a bridge in `mode` to dev; the mode in use, or -1 with err set. */
int ModeOn(Ptr<NetDevice> dev, const std::string &mode, std::string &err)
{
    std::vector<Delivered> sink;
    Ptr<QnsBridge> b = BridgeOn(dev, mode);
    if (!b->Connect(dev, MakeBoundCallback(&Keep, &sink), err)) {
        return -1;
    }
    return b->GetMode();
}

NetDeviceContainer Wifi(const NodeContainer &nodes, const std::string &macType)
{
    YansWifiChannelHelper channel = YansWifiChannelHelper::Default();
    YansWifiPhyHelper phy;
    phy.SetChannel(channel.Create());
    WifiHelper wifi;
    WifiMacHelper mac;
    mac.SetType(macType);
    MobilityHelper mobility;
    mobility.Install(nodes);
    return wifi.Install(phy, mac, nodes);
}

void AutoPicksUseBridgeWithSendFromAndUseLocalWithout(void **)
{
    NodeContainer n;
    n.Create(5);
    std::string err;
    CsmaHelper csma;
    PointToPointHelper p2p;
    NodeContainer pair(n.Get(3), n.Get(4));
    assert_int_equal(ModeOn(csma.Install(n.Get(0)).Get(0), "Auto", err), QnsBridge::USE_BRIDGE);
    assert_int_equal(ModeOn(Wifi(n.Get(1), "ns3::ApWifiMac").Get(0), "Auto", err),
                     QnsBridge::USE_BRIDGE);
    assert_int_equal(ModeOn(Wifi(n.Get(2), "ns3::AdhocWifiMac").Get(0), "Auto", err),
                     QnsBridge::USE_LOCAL);
    assert_int_equal(ModeOn(Wifi(n.Get(2), "ns3::StaWifiMac").Get(0), "Auto", err),
                     QnsBridge::USE_LOCAL);
    assert_int_equal(ModeOn(p2p.Install(pair).Get(0), "Auto", err), QnsBridge::USE_LOCAL);
    /* Asked for, UseLocal works on a device with SendFrom too. */
    assert_int_equal(ModeOn(csma.Install(n.Get(0)).Get(0), "UseLocal", err), QnsBridge::USE_LOCAL);
    Simulator::Destroy();
}

void BadCombinationsAreRefusedWithOneLine(void **)
{
    NodeContainer n;
    n.Create(2);
    std::string err;
    Ptr<NetDevice> adhoc = Wifi(n.Get(0), "ns3::AdhocWifiMac").Get(0);
    assert_int_equal(ModeOn(adhoc, "UseBridge", err), -1);
    assert_string_equal(err.c_str(), "Mode UseBridge: the bridged device (ns3::WifiNetDevice) "
                                     "cannot send frames from the guest's address (no "
                                     "SendFrom); use UseLocal or Auto");
    /* TapBridge's default mode is a name the attribute takes, to say why not. */
    assert_int_equal(ModeOn(CsmaHelper().Install(n.Get(1)).Get(0), "ConfigureLocal", err), -1);
    assert_string_equal(err.c_str(),
                        "Mode ConfigureLocal is TapBridge's: it creates and configures a TAP "
                        "device on the host, and a QnsBridge has none; its other end is the "
                        "guest's NIC, which the guest configures itself (its address is the one "
                        "given to QnsHelper::CreateGuest). QnsBridge's modes: Auto (the default: "
                        "UseBridge where the device supports SendFrom, else UseLocal), UseBridge, "
                        "UseLocal");

    std::vector<Delivered> sink;
    Ptr<QnsBridge> noLatency = CreateObject<QnsBridge>();
    n.Get(0)->AddDevice(noLatency);
    assert_false(noLatency->Connect(adhoc, MakeBoundCallback(&Keep, &sink), err));
    assert_string_equal(err.c_str(), "the bridge has no latency set");

    Ptr<QnsBridge> noSink = BridgeOn(adhoc, "Auto");
    assert_false(noSink->Connect(adhoc, QnsBridge::ToGuestCallback(), err));
    assert_string_equal(err.c_str(), "the bridge has nowhere to send frames for the guest");

    Ptr<QnsBridge> elsewhere = BridgeOn(CsmaHelper().Install(n.Get(1)).Get(0), "Auto");
    assert_false(elsewhere->Connect(adhoc, MakeBoundCallback(&Keep, &sink), err));
    assert_string_equal(err.c_str(), "the bridge and the bridged device must be on the same node");
    Simulator::Destroy();
}

/* An ARP request from the guest (52:54:00:00:00:01, 10.0.0.1) for 10.0.0.2. */
const uint8_t kRequest[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0, 0,
                              1,    0x08, 0x06, 0,    1,    0x08, 0,    6,    4, 0, 1,
                              0x52, 0x54, 0,    0,    0,    1,    10,   0,    0, 1, 0,
                              0,    0,    0,    0,    0,    10,   0,    0,    2};

bool Sniff(std::vector<Delivered> *out, Ptr<NetDevice>, Ptr<const Packet> p, uint16_t,
           const Address &src, const Address &, NetDevice::PacketType)
{
    std::vector<uint8_t> b(6 + p->GetSize());
    Mac48Address::ConvertFrom(src).CopyTo(b.data());
    p->CopyData(b.data() + 6, p->GetSize());
    out->push_back({static_cast<uint64_t>(Simulator::Now().GetNanoSeconds()), b});
    return true;
}

/* The peer answers the request it saw: an ARP reply to the MAC in it. */
void Answer(Ptr<NetDevice> peer, const std::vector<Delivered> *seen)
{
    const std::vector<uint8_t> &req = seen->at(0).bytes; /* source MAC, then the ARP payload */
    uint8_t arp[28] = {0, 1, 0x08, 0, 6, 4, 0, 2};
    Mac48Address::ConvertFrom(peer->GetAddress()).CopyTo(arp + 8);
    const uint8_t ip[4] = {10, 0, 0, 2};
    std::memcpy(arp + 14, ip, 4);
    std::memcpy(arp + 18, &req[6 + 8], 10); /* the request's sender: MAC and IPv4 */
    Mac48Address to;
    to.CopyFrom(&req[6 + 8]);
    peer->Send(Create<Packet>(arp, sizeof(arp)), to, 0x0806);
}

void UseLocalMapsTheGuestMacToTheDeviceMacBothWays(void **)
{
    Time::SetResolution(Time::NS);
    NodeContainer n;
    n.Create(2);
    CsmaHelper csma;
    csma.SetChannelAttribute("DataRate", DataRateValue(DataRate("100Mbps")));
    NetDeviceContainer devs = csma.Install(n);
    std::vector<Delivered> toGuest, atPeer;
    std::string err;
    Ptr<QnsBridge> b = BridgeOn(devs.Get(0), "UseLocal");
    assert_true(b->Connect(devs.Get(0), MakeBoundCallback(&Keep, &toGuest), err));
    n.Get(1)->RegisterProtocolHandler(MakeBoundCallback(&Sniff, &atPeer), 0x0806, devs.Get(1));
    Simulator::Schedule(NanoSeconds(5000), &QnsBridge::FromGuest, b, 5000, kRequest,
                        sizeof(kRequest));
    Simulator::Schedule(MicroSeconds(100), &Answer, devs.Get(1), &atPeer);
    Simulator::Stop(MicroSeconds(200));
    Simulator::Run();

    uint8_t dev[6], guest[6] = {0x52, 0x54, 0, 0, 0, 1};
    Mac48Address::ConvertFrom(devs.Get(0)->GetAddress()).CopyTo(dev);
    /* Out: at 5 us + L into the device; 60 bytes + FCS at 100 Mbit/s reach
     * the peer 5120 ns later, from the device's MAC, in the frame and as
     * the ARP sender. The rest of the payload is the guest's. */
    assert_int_equal(atPeer.size(), 1);
    assert_int_equal(atPeer[0].atNs, 15000 + 5120);
    assert_memory_equal(atPeer[0].bytes.data(), dev, 6);
    assert_memory_equal(&atPeer[0].bytes[6 + 8], dev, 6);
    assert_memory_equal(&atPeer[0].bytes[6], kRequest + 14, 8);
    assert_memory_equal(&atPeer[0].bytes[6 + 14], kRequest + 14 + 14, 60 - 28);
    /* Back: the reply to the device's MAC reaches the guest L after the
     * device had it (padded to 60 bytes on CSMA + FCS: 5120 ns on the
     * wire), to the guest's MAC in the frame and as the ARP target. */
    assert_int_equal(toGuest.size(), 1);
    assert_int_equal(toGuest[0].atNs, 100000 + 5120 + 10000);
    assert_memory_equal(toGuest[0].bytes.data(), guest, 6);
    assert_memory_equal(&toGuest[0].bytes[14 + 18], guest, 6);
    uint8_t peer[6];
    Mac48Address::ConvertFrom(devs.Get(1)->GetAddress()).CopyTo(peer);
    assert_memory_equal(&toGuest[0].bytes[6], peer, 6);
    assert_memory_equal(&toGuest[0].bytes[14 + 8], peer, 6);
    Simulator::Destroy();
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(AutoPicksUseBridgeWithSendFromAndUseLocalWithout),
        cmocka_unit_test(BadCombinationsAreRefusedWithOneLine),
        cmocka_unit_test(UseLocalMapsTheGuestMacToTheDeviceMacBothWays),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
