/*
 * QnsSyncScheduler - runs the time-grant rounds of every guest as ns-3
 * events at k * Quantum (DESIGN.md section 4). At each round event it takes
 * the guests' replies and frames, hands the frames to their bridges, then
 * writes the frames pending for the guests and the next grants, so guests
 * run in parallel with ns-3's own events of the round. A guest's death or
 * hang stops the simulation with an error that names it.
 */
#ifndef QNS_SYNC_SCHEDULER_H
#define QNS_SYNC_SCHEDULER_H

#include "qns-lookahead.h"
#include "qns-rank-end.h"
#include "qns_sync.h"

#include "ns3/nstime.h"
#include "ns3/object.h"
#include "ns3/traced-callback.h"

#include <string>
#include <vector>

namespace ns3
{

class QnsBridge;
class QnsNextEvent;
class QnsRankRounds;

/* Whether the simulation runs across MPI ranks (SimulatorImplementationType
 * is ns-3's DistributedSimulatorImpl or NullMessageSimulatorImpl): each
 * rank then runs the guests of its own nodes. Under DistributedSimulatorImpl
 * adaptive rounds fall where the ranks agree (QnsRankRounds), the instants
 * one process would pick; under NullMessageSimulatorImpl frames from other
 * ranks may reach this one's devices at any instant from now on, so they
 * fall every quantum but while guests boot. */
bool QnsSimulatorIsDistributed();

class QnsSyncScheduler : public Object
{
public:
    static TypeId GetTypeId();
    QnsSyncScheduler();
    ~QnsSyncScheduler() override;

    /* Spawns a guest now; returns its index, or -1 with the reason in GetError(). */
    int AddGuest(const qns_guest_spec &spec);
    int GetGuestCount() const;

    /* Routes frames of (guest, nic) to and from this bridge. */
    bool Attach(int guest, int nic, Ptr<QnsBridge> bridge);

    /* The run stops once every guest marked so has powered off (exit 0). */
    void EndRunWithGuest(int guest);

    /* Called from round events about every intervalMs of wall time, and as
     * often while a round waits for a guest (waitingGuest >= 0, waited for
     * waitedS of wall time so far; -1 otherwise); a non-zero return stops the
     * simulation. */
    typedef int (*ProgressFn)(void *ctx, int waitingGuest, double waitedS);
    void SetProgress(ProgressFn fn, void *ctx, uint32_t intervalMs);

    /* A descriptor that turns readable when the run must stop (see
     * qns_sync_options.stop_fd); set before the first AddGuest. */
    void SetStopFd(int fd);
    /* Whether the run was stopped: by the progress function or stop_fd. */
    bool Interrupted() const;

    /* Schedules the first round at the current simulation time (normally 0). */
    void Start();
    /* Start for a rank whose guests could not start (the error is set):
     * where rounds are agreed across ranks it takes part in them, granting
     * nothing, until the end the ranks agree on (QnsRankEnd). */
    void StartHalted();
    /* Whether adaptive rounds are agreed across MPI ranks (QnsRankRounds):
     * then every rank runs every round event until the run's end. */
    bool RoundsAgreed() const;

    /* Queues a frame for delivery to the guest NIC at time_ns (virtual). */
    void SendToGuest(int guest, int nic, uint64_t timeNs, const uint8_t *data, uint32_t length);

    /* The instant Simulator::Stop ends the run at, when nothing but it and
     * the guests that end the run (EndRunWithGuest) stop the simulation
     * (attribute RunEnd). With it, adaptive rounds may grant a guest past
     * ns-3's next event, as far as the topology's lookahead allows. */
    void SetRunEnd(Time end);

    /* After Simulator::Run: ends the round in flight and flushes captures. */
    void Finish();

    /* Where a run split over ranks ends (QnsGuestRun sets it at the start
     * when the run is across ranks or SplitLookahead is above zero). */
    void SetRankEnd(Ptr<QnsRankEnd> rankEnd);
    Ptr<QnsRankEnd> GetRankEnd() const;
    Time GetSplitLookahead() const;

    Time GetQuantum() const;
    /* The one check of a quantum: whole microseconds (the grant protocol
     * counts in them). True, or false with the reason in err. */
    static bool CheckQuantum(Time quantum, std::string &err);
    uint32_t GetSpinUs() const;
    /* Whether rounds fall only where something can happen (Adaptive). */
    bool IsAdaptive() const;
    bool Failed() const;
    const std::string &GetError() const;
    const qns_sync *GetSync() const;
    uint64_t GetRounds() const;
    /* Rounds in which guests whose NICs had not started ran alone (adaptive). */
    uint64_t GetSprints() const;
    /* Frames dropped because no NIC of their guest had started at their instant. */
    uint64_t GetUnopenedFrames() const;
    /* Frames late on either side: sent for an instant the guest may have
     * passed, or reported late by the guest. Either fails the run. */
    uint64_t GetLateFrames() const;

protected:
    void DoDispose() override;

private:
    void Round();
    /* Round's steps: the round in flight ends (false: the run stops), the
     * run has ended (guests with EndsRun, or across ranks), the progress
     * callback stopped it, and the next round's grants go out. */
    bool EndRound(uint64_t nowNs);
    /* A round that ended in err: stopped on request, or failed. */
    void RoundFailed(const char *err);
    bool RunEnded();
    bool ProgressStopped();
    void BeginRound(uint64_t nowNs);
    int64_t NextRoundUs(int64_t nowUs) const;
    bool LookaheadOn() const;
    int64_t EndsNoEarlierUs(const std::vector<int64_t> &limitNs) const;
    bool CatchUp(char *err);
    void LookaheadTargets(int64_t nowUs, int64_t next, std::vector<int64_t> &targets) const;
    bool Sprint(char *err);
    int64_t StopAtOrAfterNextEvent(int64_t nowUs, int64_t &eNs) const;
    void Fail(const std::string &why);
    bool StopHere(bool failed);
    void FlushCaptures(uint64_t beforeNs);
    void CheckCaptures();
    static void OnFrame(void *ctx, const qns_sync_frame *frame);
    static int OnWait(void *ctx, int guest, int64_t waitedMs);

    Time m_quantum;
    uint32_t m_watchdogMs;
    std::string m_watchdogOff;
    uint32_t m_spinUs;
    bool m_pin;
    bool m_adaptive;
    bool m_remote; /* ns-3 runs across MPI ranks */
    Ptr<QnsRankRounds> m_rankRounds; /* rounds agreed across ranks, or none */
    bool m_halted; /* agreed rounds: this rank grants nothing more, until the end */
    bool m_finished;
    Time m_splitLookahead;
    Ptr<QnsRankEnd> m_rankEnd;
    Time m_maxStep;
    Time m_sealedStep;
    bool m_sprinting;
    uint32_t m_shutdownMs;
    Ptr<QnsNextEvent> m_nextEvent;
    bool m_useLookahead;
    Time m_runEnd;
    QnsLookahead m_lookahead;
    bool m_longGrants;    /* the round in flight granted past its next round */
    int64_t m_lastNextUs; /* where the last round's grants went (its next round) */
    int64_t m_minLatencyNs;
    qns_sync *m_sync;
    bool m_inRound;
    bool m_started;
    uint64_t m_rounds;
    uint64_t m_sprints;
    uint64_t m_late;
    std::string m_error;
    std::vector<std::vector<Ptr<QnsBridge>>> m_bridges;
    std::vector<int> m_endsRun;
    ProgressFn m_progressFn;
    void *m_progressCtx;
    uint32_t m_progressMs;
    int64_t m_lastProgressMs;
    bool m_interrupted;
    int m_stopFd;
    TracedCallback<uint64_t, Time> m_roundTrace;
    TracedCallback<int, int, uint64_t> m_lateTrace;
};

} // namespace ns3

#endif
