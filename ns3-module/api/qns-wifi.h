/*
 * qns-wifi - Wi-Fi links of the C API: the checks of a link's Wi-Fi
 * settings (the one place they live; the runner only adds FILE:LINE:) and
 * the ns-3 devices of such a link: a YansWifiChannel with ns-3's default
 * log-distance loss, members on a line with constant positions, every
 * member an ad-hoc station, or stations of an access point qns adds.
 */
#ifndef QNS_WIFI_H
#define QNS_WIFI_H

#include "qns.h"

#include "ns3/net-device-container.h"
#include "ns3/node-container.h"
#include "ns3/pcap-file-wrapper.h"

#include <string>
#include <utility>
#include <vector>

namespace ns3
{

/* A Wi-Fi setting on a link that is not Wi-Fi, a wired setting on one that
 * is, an unknown mode, standard, rate manager or rate, a rate with a rate
 * manager, a bad distance: false with a line naming the link and the
 * setting in `err`. */
bool QnsWifiCheck(const qns_link_config &cfg, const std::string &linkName, std::string &err);

/* Whether the link has an access point qns adds (infrastructure mode). */
bool QnsWifiHasAccessPoint(const qns_link_config &cfg);

/*
 * Installs the link's devices on `members` (device k on member k) and, in
 * infrastructure mode, an access point on `ap`. The AP stands at x = 0 and
 * member k at x = (k + 1) * distance; ad hoc, member k stands at
 * x = k * distance. With cfg.capture, each device's radio (radiotap) pcap is
 * PREFIX-NODE-DEVICE.pcap, its file appended to `pcaps` to be checked
 * when it is closed.
 */
NetDeviceContainer QnsWifiInstall(const qns_link_config &cfg, const std::string &linkName,
                                  const NodeContainer &members, Ptr<Node> ap,
                                  const std::string &prefix,
                                  std::vector<std::pair<std::string, Ptr<PcapFileWrapper>>> &pcaps);

} // namespace ns3

#endif
