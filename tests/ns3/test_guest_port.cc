/* QnsConnectGuestNic, where the bridge meets the round scheduler: a bridge
 * without a latency gets the quantum, one below it is refused with one line;
 * attaching a bridge to a guest NIC the scheduler does not have is refused. */
#include "qns-guest-port.h"

#include "ns3/core-module.h"
#include "ns3/csma-module.h"
#include "ns3/network-module.h"

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <setjmp.h>
#include <string>

extern "C"
{
#include <cmocka.h>
}

using namespace ns3;

namespace
{

Ptr<QnsBridge> BridgeBeside(Ptr<NetDevice> dev)
{
    Ptr<QnsBridge> b = CreateObject<QnsBridge>();
    dev->GetNode()->AddDevice(b);
    b->SetAddress(Mac48Address("52:54:00:00:00:01"));
    return b;
}

void LatencyIsTheQuantumAtLeast(void **)
{
    Ptr<Node> n = CreateObject<Node>();
    Ptr<NetDevice> dev = CsmaHelper().Install(n).Get(0);
    Ptr<QnsSyncScheduler> sched = CreateObject<QnsSyncScheduler>();
    sched->SetAttribute("Quantum", TimeValue(MicroSeconds(10)));
    std::string err;

    Ptr<QnsBridge> tooShort = BridgeBeside(dev);
    tooShort->SetAttribute("Latency", TimeValue(MicroSeconds(5)));
    assert_false(QnsConnectGuestNic(sched, 0, 0, tooShort, dev, err));
    assert_string_equal(err.c_str(), "bridge latency 5000 ns is below the quantum of 10000 ns");

    /* Unset: the quantum; then the scheduler has no guest 0 to attach it to. */
    Ptr<QnsBridge> unset = BridgeBeside(dev);
    assert_true(QnsConnectGuestNic(sched, 0, 0, unset, dev, err));
    assert_int_equal(unset->GetLatency().GetNanoSeconds(), 10000);
    assert_false(sched->Attach(0, 0, unset));
    assert_string_equal(sched->GetError().c_str(), "no such guest NIC to attach a bridge to");
    sched->Dispose();
    Simulator::Destroy();
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(LatencyIsTheQuantumAtLeast),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
