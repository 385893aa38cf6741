/*
 * qns-rank-rounds.cc - rounds agreed across MPI ranks (qns-rank-rounds.h).
 */
#include "qns-rank-rounds.h"

#include "qns-rank-end.h"

#include "ns3/global-value.h"
#include "ns3/log.h"
#include "ns3/net-device.h"
#include "ns3/node.h"
#include "ns3/nstime.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#ifdef QNS_NS3_MPI
#include "ns3/mpi-interface.h"

#include <mpi.h>
#endif

#include <limits>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("QnsRankRounds");
NS_OBJECT_ENSURE_REGISTERED(QnsRankRounds);

TypeId QnsRankRounds::GetTypeId()
{
    static TypeId tid = TypeId("ns3::QnsRankRounds")
                            .SetParent<Object>()
                            .SetGroupName("Qns")
                            .AddConstructor<QnsRankRounds>();
    return tid;
}

QnsRankRounds::QnsRankRounds()
    : m_comm(nullptr)
{
    NS_LOG_FUNCTION(this);
}

bool QnsRankRounds::Applies()
{
#ifdef QNS_NS3_MPI
    StringValue type;
    GlobalValue::GetValueByName("SimulatorImplementationType", type);
    return type.Get() == "ns3::DistributedSimulatorImpl" && MpiInterface::IsEnabled();
#else
    return false;
#endif
}

void QnsRankRounds::Setup()
{
    NS_LOG_FUNCTION(this);
#ifdef QNS_NS3_MPI
    if (m_comm == nullptr) {
        auto comm = new MPI_Comm;
        int rc = MPI_Comm_dup(MpiInterface::GetCommunicator(), comm);
        NS_ABORT_MSG_IF(rc != MPI_SUCCESS, "MPI_Comm_dup failed (" << rc << ")");
        m_comm = comm;
    }
#endif
    const uint32_t rank = Simulator::GetSystemId();
    QnsRankEnd::ForEachCrossRankDevice([this, rank](Ptr<NetDevice> dev, Time delay) {
        if (dev->GetNode()->GetSystemId() != rank) {
            return;
        }
        dev->TraceConnectWithoutContext(
            "PhyTxBegin",
            MakeBoundCallback(&QnsRankRounds::OnRemoteTx, this, delay.GetNanoSeconds()));
        NS_LOG_INFO("node " << dev->GetNode()->GetId() << " device " << dev->GetIfIndex()
                            << " sends to another rank with a delay of " << delay);
    });
}

void QnsRankRounds::OnRemoteTx(QnsRankRounds *self, int64_t delayNs, Ptr<const Packet> p)
{
    (void)p;
    /* It arrives after its transmission time too: a bound, not the instant. */
    const int64_t now = Simulator::Now().GetNanoSeconds();
    /* Those that arrive before now have arrived (qns-rank-rounds.h). */
    self->m_inFlight.erase(self->m_inFlight.begin(), self->m_inFlight.lower_bound(now));
    self->m_inFlight.insert(now + delayNs);
}

int64_t QnsRankRounds::InFlightNs(int64_t nowNs) const
{
    auto it = m_inFlight.lower_bound(nowNs);
    return it == m_inFlight.end() ? std::numeric_limits<int64_t>::max() : *it;
}

int64_t QnsRankRounds::Least(int64_t value) const
{
#ifdef QNS_NS3_MPI
    NS_ABORT_MSG_IF(m_comm == nullptr, "QnsRankRounds::Least before Setup");
    long long in = value, out = 0;
    int rc = MPI_Allreduce(&in, &out, 1, MPI_LONG_LONG, MPI_MIN, *static_cast<MPI_Comm *>(m_comm));
    NS_ABORT_MSG_IF(rc != MPI_SUCCESS, "MPI_Allreduce across the ranks failed (" << rc << ")");
    return static_cast<int64_t>(out);
#else
    return value;
#endif
}

void QnsRankRounds::DoDispose()
{
    NS_LOG_FUNCTION(this);
#ifdef QNS_NS3_MPI
    /* The communicator itself goes with MPI_Finalize: freeing it is a
     * collective call, which a rank may not reach. */
    delete static_cast<MPI_Comm *>(m_comm);
#endif
    m_comm = nullptr;
    m_inFlight.clear();
    Object::DoDispose();
}

} // namespace ns3
