/*
 * QnsLookahead - how far each guest may run before anything can reach it,
 * from the topology's link delays (the lookahead conservative simulators
 * take from link latencies; DESIGN.md section 4).
 *
 * A frame reaches a guest NIC L after ns-3 hands it to the NIC's bridge at
 * r, and r is never earlier than:
 *   - an event queued in a node's context at t, plus the least delay from
 *     that node to the bridge's node (an event with no node's context: t);
 *   - a guest frame entering ns-3 at a bridge at t (a QnsBridgeEntry), plus
 *     the least delay from there; back at its own bridge only when the
 *     bridge answers it (at once) or through the bridged device's link and
 *     back (twice that link's delay);
 *   - a frame a guest has not sent yet: from its earliest instant e (its
 *     clock while it runs, its horizon while it is halted), e + L, plus the
 *     least delay from its bridge.
 * The least delays are those of the channels between nodes when the run
 * starts: a point-to-point or CSMA channel's Delay attribute; any other
 * channel (Wi-Fi, a bridge's, one split over MPI ranks) counts as no
 * delay. A node with applications may answer a frame at once, so a bridge
 * on one gets nothing back from its link.
 */
#ifndef QNS_LOOKAHEAD_H
#define QNS_LOOKAHEAD_H

#include "ns3/ptr.h"

#include <cstdint>
#include <map>
#include <vector>

namespace ns3
{

class QnsBridge;
class QnsNextEvent;

class QnsLookahead
{
  public:
    /* Learns the topology around bridges[g][k], the bridge of guest g's
     * NIC k (null: not attached). */
    void Build(const std::vector<std::vector<Ptr<QnsBridge>>> &bridges);

    /* For each guest g, the latest instant (ns) it may run to: nothing can
     * reach it earlier. sendNs[g]: the earliest instant guest g may send a
     * frame ns-3 does not have yet (INT64_MAX: never). INT64_MAX for a guest
     * nothing can reach. */
    void Limits(const QnsNextEvent &events, const std::vector<int64_t> &sendNs,
                std::vector<int64_t> &limitNs) const;

    /* The least delay (ns) from node `from` to the node of guest g's NIC k
     * (tests); -1 when they are not connected. */
    int64_t Distance(uint32_t from, int guest, int nic) const;

  private:
    struct Port {
        int guest;
        int nic;
        uint32_t node;
        int64_t latencyNs;
        bool answers;   /* the bridge answers some guest frames itself */
        int64_t backNs; /* a frame's way out through the link and back */
    };

    std::vector<Port> m_ports;
    std::vector<std::vector<int64_t>> m_dist; /* [port][node], INT64_MAX: unreachable */
    std::map<const QnsBridge *, size_t> m_portOf;
    size_t m_guests = 0;
};

} // namespace ns3

#endif
