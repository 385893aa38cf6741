/*
 * The next event of ns-3's own queue, for the round scheduler's adaptive
 * rounds. ns-3 has no public way to peek at its next event, so qns puts a
 * QnsPeekScheduler in front of whichever Scheduler the simulation uses (its
 * "Inner" attribute: the user's SchedulerType, MapScheduler by default); it
 * forwards every call and lets a QnsNextEvent ask for the earliest event
 * time. Every SimulatorImpl that takes a Scheduler works with it: the
 * default, the real-time and the distributed ones.
 */
#ifndef QNS_NEXT_EVENT_H
#define QNS_NEXT_EVENT_H

#include "ns3/object.h"
#include "ns3/scheduler.h"

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <utility>

namespace ns3
{

class QnsBridge;
class QnsPeekScheduler;

/* Where the round scheduler reads ns-3's next event time. */
class QnsNextEvent : public Object
{
  public:
    static TypeId GetTypeId();
    QnsNextEvent();

    /* Puts a QnsPeekScheduler in front of the simulator's scheduler (the
     * type SchedulerType names), keeping every event already scheduled. */
    void Install();

    /* The time stamp (ns) of the earliest event in the queue; false when the
     * queue is empty or the scheduler was replaced since Install. */
    bool Peek(uint64_t &ts) const;

    /* For the lookahead: the earliest event (ns) of each context (a node's
     * id, or none) among the queued events that are not QnsBridgeEntry
     * events, and the earliest QnsBridgeEntry of each bridge, answered by it
     * or not. Cancelled events still count until ns-3 removes them. */
    void ForEachContext(const std::function<void(uint32_t context, uint64_t ts)> &fn) const;
    void ForEachEntry(
        const std::function<void(const QnsBridge *bridge, bool answered, uint64_t ts)> &fn) const;

  private:
    friend class QnsPeekScheduler;
    QnsPeekScheduler *m_scheduler;
};

class QnsPeekScheduler : public Scheduler
{
  public:
    static TypeId GetTypeId();
    QnsPeekScheduler();
    ~QnsPeekScheduler() override;

    void Insert(const Event &ev) override;
    bool IsEmpty() const override;
    Event PeekNext() const override;
    Event RemoveNext() override;
    void Remove(const Event &ev) override;

  private:
    friend class QnsNextEvent;
    void SetInner(TypeId tid);
    TypeId GetInner() const;
    void SetProbe(Ptr<QnsNextEvent> probe);
    Ptr<QnsNextEvent> GetProbe() const;

    void Track(const Event &ev, bool queued);

    Ptr<Scheduler> m_inner;
    Ptr<QnsNextEvent> m_probe;
    /* The time stamps of the queued events, by context and by bridge. */
    std::map<uint32_t, std::multiset<uint64_t>> m_contexts;
    std::map<std::pair<const QnsBridge *, bool>, std::multiset<uint64_t>> m_entries;
};

} // namespace ns3

#endif
