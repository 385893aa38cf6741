/* QnsHelper and QnsGuest, as an ns-3 program uses them: what a guest's
 * attributes make of its command line, every refusal of Install (one line
 * each), a run with fake guests on a CSMA LAN, a failed run reported by
 * Finish, and a failed run nobody asked about, which ends the program with
 * status 1 at Simulator::Destroy. */
#include "qns-helper.h"
#include "qns_confine.h"
#include "qns_qemu_args.h"
#include "test_support.h"

#include "ns3/core-module.h"
#include "ns3/csma-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <glib.h>
#include <setjmp.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

extern "C"
{
#include <cmocka.h>
}

using namespace ns3;

namespace
{

std::string Argv(Ptr<QnsGuest> g)
{
    std::string s;
    for (const auto &a : g->GetDescription().argv) {
        s += (s.empty() ? "" : "|") + a;
    }
    return s;
}

bool Has(const std::string &haystack, const std::string &needle)
{
    return haystack.find(needle) != std::string::npos;
}

/* A fake guest: Program is the fake guest with these actions. */
Ptr<QnsGuest> Fake(const std::string &name, const std::string &actions, bool endsRun)
{
    Ptr<QnsGuest> g = CreateObjectWithAttributes<QnsGuest>(
        "Name", StringValue(name), "Program",
        StringValue(std::string(QNS_FAKE_GUEST) + " " + actions), "EndsRun", BooleanValue(endsRun));
    g->AddNic();
    return g;
}

void AttributesMakeTheCommandLine(void **)
{
    Ptr<QnsGuest> g = CreateObjectWithAttributes<QnsGuest>(
        "Name", StringValue("h1"), "Qemu", StringValue("/opt/qemu"), "Kernel",
        StringValue("/boot/k"), "Append", StringValue("console=ttyS0"), "MemoryMb",
        UintegerValue(512), "IcountShift", UintegerValue(3), "ExtraArgs",
        StringValue("-d 'in asm' -D q.log"), "Agent", BooleanValue(true), "Command",
        StringValue("true"));
    g->AddNic("10.0.0.1/24", QnsGuest::E1000, "52:54:00:aa:bb:01");
    g->AddNic();
    std::string err;
    assert_true(g->Prepare(4, 7, 0, "out", err));
    std::string a = Argv(g);
    assert_true(Has(a, "/opt/qemu|"));
    assert_true(Has(a, "|-m|512M|"));
    assert_true(Has(a, "|-icount|shift=3,sleep=off|"));
    assert_true(Has(a, "|-seed|11|")); /* seed + the guest's number */
    assert_true(Has(a, "|-sandbox|" QNS_QEMU_SANDBOX "|"));
    assert_true(Has(a, "|-kernel|/boot/k|"));
    /* The image runs the qns agent: its own command line, then the qns.* words. */
    assert_true(Has(a, "|-append|console=ttyS0 qns.hostname=h1 qns.net=eth0,10.0.0.1/24 "
                       "qns.cmd=dHJ1ZQ==|"));
    assert_true(g->GetDescription().runsCommand);
    assert_true(Has(a, "e1000,netdev=n0,mac=52:54:00:aa:bb:01"));
    assert_true(Has(a, "mac=52:54:00:00:04:02")); /* the default MAC of NIC 1 */
    assert_true(Has(a, "|-d|in asm|-D|q.log"));
    assert_string_equal(g->GetDescription().console.c_str(), "out/h1.console");
    assert_string_equal(g->GetMac(1).c_str(), "52:54:00:00:04:02");
}

/* CreateGuest takes NIC 0's model and MAC; words and files reach the
 * description as they were given, with no shell quoting or comma lists on
 * the way (QnsGuestSpec), and the text attributes read them back. */
void CreateGuestTakesTheNicAndWordsAsGiven(void **)
{
    QnsHelper qns;
    Ptr<QnsGuest> g = qns.CreateGuest("m", "", "", QnsGuest::E1000, "52:54:00:12:34:56");
    g->SetAttribute("Qemu", StringValue("/opt/qemu"));
    g->SetAttribute("Kernel", StringValue("/boot/k"));
    g->SetAttribute("Append", StringValue("console=ttyS0"));
    g->SetExtraArgs({"-d", "it's \"in\", asm"});
    std::string err;
    assert_true(g->Prepare(0, 1, 0, "out", err));
    std::string a = Argv(g);
    assert_true(Has(a, "|e1000,netdev=n0,mac=52:54:00:12:34:56|"));
    assert_true(Has(a, "|-d|it's \"in\", asm"));
    StringValue text;
    g->GetAttribute("ExtraArgs", text);
    assert_string_equal(text.Get().c_str(), "'-d' 'it'\\''s \"in\", asm'");
    g->SetAttribute("ExtraArgs", text); /* the text splits back into the same words */
    assert_int_equal(g->GetSpec().extraArgs.size(), 2);
    assert_string_equal(g->GetSpec().extraArgs[1].c_str(), "it's \"in\", asm");
    /* NIC 1 in ns-3's types: the same description as in text. */
    g->AddNic(Ipv4Address("10.0.0.7"), Ipv4Mask("/24"), QnsGuest::VIRTIO,
              Mac48Address("52:54:00:12:34:57"));
    assert_string_equal(g->GetSpec().nics[1].ipv4.c_str(), "10.0.0.7/24");
    assert_string_equal(g->GetSpec().nics[1].mac.c_str(), "52:54:00:12:34:57");
    g->AddNic(Ipv4Address("10.0.1.7"), Ipv4Mask("/16"));
    assert_string_equal(g->GetSpec().nics[2].mac.c_str(), "");
    g->SetFiles({"./a,b:/opt/a,b"});
    g->GetAttribute("Files", text);
    assert_string_equal(text.Get().c_str(), "./a,b:/opt/a,b");
    assert_int_equal(g->GetSpec().files.size(), 1);
}

/* An image with a disk (build-debian.sh's): its disk is the first virtio
 * disk, snapshot mode, a guest's own disk the second; its -m is the
 * default; files are refused (its initramfs is gone once the root is up). */
/* The current folder, as QEMU is given relative paths: absolute, since a
 * confined QEMU runs in a root of its own. */
std::string cwd_now()
{
    char *c = g_get_current_dir();
    std::string s = c;
    g_free(c);
    return s;
}

void DiskImageBootsFromItsDisk(void **)
{
    char *cwd = g_get_current_dir();
    std::string dir = std::string(cwd) + "/helper-disk-" + std::to_string(getpid());
    g_free(cwd);
    g_mkdir_with_parents(dir.c_str(), 0755);
    assert_true(g_file_set_contents((dir + "/GUEST-INFO").c_str(),
                                    "[guest]\nkernel=vmlinux\ninitrd=initrd.img\ndisk=disk.img\n"
                                    "cmdline=console=ttyS0 root=/dev/vda ro\n"
                                    "qemu_args=-machine pc -m 512M -kernel vmlinux\n"
                                    "nic_e1000=e1000,netdev=ID,mac=MAC\n"
                                    "nic_virtio=virtio-net-pci,netdev=ID,mac=MAC\n",
                                    -1, nullptr));
    Ptr<QnsGuest> g = CreateObjectWithAttributes<QnsGuest>(
        "Name", StringValue("d"), "Qemu", StringValue("/opt/qemu"), "GuestDir", StringValue(dir),
        "Disk", StringValue("data.qcow2"), "Command", StringValue("true"));
    g->AddNic("10.0.0.1/24");
    std::string err;
    if (!g->Prepare(0, 1, 0, ".", err)) {
        fail_msg("%s", err.c_str());
    }
    std::string a = Argv(g);
    assert_true(Has(a, "|-m|512M|"));
    assert_true(Has(a, "|-append|console=ttyS0 root=/dev/vda ro qns.hostname=d "
                       "qns.net=eth0,10.0.0.1/24 qns.cmd=dHJ1ZQ==|-drive|file=" +
                           dir +
                           "/disk.img,if=virtio,format=raw,snapshot=on|-drive|"
                           "file=" +
                           cwd_now() + "/data.qcow2,if=virtio,snapshot=on|"));
    assert_true(g->GetDescription().runsCommand);
    Ptr<QnsGuest> f = CreateObjectWithAttributes<QnsGuest>(
        "Name", StringValue("f"), "Qemu", StringValue("/opt/qemu"), "GuestDir", StringValue(dir),
        "Files", StringValue("/etc/hostname:/etc/x"));
    assert_false(f->Prepare(0, 1, 0, ".", err));
    assert_string_equal(err.c_str(), "guest f: files go into the default guest's initramfs; an "
                                     "image that boots from its disk gets them when it is built "
                                     "(build-debian.sh --file SRC:DST)");
    /* A disk path with a comma stays one file name (QEMU reads ",," as a
     * comma), never an option such as snapshot=off. */
    Ptr<QnsGuest> comma = CreateObjectWithAttributes<QnsGuest>(
        "Name", StringValue("c"), "Qemu", StringValue("/opt/qemu"), "GuestDir", StringValue(dir),
        "Disk", StringValue("d,snapshot=off,file=/etc/passwd"));
    assert_true(comma->Prepare(0, 1, 0, ".", err));
    assert_true(Has(Argv(comma), "|-drive|file=" + cwd_now() +
                                     "/d,,snapshot=off,,file=/etc/passwd,if=virtio,snapshot=on|"));
    std::string rm = "rm -rf '" + dir + "'";
    assert_int_equal(system(rm.c_str()), 0);
}

/* GUEST-INFO may come from a stranger's package: it is data. Each line
 * below, added to a good GUEST-INFO, would have QEMU touch the host (write
 * or delete a file, read one into the guest) or pass unknown words; each is
 * refused, named, before anything starts. */
void GuestInfoIsData(void **)
{
    char *cwd = g_get_current_dir();
    std::string dir = std::string(cwd) + "/helper-info-" + std::to_string(getpid());
    g_free(cwd);
    g_mkdir_with_parents(dir.c_str(), 0755);
    std::string info = dir + "/GUEST-INFO";
    const std::string good_nic = "nic_e1000=e1000,netdev=ID,mac=MAC\n";
    const std::string virtio = "nic_virtio=virtio-net-pci,netdev=ID,mac=MAC,csum=off\n";
    struct {
        std::string lines, why;
    } bad[] = {
        {"disk=disk.img,snapshot=off\nqemu_args=-machine pc\n" + good_nic,
         "disk 'disk.img,snapshot=off' is not a plain file name in the image's folder (letters, "
         "digits, '.', '-', '_')"},
        {"disk=../disk.img\nqemu_args=-machine pc\n" + good_nic,
         "disk '../disk.img' is not a plain file name in the image's folder (letters, digits, "
         "'.', '-', '_')"},
        {"disk=/etc/passwd\nqemu_args=-machine pc\n" + good_nic,
         "disk '/etc/passwd' is not a plain file name in the image's folder (letters, digits, "
         "'.', '-', '_')"},
        {"qemu_args=-machine pc -pidfile VICTIM\n" + good_nic,
         "qemu_args: '-pidfile' is not an option qns passes to QEMU from data: it may touch the "
         "host (allowed: " QNS_QEMU_ARGS_ALLOWED ")"},
        {"qemu_args=-machine pc,dumpdtb=VICTIM\n" + good_nic,
         "qemu_args: -machine 'pc,dumpdtb=VICTIM': 'dumpdtb=VICTIM' is not a value qns passes to "
         "QEMU from data"},
        {"qemu_args=-machine pc --D VICTIM\n" + good_nic,
         "qemu_args: '--D' is not an option qns passes to QEMU from data: it may touch the host "
         "(allowed: " QNS_QEMU_ARGS_ALLOWED ")"},
        {"qemu_args=-machine pc -kernel /etc/shadow\n" + good_nic,
         "qemu_args: -kernel must name the image's kernel file"},
        {"qemu_args=-machine pc -device virtio-rng-pci\n" + good_nic,
         "qemu_args: -device 'virtio-rng-pci': 'virtio-rng-pci' is not a value qns passes to QEMU "
         "from data"},
        {"qemu_args=-machine pc\nnic_e1000=e1000,netdev=ID,mac=MAC,romfile=/etc/shadow\n",
         "nic_e1000: -device 'e1000,netdev=ID,mac=MAC,romfile=/etc/shadow': "
         "'romfile=/etc/shadow' is not a value qns passes to QEMU from data"},
        {"qemu_args=-machine pc\nnic_e1000=e1000\n",
         "nic_e1000 'e1000' is not e1000,netdev=ID,mac=MAC[,property=value...]"},
        {"qemu_args=-machine pc\nexec=/bin/sh\n" + good_nic, "[guest] exec: not a key qns knows"},
        {"qemu_args=-machine pc\n" + good_nic + "[hooks]\nrun=x\n",
         "unknown group [hooks] (only [guest] and [packages])"},
    };
    for (const auto &b : bad) {
        std::string text = "[guest]\nkernel=vmlinux\ninitrd=initrd.img\ncmdline=console=ttyS0\n" +
                           virtio + b.lines;
        assert_true(g_file_set_contents(info.c_str(), text.c_str(), -1, nullptr));
        Ptr<QnsGuest> h = CreateObjectWithAttributes<QnsGuest>("Name", StringValue("h"), "Qemu",
                                                               StringValue("/opt/qemu"), "GuestDir",
                                                               StringValue(dir));
        std::string err;
        assert_false(h->Prepare(0, 1, 0, ".", err));
        std::string want = "guest image: " + info + ": " + b.why;
        assert_string_equal(err.c_str(), want.c_str());
    }
    /* Read once, checked, then its entries: a missing one is named. */
    std::string partial = "[guest]\nkernel=vmlinux\ninitrd=initrd.img\n" + virtio + good_nic +
                          "qemu_args=-machine pc\n";
    assert_true(g_file_set_contents(info.c_str(), partial.c_str(), -1, nullptr));
    Ptr<QnsGuest> missing = CreateObjectWithAttributes<QnsGuest>(
        "Name", StringValue("h"), "Qemu", StringValue("/opt/qemu"), "GuestDir", StringValue(dir));
    std::string why;
    assert_false(missing->Prepare(0, 1, 0, ".", why));
    assert_string_equal(why.c_str(), ("guest image: " + info + " has no cmdline").c_str());
    /* What the image builders write passes: the default guest's own. */
    std::string text = "[guest]\nkernel=vmlinux\ninitrd=initrd.img\ncmdline=console=ttyS0\n" +
                       virtio + good_nic +
                       "qemu_args=-machine pc -cpu qemu64 -smp 1 -m 256M -accel tcg -nodefaults "
                       "-no-user-config -display none -no-reboot -kernel vmlinux -initrd "
                       "initrd.img\n[packages]\nlibc6=2.36-9+deb12u14\n";
    assert_true(g_file_set_contents(info.c_str(), text.c_str(), -1, nullptr));
    Ptr<QnsGuest> ok = CreateObjectWithAttributes<QnsGuest>(
        "Name", StringValue("ok"), "Qemu", StringValue("/opt/qemu"), "GuestDir", StringValue(dir));
    std::string err;
    if (!ok->Prepare(0, 1, 0, ".", err)) {
        fail_msg("%s", err.c_str());
    }
    std::string rm = "rm -rf '" + dir + "'";
    assert_int_equal(system(rm.c_str()), 0);
}

/* Files: read from the current folder, packed after the default
 * initramfs into the cache's initrd/, which -initrd names; refused with an
 * own kernel. */
void FilesAttributeMakesTheInitrd(void **)
{
    char *cwd = g_get_current_dir();
    std::string dir = std::string(cwd) + "/helper-files-" + std::to_string(getpid());
    g_free(cwd);
    g_mkdir_with_parents(dir.c_str(), 0755);
    assert_true(g_file_set_contents((dir + "/GUEST-INFO").c_str(),
                                    "[guest]\nkernel=vmlinux\ninitrd=initramfs.cpio\n"
                                    "cmdline=console=ttyS0\nqemu_args=-machine pc\n"
                                    "nic_e1000=e1000,netdev=ID,mac=MAC\n"
                                    "nic_virtio=virtio-net-pci,netdev=ID,mac=MAC\n",
                                    -1, nullptr));
    assert_true(g_file_set_contents((dir + "/initramfs.cpio").c_str(), "BASE", -1, nullptr));
    std::string rel = "helper-files-" + std::to_string(getpid()) + ".conf";
    assert_true(g_file_set_contents(rel.c_str(), "x = 1\n", -1, nullptr));
    g_setenv("QNS_CACHE_DIR", (dir + "/cache").c_str(), TRUE);
    Ptr<QnsGuest> g = CreateObjectWithAttributes<QnsGuest>(
        "Name", StringValue("f"), "Qemu", StringValue("/opt/qemu"), "GuestDir", StringValue(dir),
        "Files", StringValue(" " + rel + ":/etc/app.conf ," + rel + ":/etc/copy.conf"));
    std::string err;
    if (!g->Prepare(0, 1, 0, ".", err)) {
        fail_msg("%s", err.c_str());
    }
    assert_true(Has(Argv(g), "|-initrd|" + dir + "/cache/initrd/"));
    assert_int_equal(g->GetDescription().files.size(), 2);
    assert_string_equal(g->GetDescription().files[0].c_str(), rel.c_str());

    Ptr<QnsGuest> own = CreateObjectWithAttributes<QnsGuest>("Name", StringValue("k"), "Kernel",
                                                             StringValue("/boot/k"), "Files",
                                                             StringValue(rel + ":/etc/app.conf"));
    assert_false(own->Prepare(0, 1, 0, ".", err));
    assert_string_equal(err.c_str(), "guest k: files go into the default guest's initramfs; with "
                                     "an own kernel, put them into its image when you build it");
    Ptr<QnsGuest> missing =
        CreateObjectWithAttributes<QnsGuest>("Name", StringValue("m"), "GuestDir", StringValue(dir),
                                             "Files", StringValue("no-such-file:/etc/x"));
    assert_false(missing->Prepare(0, 1, 0, ".", err));
    assert_string_equal(err.c_str(),
                        "guest m: files: cannot read 'no-such-file': No such file or directory");
    g_unsetenv("QNS_CACHE_DIR");
    assert_int_equal(unlink(rel.c_str()), 0);
    std::string rm = "rm -rf '" + dir + "'";
    assert_int_equal(system(rm.c_str()), 0);
}

void GuestMistakesAreRefused(void **)
{
    std::string err;
    Ptr<QnsGuest> bad = CreateObjectWithAttributes<QnsGuest>("Name", StringValue("a b"));
    assert_false(bad->Prepare(0, 1, 0, ".", err));
    assert_string_equal(err.c_str(), "guest name 'a b' must be 1-32 letters, digits, '-' or '_'");

    /* The limits table's range, which the attribute's checker alone
     * (0 .. QNS_MEMORY_MB_MAX) would let through. */
    Ptr<QnsGuest> small = CreateObjectWithAttributes<QnsGuest>("Name", StringValue("m"), "MemoryMb",
                                                               UintegerValue(8));
    assert_false(small->Prepare(0, 1, 0, ".", err));
    assert_string_equal(err.c_str(), "guest m: memory_mb 8 is out of range (16 .. 1048576)");
    /* A NIC address is checked on this path too, not only by the C API. */
    Ptr<QnsGuest> net = CreateObjectWithAttributes<QnsGuest>("Name", StringValue("a"));
    net->AddNic("10.0.0.0/24");
    assert_false(net->Prepare(0, 1, 0, ".", err));
    assert_string_equal(err.c_str(), "guest a NIC 0: 10.0.0.0/24 is the network address of "
                                     "10.0.0.0/24, not a host's");

    Ptr<QnsGuest> quotes = CreateObjectWithAttributes<QnsGuest>(
        "Name", StringValue("q"), "ExtraArgs", StringValue("-d 'in asm"));
    assert_false(quotes->Prepare(0, 1, 0, ".", err));
    assert_true(Has(err, "guest q: ExtraArgs: cannot split '-d 'in asm': "));

    Ptr<QnsGuest> args = CreateObjectWithAttributes<QnsGuest>(
        "Name", StringValue("k"), "Kernel", StringValue("/boot/k"), "KernelArgs",
        StringValue("qns.route=10.0.9.0/24,10.0.0.254"));
    assert_false(args->Prepare(0, 1, 0, ".", err));
    assert_string_equal(err.c_str(), "guest k: kernel_args adds to the default guest's command "
                                     "line; with an own kernel or append, put them in append");

    /* An own image without the agent: what only the agent would apply is
     * refused, each naming its key; so is an own kernel without a command
     * line, and the agent where qns's own init runs. */
    const std::string hint =
        "; an own image gets them only if it runs the qns agent "
        "(scenarios/guests/debian/qns-agent, its unit qns-agent.service) and says "
        "so with agent = yes";
    Ptr<QnsGuest> cmd = CreateObjectWithAttributes<QnsGuest>(
        "Name", StringValue("k"), "Kernel", StringValue("/boot/k"), "Append",
        StringValue("console=ttyS0 root=/dev/vda"), "Command", StringValue("true"));
    assert_false(cmd->Prepare(0, 1, 0, ".", err));
    assert_string_equal(err.c_str(),
                        ("guest k: command: nothing in an own image would run it" + hint).c_str());
    Ptr<QnsGuest> svc = CreateObjectWithAttributes<QnsGuest>("Name", StringValue("k"), "Initrd",
                                                             StringValue("/boot/i"), "Services",
                                                             StringValue("iperf3"));
    assert_false(svc->Prepare(0, 1, 0, ".", err));
    assert_string_equal(
        err.c_str(),
        ("guest k: services: nothing in an own image would start them" + hint).c_str());
    Ptr<QnsGuest> ip = CreateObjectWithAttributes<QnsGuest>("Name", StringValue("k"), "Kernel",
                                                            StringValue("/boot/k"), "Append",
                                                            StringValue("console=ttyS0"));
    ip->AddNic();
    ip->AddNic("10.0.0.1/24");
    assert_false(ip->Prepare(0, 1, 0, ".", err));
    assert_string_equal(err.c_str(), ("guest k: nic1.ip: nothing in an own image would set the "
                                      "address (configure it in the image)" +
                                      hint)
                                         .c_str());
    Ptr<QnsGuest> bare = CreateObjectWithAttributes<QnsGuest>("Name", StringValue("k"), "Kernel",
                                                              StringValue("/boot/k"));
    assert_false(bare->Prepare(0, 1, 0, ".", err));
    assert_string_equal(err.c_str(),
                        "guest k: kernel: an own kernel needs append = its command line (at "
                        "least console=ttyS0 for its console and root= for its disk); qns adds "
                        "none");
    Ptr<QnsGuest> agent =
        CreateObjectWithAttributes<QnsGuest>("Name", StringValue("d"), "Agent", BooleanValue(true));
    assert_false(agent->Prepare(0, 1, 0, ".", err));
    assert_string_equal(err.c_str(), "guest d: agent: only for an own kernel or initrd (the "
                                     "default guest and qns's images run theirs)");

    Ptr<QnsGuest> blank = CreateObjectWithAttributes<QnsGuest>("Name", StringValue("p"), "Program",
                                                               StringValue("   "));
    assert_false(blank->Prepare(0, 1, 0, ".", err));
    assert_string_equal(err.c_str(), "guest p: empty program");
    Ptr<QnsGuest> none = CreateObjectWithAttributes<QnsGuest>("Name", StringValue("q"));
    none->SetProgram({});
    assert_false(none->Prepare(0, 1, 0, ".", err));
    assert_string_equal(err.c_str(), "guest q: empty program");

    Ptr<QnsGuest> nine = CreateObjectWithAttributes<QnsGuest>("Name", StringValue("n"), "Program",
                                                              StringValue(QNS_FAKE_GUEST));
    for (int i = 0; i < 9; i++) {
        nine->AddNic();
    }
    assert_false(nine->Prepare(0, 1, 0, ".", err));
    assert_string_equal(err.c_str(), "guest n: 9 NICs, at most 8");

    Ptr<QnsGuest> mac = CreateObjectWithAttributes<QnsGuest>("Name", StringValue("m"));
    mac->AddNic("", QnsGuest::VIRTIO, "01:00:5e:00:00:01");
    assert_false(mac->Prepare(0, 1, 0, ".", err));
    assert_true(Has(err, "guest m NIC 0: MAC address 01:00:5e:00:00:01 is a multicast address"));
}

void InstallRefusesWhatCannotWork(void **)
{
    NodeContainer nodes(3);
    NetDeviceContainer devs = CsmaHelper().Install(nodes);
    InternetStackHelper().Install(nodes.Get(2));
    Ipv4AddressHelper ip("10.0.0.0", "255.255.255.0");
    ip.Assign(NetDeviceContainer(devs.Get(2)));
    QnsHelper qns;
    std::string err;

    GlobalValue::Bind("ChecksumEnabled", BooleanValue(false));
    assert_true(qns.Install(Fake("a", "", false), 0, devs.Get(0), err) == nullptr);
    assert_true(Has(err, "ns-3's checksums are off: its nodes would send IPv4, UDP and TCP "
                         "with zero checksums, which guests drop"));
    GlobalValue::Bind("ChecksumEnabled", BooleanValue(true));

    assert_true(qns.Install(Fake("b", "", false), 0, devs.Get(2), err) == nullptr);
    assert_string_equal(err.c_str(),
                        "guest b NIC 0: the device's node runs IPv4 on it (10.0.0.1/24), but on "
                        "this device the guest is the host: give the address to the guest (the "
                        "ipv4 of QnsHelper::CreateGuest, or QnsGuest::AddNic) instead of "
                        "assigning it to the device (Ipv4AddressHelper::Assign), so that the "
                        "device's node is a ghost node without an IPv4 interface on it");

    Ptr<QnsGuest> noNic = CreateObjectWithAttributes<QnsGuest>("Name", StringValue("c"), "Program",
                                                               StringValue(QNS_FAKE_GUEST));
    assert_true(qns.Install(noNic, 0, devs.Get(0), err) == nullptr);
    assert_string_equal(err.c_str(), "guest c has no NIC 0 (it has 0; QnsGuest::AddNic adds one)");

    Ptr<QnsGuest> d = Fake("d", "", false);
    assert_true(qns.Install(d, 0, devs.Get(0), err) != nullptr);
    assert_true(qns.Install(d, 0, devs.Get(1), err) == nullptr);
    assert_string_equal(err.c_str(), "guest d NIC 0 is installed already");
    assert_true(qns.Install(Fake("d", "", false), 0, devs.Get(1), err) == nullptr);
    assert_string_equal(err.c_str(), "guest d is defined twice");

    QnsHelper other;
    assert_true(other.Install(d, 0, devs.Get(1), err) == nullptr);
    assert_string_equal(err.c_str(), "guest d belongs to another simulation");

    /* A guest runs on one MPI rank: its devices' nodes have one system id. */
    Ptr<Node> far = CreateObject<Node>(1);
    NetDeviceContainer farDev = CsmaHelper().Install(NodeContainer(far));
    Ptr<QnsGuest> two = Fake("two", "", false);
    two->AddNic();
    assert_true(qns.Install(two, 0, devs.Get(1), err) != nullptr);
    assert_true(qns.Install(two, 1, farDev.Get(0), err) == nullptr);
    assert_string_equal(err.c_str(), "guest two NIC 1: its device is on a node of rank 1, "
                                     "another NIC's on one of rank 0; a guest runs on one rank");

    Ptr<QnsGuest> twice = Fake("twice", "", false);
    assert_true(qns.GetRun()->AddGuest(twice, err));
    assert_false(qns.GetRun()->AddGuest(twice, err));
    assert_string_equal(err.c_str(), "guest twice is in a simulation already");

    QnsHelper coarse;
    coarse.SetSchedulerAttribute("Quantum", TimeValue(NanoSeconds(1500)));
    assert_true(coarse.Install(Fake("e", "", false), 0, devs.Get(1), err) == nullptr);
    assert_string_equal(err.c_str(),
                        "the scheduler's Quantum 1500 ns is not a whole number of microseconds");
    Simulator::Destroy();
}

/* Two fake guests on a CSMA LAN: a sends three frames to b, which echoes
 * them; a powers off at 200 us and ends the run there. */
void TwoGuestsRunOnALan(void **)
{
    NodeContainer ghosts(2);
    NetDeviceContainer devs = CsmaHelper().Install(ghosts);
    QnsHelper qns;
    qns.SetOutputDirectory(".");
    qns.SetSchedulerAttribute("WatchdogMs", UintegerValue(10000));
    qns.EnablePcap(false);
    Ptr<QnsGuest> a = Fake("lan-a", "every:10000:20000:0:60:3 stop:200000:0", true);
    Ptr<QnsGuest> b = Fake("lan-b", "echo:0", false);
    std::string err;
    Ptr<QnsBridge> ba = qns.Install(a, 0, devs.Get(0), err);
    Ptr<QnsBridge> bb = qns.Install(b, 0, devs.Get(1), err);
    assert_true(ba != nullptr);
    assert_true(bb != nullptr);
    Simulator::Stop(Seconds(1));
    Simulator::Run();
    bool ok = qns.Finish(err);
    assert_string_equal(err.c_str(), "");
    assert_true(ok);
    assert_int_equal(Simulator::Now().GetNanoSeconds(), 210000); /* the round after 200 us */
    assert_int_equal(ba->GetFramesFromGuest(), 3);
    assert_int_equal(bb->GetFramesToGuest(), 3);
    assert_int_equal(bb->GetFramesFromGuest(), 3);
    assert_int_equal(ba->GetFramesToGuest(), 3);
    Simulator::Destroy();
}

/* After Simulator::Run, a helper that has no guests yet takes none: their
 * QEMUs would start in the simulation's past. */
void InstallAfterTheRunIsRefused(void **)
{
    NodeContainer ghosts(1);
    NetDeviceContainer devs = CsmaHelper().Install(ghosts);
    Simulator::Stop(MicroSeconds(5));
    Simulator::Run();
    QnsHelper late;
    std::string err;
    assert_true(late.Install(Fake("late", "", false), 0, devs.Get(0), err) == nullptr);
    assert_string_equal(err.c_str(), "guests are installed before Simulator::Run");
    assert_false(late.GetRun()->AddGuest(Fake("later", "", false), err));
    assert_string_equal(err.c_str(), "guests are added before Simulator::Run");
    Simulator::Destroy();
}

/* A time resolution coarser than nanoseconds is refused: the child sets
 * microseconds, installs, and prints what it got. */
int CoarseResolution(bool)
{
    Time::SetResolution(Time::US);
    NodeContainer ghosts(1);
    NetDeviceContainer devs = CsmaHelper().Install(ghosts);
    QnsHelper qns;
    std::string err;
    Ptr<QnsBridge> b = qns.Install(Fake("us", "", false), 0, devs.Get(0), err);
    std::printf("%s\n", b ? "installed" : err.c_str());
    Simulator::Destroy();
    return 0;
}

/* A fake guest whose "command" exits with status 4, as the default guest
 * reports it; `ask`: the program calls Finish. */
int FailingRun(bool ask)
{
    NodeContainer ghosts(1);
    NetDeviceContainer devs = CsmaHelper().Install(ghosts);
    QnsHelper qns;
    qns.SetSchedulerAttribute("WatchdogMs", UintegerValue(10000));
    qns.EnablePcap(false);
    Ptr<QnsGuest> g = Fake("failing", "'print:1000:QNS-CMD-END status=4' stop:5000:0", true);
    std::string err;
    if (!qns.Install(g, 0, devs.Get(0), err)) {
        std::fprintf(stderr, "install: %s\n", err.c_str());
        return 2;
    }
    Simulator::Stop(Seconds(1));
    Simulator::Run();
    if (ask) {
        bool ok = qns.Finish(err);
        std::printf("finish %d: %s\n", ok ? 1 : 0, err.c_str());
    }
    Simulator::Destroy();
    return 0;
}

/* Runs fn(ask) in a child; its exit status and what it wrote. */
int InChild(int (*fn)(bool), bool ask, std::string &out)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    std::fflush(nullptr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        int r = fn(ask);
        std::fflush(nullptr);
        _exit(r);
    }
    close(fds[1]);
    char buf[4096];
    ssize_t n;
    out.clear();
    while ((n = read(fds[0], buf, sizeof(buf))) > 0) {
        out.append(buf, static_cast<size_t>(n));
    }
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

void AFailedRunIsNeverASuccess(void **)
{
    std::string out;
    assert_int_equal(InChild(FailingRun, true, out), 0);
    assert_true(Has(out, "finish 0: guest failing: its command exited with status 4; console: "));
    assert_int_equal(InChild(FailingRun, false, out), 1);
    assert_true(Has(out, "qns: the run failed: guest failing: its command exited with status 4"));
}

void ACoarseResolutionIsRefused(void **)
{
    std::string out;
    assert_int_equal(InChild(CoarseResolution, false, out), 0);
    assert_string_equal(out.c_str(), "the simulator's time resolution is coarser than "
                                     "nanoseconds; frames cross the bridge at exact "
                                     "nanoseconds (Time::SetResolution(Time::NS))\n");
}

} // namespace

int main()
{
    /* Nanoseconds, ns-3's default, are not set: the child of the first test
     * sets the resolution itself, which ns-3 allows once, before any run. */
    GlobalValue::Bind("ChecksumEnabled", BooleanValue(true));
    /* These tests read the QEMU command line a guest is given (its QEMU,
     * /opt/qemu, need not exist); the bwrap words before it and the check
     * that QEMU can be executed are test_confine's. */
    g_setenv(QNS_CONFINE_OPT_OUT, "1", TRUE);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ACoarseResolutionIsRefused),
        cmocka_unit_test(AttributesMakeTheCommandLine),
        cmocka_unit_test(CreateGuestTakesTheNicAndWordsAsGiven),
        cmocka_unit_test(FilesAttributeMakesTheInitrd),
        cmocka_unit_test(DiskImageBootsFromItsDisk),
        cmocka_unit_test(GuestInfoIsData),
        cmocka_unit_test(GuestMistakesAreRefused),
        cmocka_unit_test(InstallRefusesWhatCannotWork),
        cmocka_unit_test(TwoGuestsRunOnALan),
        cmocka_unit_test(AFailedRunIsNeverASuccess),
        cmocka_unit_test(InstallAfterTheRunIsRefused),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
