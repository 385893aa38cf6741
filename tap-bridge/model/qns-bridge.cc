/*
 * QnsBridge - a guest NIC bridged onto an ns-3 device with exact latency.
 */
#include "qns-bridge.h"

#include "ns3/arp-header.h"
#include "ns3/boolean.h"
#include "ns3/channel.h"
#include "ns3/enum.h"
#include "ns3/ethernet-header.h"
#include "ns3/log.h"
#include "ns3/simulator.h"
#include "ns3/uinteger.h"

#include <cstring>
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
                          "way; at least the round length of whoever feeds the guest "
                          "(0: unset, Connect refuses it).",
                          TimeValue(Time(0)), MakeTimeAccessor(&QnsBridge::m_latency),
                          MakeTimeChecker(Time(0)))
            .AddAttribute("Mode",
                          "UseBridge: frames leave with the guest's source address "
                          "(SendFrom); UseLocal: with the device's own (Send), the guest's "
                          "MAC mapped to the device's in Ethernet and ARP headers (on "
                          "point-to-point: ARP answered by the bridge); Auto: UseBridge "
                          "where the device supports SendFrom, else UseLocal. TapBridge's "
                          "ConfigureLocal is refused, with the reason, when the bridge is "
                          "installed: there is no host TAP device to configure.",
                          EnumValue(QnsBridge::AUTO), MakeEnumAccessor(&QnsBridge::m_mode),
                          MakeEnumChecker(QnsBridge::AUTO, "Auto", QnsBridge::USE_BRIDGE,
                                          "UseBridge", QnsBridge::USE_LOCAL, "UseLocal",
                                          QnsBridge::CONFIGURE_LOCAL, "ConfigureLocal"))
            .AddAttribute("Mtu", "The MAC-level MTU.", UintegerValue(1500),
                          MakeUintegerAccessor(&QnsBridge::SetMtu, &QnsBridge::GetMtu),
                          MakeUintegerChecker<uint16_t>())
            .AddTraceSource("FromGuest", "A guest frame entered ns-3 (with Ethernet header).",
                            MakeTraceSourceAccessor(&QnsBridge::m_fromGuestTrace),
                            "ns3::Packet::TracedCallback")
            .AddTraceSource("ToGuest", "A frame was handed to the guest (with Ethernet header).",
                            MakeTraceSourceAccessor(&QnsBridge::m_toGuestTrace),
                            "ns3::Packet::TracedCallback")
            .AddTraceSource("Drop",
                            "A guest frame ns-3 cannot carry (not Ethernet II, or longer "
                            "than the bridged device's MTU allows).",
                            MakeTraceSourceAccessor(&QnsBridge::m_dropTrace),
                            "ns3::Packet::TracedCallback");
    return tid;
}

QnsBridge::QnsBridge()
    : m_latency(Time(0)), m_mode(AUTO), m_ifIndex(0), m_mtu(1500), m_p2p(false), m_capture(nullptr),
      m_fromGuest(0), m_toGuest(0), m_dropped(0), m_tooLong(0)
{
    NS_LOG_FUNCTION(this);
}

QnsBridge::~QnsBridge()
{
    NS_LOG_FUNCTION(this);
    CloseCapture();
}

bool QnsBridge::Connect(Ptr<NetDevice> bridged, ToGuestCallback toGuest, std::string &err)
{
    NS_LOG_FUNCTION(this << bridged);
    if (m_latency.IsZero()) {
        err = "the bridge has no latency set";
        return false;
    }
    if (toGuest.IsNull()) {
        err = "the bridge has nowhere to send frames for the guest";
        return false;
    }
    if (m_node == nullptr || bridged->GetNode() != m_node) {
        err = "the bridge and the bridged device must be on the same node";
        return false;
    }
    if (!ModeError(m_mode).empty()) {
        err = ModeError(m_mode);
        return false;
    }
    std::string type = bridged->GetInstanceTypeId().GetName();
    if (m_mode == USE_BRIDGE && !bridged->SupportsSendFrom()) {
        err = "Mode UseBridge: the bridged device (" + type +
              ") cannot send frames from the guest's address (no SendFrom); use UseLocal "
              "or Auto";
        return false;
    }
    if (m_mode == AUTO) {
        m_mode = bridged->SupportsSendFrom() ? USE_BRIDGE : USE_LOCAL;
    }
    m_p2p = m_mode == USE_LOCAL && bridged->IsPointToPoint();
    if (m_mode == USE_LOCAL && !m_p2p && !Mac48Address::IsMatchingType(bridged->GetAddress())) {
        err = "Mode UseLocal: the bridged device (" + type + ") has no 48-bit MAC address";
        return false;
    }
    if (m_mode == USE_LOCAL && !m_p2p) {
        m_deviceAddress = Mac48Address::ConvertFrom(bridged->GetAddress());
    }
    m_sink = toGuest;
    m_bridged = bridged;
    m_node->RegisterProtocolHandler(MakeCallback(&QnsBridge::ReceiveFromBridgedDevice, this), 0,
                                    bridged, true);
    const Address deviceAddress = bridged->GetAddress();
    NS_LOG_INFO("guest " << m_address << " bridged onto " << type << " " << deviceAddress
                         << " of node " << m_node->GetId() << " in mode "
                         << (m_mode == USE_BRIDGE ? "UseBridge" : "UseLocal")
                         << (m_p2p ? " (point-to-point: the bridge answers ARP)" : "")
                         << ", latency " << m_latency.As(Time::US));
    return true;
}

QnsBridge::Mode QnsBridge::GetMode() const
{
    NS_LOG_FUNCTION(this);
    return m_mode;
}

std::string QnsBridge::ModeError(Mode mode)
{
    NS_LOG_FUNCTION(mode);
    if (mode != CONFIGURE_LOCAL) {
        return "";
    }
    return "Mode ConfigureLocal is TapBridge's: it creates and configures a TAP device on the "
           "host, and a QnsBridge has none; its other end is the guest's NIC, which the guest "
           "configures itself (its address is the one given to QnsHelper::CreateGuest). "
           "QnsBridge's modes: Auto (the default: UseBridge where the device supports "
           "SendFrom, else UseLocal), UseBridge, UseLocal";
}

bool QnsBridge::EnableCapture(const std::string &path, std::string &err)
{
    NS_LOG_FUNCTION(this << path);
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
    NS_LOG_FUNCTION(this);
    return m_captureError;
}

void QnsBridge::FlushCapture(uint64_t beforeNs)
{
    NS_LOG_FUNCTION(this << beforeNs);
    char e[QNS_ERRBUF_SIZE];
    if (m_capture != nullptr && qns_capture_flush_before(m_capture, beforeNs, e) < 0) {
        CaptureFailed(e);
    }
}

void QnsBridge::CloseCapture()
{
    NS_LOG_FUNCTION(this);
    char e[QNS_ERRBUF_SIZE];
    if (m_capture != nullptr && qns_capture_close(m_capture, e) < 0) {
        CaptureFailed(e);
    }
    m_capture = nullptr;
}

bool QnsBridge::FromGuest(uint64_t timeNs, const uint8_t *data, uint32_t length)
{
    NS_LOG_FUNCTION(this << timeNs << length);
    Time at = NanoSeconds(static_cast<int64_t>(timeNs)) + m_latency;
    if (at < Simulator::Now()) {
        NS_LOG_WARN("a frame the guest sent at " << timeNs << " ns would enter ns-3 at " << at
                                                 << ", in its past");
        return false;
    }
    NS_LOG_DEBUG("guest " << m_address << " sent " << length << " bytes at " << timeNs
                          << " ns: they enter ns-3 at " << at.GetNanoSeconds() << " ns");
    char e[QNS_ERRBUF_SIZE];
    if (m_capture != nullptr && qns_capture_add(m_capture, timeNs, data, length, e) < 0) {
        CaptureFailed(e);
    }
    Ptr<Packet> frame = Create<Packet>(data, length);
    /* An ARP request (type 0x0806) is what AnswerArp answers. */
    bool answered = AnswersGuest() && length >= 14 && data[12] == 0x08 && data[13] == 0x06;
    Simulator::ScheduleWithContext(m_node->GetId(), at - Simulator::Now(),
                                   new QnsBridgeEntry(this, frame, answered));
    return true;
}

bool QnsBridge::AnswersGuest() const
{
    return m_p2p;
}

QnsBridgeEntry::QnsBridgeEntry(QnsBridge *bridge, Ptr<Packet> frame, bool answered)
    : m_bridge(bridge), m_frame(frame), m_answered(answered)
{
}

const QnsBridge *QnsBridgeEntry::GetBridge() const
{
    return m_bridge;
}

bool QnsBridgeEntry::IsAnswered() const
{
    return m_answered;
}

void QnsBridgeEntry::Notify()
{
    m_bridge->ForwardToBridgedDevice(m_frame);
}

void QnsBridge::ForwardToBridgedDevice(Ptr<Packet> frame)
{
    NS_LOG_FUNCTION(this << frame);
    m_fromGuestTrace(frame);
    EthernetHeader eth(false);
    if (frame->GetSize() < eth.GetSerializedSize()) {
        NS_LOG_DEBUG("dropped a guest frame of " << frame->GetSize()
                                                 << " bytes: no Ethernet header");
        m_dropped++;
        m_dropTrace(frame);
        return;
    }
    frame->RemoveHeader(eth);
    uint16_t type = eth.GetLengthType();
    const uint32_t vlanTag = type == 0x8100 ? 4 : 0;
    const uint16_t mtu = GetDeviceMtu();
    if (frame->GetSize() > mtu + vlanTag) {
        /* The device would send it whole (a CSMA one does): not on its link. */
        NS_LOG_DEBUG("dropped a guest frame of " << frame->GetSize()
                                                 << " bytes: the device's MTU is " << mtu);
        m_tooLong++;
        m_dropTrace(frame);
        return;
    }
    if (type <= 1500) {
        /* 802.3 length field: ns-3 devices carry Ethernet II only. */
        NS_LOG_DEBUG("dropped a guest frame with 802.3 length " << type << ": not Ethernet II");
        m_dropped++;
        m_dropTrace(frame);
        return;
    }
    m_fromGuest++;
    NS_LOG_DEBUG("guest frame " << eth.GetSource() << " > " << eth.GetDestination() << " type 0x"
                                << std::hex << type << std::dec << ", " << frame->GetSize()
                                << " bytes, handed to the bridged device");
    if (m_mode == USE_BRIDGE) {
        m_bridged->SendFrom(frame, eth.GetSource(), eth.GetDestination(), type);
    } else if (!m_p2p) {
        if (type == 0x0806) {
            frame = MapArp(frame, m_address, m_deviceAddress);
        }
        m_bridged->Send(frame, eth.GetDestination(), type);
    } else if (type == 0x0806) {
        AnswerArp(frame);
    } else if (type == 0x0800 || type == 0x86DD) {
        m_bridged->Send(frame, m_bridged->GetBroadcast(), type);
    } else {
        NS_LOG_DEBUG("dropped a guest frame of type 0x"
                     << std::hex << type << std::dec << ": point-to-point carries IPv4 and IPv6");
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
    if (arpPayload->RemoveHeader(req) == 0) {
        /* Not Ethernet/IPv4 ARP: ArpHeader reads no further (and leaves
         * its fields unset). */
        return;
    }
    Ipv4Address sender = req.GetSourceIpv4Address();
    Ipv4Address target = req.GetDestinationIpv4Address();
    /* Probes and announcements (RFC 5227) ask about the guest itself. */
    if (!req.IsRequest() || sender == Ipv4Address::GetAny() || sender == target) {
        return;
    }
    NS_LOG_DEBUG("answering the guest's ARP request for " << target
                                                          << " with the device's address");
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

/* The ARP payload with sender and target hardware addresses `from`
 * replaced by `to` (Ethernet/IPv4 ARP only; anything else as it is). */
Ptr<Packet> QnsBridge::MapArp(Ptr<Packet> arpPayload, Mac48Address from, Mac48Address to) const
{
    std::vector<uint8_t> b(arpPayload->GetSize());
    arpPayload->CopyData(b.data(), b.size());
    if (b.size() < 28 || b[0] != 0 || b[1] != 1 || b[2] != 0x08 || b[3] != 0 || b[4] != 6 ||
        b[5] != 4) {
        return arpPayload;
    }
    uint8_t f[6], t[6];
    from.CopyTo(f);
    to.CopyTo(t);
    for (size_t at : {size_t(8), size_t(18)}) { /* sender, target hardware address */
        if (std::memcmp(&b[at], f, 6) == 0) {
            std::memcpy(&b[at], t, 6);
        }
    }
    return Create<Packet>(b.data(), static_cast<uint32_t>(b.size()));
}

void QnsBridge::ToGuest(Ptr<Packet> frame, Time at)
{
    std::vector<uint8_t> bytes(frame->GetSize());
    frame->CopyData(bytes.data(), bytes.size());
    uint64_t atNs = static_cast<uint64_t>(at.GetNanoSeconds());
    NS_LOG_DEBUG("frame of " << bytes.size() << " bytes for guest " << m_address
                             << " reaches it at " << atNs << " ns");
    m_toGuest++;
    m_toGuestTrace(frame);
    char e[QNS_ERRBUF_SIZE];
    if (m_capture != nullptr && qns_capture_add(m_capture, atNs, bytes.data(),
                                                static_cast<uint32_t>(bytes.size()), e) < 0) {
        CaptureFailed(e);
    }
    m_sink(atNs, bytes.data(), static_cast<uint32_t>(bytes.size()));
}

bool QnsBridge::ReceiveFromBridgedDevice(Ptr<NetDevice> device, Ptr<const Packet> packet,
                                         uint16_t protocol, const Address &src, const Address &dst,
                                         NetDevice::PacketType packetType)
{
    NS_LOG_FUNCTION(this << device << packet << protocol << src << dst << packetType);
    (void)device;
    Ptr<Packet> frame = packet->Copy();
    EthernetHeader eth(false);
    if (m_p2p) {
        /* The link is the guest's only peer: it speaks with the device's MAC. */
        eth.SetSource(Mac48Address::ConvertFrom(m_bridged->GetAddress()));
        eth.SetDestination(m_address);
    } else if (m_mode == USE_LOCAL) {
        if (packetType == NetDevice::PACKET_OTHERHOST) {
            NS_LOG_LOGIC("not for the guest: overheard for " << dst);
            return true; /* overheard: the guest is the device's host only */
        }
        Mac48Address to = Mac48Address::ConvertFrom(dst);
        eth.SetSource(Mac48Address::ConvertFrom(src));
        eth.SetDestination(to == m_deviceAddress ? m_address : to);
        if (protocol == 0x0806) {
            frame = MapArp(frame, m_deviceAddress, m_address);
        }
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
    NS_LOG_FUNCTION(this);
    return m_bridged;
}

Time QnsBridge::GetLatency() const
{
    NS_LOG_FUNCTION(this);
    return m_latency;
}

uint64_t QnsBridge::GetFramesFromGuest() const
{
    NS_LOG_FUNCTION(this);
    return m_fromGuest;
}

uint64_t QnsBridge::GetFramesToGuest() const
{
    NS_LOG_FUNCTION(this);
    return m_toGuest;
}

uint64_t QnsBridge::GetFramesTooLong() const
{
    NS_LOG_FUNCTION(this);
    return m_tooLong;
}

uint16_t QnsBridge::GetDeviceMtu() const
{
    NS_LOG_FUNCTION(this);
    return m_bridged ? m_bridged->GetMtu() : 0;
}

void QnsBridge::SetIfIndex(const uint32_t index)
{
    NS_LOG_FUNCTION(this << index);
    m_ifIndex = index;
}

uint32_t QnsBridge::GetIfIndex() const
{
    NS_LOG_FUNCTION(this);
    return m_ifIndex;
}

Ptr<Channel> QnsBridge::GetChannel() const
{
    NS_LOG_FUNCTION(this);
    return nullptr;
}

void QnsBridge::SetAddress(Address address)
{
    NS_LOG_FUNCTION(this << address);
    m_address = Mac48Address::ConvertFrom(address);
}

Address QnsBridge::GetAddress() const
{
    NS_LOG_FUNCTION(this);
    return m_address;
}

bool QnsBridge::SetMtu(const uint16_t mtu)
{
    NS_LOG_FUNCTION(this << mtu);
    m_mtu = mtu;
    return true;
}

uint16_t QnsBridge::GetMtu() const
{
    NS_LOG_FUNCTION(this);
    return m_mtu;
}

bool QnsBridge::IsLinkUp() const
{
    NS_LOG_FUNCTION(this);
    return true;
}

void QnsBridge::AddLinkChangeCallback(Callback<void> callback)
{
    NS_LOG_FUNCTION(this);
    (void)callback;
}

bool QnsBridge::IsBroadcast() const
{
    NS_LOG_FUNCTION(this);
    return true;
}

Address QnsBridge::GetBroadcast() const
{
    NS_LOG_FUNCTION(this);
    return Mac48Address::GetBroadcast();
}

bool QnsBridge::IsMulticast() const
{
    NS_LOG_FUNCTION(this);
    return true;
}

Address QnsBridge::GetMulticast(Ipv4Address multicastGroup) const
{
    NS_LOG_FUNCTION(this << multicastGroup);
    return Mac48Address::GetMulticast(multicastGroup);
}

Address QnsBridge::GetMulticast(Ipv6Address addr) const
{
    NS_LOG_FUNCTION(this << addr);
    return Mac48Address::GetMulticast(addr);
}

bool QnsBridge::IsPointToPoint() const
{
    NS_LOG_FUNCTION(this);
    return false;
}

bool QnsBridge::IsBridge() const
{
    NS_LOG_FUNCTION(this);
    /* Not a BridgeNetDevice: ns-3's global routing casts every device that
     * says it is a bridge to one. Like ns-3's TapBridge, it says no. */
    return false;
}

bool QnsBridge::Send(Ptr<Packet> packet, const Address &dest, uint16_t protocolNumber)
{
    NS_LOG_FUNCTION(this << packet << dest << protocolNumber);
    (void)packet;
    (void)dest;
    (void)protocolNumber;
    /* The ghost node sends nothing of its own. */
    return false;
}

bool QnsBridge::SendFrom(Ptr<Packet> packet, const Address &source, const Address &dest,
                         uint16_t protocolNumber)
{
    NS_LOG_FUNCTION(this << packet << source << dest << protocolNumber);
    (void)packet;
    (void)source;
    (void)dest;
    (void)protocolNumber;
    return false;
}

Ptr<Node> QnsBridge::GetNode() const
{
    NS_LOG_FUNCTION(this);
    return m_node;
}

void QnsBridge::SetNode(Ptr<Node> node)
{
    NS_LOG_FUNCTION(this << node);
    m_node = node;
}

bool QnsBridge::NeedsArp() const
{
    NS_LOG_FUNCTION(this);
    return false;
}

void QnsBridge::SetReceiveCallback(NetDevice::ReceiveCallback cb)
{
    NS_LOG_FUNCTION(this);
    (void)cb;
}

void QnsBridge::SetPromiscReceiveCallback(NetDevice::PromiscReceiveCallback cb)
{
    NS_LOG_FUNCTION(this);
    (void)cb;
}

bool QnsBridge::SupportsSendFrom() const
{
    NS_LOG_FUNCTION(this);
    return false;
}

void QnsBridge::DoDispose()
{
    NS_LOG_FUNCTION(this);
    CloseCapture();
    m_bridged = nullptr;
    m_sink = MakeNullCallback<void, uint64_t, const uint8_t *, uint32_t>();
    m_node = nullptr;
    NetDevice::DoDispose();
}

} // namespace ns3
