/*
 * qns-api.cc - the C API (qns.h) over the ns-3 module: guests are QnsGuest
 * objects of one QnsGuestRun; at run time it builds the ns-3 topology, puts
 * the guests on their devices with QnsHelper, runs the simulator (which
 * starts the guests) and collects results.
 */
#include "qns.h"

#include "qns-address.h"
#include "qns-guest-image.h"
#include "qns-guest-outcome.h"
#include "qns-guest-port.h"
#include "qns-helper.h"
#include "qns-wifi.h"

#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/csma-module.h"
#include "ns3/flow-monitor-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"

#include <glib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace ns3;

namespace
{

struct Member {
    bool isGuest;
    int guest;
    int nic;
    uint64_t latencyNs;
    int node;
    std::string ipv4;
};

struct LinkDesc {
    qns_link_config cfg; /* its strings are NULL: WifiConfig gives them */
    std::string name;
    std::vector<Member> members;
    std::string wifiMode, standard, rateManager, wifiRate;
    bool hasWifiMode = false, hasStandard = false, hasRateManager = false, hasWifiRate = false;
};

/* The link's configuration with its Wi-Fi strings, valid while l is. */
qns_link_config WifiConfig(const LinkDesc &l)
{
    qns_link_config c = l.cfg;
    c.wifi_mode = l.hasWifiMode ? l.wifiMode.c_str() : nullptr;
    c.standard = l.hasStandard ? l.standard.c_str() : nullptr;
    c.rate_manager = l.hasRateManager ? l.rateManager.c_str() : nullptr;
    c.wifi_rate = l.hasWifiRate ? l.wifiRate.c_str() : nullptr;
    return c;
}

struct RouteDesc {
    int node;
    std::string destination, gatewayText; /* as given, for messages */
    Ipv4Address network;
    Ipv4Mask mask;
    Ipv4Address gateway;
};

struct AppDesc {
    bool server;
    int node;
    uint16_t port;
    std::string server_ip;
    uint32_t count;
    uint64_t interval;
    uint32_t size;
    uint64_t start;
};

/* A PacketSink or BulkSend application; its strings are copies. */
struct NodeApp {
    int node;
    qns_app_config cfg; /* its strings are NULL: protocol and remote are */
    std::string protocol, remote;
    Ptr<PacketSink> sink; /* during a run */
    uint64_t rxBytes = 0;
};

void SetErr(char *errbuf, const std::string &msg)
{
    if (errbuf != nullptr) {
        std::snprintf(errbuf, QNS_ERRBUF_SIZE, "%s", msg.c_str());
    }
}

/* The host part of "A.B.C.D/P", for comparing members of one link. */
std::string HostOf(const std::string &cidr)
{
    return cidr.substr(0, cidr.find('/'));
}

} // namespace

struct qns_sim {
    qns_sim_config cfg;
    std::string outDir;
    std::string qemu;
    std::string guestDir;
    QnsHelper helper;                    /* its run holds the guests and the scheduler */
    std::vector<QnsGuestDesc> guests;    /* what each guest was prepared as */
    std::vector<std::vector<const char *>> argvs;
    std::vector<std::vector<const char *>> fileLists; /* qns_sim_guest_files' */
    std::vector<std::string> nodeNames;
    std::vector<uint32_t> nodeRanks;  /* each node's MPI rank */
    std::vector<uint32_t> guestRanks; /* each guest's */
    std::vector<LinkDesc> links;
    std::vector<AppDesc> apps;
    std::vector<NodeApp> nodeApps;
    std::vector<RouteDesc> routes;
    std::vector<qns_guest_stats> stats;
    /* ns-3's own captures of this run, checked once it ends */
    std::vector<std::pair<std::string, Ptr<PcapFileWrapper>>> pcaps;
    uint64_t rounds = 0;
    uint64_t late = 0;
    uint64_t endNs = 0;
    int32_t stoppedBy = -1;
    bool ran = false;
    qns_progress_fn progressFn = nullptr;
    void *progressCtx = nullptr;
    uint32_t progressMs = 1000;
    /* during a run */
    uint64_t durationNs = 0;
    struct timespec start = {};
    /* qns_sim_request_stop writes to [1]; every wait of the run polls [0] */
    int stopPipe[2] = {-1, -1};
};

/* ns-3's promiscuous pcap of each device, as the helpers' EnablePcap
 * writes it (same file names), but with the file kept to check it. */
template <typename Device>
static void CapturePromiscuous(qns_sim *sim, const NetDeviceContainer &devs,
                               const std::string &prefix, PcapHelper::DataLinkType dlt)
{
    PcapHelper helper;
    for (uint32_t i = 0; i < devs.GetN(); i++) {
        Ptr<Device> dev = devs.Get(i)->GetObject<Device>();
        if (dev->GetNode()->GetSystemId() != Simulator::GetSystemId()) {
            continue; /* another rank's device: that rank captures it */
        }
        std::string name = helper.GetFilenameFromDevice(prefix, dev);
        Ptr<PcapFileWrapper> file = helper.CreateFile(name, std::ios::out, dlt);
        helper.HookDefaultSink<Device>(dev, "PromiscSniffer", file);
        sim->pcaps.emplace_back(name, file);
    }
}

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

extern "C" {

/* qns_sim_config_check, and the guest image folder guest_image names. */
static bool CheckConfig(const qns_sim_config *config, std::string &imageDir, std::string &err)
{
    if (config == nullptr) {
        return true;
    }
    char e[QNS_ERRBUF_SIZE];
    if (qns_sync_spin_check(config->spin_us, config->pin, e) < 0) {
        err = e;
        return false;
    }
    if (config->guest_image && !QnsGuestImageDir(config->guest_image, imageDir, err)) {
        return false;
    }
    if (config->watchdog_ms != QNS_WATCHDOG_NONE && config->watchdog_ms > INT_MAX) {
        err = "watchdog_ms " + std::to_string(config->watchdog_ms) + " is above " +
              std::to_string(INT_MAX) + " (QNS_WATCHDOG_NONE for no watchdog)";
        return false;
    }
    return true;
}

int qns_sim_config_check(const qns_sim_config *config, char *errbuf)
{
    std::string imageDir, err;
    if (!CheckConfig(config, imageDir, err)) {
        SetErr(errbuf, err);
        return -1;
    }
    return 0;
}

qns_sim *qns_sim_new(const qns_sim_config *config, char *errbuf)
{
    std::string imageDir, err;
    if (!CheckConfig(config, imageDir, err)) {
        SetErr(errbuf, err);
        return nullptr;
    }
    int stopPipe[2];
    if (pipe2(stopPipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        SetErr(errbuf, std::string("cannot create the stop pipe: ") + std::strerror(errno));
        return nullptr;
    }
    if (stopPipe[0] == 0) {
        /* stdin was closed; descriptor 0 means "no stop descriptor" below */
        int fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
        close(0);
        if (fd < 0) {
            close(stopPipe[1]);
            SetErr(errbuf, std::string("cannot move the stop pipe: ") + std::strerror(errno));
            return nullptr;
        }
        stopPipe[0] = fd;
    }
    auto sim = new qns_sim();
    sim->stopPipe[0] = stopPipe[0];
    sim->stopPipe[1] = stopPipe[1];
    if (config != nullptr) {
        sim->cfg = *config;
    } else {
        std::memset(&sim->cfg, 0, sizeof(sim->cfg));
    }
    if (sim->cfg.quantum_us == 0) {
        sim->cfg.quantum_us = QNS_QUANTUM_US_DEFAULT;
    }
    if (sim->cfg.seed == 0) {
        sim->cfg.seed = 1;
    }
    if (sim->cfg.watchdog_ms == 0) {
        sim->cfg.watchdog_ms = QNS_WATCHDOG_DEFAULT_MS;
    } else if (sim->cfg.watchdog_ms == QNS_WATCHDOG_NONE) {
        sim->cfg.watchdog_ms = 0; /* the scheduler's "no bound" */
    }
    sim->outDir = sim->cfg.out_dir ? sim->cfg.out_dir : ".";
    sim->qemu = sim->cfg.qemu && *sim->cfg.qemu ? sim->cfg.qemu : QnsInstalledQemu();
    sim->guestDir = !imageDir.empty()                           ? imageDir
                    : sim->cfg.guest_dir && *sim->cfg.guest_dir ? sim->cfg.guest_dir
                                                                : QnsInstalledGuestDir();
    sim->cfg.out_dir = nullptr;
    sim->cfg.qemu = nullptr;
    sim->cfg.guest_dir = nullptr;
    sim->cfg.guest_image = nullptr;
    sim->cfg.watchdog_off = nullptr;
    sim->helper.SetOutputDirectory(sim->outDir);
    sim->helper.SetSchedulerAttribute("Quantum", TimeValue(MicroSeconds(sim->cfg.quantum_us)));
    sim->helper.SetSchedulerAttribute("WatchdogMs", UintegerValue(sim->cfg.watchdog_ms));
    sim->helper.SetSchedulerAttribute(
        "WatchdogOff",
        StringValue(config && config->watchdog_off
                        ? config->watchdog_off
                        : "set watchdog_ms to QNS_WATCHDOG_NONE in qns_sim_config"));
    sim->helper.SetSchedulerAttribute("SpinUs", UintegerValue(sim->cfg.spin_us));
    sim->helper.SetSchedulerAttribute("Pin", BooleanValue(sim->cfg.pin != 0));
    sim->helper.SetSchedulerAttribute("Adaptive",
                                      BooleanValue(sim->cfg.rounds != QNS_ROUNDS_FIXED));
    sim->helper.GetScheduler()->SetStopFd(sim->stopPipe[0]);
    sim->helper.GetRun()->SetGuestSeed(sim->cfg.seed);
    return sim;
}

int qns_guest_image_dir(const char *key, char *dir, size_t size, char *errbuf)
{
    std::string d, err;
    if (!QnsGuestImageDir(key, d, err)) {
        SetErr(errbuf, err);
        return -1;
    }
    if (d.size() + 1 > size) {
        SetErr(errbuf, "guest image folder " + d + " is longer than " + std::to_string(size) +
                           " bytes");
        return -1;
    }
    std::memcpy(dir, d.c_str(), d.size() + 1);
    return 0;
}

/* What a config describes, over spec (the attribute defaults): the C API's
 * one way into the model's description of a guest. False with err only for
 * what a C array cannot be (a negative NIC count); QnsGuestSpecCheck checks
 * the rest when the guest is added. */
static bool SpecFromConfig(const qns_sim *sim, const qns_guest_config &c, const std::string &name,
                           QnsGuestSpec &spec, std::string &err)
{
    auto text = [](const char *v) { return v ? std::string(v) : std::string(); };
    auto words = [](const char *const *v) {
        std::vector<std::string> w;
        for (const char *const *p = v; p && *p; p++) {
            w.emplace_back(*p);
        }
        return w;
    };
    if (c.nic_count < 0) {
        err = "guest " + name + ": nic_count " + std::to_string(c.nic_count) + " is negative";
        return false;
    }
    spec.name = text(c.name);
    spec.qemu = sim->qemu;
    spec.guestDir = sim->guestDir;
    spec.kernel = text(c.kernel);
    spec.initrd = text(c.initrd);
    spec.append = text(c.append);
    spec.kernelArgs = text(c.kernel_args);
    spec.disk = text(c.disk);
    spec.diskBacking = words(c.disk_backing);
    spec.memoryMb = c.memory_mb;
    spec.command = text(c.command);
    spec.services = text(c.services);
    spec.files = words(c.files);
    spec.extraArgs = words(c.extra_args);
    spec.hasProgram = c.program != nullptr;
    spec.program = words(c.program);
    spec.endsRun = c.ends_run != 0;
    spec.agent = c.agent != 0;
    /* More than the array holds: as many default NICs, which the check refuses. */
    spec.nics.assign(static_cast<size_t>(c.nic_count), QnsNicSpec());
    for (int i = 0; i < c.nic_count && i < QNS_MAX_NICS; i++) {
        const qns_nic_config &n = c.nics[i];
        spec.nics[static_cast<size_t>(i)] = {
            text(n.ipv4), text(n.mac),
            n.model == QNS_NIC_E1000 ? QnsNicModel::E1000 : QnsNicModel::Virtio};
    }
    return true;
}

int qns_sim_add_guest(qns_sim *sim, const qns_guest_config *guest, char *errbuf)
{
    std::string err;
    const std::string name =
        guest->name ? guest->name : "guest" + std::to_string(sim->guests.size());
    Ptr<QnsGuest> g = CreateObject<QnsGuest>();
    QnsGuestSpec spec = g->GetSpec();
    if (!SpecFromConfig(sim, *guest, name, spec, err)) {
        SetErr(errbuf, err);
        return -1;
    }
    g->SetSpec(spec);
    if (guest->rank > QNS_MAX_RANK) {
        SetErr(errbuf, "guest " + name + ": rank " + std::to_string(guest->rank) +
                           " is above " + std::to_string(QNS_MAX_RANK));
        return -1;
    }
    if (!sim->helper.GetRun()->AddGuest(g, err)) {
        SetErr(errbuf, err);
        return -1;
    }
    sim->guests.push_back(g->GetDescription());
    sim->guestRanks.push_back(guest->rank);
    sim->argvs.clear(); /* pointers into guests may have moved */
    sim->fileLists.clear();
    return static_cast<int>(sim->guests.size()) - 1;
}

/* Guest number guest's strings (field of its description) as a
 * NULL-terminated array, kept in cache: null for no such guest. */
static const char *const *GuestStrings(const qns_sim *sim, int guest,
                                       std::vector<std::string> QnsGuestDesc::*field,
                                       std::vector<std::vector<const char *>> &cache)
{
    if (guest < 0 || guest >= static_cast<int>(sim->guests.size())) {
        return nullptr;
    }
    if (cache.size() != sim->guests.size()) {
        cache.assign(sim->guests.size(), {});
        for (size_t i = 0; i < sim->guests.size(); i++) {
            for (const auto &a : sim->guests[i].*field) {
                cache[i].push_back(a.c_str());
            }
            cache[i].push_back(nullptr);
        }
    }
    return cache[static_cast<size_t>(guest)].data();
}

const char *const *qns_sim_guest_argv(const qns_sim *sim, int guest)
{
    return GuestStrings(sim, guest, &QnsGuestDesc::argv, const_cast<qns_sim *>(sim)->argvs);
}

const char *const *qns_sim_guest_files(const qns_sim *sim, int guest)
{
    return GuestStrings(sim, guest, &QnsGuestDesc::files, const_cast<qns_sim *>(sim)->fileLists);
}

int qns_sim_add_node(qns_sim *sim, const char *name, char *errbuf)
{
    std::string n = name ? name : "node" + std::to_string(sim->nodeNames.size());
    if (qns_name_check("node", n.c_str(), errbuf) < 0) {
        return -1;
    }
    for (const auto &x : sim->nodeNames) {
        if (x == n) {
            SetErr(errbuf, "node " + n + " is defined twice");
            return -1;
        }
    }
    sim->nodeNames.push_back(n);
    sim->nodeRanks.push_back(0);
    return static_cast<int>(sim->nodeNames.size()) - 1;
}

int qns_sim_set_node_rank(qns_sim *sim, int node, uint32_t rank, char *errbuf)
{
    if (node < 0 || node >= static_cast<int>(sim->nodeNames.size())) {
        SetErr(errbuf, "no node " + std::to_string(node));
        return -1;
    }
    if (rank > QNS_MAX_RANK) {
        SetErr(errbuf, "node " + sim->nodeNames[static_cast<size_t>(node)] + ": rank " +
                           std::to_string(rank) + " is above " + std::to_string(QNS_MAX_RANK));
        return -1;
    }
    sim->nodeRanks[static_cast<size_t>(node)] = rank;
    return 0;
}

uint32_t qns_sim_rank_count(const qns_sim *sim)
{
    uint32_t n = 1;
    for (uint32_t r : sim->nodeRanks) {
        n = std::max(n, r + 1);
    }
    for (uint32_t r : sim->guestRanks) {
        n = std::max(n, r + 1);
    }
    return n;
}

int qns_link_check(const qns_link_config *link, char *errbuf)
{
    std::string err;
    if (!QnsWifiCheck(*link, link->name ? link->name : "", err)) {
        SetErr(errbuf, err);
        return -1;
    }
    return 0;
}

int qns_sim_add_link(qns_sim *sim, const qns_link_config *link, char *errbuf)
{
    LinkDesc l;
    l.cfg = *link;
    l.name = link->name ? link->name : "link" + std::to_string(sim->links.size());
    l.cfg.name = nullptr;
    if (qns_name_check("link", l.name.c_str(), errbuf) < 0) {
        return -1;
    }
    std::string err;
    if (l.cfg.type != QNS_LINK_CSMA && l.cfg.type != QNS_LINK_P2P && l.cfg.type != QNS_LINK_WIFI) {
        SetErr(errbuf, "link " + l.name + ": unknown link type");
        return -1;
    }
    if (!QnsWifiCheck(l.cfg, l.name, err)) {
        SetErr(errbuf, err);
        return -1;
    }
    /* The strings are the caller's: kept as copies (see WifiConfig). */
    auto keep = [](const char *&field, std::string &copy, bool &set) {
        set = field != nullptr;
        copy = set ? field : "";
        field = nullptr;
    };
    keep(l.cfg.wifi_mode, l.wifiMode, l.hasWifiMode);
    keep(l.cfg.standard, l.standard, l.hasStandard);
    keep(l.cfg.rate_manager, l.rateManager, l.hasRateManager);
    keep(l.cfg.wifi_rate, l.wifiRate, l.hasWifiRate);
    if (l.cfg.type == QNS_LINK_WIFI) {
        sim->links.push_back(l);
        return static_cast<int>(sim->links.size()) - 1;
    }
    if (l.cfg.rate_bps == 0) {
        l.cfg.rate_bps = 100000000;
    }
    if (l.cfg.queue_packets == 0) {
        l.cfg.queue_packets = 100;
    }
    if (!(l.cfg.loss >= 0.0 && l.cfg.loss <= 1.0)) {
        SetErr(errbuf, "link " + l.name + ": loss rate must be between 0 and 1");
        return -1;
    }
    sim->links.push_back(l);
    return static_cast<int>(sim->links.size()) - 1;
}

static std::string MemberName(const qns_sim *sim, const Member &m)
{
    return m.isGuest ? "guest " + sim->guests[static_cast<size_t>(m.guest)].name + " NIC " +
                           std::to_string(m.nic)
                     : "node " + sim->nodeNames[static_cast<size_t>(m.node)];
}

static uint32_t MemberRank(const qns_sim *sim, const Member &m)
{
    return m.isGuest ? sim->guestRanks[static_cast<size_t>(m.guest)]
                     : sim->nodeRanks[static_cast<size_t>(m.node)];
}

/* The smallest delay of a point-to-point link between ranks (ns-3's
 * lookahead across them), 0 when there is none. */
static uint64_t CrossRankDelayNs(const qns_sim *sim)
{
    uint64_t least = 0;
    for (const auto &l : sim->links) {
        if (l.cfg.type == QNS_LINK_P2P && l.members.size() == 2 &&
            MemberRank(sim, l.members[0]) != MemberRank(sim, l.members[1]) &&
            (least == 0 || l.cfg.delay_ns < least)) {
            least = l.cfg.delay_ns;
        }
    }
    return least;
}

/* The rank a link's devices and channel live on (its first member's). */
static uint32_t LinkRank(const qns_sim *sim, const LinkDesc &l)
{
    return l.members.empty() ? 0 : MemberRank(sim, l.members[0]);
}

static std::string MemberIpv4(const qns_sim *sim, const Member &m)
{
    return m.isGuest ? sim->guests[static_cast<size_t>(m.guest)].ipv4s[static_cast<size_t>(m.nic)]
                     : m.ipv4;
}

/* No two members of one link share a MAC (guests; ns-3 allocates its
 * devices' own) or an IPv4 address; then the member joins the link. */
static int Join(qns_sim *sim, int link, const Member &m, char *errbuf)
{
    auto &l = sim->links[static_cast<size_t>(link)];
    std::string ip = MemberIpv4(sim, m);
    for (const auto &o : l.members) {
        if (m.isGuest && o.isGuest) {
            const std::string &mac =
                sim->guests[static_cast<size_t>(m.guest)].macs[static_cast<size_t>(m.nic)];
            if (g_ascii_strcasecmp(mac.c_str(), sim->guests[static_cast<size_t>(o.guest)]
                                                    .macs[static_cast<size_t>(o.nic)]
                                                    .c_str()) == 0) {
                SetErr(errbuf, "link " + l.name + ": " + MemberName(sim, m) + " has MAC address " +
                                   mac + ", as " + MemberName(sim, o) + " has");
                return -1;
            }
        }
        if (!ip.empty() && HostOf(ip) == HostOf(MemberIpv4(sim, o))) {
            SetErr(errbuf, "link " + l.name + ": " + MemberName(sim, m) + " has IPv4 address " +
                               HostOf(ip) + ", as " + MemberName(sim, o) + " has");
            return -1;
        }
    }
    l.members.push_back(m);
    return 0;
}

static bool CheckLink(qns_sim *sim, int link, char *errbuf)
{
    if (link < 0 || link >= static_cast<int>(sim->links.size())) {
        SetErr(errbuf, "no link " + std::to_string(link));
        return false;
    }
    auto &l = sim->links[static_cast<size_t>(link)];
    if (l.cfg.type == QNS_LINK_P2P && l.members.size() >= 2) {
        SetErr(errbuf, "link " + l.name + ": a point-to-point link has two ends");
        return false;
    }
    return true;
}

int qns_sim_attach_guest(qns_sim *sim, int link, int guest, int nic, uint64_t latency_ns,
                         char *errbuf)
{
    if (!CheckLink(sim, link, errbuf)) {
        return -1;
    }
    if (guest < 0 || guest >= static_cast<int>(sim->guests.size())) {
        SetErr(errbuf, "no guest " + std::to_string(guest));
        return -1;
    }
    const auto &g = sim->guests[static_cast<size_t>(guest)];
    if (nic < 0 || nic >= g.nicCount) {
        SetErr(errbuf, "guest " + g.name + " has no NIC " + std::to_string(nic));
        return -1;
    }
    for (const auto &l : sim->links) {
        for (const auto &m : l.members) {
            if (m.isGuest && m.guest == guest && m.nic == nic) {
                SetErr(errbuf, "guest " + g.name + " NIC " + std::to_string(nic) +
                                   " is already attached to link " + l.name);
                return -1;
            }
        }
    }
    std::string err;
    if (latency_ns != 0 &&
        !QnsLatencyCheck(NanoSeconds(static_cast<int64_t>(latency_ns)),
                         MicroSeconds(sim->cfg.quantum_us), err)) {
        SetErr(errbuf, "guest " + g.name + " NIC " + std::to_string(nic) + ": " + err);
        return -1;
    }
    return Join(sim, link, Member{true, guest, nic, latency_ns, -1, ""}, errbuf);
}

int qns_sim_attach_node(qns_sim *sim, int link, int node, const char *ipv4, char *errbuf)
{
    if (!CheckLink(sim, link, errbuf)) {
        return -1;
    }
    if (node < 0 || node >= static_cast<int>(sim->nodeNames.size())) {
        SetErr(errbuf, "no node " + std::to_string(node));
        return -1;
    }
    Ipv4Address a;
    Ipv4Mask m;
    if (ipv4 == nullptr || !QnsParseCidr(ipv4, a, m)) {
        SetErr(errbuf, "node " + sim->nodeNames[static_cast<size_t>(node)] + ": bad address '" +
                           std::string(ipv4 ? ipv4 : "") + "', expected A.B.C.D/PREFIX");
        return -1;
    }
    std::string err;
    if (!QnsHostAddressCheck("node " + sim->nodeNames[static_cast<size_t>(node)], ipv4, err)) {
        SetErr(errbuf, err);
        return -1;
    }
    return Join(sim, link, Member{false, -1, -1, 0, node, ipv4}, errbuf);
}

int qns_sim_add_route(qns_sim *sim, int node, const char *destination, const char *gateway,
                      char *errbuf)
{
    if (node < 0 || node >= static_cast<int>(sim->nodeNames.size())) {
        SetErr(errbuf, "no node " + std::to_string(node));
        return -1;
    }
    const std::string &name = sim->nodeNames[static_cast<size_t>(node)];
    RouteDesc r{node, destination ? destination : "", gateway ? gateway : "", {}, {}, {}};
    if (!QnsParseCidr(r.destination, r.network, r.mask, 0)) {
        SetErr(errbuf, "node " + name + ": bad route destination '" + r.destination +
                           "', expected A.B.C.D/PREFIX (0.0.0.0/0 for the default route)");
        return -1;
    }
    if (r.network != r.network.CombineMask(r.mask)) {
        std::ostringstream net;
        net << r.network.CombineMask(r.mask) << "/" << r.mask.GetPrefixLength();
        SetErr(errbuf, "node " + name + ": route destination " + r.destination +
                           " has host bits set; the network is " + net.str());
        return -1;
    }
    if (!QnsParseAddress(r.gatewayText, r.gateway)) {
        SetErr(errbuf, "node " + name + ": bad route gateway '" + r.gatewayText +
                           "', expected A.B.C.D");
        return -1;
    }
    sim->routes.push_back(r);
    return 0;
}

int qns_sim_udp_echo_server(qns_sim *sim, int node, uint16_t port, char *errbuf)
{
    if (node < 0 || node >= static_cast<int>(sim->nodeNames.size())) {
        SetErr(errbuf, "no node " + std::to_string(node));
        return -1;
    }
    sim->apps.push_back(AppDesc{true, node, port, "", 0, 0, 0, 0});
    return 0;
}

int qns_sim_udp_echo_client(qns_sim *sim, int node, const char *server_ipv4, uint16_t port,
                            uint32_t count, uint64_t interval_ns, uint32_t size,
                            uint64_t start_ns, char *errbuf)
{
    if (node < 0 || node >= static_cast<int>(sim->nodeNames.size())) {
        SetErr(errbuf, "no node " + std::to_string(node));
        return -1;
    }
    Ipv4Address a;
    Ipv4Mask m;
    if (server_ipv4 == nullptr || !QnsParseCidr(std::string(server_ipv4) + "/32", a, m)) {
        SetErr(errbuf, "bad server address '" + std::string(server_ipv4 ? server_ipv4 : "") + "'");
        return -1;
    }
    sim->apps.push_back(AppDesc{false, node, port, server_ipv4, count, interval_ns, size,
                                start_ns});
    return 0;
}

const char *qns_app_kind_name(qns_app_kind kind)
{
    switch (kind) {
    case QNS_APP_PACKET_SINK:
        return "packet-sink";
    case QNS_APP_BULK_SEND:
        return "bulk-send";
    case QNS_APP_ON_OFF:
        return "on-off";
    }
    return "unknown";
}

int qns_sim_add_app(qns_sim *sim, int node, const qns_app_config *app, char *errbuf)
{
    if (node < 0 || node >= static_cast<int>(sim->nodeNames.size())) {
        SetErr(errbuf, "no node " + std::to_string(node));
        return -1;
    }
    bool sink = app->kind == QNS_APP_PACKET_SINK, onOff = app->kind == QNS_APP_ON_OFF;
    if (!sink && !onOff && app->kind != QNS_APP_BULK_SEND) {
        SetErr(errbuf, "unknown application kind " + std::to_string(app->kind));
        return -1;
    }
    std::string what = qns_app_kind_name(app->kind);
    std::string proto = app->protocol ? app->protocol : "";
    bool udpToo = sink || onOff;
    if (proto != "tcp" && (proto != "udp" || !udpToo)) {
        SetErr(errbuf, what + ": unknown protocol '" + proto + "', expected " +
                           (udpToo ? "tcp or udp" : "tcp"));
        return -1;
    }
    if (app->stop_ns != 0 && app->stop_ns <= app->start_ns) {
        SetErr(errbuf, what + ": stop must come after start");
        return -1;
    }
    if (!onOff && (app->rate_bps || app->size || app->on_ns || app->off_ns)) {
        SetErr(errbuf, what + ": rate, size, on and off are on-off settings");
        return -1;
    }
    if (onOff && app->size > 65507) {
        SetErr(errbuf, what + ": size " + std::to_string(app->size) +
                           " is more than a UDP datagram holds (65507)");
        return -1;
    }
    if (app->port == 0) {
        SetErr(errbuf, what + ": port 0; expected 1 .. 65535");
        return -1;
    }
    NodeApp a{node, *app, proto, "", nullptr, 0};
    a.cfg.protocol = nullptr;
    a.cfg.remote_ipv4 = nullptr;
    if (sink) {
        if (app->remote_ipv4 != nullptr || app->max_bytes != 0) {
            SetErr(errbuf, "packet-sink: takes no remote address and no max bytes");
            return -1;
        }
    } else {
        Ipv4Address addr;
        a.remote = app->remote_ipv4 ? app->remote_ipv4 : "";
        if (!QnsParseAddress(a.remote, addr)) {
            SetErr(errbuf, what + ": bad address '" + a.remote + "', expected A.B.C.D");
            return -1;
        }
    }
    sim->nodeApps.push_back(a);
    return static_cast<int>(sim->nodeApps.size()) - 1;
}

int qns_sim_app_count(const qns_sim *sim)
{
    return static_cast<int>(sim->nodeApps.size());
}

int qns_sim_app_rx_bytes(const qns_sim *sim, int app, uint64_t *out)
{
    if (app < 0 || app >= static_cast<int>(sim->nodeApps.size())) {
        return -1;
    }
    *out = sim->nodeApps[static_cast<size_t>(app)].rxBytes;
    return 0;
}

static std::string NanoSecondsVariable(uint64_t ns)
{
    std::ostringstream s;
    s << "ns3::ConstantRandomVariable[Constant=" << static_cast<double>(ns) / 1e9 << "]";
    return s.str();
}

static std::string SocketFactoryOf(const std::string &protocol)
{
    return protocol == "tcp" ? "ns3::TcpSocketFactory" : "ns3::UdpSocketFactory";
}

/* An application of another rank's node is made on this rank too, so both
 * make the same objects (and draw the same random streams) as one process,
 * but it never starts here: its own rank runs it. */
static void KeepToItsRank(const qns_sim *sim, Ptr<Node> node, ApplicationContainer &apps)
{
    if (node->GetSystemId() != Simulator::GetSystemId()) {
        apps.Start(NanoSeconds(static_cast<int64_t>(sim->durationNs)) + Seconds(1));
        apps.Stop(Time(0));
    }
}

static void InstallNodeApps(qns_sim *sim, const NodeContainer &nodes)
{
    for (auto &app : sim->nodeApps) {
        Ptr<Node> n = nodes.Get(static_cast<uint32_t>(app.node));
        const qns_app_config &c = app.cfg;
        ApplicationContainer apps;
        InetSocketAddress remote(Ipv4Address(app.remote.c_str()), c.port);
        if (c.kind == QNS_APP_PACKET_SINK) {
            PacketSinkHelper h(SocketFactoryOf(app.protocol),
                               InetSocketAddress(Ipv4Address::GetAny(), c.port));
            apps = h.Install(n);
            app.sink = DynamicCast<PacketSink>(apps.Get(0));
        } else if (c.kind == QNS_APP_BULK_SEND) {
            BulkSendHelper h(SocketFactoryOf(app.protocol), remote);
            h.SetAttribute("MaxBytes", UintegerValue(c.max_bytes));
            apps = h.Install(n);
        } else {
            OnOffHelper h(SocketFactoryOf(app.protocol), remote);
            h.SetAttribute("MaxBytes", UintegerValue(c.max_bytes));
            h.SetAttribute("DataRate", DataRateValue(DataRate(c.rate_bps ? c.rate_bps : 500000)));
            h.SetAttribute("PacketSize", UintegerValue(c.size ? c.size : 512));
            h.SetAttribute("OnTime",
                           StringValue(NanoSecondsVariable(c.on_ns ? c.on_ns : 1000000000)));
            h.SetAttribute("OffTime",
                           StringValue(NanoSecondsVariable(c.off_ns ? c.off_ns : 1000000000)));
            apps = h.Install(n);
        }
        apps.Start(NanoSeconds(static_cast<int64_t>(c.start_ns)));
        if (c.stop_ns != 0) {
            apps.Stop(NanoSeconds(static_cast<int64_t>(c.stop_ns)));
        }
        KeepToItsRank(sim, n, apps);
    }
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
            Ptr<QnsBridge> b = sim->helper.GetRun()->GetBridge(static_cast<int>(i),
                                                               static_cast<uint32_t>(n));
            if (b) {
                p.frames += b->GetFramesFromGuest() + b->GetFramesToGuest();
            }
        }
    }
    return sim->progressFn(sim->progressCtx, &p);
}

/* The system id of an object on `rank`: the rank across ranks; 0 in one
 * process (which runs every rank's part: ns-3's global routing fills in
 * only the nodes of the process's own system id). */
static uint32_t SystemIdOf(uint32_t rank)
{
    return QnsSimulatorIsDistributed() ? rank : 0;
}

static bool IsLocal(uint32_t rank)
{
    return SystemIdOf(rank) == Simulator::GetSystemId();
}

static Ptr<NetDevice> InstallLinkDevices(qns_sim *sim, const LinkDesc &l, NodeContainer &members,
                                         NetDeviceContainer &devs, const std::string &prefix)
{
    QueueSize q(std::to_string(l.cfg.queue_packets) + "p");
    if (l.cfg.type == QNS_LINK_CSMA) {
        CsmaHelper csma;
        csma.SetChannelAttribute("DataRate", DataRateValue(DataRate(l.cfg.rate_bps)));
        csma.SetChannelAttribute("Delay",
                                 TimeValue(NanoSeconds(static_cast<int64_t>(l.cfg.delay_ns))));
        csma.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", QueueSizeValue(q));
        devs = csma.Install(members);
        if (l.cfg.capture) {
            CapturePromiscuous<CsmaNetDevice>(sim, devs, prefix, PcapHelper::DLT_EN10MB);
        }
    } else if (l.cfg.type == QNS_LINK_WIFI) {
        qns_link_config cfg = WifiConfig(l);
        cfg.capture = cfg.capture && IsLocal(LinkRank(sim, l));
        /* The access point qns adds: a node of its own, without IP. */
        Ptr<Node> ap = QnsWifiHasAccessPoint(cfg)
                           ? CreateObject<Node>(SystemIdOf(LinkRank(sim, l)))
                           : nullptr;
        devs = QnsWifiInstall(cfg, l.name, members, ap, prefix, sim->pcaps);
    } else {
        PointToPointHelper p2p;
        p2p.SetDeviceAttribute("DataRate", DataRateValue(DataRate(l.cfg.rate_bps)));
        p2p.SetChannelAttribute("Delay",
                                TimeValue(NanoSeconds(static_cast<int64_t>(l.cfg.delay_ns))));
        p2p.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", QueueSizeValue(q));
        devs = p2p.Install(members);
        if (l.cfg.capture) {
            CapturePromiscuous<PointToPointNetDevice>(sim, devs, prefix, PcapHelper::DLT_PPP);
        }
    }
    if (l.cfg.loss > 0) {
        for (uint32_t i = 0; i < devs.GetN(); i++) {
            Ptr<RateErrorModel> em = CreateObject<RateErrorModel>();
            em->SetAttribute("ErrorRate", DoubleValue(l.cfg.loss));
            em->SetAttribute("ErrorUnit", StringValue("ERROR_UNIT_PACKET"));
            devs.Get(i)->SetAttribute("ReceiveErrorModel", PointerValue(em));
        }
    }
    return nullptr;
}

/* Route r's gateway must be on a subnet of one of its node's attachments:
 * checked on the description, before any guest starts. */
static bool CheckRoute(const qns_sim *sim, const RouteDesc &r, std::string &err)
{
    bool onSubnet = false;
    std::string subnets;
    for (const auto &l : sim->links) {
        for (const auto &m : l.members) {
            Ipv4Address a;
            Ipv4Mask mask;
            if (m.isGuest || m.node != r.node || !QnsParseCidr(m.ipv4, a, mask)) {
                continue;
            }
            onSubnet |= mask.IsMatch(a, r.gateway);
            subnets += (subnets.empty() ? "" : ", ") + m.ipv4;
        }
    }
    if (!onSubnet) {
        err = "node " + sim->nodeNames[static_cast<size_t>(r.node)] + ": gateway " +
              r.gatewayText + " of the route to " + r.destination +
              " is on none of the node's subnets (" +
              (subnets.empty() ? "the node is on no link" : subnets) + ")";
        return false;
    }
    return true;
}

static bool CheckRoutes(const qns_sim *sim, std::string &err)
{
    for (const auto &r : sim->routes) {
        if (!CheckRoute(sim, r, err)) {
            return false;
        }
    }
    return true;
}

int qns_sim_link_check(const qns_sim *sim, int link, char *errbuf)
{
    if (link < 0 || link >= static_cast<int>(sim->links.size())) {
        SetErr(errbuf, "no link " + std::to_string(link));
        return -1;
    }
    const LinkDesc &l = sim->links[static_cast<size_t>(link)];
    if (l.cfg.type == QNS_LINK_P2P && l.members.size() != 2) {
        SetErr(errbuf, "link " + l.name +
                           ": a point-to-point link has exactly two members, it has " +
                           std::to_string(l.members.size()));
        return -1;
    }
    for (const auto &m : l.members) {
        if (MemberRank(sim, m) == LinkRank(sim, l)) {
            continue;
        }
        const Member &first = l.members[0];
        if (l.cfg.type != QNS_LINK_P2P) {
            SetErr(errbuf, "link " + l.name + ": " + MemberName(sim, first) + " is on rank " +
                               std::to_string(MemberRank(sim, first)) + ", " +
                               MemberName(sim, m) + " on rank " +
                               std::to_string(MemberRank(sim, m)) +
                               "; only a point-to-point link joins two ranks");
            return -1;
        }
        if (l.cfg.delay_ns == 0) {
            SetErr(errbuf, "link " + l.name + " joins ranks " +
                               std::to_string(MemberRank(sim, first)) + " and " +
                               std::to_string(MemberRank(sim, m)) +
                               ": its delay must be above 0 (it is ns-3's lookahead between them)");
            return -1;
        }
    }
    return 0;
}

/* Whether guest number g is a member of some link (else it runs on rank 0). */
static bool GuestOnALink(const qns_sim *sim, size_t g)
{
    for (const auto &l : sim->links) {
        for (const auto &m : l.members) {
            if (m.isGuest && m.guest == static_cast<int>(g)) {
                return true;
            }
        }
    }
    return false;
}

/* The parts a simulation splits into at its point-to-point links: the
 * guests and nodes each CSMA or Wi-Fi link joins are one part. Each
 * guest's part number (guests first, then nodes, in part[]); returns the
 * number of parts, numbered by their first guest or node. */
static uint32_t PartsAtPointToPointLinks(const qns_sim *sim, std::vector<uint32_t> &part)
{
    const size_t ng = sim->guests.size(), n = ng + sim->nodeNames.size();
    std::vector<size_t> up(n);
    for (size_t i = 0; i < n; i++) {
        up[i] = i;
    }
    auto root = [&up](size_t i) {
        while (up[i] != i) {
            i = up[i] = up[up[i]];
        }
        return i;
    };
    auto item = [ng](const Member &m) {
        return m.isGuest ? static_cast<size_t>(m.guest) : ng + static_cast<size_t>(m.node);
    };
    for (const auto &l : sim->links) {
        if (l.cfg.type == QNS_LINK_P2P || l.members.empty()) {
            continue;
        }
        for (const auto &m : l.members) {
            size_t a = root(item(l.members[0])), b = root(item(m));
            up[std::max(a, b)] = std::min(a, b);
        }
    }
    std::vector<uint32_t> number(n, UINT32_MAX);
    uint32_t parts = 0;
    part.assign(n, 0);
    for (size_t i = 0; i < n; i++) {
        size_t r = root(i);
        if (number[r] == UINT32_MAX) {
            number[r] = parts++;
        }
        part[i] = number[r];
    }
    return parts;
}

int qns_sim_partition(qns_sim *sim, uint32_t ranks, char *errbuf)
{
    if (ranks < 1 || ranks > QNS_MAX_RANK + 1) {
        SetErr(errbuf, "ranks " + std::to_string(ranks) + " is not 1 .. " +
                           std::to_string(QNS_MAX_RANK + 1));
        return -1;
    }
    std::vector<uint32_t> part;
    const uint32_t parts = PartsAtPointToPointLinks(sim, part);
    const size_t ng = sim->guests.size();
    if (parts < ranks) {
        SetErr(errbuf, "the network splits into " + std::to_string(parts) +
                           " part(s) at its point-to-point links, fewer than the " +
                           std::to_string(ranks) + " ranks asked for");
        return -1;
    }
    /* Guests need the cores: the parts with most guests go first, each to
     * the rank with fewest guests so far (then fewest parts, then lowest);
     * the part of a guest on no link stays on rank 0. */
    std::vector<uint32_t> guests(parts, 0);
    std::vector<bool> pinned(parts, false);
    for (size_t g = 0; g < ng; g++) {
        guests[part[g]]++;
        pinned[part[g]] = pinned[part[g]] || !GuestOnALink(sim, g);
    }
    std::vector<uint32_t> order(parts);
    for (uint32_t i = 0; i < parts; i++) {
        order[i] = i;
    }
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
        return pinned[a] != pinned[b] ? pinned[a] : guests[a] > guests[b];
    });
    std::vector<uint32_t> rankOf(parts, 0), load(ranks, 0), count(ranks, 0);
    for (uint32_t p : order) {
        uint32_t best = 0;
        for (uint32_t r = 1; r < ranks && !pinned[p]; r++) {
            if (load[r] < load[best] || (load[r] == load[best] && count[r] < count[best])) {
                best = r;
            }
        }
        rankOf[p] = best;
        load[best] += guests[p];
        count[best]++;
    }
    for (size_t g = 0; g < ng; g++) {
        sim->guestRanks[g] = rankOf[part[g]];
    }
    for (size_t i = 0; i < sim->nodeNames.size(); i++) {
        sim->nodeRanks[i] = rankOf[part[ng + i]];
    }
    return 0;
}

uint32_t qns_sim_guest_rank(const qns_sim *sim, int guest)
{
    return guest >= 0 && guest < static_cast<int>(sim->guestRanks.size())
               ? sim->guestRanks[static_cast<size_t>(guest)]
               : 0;
}

uint32_t qns_sim_node_rank(const qns_sim *sim, int node)
{
    return node >= 0 && node < static_cast<int>(sim->nodeRanks.size())
               ? sim->nodeRanks[static_cast<size_t>(node)]
               : 0;
}

int qns_sim_ranks_check(const qns_sim *sim, uint32_t ranks, char *errbuf)
{
    uint32_t need = qns_sim_rank_count(sim);
    for (size_t g = 0; g < sim->guests.size(); g++) {
        if (!GuestOnALink(sim, g) && sim->guestRanks[g] != 0) {
            SetErr(errbuf, "guest " + sim->guests[g].name + " is on rank " +
                               std::to_string(sim->guestRanks[g]) +
                               " but on no link; a guest without one runs on rank 0");
            return -1;
        }
    }
    if (need > 1 && CrossRankDelayNs(sim) == 0) {
        SetErr(errbuf, "guests and nodes are on ranks 0 .. " + std::to_string(need - 1) +
                           ", but no point-to-point link joins two ranks (its delay is ns-3's "
                           "lookahead)");
        return -1;
    }
    if (ranks > 1 && ranks != need) {
        SetErr(errbuf, "guests and nodes are on ranks 0 .. " + std::to_string(need - 1) + " (" +
                           std::to_string(need) + " processes), but mpirun started " +
                           std::to_string(ranks));
        return -1;
    }
    if (ranks > 1 && sim->cfg.flow_monitor) {
        SetErr(errbuf, "flow_monitor needs one process: across ranks each would see only its "
                       "own nodes' flows");
        return -1;
    }
    return 0;
}

int qns_sim_route_check(const qns_sim *sim, int route, char *errbuf)
{
    if (route < 0 || route >= static_cast<int>(sim->routes.size())) {
        SetErr(errbuf, "no route " + std::to_string(route));
        return -1;
    }
    std::string err;
    if (!CheckRoute(sim, sim->routes[static_cast<size_t>(route)], err)) {
        SetErr(errbuf, err);
        return -1;
    }
    return 0;
}

/* The first interface of ip whose subnet holds address (CheckRoutes made
 * sure there is one). */
static uint32_t InterfaceOnSubnetOf(Ptr<Ipv4> ip, Ipv4Address address)
{
    for (uint32_t i = 0; i < ip->GetNInterfaces(); i++) {
        for (uint32_t j = 0; j < ip->GetNAddresses(i); j++) {
            Ipv4InterfaceAddress ia = ip->GetAddress(i, j);
            if (ia.GetMask().IsMatch(ia.GetLocal(), address)) {
                return i;
            }
        }
    }
    NS_FATAL_ERROR("no interface on the subnet of " << address);
}

/*
 * Global routing over links with guests. A guest is a host, not a router:
 * on a CSMA link its ghost node has no IP stack, and ns-3 sees the link as a
 * stub or transit network of its nodes. On a point-to-point link ns-3's
 * global routing requires an IP stack on the far end: the ghost gets one
 * without a global router (and without interfaces, so it never answers a
 * frame), and the ns-3 node at the near end announces the link's subnet as
 * an external route, so every ns-3 node reaches the guest. The stacks are
 * installed after every other object, so the random streams ns-3 assigns
 * to the scenario's own objects stay what they were.
 */
static void InstallRoutingOnGuestLinks(const qns_sim *sim, NodeContainer &nodes,
                                       NodeContainer &p2pGhosts)
{
    InternetStackHelper ghostStack;
    Ipv4StaticRoutingHelper staticOnly;
    ghostStack.SetRoutingHelper(staticOnly);
    ghostStack.SetIpv6StackInstall(false);
    ghostStack.Install(p2pGhosts);
    for (const auto &l : sim->links) {
        bool guestEnd = false;
        for (const auto &m : l.members) {
            guestEnd |= m.isGuest;
        }
        if (l.cfg.type != QNS_LINK_P2P || !guestEnd) {
            continue;
        }
        for (const auto &m : l.members) {
            Ipv4Address a;
            Ipv4Mask mask;
            if (m.isGuest || !QnsParseCidr(m.ipv4, a, mask)) {
                continue;
            }
            Ptr<GlobalRouter> router =
                nodes.Get(static_cast<uint32_t>(m.node))->GetObject<GlobalRouter>();
            if (router) {
                router->InjectRoute(a.CombineMask(mask), mask);
            }
        }
    }
    Ipv4GlobalRoutingHelper::PopulateRoutingTables();
}

static bool Build(qns_sim *sim, std::string &err)
{
    if (!CheckRoutes(sim, err)) {
        return false;
    }
    NodeContainer nodes;
    for (uint32_t rank : sim->nodeRanks) {
        nodes.Create(1, SystemIdOf(rank));
    }
    for (size_t i = 0; i < sim->nodeNames.size(); i++) {
        Names::Add(sim->nodeNames[i], nodes.Get(static_cast<uint32_t>(i)));
    }
    InternetStackHelper stack;
    stack.Install(nodes);

    NodeContainer p2pGhosts;
    const auto &guests = sim->helper.GetRun()->GetGuests();
    sim->helper.GetRun()->ScheduleStart();
    for (size_t li = 0; li < sim->links.size(); li++) {
        const LinkDesc &l = sim->links[li];
        char e[QNS_ERRBUF_SIZE];
        if (qns_sim_link_check(sim, static_cast<int>(li), e) < 0) {
            err = e;
            return false;
        }
        if (l.members.empty()) {
            continue;
        }
        NodeContainer members;
        for (const auto &m : l.members) {
            Ptr<Node> n = m.isGuest ? CreateObject<Node>(SystemIdOf(MemberRank(sim, m)))
                                    : nodes.Get(static_cast<uint32_t>(m.node));
            members.Add(n);
            if (m.isGuest && l.cfg.type == QNS_LINK_P2P) {
                p2pGhosts.Add(n);
            }
        }
        NetDeviceContainer devs;
        InstallLinkDevices(sim, l, members, devs, sim->outDir + "/" + l.name);
        for (size_t k = 0; k < l.members.size(); k++) {
            const Member &m = l.members[k];
            Ptr<NetDevice> dev = devs.Get(static_cast<uint32_t>(k));
            if (m.isGuest) {
                sim->helper.SetBridgeAttribute(
                    "Latency", TimeValue(NanoSeconds(static_cast<int64_t>(m.latencyNs))));
                if (!sim->helper.Install(guests[static_cast<size_t>(m.guest)],
                                         static_cast<uint32_t>(m.nic), dev, err)) {
                    return false;
                }
            } else {
                Ipv4Address a;
                Ipv4Mask mask;
                QnsParseCidr(m.ipv4, a, mask);
                Ptr<Ipv4> ip = dev->GetNode()->GetObject<Ipv4>();
                int32_t ifi = static_cast<int32_t>(ip->AddInterface(dev));
                ip->AddAddress(ifi, Ipv4InterfaceAddress(a, mask));
                ip->SetUp(ifi);
            }
        }
    }
    /* Static routing has priority 0 in InternetStackHelper's list routing,
     * global routing -10: a static route wins over a global one. */
    Ipv4StaticRoutingHelper staticRouting;
    for (const auto &r : sim->routes) {
        Ptr<Ipv4> ip = nodes.Get(static_cast<uint32_t>(r.node))->GetObject<Ipv4>();
        staticRouting.GetStaticRouting(ip)->AddNetworkRouteTo(
            r.network, r.mask, r.gateway, InterfaceOnSubnetOf(ip, r.gateway));
    }
    for (const auto &app : sim->apps) {
        Ptr<Node> n = nodes.Get(static_cast<uint32_t>(app.node));
        ApplicationContainer apps;
        if (app.server) {
            UdpEchoServerHelper h(app.port);
            apps = h.Install(n);
            apps.Start(Seconds(0));
        } else {
            UdpEchoClientHelper h(Ipv4Address(app.server_ip.c_str()), app.port);
            h.SetAttribute("MaxPackets", UintegerValue(app.count));
            h.SetAttribute("Interval", TimeValue(NanoSeconds(static_cast<int64_t>(app.interval))));
            h.SetAttribute("PacketSize", UintegerValue(app.size));
            apps = h.Install(n);
            apps.Start(NanoSeconds(static_cast<int64_t>(app.start)));
        }
        KeepToItsRank(sim, n, apps);
    }
    InstallNodeApps(sim, nodes);
    InstallRoutingOnGuestLinks(sim, nodes, p2pGhosts);
    return true;
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

int qns_duration_check(uint64_t duration_ns, char *errbuf)
{
    if (duration_ns == 0) {
        SetErr(errbuf, "duration must be more than 0");
        return -1;
    }
    if (duration_ns > QNS_MAX_DURATION_NS) {
        SetErr(errbuf,
               "duration " + std::to_string(duration_ns) +
                   " ns is more than a run can last (at most 100 years of virtual time)");
        return -1;
    }
    return 0;
}

int qns_sim_run(qns_sim *sim, uint64_t duration_ns, char *errbuf)
{
    if (qns_duration_check(duration_ns, errbuf) < 0) {
        return -1;
    }
    if (sim->ran) {
        SetErr(errbuf, "a simulation runs once; create another for another run");
        return -1;
    }
    sim->ran = true;
    /* The C API owns the simulator of its process: the settings a program
     * of its own would choose. */
    Time::SetResolution(Time::NS);
    Config::SetDefault("ns3::PcapFileWrapper::NanosecMode", BooleanValue(true));
    GlobalValue::Bind("ChecksumEnabled", BooleanValue(true));
    RngSeedManager::SetSeed(sim->cfg.seed);
    RngSeedManager::SetRun(1);

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
                            TimeValue(NanoSeconds(static_cast<int64_t>(CrossRankDelayNs(sim)))));
    }
    clock_gettime(CLOCK_MONOTONIC, &sim->start);
    if (sim->progressFn != nullptr) {
        sched->SetProgress(ReportProgress, sim, sim->progressMs);
    }
    bool ok = Build(sim, err);
    /* Across ranks all run, or none: a rank that could not build its part
     * (a capture it cannot create on its machine) would leave the others
     * waiting for it in ns-3's synchronisation for ever. */
    if (QnsSimulatorIsDistributed() && qns_ranks_max(ok ? 0 : 1) != 0 && ok) {
        ok = false;
        err = "another rank could not build its part of the simulation (it says why)";
    }
    bool interrupted = false, judged = false;
    FlowMonitorHelper flowHelper;
    Ptr<FlowMonitor> flows;
    if (ok && sim->cfg.flow_monitor) {
        flows = flowHelper.InstallAll();
    }
    if (ok) {
        Simulator::Stop(NanoSeconds(static_cast<int64_t>(duration_ns)));
        Simulator::Run();
        std::string guestErr;
        bool guestsOk = run->Finish(guestErr);
        interrupted = run->Interrupted();
        if (sched->Failed()) {
            ok = false;
            err = sched->GetError();
            ClosePcaps(sim, err);
        } else if (!ClosePcaps(sim, err) || !WriteFlows(sim, flows, err)) {
            ok = false;
        } else {
            /* A failed or stopped run has its own reason; what its guests
             * had not done yet is no further news. */
            judged = !interrupted;
            if (sim->progressFn != nullptr && !interrupted) {
                ReportProgress(sim, -1, 0.0);
            }
            if (!guestsOk) {
                ok = false;
                err = guestErr;
            }
        }
    } else {
        std::string ignored;
        run->Finish(ignored);
        ClosePcaps(sim, err);
    }
    sim->endNs = static_cast<uint64_t>(Simulator::Now().GetNanoSeconds());
    sim->stoppedBy = run->GetStopper();
    sim->rounds = sched->GetRounds();
    sim->late = sched->GetLateFrames();
    qns_guest_stats none = {};
    none.nic_started_us = -1;
    none.command_status = -1;
    sim->stats.assign(sim->guests.size(), none);
    const qns_sync *sync = sched->GetSync();
    for (size_t i = 0; sync != nullptr && i < sim->guests.size(); i++) {
        qns_guest_stats &st = sim->stats[i];
        int gi = static_cast<int>(i), slot = run->GetSlot(gi);
        st.nic_count = sim->guests[i].nicCount;
        if (slot < 0 || slot >= qns_sync_guest_count(sync)) {
            continue; /* it never started */
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
        std::snprintf(st.console_path, sizeof(st.console_path), "%s",
                      sim->guests[i].console.c_str());
        st.command_status = QnsReadConsole(sim->guests[i].console).commandStatus;
        if (judged) {
            std::snprintf(st.error, sizeof(st.error), "%s", run->GetGuestFailure(gi).c_str());
        }
    }
    for (auto &app : sim->nodeApps) {
        if (app.sink) {
            app.rxBytes = app.sink->GetTotalRx();
            app.sink = nullptr;
        }
    }
    Simulator::Destroy();
    sched->Dispose();
    Names::Clear();
    if (!ok) {
        SetErr(errbuf, err);
        return -1;
    }
    return interrupted ? 1 : 0;
}

void qns_sim_set_progress(qns_sim *sim, qns_progress_fn fn, void *ctx, uint32_t interval_ms)
{
    sim->progressFn = fn;
    sim->progressCtx = ctx;
    sim->progressMs = interval_ms;
}

int qns_sim_guest_stats(const qns_sim *sim, int guest, qns_guest_stats *out)
{
    if (guest < 0 || guest >= static_cast<int>(sim->stats.size())) {
        return -1;
    }
    *out = sim->stats[static_cast<size_t>(guest)];
    return 0;
}

uint64_t qns_sim_rounds(const qns_sim *sim)
{
    return sim->rounds;
}

int qns_sim_stopped_by(const qns_sim *sim)
{
    return sim->stoppedBy;
}

uint64_t qns_sim_end_ns(const qns_sim *sim)
{
    return sim->endNs;
}

uint64_t qns_sim_late_frames(const qns_sim *sim)
{
    return sim->late;
}

void qns_sim_request_stop(qns_sim *sim)
{
    /* Only write(2): async-signal-safe; errno is kept for the code the
     * signal interrupted. The byte stays unread, so the pipe stays readable
     * and every later wait wakes too; a full pipe (EAGAIN) is as readable as
     * ever. */
    int saved = errno;
    char byte = 1;
    if (sim != nullptr && write(sim->stopPipe[1], &byte, 1) < 0) {
        /* EAGAIN: a stop is already pending */
    }
    errno = saved;
}

void qns_sim_free(qns_sim *sim)
{
    if (sim == nullptr) {
        return;
    }
    close(sim->stopPipe[0]);
    close(sim->stopPipe[1]);
    delete sim;
}

} // extern "C"
