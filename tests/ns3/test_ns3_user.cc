/* qns as an ns-3 user meets it, with fake guests: NS_LOG prints the lines of
 * qns's components (and without NS_LOG nothing is printed, the outputs the
 * same byte for byte either way); attribute defaults set with
 * Config::SetDefault, on the command line or in NS_ATTRIBUTE_DEFAULT hold
 * where the program set nothing through qns; ns-3's RealtimeSimulatorImpl
 * paces a run to the wall clock, with the outputs of the default simulator.
 *
 * NS_LOG and NS_ATTRIBUTE_DEFAULT are read when a process starts, so each
 * run is this program started again as an ns-3 program of its own
 * (`test_ns3_user --lan ...`, `test_ns3_user --ends-run ...`). */
#include "ns3/core-module.h"
#include "ns3/csma-module.h"
#include "ns3/network-module.h"
#include "ns3/qns-module.h"

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <glib.h>
#include <setjmp.h>
#include <string>
#include <unistd.h>
#include <vector>

extern "C"
{
#include <cmocka.h>
}

using namespace ns3;

namespace
{

/* ---- the ns-3 programs ---------------------------------------------------- */

/* Two fake guests on a CSMA LAN for --duration: a sends three frames to b,
 * which echoes them; neither ends the run. Writes the guests' captures into
 * --outDir and prints what the run was: its end, rounds, whether they were
 * adaptive, the quantum, the frames each way; then, on a line of its own,
 * the wall time it took. */
int RunLan(int argc, char *argv[])
{
    std::string outDir = ".";
    Time duration = MicroSeconds(200);
    bool realtime = false, setDefaultFixed = false;
    CommandLine cmd(__FILE__);
    cmd.AddValue("outDir", "Folder for consoles and captures (must exist)", outDir);
    cmd.AddValue("duration", "Simulated time", duration);
    cmd.AddValue("realtime", "Run under ns3::RealtimeSimulatorImpl", realtime);
    cmd.AddValue("setDefaultFixed",
                 "Config::SetDefault(\"ns3::QnsSyncScheduler::Adaptive\", BooleanValue(false))",
                 setDefaultFixed);
    cmd.Parse(argc, argv);
    if (realtime) {
        GlobalValue::Bind("SimulatorImplementationType", StringValue("ns3::RealtimeSimulatorImpl"));
    }
    if (setDefaultFixed) {
        Config::SetDefault("ns3::QnsSyncScheduler::Adaptive", BooleanValue(false));
    }
    GlobalValue::Bind("ChecksumEnabled", BooleanValue(true));

    NodeContainer ghosts(2);
    NetDeviceContainer devs = CsmaHelper().Install(ghosts);
    QnsHelper qns;
    qns.SetOutputDirectory(outDir);
    auto fake = [](const std::string &name, const std::string &actions) {
        Ptr<QnsGuest> g = CreateObjectWithAttributes<QnsGuest>(
            "Name", StringValue(name), "Program",
            StringValue(std::string(QNS_FAKE_GUEST) + " " + actions));
        g->AddNic();
        return g;
    };
    Ptr<QnsBridge> a = qns.Install(fake("a", "every:10000:20000:0:60:3"), 0, devs.Get(0));
    Ptr<QnsBridge> b = qns.Install(fake("b", "echo:0"), 0, devs.Get(1));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    Simulator::Stop(duration);
    Simulator::Run();
    std::string err;
    bool ok = qns.Finish(err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    Ptr<QnsSyncScheduler> s = qns.GetScheduler();
    std::printf("%s: end %lld ns, %llu rounds, adaptive %d, quantum %lld ns, a sent %llu got "
                "%llu, b sent %llu got %llu, %llu late\n",
                ok ? "ok" : err.c_str(), static_cast<long long>(Simulator::Now().GetNanoSeconds()),
                static_cast<unsigned long long>(s->GetRounds()), s->IsAdaptive() ? 1 : 0,
                static_cast<long long>(s->GetQuantum().GetNanoSeconds()),
                static_cast<unsigned long long>(a->GetFramesFromGuest()),
                static_cast<unsigned long long>(a->GetFramesToGuest()),
                static_cast<unsigned long long>(b->GetFramesFromGuest()),
                static_cast<unsigned long long>(b->GetFramesToGuest()),
                static_cast<unsigned long long>(s->GetLateFrames()));
    std::printf("wall %lld ms\n", static_cast<long long>((t1.tv_sec - t0.tv_sec) * 1000 +
                                                         (t1.tv_nsec - t0.tv_nsec) / 1000000));
    Simulator::Destroy();
    return ok ? 0 : 1;
}

/* Whether QnsHelper::CreateGuest's guest with a command ends the run. */
int EndsRun(int argc, char *argv[])
{
    CommandLine cmd(__FILE__);
    cmd.Parse(argc, argv);
    BooleanValue endsRun;
    QnsHelper().CreateGuest("g", "", "true")->GetAttribute("EndsRun", endsRun);
    std::printf("EndsRun %d\n", endsRun.Get() ? 1 : 0);
    return 0;
}

/* ---- the tests -------------------------------------------------------------- */

struct Run {
    int status;
    std::string out, err;
};

/* This program with `args`, `env` added to its environment (an empty
 * value: removed from it). */
Run Start(const std::vector<std::string> &args,
          const std::vector<std::pair<std::string, std::string>> &env = {})
{
    std::vector<char *> argv;
    char self[] = "/proc/self/exe";
    argv.push_back(self);
    for (const auto &a : args) {
        argv.push_back(const_cast<char *>(a.c_str()));
    }
    argv.push_back(nullptr);
    char **envp = g_get_environ();
    envp = g_environ_unsetenv(envp, "NS_LOG");
    envp = g_environ_unsetenv(envp, "NS_ATTRIBUTE_DEFAULT");
    for (const auto &e : env) {
        envp = e.second.empty() ? g_environ_unsetenv(envp, e.first.c_str())
                                : g_environ_setenv(envp, e.first.c_str(), e.second.c_str(), TRUE);
    }
    char *out = nullptr, *err = nullptr;
    int wait = 0;
    GError *error = nullptr;
    gboolean spawned = g_spawn_sync(nullptr, argv.data(), envp, G_SPAWN_DEFAULT, nullptr, nullptr,
                                    &out, &err, &wait, &error);
    g_strfreev(envp);
    if (!spawned) {
        fail_msg("cannot start this program again: %s", error->message);
    }
    Run r;
    r.status = g_spawn_check_wait_status(wait, nullptr) ? 0 : 1;
    r.out = out;
    r.err = err;
    g_free(out);
    g_free(err);
    return r;
}

std::string NewDir(const std::string &name)
{
    std::string dir = "ns3-user-" + std::to_string(getpid()) + "-" + name;
    g_mkdir_with_parents(dir.c_str(), 0755);
    return dir;
}

void RemoveDir(const std::string &dir)
{
    std::string rm = "rm -rf '" + dir + "'";
    assert_int_equal(system(rm.c_str()), 0);
}

std::string Read(const std::string &path)
{
    char *text = nullptr;
    gsize n = 0;
    if (!g_file_get_contents(path.c_str(), &text, &n, nullptr)) {
        fail_msg("cannot read %s", path.c_str());
    }
    std::string s(text, n);
    g_free(text);
    return s;
}

/* The run's summary line (without the wall time). */
std::string Summary(const Run &r)
{
    return r.out.substr(0, r.out.find('\n'));
}

long long WallMs(const Run &r)
{
    size_t at = r.out.find("\nwall ");
    assert_true(at != std::string::npos);
    return std::atoll(r.out.c_str() + at + 6);
}

bool Has(const std::string &haystack, const std::string &needle)
{
    return haystack.find(needle) != std::string::npos;
}

/* Lines of stderr that start with `prefix` and hold `text`. */
int Lines(const std::string &log, const std::string &prefix, const std::string &text)
{
    int n = 0;
    gchar **lines = g_strsplit(log.c_str(), "\n", -1);
    for (gchar **l = lines; *l != nullptr; l++) {
        std::string line = *l;
        n += line.compare(0, prefix.size(), prefix) == 0 && Has(line, text);
    }
    g_strfreev(lines);
    return n;
}

void NsLogPrintsAndChangesNothing(void **)
{
    std::string quiet = NewDir("quiet"), logged = NewDir("logged");
    Run q = Start({"--lan", "--outDir=" + quiet});
    Run l = Start({"--lan", "--outDir=" + logged},
                  {{"NS_LOG", "QnsSyncScheduler=level_all|prefix_time:QnsBridge=level_all"}});
    assert_int_equal(q.status, 0);
    assert_int_equal(l.status, 0);
    assert_string_equal(Summary(q).c_str(), "ok: end 200000 ns, 11 rounds, adaptive 1, quantum "
                                            "10000 ns, a sent 3 got 3, b sent 3 got 3, 0 late");
    /* Without NS_LOG, not a line; with it, what was done, the same. */
    assert_string_equal(q.err.c_str(), "");
    assert_string_equal(Summary(l).c_str(), Summary(q).c_str());
    for (const char *pcap : {"/a-nic0.pcap", "/b-nic0.pcap"}) {
        assert_true(Read(quiet + pcap) == Read(logged + pcap));
    }
    /* Both components, with the simulation time first where asked
     * (prefix_time); each round's grants and end, each frame bridged. */
    const std::string t0 = "+0.000000000s ";
    assert_int_equal(Lines(l.err, t0, "QnsSyncScheduler:Start("), 1);
    assert_int_equal(Lines(l.err, t0,
                           "rounds start at +0us: 2 guests, quantum +10us, adaptive "
                           "rounds, least bridge latency 10000 ns"),
                     1);
    assert_int_equal(Lines(l.err, "+", " ns: grants to "), 11);
    assert_int_equal(Lines(l.err, t0, "round 1 at 0 ns: grants to 10 us sent to 2 guests"), 1);
    assert_int_equal(Lines(l.err, "+0.000010000s ", "round 1 ended at 10000 ns"), 1);
    assert_int_equal(Lines(l.err, "QnsBridge:Connect(", ""), 2);
    assert_int_equal(Lines(l.err, "guest 52:54:00:00:00:01 bridged onto ns3::CsmaNetDevice", ""),
                     1);
    assert_int_equal(Lines(l.err, "guest frame ", ", handed to the bridged device"), 6);
    assert_int_equal(Lines(l.err, "frame of 60 bytes for guest ", "reaches it at"), 6);
    RemoveDir(quiet);
    RemoveDir(logged);
}

void DefaultsSetByTheProgramHold(void **)
{
    std::string dir = NewDir("defaults");
    const std::string out = "--outDir=" + dir;
    /* qns's own default: adaptive rounds, fewer than one per quantum. */
    assert_true(Has(Start({"--lan", out}).out, ", 11 rounds, adaptive 1, quantum 10000 ns"));
    /* Config::SetDefault: fixed rounds, one per quantum of the run. */
    Run fixed = Start({"--lan", out, "--setDefaultFixed=1", "--duration=1ms"});
    assert_int_equal(fixed.status, 0);
    assert_true(Has(fixed.out, "ok: end 1000000 ns, 100 rounds, adaptive 0, quantum 10000 ns"));
    /* The command line, as any ns-3 attribute. */
    Run line = Start({"--lan", out, "--ns3::QnsSyncScheduler::Adaptive=false",
                      "--ns3::QnsSyncScheduler::Quantum=50us", "--duration=1ms"});
    assert_int_equal(line.status, 0);
    assert_true(Has(line.out, "ok: end 1000000 ns, 20 rounds, adaptive 0, quantum 50000 ns"));
    /* NS_ATTRIBUTE_DEFAULT too. */
    Run env = Start({"--lan", out, "--duration=1ms"},
                    {{"NS_ATTRIBUTE_DEFAULT", "ns3::QnsSyncScheduler::Adaptive=false"}});
    assert_true(Has(env.out, "ok: end 1000000 ns, 100 rounds, adaptive 0, quantum 10000 ns"));

    /* CreateGuest's guest with a command ends the run, unless the program
     * set a default for EndsRun (even false, the attribute's own). */
    assert_string_equal(Start({"--ends-run"}).out.c_str(), "EndsRun 1\n");
    assert_string_equal(Start({"--ends-run", "--ns3::QnsGuest::EndsRun=false"}).out.c_str(),
                        "EndsRun 0\n");
    assert_string_equal(
        Start({"--ends-run"}, {{"NS_ATTRIBUTE_DEFAULT", "ns3::QnsGuest::EndsRun=false"}})
            .out.c_str(),
        "EndsRun 0\n");
    RemoveDir(dir);
}

void RealtimeSimulatorPacesTheRun(void **)
{
    std::string fast = NewDir("fast"), paced = NewDir("paced");
    const std::vector<std::string> args = {"--lan", "--duration=300ms",
                                           "--ns3::QnsSyncScheduler::Quantum=1ms"};
    std::vector<std::string> a = args, b = args;
    a.push_back("--outDir=" + fast);
    b.push_back("--outDir=" + paced);
    b.push_back("--realtime=1");
    Run f = Start(a), p = Start(b);
    assert_int_equal(f.status, 0);
    assert_int_equal(p.status, 0);
    assert_true(Has(Summary(p), "ok: end 300000000 ns, "));
    /* The same run, its idle time waited out on the wall clock. */
    assert_string_equal(Summary(p).c_str(), Summary(f).c_str());
    for (const char *pcap : {"/a-nic0.pcap", "/b-nic0.pcap"}) {
        assert_true(Read(fast + pcap) == Read(paced + pcap));
    }
    long long ms = WallMs(p);
    if (ms < 295 || WallMs(f) >= 295) {
        fail_msg("realtime run: %lld ms of wall time for 300 ms; default simulator: %lld ms", ms,
                 WallMs(f));
    }
    RemoveDir(fast);
    RemoveDir(paced);
}

} // namespace

int main(int argc, char *argv[])
{
    if (argc >= 2 && std::strcmp(argv[1], "--lan") == 0) {
        return RunLan(argc - 1, argv + 1);
    }
    if (argc >= 2 && std::strcmp(argv[1], "--ends-run") == 0) {
        return EndsRun(argc - 1, argv + 1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(NsLogPrintsAndChangesNothing),
        cmocka_unit_test(DefaultsSetByTheProgramHold),
        cmocka_unit_test(RealtimeSimulatorPacesTheRun),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
