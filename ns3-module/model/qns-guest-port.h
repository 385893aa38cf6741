/*
 * QnsConnectGuestNic - puts a QnsBridge between a guest NIC the round
 * scheduler feeds and an ns-3 device: the one place where the bridge and
 * the scheduler meet. It checks what only the scheduler knows (the bridge
 * latency against the quantum), then lets the bridge send the guest's
 * frames through the scheduler. The scheduler takes the guest's frames to
 * the bridge once it is attached (QnsSyncScheduler::Attach, when the guests
 * start: QnsGuestRun).
 */
#ifndef QNS_GUEST_PORT_H
#define QNS_GUEST_PORT_H

#include "qns-bridge.h"
#include "qns-sync-scheduler.h"

#include <string>

namespace ns3
{

/* The one check of a bridge latency: at least the quantum (a frame may not
 * arrive before the round that sent it ended). True, or false with the
 * reason in err. */
bool QnsLatencyCheck(Time latency, Time quantum, std::string &err);

/* Connects guest NIC (guest, nic) of the scheduler to `device` through
 * `bridge` (on the device's node). A bridge without a Latency gets the
 * quantum; one below it is refused. False with the reason in `err`. */
bool QnsConnectGuestNic(Ptr<QnsSyncScheduler> scheduler, int guest, int nic, Ptr<QnsBridge> bridge,
                        Ptr<NetDevice> device, std::string &err);

} // namespace ns3

#endif
