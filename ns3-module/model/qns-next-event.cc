/*
 * QnsNextEvent, QnsPeekScheduler - ns-3's next event time, for adaptive rounds.
 */
#include "qns-next-event.h"

#include "ns3/global-value.h"
#include "ns3/map-scheduler.h"
#include "ns3/object-factory.h"
#include "ns3/pointer.h"
#include "ns3/simulator.h"
#include "ns3/string.h"

namespace ns3
{

NS_OBJECT_ENSURE_REGISTERED(QnsNextEvent);
NS_OBJECT_ENSURE_REGISTERED(QnsPeekScheduler);

TypeId QnsNextEvent::GetTypeId()
{
    static TypeId tid = TypeId("ns3::QnsNextEvent")
                            .SetParent<Object>()
                            .SetGroupName("Qns")
                            .AddConstructor<QnsNextEvent>();
    return tid;
}

QnsNextEvent::QnsNextEvent()
    : m_scheduler(nullptr)
{
}

void QnsNextEvent::Install()
{
    StringValue type;
    GlobalValue::GetValueByName("SchedulerType", type);
    TypeId inner = TypeId::LookupByName(type.Get());
    if (inner == QnsPeekScheduler::GetTypeId()) {
        inner = MapScheduler::GetTypeId();
    }
    ObjectFactory f;
    f.SetTypeId(QnsPeekScheduler::GetTypeId());
    f.Set("Inner", TypeIdValue(inner));
    f.Set("Probe", PointerValue(this));
    Simulator::SetScheduler(f);
}

bool QnsNextEvent::Peek(uint64_t &ts) const
{
    if (m_scheduler == nullptr || m_scheduler->IsEmpty()) {
        return false;
    }
    ts = m_scheduler->PeekNext().key.m_ts;
    return true;
}

TypeId QnsPeekScheduler::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::QnsPeekScheduler")
            .SetParent<Scheduler>()
            .SetGroupName("Qns")
            .AddConstructor<QnsPeekScheduler>()
            .AddAttribute("Inner", "The scheduler every call is forwarded to.",
                          TypeIdValue(MapScheduler::GetTypeId()),
                          MakeTypeIdAccessor(&QnsPeekScheduler::SetInner,
                                             &QnsPeekScheduler::GetInner),
                          MakeTypeIdChecker())
            .AddAttribute("Probe", "The QnsNextEvent that peeks through this scheduler.",
                          PointerValue(),
                          MakePointerAccessor(&QnsPeekScheduler::SetProbe,
                                              &QnsPeekScheduler::GetProbe),
                          MakePointerChecker<QnsNextEvent>());
    return tid;
}

QnsPeekScheduler::QnsPeekScheduler()
    : m_inner(CreateObject<MapScheduler>())
{
}

QnsPeekScheduler::~QnsPeekScheduler()
{
    SetProbe(nullptr);
}

void QnsPeekScheduler::SetInner(TypeId tid)
{
    ObjectFactory f;
    f.SetTypeId(tid);
    Ptr<Scheduler> next = f.Create<Scheduler>();
    while (m_inner != nullptr && !m_inner->IsEmpty()) {
        next->Insert(m_inner->RemoveNext());
    }
    m_inner = next;
}

TypeId QnsPeekScheduler::GetInner() const
{
    return m_inner->GetInstanceTypeId();
}

void QnsPeekScheduler::SetProbe(Ptr<QnsNextEvent> probe)
{
    if (m_probe != nullptr && m_probe->m_scheduler == this) {
        m_probe->m_scheduler = nullptr;
    }
    m_probe = probe;
    if (m_probe != nullptr) {
        m_probe->m_scheduler = this;
    }
}

Ptr<QnsNextEvent> QnsPeekScheduler::GetProbe() const
{
    return m_probe;
}

void QnsPeekScheduler::Insert(const Event &ev)
{
    m_inner->Insert(ev);
}

bool QnsPeekScheduler::IsEmpty() const
{
    return m_inner->IsEmpty();
}

Scheduler::Event QnsPeekScheduler::PeekNext() const
{
    return m_inner->PeekNext();
}

Scheduler::Event QnsPeekScheduler::RemoveNext()
{
    return m_inner->RemoveNext();
}

void QnsPeekScheduler::Remove(const Event &ev)
{
    m_inner->Remove(ev);
}

} // namespace ns3
