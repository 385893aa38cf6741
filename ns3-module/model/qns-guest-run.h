/*
 * QnsGuestRun - the guests of one simulation and the round scheduler that
 * runs them: what QnsHelper installs into. It prepares each guest as it is
 * installed, connects each guest NIC's bridge to its device, starts the
 * guests' QEMUs and the rounds when the simulation starts (time 0), and once
 * the run is over judges each guest's part (its console and how it ended).
 *
 * The user's program owns the simulator: it sets seeds, checksums and
 * Simulator::Stop, and calls Simulator::Run and Destroy. What qns needs of
 * that state it checks when a guest is installed, and says so:
 * GlobalValue ChecksumEnabled on (ns-3 nodes otherwise send IPv4, UDP and
 * TCP with zero checksums, which guests drop) and a time resolution of
 * nanoseconds or finer. Guest RNG seeds follow RngSeedManager's seed.
 *
 * Across MPI ranks (ns-3's DistributedSimulatorImpl or
 * NullMessageSimulatorImpl), every rank builds the whole topology and
 * installs every guest, as ns-3 wants; a guest runs on the rank of its
 * devices' node (its ghost node's system id), where its QEMU starts and its
 * console and captures are written; Finish judges this rank's guests.
 *
 * A program that never asks Finish() whether the run succeeded is told at
 * Simulator::Destroy: when the run failed, qns prints why on stderr and the
 * process exits with status 1, so a failure never passes for success.
 */
#ifndef QNS_GUEST_RUN_H
#define QNS_GUEST_RUN_H

#include "qns-bridge.h"
#include "qns-guest.h"
#include "qns-sync-scheduler.h"

#include "ns3/object-factory.h"

#include <set>
#include <string>
#include <vector>

namespace ns3
{

class QnsGuestRun : public Object
{
public:
    static TypeId GetTypeId();
    QnsGuestRun();
    ~QnsGuestRun() override;

    /* The scheduler, made with its attributes' defaults (adaptive rounds,
     * a 10 us quantum and a 60 s watchdog, unless the program set others
     * with Config::SetDefault or on its command line); set its attributes
     * before the first Install. */
    Ptr<QnsSyncScheduler> GetScheduler() const;
    /* Consoles and guest-side captures go to this folder (default "."). */
    void SetOutputDirectory(const std::string &dir);
    /* Guest-side captures DIR/NAME-nicN.pcap of every guest NIC (default on). */
    void SetCapture(bool on);

    /* The seed guest k's RNG gets seed + k from (QEMU's -seed); 0 (the
     * default): RngSeedManager's seed when the guest is added. */
    void SetGuestSeed(uint32_t seed);

    /* Makes the guest the next of this simulation (Install does it for a
     * guest it has not seen): prepares it (QnsGuest::Prepare) with the
     * guest seed. False with the reason in err. */
    bool AddGuest(Ptr<QnsGuest> guest, std::string &err);

    /* Bridges guest NIC `nic` onto `device`: the device's node becomes the
     * guest's ghost node (it must not run IPv4 on the device) and gets a
     * QnsBridge made by `bridgeFactory`. Before Simulator::Run only. The
     * bridge, or null with the reason in err. */
    Ptr<QnsBridge> Install(Ptr<QnsGuest> guest, uint32_t nic, Ptr<NetDevice> device,
                           const ObjectFactory &bridgeFactory, std::string &err);

    /* Has the guests start when the simulation does (Install calls it; a
     * program whose guests have no NIC calls it before Simulator::Run). */
    void ScheduleStart();

    const std::vector<Ptr<QnsGuest>> &GetGuests() const;
    /* Guest number `guest`'s number in the scheduler (its index in
     * qns_sync), -1 when it runs on another MPI rank. Known once the guest is
     * installed (a guest without NICs: once the run has started). */
    int GetSlot(int guest) const;
    /* The bridge of guest number `guest`'s NIC `nic`, null when none. */
    Ptr<QnsBridge> GetBridge(int guest, uint32_t nic) const;

    /* After Simulator::Run: ends the guests and completes their captures,
     * then judges the run. True when it succeeded (or was interrupted:
     * Interrupted()); false with the first reason in err (the scheduler's,
     * or the first guest's failure). Runs once; later calls answer the same. */
    bool Finish(std::string &err);
    /* Stopped: by the scheduler's stop, or by another rank's. */
    bool Interrupted() const;
    /* Across ranks: the rank whose failure or stop ended the run, -1 when
     * none did (it ended as it should). */
    int32_t GetStopper() const;
    /* After Finish: why guest number `guest` failed the run, "" if it did not. */
    std::string GetGuestFailure(int guest) const;

protected:
    void DoDispose() override;

private:
    struct Nic {
        int guest;
        uint32_t nic;
        Ptr<QnsBridge> bridge;
    };
    bool CheckSimulator(std::string &err) const;
    /* Install's checks before it makes anything: the guest (added now if
     * it is new) is this simulation's and has NIC nic, not installed yet,
     * on a device whose node can be its ghost node. */
    bool InstallCheck(Ptr<QnsGuest> guest, uint32_t nic, Ptr<NetDevice> device, std::string &err);
    /* Guest gi runs on rank, its devices' nodes' (one rank for all its NICs). */
    bool PlaceOnRank(size_t gi, int32_t rank, const std::string &who, std::string &err);
    void StartGuests();
    void SetUpRankEnd();
    void StopStart();
    bool StoppedByAnotherRank() const;
    void OnDestroy();

    Ptr<QnsSyncScheduler> m_sched;
    std::vector<Ptr<QnsGuest>> m_guests;
    std::vector<Nic> m_nics;
    std::vector<std::string> m_failures;
    std::string m_outDir;
    uint32_t m_guestSeed = 0;
    bool m_capture;
    bool m_scheduled;
    bool m_started;
    bool m_distributed;           /* across MPI ranks */
    int m_localGuests;            /* guests of this rank */
    std::vector<int32_t> m_ranks; /* each guest's rank (its nodes'); -1: none yet */
    std::vector<int> m_slots;     /* each guest's number in the scheduler; -1: another rank's */
    bool m_finished;
    bool m_checked;
    bool m_ok;
    std::string m_error;
};

} // namespace ns3

#endif
