/*
 * QnsGuest - a QEMU guest as an ns-3 Object.
 */
#include "qns-guest.h"

#include "ns3/boolean.h"
#include "ns3/enum.h"
#include "ns3/log.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"

#include <glib.h>

#include <sstream>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("QnsGuest");
NS_OBJECT_ENSURE_REGISTERED(QnsGuest);

TypeId QnsGuest::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::QnsGuest")
            .SetParent<Object>()
            .SetGroupName("Qns")
            .AddConstructor<QnsGuest>()
            .AddAttribute("Name",
                          "The guest's name: 1-32 letters, digits, '-' or '_' (its console "
                          "is NAME.console, its captures NAME-nicN.pcap); \"\": guestN.",
                          StringValue(""), MakeStringAccessor(Field(&QnsGuestSpec::name)),
                          MakeStringChecker())
            .AddAttribute("Qemu",
                          "The qemu-system-x86_64 to run (patched for -qqq); \"\": "
                          "$QNS_QEMU, else the one installed with qns.",
                          StringValue(""), MakeStringAccessor(Field(&QnsGuestSpec::qemu)),
                          MakeStringChecker())
            .AddAttribute("GuestDir",
                          "The default guest image folder (with GUEST-INFO); \"\": "
                          "$QNS_GUEST_DIR, else the one installed with qns.",
                          StringValue(""), MakeStringAccessor(Field(&QnsGuestSpec::guestDir)),
                          MakeStringChecker())
            .AddAttribute("Kernel", "An own kernel instead of the default guest's.",
                          StringValue(""), MakeStringAccessor(Field(&QnsGuestSpec::kernel)),
                          MakeStringChecker())
            .AddAttribute("Initrd", "An own initrd.", StringValue(""),
                          MakeStringAccessor(Field(&QnsGuestSpec::initrd)), MakeStringChecker())
            .AddAttribute("Append", "An own kernel command line (replaces the default guest's).",
                          StringValue(""), MakeStringAccessor(Field(&QnsGuestSpec::append)),
                          MakeStringChecker())
            .AddAttribute("KernelArgs",
                          "Added to the default guest's kernel command line, e.g. "
                          "\"qns.route=10.0.9.0/24,10.0.0.254\".",
                          StringValue(""), MakeStringAccessor(Field(&QnsGuestSpec::kernelArgs)),
                          MakeStringChecker())
            .AddAttribute("Disk", "A disk image, attached as a virtio disk in snapshot mode.",
                          StringValue(""), MakeStringAccessor(Field(&QnsGuestSpec::disk)),
                          MakeStringChecker())
            .AddAttribute("MemoryMb",
                          "Guest memory in MiB (16 .. 1048576); 0: the guest image's (256 for "
                          "the default guest, 512 for a Debian image), 256 for an own kernel.",
                          UintegerValue(0), MakeUintegerAccessor(Field(&QnsGuestSpec::memoryMb)),
                          MakeUintegerChecker<uint32_t>(0, QNS_MEMORY_MB_MAX))
            .AddAttribute("Command",
                          "The shell command the default guest runs once ready; it then "
                          "powers off and reports the command's exit status.",
                          StringValue(""), MakeStringAccessor(Field(&QnsGuestSpec::command)),
                          MakeStringChecker())
            .AddAttribute("Services",
                          "Default guest services to start: udp-echo,tcp-sink,iperf3,httpd.",
                          StringValue(""), MakeStringAccessor(Field(&QnsGuestSpec::services)),
                          MakeStringChecker())
            .AddAttribute("Files",
                          "Own files for the default guest, comma-separated SRC:DST pairs "
                          "(e.g. \"./app:/usr/local/bin/app, ./conf:/etc/app\"): a file or "
                          "a folder, packed into an archive after its initramfs; a relative "
                          "SRC is read from the current folder. Refused with an own Kernel, "
                          "Initrd or a Program. SetFiles takes them as a list.",
                          StringValue(""),
                          MakeStringAccessor(&QnsGuest::SetFilesText, &QnsGuest::GetFilesText),
                          MakeStringChecker())
            .AddAttribute(
                "ExtraArgs", "More QEMU arguments, as shell words (SetExtraArgs takes a list).",
                StringValue(""),
                MakeStringAccessor(&QnsGuest::SetExtraArgsText, &QnsGuest::GetExtraArgsText),
                MakeStringChecker())
            .AddAttribute("IcountShift",
                          "QEMU's -icount shift: a guest instruction takes 2^shift ns of "
                          "virtual time.",
                          UintegerValue(QNS_ICOUNT_SHIFT_DEFAULT),
                          MakeUintegerAccessor(Field(&QnsGuestSpec::icountShift)),
                          MakeUintegerChecker<uint32_t>(0, QNS_ICOUNT_SHIFT_MAX))
            .AddAttribute("Agent",
                          "An own Kernel or Initrd whose init runs the qns guest agent: it gets "
                          "Command, Services and the NICs' addresses after its Append, and its "
                          "console is judged as the default guest's.",
                          BooleanValue(false), MakeBooleanAccessor(Field(&QnsGuestSpec::agent)),
                          MakeBooleanChecker())
            .AddAttribute("Boot",
                          "How the guest starts: Cold boots it from its kernel; "
                          "Snapshot restores it from a snapshot booted once and cached by "
                          "what makes the machine, then delivers this guest's configuration "
                          "(MACs, addresses, command, services) on a configuration disk; "
                          "Auto is Snapshot when the guest can be restored (its image says "
                          "snapshot=yes; no program, own kernel, initrd, append or disk), "
                          "else Cold.",
                          EnumValue(static_cast<int>(QnsBoot::Auto)),
                          MakeEnumAccessor(&QnsGuest::SetBootValue, &QnsGuest::GetBootValue),
                          MakeEnumChecker(static_cast<int>(QnsBoot::Auto), "Auto",
                                          static_cast<int>(QnsBoot::Cold), "Cold",
                                          static_cast<int>(QnsBoot::Snapshot), "Snapshot"))
            .AddAttribute("EndsRun",
                          "The simulation stops once every guest with EndsRun has powered "
                          "off; one that has not by the end of the run fails it.",
                          BooleanValue(false), MakeBooleanAccessor(Field(&QnsGuestSpec::endsRun)),
                          MakeBooleanChecker())
            .AddAttribute("Program",
                          "Test kit: a program to run instead of QEMU, as shell words (it "
                          "gets the -qqq and -netdev options; SetProgram takes a list).",
                          StringValue(""),
                          MakeStringAccessor(&QnsGuest::SetProgramText, &QnsGuest::GetProgramText),
                          MakeStringChecker());
    return tid;
}

QnsGuest::QnsGuest() : m_index(-1)
{
}

QnsGuest::~QnsGuest() = default;

uint32_t QnsGuest::AddNic(const std::string &ipv4, NicModel model, const std::string &mac)
{
    nics.push_back({ipv4, mac, model == E1000 ? QnsNicModel::E1000 : QnsNicModel::Virtio});
    return static_cast<uint32_t>(nics.size() - 1);
}

uint32_t QnsGuest::AddNic(Ipv4Address address, Ipv4Mask mask, NicModel model, Mac48Address mac)
{
    std::ostringstream ipv4, text;
    ipv4 << address << "/" << mask.GetPrefixLength();
    if (mac != Mac48Address()) {
        text << mac;
    }
    return AddNic(ipv4.str(), model, text.str());
}

uint32_t QnsGuest::GetNicCount() const
{
    return static_cast<uint32_t>(nics.size());
}

namespace
{

std::string ShellWords(const std::vector<std::string> &words)
{
    std::string s;
    for (const auto &w : words) {
        gchar *q = g_shell_quote(w.c_str());
        s += (s.empty() ? "" : " ") + std::string(q);
        g_free(q);
    }
    return s;
}

/* text split as a shell would: "" when it is, else why not. */
std::string SplitWords(const std::string &text, std::vector<std::string> &words)
{
    words.clear();
    if (text.find_first_not_of(" \t\n") == std::string::npos) {
        return "";
    }
    gchar **v = nullptr;
    GError *ge = nullptr;
    if (!g_shell_parse_argv(text.c_str(), nullptr, &v, &ge)) {
        std::string why = "cannot split '" + text + "': " + ge->message;
        g_error_free(ge);
        return why;
    }
    words.assign(v, v + g_strv_length(v));
    g_strfreev(v);
    return "";
}

} // namespace

void QnsGuest::SetBootValue(int value)
{
    boot = static_cast<QnsBoot>(value);
}

int QnsGuest::GetBootValue() const
{
    return static_cast<int>(boot);
}

void QnsGuest::SetExtraArgsText(std::string text)
{
    m_extraArgsError = SplitWords(text, extraArgs);
}

std::string QnsGuest::GetExtraArgsText() const
{
    return ShellWords(extraArgs);
}

void QnsGuest::SetProgramText(std::string text)
{
    hasProgram = !text.empty(); /* " ": a program of no words (refused) */
    m_programError = SplitWords(text, program);
}

std::string QnsGuest::GetProgramText() const
{
    return hasProgram ? (program.empty() ? " " : ShellWords(program)) : "";
}

void QnsGuest::SetFilesText(std::string text)
{
    files.clear();
    if (text.find_first_not_of(" \t\n") == std::string::npos) {
        return;
    }
    gchar **parts = g_strsplit(text.c_str(), ",", -1);
    for (gchar **p = parts; *p; p++) {
        files.emplace_back(g_strstrip(*p)); /* an empty one is a mistake to name */
    }
    g_strfreev(parts);
}

std::string QnsGuest::GetFilesText() const
{
    std::string s;
    for (const auto &f : files) {
        s += (s.empty() ? "" : ", ") + f;
    }
    return s;
}

void QnsGuest::SetExtraArgs(const std::vector<std::string> &args)
{
    extraArgs = args;
    m_extraArgsError.clear();
}

void QnsGuest::SetProgram(const std::vector<std::string> &argv)
{
    hasProgram = true;
    program = argv;
    m_programError.clear();
}

void QnsGuest::SetFiles(const std::vector<std::string> &list)
{
    files = list;
}

void QnsGuest::SetDiskBacking(const std::vector<std::string> &list)
{
    diskBacking = list;
}

void QnsGuest::SetSpec(const QnsGuestSpec &spec)
{
    static_cast<QnsGuestSpec &>(*this) = spec;
    m_extraArgsError.clear();
    m_programError.clear();
}

const QnsGuestSpec &QnsGuest::GetSpec() const
{
    return *this;
}

bool QnsGuest::Prepare(int index, uint32_t seed, uint32_t spinUs, const std::string &outDir,
                       std::string &err)
{
    /* A quoting mistake in a text attribute; every other check is the
     * description's own (QnsGuestSpecCheck). */
    std::string who = "guest " + QnsGuestName(GetSpec(), index);
    if (!m_extraArgsError.empty() || !m_programError.empty()) {
        err = who + (m_extraArgsError.empty() ? ": Program: " + m_programError
                                              : ": ExtraArgs: " + m_extraArgsError);
        return false;
    }
    QnsGuestDesc d;
    if (!QnsGuestDescribe(GetSpec(), index, seed, spinUs, true, outDir, d, err)) {
        return false;
    }
    m_desc = d;
    m_index = index;
    return true;
}

bool QnsGuest::IsPrepared() const
{
    return m_index >= 0;
}

int QnsGuest::GetIndex() const
{
    return m_index;
}

std::string QnsGuest::GetName() const
{
    return IsPrepared() ? m_desc.name : name;
}

const QnsGuestDesc &QnsGuest::GetDescription() const
{
    return m_desc;
}

std::string QnsGuest::GetMac(uint32_t nic) const
{
    return IsPrepared() && nic < m_desc.macs.size() ? m_desc.macs[nic] : "";
}

std::string QnsGuest::GetIpv4(uint32_t nic) const
{
    return nic < nics.size() ? nics[nic].ipv4 : "";
}

} // namespace ns3
