/* QnsLookahead: the least delays from the topology, and each guest's limit
 * from queued events, guest frames entering ns-3 and frames not sent yet.
 *
 *   guest 0 = bridge on node a --p2p 20 ms-- node r --CSMA 1 ms-- node b = bridge of guest 1
 *                                               \--Wi-Fi-like channel (no Delay)-- node w
 *
 * Bridge latency 10 us on both. Guest 0's bridge is on point-to-point
 * (UseLocal: it answers ARP); guest 1's on CSMA (UseBridge). */
#include "qns-bridge.h"
#include "qns-lookahead.h"
#include "qns-next-event.h"

#include "ns3/arp-header.h"
#include "ns3/core-module.h"
#include "ns3/ethernet-header.h"
#include "ns3/csma-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/simple-net-device-helper.h"

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <setjmp.h>
#include <vector>

extern "C"
{
#include <cmocka.h>
}

using namespace ns3;

namespace
{

const int64_t kUs = 1000;
const int64_t kMs = 1000000;
const int64_t kNever = INT64_MAX;

struct Net {
    NodeContainer nodes; /* a, r, b, w */
    std::vector<std::vector<Ptr<QnsBridge>>> bridges;
    Ptr<QnsNextEvent> events;
    QnsLookahead look;
};

/* Frames the bridges handed their guests. */
int g_toGuest = 0;

void Drop(uint64_t, const uint8_t *, uint32_t)
{
    g_toGuest++;
}

Ptr<QnsBridge> BridgeOn(Ptr<NetDevice> dev)
{
    Ptr<QnsBridge> b = CreateObject<QnsBridge>();
    b->SetAttribute("Latency", TimeValue(MicroSeconds(10)));
    dev->GetNode()->AddDevice(b);
    std::string err;
    bool ok = b->Connect(dev, MakeCallback(&Drop), err);
    if (!ok) {
        fail_msg("bridge: %s", err.c_str());
    }
    return b;
}

void Build(Net &n)
{
    n.nodes.Create(4);
    PointToPointHelper p2p;
    p2p.SetChannelAttribute("Delay", TimeValue(MilliSeconds(20)));
    NetDeviceContainer ar = p2p.Install(n.nodes.Get(0), n.nodes.Get(1));
    CsmaHelper csma;
    csma.SetChannelAttribute("Delay", TimeValue(MilliSeconds(1)));
    NetDeviceContainer rb = csma.Install(NodeContainer(n.nodes.Get(1), n.nodes.Get(2)));
    SimpleNetDeviceHelper simple; /* a channel with no Delay the lookahead knows */
    simple.SetChannelAttribute("Delay", TimeValue(MilliSeconds(50)));
    simple.Install(NodeContainer(n.nodes.Get(1), n.nodes.Get(3)));
    n.bridges = {{BridgeOn(ar.Get(0))}, {BridgeOn(rb.Get(1))}};
    n.events = CreateObject<QnsNextEvent>();
    n.events->Install();
    /* The nodes' initialisation, queued at time 0 in their contexts. */
    Simulator::Stop(Time(0));
    Simulator::Run();
    n.look.Build(n.bridges);
}

void Nothing()
{
}

uint32_t Id(const Net &n, int i)
{
    return n.nodes.Get(static_cast<uint32_t>(i))->GetId();
}

void Teardown()
{
    Simulator::Destroy();
}

/* Least delays from each node to each guest's bridge node. */
void distances_follow_the_channels_delays(void **state)
{
    (void)state;
    Net n;
    Build(n);
    assert_int_equal(n.look.Distance(Id(n, 0), 0, 0), 0);
    assert_int_equal(n.look.Distance(Id(n, 1), 0, 0), 20 * kMs);
    assert_int_equal(n.look.Distance(Id(n, 2), 0, 0), 21 * kMs);
    /* the simple channel counts 0 */
    assert_int_equal(n.look.Distance(Id(n, 3), 0, 0), 20 * kMs);
    assert_int_equal(n.look.Distance(Id(n, 2), 1, 0), 0);
    assert_int_equal(n.look.Distance(Id(n, 0), 1, 0), 21 * kMs);
    assert_int_equal(n.look.Distance(Id(n, 0), 1, 1), -1); /* no such NIC */
    Teardown();
}

/* Guests busy from 0 (they may send at once): each is limited by its own
 * frames coming back and by the other's crossing the topology. */
void busy_guests_are_limited_by_what_can_come_back(void **state)
{
    (void)state;
    Net n;
    Build(n);
    std::vector<int64_t> limits;
    n.look.Limits(*n.events, {0, 0}, limits);
    /* guest 0: its bridge answers ARP, so an ARP request sent at 0 is back
     * at 2L */
    assert_int_equal(limits[0], 20 * kUs);
    /* guest 1: its own frames come back over CSMA (1 ms each way), guest
     * 0's after 21 ms */
    assert_int_equal(limits[1], 10 * kUs + 2 * kMs + 10 * kUs);
    /* A guest that cannot send (halted for good): only the other counts. */
    n.look.Limits(*n.events, {kNever, 0}, limits);
    assert_int_equal(limits[0], 10 * kUs + 21 * kMs + 10 * kUs);
    assert_int_equal(limits[1], 2 * kMs + 20 * kUs);
    n.look.Limits(*n.events, {kNever, kNever}, limits);
    assert_int_equal(limits[0], kNever);
    assert_int_equal(limits[1], kNever);
    n.look.Limits(*n.events, {5 * kMs, kNever}, limits);
    assert_int_equal(limits[0], 5 * kMs + 20 * kUs);
    assert_int_equal(limits[1], 5 * kMs + 10 * kUs + 21 * kMs + 10 * kUs);
    Teardown();
}

/* Queued events by context: an event on node r reaches guest 0 20 ms later
 * and guest 1 1 ms later; an event with no node's context at once. */
void queued_events_reach_each_bridge_over_the_topology(void **state)
{
    (void)state;
    Net n;
    Build(n);
    std::vector<int64_t> limits;
    Simulator::ScheduleWithContext(Id(n, 1), MilliSeconds(3), &Nothing);
    n.look.Limits(*n.events, {kNever, kNever}, limits);
    assert_int_equal(limits[0], 23 * kMs + 10 * kUs);
    assert_int_equal(limits[1], 4 * kMs + 10 * kUs);
    Simulator::ScheduleWithContext(Simulator::NO_CONTEXT, MilliSeconds(7), &Nothing);
    n.look.Limits(*n.events, {kNever, kNever}, limits);
    assert_int_equal(limits[0], 7 * kMs + 10 * kUs);
    assert_int_equal(limits[1], 4 * kMs + 10 * kUs);
    Teardown();
}

/* Guest frames entering ns-3: guest 0's ARP request is answered by its
 * bridge (back at once, nowhere else); its other frames come back only over
 * the 20 ms link and back. */
void frames_entering_ns3_come_back_only_over_the_link(void **state)
{
    (void)state;
    Net n;
    Build(n);
    std::vector<int64_t> limits;
    uint8_t ip[60] = {0};
    ip[12] = 0x08; /* IPv4 */
    assert_true(n.bridges[0][0]->FromGuest(1 * kMs, ip, sizeof(ip)));
    n.look.Limits(*n.events, {kNever, kNever}, limits);
    /* enters at 1 ms + 10 us; back at guest 0's bridge 40 ms later */
    assert_int_equal(limits[0], 1 * kMs + 10 * kUs + 40 * kMs + 10 * kUs);
    assert_int_equal(limits[1], 1 * kMs + 10 * kUs + 21 * kMs + 10 * kUs);
    uint8_t arp[60] = {0};
    arp[12] = 0x08;
    arp[13] = 0x06;
    assert_true(n.bridges[0][0]->FromGuest(2 * kMs, arp, sizeof(arp)));
    n.look.Limits(*n.events, {kNever, kNever}, limits);
    assert_int_equal(limits[0], 2 * kMs + 10 * kUs + 10 * kUs);
    assert_int_equal(limits[1], 1 * kMs + 10 * kUs + 21 * kMs + 10 * kUs);
    /* Once ns-3 has taken them, they are no longer pending; the "ARP
     * request" of zeros is no Ethernet/IPv4 ARP, and gets no answer. */
    g_toGuest = 0;
    Simulator::Stop(MilliSeconds(3));
    Simulator::Run();
    assert_int_equal(g_toGuest, 0);
    /* A real ARP request for the far end is answered, 2L after it. */
    ArpHeader req;
    req.SetRequest(Mac48Address("02:00:00:00:00:01"), Ipv4Address("10.0.0.1"),
                   Mac48Address::GetBroadcast(), Ipv4Address("10.0.0.2"));
    Ptr<Packet> p = Create<Packet>();
    p->AddHeader(req);
    EthernetHeader eth(false);
    eth.SetSource(Mac48Address("02:00:00:00:00:01"));
    eth.SetDestination(Mac48Address::GetBroadcast());
    eth.SetLengthType(0x0806);
    p->AddHeader(eth);
    std::vector<uint8_t> bytes(p->GetSize());
    p->CopyData(bytes.data(), bytes.size());
    assert_true(n.bridges[0][0]->FromGuest(4 * kMs, bytes.data(), bytes.size()));
    Simulator::Stop(MilliSeconds(2));
    Simulator::Run();
    assert_int_equal(g_toGuest, 1);
    n.look.Limits(*n.events, {kNever, kNever}, limits);
    assert_true(limits[1] > 3 * kMs);
    Teardown();
}

} // namespace

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(distances_follow_the_channels_delays),
        cmocka_unit_test(busy_guests_are_limited_by_what_can_come_back),
        cmocka_unit_test(queued_events_reach_each_bridge_over_the_topology),
        cmocka_unit_test(frames_entering_ns3_come_back_only_over_the_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
