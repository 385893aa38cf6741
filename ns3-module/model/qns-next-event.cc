/*
 * QnsNextEvent, QnsPeekScheduler - ns-3's next event time, for adaptive rounds.
 */
#include "qns-next-event.h"

#include "qns-bridge.h"

#include "ns3/global-value.h"
#include "ns3/log.h"
#include "ns3/map-scheduler.h"
#include "ns3/object-factory.h"
#include "ns3/pointer.h"
#include "ns3/simulator.h"
#include "ns3/string.h"

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("QnsNextEvent");
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

QnsNextEvent::QnsNextEvent() : m_scheduler(nullptr)
{
    NS_LOG_FUNCTION(this);
}

void QnsNextEvent::Install()
{
    NS_LOG_FUNCTION(this);
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
    NS_LOG_INFO("ns-3's events are scheduled by " << inner.GetName() << " through "
                                                  << f.GetTypeId().GetName());
    Simulator::SetScheduler(f);
}

bool QnsNextEvent::Peek(uint64_t &ts) const
{
    NS_LOG_FUNCTION(this);
    if (m_scheduler == nullptr || m_scheduler->IsEmpty()) {
        return false;
    }
    ts = m_scheduler->PeekNext().key.m_ts;
    return true;
}

void QnsNextEvent::ForEachContext(
    const std::function<void(uint32_t context, uint64_t ts)> &fn) const
{
    NS_LOG_FUNCTION(this);
    if (m_scheduler == nullptr) {
        return;
    }
    for (const auto &c : m_scheduler->m_contexts) {
        fn(c.first, *c.second.begin());
    }
}

void QnsNextEvent::ForEachEntry(
    const std::function<void(const QnsBridge *bridge, bool answered, uint64_t ts)> &fn) const
{
    NS_LOG_FUNCTION(this);
    if (m_scheduler == nullptr) {
        return;
    }
    for (const auto &e : m_scheduler->m_entries) {
        fn(e.first.first, e.first.second, *e.second.begin());
    }
}

TypeId QnsPeekScheduler::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::QnsPeekScheduler")
            .SetParent<Scheduler>()
            .SetGroupName("Qns")
            .AddConstructor<QnsPeekScheduler>()
            .AddAttribute(
                "Inner", "The scheduler every call is forwarded to.",
                TypeIdValue(MapScheduler::GetTypeId()),
                MakeTypeIdAccessor(&QnsPeekScheduler::SetInner, &QnsPeekScheduler::GetInner),
                MakeTypeIdChecker())
            .AddAttribute(
                "Probe", "The QnsNextEvent that peeks through this scheduler.", PointerValue(),
                MakePointerAccessor(&QnsPeekScheduler::SetProbe, &QnsPeekScheduler::GetProbe),
                MakePointerChecker<QnsNextEvent>());
    return tid;
}

QnsPeekScheduler::QnsPeekScheduler() : m_inner(CreateObject<MapScheduler>())
{
    NS_LOG_FUNCTION(this);
}

QnsPeekScheduler::~QnsPeekScheduler()
{
    NS_LOG_FUNCTION(this);
    SetProbe(nullptr);
}

void QnsPeekScheduler::SetInner(TypeId tid)
{
    NS_LOG_FUNCTION(this << tid);
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
    NS_LOG_FUNCTION(this);
    return m_inner->GetInstanceTypeId();
}

void QnsPeekScheduler::SetProbe(Ptr<QnsNextEvent> probe)
{
    NS_LOG_FUNCTION(this << probe);
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
    NS_LOG_FUNCTION(this);
    return m_probe;
}

/* Keeps the index of queued time stamps (emptied sets are dropped, so
 * that each set's first element is its earliest). */
void QnsPeekScheduler::Track(const Event &ev, bool queued)
{
    const auto *entry = dynamic_cast<const QnsBridgeEntry *>(ev.impl);
    std::multiset<uint64_t> *set;
    if (entry != nullptr) {
        auto key = std::make_pair(entry->GetBridge(), entry->IsAnswered());
        set = &m_entries[key];
        if (!queued) {
            set->erase(set->find(ev.key.m_ts));
            if (set->empty()) {
                m_entries.erase(key);
            }
            return;
        }
    } else {
        set = &m_contexts[ev.key.m_context];
        if (!queued) {
            set->erase(set->find(ev.key.m_ts));
            if (set->empty()) {
                m_contexts.erase(ev.key.m_context);
            }
            return;
        }
    }
    set->insert(ev.key.m_ts);
}

void QnsPeekScheduler::Insert(const Event &ev)
{
    NS_LOG_FUNCTION(this << ev.key.m_ts);
    m_inner->Insert(ev);
    Track(ev, true);
}

bool QnsPeekScheduler::IsEmpty() const
{
    NS_LOG_FUNCTION(this);
    return m_inner->IsEmpty();
}

Scheduler::Event QnsPeekScheduler::PeekNext() const
{
    NS_LOG_FUNCTION(this);
    return m_inner->PeekNext();
}

Scheduler::Event QnsPeekScheduler::RemoveNext()
{
    NS_LOG_FUNCTION(this);
    Event ev = m_inner->RemoveNext();
    Track(ev, false);
    return ev;
}

void QnsPeekScheduler::Remove(const Event &ev)
{
    NS_LOG_FUNCTION(this << ev.key.m_ts);
    m_inner->Remove(ev);
    Track(ev, false);
}

} // namespace ns3
