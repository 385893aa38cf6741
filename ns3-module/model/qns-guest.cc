/*
 * QnsGuest - a QEMU guest as an ns-3 Object.
 */
#include "qns-guest.h"

#include "ns3/boolean.h"
#include "ns3/log.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"

#include <glib.h>

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
                          StringValue(""), MakeStringAccessor(&QnsGuest::m_name),
                          MakeStringChecker())
            .AddAttribute("Qemu",
                          "The qemu-system-x86_64 to run (patched for -qqq); \"\": "
                          "$QNS_QEMU, else the one installed with qns.",
                          StringValue(""), MakeStringAccessor(&QnsGuest::m_qemu),
                          MakeStringChecker())
            .AddAttribute("GuestDir",
                          "The default guest image folder (with GUEST-INFO); \"\": "
                          "$QNS_GUEST_DIR, else the one installed with qns.",
                          StringValue(""), MakeStringAccessor(&QnsGuest::m_guestDir),
                          MakeStringChecker())
            .AddAttribute("Kernel", "An own kernel instead of the default guest's.",
                          StringValue(""), MakeStringAccessor(&QnsGuest::m_kernel),
                          MakeStringChecker())
            .AddAttribute("Initrd", "An own initrd.", StringValue(""),
                          MakeStringAccessor(&QnsGuest::m_initrd), MakeStringChecker())
            .AddAttribute("Append", "An own kernel command line (replaces the default guest's).",
                          StringValue(""), MakeStringAccessor(&QnsGuest::m_append),
                          MakeStringChecker())
            .AddAttribute("KernelArgs",
                          "Added to the default guest's kernel command line, e.g. "
                          "\"qns.route=10.0.9.0/24,10.0.0.254\".",
                          StringValue(""), MakeStringAccessor(&QnsGuest::m_kernelArgs),
                          MakeStringChecker())
            .AddAttribute("Disk", "A disk image, attached as a virtio disk in snapshot mode.",
                          StringValue(""), MakeStringAccessor(&QnsGuest::m_disk),
                          MakeStringChecker())
            .AddAttribute("MemoryMb",
                          "Guest memory in MiB; 0: the guest image's (256 for the default "
                          "guest, 512 for a Debian image), 256 for an own kernel.",
                          UintegerValue(0), MakeUintegerAccessor(&QnsGuest::m_memoryMb),
                          MakeUintegerChecker<uint32_t>(0, 1 << 20))
            .AddAttribute("Command",
                          "The shell command the default guest runs once ready; it then "
                          "powers off and reports the command's exit status.",
                          StringValue(""), MakeStringAccessor(&QnsGuest::m_command),
                          MakeStringChecker())
            .AddAttribute(
                "Services", "Default guest services to start: udp-echo,tcp-sink,iperf3,httpd.",
                StringValue(""), MakeStringAccessor(&QnsGuest::m_services), MakeStringChecker())
            .AddAttribute("Files",
                          "Own files for the default guest, comma-separated SRC:DST pairs "
                          "(e.g. \"./app:/usr/local/bin/app, ./conf:/etc/app\"): a file or "
                          "a folder, packed into an archive after its initramfs; a relative "
                          "SRC is read from the current folder. Refused with an own Kernel, "
                          "Initrd or a Program.",
                          StringValue(""), MakeStringAccessor(&QnsGuest::m_files),
                          MakeStringChecker())
            .AddAttribute("ExtraArgs", "More QEMU arguments, as shell words.", StringValue(""),
                          MakeStringAccessor(&QnsGuest::m_extraArgs), MakeStringChecker())
            .AddAttribute("IcountShift",
                          "QEMU's -icount shift: a guest instruction takes 2^shift ns of "
                          "virtual time.",
                          UintegerValue(1), MakeUintegerAccessor(&QnsGuest::m_icountShift),
                          MakeUintegerChecker<uint32_t>(0, 9))
            .AddAttribute("Agent",
                          "An own Kernel or Initrd whose init runs the qns guest agent: it gets "
                          "Command, Services and the NICs' addresses after its Append, and its "
                          "console is judged as the default guest's.",
                          BooleanValue(false), MakeBooleanAccessor(&QnsGuest::m_agent),
                          MakeBooleanChecker())
            .AddAttribute("EndsRun",
                          "The simulation stops once every guest with EndsRun has powered "
                          "off; one that has not by the end of the run fails it.",
                          BooleanValue(false), MakeBooleanAccessor(&QnsGuest::m_endsRun),
                          MakeBooleanChecker())
            .AddAttribute("Program",
                          "Test kit: a program to run instead of QEMU, as shell words (it "
                          "gets the -qqq and -netdev options).",
                          StringValue(""), MakeStringAccessor(&QnsGuest::m_program),
                          MakeStringChecker());
    return tid;
}

QnsGuest::QnsGuest()
    : m_memoryMb(0), m_icountShift(1), m_endsRun(false), m_agent(false), m_index(-1)
{
}

QnsGuest::~QnsGuest() = default;

uint32_t QnsGuest::AddNic(const std::string &ipv4, NicModel model, const std::string &mac)
{
    m_nicText.emplace_back(ipv4, mac);
    qns_nic_config c = {};
    c.model = model == E1000 ? QNS_NIC_E1000 : QNS_NIC_VIRTIO;
    m_nics.push_back(c);
    return static_cast<uint32_t>(m_nics.size() - 1);
}

uint32_t QnsGuest::GetNicCount() const
{
    return static_cast<uint32_t>(m_nics.size());
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

/* text split as a shell would; false with err on a quoting mistake. */
bool SplitWords(const std::string &what, const std::string &text, std::vector<std::string> &words,
                std::vector<const char *> &argv, std::string &err)
{
    words.clear();
    argv.clear();
    if (text.find_first_not_of(" \t\n") != std::string::npos) {
        gchar **v = nullptr;
        GError *ge = nullptr;
        if (!g_shell_parse_argv(text.c_str(), nullptr, &v, &ge)) {
            err = what + ": cannot split '" + text + "': " + ge->message;
            g_error_free(ge);
            return false;
        }
        for (gchar **p = v; *p; p++) {
            words.emplace_back(*p);
        }
        g_strfreev(v);
    }
    for (const auto &w : words) {
        argv.push_back(w.c_str());
    }
    argv.push_back(nullptr);
    return true;
}

/* "a:/x, b:/y" as its pairs, blanks around each taken off. */
void SplitFiles(const std::string &text, std::vector<std::string> &specs,
                std::vector<const char *> &argv)
{
    specs.clear();
    argv.clear();
    gchar **parts = g_strsplit(text.c_str(), ",", -1);
    for (gchar **p = parts; *p; p++) {
        specs.emplace_back(g_strstrip(*p)); /* an empty one is a mistake to name */
    }
    g_strfreev(parts);
    for (const auto &w : specs) {
        argv.push_back(w.c_str());
    }
    argv.push_back(nullptr);
}

const char *OrNull(const std::string &s)
{
    return s.empty() ? nullptr : s.c_str();
}

} // namespace

void QnsGuest::SetExtraArgs(const std::vector<std::string> &args)
{
    m_extraArgs = ShellWords(args);
}

void QnsGuest::SetProgram(const std::vector<std::string> &argv)
{
    m_program = argv.empty() ? " " : ShellWords(argv); /* " ": a program of no words */
}

void QnsGuest::SetDiskBacking(const std::vector<std::string> &files)
{
    m_diskBacking = files;
}

qns_guest_config QnsGuest::GetConfig() const
{
    qns_guest_config c = {};
    c.name = OrNull(m_name);
    c.memory_mb = m_memoryMb;
    c.command = OrNull(m_command);
    c.services = OrNull(m_services);
    c.kernel = OrNull(m_kernel);
    c.initrd = OrNull(m_initrd);
    c.append = OrNull(m_append);
    c.kernel_args = OrNull(m_kernelArgs);
    c.disk = OrNull(m_disk);
    c.ends_run = m_endsRun ? 1 : 0;
    c.agent = m_agent ? 1 : 0;
    c.nic_count = static_cast<int>(m_nics.size());
    for (size_t i = 0; i < m_nics.size() && i < QNS_MAX_NICS; i++) {
        c.nics[i] = m_nics[i];
        c.nics[i].ipv4 = OrNull(m_nicText[i].first);
        c.nics[i].mac = OrNull(m_nicText[i].second);
    }
    if (m_files.find_first_not_of(" \t\n") != std::string::npos) {
        SplitFiles(m_files, m_fileSpecs, m_fileArgv);
        c.files = m_fileArgv.data();
    }
    if (!m_diskBacking.empty()) {
        m_diskBackingArgv.clear();
        for (const auto &f : m_diskBacking) {
            m_diskBackingArgv.push_back(f.c_str());
        }
        m_diskBackingArgv.push_back(nullptr);
        c.disk_backing = m_diskBackingArgv.data();
    }
    std::string ignored;
    if (!m_extraArgs.empty() && SplitWords("", m_extraArgs, m_extraWords, m_extraArgv, ignored)) {
        c.extra_args = m_extraArgv.data();
    }
    /* A program of no words is still a program (which is refused). */
    if (!m_program.empty() && SplitWords("", m_program, m_programWords, m_programArgv, ignored)) {
        c.program = m_programArgv.data();
    }
    return c;
}

bool QnsGuest::Prepare(int index, uint32_t seed, uint32_t spinUs, const std::string &outDir,
                       std::string &err)
{
    /* The quoting here; every other check is QnsGuestDescribe's. */
    std::string who = "guest " + (m_name.empty() ? "guest" + std::to_string(index) : m_name);
    if (!SplitWords(who + ": ExtraArgs", m_extraArgs, m_extraWords, m_extraArgv, err) ||
        !SplitWords(who + ": Program", m_program, m_programWords, m_programArgv, err)) {
        return false;
    }
    qns_guest_config c = GetConfig();
    QnsGuestDesc d;
    if (!QnsGuestDescribe(c, index, seed, spinUs, m_icountShift, true,
                          QnsDefaultQemu(m_qemu.c_str()), QnsDefaultGuestDir(m_guestDir.c_str()),
                          outDir, d, err)) {
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
    return IsPrepared() ? m_desc.name : m_name;
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
    return nic < m_nicText.size() ? m_nicText[nic].first : "";
}

} // namespace ns3
