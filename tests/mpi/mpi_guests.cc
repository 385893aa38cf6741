// mpi_guests - default guests on two MPI ranks: h1 .. hN on rank 0's CSMA
// LAN, hN+1 .. h2N on rank 1's, their ns-3 routers joined by a
// point-to-point link (the only link between ranks; its 5 ms delay is the
// lookahead). Each hK of rank 0 pings hN+K three times; the run lasts 6 s.
// Run as one process (no --mpi) or with mpirun -np 2 --mpi: every output file
// (consoles, the guests' captures, the routers' pcaps) must be the same.
//
// Usage: mpi_guests --outDir=DIR [--mpi] [--fixed] [--quantum=1ms] [--pairs=N]
//   Each rank writes the files of its own guests and devices into DIR.
#include "qns-helper.h"

#include "ns3/core-module.h"
#include "ns3/csma-module.h"
#include "ns3/internet-module.h"
#include "ns3/mpi-interface.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"

#include <iostream>
#include <string>

using namespace ns3;

int main(int argc, char *argv[])
{
    std::string outDir = ".";
    bool mpi = false, fixed = false;
    Time quantum = MilliSeconds(1);
    uint32_t pairs = 1;
    CommandLine cmd(__FILE__);
    cmd.AddValue("outDir", "Folder for consoles and captures (must exist)", outDir);
    cmd.AddValue("mpi", "run across two MPI ranks", mpi);
    cmd.AddValue("fixed", "fixed rounds (a round every quantum)", fixed);
    cmd.AddValue("quantum", "qns round length (the bridge latency too)", quantum);
    cmd.AddValue("pairs", "guests on each rank (1 .. 100)", pairs);
    cmd.Parse(argc, argv);

    if (mpi) {
        GlobalValue::Bind("SimulatorImplementationType",
                          StringValue("ns3::DistributedSimulatorImpl"));
        MpiInterface::Enable(&argc, &argv);
        if (MpiInterface::GetSize() != 2) {
            std::cerr << "mpi_guests: needs 2 MPI ranks, got " << MpiInterface::GetSize() << "\n";
            MpiInterface::Disable();
            return 1;
        }
    }
    const uint32_t rank = mpi ? MpiInterface::GetSystemId() : 0;
    if (pairs < 1 || pairs > 100) {
        std::cerr << "mpi_guests: --pairs=" << pairs << " is not 1 .. 100\n";
        if (mpi) {
            MpiInterface::Disable();
        }
        return 1;
    }
    GlobalValue::Bind("ChecksumEnabled", BooleanValue(true));
    Config::SetDefault("ns3::PcapFileWrapper::NanosecMode", BooleanValue(true));

    // Every rank builds everything; the system id says whose each node is
    // (in one process, all are 0's: ns-3's global routing fills in only the
    // tables of this process's system id).
    const uint32_t second = mpi ? 1 : 0;
    NodeContainer side0, side1; /* the guests' ghost nodes, then the router */
    for (uint32_t k = 0; k < pairs; k++) {
        side0.Add(CreateObject<Node>(0));
    }
    Ptr<Node> r0 = CreateObject<Node>(0), r1 = CreateObject<Node>(second);
    for (uint32_t k = 0; k < pairs; k++) {
        side1.Add(CreateObject<Node>(second));
    }
    side0.Add(r0);
    side1.Add(r1);
    CsmaHelper csma;
    csma.SetChannelAttribute("DataRate", StringValue("100Mbps"));
    csma.SetChannelAttribute("Delay", TimeValue(MicroSeconds(5)));
    NetDeviceContainer lan0 = csma.Install(side0);
    NetDeviceContainer lan1 = csma.Install(side1);
    PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", StringValue("10Mbps"));
    p2p.SetChannelAttribute("Delay", TimeValue(MilliSeconds(5)));
    NetDeviceContainer wan = p2p.Install(r0, r1);

    InternetStackHelper internet;
    internet.Install(NodeContainer(r0, r1));
    Ipv4AddressHelper ipv4;
    ipv4.SetBase("10.1.1.0", "255.255.255.0", "0.0.0.254");
    ipv4.Assign(NetDeviceContainer(lan0.Get(pairs)));
    ipv4.SetBase("10.1.2.0", "255.255.255.0", "0.0.0.254");
    ipv4.Assign(NetDeviceContainer(lan1.Get(pairs)));
    ipv4.SetBase("10.1.3.0", "255.255.255.0");
    ipv4.Assign(wan);
    Ipv4GlobalRoutingHelper::PopulateRoutingTables();

    // Captures per rank: each device's pcap is written by its node's rank.
    for (Ptr<NetDevice> d : {wan.Get(0), wan.Get(1)}) {
        if (!mpi || d->GetNode()->GetSystemId() == rank) {
            p2p.EnablePcap(outDir + "/wan", d);
        }
    }

    QnsHelper qns;
    qns.SetOutputDirectory(outDir);
    qns.SetSchedulerAttribute("Quantum", TimeValue(quantum));
    qns.SetSchedulerAttribute("Adaptive", BooleanValue(!fixed));
    for (uint32_t k = 0; k < pairs; k++) {
        const std::string host = std::to_string(k + 1);
        Ptr<QnsGuest> g = qns.CreateGuest("h" + host, "10.1.1." + host + "/24",
                                          "sleep 1; ping -c 3 10.1.2." + host);
        g->SetAttribute("EndsRun", BooleanValue(false));
        g->SetAttribute("KernelArgs", StringValue("qns.route=10.1.0.0/16,10.1.1.254"));
        qns.Install(g, 0, lan0.Get(k));
    }
    for (uint32_t k = 0; k < pairs; k++) {
        const std::string host = std::to_string(k + 1);
        Ptr<QnsGuest> g = qns.CreateGuest("h" + std::to_string(pairs + k + 1),
                                          "10.1.2." + host + "/24", "");
        g->SetAttribute("KernelArgs", StringValue("qns.route=10.1.0.0/16,10.1.2.254"));
        qns.Install(g, 0, lan1.Get(k));
    }

    Simulator::Stop(Seconds(6));
    Simulator::Run();
    int status = qns.Conclude("mpi_guests rank " + std::to_string(rank));
    Simulator::Destroy();
    if (mpi) {
        MpiInterface::Disable();
    }
    return status;
}
