/*
 * QnsSyncScheduler - time-grant rounds as ns-3 events.
 */
#include "qns-sync-scheduler.h"

#include "qns-bridge.h"
#include "qns-next-event.h"
#include "qns-rank-rounds.h"

#include "qns_limits.h"

#include "ns3/boolean.h"
#include "ns3/global-value.h"
#include "ns3/log.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"

#include <algorithm>
#include <ctime>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("QnsSyncScheduler");

bool QnsSimulatorIsDistributed()
{
    StringValue type;
    GlobalValue::GetValueByName("SimulatorImplementationType", type);
    return type.Get() == "ns3::DistributedSimulatorImpl" ||
           type.Get() == "ns3::NullMessageSimulatorImpl";
}

NS_OBJECT_ENSURE_REGISTERED(QnsSyncScheduler);

TypeId QnsSyncScheduler::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::QnsSyncScheduler")
            .SetParent<Object>()
            .SetGroupName("Qns")
            .AddConstructor<QnsSyncScheduler>()
            .AddAttribute("Quantum", "Time between rounds of grants (whole microseconds).",
                          TimeValue(MicroSeconds(10)),
                          MakeTimeAccessor(&QnsSyncScheduler::m_quantum),
                          MakeTimeChecker(MicroSeconds(1)))
            .AddAttribute("WatchdogMs",
                          "Wall-clock window in ms: a guest that has not replied to a grant "
                          "within it and used no CPU in it (under 1%) is reported as hung; "
                          "one that used CPU is waited for, a window at a time (0: no "
                          "watchdog).",
                          UintegerValue(QNS_WATCHDOG_DEFAULT_MS),
                          MakeUintegerAccessor(&QnsSyncScheduler::m_watchdogMs),
                          MakeUintegerChecker<uint32_t>())
            .AddAttribute("WatchdogOff",
                          "How the user turns the watchdog off, in the words of the "
                          "interface they set it in: the end of the watchdog's message.",
                          StringValue("set the QnsSyncScheduler attribute WatchdogMs to 0"),
                          MakeStringAccessor(&QnsSyncScheduler::m_watchdogOff), MakeStringChecker())
            .AddAttribute("SpinUs",
                          "Wall-clock time to poll for replies without sleeping before "
                          "blocking, each round (0: never).",
                          UintegerValue(0), MakeUintegerAccessor(&QnsSyncScheduler::m_spinUs),
                          MakeUintegerChecker<uint32_t>(0, QNS_SPIN_US_MAX))
            .AddAttribute("Pin",
                          "Keep the simulator on the CPU it runs on and guest k on the "
                          "k-th allowed CPU after it, so a round's hand-over between a "
                          "guest and the simulator stays on one core.",
                          BooleanValue(false), MakeBooleanAccessor(&QnsSyncScheduler::m_pin),
                          MakeBooleanChecker())
            .AddAttribute("Adaptive",
                          "Place rounds only where something can happen: while every guest "
                          "is halted (its horizon, from -qqq horizon=on, is ahead), the next "
                          "round is at min(earliest guest horizon, ns-3's next event) + the "
                          "smallest bridge latency, and at most on the next multiple of the "
                          "quantum at or after ns-3's next event; while a guest runs, on the "
                          "next multiple of the quantum. Outputs are those of fixed rounds.",
                          BooleanValue(true), MakeBooleanAccessor(&QnsSyncScheduler::m_adaptive),
                          MakeBooleanChecker())
            .AddAttribute("Lookahead",
                          "With adaptive rounds and a known RunEnd (not across MPI ranks, "
                          "not split with SplitLookahead): grant each guest as far as "
                          "nothing can reach it, from the delays of the topology's "
                          "point-to-point and CSMA channels, however busy it is. Outputs "
                          "are those of fixed rounds.",
                          BooleanValue(true), MakeBooleanAccessor(&QnsSyncScheduler::m_useLookahead),
                          MakeBooleanChecker())
            .AddAttribute("RunEnd",
                          "The instant Simulator::Stop ends the run at, when nothing else "
                          "but the guests that end the run stops it (0: unknown; grants "
                          "then end where a fixed-round run could stop, at ns-3's next "
                          "event).",
                          TimeValue(Time(0)), MakeTimeAccessor(&QnsSyncScheduler::m_runEnd),
                          MakeTimeChecker(Time(0)))
            .AddAttribute("MaxStep", "The longest adaptive round (whole microseconds).",
                          TimeValue(Seconds(10)), MakeTimeAccessor(&QnsSyncScheduler::m_maxStep),
                          MakeTimeChecker(MicroSeconds(1), Seconds(2000)))
            .AddAttribute("SealedStep",
                          "With adaptive rounds, the longest grant to a guest none of whose "
                          "NICs has started (it cannot reach the network, and its grant ends "
                          "where a NIC starts), whole microseconds. Short enough that a "
                          "grant takes a fraction of the watchdog's wall time.",
                          TimeValue(MilliSeconds(100)),
                          MakeTimeAccessor(&QnsSyncScheduler::m_sealedStep),
                          MakeTimeChecker(MicroSeconds(1), Seconds(2000)))
            .AddAttribute("SplitLookahead",
                          "The lookahead of a run split over MPI ranks (the smallest delay of "
                          "a point-to-point link between ranks): when above zero, and always "
                          "across ranks, the run ends as QnsRankEnd says, a while after its "
                          "EndsRun guests powered off, at the same instant in one process and "
                          "across ranks. Zero across ranks: ns-3's lookahead.",
                          TimeValue(Time(0)), MakeTimeAccessor(&QnsSyncScheduler::m_splitLookahead),
                          MakeTimeChecker(Time(0)))
            .AddAttribute(
                "ShutdownTimeoutMs", "Wall-clock wait for guests to exit before they are killed.",
                UintegerValue(2000), MakeUintegerAccessor(&QnsSyncScheduler::m_shutdownMs),
                MakeUintegerChecker<uint32_t>(1))
            .AddTraceSource("Round", "A round began: its number and simulation time.",
                            MakeTraceSourceAccessor(&QnsSyncScheduler::m_roundTrace),
                            "ns3::QnsSyncScheduler::RoundCallback")
            .AddTraceSource("LateDelivery",
                            "A frame was sent to a guest for an instant already in its "
                            "past (guest, nic, time in ns). Must never fire.",
                            MakeTraceSourceAccessor(&QnsSyncScheduler::m_lateTrace),
                            "ns3::QnsSyncScheduler::LateCallback");
    return tid;
}

QnsSyncScheduler::QnsSyncScheduler()
    : m_quantum(MicroSeconds(QNS_QUANTUM_US_DEFAULT)), m_watchdogMs(QNS_WATCHDOG_DEFAULT_MS),
      m_spinUs(0), m_pin(false), m_adaptive(true), m_remote(false), m_halted(false),
      m_finished(false),
      m_maxStep(Seconds(10)), m_sealedStep(MilliSeconds(100)), m_sprinting(false),
      m_shutdownMs(2000), m_useLookahead(true), m_runEnd(Time(0)), m_longGrants(false),
      m_lastNextUs(0),
      m_minLatencyNs(0), m_sync(nullptr), m_inRound(false), m_started(false),
      m_rounds(0), m_sprints(0), m_late(0), m_progressFn(nullptr), m_progressCtx(nullptr),
      m_progressMs(0), m_lastProgressMs(0), m_interrupted(false), m_stopFd(0)
{
    NS_LOG_FUNCTION(this);
}

QnsSyncScheduler::~QnsSyncScheduler()
{
    NS_LOG_FUNCTION(this);
    qns_sync_free(m_sync);
}

int QnsSyncScheduler::AddGuest(const qns_guest_spec &spec)
{
    NS_LOG_FUNCTION(this << spec.name << spec.nic_count);
    char err[QNS_ERRBUF_SIZE];
    if (m_sync == nullptr) {
        qns_sync_options o = {};
        o.watchdog_ms = static_cast<int>(m_watchdogMs);
        o.watchdog_off = m_watchdogOff.c_str();
        o.spin_us = static_cast<int>(m_spinUs);
        o.pin = m_pin ? 1 : 0;
        o.shutdown_timeout_ms = static_cast<int>(m_shutdownMs);
        o.exit_zero_is_done = 1; /* a guest OS powering off is done, not dead */
        o.stop_fd = m_stopFd;
        o.wait_fn = &QnsSyncScheduler::OnWait;
        o.wait_ctx = this;
        o.wait_report_ms = static_cast<int>(m_progressFn != nullptr ? m_progressMs : 0);
        m_sync = qns_sync_new(&o, err);
        if (m_sync == nullptr) {
            m_error = err;
            return -1;
        }
        qns_sync_set_frame_handler(m_sync, &QnsSyncScheduler::OnFrame, this);
    }
    if (m_started) {
        m_error = "guests must be added before the simulation starts";
        return -1;
    }
    int i = qns_sync_add_guest(m_sync, &spec, err);
    if (i < 0) {
        m_error = err;
        return -1;
    }
    m_bridges.resize(static_cast<size_t>(i) + 1);
    m_bridges[static_cast<size_t>(i)].resize(static_cast<size_t>(spec.nic_count));
    NS_LOG_INFO("guest " << spec.name << " is pid " << qns_guest_pid(qns_sync_guest(m_sync, i)));
    return i;
}

int QnsSyncScheduler::GetGuestCount() const
{
    NS_LOG_FUNCTION(this);
    return m_sync ? qns_sync_guest_count(m_sync) : 0;
}

bool QnsSyncScheduler::Attach(int guest, int nic, Ptr<QnsBridge> bridge)
{
    NS_LOG_FUNCTION(this << guest << nic << bridge);
    if (guest < 0 || guest >= GetGuestCount() || nic < 0 ||
        nic >= static_cast<int>(m_bridges[static_cast<size_t>(guest)].size())) {
        m_error = "no such guest NIC to attach a bridge to";
        return false;
    }
    auto &slot = m_bridges[static_cast<size_t>(guest)][static_cast<size_t>(nic)];
    if (slot) {
        m_error = "guest NIC is already attached to a bridge";
        return false;
    }
    slot = bridge;
    NS_LOG_INFO("guest " << guest << " nic " << nic << " feeds bridge " << bridge);
    return true;
}

static int64_t WallMs()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void QnsSyncScheduler::SetProgress(ProgressFn fn, void *ctx, uint32_t intervalMs)
{
    NS_LOG_FUNCTION(this << intervalMs);
    m_progressFn = fn;
    m_progressCtx = ctx;
    m_progressMs = intervalMs;
    m_lastProgressMs = WallMs();
}

void QnsSyncScheduler::SetStopFd(int fd)
{
    NS_LOG_FUNCTION(this << fd);
    m_stopFd = fd;
}

int QnsSyncScheduler::OnWait(void *ctx, int guest, int64_t waitedMs)
{
    auto self = static_cast<QnsSyncScheduler *>(ctx);
    if (self->m_progressFn == nullptr) {
        return 0;
    }
    self->m_lastProgressMs = WallMs();
    if (self->m_sprinting || self->m_longGrants) {
        /* Guests running a long grant are not late: plain progress. */
        return self->m_progressFn(self->m_progressCtx, -1, 0.0);
    }
    return self->m_progressFn(self->m_progressCtx, guest, static_cast<double>(waitedMs) / 1e3);
}

bool QnsSyncScheduler::Interrupted() const
{
    NS_LOG_FUNCTION(this);
    return m_interrupted;
}

void QnsSyncScheduler::EndRunWithGuest(int guest)
{
    NS_LOG_FUNCTION(this << guest);
    m_endsRun.push_back(guest);
}

bool QnsSyncScheduler::CheckQuantum(Time quantum, std::string &err)
{
    if (quantum.GetNanoSeconds() % 1000 != 0) {
        err = "the scheduler's Quantum " + std::to_string(quantum.GetNanoSeconds()) +
              " ns is not a whole number of microseconds";
        return false;
    }
    return true;
}

void QnsSyncScheduler::Start()
{
    NS_LOG_FUNCTION(this);
    std::string quantumErr;
    NS_ABORT_MSG_IF(!CheckQuantum(m_quantum, quantumErr), quantumErr);
    m_started = true;
    m_remote = QnsSimulatorIsDistributed();
    m_minLatencyNs = m_quantum.GetNanoSeconds();
    bool first = true;
    for (auto &nics : m_bridges) {
        for (auto &b : nics) {
            if (b && (first || b->GetLatency().GetNanoSeconds() < m_minLatencyNs)) {
                m_minLatencyNs = b->GetLatency().GetNanoSeconds();
                first = false;
            }
        }
    }
    if (m_adaptive) {
        m_nextEvent = CreateObject<QnsNextEvent>();
        m_nextEvent->Install();
        m_lookahead.Build(m_bridges);
    }
    if (m_remote && RoundsAgreed()) {
        /* Every rank is here, in its first event: the ranks agree on the
         * latency too, the least of every rank's bridges. */
        m_rankRounds = CreateObject<QnsRankRounds>();
        m_rankRounds->Setup();
        m_minLatencyNs = m_rankRounds->Least(m_minLatencyNs);
    }
    NS_LOG_INFO("rounds start at "
                << Simulator::Now().As(Time::US) << ": " << m_bridges.size() << " guests, quantum "
                << m_quantum.As(Time::US) << ", " << (m_adaptive ? "adaptive" : "fixed")
                << " rounds"
                << (m_rankRounds ? " (agreed across MPI ranks)"
                                 : m_remote ? " (across MPI ranks: every quantum)" : "")
                << ", least bridge latency " << m_minLatencyNs << " ns");
    if (m_sync != nullptr || m_rankRounds) {
        Simulator::ScheduleNow(&QnsSyncScheduler::Round, this);
    }
}

void QnsSyncScheduler::StartHalted()
{
    NS_LOG_FUNCTION(this);
    m_halted = true;
    Start();
}

bool QnsSyncScheduler::RoundsAgreed() const
{
    return m_adaptive && QnsRankRounds::Applies();
}

void QnsSyncScheduler::Fail(const std::string &why)
{
    NS_LOG_ERROR(why);
    if (m_error.empty()) {
        m_error = why;
    }
    StopHere(true);
}

/* This rank's run stops (it failed, or was stopped), the other ranks', if
 * any, soon after. Whether it stopped now: where rounds are agreed across
 * ranks it grants nothing more but takes part in the rounds up to the end
 * the ranks agree on (false). */
bool QnsSyncScheduler::StopHere(bool failed)
{
    if (m_rankEnd && m_started && !m_finished) {
        m_rankEnd->Abort(failed);
    }
    if (m_rankRounds && m_started && !m_finished) {
        m_halted = true;
        return false;
    }
    Simulator::Stop();
    return true;
}

void QnsSyncScheduler::SetRankEnd(Ptr<QnsRankEnd> rankEnd)
{
    NS_LOG_FUNCTION(this << rankEnd);
    m_rankEnd = rankEnd;
}

Ptr<QnsRankEnd> QnsSyncScheduler::GetRankEnd() const
{
    NS_LOG_FUNCTION(this);
    return m_rankEnd;
}

Time QnsSyncScheduler::GetSplitLookahead() const
{
    NS_LOG_FUNCTION(this);
    return m_splitLookahead;
}

void QnsSyncScheduler::OnFrame(void *ctx, const qns_sync_frame *frame)
{
    auto self = static_cast<QnsSyncScheduler *>(ctx);
    NS_LOG_LOGIC("guest " << frame->guest << " nic " << frame->nic << " sent " << frame->length
                          << " bytes at " << frame->time_ns << " ns");
    Ptr<QnsBridge> b =
        self->m_bridges[static_cast<size_t>(frame->guest)][static_cast<size_t>(frame->nic)];
    if (b && !b->FromGuest(frame->time_ns, frame->data, frame->length)) {
        self->Fail("guest " +
                   std::string(qns_guest_name(qns_sync_guest(self->m_sync, frame->guest))) +
                   " nic " + std::to_string(frame->nic) + ": frame stamped " +
                   std::to_string(frame->time_ns) + " ns would enter ns-3 in its past, at " +
                   std::to_string(Simulator::Now().GetNanoSeconds()) + " ns");
    }
}

void QnsSyncScheduler::FlushCaptures(uint64_t beforeNs)
{
    for (auto &nics : m_bridges) {
        for (auto &b : nics) {
            if (b) {
                b->FlushCapture(beforeNs);
            }
        }
    }
    CheckCaptures();
}

/* A capture that cannot be written stops the run: its outputs are lost. */
void QnsSyncScheduler::CheckCaptures()
{
    for (auto &nics : m_bridges) {
        for (auto &b : nics) {
            if (b && !b->GetCaptureError().empty()) {
                Fail(b->GetCaptureError());
                return;
            }
        }
    }
}

void QnsSyncScheduler::RoundFailed(const char *err)
{
    if (qns_sync_stopped(m_sync)) { /* a stop was asked for: not a failure */
        m_interrupted = true;
        StopHere(false);
    } else {
        Fail(err);
    }
}

bool QnsSyncScheduler::EndRound(uint64_t nowNs)
{
    char err[QNS_ERRBUF_SIZE];
    m_inRound = false;
    if (qns_sync_round_end(m_sync, err) < 0) {
        RoundFailed(err);
        return false;
    }
    NS_LOG_DEBUG("round " << m_rounds << " ended at " << nowNs << " ns: every guest replied");
    return true;
}

bool QnsSyncScheduler::RunEnded()
{
    if (!m_endsRun.empty()) {
        /* A guest that powered off in a long grant ended ahead of now: the
         * run ends at the round after its end, as with fixed rounds (split
         * over ranks: where QnsRankEnd says). */
        bool all = true;
        int64_t lastOff = 0;
        for (int g : m_endsRun) {
            all = all && qns_sync_guest_done(m_sync, g) &&
                  qns_sync_clock_us(m_sync, g) < Simulator::Now().GetMicroSeconds();
            lastOff = std::max(lastOff, qns_sync_clock_us(m_sync, g));
        }
        if (all && !m_rankEnd) {
            NS_LOG_INFO("every guest the run ends with has powered off at " << Simulator::Now());
            Simulator::Stop();
            return true;
        }
        if (all) {
            m_rankEnd->LocalEnd(lastOff);
        }
    }
    if (m_rankEnd && m_rankEnd->GetEndUs() >= 0 &&
        Simulator::Now().GetMicroSeconds() >= m_rankEnd->GetEndUs()) {
        NS_LOG_INFO("the split run ends at " << Simulator::Now());
        Simulator::Stop();
        return true;
    }
    return false;
}

bool QnsSyncScheduler::ProgressStopped()
{
    if (m_progressFn != nullptr) {
        int64_t wall = WallMs();
        if (wall - m_lastProgressMs >= static_cast<int64_t>(m_progressMs)) {
            m_lastProgressMs = wall;
            if (m_progressFn(m_progressCtx, -1, 0.0) != 0) {
                m_interrupted = true;
                return StopHere(false);
            }
        }
    }
    return false;
}

void QnsSyncScheduler::BeginRound(uint64_t nowNs)
{
    char err[QNS_ERRBUF_SIZE];
    int64_t nowUs = Simulator::Now().GetMicroSeconds();
    int64_t next = NextRoundUs(nowUs);
    if (m_rankRounds) {
        next = m_rankRounds->Least(next);
    }
    m_lastNextUs = next;
    m_rounds++;
    m_roundTrace(m_rounds, Simulator::Now());
    if (m_halted || GetGuestCount() == 0) {
        NS_LOG_DEBUG("round " << m_rounds << " at " << nowNs << " ns: no grants, next round at "
                              << next << " us");
        Simulator::Schedule(MicroSeconds(next) - Simulator::Now(), &QnsSyncScheduler::Round, this);
        return;
    }
    NS_LOG_DEBUG("round " << m_rounds << " at " << nowNs << " ns: grants to " << next
                          << " us sent to " << m_bridges.size() << " guests");
    int r;
    m_longGrants = false;
    if (LookaheadOn()) {
        std::vector<int64_t> targets;
        LookaheadTargets(nowUs, next, targets);
        const int64_t q = m_quantum.GetMicroSeconds();
        for (int g = 0, n = GetGuestCount(); g < n; g++) {
            int64_t t = targets[static_cast<size_t>(g)];
            m_longGrants = m_longGrants || t > next;
            if (t > next && std::find(m_endsRun.begin(), m_endsRun.end(), g) != m_endsRun.end()) {
                /* It may power off anywhere in its grant, and the run then
                 * ends at the round after: the next round comes no later
                 * than the first that may be that one. */
                next = std::min(next, (qns_sync_clock_us(m_sync, g) / q + 1) * q);
            }
        }
        m_lastNextUs = next;
        if (g_log.IsEnabled(LOG_DEBUG)) {
            std::string t;
            for (int g = 0, n = GetGuestCount(); g < n; g++) {
                t += " " + std::to_string(qns_sync_clock_us(m_sync, g)) + "->" +
                     std::to_string(targets[static_cast<size_t>(g)]);
            }
            NS_LOG_DEBUG("round " << m_rounds << ": next round at " << next
                                  << " us; guests' clocks and targets (us):" << t);
        }
        r = qns_sync_round_begin_targets(m_sync, targets.data(), err);
    } else {
        r = qns_sync_round_begin_to(m_sync, next, err);
    }
    if (r < 0) {
        Fail(err);
        return;
    }
    m_inRound = true;
    Simulator::Schedule(MicroSeconds(next) - Simulator::Now(), &QnsSyncScheduler::Round, this);
}

void QnsSyncScheduler::Round()
{
    char err[QNS_ERRBUF_SIZE];
    uint64_t now = static_cast<uint64_t>(Simulator::Now().GetNanoSeconds());
    bool going = !m_inRound || EndRound(now);
    if (going && !m_halted) {
        /* Every frame stamped before now is known in both directions. */
        FlushCaptures(now);
        going = !Failed() && (!m_adaptive || Sprint(err));
    }
    if (!going && !m_halted) {
        return; /* this rank stopped here */
    }
    if (RunEnded() || (!m_halted && ProgressStopped())) {
        return;
    }
    BeginRound(now);
}

/*
 * Guests none of whose NICs has started (sealed) cannot reach the network
 * nor be reached: each one that is not ahead of now runs at once, in this
 * round event, until a NIC starts (its grant ends there) or for SealedStep,
 * and no further than where a fixed-round run would stop it (the multiple of
 * the quantum at or after ns-3's next event, which may end the run). ns-3
 * stands still meanwhile, so a frame sent right after a NIC started still
 * enters ns-3 in its future; frames for the guest's past before then are
 * dropped (qns_sync_drop_unopened), as the guest itself drops them.
 */
bool QnsSyncScheduler::Sprint(char *err)
{
    int64_t nowUs = Simulator::Now().GetMicroSeconds();
    int64_t eNs;
    int64_t target =
        std::min(nowUs + m_sealedStep.GetMicroSeconds(), StopAtOrAfterNextEvent(nowUs, eNs));
    int n = GetGuestCount();
    std::vector<int32_t> grants(static_cast<size_t>(n), QNS_NO_GRANT);
    bool any = false;
    for (int g = 0; g < n; g++) {
        int64_t clock = qns_sync_clock_us(m_sync, g);
        if (qns_sync_guest_sealed(m_sync, g) && clock <= nowUs && clock < target) {
            grants[static_cast<size_t>(g)] =
                static_cast<int32_t>(std::min<int64_t>(target - clock, INT32_MAX));
            any = true;
        }
    }
    if (!any) {
        return true;
    }
    m_sprints++;
    m_rounds++;
    NS_LOG_DEBUG("round " << m_rounds << " at " << nowUs << " us: guests without a started NIC run "
                          << "alone to at most " << target << " us");
    m_sprinting = true;
    int r = qns_sync_round_begin(m_sync, grants.data(), err);
    if (r == 0) {
        r = qns_sync_round_end(m_sync, err);
    }
    m_sprinting = false;
    if (r < 0) {
        RoundFailed(err);
        return false;
    }
    return !Failed();
}

/*
 * Where the next round falls (DESIGN.md section 4). Fixed: a quantum on.
 * Adaptive, while some guest runs (or does not tell its horizon): the next
 * multiple of the quantum, so rounds around running guests fall where fixed
 * rounds do. While every guest is halted until its horizon h, and ns-3's
 * next event is at E: nothing reaches a guest before min(h, E) + L, and ns-3
 * needs nothing from a guest before h + L, so the round may wait until then
 * (rounded down to whole microseconds); but no later than the multiple of
 * the quantum at or after E, so that guests are never granted past the
 * instant a fixed-round run would stop them at (the end of the run is an
 * ns-3 event). Always after now: h >= now, E >= now, L >= quantum. Across
 * ranks with agreed rounds, E and h are this rank's (E also counts its
 * frames on their way to other ranks) and BeginRound takes the least of
 * the ranks' instants: the one-process instant (QnsRankRounds).
 */
int64_t QnsSyncScheduler::NextRoundUs(int64_t nowUs) const
{
    int64_t q = m_quantum.GetMicroSeconds();
    int64_t grid = (nowUs / q + 1) * q;
    if (!m_adaptive || (m_remote && !m_rankRounds)) {
        /* Another rank may send at any instant from now on (its frames reach
         * this rank's devices no earlier than now): a round every quantum. */
        return nowUs + q;
    }
    int64_t h = INT64_MAX;
    int64_t cap = nowUs + m_maxStep.GetMicroSeconds();
    if (m_rankEnd && m_rankEnd->GetEndUs() > nowUs) {
        cap = std::min(cap, m_rankEnd->GetEndUs());
    }
    for (int g = 0, n = m_halted ? 0 : GetGuestCount(); g < n; g++) {
        h = std::min(h, qns_sync_horizon_us(m_sync, g));
        int64_t clock = qns_sync_clock_us(m_sync, g);
        if (qns_sync_guest_done(m_sync, g) && clock >= nowUs) {
            /* It powered off ahead of now: a round right after its end. */
            cap = std::min(cap, (clock / q + 1) * q);
        }
    }
    if (h <= nowUs) {
        return std::min(grid, std::max(cap, nowUs + 1));
    }
    int64_t boundNs = h < cap ? h * 1000 : cap * 1000;
    int64_t eNs;
    cap = std::min(cap, StopAtOrAfterNextEvent(nowUs, eNs));
    boundNs = std::min(boundNs, eNs);
    return std::max(grid, std::min(cap, (boundNs + m_minLatencyNs) / 1000));
}

/*
 * At the end of a run with the lookahead, guests whose grants waited
 * (halted past the last round) are granted where the others were: the last
 * round's instant (the round in flight's, or the one that ended the run).
 * Nothing happens in them on the way but what fixed rounds would run too.
 */
bool QnsSyncScheduler::CatchUp(char *err)
{
    if (!LookaheadOn() || !m_started) {
        return true;
    }
    const int64_t end = m_lastNextUs;
    const int n = GetGuestCount();
    std::vector<int64_t> targets(static_cast<size_t>(n));
    bool any = false;
    for (int g = 0; g < n; g++) {
        int64_t clock = qns_sync_clock_us(m_sync, g);
        targets[static_cast<size_t>(g)] = std::max(clock, end);
        any = any || (clock < end && !qns_sync_guest_done(m_sync, g));
    }
    if (!any) {
        return true;
    }
    NS_LOG_DEBUG("the run ended at " << end << " us: guests whose grants waited catch up");
    return qns_sync_round_begin_targets(m_sync, targets.data(), err) == 0 &&
           qns_sync_round_end(m_sync, err) == 0;
}

void QnsSyncScheduler::SetRunEnd(Time end)
{
    NS_LOG_FUNCTION(this << end);
    m_runEnd = end;
}

/* The earliest instant the guests that end the run can end it at: the
 * round after the latest instant any of them may power off at (its clock
 * once it has; else no earlier than it can do anything: its clock while it
 * runs, its horizon or the first frame that can reach it, limitNs, while
 * it is halted); INT64_MAX when no guest ends the run, or one never can. */
int64_t QnsSyncScheduler::EndsNoEarlierUs(const std::vector<int64_t> &limitNs) const
{
    const int64_t q = m_quantum.GetMicroSeconds();
    int64_t end = m_endsRun.empty() ? INT64_MAX : INT64_MIN;
    for (int g : m_endsRun) {
        int64_t at = qns_sync_clock_us(m_sync, g);
        if (!qns_sync_guest_done(m_sync, g)) {
            int64_t limit = limitNs[static_cast<size_t>(g)];
            at = std::max(at, std::min(qns_sync_horizon_us(m_sync, g),
                                       limit == INT64_MAX ? INT64_MAX : limit / 1000));
        }
        if (at >= INT64_MAX - q) {
            return INT64_MAX;
        }
        end = std::max(end, (at / q + 1) * q);
    }
    return end;
}

/* Whether guests may be granted past the next round (see Lookahead). */
bool QnsSyncScheduler::LookaheadOn() const
{
    return m_adaptive && m_useLookahead && !m_remote && !m_rankEnd && m_runEnd.IsStrictlyPositive();
}

/*
 * Each guest's target with the lookahead: as far as nothing can reach it
 * (QnsLookahead), and never past where a fixed-round run could end: the
 * multiple of the quantum at or after RunEnd and, for a guest that does
 * not end the run itself, the earliest instant the guests that end it can
 * end it at (EndsNoEarlierUs). A guest that ends the run stops where it powers off,
 * whatever it was granted. Never short of `next`, which every guest may
 * reach (NextRoundUs); guests without a started NIC run in sprints.
 */
void QnsSyncScheduler::LookaheadTargets(int64_t nowUs, int64_t next,
                                        std::vector<int64_t> &targets) const
{
    const int64_t q = m_quantum.GetMicroSeconds();
    const int n = GetGuestCount();
    std::vector<int64_t> sendNs(static_cast<size_t>(n));
    for (int g = 0; g < n; g++) {
        int64_t h = qns_sync_horizon_us(m_sync, g);
        sendNs[static_cast<size_t>(g)] = h >= INT64_MAX / 1000 ? INT64_MAX : h * 1000;
    }
    std::vector<int64_t> limitNs;
    m_lookahead.Limits(*m_nextEvent, sendNs, limitNs);
    const int64_t endUs = (m_runEnd.GetMicroSeconds() + q - 1) / q * q;
    const int64_t cap = std::min(endUs, nowUs + m_maxStep.GetMicroSeconds());
    const int64_t endsNoEarlier = EndsNoEarlierUs(limitNs);
    targets.assign(static_cast<size_t>(n), next);
    for (int g = 0; g < n; g++) {
        if (qns_sync_guest_sealed(m_sync, g)) {
            continue;
        }
        int64_t clock = qns_sync_clock_us(m_sync, g);
        int64_t send = qns_sync_horizon_us(m_sync, g);
        if (send > clock && send >= next) {
            /* Halted until after the next round, with no frame queued
             * before then: nothing happens in it until then, and its
             * grant can wait (ns-3 waits for it: NextRoundUs). */
            targets[static_cast<size_t>(g)] = clock;
            continue;
        }
        int64_t limit = limitNs[static_cast<size_t>(g)];
        int64_t t = std::min(limit == INT64_MAX ? INT64_MAX : limit / 1000, cap);
        if (std::find(m_endsRun.begin(), m_endsRun.end(), g) == m_endsRun.end()) {
            t = std::min(t, endsNoEarlier);
        }
        targets[static_cast<size_t>(g)] = std::max(t, next);
    }
    /* Guests busy at their last reply are granted alike, the least of
     * their grants: a round lasts as long as its longest grant, and a busy
     * guest granted less than another would leave its core idle meanwhile
     * (two guests that bound each other would otherwise leapfrog). */
    int64_t grant = INT64_MAX;
    for (int g = 0; g < n; g++) {
        int64_t t = targets[static_cast<size_t>(g)], clock = qns_sync_clock_us(m_sync, g);
        if (t > clock && qns_sync_horizon_us(m_sync, g) <= clock) {
            grant = std::min(grant, t - clock);
        }
    }
    for (int g = 0; g < n; g++) {
        int64_t &t = targets[static_cast<size_t>(g)], clock = qns_sync_clock_us(m_sync, g);
        if (t > clock && qns_sync_horizon_us(m_sync, g) <= clock && t - clock > grant) {
            t = std::max(clock + grant, next);
        }
    }
}

/*
 * Where a fixed-round run would next stop guests for ns-3: the multiple of
 * the quantum at or after ns-3's next event (its instant in eNs), and after
 * now; INT64_MAX, and eNs INT64_MAX, when ns-3 has no event left.
 */
int64_t QnsSyncScheduler::StopAtOrAfterNextEvent(int64_t nowUs, int64_t &eNs) const
{
    int64_t q = m_quantum.GetMicroSeconds();
    uint64_t e;
    eNs = m_nextEvent->Peek(e) ? static_cast<int64_t>(e) : INT64_MAX;
    if (m_rankRounds) {
        /* Frames sent to other ranks are events of theirs that their
         * queues may not hold yet. */
        eNs = std::min(eNs, m_rankRounds->InFlightNs(nowUs * 1000));
    }
    if (eNs == INT64_MAX) {
        return INT64_MAX;
    }
    return std::max((nowUs / q + 1) * q, (eNs + q * 1000 - 1) / (q * 1000) * q);
}

void QnsSyncScheduler::SendToGuest(int guest, int nic, uint64_t timeNs, const uint8_t *data,
                                   uint32_t length)
{
    NS_LOG_FUNCTION(this << guest << nic << timeNs << length);
    char err[QNS_ERRBUF_SIZE];
    if (m_sync == nullptr || qns_sync_failed(m_sync) || m_halted) {
        return;
    }
    if (qns_sync_drop_unopened(m_sync, guest, timeNs)) {
        NS_LOG_LOGIC("dropped: no NIC of guest " << guest << " had started at " << timeNs << " ns");
        return; /* no NIC of the guest had started by then: it drops it too */
    }
    /* The guest may already run up to what it was granted (or further, after
     * an overshoot): a frame stamped before that reaches it late. */
    int64_t ranTo = std::max(qns_sync_granted_us(m_sync, guest), qns_sync_clock_us(m_sync, guest));
    if (static_cast<int64_t>(timeNs) < ranTo * 1000) {
        m_late++;
        m_lateTrace(guest, nic, timeNs);
        Fail("a frame for guest " + std::string(qns_guest_name(qns_sync_guest(m_sync, guest))) +
             " nic " + std::to_string(nic) + " is stamped " + std::to_string(timeNs) +
             " ns, in the guest's past: it may already run to " + std::to_string(ranTo * 1000) +
             " ns");
        return;
    }
    if (qns_sync_send_frame(m_sync, guest, nic, timeNs, data, length, err) < 0) {
        Fail(err);
    }
}

void QnsSyncScheduler::Finish()
{
    NS_LOG_FUNCTION(this);
    m_finished = true;
    char err[QNS_ERRBUF_SIZE];
    if (m_inRound && m_sync != nullptr && !qns_sync_failed(m_sync)) {
        m_inRound = false;
        if (qns_sync_round_end(m_sync, err) < 0) {
            if (qns_sync_stopped(m_sync)) {
                m_interrupted = true;
            } else {
                Fail(err);
            }
        }
    }
    uint64_t endNs = static_cast<uint64_t>(Simulator::Now().GetNanoSeconds());
    if (m_sync != nullptr && !qns_sync_failed(m_sync) && !m_interrupted && !CatchUp(err)) {
        Fail(err);
    }
    if (m_sync != nullptr && !qns_sync_failed(m_sync) && !m_interrupted &&
        qns_sync_check_end(m_sync, endNs, err) < 0) {
        Fail(err);
    }
    /* Frames past the end of the run are not part of it. */
    FlushCaptures(endNs + 1);
    for (auto &nics : m_bridges) {
        for (auto &b : nics) {
            if (b) {
                b->CloseCapture();
            }
        }
    }
    CheckCaptures();
    const uint64_t late = GetLateFrames();
    NS_LOG_INFO("the run ended at " << endNs << " ns after " << m_rounds << " rounds (" << m_sprints
                                    << " sprints), " << late << " late frames"
                                    << (m_error.empty() ? "" : ": " + m_error));
    if (m_sync != nullptr) {
        qns_sync_shutdown(m_sync);
    }
}

Time QnsSyncScheduler::GetQuantum() const
{
    NS_LOG_FUNCTION(this);
    return m_quantum;
}

uint32_t QnsSyncScheduler::GetSpinUs() const
{
    NS_LOG_FUNCTION(this);
    return m_spinUs;
}

bool QnsSyncScheduler::IsAdaptive() const
{
    NS_LOG_FUNCTION(this);
    return m_adaptive;
}

bool QnsSyncScheduler::Failed() const
{
    NS_LOG_FUNCTION(this);
    return !m_error.empty();
}

const std::string &QnsSyncScheduler::GetError() const
{
    NS_LOG_FUNCTION(this);
    return m_error;
}

const qns_sync *QnsSyncScheduler::GetSync() const
{
    NS_LOG_FUNCTION(this);
    return m_sync;
}

uint64_t QnsSyncScheduler::GetRounds() const
{
    NS_LOG_FUNCTION(this);
    return m_rounds;
}

uint64_t QnsSyncScheduler::GetSprints() const
{
    NS_LOG_FUNCTION(this);
    return m_sprints;
}

uint64_t QnsSyncScheduler::GetUnopenedFrames() const
{
    NS_LOG_FUNCTION(this);
    uint64_t frames = 0;
    for (int g = 0, n = GetGuestCount(); g < n; g++) {
        frames += qns_sync_frames_unopened(m_sync, g);
    }
    return frames;
}

uint64_t QnsSyncScheduler::GetLateFrames() const
{
    NS_LOG_FUNCTION(this);
    uint64_t inGuests = 0;
    for (int g = 0, n = GetGuestCount(); g < n; g++) {
        inGuests += qns_sync_late_records(m_sync, g);
    }
    return m_late + inGuests;
}

void QnsSyncScheduler::DoDispose()
{
    NS_LOG_FUNCTION(this);
    for (auto &nics : m_bridges) {
        for (auto &b : nics) {
            if (b) {
                b->CloseCapture();
            }
        }
    }
    m_bridges.clear();
    if (m_rankEnd) {
        m_rankEnd->Dispose();
        m_rankEnd = nullptr;
    }
    qns_sync_free(m_sync);
    m_sync = nullptr;
    Object::DoDispose();
}

} // namespace ns3
