/*
 * QnsRankEnd - where a run split over MPI ranks ends: at the same instant
 * on every rank, and in a one-process run of the same split simulation.
 *
 * A rank knows only its own guests. Once every guest with EndsRun on it has
 * powered off, the last at virtual time c (microseconds), the run may end
 * at EndAfter(c): the first multiple of the quantum q after c (where the
 * round that sees the power-off falls), plus the lookahead L rounded up to
 * q, plus q. The rank sends that instant to every other rank as an ns-3 MPI
 * message that arrives L after it is sent, before that instant; the run
 * ends at the latest such instant of the ranks that have EndsRun guests.
 * A one-process run with the same L ends at the same instant without
 * messages. A rank that fails or is stopped sends "end at the multiple of q
 * after now + L, plus q" instead, which every rank takes.
 *
 * The messages go to a control node of each rank (made by Setup, after the
 * simulation's own nodes): a SimpleNetDevice without channel that carries
 * ns-3's MpiReceiver, as a point-to-point remote device does.
 */
#ifndef QNS_RANK_END_H
#define QNS_RANK_END_H

#include "ns3/net-device.h"
#include "ns3/node.h"
#include "ns3/nstime.h"
#include "ns3/object.h"
#include "ns3/packet.h"

#include <cstdint>
#include <functional>
#include <set>
#include <vector>

namespace ns3
{

class QnsRankEnd : public Object
{
public:
    static TypeId GetTypeId();
    QnsRankEnd();

    /* The end instant of a split run whose last EndsRun guest powered off
     * at offUs, for quantum qUs and lookahead lookaheadNs. */
    static int64_t EndAfterUs(int64_t offUs, int64_t qUs, int64_t lookaheadNs);
    /* The smallest delay of a point-to-point link between two ranks
     * (ns-3's lookahead), zero when there is none. */
    static Time CrossRankDelay();
    /* Calls fn for every device on a link between two ranks (a
     * PointToPointRemoteChannel), with the link's delay. */
    static void ForEachCrossRankDevice(const std::function<void(Ptr<NetDevice>, Time)> &fn);

    /* At the start of the run: the quantum, the lookahead, the ranks that
     * have guests with EndsRun, and whether the run is across MPI ranks
     * (then the control nodes are made). */
    void Setup(Time quantum, Time lookahead, const std::set<uint32_t> &endingRanks,
               bool distributed);
    /* A rank without guests has no rounds: the end, once known, is an
     * ns-3 event of its own (Simulator::Stop at it). */
    void SetStopsRun(bool on);
    /* This rank's EndsRun guests have all powered off, the last at offUs. */
    void LocalEnd(int64_t offUs);
    /* This rank failed (or was stopped, failed false) now: every rank ends
     * soon. */
    void Abort(bool failed);
    /* Where the run ends (microseconds), -1 while not known. */
    int64_t GetEndUs() const;
    bool Aborted() const;
    /* The rank whose failure or stop ends the run (the earliest heard of),
     * -1 when none does; whether it failed. */
    int32_t GetStopper() const;
    bool StopperFailed() const;

protected:
    void DoDispose() override;

private:
    /* What a message says: the end, a failure, a stop. */
    enum Kind : uint32_t {
        END = 0,
        FAILED = 1,
        STOPPED = 2
    };
    void Send(int64_t endUs, Kind kind);
    void OnMessage(Ptr<Packet> p);
    void Note(uint32_t rank, int64_t endUs, Kind kind);

    int64_t m_qUs;
    int64_t m_lookaheadNs;
    bool m_distributed;
    uint32_t m_rank;
    std::set<uint32_t> m_waiting; /* ending ranks not heard from */
    int64_t m_endUs;              /* the latest end heard of */
    int64_t m_abortUs;            /* the earliest abort heard of, -1: none */
    bool m_abortSent;
    int32_t m_stopper; /* the rank of m_abortUs, -1: none */
    bool m_stopperFailed;
    bool m_stopsRun;
    int64_t m_stopAtUs;                /* the Simulator::Stop scheduled, -1: none */
    std::vector<Ptr<Node>> m_controls; /* rank r's control node */
};

} // namespace ns3

#endif
