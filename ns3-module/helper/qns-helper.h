/*
 * QnsHelper - puts QEMU guests into an ns-3 program, in the manner of
 * ns-3's TapBridgeHelper: Install(guest, nic, device) bridges a guest NIC
 * onto any ns-3 NetDevice (CSMA, point-to-point, Wi-Fi station, access
 * point or ad-hoc device, ...), whose node becomes the guest's ghost node.
 *
 *   QnsHelper qns;
 *   Ptr<QnsGuest> h1 = qns.CreateGuest("h1", "10.1.1.1/24", "ping -c 3 10.1.1.2");
 *   qns.Install(h1, 0, devices.Get(0));
 *
 * The program keeps its own Simulator::Stop, Run and Destroy (see
 * QnsGuestRun for what qns checks of the simulator's settings, and how a
 * failed run ends the program when nobody asks). One helper (or copies of
 * it, which share its guests) per simulation.
 */
#ifndef QNS_HELPER_H
#define QNS_HELPER_H

#include "qns-guest-run.h"

#include "ns3/net-device-container.h"

#include <string>

namespace ns3
{

class QnsHelper
{
public:
    QnsHelper();

    /* Attributes of the round scheduler (QnsSyncScheduler: Quantum,
     * Adaptive, WatchdogMs, SpinUs, Pin, ...); before the first Install.
     * Those not set here have their defaults, which the program may set
     * (Config::SetDefault, --ns3::QnsSyncScheduler::Quantum=1ms). */
    void SetSchedulerAttribute(const std::string &name, const AttributeValue &value);
    /* Attributes of the bridges later Install calls make (QnsBridge:
     * Latency, Mode). */
    void SetBridgeAttribute(const std::string &name, const AttributeValue &value);
    /* Consoles and guest-side captures go here (default "."). */
    void SetOutputDirectory(const std::string &dir);
    /* Guest-side captures NAME-nicN.pcap of every guest NIC (default on). */
    void EnablePcap(bool on);

    /* The default guest named `name` with one NIC at ipv4 ("" for none),
     * running `command` and ending the run once it has powered off (a
     * command "" leaves the guest up until the run ends); a default the
     * program set for the QnsGuest attribute EndsRun (Config::SetDefault,
     * --ns3::QnsGuest::EndsRun) holds for every guest instead. */
    Ptr<QnsGuest> CreateGuest(const std::string &name, const std::string &ipv4,
                              const std::string &command) const;
    /* The same with NIC 0's model and MAC ("": 52:54:00:GG:GG:01); more NICs
     * come from QnsGuest::AddNic. */
    Ptr<QnsGuest> CreateGuest(const std::string &name, const std::string &ipv4,
                              const std::string &command, QnsGuest::NicModel model,
                              const std::string &mac) const;

    /* Bridges guest NIC `nic` onto `device`. The bridge, or null with the
     * reason in err. */
    Ptr<QnsBridge> Install(Ptr<QnsGuest> guest, uint32_t nic, Ptr<NetDevice> device,
                           std::string &err);
    /* The same; a mistake ends the program with the reason on stderr and
     * status 1 (no guest has started yet). */
    Ptr<QnsBridge> Install(Ptr<QnsGuest> guest, uint32_t nic, Ptr<NetDevice> device);

    Ptr<QnsGuestRun> GetRun() const;
    Ptr<QnsSyncScheduler> GetScheduler() const;

    /* After Simulator::Run: see QnsGuestRun::Finish. */
    bool Finish(std::string &err);
    /* Finish, then "PROGRAM: ended at T s, N rounds, M late frames" on
     * stdout and, when the run failed, "PROGRAM: REASON" on stderr; the exit
     * status for main: 0, or 1 when it failed. */
    int Conclude(const std::string &program);

private:
    Ptr<QnsGuestRun> m_run;
    ObjectFactory m_bridgeFactory;
};

} // namespace ns3

#endif
