/*
 * QnsRankRounds - where adaptive rounds fall when a run is split over MPI
 * ranks under ns-3's DistributedSimulatorImpl: at the same instants on every
 * rank, the ones a one-process run of the same simulation would pick.
 *
 * In one process the next round falls at min(h, E) + L (rounded to the
 * quantum's rules, QnsSyncScheduler::NextRoundUs), E being ns-3's next
 * event anywhere and h the earliest horizon of any guest. A rank sees only
 * its own events and guests, so each rank works out that instant from what
 * it sees and the ranks take the least of them (MPI_Allreduce in every
 * round event, on a communicator of their own). The rule is monotone in E
 * and h, so the least of the ranks' instants is the one-process instant.
 *
 * What no rank's queue holds: a frame another rank sent that has not
 * reached this rank yet. ns-3 hands those over only at the end of its time
 * window, which may hold many rounds. Its sender stands in for it: every
 * message a rank sends to another arrives at some rx >= (time sent) + delay
 * of the link, and counts as an event at that instant in the sender's E
 * until now passes it (a message that arrives before now was sent in an
 * earlier window, and ns-3 has delivered it). Messages are seen as they
 * leave point-to-point devices on a PointToPointRemoteChannel (their
 * PhyTxBegin trace; the only channel across ranks in ns-3 3.37). QnsRankEnd's
 * messages need no such care: the rank that sends one knows the end it
 * tells, and rounds agreed by the least instant fall on it.
 *
 * Every rank must run every round event up to the end the ranks agree on
 * (QnsRankEnd): a rank that fails or is stopped keeps taking part, without
 * granting its guests, until then.
 */
#ifndef QNS_RANK_ROUNDS_H
#define QNS_RANK_ROUNDS_H

#include "ns3/object.h"
#include "ns3/packet.h"

#include <cstdint>
#include <set>

namespace ns3
{

class QnsRankRounds : public Object
{
  public:
    static TypeId GetTypeId();
    QnsRankRounds();

    /* Whether rounds are agreed across ranks in this simulation: ns-3 built
     * with MPI and SimulatorImplementationType DistributedSimulatorImpl. */
    static bool Applies();

    /* At the start of the run, on every rank at once: the ranks' own
     * communicator, and the remote links' transmissions watched. */
    void Setup();

    /* The earliest arrival (ns) of this rank's messages that may not have
     * reached their rank yet at nowNs: those arriving at or after it;
     * INT64_MAX when there is none. */
    int64_t InFlightNs(int64_t nowNs) const;

    /* The least of every rank's value (each rank calls it in the same round
     * event). */
    int64_t Least(int64_t value) const;

  protected:
    void DoDispose() override;

  private:
    static void OnRemoteTx(QnsRankRounds *self, int64_t delayNs, Ptr<const Packet> p);

    std::multiset<int64_t> m_inFlight; /* arrival instants (ns) of sent messages */
    void *m_comm; /* the ranks' MPI_Comm (heap), none before Setup; no MPI header here */
};

} // namespace ns3

#endif
