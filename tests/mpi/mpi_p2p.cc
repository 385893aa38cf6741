// mpi_p2p - two ns-3 nodes on two MPI ranks over one point-to-point link
// (a PointToPointRemoteChannel): rank 0 sends PACKETS UDP datagrams to rank 1,
// which prints each one it receives (sequence number, size, source, receive
// time in ns) and then the count. Only rank 1 writes to stdout, so the output
// does not depend on how mpirun interleaves the ranks.
//
// Usage: mpirun -np 2 mpi_p2p [--packets=N] [--nullmsg]
//   --nullmsg uses NullMessageSimulatorImpl instead of DistributedSimulatorImpl.
//
// Not for: measuring anything; it proves that an MPI-enabled ns-3 links and
// delivers across ranks at the exact instants of a one-process run.
#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/mpi-interface.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"

#include <cstdint>
#include <iostream>

using namespace ns3;

namespace
{

constexpr uint16_t kPort = 9;
constexpr uint32_t kPayloadBytes = 100;

// The sequence number travels big-endian in the first four payload bytes.
Ptr<Packet> MakeDatagram(uint32_t seq)
{
    uint8_t payload[kPayloadBytes] = {};
    payload[0] = static_cast<uint8_t>(seq >> 24);
    payload[1] = static_cast<uint8_t>(seq >> 16);
    payload[2] = static_cast<uint8_t>(seq >> 8);
    payload[3] = static_cast<uint8_t>(seq);
    return Create<Packet>(payload, kPayloadBytes);
}

uint32_t SequenceOf(Ptr<Packet> packet)
{
    uint8_t head[4] = {};
    packet->CopyData(head, sizeof head);
    return (uint32_t{head[0]} << 24) | (uint32_t{head[1]} << 16) | (uint32_t{head[2]} << 8) |
           uint32_t{head[3]};
}

struct Receiver {
    uint32_t count = 0;

    void Receive(Ptr<Socket> socket)
    {
        Address from;
        while (Ptr<Packet> packet = socket->RecvFrom(from)) {
            ++count;
            std::cout << "rank 1: packet " << SequenceOf(packet) << " (" << packet->GetSize()
                      << " bytes from " << InetSocketAddress::ConvertFrom(from).GetIpv4() << ") at "
                      << Simulator::Now().GetNanoSeconds() << " ns\n";
        }
    }
};

struct Sender {
    uint32_t failures = 0;

    void Send(Ptr<Socket> socket, uint32_t seq)
    {
        if (socket->Send(MakeDatagram(seq)) != static_cast<int>(kPayloadBytes)) {
            ++failures;
            std::cerr << "mpi_p2p: rank 0 could not send packet " << seq << "\n";
        }
    }
};

} // namespace

int main(int argc, char *argv[])
{
    uint32_t packets = 5;
    bool nullmsg = false;
    CommandLine cmd(__FILE__);
    cmd.AddValue("packets", "how many datagrams rank 0 sends (at most 15)", packets);
    cmd.AddValue("nullmsg", "use the null-message synchroniser", nullmsg);
    cmd.Parse(argc, argv);

    GlobalValue::Bind(
        "SimulatorImplementationType",
        StringValue(nullmsg ? "ns3::NullMessageSimulatorImpl" : "ns3::DistributedSimulatorImpl"));
    MpiInterface::Enable(&argc, &argv);
    const uint32_t rank = MpiInterface::GetSystemId();
    if (MpiInterface::GetSize() != 2 || packets > 15) {
        if (rank == 0) {
            std::cerr << "mpi_p2p: needs exactly 2 MPI ranks (got " << MpiInterface::GetSize()
                      << ") and --packets at most 15 (got " << packets << ")\n";
        }
        MpiInterface::Disable();
        return 1;
    }

    // Every rank builds the whole topology; each node lives on one rank.
    Ptr<Node> sender = CreateObject<Node>(0);
    Ptr<Node> receiver = CreateObject<Node>(1);
    PointToPointHelper link;
    link.SetDeviceAttribute("DataRate", StringValue("5Mbps"));
    link.SetChannelAttribute("Delay", StringValue("2ms"));
    NetDeviceContainer devices = link.Install(sender, receiver);
    InternetStackHelper internet;
    internet.Install(NodeContainer(sender, receiver));
    Ipv4AddressHelper addresses("10.1.1.0", "255.255.255.0");
    Ipv4InterfaceContainer interfaces = addresses.Assign(devices);

    Receiver sink;
    Sender source;
    TypeId udp = UdpSocketFactory::GetTypeId();
    if (rank == 1) {
        Ptr<Socket> socket = Socket::CreateSocket(receiver, udp);
        socket->Bind(InetSocketAddress(Ipv4Address::GetAny(), kPort));
        socket->SetRecvCallback(MakeCallback(&Receiver::Receive, &sink));
    } else {
        Ptr<Socket> socket = Socket::CreateSocket(sender, udp);
        socket->Connect(InetSocketAddress(interfaces.GetAddress(1), kPort));
        for (uint32_t seq = 0; seq < packets; ++seq) {
            Simulator::ScheduleWithContext(sender->GetId(), Seconds(1) + MilliSeconds(100) * seq,
                                           &Sender::Send, &source, socket, seq);
        }
    }

    Simulator::Stop(Seconds(3));
    Simulator::Run();
    Simulator::Destroy();
    if (rank == 1) {
        std::cout << "rank 1: " << sink.count << " packets\n";
    }
    MpiInterface::Disable();
    return source.failures == 0 ? 0 : 1;
}
