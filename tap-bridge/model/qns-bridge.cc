/*
 * QnsBridge - a guest NIC bridged onto an ns-3 device with exact latency.
 */
#include "qns-bridge.h"

#include "qns-sync-scheduler.h"

#include "ns3/arp-header.h"
#include "ns3/boolean.h"
#include "ns3/channel.h"
#include "ns3/ethernet-header.h"
#include "ns3/log.h"
#include "ns3/simulator.h"
#include "ns3/uinteger.h"

#include <vector>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("QnsBridge");
NS_OBJECT_ENSURE_REGISTERED(QnsBridge);

TypeId QnsBridge::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::QnsBridge")
            .SetParent<NetDevice>()
            .SetGroupName("Qns")
            .AddConstructor<QnsBridge>()
            .AddAttribute("Latency",
                          "Fixed delay between the guest NIC and the bridged device, each "
                          "way; at least the scheduler's quantum (0: the quantum).",
                          TimeValue(Time(0)), MakeTimeAccessor(&QnsBridge::m_latency),
                          MakeTimeChecker(Time(0)))
            .AddAttribute("Mtu", "The MAC-level MTU.", UintegerValue(1500),
                          MakeUintegerAccessor(&QnsBridge::SetMtu, &QnsBridge::GetMtu),
                          MakeUintegerChecker<uint16_t>())
            .AddTraceSource("FromGuest", "A guest frame entered ns-3 (with Ethernet header).",
                            MakeTraceSourceAccessor(&QnsBridge::m_fromGuestTrace),
                            "ns3::Packet::TracedCallback")
            .AddTraceSource("ToGuest", "A frame was handed to the guest (with Ethernet header).",
                            MakeTraceSourceAccessor(&QnsBridge::m_toGuestTrace),
                            "ns3::Packet::TracedCallback")
            .AddTraceSource("Drop", "A guest frame ns-3 cannot carry (not Ethernet II).",
                            MakeTraceSourceAccessor(&QnsBridge::m_dropTrace),
                            "ns3::Packet::TracedCallback");
    return tid;
}

QnsBridge::QnsBridge()
    : m_latency(Time(0)),
      m_guest(-1),
      m_nic(-1),
      m_ifIndex(0),
      m_mtu(1500),
      m_p2p(false),
      m_capture(nullptr),
      m_fromGuest(0),
      m_toGuest(0),
      m_dropped(0)
{
    NS_LOG_FUNCTION(this);
}

QnsBridge::~QnsBridge()
{
    CloseCapture();
}

bool QnsBridge::Connect(Ptr<QnsSyncScheduler> scheduler, int guest, int nic,
                        Ptr<NetDevice> bridged, std::string &err)
{
    if (m_latency.IsZero()) {
        m_latency = scheduler->GetQuantum();
    }
    if (m_latency < scheduler->GetQuantum()) {
        err = "bridge latency " + std::to_string(m_latency.GetNanoSeconds()) +
              " ns is below the quantum of " +
              std::to_string(scheduler->GetQuantum().GetNanoSeconds()) + " ns";
        return false;
    }
    m_p2p = bridged->IsPointToPoint() && !bridged->SupportsSendFrom();
    if (!bridged->SupportsSendFrom() && !m_p2p) {
        err = "the bridged device cannot send frames from the guest's address";
        return false;
    }
    if (m_node == nullptr || bridged->GetNode() != m_node) {
        err = "the bridge and the bridged device must be on the same node";
        return false;
    }
    if (!scheduler->Attach(guest, nic, this)) {
        err = scheduler->GetError();
        return false;
    }
    m_scheduler = scheduler;
    m_guest = guest;
    m_nic = nic;
    m_bridged = bridged;
    m_node->RegisterProtocolHandler(MakeCallback(&QnsBridge::ReceiveFromBridgedDevice, this), 0,
                                    bridged, true);
    return true;
}

bool QnsBridge::EnableCapture(const std::string &path, std::string &err)
{
    char e[QNS_ERRBUF_SIZE];
    CloseCapture();
    m_capture = qns_capture_open(path.c_str(), e);
    if (m_capture == nullptr) {
        err = e;
        return false;
    }
    return true;
}

void QnsBridge::CaptureFailed(const char *why)
{
    NS_LOG_ERROR(why);
    if (m_captureError.empty()) {
        m_captureError = why;
    }
}

const std::string &QnsBridge::GetCaptureError() const
{
    return m_captureError;
}

void QnsBridge::FlushCapture(uint64_t beforeNs)
{
    char e[QNS_ERRBUF_SIZE];
    if (m_capture != nullptr && qns_capture_flush_before(m_capture, beforeNs, e) < 0) {
        CaptureFailed(e);
    }
}

void QnsBridge::CloseCapture()
{
    char e[QNS_ERRBUF_SIZE];
    if (m_capture != nullptr && qns_capture_close(m_capture, e) < 0) {
        CaptureFailed(e);
    }
    m_capture = nullptr;
}

bool QnsBridge::FromGuest(uint64_t timeNs, const uint8_t *data, uint32_t length)
{
    Time at = NanoSeconds(static_cast<int64_t>(timeNs)) + m_latency;
    if (at < Simulator::Now()) {
        return false;
    }
    char e[QNS_ERRBUF_SIZE];
    if (m_capture != nullptr && qns_capture_add(m_capture, timeNs, data, length, e) < 0) {
        CaptureFailed(e);
    }
    Ptr<Packet> frame = Create<Packet>(data, length);
    Simulator::Schedule(at - Simulator::Now(), &QnsBridge::ForwardToBridgedDevice, this, frame);
    return true;
}

void QnsBridge::ForwardToBridgedDevice(Ptr<Packet> frame)
{
    m_fromGuestTrace(frame);
    EthernetHeader eth(false);
    if (frame->GetSize() < eth.GetSerializedSize()) {
        m_dropped++;
        m_dropTrace(frame);
        return;
    }
    frame->RemoveHeader(eth);
    uint16_t type = eth.GetLengthType();
    if (type <= 1500) {
        /* 802.3 length field: ns-3 devices carry Ethernet II only. */
        m_dropped++;
        m_dropTrace(frame);
        return;
    }
    m_fromGuest++;
    NS_LOG_LOGIC("guest " << m_guest << " nic " << m_nic << " -> ns-3 at " << Simulator::Now());
    if (!m_p2p) {
        m_bridged->SendFrom(frame, eth.GetSource(), eth.GetDestination(), type);
    } else if (type == 0x0806) {
        AnswerArp(frame);
    } else if (type == 0x0800 || type == 0x86DD) {
        m_bridged->Send(frame, m_bridged->GetBroadcast(), type);
    } else {
        m_dropped++;
        m_dropTrace(frame);
    }
}

void QnsBridge::AnswerArp(Ptr<Packet> arpPayload)
{
    ArpHeader req;
    if (arpPayload->GetSize() < req.GetSerializedSize()) {
        return;
    }
    arpPayload->RemoveHeader(req);
    Ipv4Address sender = req.GetSourceIpv4Address();
    Ipv4Address target = req.GetDestinationIpv4Address();
    /* Probes and announcements (RFC 5227) ask about the guest itself. */
    if (!req.IsRequest() || sender == Ipv4Address::GetAny() || sender == target) {
        return;
    }
    ArpHeader reply;
    reply.SetReply(m_bridged->GetAddress(), target, req.GetSourceHardwareAddress(), sender);
    /* Padded to Ethernet's 60-byte minimum with zeros: ns-3's
     * AddPaddingAtEnd leaves its bytes uninitialised. */
    static const uint8_t zeros[18] = {0};
    Ptr<Packet> p = Create<Packet>(zeros, sizeof(zeros));
    p->AddHeader(reply);
    EthernetHeader eth(false);
    eth.SetSource(Mac48Address::ConvertFrom(m_bridged->GetAddress()));
    eth.SetDestination(Mac48Address::ConvertFrom(req.GetSourceHardwareAddress()));
    eth.SetLengthType(0x0806);
    p->AddHeader(eth);
    ToGuest(p, Simulator::Now() + m_latency);
}

void QnsBridge::ToGuest(Ptr<Packet> frame, Time at)
{
    std::vector<uint8_t> bytes(frame->GetSize());
    frame->CopyData(bytes.data(), bytes.size());
    uint64_t atNs = static_cast<uint64_t>(at.GetNanoSeconds());
    m_toGuest++;
    m_toGuestTrace(frame);
    char e[QNS_ERRBUF_SIZE];
    if (m_capture != nullptr &&
        qns_capture_add(m_capture, atNs, bytes.data(), static_cast<uint32_t>(bytes.size()), e) <
            0) {
        CaptureFailed(e);
    }
    m_scheduler->SendToGuest(m_guest, m_nic, atNs, bytes.data(),
                             static_cast<uint32_t>(bytes.size()));
}

bool QnsBridge::ReceiveFromBridgedDevice(Ptr<NetDevice> device, Ptr<const Packet> packet,
                                         uint16_t protocol, const Address &src,
                                         const Address &dst, NetDevice::PacketType packetType)
{
    (void)device;
    (void)packetType;
    Ptr<Packet> frame = packet->Copy();
    EthernetHeader eth(false);
    if (m_p2p) {
        /* The link is the guest's only peer: it speaks with the device's MAC. */
        eth.SetSource(Mac48Address::ConvertFrom(m_bridged->GetAddress()));
        eth.SetDestination(m_address);
    } else {
        eth.SetSource(Mac48Address::ConvertFrom(src));
        eth.SetDestination(Mac48Address::ConvertFrom(dst));
    }
    eth.SetLengthType(protocol);
    frame->AddHeader(eth);
    ToGuest(frame, Simulator::Now() + m_latency);
    return true;
}

Ptr<NetDevice> QnsBridge::GetBridgedNetDevice() const
{
    return m_bridged;
}

Time QnsBridge::GetLatency() const
{
    return m_latency;
}

uint64_t QnsBridge::GetFramesFromGuest() const
{
    return m_fromGuest;
}

uint64_t QnsBridge::GetFramesToGuest() const
{
    return m_toGuest;
}

void QnsBridge::SetIfIndex(const uint32_t index)
{
    m_ifIndex = index;
}

uint32_t QnsBridge::GetIfIndex() const
{
    return m_ifIndex;
}

Ptr<Channel> QnsBridge::GetChannel() const
{
    return nullptr;
}

void QnsBridge::SetAddress(Address address)
{
    m_address = Mac48Address::ConvertFrom(address);
}

Address QnsBridge::GetAddress() const
{
    return m_address;
}

bool QnsBridge::SetMtu(const uint16_t mtu)
{
    m_mtu = mtu;
    return true;
}

uint16_t QnsBridge::GetMtu() const
{
    return m_mtu;
}

bool QnsBridge::IsLinkUp() const
{
    return true;
}

void QnsBridge::AddLinkChangeCallback(Callback<void> callback)
{
    (void)callback;
}

bool QnsBridge::IsBroadcast() const
{
    return true;
}

Address QnsBridge::GetBroadcast() const
{
    return Mac48Address::GetBroadcast();
}

bool QnsBridge::IsMulticast() const
{
    return true;
}

Address QnsBridge::GetMulticast(Ipv4Address multicastGroup) const
{
    return Mac48Address::GetMulticast(multicastGroup);
}

Address QnsBridge::GetMulticast(Ipv6Address addr) const
{
    return Mac48Address::GetMulticast(addr);
}

bool QnsBridge::IsPointToPoint() const
{
    return false;
}

bool QnsBridge::IsBridge() const
{
    /* Not a BridgeNetDevice: ns-3's global routing casts every device that
     * says it is a bridge to one. Like ns-3's TapBridge, it says no. */
    return false;
}

bool QnsBridge::Send(Ptr<Packet> packet, const Address &dest, uint16_t protocolNumber)
{
    (void)packet;
    (void)dest;
    (void)protocolNumber;
    /* The ghost node sends nothing of its own. */
    return false;
}

bool QnsBridge::SendFrom(Ptr<Packet> packet, const Address &source, const Address &dest,
                         uint16_t protocolNumber)
{
    (void)packet;
    (void)source;
    (void)dest;
    (void)protocolNumber;
    return false;
}

Ptr<Node> QnsBridge::GetNode() const
{
    return m_node;
}

void QnsBridge::SetNode(Ptr<Node> node)
{
    m_node = node;
}

bool QnsBridge::NeedsArp() const
{
    return false;
}

void QnsBridge::SetReceiveCallback(NetDevice::ReceiveCallback cb)
{
    (void)cb;
}

void QnsBridge::SetPromiscReceiveCallback(NetDevice::PromiscReceiveCallback cb)
{
    (void)cb;
}

bool QnsBridge::SupportsSendFrom() const
{
    return false;
}

void QnsBridge::DoDispose()
{
    CloseCapture();
    m_bridged = nullptr;
    m_scheduler = nullptr;
    m_node = nullptr;
    NetDevice::DoDispose();
}

} // namespace ns3
