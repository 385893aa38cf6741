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

namespace ns3
{

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
    void SetInner(TypeId tid);
    TypeId GetInner() const;
    void SetProbe(Ptr<QnsNextEvent> probe);
    Ptr<QnsNextEvent> GetProbe() const;

    Ptr<Scheduler> m_inner;
    Ptr<QnsNextEvent> m_probe;
};

} // namespace ns3

#endif
