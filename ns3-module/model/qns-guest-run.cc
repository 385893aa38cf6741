/*
 * QnsGuestRun - the guests of one simulation and their scheduler.
 */
#include "qns-guest-run.h"

#include "qns-guest-outcome.h"
#include "qns-guest-port.h"

#include "ns3/boolean.h"
#include "ns3/global-value.h"
#include "ns3/ipv4.h"
#include "ns3/log.h"
#include "ns3/rng-seed-manager.h"
#include "ns3/simulator.h"
#include "ns3/uinteger.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("QnsGuestRun");
NS_OBJECT_ENSURE_REGISTERED(QnsGuestRun);

namespace
{

/* A guest's device is on a ghost node: the guest is the host there, and the
 * node has no IPv4 interface on the device. False with what to do in err. */
bool GhostNodeCheck(Ptr<NetDevice> device, std::string &err)
{
    Ptr<Ipv4> ip = device->GetNode()->GetObject<Ipv4>();
    int32_t i = ip ? ip->GetInterfaceForDevice(device) : -1;
    if (i < 0) {
        return true;
    }
    std::string address;
    for (uint32_t a = 0; a < ip->GetNAddresses(static_cast<uint32_t>(i)); a++) {
        Ipv4InterfaceAddress ifa = ip->GetAddress(static_cast<uint32_t>(i), a);
        std::ostringstream os;
        os << ifa.GetLocal() << "/" << static_cast<int>(ifa.GetMask().GetPrefixLength());
        address += (address.empty() ? " " : ", ") + os.str();
    }
    err = "the device's node runs IPv4 on it" +
          (address.empty() ? "" : " (" + address.substr(1) + ")") +
          ", but on this device the guest is the host: give the address to the guest (the ipv4 "
          "of QnsHelper::CreateGuest, or QnsGuest::AddNic) instead of assigning it to the device "
          "(Ipv4AddressHelper::Assign), so that the device's node is a ghost node without an IPv4 "
          "interface on it";
    return false;
}

} // namespace

TypeId QnsGuestRun::GetTypeId()
{
    static TypeId tid = TypeId("ns3::QnsGuestRun")
                            .SetParent<Object>()
                            .SetGroupName("Qns")
                            .AddConstructor<QnsGuestRun>();
    return tid;
}

QnsGuestRun::QnsGuestRun()
    : m_outDir("."), m_capture(true), m_scheduled(false), m_started(false), m_distributed(false),
      m_localGuests(0), m_finished(false), m_checked(false), m_ok(true)
{
    NS_LOG_FUNCTION(this);
    /* With the attributes' defaults, which the program may have set
     * (Config::SetDefault, CommandLine's --ns3::QnsSyncScheduler::...). */
    m_sched = CreateObject<QnsSyncScheduler>();
}

QnsGuestRun::~QnsGuestRun()
{
    NS_LOG_FUNCTION(this);
}

Ptr<QnsSyncScheduler> QnsGuestRun::GetScheduler() const
{
    NS_LOG_FUNCTION(this);
    return m_sched;
}

void QnsGuestRun::SetOutputDirectory(const std::string &dir)
{
    NS_LOG_FUNCTION(this << dir);
    m_outDir = dir.empty() ? "." : dir;
}

void QnsGuestRun::SetGuestSeed(uint32_t seed)
{
    m_guestSeed = seed;
}

void QnsGuestRun::SetCapture(bool on)
{
    NS_LOG_FUNCTION(this << on);
    m_capture = on;
}

const std::vector<Ptr<QnsGuest>> &QnsGuestRun::GetGuests() const
{
    NS_LOG_FUNCTION(this);
    return m_guests;
}

Ptr<QnsBridge> QnsGuestRun::GetBridge(int guest, uint32_t nic) const
{
    NS_LOG_FUNCTION(this << guest << nic);
    for (const auto &n : m_nics) {
        if (n.guest == guest && n.nic == nic) {
            return n.bridge;
        }
    }
    return nullptr;
}

bool QnsGuestRun::CheckSimulator(std::string &err) const
{
    BooleanValue checksums;
    GlobalValue::GetValueByName("ChecksumEnabled", checksums);
    if (!checksums.Get()) {
        err = "ns-3's checksums are off: its nodes would send IPv4, UDP and TCP with zero "
              "checksums, which guests drop; GlobalValue::Bind(\"ChecksumEnabled\", "
              "BooleanValue(true)) first";
        return false;
    }
    if (Time::GetResolution() < Time::NS) { /* Unit runs from years down to fs */
        err = "the simulator's time resolution is coarser than nanoseconds; frames cross the "
              "bridge at exact nanoseconds (Time::SetResolution(Time::NS))";
        return false;
    }
    if (!QnsSyncScheduler::CheckQuantum(m_sched->GetQuantum(), err)) {
        return false;
    }
    if (m_started || m_finished || Simulator::Now().IsStrictlyPositive()) {
        err = "guests are installed before Simulator::Run";
        return false;
    }
    return true;
}

bool QnsGuestRun::InstallCheck(Ptr<QnsGuest> guest, uint32_t nic, Ptr<NetDevice> device,
                               std::string &err)
{
    if (!guest || !device || !device->GetNode()) {
        err = !guest ? "no guest to install" : "the device to bridge is not on a node";
        return false;
    }
    if (!CheckSimulator(err)) {
        return false;
    }
    m_distributed = QnsSimulatorIsDistributed();
    if (!guest->IsPrepared() && !AddGuest(guest, err)) {
        return false;
    }
    if (guest->GetIndex() >= static_cast<int>(m_guests.size()) ||
        m_guests[static_cast<size_t>(guest->GetIndex())] != guest) {
        err = "guest " + guest->GetName() + " belongs to another simulation";
        return false;
    }
    const std::string who = "guest " + guest->GetName() + " NIC " + std::to_string(nic);
    if (nic >= guest->GetNicCount()) {
        err = "guest " + guest->GetName() + " has no NIC " + std::to_string(nic) + " (it has " +
              std::to_string(guest->GetNicCount()) + "; QnsGuest::AddNic adds one)";
        return false;
    }
    if (GetBridge(guest->GetIndex(), nic)) {
        err = who + " is installed already";
        return false;
    }
    if (!GhostNodeCheck(device, err)) {
        err = who + ": " + err;
        return false;
    }
    return true;
}

bool QnsGuestRun::PlaceOnRank(size_t gi, int32_t rank, const std::string &who, std::string &err)
{
    if (m_ranks[gi] >= 0 && m_ranks[gi] != rank) {
        err = who + ": its device is on a node of rank " + std::to_string(rank) +
              ", another NIC's on one of rank " + std::to_string(m_ranks[gi]) +
              "; a guest runs on one rank";
        return false;
    }
    m_ranks[gi] = rank;
    return true;
}

Ptr<QnsBridge> QnsGuestRun::Install(Ptr<QnsGuest> guest, uint32_t nic, Ptr<NetDevice> device,
                                    const ObjectFactory &bridgeFactory, std::string &err)
{
    NS_LOG_FUNCTION(this << guest << nic << device);
    if (!InstallCheck(guest, nic, device, err)) {
        return nullptr;
    }
    const std::string who = "guest " + guest->GetName() + " NIC " + std::to_string(nic);
    Ptr<Node> node = device->GetNode();
    const size_t gi = static_cast<size_t>(guest->GetIndex());
    const int32_t rank = static_cast<int32_t>(node->GetSystemId());
    if (!PlaceOnRank(gi, rank, who, err)) {
        return nullptr;
    }
    /* Every rank makes the same objects (the whole topology is built on
     * each), but only the guest's own rank connects its bridges, captures
     * its frames and runs its QEMU. */
    bool local = !m_distributed || static_cast<uint32_t>(rank) == Simulator::GetSystemId();
    if (local && m_slots[gi] < 0) {
        m_slots[gi] = m_localGuests++;
    }
    Ptr<QnsBridge> b = bridgeFactory.Create<QnsBridge>();
    node->AddDevice(b);
    b->SetAddress(Mac48Address(guest->GetMac(nic).c_str()));
    std::string e;
    if (local && (!QnsConnectGuestNic(m_sched, m_slots[gi], static_cast<int>(nic), b, device, e) ||
                  (m_capture && !b->EnableCapture(m_outDir + "/" + guest->GetName() + "-nic" +
                                                      std::to_string(nic) + ".pcap",
                                                  e)))) {
        err = who + ": " + e;
        return nullptr;
    }
    m_nics.push_back(Nic{guest->GetIndex(), nic, b});
    const Address deviceAddress = device->GetAddress();
    NS_LOG_INFO(who << " is bridged onto " << device->GetInstanceTypeId().GetName() << " "
                    << deviceAddress << " of node " << node->GetId() << " (rank " << rank
                    << (local ? "" : ", another rank's") << ")");
    ScheduleStart();
    return b;
}

int QnsGuestRun::GetSlot(int guest) const
{
    NS_LOG_FUNCTION(this << guest);
    return guest >= 0 && guest < static_cast<int>(m_slots.size())
               ? m_slots[static_cast<size_t>(guest)]
               : -1;
}

void QnsGuestRun::ScheduleStart()
{
    NS_LOG_FUNCTION(this);
    if (!m_scheduled) {
        m_scheduled = true;
        Simulator::ScheduleNow(&QnsGuestRun::StartGuests, Ptr<QnsGuestRun>(this));
        Simulator::ScheduleDestroy(&QnsGuestRun::OnDestroy, Ptr<QnsGuestRun>(this));
    }
}

bool QnsGuestRun::AddGuest(Ptr<QnsGuest> guest, std::string &err)
{
    NS_LOG_FUNCTION(this << guest);
    if (guest->IsPrepared()) {
        err = "guest " + guest->GetName() + " is in a simulation already";
        return false;
    }
    if (m_started || m_finished || Simulator::Now().IsStrictlyPositive()) {
        err = "guests are added before Simulator::Run";
        return false;
    }
    int index = static_cast<int>(m_guests.size());
    uint32_t seed = m_guestSeed != 0 ? m_guestSeed : RngSeedManager::GetSeed();
    if (!guest->Prepare(index, seed, m_sched->GetSpinUs(), m_outDir, err)) {
        return false;
    }
    for (const auto &g : m_guests) {
        if (g->GetName() == guest->GetName()) {
            err = "guest " + guest->GetName() + " is defined twice";
            return false;
        }
    }
    m_guests.push_back(guest);
    m_failures.emplace_back();
    m_ranks.push_back(-1);
    m_slots.push_back(-1);
    return true;
}

void QnsGuestRun::StartGuests()
{
    m_started = true;
    /* A guest without NICs runs on rank 0. */
    for (size_t i = 0; i < m_guests.size(); i++) {
        if (m_ranks[i] < 0 && (!m_distributed || Simulator::GetSystemId() == 0)) {
            m_slots[i] = m_localGuests++;
        }
    }
    /* First, so that every rank has its control node whatever happens next. */
    SetUpRankEnd();
    std::vector<Ptr<QnsGuest>> local(static_cast<size_t>(m_localGuests));
    for (size_t i = 0; i < m_guests.size(); i++) {
        if (m_slots[i] >= 0) {
            local[static_cast<size_t>(m_slots[i])] = m_guests[i];
        }
    }
    for (const auto &g : local) {
        const QnsGuestDesc &d = g->GetDescription();
        std::vector<const char *> argv;
        for (const auto &a : d.argv) {
            argv.push_back(a.c_str());
        }
        argv.push_back(nullptr);
        qns_guest_spec spec = {};
        spec.name = d.name.c_str();
        spec.argv = argv.data();
        spec.nic_count = d.nicCount;
        spec.console_path = d.console.c_str();
        spec.horizon = d.horizon ? 1 : 0;
        spec.snapshot_path = d.snapshotStream.empty() ? nullptr : d.snapshotStream.c_str();
        int gi = m_sched->AddGuest(spec);
        if (gi != m_slots[static_cast<size_t>(g->GetIndex())]) {
            NS_LOG_ERROR(m_sched->GetError());
            StopStart();
            return;
        }
        NS_LOG_INFO("guest " << d.name << " started (" << d.nicCount << " NICs, console "
                             << d.console << (d.endsRun ? ", ends the run" : "") << ")");
        if (d.endsRun) {
            m_sched->EndRunWithGuest(gi);
        }
    }
    for (const auto &n : m_nics) {
        int slot = m_slots[static_cast<size_t>(n.guest)];
        if (slot >= 0 && !m_sched->Attach(slot, static_cast<int>(n.nic), n.bridge)) {
            StopStart();
            return;
        }
    }
    m_sched->Start();
}

/* The guests could not start here: this rank stops, and the others soon
 * (with rounds agreed across ranks, all at the end they agree on). */
void QnsGuestRun::StopStart()
{
    if (m_sched->GetRankEnd()) {
        m_sched->GetRankEnd()->Abort(true);
    }
    if (m_distributed && m_sched->RoundsAgreed()) {
        m_sched->StartHalted();
        return;
    }
    Simulator::Stop();
}

/* Across ranks, or for a one-process run of a split simulation
 * (SplitLookahead), the run ends where QnsRankEnd says. */
void QnsGuestRun::SetUpRankEnd()
{
    Time lookahead = m_sched->GetSplitLookahead();
    if (m_distributed && lookahead.IsZero()) {
        lookahead = QnsRankEnd::CrossRankDelay();
    }
    if (!m_distributed && !lookahead.IsStrictlyPositive()) {
        return;
    }
    if (lookahead.IsZero()) {
        lookahead = m_sched->GetQuantum();
    }
    std::set<uint32_t> ending;
    for (size_t i = 0; i < m_guests.size(); i++) {
        if (m_guests[i]->GetDescription().endsRun) {
            ending.insert(m_ranks[i] < 0 ? 0u : static_cast<uint32_t>(m_ranks[i]));
        }
    }
    Ptr<QnsRankEnd> end = CreateObject<QnsRankEnd>();
    end->Setup(m_sched->GetQuantum(), lookahead, ending, m_distributed);
    end->SetStopsRun(m_localGuests == 0);
    m_sched->SetRankEnd(end);
}

bool QnsGuestRun::Finish(std::string &err)
{
    NS_LOG_FUNCTION(this);
    m_checked = true;
    if (m_finished) {
        err = m_error;
        return m_ok;
    }
    m_finished = true;
    m_sched->Finish();
    std::string why;
    Ptr<QnsRankEnd> rankEnd = m_sched->GetRankEnd();
    const bool byOther = StoppedByAnotherRank();
    if (m_sched->Failed()) {
        why = m_sched->GetError();
    } else if (byOther && rankEnd->StopperFailed()) {
        /* What its guests had not done yet is no news: that rank says why. */
        why = "rank " + std::to_string(rankEnd->GetStopper()) + " failed, which ended the run at " +
              std::to_string(rankEnd->GetEndUs()) + " us";
    } else if (!Interrupted()) {
        const qns_sync *sync = m_sched->GetSync();
        uint64_t endNs = static_cast<uint64_t>(Simulator::Now().GetNanoSeconds());
        for (size_t i = 0; sync != nullptr && i < m_guests.size(); i++) {
            int slot = m_slots[i];
            if (slot < 0 || slot >= qns_sync_guest_count(sync)) {
                continue; /* another rank's */
            }
            const QnsGuestDesc &d = m_guests[i]->GetDescription();
            const qns_guest *proc = qns_sync_guest(sync, slot);
            char tail[QNS_ERRBUF_SIZE / 2];
            qns_guest_console_tail(proc, 3, tail, sizeof(tail));
            m_failures[i] = QnsGuestFailure(d, QnsReadConsole(d.console),
                                            qns_sync_guest_done(sync, slot) != 0, endNs, tail);
            if (why.empty()) {
                why = m_failures[i];
            }
        }
    }
    m_ok = why.empty();
    m_error = why;
    err = why;
    NS_LOG_INFO("the run " << (m_ok ? "succeeded" : "failed: " + why));
    return m_ok;
}

bool QnsGuestRun::Interrupted() const
{
    NS_LOG_FUNCTION(this);
    return m_sched->Interrupted() ||
           (StoppedByAnotherRank() && !m_sched->GetRankEnd()->StopperFailed());
}

int32_t QnsGuestRun::GetStopper() const
{
    NS_LOG_FUNCTION(this);
    Ptr<QnsRankEnd> rankEnd = m_sched->GetRankEnd();
    return rankEnd ? rankEnd->GetStopper() : -1;
}

bool QnsGuestRun::StoppedByAnotherRank() const
{
    int32_t stopper = GetStopper();
    return stopper >= 0 &&
           static_cast<uint32_t>(stopper) != (m_distributed ? Simulator::GetSystemId() : 0u);
}

std::string QnsGuestRun::GetGuestFailure(int guest) const
{
    NS_LOG_FUNCTION(this << guest);
    return guest >= 0 && guest < static_cast<int>(m_failures.size())
               ? m_failures[static_cast<size_t>(guest)]
               : "";
}

void QnsGuestRun::OnDestroy()
{
    bool asked = m_checked;
    std::string err;
    if (!Finish(err) && !asked) {
        std::fprintf(stderr, "qns: the run failed: %s\n", err.c_str());
        std::fflush(nullptr);
        std::exit(1);
    }
}

void QnsGuestRun::DoDispose()
{
    NS_LOG_FUNCTION(this);
    m_nics.clear();
    m_guests.clear();
    if (m_sched) {
        m_sched->Dispose();
        m_sched = nullptr;
    }
    Object::DoDispose();
}

} // namespace ns3
