/*
 * QnsConnectGuestNic - a bridge between a scheduled guest NIC and a device.
 */
#include "qns-guest-port.h"

#include "ns3/log.h"

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("QnsGuestPort");

bool QnsLatencyCheck(Time latency, Time quantum, std::string &err)
{
    if (latency < quantum) {
        err = "bridge latency " + std::to_string(latency.GetNanoSeconds()) +
              " ns is below the quantum of " + std::to_string(quantum.GetNanoSeconds()) + " ns";
        return false;
    }
    return true;
}

bool QnsConnectGuestNic(Ptr<QnsSyncScheduler> scheduler, int guest, int nic, Ptr<QnsBridge> bridge,
                        Ptr<NetDevice> device, std::string &err)
{
    NS_LOG_FUNCTION(scheduler << guest << nic << bridge << device);
    Time quantum = scheduler->GetQuantum();
    if (bridge->GetLatency().IsZero()) {
        NS_LOG_LOGIC("the bridge's latency is the quantum, " << quantum.As(Time::US));
        bridge->SetAttribute("Latency", TimeValue(quantum));
    }
    if (!QnsLatencyCheck(bridge->GetLatency(), quantum, err)) {
        return false;
    }
    return bridge->Connect(
        device, MakeCallback(&QnsSyncScheduler::SendToGuest, scheduler, guest, nic), err);
}

} // namespace ns3
