/*
 * qns-wifi - checks and ns-3 devices of the C API's Wi-Fi links.
 */
#include "qns-wifi.h"

#include "ns3/core-module.h"
#include "ns3/mobility-module.h"
#include "ns3/network-module.h"
#include "ns3/wifi-module.h"

#include <cstring>

namespace ns3
{

namespace
{

struct Standard {
    const char *name;
    WifiStandard standard;
    const char *controlMode; /* the lowest mandatory OFDM rate of its band */
    /* the rates (WifiMode names) its PHY has, with one antenna */
    std::vector<std::string> rates;
};

std::vector<std::string> Rates(const char *prefix, std::initializer_list<const char *> names)
{
    std::vector<std::string> r;
    for (const char *n : names) {
        r.push_back(std::string(prefix) + n);
    }
    return r;
}

std::vector<std::string> Join(std::initializer_list<std::vector<std::string>> parts)
{
    std::vector<std::string> r;
    for (const auto &p : parts) {
        r.insert(r.end(), p.begin(), p.end());
    }
    return r;
}

const std::vector<Standard> &Standards()
{
    static const auto dsss = Rates("DsssRate", {"1Mbps", "2Mbps", "5_5Mbps", "11Mbps"});
    static const auto erp = Rates("ErpOfdmRate", {"6Mbps", "9Mbps", "12Mbps", "18Mbps", "24Mbps",
                                                  "36Mbps", "48Mbps", "54Mbps"});
    static const auto ofdm = Rates(
        "OfdmRate", {"6Mbps", "9Mbps", "12Mbps", "18Mbps", "24Mbps", "36Mbps", "48Mbps", "54Mbps"});
    static const auto ht = Rates("HtMcs", {"0", "1", "2", "3", "4", "5", "6", "7"});
    static const auto vht = Rates("VhtMcs", {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
    static const std::vector<Standard> all = {
        {"802.11g", WIFI_STANDARD_80211g, "ErpOfdmRate6Mbps", Join({dsss, erp})},
        {"802.11n", WIFI_STANDARD_80211n, "ErpOfdmRate6Mbps", Join({dsss, erp, ht})},
        {"802.11ac", WIFI_STANDARD_80211ac, "OfdmRate6Mbps", Join({ofdm, ht, vht})},
    };
    return all;
}

const Standard *FindStandard(const char *name)
{
    for (const auto &s : Standards()) {
        if (std::strcmp(s.name, name ? name : "802.11n") == 0) {
            return &s;
        }
    }
    return nullptr;
}

bool IsInfrastructure(const qns_link_config &cfg)
{
    return cfg.wifi_mode != nullptr && std::strcmp(cfg.wifi_mode, "infrastructure") == 0;
}

double DistanceM(const qns_link_config &cfg)
{
    return cfg.distance_m == 0 ? 10.0 : cfg.distance_m;
}

/* Radiotap captures that stay reachable to be checked when closed. */
class RadioCapture : public YansWifiPhyHelper
{
public:
    static Ptr<PcapFileWrapper> Hook(Ptr<WifiPhy> phy, const std::string &name)
    {
        PcapHelper helper;
        Ptr<PcapFileWrapper> file =
            helper.CreateFile(name, std::ios::out, PcapHelper::DLT_IEEE802_11_RADIO);
        phy->TraceConnectWithoutContext("MonitorSnifferTx",
                                        MakeBoundCallback(&RadioCapture::PcapSniffTxEvent, file));
        phy->TraceConnectWithoutContext("MonitorSnifferRx",
                                        MakeBoundCallback(&RadioCapture::PcapSniffRxEvent, file));
        return file;
    }
};

} // namespace

bool QnsWifiHasAccessPoint(const qns_link_config &cfg)
{
    return cfg.type == QNS_LINK_WIFI && IsInfrastructure(cfg);
}

namespace
{

/* A link of another type with a Wi-Fi setting, or a Wi-Fi link with a wired
 * one: the first such setting's name, else nullptr. */
const char *MisplacedSetting(const qns_link_config &cfg)
{
    if (cfg.type != QNS_LINK_WIFI) {
        return cfg.wifi_mode      ? "wifi_mode"
               : cfg.standard     ? "standard"
               : cfg.rate_manager ? "rate_manager"
               : cfg.wifi_rate    ? "wifi_rate"
               : cfg.distance_m   ? "distance"
                                  : nullptr;
    }
    return cfg.rate_bps        ? "rate"
           : cfg.delay_ns      ? "delay"
           : cfg.loss != 0     ? "loss"
           : cfg.queue_packets ? "queue"
                               : nullptr;
}

/* wifi_rate, when given: one of the standard's rates. */
bool WifiRateCheck(const qns_link_config &cfg, const Standard &st, const std::string &link,
                   std::string &err)
{
    if (cfg.wifi_rate == nullptr) {
        return true;
    }
    if (cfg.rate_manager != nullptr) {
        err =
            link + "wifi_rate fixes the rate; it does not go with rate_manager " + cfg.rate_manager;
        return false;
    }
    bool known = false;
    std::string list;
    for (const auto &r : st.rates) {
        known |= r == cfg.wifi_rate;
        list += (list.empty() ? "" : " ") + r;
    }
    if (!known) {
        err = link + "wifi_rate '" + cfg.wifi_rate + "' is not a rate of " + st.name +
              " (one antenna): " + list;
        return false;
    }
    return true;
}

} // namespace

bool QnsWifiCheck(const qns_link_config &cfg, const std::string &linkName, std::string &err)
{
    std::string link = "link " + linkName + ": ";
    if (const char *set = MisplacedSetting(cfg)) {
        err = link + set +
              (cfg.type != QNS_LINK_WIFI
                   ? " is a Wi-Fi setting; this link is not type wifi"
                   : " is a wired link's setting; a wifi link has its standard, distance and "
                     "wifi_rate or rate_manager");
        return false;
    }
    if (cfg.type != QNS_LINK_WIFI) {
        return true;
    }
    if (cfg.wifi_mode != nullptr && std::strcmp(cfg.wifi_mode, "adhoc") != 0 &&
        !IsInfrastructure(cfg)) {
        err = link + "unknown wifi_mode '" + cfg.wifi_mode + "'; expected adhoc or infrastructure";
        return false;
    }
    const Standard *st = FindStandard(cfg.standard);
    if (st == nullptr) {
        err =
            link + "unknown standard '" + cfg.standard + "'; expected 802.11g, 802.11n or 802.11ac";
        return false;
    }
    if (!(cfg.distance_m >= 0 && cfg.distance_m <= 1e6)) {
        err = link + "distance must be more than 0 m and at most 1000 km";
        return false;
    }
    if (cfg.rate_manager != nullptr && std::strcmp(cfg.rate_manager, "ideal") != 0 &&
        std::strcmp(cfg.rate_manager, "minstrel") != 0) {
        err = link + "unknown rate_manager '" + cfg.rate_manager + "'; expected ideal or minstrel";
        return false;
    }
    return WifiRateCheck(cfg, *st, link, err);
}

NetDeviceContainer QnsWifiInstall(const qns_link_config &cfg, const std::string &linkName,
                                  const NodeContainer &members, Ptr<Node> ap,
                                  const std::string &prefix,
                                  std::vector<std::pair<std::string, Ptr<PcapFileWrapper>>> &pcaps)
{
    const Standard *st = FindStandard(cfg.standard);
    YansWifiChannelHelper channel = YansWifiChannelHelper::Default();
    YansWifiPhyHelper phy;
    phy.SetChannel(channel.Create());
    WifiHelper wifi;
    wifi.SetStandard(st->standard);
    if (cfg.wifi_rate != nullptr) {
        wifi.SetRemoteStationManager("ns3::ConstantRateWifiManager", "DataMode",
                                     StringValue(cfg.wifi_rate), "ControlMode",
                                     StringValue(st->controlMode));
    } else if (cfg.rate_manager != nullptr && std::strcmp(cfg.rate_manager, "minstrel") == 0) {
        wifi.SetRemoteStationManager(st->standard == WIFI_STANDARD_80211g
                                         ? "ns3::MinstrelWifiManager"
                                         : "ns3::MinstrelHtWifiManager");
    } else {
        wifi.SetRemoteStationManager("ns3::IdealWifiManager");
    }
    WifiMacHelper mac;
    NetDeviceContainer apDev;
    Ssid ssid("qns-" + linkName);
    if (ap != nullptr) {
        mac.SetType("ns3::ApWifiMac", "Ssid", SsidValue(ssid));
        apDev = wifi.Install(phy, mac, ap);
        mac.SetType("ns3::StaWifiMac", "Ssid", SsidValue(ssid));
    } else {
        mac.SetType("ns3::AdhocWifiMac");
    }
    NetDeviceContainer devs = wifi.Install(phy, mac, members);

    MobilityHelper mobility;
    Ptr<ListPositionAllocator> at = CreateObject<ListPositionAllocator>();
    double d = DistanceM(cfg);
    NodeContainer placed;
    if (ap != nullptr) {
        placed.Add(ap);
    }
    placed.Add(members);
    for (uint32_t k = 0; k < placed.GetN(); k++) {
        at->Add(Vector(k * d, 0, 0));
    }
    mobility.SetPositionAllocator(at);
    mobility.SetMobilityModel("ns3::ConstantPositionMobilityModel");
    mobility.Install(placed);

    if (cfg.capture) {
        NetDeviceContainer all(apDev, devs);
        PcapHelper helper;
        for (uint32_t i = 0; i < all.GetN(); i++) {
            Ptr<WifiNetDevice> dev = DynamicCast<WifiNetDevice>(all.Get(i));
            std::string name = helper.GetFilenameFromDevice(prefix, dev);
            pcaps.emplace_back(name, RadioCapture::Hook(dev->GetPhy(), name));
        }
    }
    return devs;
}

} // namespace ns3
