/*
 * qns-run.cc - a simulation's run: the simulator's settings, the ns-3
 * objects built (qns-build.cc), the simulator run (which starts the
 * guests), and what the run leaves: captures closed, flow statistics,
 * each guest's statistics, the bytes sinks received.
 */
#include "qns-sim-internal.h"

#include "qns-guest-outcome.h"

#include "ns3/core-module.h"
#include "ns3/flow-monitor-module.h"
#include "ns3/network-module.h"

#include <glib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

using namespace ns3;

/* Closes ns-3's captures; a write that failed (disk full, file size limit)
 * left a file short of what the run produced, which is an error. */
static bool ClosePcaps(qns_sim *sim, std::string &err)
{
    for (auto &p : sim->pcaps) {
        errno = 0;
        p.second->Close();
        if (p.second->Fail() && err.empty()) {
            err = "capture " + p.first +
                  ": write failed: " + (errno ? std::strerror(errno) : "the file is incomplete");
        }
    }
    sim->pcaps.clear();
    return err.empty();
}

static int ReportProgress(void *ctx, int waitingGuest, double waitedS)
{
    auto sim = static_cast<qns_sim *>(ctx);
    qns_progress p = {};
    if (waitingGuest >= 0 && waitingGuest < static_cast<int>(sim->guests.size())) {
        p.waiting_guest = sim->guests[static_cast<size_t>(waitingGuest)].name.c_str();
        p.waiting_s = waitedS;
    }
    p.virtual_ns = static_cast<uint64_t>(Simulator::Now().GetNanoSeconds());
    p.duration_ns = sim->durationNs;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    p.wall_s = static_cast<double>(now.tv_sec - sim->start.tv_sec) +
               static_cast<double>(now.tv_nsec - sim->start.tv_nsec) / 1e9;
    p.rounds = sim->helper.GetScheduler()->GetRounds();
    for (size_t i = 0; i < sim->guests.size(); i++) {
        for (int n = 0; n < sim->guests[i].nicCount; n++) {
            Ptr<QnsBridge> b =
                sim->helper.GetRun()->GetBridge(static_cast<int>(i), static_cast<uint32_t>(n));
            if (b) {
                p.frames += b->GetFramesFromGuest() + b->GetFramesToGuest();
            }
        }
    }
    return sim->progressFn(sim->progressCtx, &p);
}

/* FlowMonitor's statistics into OUT_DIR/flowmon.xml, when it ran. */
static bool WriteFlows(qns_sim *sim, Ptr<FlowMonitor> flows, std::string &err)
{
    if (!flows) {
        return true;
    }
    flows->CheckForLostPackets();
    std::string xml = flows->SerializeToXmlString(0, false, false);
    std::string path = sim->outDir + "/flowmon.xml";
    GError *ge = nullptr;
    if (!g_file_set_contents(path.c_str(), xml.data(), static_cast<gssize>(xml.size()), &ge)) {
        err = "cannot write the flow statistics: " + std::string(ge->message);
        g_error_free(ge);
        return false;
    }
    return true;
}

/* The C API owns the simulator of its process: the settings a program of
 * its own would choose. */
static void SetUpSimulator(const qns_sim *sim)
{
    Time::SetResolution(Time::NS);
    Config::SetDefault("ns3::PcapFileWrapper::NanosecMode", BooleanValue(true));
    GlobalValue::Bind("ChecksumEnabled", BooleanValue(true));
    RngSeedManager::SetSeed(sim->cfg.seed);
    RngSeedManager::SetRun(1);
}

/* This rank's part of the simulation. Across ranks all run, or none: a
 * rank that could not build its part (a capture it cannot create on its
 * machine) would leave the others waiting for it in ns-3's synchronisation
 * for ever. */
static bool BuildOnEveryRank(qns_sim *sim, std::string &err)
{
    bool ok = QnsBuild(sim, err);
    if (QnsSimulatorIsDistributed() && qns_ranks_max(ok ? 0 : 1) != 0 && ok) {
        ok = false;
        err = "another rank could not build its part of the simulation (it says why)";
    }
    return ok;
}

/* Runs the built simulation for duration_ns, with FlowMonitor when the
 * configuration asks for it; interrupted when a stop or the end of a guest
 * ended it, judged when its guests' failures are news. */
static bool Simulate(qns_sim *sim, uint64_t duration_ns, FlowMonitorHelper &flowHelper,
                     std::string &err, bool &interrupted, bool &judged)
{
    Ptr<QnsGuestRun> run = sim->helper.GetRun();
    Ptr<QnsSyncScheduler> sched = run->GetScheduler();
    Ptr<FlowMonitor> flows;
    if (sim->cfg.flow_monitor) {
        flows = flowHelper.InstallAll();
    }
    Simulator::Stop(NanoSeconds(static_cast<int64_t>(duration_ns)));
    sched->SetRunEnd(NanoSeconds(static_cast<int64_t>(duration_ns)));
    Simulator::Run();
    std::string guestErr;
    bool guestsOk = run->Finish(guestErr);
    interrupted = run->Interrupted();
    if (sched->Failed()) {
        err = sched->GetError();
        ClosePcaps(sim, err);
        return false;
    }
    if (!ClosePcaps(sim, err) || !WriteFlows(sim, flows, err)) {
        return false;
    }
    /* A failed or stopped run has its own reason; what its guests had not
     * done yet is no further news. */
    judged = !interrupted;
    if (sim->progressFn != nullptr && !interrupted) {
        ReportProgress(sim, -1, 0.0);
    }
    if (!guestsOk) {
        err = guestErr;
        return false;
    }
    return true;
}

/* Guest number i's statistics (sim->stats[i]) from sync, the run's
 * synchronisation; its error when the run judged its guests. */
static void GatherGuestStats(qns_sim *sim, const qns_sync *sync, size_t i, bool judged)
{
    Ptr<QnsGuestRun> run = sim->helper.GetRun();
    qns_guest_stats &st = sim->stats[i];
    int gi = static_cast<int>(i), slot = run->GetSlot(gi);
    st.nic_count = sim->guests[i].nicCount;
    if (slot < 0 || slot >= qns_sync_guest_count(sync)) {
        return; /* it never started */
    }
    st.rounds = qns_sync_rounds(sync, slot);
    st.clock_us = qns_sync_clock_us(sync, slot);
    st.nic_started_us = qns_sync_opened_us(sync, slot);
    st.frames_unopened = qns_sync_frames_unopened(sync, slot);
    for (int n = 0; n < sim->guests[i].nicCount; n++) {
        Ptr<QnsBridge> b = run->GetBridge(gi, static_cast<uint32_t>(n));
        if (b) {
            st.frames_from_guest += b->GetFramesFromGuest();
            st.frames_to_guest += b->GetFramesToGuest();
            st.frames_too_long += b->GetFramesTooLong();
            st.nics[n].mtu = b->GetDeviceMtu();
            st.nics[n].frames_too_long = b->GetFramesTooLong();
        }
    }
    const qns_guest *proc = qns_sync_guest(sync, slot);
    st.done = qns_sync_guest_done(sync, slot);
    st.ended = qns_guest_ended(proc);
    st.exit_status = qns_guest_exit_status(proc);
    std::snprintf(st.console_path, sizeof(st.console_path), "%s", sim->guests[i].console.c_str());
    st.command_status = QnsReadConsole(sim->guests[i].console).commandStatus;
    if (judged) {
        std::snprintf(st.error, sizeof(st.error), "%s", run->GetGuestFailure(gi).c_str());
    }
}

/* What the run left: where and when it ended, its rounds, each guest's
 * statistics and the bytes each sink received. */
static void GatherResults(qns_sim *sim, bool judged)
{
    Ptr<QnsGuestRun> run = sim->helper.GetRun();
    Ptr<QnsSyncScheduler> sched = run->GetScheduler();
    sim->endNs = static_cast<uint64_t>(Simulator::Now().GetNanoSeconds());
    sim->stoppedBy = run->GetStopper();
    sim->rounds = sched->GetRounds();
    sim->late = sched->GetLateFrames();
    qns_guest_stats none = {};
    none.nic_started_us = -1;
    none.command_status = -1;
    sim->stats.assign(sim->guests.size(), none);
    for (size_t i = 0; i < sim->guests.size(); i++) {
        qns_guest_stats &st = sim->stats[i];
        const QnsGuestDesc &d = sim->guests[i];
        std::snprintf(st.snapshot_key, sizeof(st.snapshot_key), "%s", d.snapshotKey.c_str());
        std::snprintf(st.snapshot_stream_sha256, sizeof(st.snapshot_stream_sha256), "%s",
                      d.snapshotStreamSha.c_str());
        std::snprintf(st.snapshot_ram_sha256, sizeof(st.snapshot_ram_sha256), "%s",
                      d.snapshotRamSha.c_str());
        std::snprintf(st.snapshot_disk_sha256, sizeof(st.snapshot_disk_sha256), "%s",
                      d.snapshotDiskSha.c_str());
    }
    const qns_sync *sync = sched->GetSync();
    for (size_t i = 0; sync != nullptr && i < sim->guests.size(); i++) {
        GatherGuestStats(sim, sync, i, judged);
    }
    for (auto &app : sim->nodeApps) {
        if (app.sink) {
            app.rxBytes = app.sink->GetTotalRx();
            app.sink = nullptr;
        }
    }
}

extern "C" int qns_duration_check(uint64_t duration_ns, char *errbuf)
{
    if (duration_ns == 0) {
        QnsSetErr(errbuf, "duration must be more than 0");
        return -1;
    }
    if (duration_ns > QNS_MAX_DURATION_NS) {
        QnsSetErr(errbuf,
                  "duration " + std::to_string(duration_ns) +
                      " ns is more than a run can last (at most 100 years of virtual time)");
        return -1;
    }
    return 0;
}

extern "C" int qns_sim_run(qns_sim *sim, uint64_t duration_ns, char *errbuf)
{
    if (qns_duration_check(duration_ns, errbuf) < 0) {
        return -1;
    }
    if (sim->ran) {
        QnsSetErr(errbuf, "a simulation runs once; create another for another run");
        return -1;
    }
    sim->ran = true;
    SetUpSimulator(sim);

    Ptr<QnsGuestRun> run = sim->helper.GetRun();
    Ptr<QnsSyncScheduler> sched = run->GetScheduler();
    std::string err;
    sim->durationNs = duration_ns;
    if (qns_sim_ranks_check(sim, qns_ranks(), errbuf) < 0) {
        return -1;
    }
    if (qns_sim_rank_count(sim) > 1) {
        /* A split run ends where it ends across ranks, in one process too. */
        sched->SetAttribute("SplitLookahead",
                            TimeValue(NanoSeconds(static_cast<int64_t>(QnsCrossRankDelayNs(sim)))));
    }
    clock_gettime(CLOCK_MONOTONIC, &sim->start);
    if (sim->progressFn != nullptr) {
        sched->SetProgress(ReportProgress, sim, sim->progressMs);
    }
    bool ok = BuildOnEveryRank(sim, err);
    bool interrupted = false, judged = false;
    FlowMonitorHelper flowHelper;
    if (ok) {
        ok = Simulate(sim, duration_ns, flowHelper, err, interrupted, judged);
    } else {
        std::string ignored;
        run->Finish(ignored);
        ClosePcaps(sim, err);
    }
    GatherResults(sim, judged);
    Simulator::Destroy();
    sched->Dispose();
    Names::Clear();
    if (!ok) {
        QnsSetErr(errbuf, err);
        return -1;
    }
    return interrupted ? 1 : 0;
}
