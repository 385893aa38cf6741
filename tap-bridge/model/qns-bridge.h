/*
 * QnsBridge - a NetDevice on a ghost node that bridges one guest NIC onto
 * an ns-3 device, like ns-3's TapBridge in UseBridge mode, with a fixed
 * bridge latency L >= the scheduler's quantum: a frame the guest sent at s
 * enters ns-3 at exactly s + L; a frame ns-3 delivers to the bridged device
 * at r reaches the guest NIC at exactly r + L (DESIGN.md section 4). It can
 * write the guest-side capture (guest timestamps, nanoseconds).
 *
 * On a point-to-point device, whose PPP framing carries no Ethernet
 * addresses and no ARP, the bridge answers the guest's ARP requests with the
 * device's own MAC (the reply reaches the guest 2L after its request) and
 * addresses every frame from the link to the guest's MAC.
 */
#ifndef QNS_BRIDGE_H
#define QNS_BRIDGE_H

#include "qns_capture.h"

#include "ns3/mac48-address.h"
#include "ns3/net-device.h"
#include "ns3/node.h"
#include "ns3/nstime.h"
#include "ns3/packet.h"
#include "ns3/traced-callback.h"

#include <string>

namespace ns3
{

class QnsSyncScheduler;

class QnsBridge : public NetDevice
{
  public:
    static TypeId GetTypeId();
    QnsBridge();
    ~QnsBridge() override;

    /*
     * Connects guest NIC (guest, nic) of the scheduler to `bridged`, a device
     * on the same (ghost) node, which is put in promiscuous mode. Returns
     * false with the reason in `err` (latency below the quantum, a device
     * that cannot send from other addresses, ...).
     */
    bool Connect(Ptr<QnsSyncScheduler> scheduler, int guest, int nic, Ptr<NetDevice> bridged,
                 std::string &err);

    /* Writes the guest-side pcap to `path` (nanosecond timestamps). */
    bool EnableCapture(const std::string &path, std::string &err);
    void FlushCapture(uint64_t beforeNs);
    void CloseCapture();
    /* The capture's first write error ("capture PATH: write failed: ..."),
     * empty while it has none; the scheduler stops the run on it. */
    const std::string &GetCaptureError() const;

    /* Called by the scheduler with a frame the guest sent at timeNs; false
     * (and nothing done) when timeNs + latency is already past. */
    bool FromGuest(uint64_t timeNs, const uint8_t *data, uint32_t length);

    Ptr<NetDevice> GetBridgedNetDevice() const;
    Time GetLatency() const;
    uint64_t GetFramesFromGuest() const;
    uint64_t GetFramesToGuest() const;

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
    bool ReceiveFromBridgedDevice(Ptr<NetDevice> device, Ptr<const Packet> packet,
                                  uint16_t protocol, const Address &src, const Address &dst,
                                  NetDevice::PacketType packetType);
    void ForwardToBridgedDevice(Ptr<Packet> frame);
    void AnswerArp(Ptr<Packet> arpPayload);
    void ToGuest(Ptr<Packet> frame, Time at);
    void CaptureFailed(const char *why);

    Time m_latency;
    Ptr<Node> m_node;
    Ptr<NetDevice> m_bridged;
    Ptr<QnsSyncScheduler> m_scheduler;
    int m_guest;
    int m_nic;
    uint32_t m_ifIndex;
    uint16_t m_mtu;
    bool m_p2p; /* bridged device is point-to-point: answer ARP, map MACs */
    Mac48Address m_address;
    qns_capture *m_capture;
    std::string m_captureError;
    uint64_t m_fromGuest;
    uint64_t m_toGuest;
    uint64_t m_dropped;
    TracedCallback<Ptr<const Packet>> m_fromGuestTrace;
    TracedCallback<Ptr<const Packet>> m_toGuestTrace;
    TracedCallback<Ptr<const Packet>> m_dropTrace;
};

} // namespace ns3

#endif
