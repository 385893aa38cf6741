/*
 * QnsConnectGuestNic - a bridge between a scheduled guest NIC and a device.
 */
#include "qns-guest-port.h"

namespace ns3
{

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
    Time quantum = scheduler->GetQuantum();
    if (bridge->GetLatency().IsZero()) {
        bridge->SetAttribute("Latency", TimeValue(quantum));
    }
    if (!QnsLatencyCheck(bridge->GetLatency(), quantum, err)) {
        return false;
    }
    return bridge->Connect(
        device, MakeCallback(&QnsSyncScheduler::SendToGuest, scheduler, guest, nic), err);
}

} // namespace ns3
