/*
 * QnsHelper - puts QEMU guests into an ns-3 program.
 */
#include "qns-helper.h"

#include "ns3/boolean.h"
#include "ns3/log.h"
#include "ns3/simulator.h"
#include "ns3/string.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("QnsHelper");

namespace
{

/* Whether the program set a default of its own for attribute `name` of
 * `tid` (Config::SetDefault, CommandLine's --ns3::TYPE::NAME=VALUE, or the
 * environment's NS_ATTRIBUTE_DEFAULT), even one equal to the attribute's
 * own default: qns then leaves the attribute to it. */
bool DefaultIsSet(TypeId tid, const std::string &name)
{
    TypeId::AttributeInformation info;
    if (!tid.LookupAttributeByName(name, &info)) {
        return false;
    }
    /* Config::SetDefault stores a new value; Config::Reset the original. */
    if (info.initialValue != info.originalInitialValue) {
        return true;
    }
    const char *env = std::getenv("NS_ATTRIBUTE_DEFAULT");
    const std::string key = tid.GetName() + "::" + name + "=";
    for (std::string rest = env ? env : ""; !rest.empty();) {
        size_t end = rest.find(';');
        if (rest.compare(0, key.size(), key) == 0) {
            return true;
        }
        rest = end == std::string::npos ? "" : rest.substr(end + 1);
    }
    return false;
}

} // namespace

QnsHelper::QnsHelper() : m_run(CreateObject<QnsGuestRun>())
{
    NS_LOG_FUNCTION(this);
    m_bridgeFactory.SetTypeId(QnsBridge::GetTypeId());
}

void QnsHelper::SetSchedulerAttribute(const std::string &name, const AttributeValue &value)
{
    NS_LOG_FUNCTION(this << name);
    m_run->GetScheduler()->SetAttribute(name, value);
}

void QnsHelper::SetBridgeAttribute(const std::string &name, const AttributeValue &value)
{
    NS_LOG_FUNCTION(this << name);
    m_bridgeFactory.Set(name, value);
}

void QnsHelper::SetOutputDirectory(const std::string &dir)
{
    NS_LOG_FUNCTION(this << dir);
    m_run->SetOutputDirectory(dir);
}

void QnsHelper::EnablePcap(bool on)
{
    NS_LOG_FUNCTION(this << on);
    m_run->SetCapture(on);
}

Ptr<QnsGuest> QnsHelper::CreateGuest(const std::string &name, const std::string &ipv4,
                                     const std::string &command) const
{
    return CreateGuest(name, ipv4, command, QnsGuest::VIRTIO, "");
}

Ptr<QnsGuest> QnsHelper::CreateGuest(const std::string &name, const std::string &ipv4,
                                     const std::string &command, QnsGuest::NicModel model,
                                     const std::string &mac) const
{
    NS_LOG_FUNCTION(this << name << ipv4 << command << model << mac);
    ObjectFactory guest(QnsGuest::GetTypeId().GetName());
    guest.Set("Name", StringValue(name));
    guest.Set("Command", StringValue(command));
    if (!DefaultIsSet(QnsGuest::GetTypeId(), "EndsRun")) {
        guest.Set("EndsRun", BooleanValue(!command.empty()));
    }
    Ptr<QnsGuest> g = guest.Create<QnsGuest>();
    g->AddNic(ipv4, model, mac);
    return g;
}

Ptr<QnsBridge> QnsHelper::Install(Ptr<QnsGuest> guest, uint32_t nic, Ptr<NetDevice> device,
                                  std::string &err)
{
    NS_LOG_FUNCTION(this << guest << nic << device);
    return m_run->Install(guest, nic, device, m_bridgeFactory, err);
}

Ptr<QnsBridge> QnsHelper::Install(Ptr<QnsGuest> guest, uint32_t nic, Ptr<NetDevice> device)
{
    NS_LOG_FUNCTION(this << guest << nic << device);
    std::string err;
    Ptr<QnsBridge> b = Install(guest, nic, device, err);
    if (!b) {
        std::fprintf(stderr, "qns: %s\n", err.c_str());
        std::exit(1);
    }
    return b;
}

Ptr<QnsGuestRun> QnsHelper::GetRun() const
{
    NS_LOG_FUNCTION(this);
    return m_run;
}

Ptr<QnsSyncScheduler> QnsHelper::GetScheduler() const
{
    NS_LOG_FUNCTION(this);
    return m_run->GetScheduler();
}

bool QnsHelper::Finish(std::string &err)
{
    NS_LOG_FUNCTION(this);
    return m_run->Finish(err);
}

int QnsHelper::Conclude(const std::string &program)
{
    NS_LOG_FUNCTION(this << program);
    std::string err;
    bool ok = Finish(err);
    Ptr<QnsSyncScheduler> sched = GetScheduler();
    int64_t ns = Simulator::Now().GetNanoSeconds();
    std::printf("%s: ended at %" PRId64 ".%06" PRId64 " s, %" PRIu64 " rounds, %" PRIu64
                " late frames\n",
                program.c_str(), ns / 1000000000, ns % 1000000000 / 1000, sched->GetRounds(),
                sched->GetLateFrames());
    if (!ok) {
        std::fprintf(stderr, "%s: %s\n", program.c_str(), err.c_str());
    }
    std::fflush(nullptr);
    return ok ? 0 : 1;
}

} // namespace ns3
