/*
 * QnsBridge - a NetDevice on a ghost node that bridges one guest NIC onto
 * an ns-3 device, like ns-3's TapBridge, with a fixed bridge latency L: a
 * frame the guest sent at s enters ns-3 at exactly s + L; a frame ns-3
 * delivers to the bridged device at r reaches the guest NIC at exactly
 * r + L (DESIGN.md section 4). It can write the guest-side capture (guest
 * timestamps, nanoseconds).
 *
 * A guest frame longer than the bridged device carries (its MTU + 14 bytes
 * of Ethernet header, + 4 when it is 802.1Q-tagged) is dropped where it
 * would enter ns-3 and counted (GetFramesTooLong): it never reaches the
 * device, its captures or the link. It did leave the guest, so the
 * guest-side capture has it.
 *
 * The bridge knows nothing of who runs the guest: frames for the guest go to
 * the sink given to Connect, frames from the guest come in through
 * FromGuest. Whoever feeds guests checks that L is never in a guest's past.
 *
 * Modes (Attribute Mode):
 * - UseBridge: frames go out with the guest's own source address
 *   (SendFrom), the device captures promiscuously; for devices with
 *   SupportsSendFrom (CSMA, a Wi-Fi access point).
 * - UseLocal: for devices without SendFrom (a Wi-Fi station, an ad-hoc Wi-Fi
 *   device, ...). The ns-3 side sees only the device's own MAC: frames go out
 *   with Send(); frames the device receives for its MAC reach the guest
 *   addressed to the guest's MAC (the bridge's address), and the hardware
 *   addresses in ARP payloads are mapped the same way (guest's MAC to the
 *   device's on the way out, back on the way in), so ARP resolves the
 *   guest's IPv4 address to the device's MAC on the ns-3 side. Frames the
 *   device overhears for other hosts are not passed on.
 *   On a point-to-point device, whose PPP framing carries no Ethernet
 *   addresses and no ARP, the bridge answers the guest's ARP requests with
 *   the device's own MAC (the reply reaches the guest 2L after its request)
 *   and addresses every frame from the link to the guest's MAC.
 * - Auto (default): UseBridge where the device supports SendFrom, else
 *   UseLocal.
 * - ConfigureLocal, TapBridge's default, is a name the attribute takes only
 *   to refuse it with a reason (Connect, so QnsHelper::Install): TapBridge
 *   creates and configures a host TAP device in it, and a QnsBridge has
 *   none; its other end is the guest's NIC.
 */
#ifndef QNS_BRIDGE_H
#define QNS_BRIDGE_H

#include "qns_capture.h"

#include "ns3/event-impl.h"
#include "ns3/mac48-address.h"
#include "ns3/net-device.h"
#include "ns3/node.h"
#include "ns3/nstime.h"
#include "ns3/packet.h"
#include "ns3/traced-callback.h"

#include <string>

namespace ns3
{

class QnsBridge : public NetDevice
{
public:
    enum Mode {
        AUTO,
        USE_BRIDGE,
        USE_LOCAL,
        CONFIGURE_LOCAL, /* refused by Connect (ModeError) */
    };

    /* Where frames for the guest go: (delivery instant in ns, frame bytes,
     * length), the instant being exactly L after ns-3 handed the frame over. */
    typedef Callback<void, uint64_t, const uint8_t *, uint32_t> ToGuestCallback;

    static TypeId GetTypeId();
    QnsBridge();
    ~QnsBridge() override;

    /*
     * Connects the guest NIC behind `toGuest` to `bridged`, a device on the
     * same (ghost) node, in the mode the Mode attribute asks for. Set the
     * Latency attribute and the bridge's address (the guest NIC's MAC)
     * first. Returns false with the reason in `err` (no latency, a device that
     * cannot send from the guest's address in UseBridge, ...).
     */
    bool Connect(Ptr<NetDevice> bridged, ToGuestCallback toGuest, std::string &err);
    /* The mode in use once connected (never AUTO). */
    Mode GetMode() const;
    /* Why `mode` cannot be connected ("" when it can): the message Connect
     * gives for it. */
    static std::string ModeError(Mode mode);

    /* Writes the guest-side pcap to `path` (nanosecond timestamps). */
    bool EnableCapture(const std::string &path, std::string &err);
    void FlushCapture(uint64_t beforeNs);
    void CloseCapture();
    /* The capture's first write error ("capture PATH: write failed: ..."),
     * empty while it has none; the scheduler stops the run on it. */
    const std::string &GetCaptureError() const;

    /* A frame the guest sent at timeNs; false (and nothing done) when
     * timeNs + latency is already past. */
    bool FromGuest(uint64_t timeNs, const uint8_t *data, uint32_t length);

    Ptr<NetDevice> GetBridgedNetDevice() const;
    Time GetLatency() const;
    /* Whether the bridge itself answers some guest frames (ARP requests on
     * point-to-point): such an answer reaches the guest 2L after the frame. */
    bool AnswersGuest() const;
    uint64_t GetFramesFromGuest() const;
    uint64_t GetFramesToGuest() const;
    /* Guest frames dropped because they were longer than the bridged device
     * carries: its MTU + 14 bytes of Ethernet header (+ 4 for an 802.1Q
     * tag). */
    uint64_t GetFramesTooLong() const;
    /* The bridged device's MTU; 0 before Connect. */
    uint16_t GetDeviceMtu() const;

    // NetDevice
    void SetIfIndex(const uint32_t index) override;
    uint32_t GetIfIndex() const override;
    Ptr<Channel> GetChannel() const override;
    void SetAddress(Address address) override;
    Address GetAddress() const override;
    bool SetMtu(const uint16_t mtu) override;
    uint16_t GetMtu() const override;
    bool IsLinkUp() const override;
    void AddLinkChangeCallback(Callback<void> callback) override;
    bool IsBroadcast() const override;
    Address GetBroadcast() const override;
    bool IsMulticast() const override;
    Address GetMulticast(Ipv4Address multicastGroup) const override;
    Address GetMulticast(Ipv6Address addr) const override;
    bool IsPointToPoint() const override;
    bool IsBridge() const override;
    bool Send(Ptr<Packet> packet, const Address &dest, uint16_t protocolNumber) override;
    bool SendFrom(Ptr<Packet> packet, const Address &source, const Address &dest,
                  uint16_t protocolNumber) override;
    Ptr<Node> GetNode() const override;
    void SetNode(Ptr<Node> node) override;
    bool NeedsArp() const override;
    void SetReceiveCallback(NetDevice::ReceiveCallback cb) override;
    void SetPromiscReceiveCallback(NetDevice::PromiscReceiveCallback cb) override;
    bool SupportsSendFrom() const override;

protected:
    void DoDispose() override;

private:
    friend class QnsBridgeEntry;
    bool ReceiveFromBridgedDevice(Ptr<NetDevice> device, Ptr<const Packet> packet,
                                  uint16_t protocol, const Address &src, const Address &dst,
                                  NetDevice::PacketType packetType);
    void ForwardToBridgedDevice(Ptr<Packet> frame);
    void AnswerArp(Ptr<Packet> arpPayload);
    Ptr<Packet> MapArp(Ptr<Packet> arpPayload, Mac48Address from, Mac48Address to) const;
    void ToGuest(Ptr<Packet> frame, Time at);
    void CaptureFailed(const char *why);

    Time m_latency;
    Ptr<Node> m_node;
    Ptr<NetDevice> m_bridged;
    ToGuestCallback m_sink;
    Mode m_mode;
    uint32_t m_ifIndex;
    uint16_t m_mtu;
    bool m_p2p; /* UseLocal on point-to-point: answer ARP, map MACs */
    Mac48Address m_address;
    Mac48Address m_deviceAddress; /* UseLocal: the bridged device's MAC */
    qns_capture *m_capture;
    std::string m_captureError;
    uint64_t m_fromGuest;
    uint64_t m_toGuest;
    uint64_t m_dropped;
    uint64_t m_tooLong;
    TracedCallback<Ptr<const Packet>> m_fromGuestTrace;
    TracedCallback<Ptr<const Packet>> m_toGuestTrace;
    TracedCallback<Ptr<const Packet>> m_dropTrace;
};

/*
 * The event by which a guest frame enters ns-3 at its bridge, at s + L,
 * scheduled in the context of the bridge's node. Its own type lets the
 * round scheduler's lookahead (QnsPeekScheduler) tell it from the node's
 * other events: it reaches its own guest again only if the bridge answers
 * it (IsAnswered) or through the bridged device's link and back.
 */
class QnsBridgeEntry : public EventImpl
{
public:
    QnsBridgeEntry(QnsBridge *bridge, Ptr<Packet> frame, bool answered);
    const QnsBridge *GetBridge() const;
    bool IsAnswered() const;

protected:
    void Notify() override;

private:
    QnsBridge *m_bridge;
    Ptr<Packet> m_frame;
    bool m_answered;
};

} // namespace ns3

#endif
