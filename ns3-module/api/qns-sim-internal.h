/*
 * qns-sim-internal.h - what the C API's files (api/qns-*.cc) share, not
 * installed: a simulation as the API describes it (struct qns_sim, with its
 * links, routes and applications) and the functions one file gives another.
 *
 * qns-sim.cc        the simulation, its configuration, progress and stop
 * qns-guests.cc     guests
 * qns-topology.cc   nodes, links, attachments, routes and their checks
 * qns-partition.cc  ranks: a simulation's partition and its checks
 * qns-build.cc      the description into ns-3 objects
 * qns-apps.cc       ns-3 applications
 * qns-run.cc        a run and what it gathers
 */
#ifndef QNS_SIM_INTERNAL_H
#define QNS_SIM_INTERNAL_H

#include "qns.h"

#include "qns-address.h"
#include "qns-guest-argv.h"
#include "qns-helper.h"

#include "ns3/ipv4-address.h"
#include "ns3/node-container.h"
#include "ns3/packet-sink.h"
#include "ns3/pcap-file-wrapper.h"

#include <cstdint>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

namespace ns3
{

struct QnsMember {
    bool isGuest;
    int guest;
    int nic;
    uint64_t latencyNs;
    int node;
    std::string ipv4;
};

struct QnsLinkDesc {
    qns_link_config cfg; /* its strings are NULL: WifiConfig (qns-build.cc) gives them */
    std::string name;
    std::vector<QnsMember> members;
    std::string wifiMode, standard, rateManager, wifiRate;
    bool hasWifiMode = false, hasStandard = false, hasRateManager = false, hasWifiRate = false;
};

struct QnsRouteDesc {
    int node;
    std::string destination, gatewayText; /* as given, for messages */
    Ipv4Address network;
    Ipv4Mask mask;
    Ipv4Address gateway;
};

struct QnsAppDesc {
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
struct QnsNodeApp {
    int node;
    qns_app_config cfg; /* its strings are NULL: protocol and remote are */
    std::string protocol, remote;
    Ptr<PacketSink> sink; /* during a run */
    uint64_t rxBytes = 0;
};

} // namespace ns3

struct qns_sim {
    qns_sim_config cfg;
    std::string outDir;
    std::string qemu;
    std::string guestDir;
    std::string snapshotDir;
    int (*stop)(void *ctx) = nullptr; /* qns_sim_config's */
    void *stopCtx = nullptr;
    void (*snapshotBoot)(void *ctx, const char *guest, const char *key) = nullptr;
    ns3::QnsHelper helper;            /* its run holds the guests and the scheduler */
    std::vector<QnsGuestDesc> guests; /* what each guest was prepared as */
    std::vector<std::vector<const char *>> argvs;
    std::vector<std::vector<const char *>> fileLists; /* qns_sim_guest_files' */
    std::vector<std::string> nodeNames;
    std::vector<uint32_t> nodeRanks;  /* each node's MPI rank */
    std::vector<uint32_t> guestRanks; /* each guest's */
    std::vector<ns3::QnsLinkDesc> links;
    std::vector<ns3::QnsAppDesc> apps;
    std::vector<ns3::QnsNodeApp> nodeApps;
    std::vector<ns3::QnsRouteDesc> routes;
    std::vector<qns_guest_stats> stats;
    /* ns-3's own captures of this run, checked once it ends */
    std::vector<std::pair<std::string, ns3::Ptr<ns3::PcapFileWrapper>>> pcaps;
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

namespace ns3
{

/* qns-sim.cc: msg into errbuf (QNS_ERRBUF_SIZE bytes), when there is one. */
void QnsSetErr(char *errbuf, const std::string &msg);

/* qns-topology.cc: the rank a member of a link is on. */
uint32_t QnsMemberRank(const qns_sim *sim, const QnsMember &m);

/* The rank a link's devices and channel live on (its first member's). */
uint32_t QnsLinkRank(const qns_sim *sim, const QnsLinkDesc &l);

/* Every route's gateway is on a subnet of one of its node's attachments. */
bool QnsCheckRoutes(const qns_sim *sim, std::string &err);

/* qns-partition.cc: the smallest delay of a point-to-point link between
 * ranks (ns-3's lookahead across them), 0 when there is none. */
uint64_t QnsCrossRankDelayNs(const qns_sim *sim);

/* qns-apps.cc: the UDP echo applications, then the others, on nodes. */
void QnsInstallApps(qns_sim *sim, const NodeContainer &nodes);

/* qns-build.cc: the description's ns-3 objects (nodes, links, devices,
 * guests on them, routes, applications); false with err when a check
 * fails or a guest cannot be installed. */
bool QnsBuild(qns_sim *sim, std::string &err);

} // namespace ns3

#endif
