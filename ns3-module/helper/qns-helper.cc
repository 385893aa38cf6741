/*
 * QnsHelper - puts QEMU guests into an ns-3 program.
 */
#include "qns-helper.h"

#include "ns3/boolean.h"
#include "ns3/simulator.h"
#include "ns3/string.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

namespace ns3
{

QnsHelper::QnsHelper() : m_run(CreateObject<QnsGuestRun>())
{
    m_bridgeFactory.SetTypeId(QnsBridge::GetTypeId());
}

void QnsHelper::SetSchedulerAttribute(const std::string &name, const AttributeValue &value)
{
    m_run->GetScheduler()->SetAttribute(name, value);
}

void QnsHelper::SetBridgeAttribute(const std::string &name, const AttributeValue &value)
{
    m_bridgeFactory.Set(name, value);
}

void QnsHelper::SetOutputDirectory(const std::string &dir)
{
    m_run->SetOutputDirectory(dir);
}

void QnsHelper::EnablePcap(bool on)
{
    m_run->SetCapture(on);
}

Ptr<QnsGuest> QnsHelper::CreateGuest(const std::string &name, const std::string &ipv4,
                                     const std::string &command) const
{
    Ptr<QnsGuest> g = CreateObjectWithAttributes<QnsGuest>("Name", StringValue(name), "Command",
                                                           StringValue(command), "EndsRun",
                                                           BooleanValue(!command.empty()));
    g->AddNic(ipv4);
    return g;
}

Ptr<QnsBridge> QnsHelper::Install(Ptr<QnsGuest> guest, uint32_t nic, Ptr<NetDevice> device,
                                  std::string &err)
{
    return m_run->Install(guest, nic, device, m_bridgeFactory, err);
}

Ptr<QnsBridge> QnsHelper::Install(Ptr<QnsGuest> guest, uint32_t nic, Ptr<NetDevice> device)
{
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
    return m_run;
}

Ptr<QnsSyncScheduler> QnsHelper::GetScheduler() const
{
    return m_run->GetScheduler();
}

bool QnsHelper::Finish(std::string &err)
{
    return m_run->Finish(err);
}

int QnsHelper::Conclude(const std::string &program)
{
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
