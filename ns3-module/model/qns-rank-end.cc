/*
 * qns-rank-end.cc - where a run split over MPI ranks ends (qns-rank-end.h).
 */
#include "qns-rank-end.h"

#include "ns3/channel.h"
#include "ns3/log.h"
#include "ns3/node-list.h"
#include "ns3/simple-net-device.h"
#include "ns3/simulator.h"
#ifdef QNS_NS3_MPI
#include "ns3/mpi-interface.h"
#include "ns3/mpi-receiver.h"
#endif

#include <algorithm>
#include <cstring>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("QnsRankEnd");
NS_OBJECT_ENSURE_REGISTERED(QnsRankEnd);

namespace
{
/* A message: the sender's rank, what it says (Kind), the end in
 * microseconds. */
struct EndMessage {
    uint32_t rank;
    uint32_t kind;
    int64_t endUs;
};

int64_t CeilTo(int64_t v, int64_t q)
{
    return (v + q - 1) / q * q;
}
} // namespace

TypeId QnsRankEnd::GetTypeId()
{
    static TypeId tid = TypeId("ns3::QnsRankEnd")
                            .SetParent<Object>()
                            .SetGroupName("Qns")
                            .AddConstructor<QnsRankEnd>();
    return tid;
}

QnsRankEnd::QnsRankEnd()
    : m_qUs(10), m_lookaheadNs(0), m_distributed(false), m_rank(0), m_endUs(-1), m_abortUs(-1),
      m_abortSent(false), m_stopper(-1), m_stopperFailed(false), m_stopsRun(false), m_stopAtUs(-1)
{
    NS_LOG_FUNCTION(this);
}

int64_t QnsRankEnd::EndAfterUs(int64_t offUs, int64_t qUs, int64_t lookaheadNs)
{
    NS_LOG_FUNCTION(offUs << qUs << lookaheadNs);
    return (offUs / qUs + 1) * qUs + CeilTo(CeilTo(lookaheadNs, 1000) / 1000, qUs) + qUs;
}

void QnsRankEnd::ForEachCrossRankDevice(const std::function<void(Ptr<NetDevice>, Time)> &fn)
{
    for (auto it = NodeList::Begin(); it != NodeList::End(); ++it) {
        for (uint32_t d = 0; d < (*it)->GetNDevices(); d++) {
            Ptr<NetDevice> dev = (*it)->GetDevice(d);
            Ptr<Channel> ch = dev->GetChannel();
            if (!ch || ch->GetInstanceTypeId().GetName() != "ns3::PointToPointRemoteChannel") {
                continue;
            }
            TimeValue delay;
            ch->GetAttribute("Delay", delay);
            fn(dev, delay.Get());
        }
    }
}

Time QnsRankEnd::CrossRankDelay()
{
    NS_LOG_FUNCTION_NOARGS();
    Time least;
    ForEachCrossRankDevice([&least](Ptr<NetDevice>, Time delay) {
        if (least.IsZero() || delay < least) {
            least = delay;
        }
    });
    return least;
}

void QnsRankEnd::Setup(Time quantum, Time lookahead, const std::set<uint32_t> &endingRanks,
                       bool distributed)
{
    NS_LOG_FUNCTION(this << quantum << lookahead << distributed);
    m_qUs = std::max<int64_t>(1, quantum.GetMicroSeconds());
    m_lookaheadNs = lookahead.GetNanoSeconds();
    m_waiting = endingRanks;
    m_distributed = distributed;
    m_rank = distributed ? Simulator::GetSystemId() : 0;
#ifdef QNS_NS3_MPI
    if (distributed) {
        /* The same nodes in the same order on every rank. */
        for (uint32_t r = 0; r < MpiInterface::GetSize(); r++) {
            Ptr<Node> n = CreateObject<Node>(r);
            Ptr<SimpleNetDevice> dev = CreateObject<SimpleNetDevice>();
            n->AddDevice(dev);
            if (r == m_rank) {
                Ptr<MpiReceiver> rx = CreateObject<MpiReceiver>();
                rx->SetReceiveCallback(MakeCallback(&QnsRankEnd::OnMessage, this));
                dev->AggregateObject(rx);
            }
            m_controls.push_back(n);
        }
    }
#endif
}

void QnsRankEnd::SetStopsRun(bool on)
{
    NS_LOG_FUNCTION(this << on);
    m_stopsRun = on;
}

void QnsRankEnd::Note(uint32_t rank, int64_t endUs, Kind kind)
{
    if (kind != END) {
        /* The earliest stop wins (the lowest rank of equal ones): the same
         * on every rank. */
        if (m_abortUs < 0 || endUs < m_abortUs ||
            (endUs == m_abortUs && static_cast<int32_t>(rank) < m_stopper)) {
            m_abortUs = endUs;
            m_stopper = static_cast<int32_t>(rank);
            m_stopperFailed = kind == FAILED;
        }
    } else if (m_waiting.erase(rank) > 0) {
        m_endUs = std::max(m_endUs, endUs);
    }
    int64_t end = GetEndUs();
    if (m_stopsRun && end >= 0 && (m_stopAtUs < 0 || end < m_stopAtUs)) {
        m_stopAtUs = end;
        Simulator::Stop(std::max(Time(0), MicroSeconds(end) - Simulator::Now()));
    }
}

void QnsRankEnd::LocalEnd(int64_t offUs)
{
    NS_LOG_FUNCTION(this << offUs);
    if (m_waiting.count(m_rank) == 0) {
        return; /* told already */
    }
    int64_t end = EndAfterUs(offUs, m_qUs, m_lookaheadNs);
    /* The news reaches the others L after now: before the end, always when
     * this round is the one right after the power-off. */
    int64_t nowNs = Simulator::Now().GetNanoSeconds();
    int64_t latest = CeilTo(CeilTo(nowNs + m_lookaheadNs, 1000) / 1000, m_qUs) + m_qUs;
    if (m_distributed && end < latest) {
        NS_LOG_WARN("the power-off at " << offUs << " us was seen late; the run ends at "
                                        << latest);
        end = latest;
    }
    NS_LOG_INFO("this rank's guests powered off at " << offUs << " us: the run ends at " << end
                                                     << " us");
    Note(m_rank, end, END);
    Send(end, END);
}

void QnsRankEnd::Abort(bool failed)
{
    NS_LOG_FUNCTION(this << failed);
    if (m_abortSent) {
        return;
    }
    m_abortSent = true;
    int64_t nowNs = Simulator::Now().GetNanoSeconds();
    int64_t end = CeilTo(CeilTo(nowNs + m_lookaheadNs, 1000) / 1000, m_qUs) + m_qUs;
    Note(m_rank, end, failed ? FAILED : STOPPED);
    Send(end, failed ? FAILED : STOPPED);
}

void QnsRankEnd::Send(int64_t endUs, Kind kind)
{
#ifdef QNS_NS3_MPI
    if (!m_distributed) {
        return;
    }
    EndMessage m = {m_rank, kind, endUs};
    Time rx = Simulator::Now() + NanoSeconds(m_lookaheadNs);
    for (uint32_t r = 0; r < m_controls.size(); r++) {
        if (r == m_rank) {
            continue;
        }
        Ptr<Packet> p = Create<Packet>(reinterpret_cast<const uint8_t *>(&m), sizeof(m));
        MpiInterface::SendPacket(p, rx, m_controls[r]->GetId(),
                                 m_controls[r]->GetDevice(0)->GetIfIndex());
    }
#else
    (void)endUs;
    (void)kind;
#endif
}

void QnsRankEnd::OnMessage(Ptr<Packet> p)
{
    EndMessage m;
    if (p->GetSize() != sizeof(m)) {
        NS_LOG_ERROR("a control message of " << p->GetSize() << " bytes");
        return;
    }
    p->CopyData(reinterpret_cast<uint8_t *>(&m), sizeof(m));
    NS_LOG_INFO("rank " << m.rank << (m.kind != END ? " stops" : " ends") << " the run at "
                        << m.endUs << " us");
    Note(m.rank, m.endUs, m.kind == FAILED ? FAILED : m.kind == STOPPED ? STOPPED : END);
}

int64_t QnsRankEnd::GetEndUs() const
{
    NS_LOG_FUNCTION(this);
    int64_t end = m_waiting.empty() && m_endUs >= 0 ? m_endUs : -1;
    if (m_abortUs >= 0) {
        end = end < 0 ? m_abortUs : std::min(end, m_abortUs);
    }
    return end;
}

bool QnsRankEnd::Aborted() const
{
    NS_LOG_FUNCTION(this);
    return m_abortUs >= 0;
}

int32_t QnsRankEnd::GetStopper() const
{
    NS_LOG_FUNCTION(this);
    return m_stopper;
}

bool QnsRankEnd::StopperFailed() const
{
    NS_LOG_FUNCTION(this);
    return m_stopperFailed;
}

void QnsRankEnd::DoDispose()
{
    NS_LOG_FUNCTION(this);
    m_controls.clear();
    Object::DoDispose();
}

} // namespace ns3
