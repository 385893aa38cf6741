/* The qns command-line runner, run as a subprocess on scenarios of fake
 * guests: every class of scenario mistake with its exact FILE:LINE message
 * and exit status 2; run + verify; a changed output fails verify and is
 * named; pack -> unpack -> verify; report numbers on a capture of known
 * content; SIGINT stops a run with valid captures and no process left. */
#define _GNU_SOURCE
#include "disk_chain.h"
#include "environment.h"
#include "qns_qemu_args.h"
#include "runner.h"
#include "test_support.h"
#include "unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <ftw.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <pcap/pcap.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

typedef struct result {
    int status; /* exit status, or 128 + signal */
    char *out, *err;
} result;

static void result_clear(result *r)
{
    g_free(r->out);
    g_free(r->err);
}

typedef struct spawn_setup {
    rlim_t fsize; /* 0: no limit */
} spawn_setup;

/* In the child before exec: files may grow to fsize bytes, and a write past
 * it fails with EFBIG instead of raising SIGXFSZ, as on a full disk. */
static void limit_file_size(gpointer data)
{
    const spawn_setup *s = data;
    if (s->fsize) {
        struct rlimit rl = {s->fsize, s->fsize};
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) < 0) {
            _exit(126);
        }
    }
}

/* Runs argv (NULL-terminated) and waits for it; setup may be NULL. */
static result run_argv(const char *const *argv, spawn_setup *setup)
{
    result r = {0};
    int ws = 0;
    GError *ge = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, 0, setup ? limit_file_size : NULL, setup, &r.out,
                      &r.err, &ws, &ge)) {
        fail_msg("spawn: %s", ge->message);
    }
    r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    return r;
}

/* Runs `qns ARGS...` and waits for it. */
static result qns(const char *first, ...)
{
    const char *argv[16] = {QNS_BIN, first};
    int n = 2;
    va_list ap;
    va_start(ap, first);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 15) {
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    return run_argv(argv, NULL);
}

/* `qns run INI -o OUT` in the background, its stdout in LOG. */
static pid_t spawn_run(const char *ini, const char *out, const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (freopen(log, "w", stdout) == NULL) {
            _exit(126);
        }
        execl(QNS_BIN, QNS_BIN, "run", ini, "-o", out, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits up to timeout_ms for `text` to appear in the file. */
static void wait_for_text(const char *path, const char *text, long long timeout_ms)
{
    long long t0 = ts_now_ms();
    char *data = NULL;
    while (ts_now_ms() - t0 < timeout_ms) {
        g_free(data);
        data = NULL;
        g_file_get_contents(path, &data, NULL, NULL);
        if (data && strstr(data, text)) {
            g_free(data);
            return;
        }
        g_usleep(10000);
    }
    fail_msg("no '%s' in %s after %lld ms:\n%s", text, path, timeout_ms, data ? data : "");
}

/* spawn_run, returning once the run has said it is running. */
static pid_t start_run(const char *ini, const char *out, const char *log)
{
    pid_t pid = spawn_run(ini, out, log);
    wait_for_text(log, "qns: running", 10000);
    return pid;
}

static void stop_run(pid_t pid, int want_status)
{
    int ws;
    assert_int_equal(kill(pid, SIGINT), 0);
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), want_status);
}

static char *make_dir(const char *tag)
{
    char *d = g_strdup_printf("runner-%s-%d", tag, getpid());
    g_mkdir_with_parents(d, 0755);
    return d;
}

static char *write_file(const char *dir, const char *name, const char *text)
{
    char *p = g_build_filename(dir, name, NULL);
    assert_true(g_file_set_contents(p, text, -1, NULL));
    return p;
}

/* DIR/FILE: a scenario of one fake guest a, with more [scenario] and [guest a]
 * lines, the guest's program getting `actions`. */
static char *one_guest_ini(const char *dir, const char *file, const char *scenario,
                           const char *guest, const char *actions)
{
    char *text = g_strdup_printf("[scenario]\n%s[guest a]\n%sprogram = %s %s\n", scenario, guest,
                                 QNS_FAKE_GUEST, actions);
    char *p = write_file(dir, file, text);
    g_free(text);
    return p;
}

/* The manifest.json of a run folder. */
static char *manifest_of(const char *out)
{
    char *man = g_build_filename(out, "manifest.json", NULL), *data = NULL;
    assert_true(g_file_get_contents(man, &data, NULL, NULL));
    g_free(man);
    return data;
}

/* A default guest image of nothing but its GUEST-INFO in dir, and QEMU
 * /bin/true: scenario files are checked against them. */
typedef struct fake_image {
    char *dir, *info, *old_qemu, *old_guest;
} fake_image;

static fake_image fake_image_set(const char *tag)
{
    fake_image f = {.dir = make_dir(tag)};
    f.info = write_file(f.dir, "GUEST-INFO",
                        "[guest]\nkernel=vmlinux\ninitrd=initrd.cpio\ncmdline=console=ttyS0 "
                        "quiet\nqemu_args=-machine pc\nnic_e1000=e1000,netdev=ID,mac=MAC\n"
                        "nic_virtio=virtio-net-pci,netdev=ID,mac=MAC\n");
    f.old_qemu = g_strdup(g_getenv("QNS_QEMU"));
    f.old_guest = g_strdup(g_getenv("QNS_GUEST_DIR"));
    g_setenv("QNS_QEMU", "/bin/true", TRUE);
    g_setenv("QNS_GUEST_DIR", f.dir, TRUE);
    return f;
}

static void fake_image_unset(fake_image *f)
{
    if (f->old_qemu) {
        g_setenv("QNS_QEMU", f->old_qemu, TRUE);
    } else {
        g_unsetenv("QNS_QEMU");
    }
    if (f->old_guest) {
        g_setenv("QNS_GUEST_DIR", f->old_guest, TRUE);
    } else {
        g_unsetenv("QNS_GUEST_DIR");
    }
    assert_int_equal(g_remove(f->info), 0);
    assert_int_equal(g_rmdir(f->dir), 0);
    g_free(f->old_qemu);
    g_free(f->old_guest);
    g_free(f->info);
    g_free(f->dir);
}

/* ---- scenario mistakes --------------------------------------------------------- */

typedef struct bad_case {
    const char *name;
    const char *text;
    const char *want; /* the stderr line after "FILE:" */
} bad_case;

#define HEAD "[scenario]\nduration = 1ms\n"
#define GUEST_A "[guest a]\nprogram = " QNS_FAKE_GUEST "\n"
#define GUEST_B "[guest b]\nprogram = " QNS_FAKE_GUEST "\n"

static const bad_case bad_cases[] = {
    {"unknown-section", HEAD "[router r1]\nx = 1\n",
     "3: unknown section [router r1]; expected [scenario], [guest NAME], [node NAME] or "
     "[link NAME]"},
    {"unknown-key", HEAD GUEST_A "memroy = 256\n",
     "5: unknown key 'memroy' in [guest a]; expected one of: memory, command, services, kernel, "
     "initrd, append, kernel_args, disk, files, extra_args, ends_run, agent, program, rank, "
     "boot, nicN.ip, "
     "nicN.mac, nicN.model, nicN.latency"},
    {"bad-pin", "[scenario]\nduration = 1ms\npin = sometimes\n",
     "3: pin: bad boolean 'sometimes' (expected true or false)"},
    {"kernel-args-for-a-program", HEAD GUEST_A "kernel_args = qns.debug=1\n",
     "5: guest a: kernel_args adds to the default guest's command line; a program has none"},
    {"kernel-args-with-append",
     HEAD "[guest k]\nappend = console=ttyS0\nkernel_args = qns.debug=1\n",
     "5: guest k: kernel_args adds to the default guest's command line; with an own kernel or "
     "append, put them in append"},
    {"bad-rounds", "[scenario]\nduration = 1ms\nrounds = sometimes\n",
     "3: rounds: 'sometimes' is neither fixed nor adaptive"},
    {"pin-and-spin", "[scenario]\nduration = 1ms\nspin = 2ms\npin = yes\n",
     "4: pin and spin do not go together: guest 0 shares the simulator's CPU, where either "
     "side's spinning holds the other off"},
    {"bad-duration", HEAD GUEST_A "[link lan]\ndelay = 5 parsecs\nmembers = a\n",
     "6: delay: bad duration '5 parsecs' (expected a number and a unit: ns, us, ms, s, e.g. "
     "100ns, 10us, 5ms, 1.5s)"},
    {"duration-past-ns-3s-time", "[scenario]\nduration = 9223372037s\n",
     "2: duration 9223372037000000000 ns is more than a run can last (at most 100 years of "
     "virtual time)"},
    {"zero-duration", "[scenario]\nduration = 0s\n", "2: duration must be more than 0"},
    {"unitless-duration", "[scenario]\nduration = 10\n",
     "2: duration: bad duration '10' (expected a number and a unit: ns, us, ms, s, e.g. 100ns, "
     "10us, 5ms, 1.5s)"},
    {"bad-rate", HEAD GUEST_A "[link lan]\nrate = 100MBps\nmembers = a\n",
     "6: rate: bad rate '100MBps' (expected a number and bps, kbps, Mbps or Gbps, or bit/s, "
     "kbit/s, Mbit/s, Gbit/s, e.g. 100Mbps)"},
    {"bad-loss", HEAD GUEST_A "[link lan]\nloss = 150%\nmembers = a\n",
     "6: loss: bad loss rate '150%' (expected 0 .. 1 or 0% .. 100%, e.g. 0.01 or 1%)"},
    {"bad-queue", HEAD GUEST_A "[link lan]\nqueue = 10kB\nmembers = a\n",
     "6: queue: bad queue size '10kB' (expected a number of packets, e.g. 100p)"},
    {"bad-quantum", "[scenario]\nduration = 1ms\nquantum = 1500ns\n",
     "3: quantum: '1500ns' is not a whole, non-zero number of microseconds"},
    {"spin-too-long", "[scenario]\nduration = 1ms\nspin = 2s\n",
     "3: spin: '2s' is not a whole number of microseconds up to 1s"},
    {"memory-too-small", "[scenario]\nduration = 1ms\n[guest a]\nmemory = 8M\n",
     "4: memory: bad memory size '8M' (expected MiB from 16 to 1048576, e.g. 256, 256M or 1G)"},
    {"watchdog-not-whole-ms", "[scenario]\nduration = 1ms\nwatchdog = 1500us\n",
     "3: watchdog: '1500us' is not a wall-clock time of whole milliseconds (e.g. 10s, 500ms), or "
     "0 or off for none"},
    {"watchdog-no-unit", "[scenario]\nduration = 1ms\nwatchdog = 10\n",
     "3: watchdog: '10' is not a wall-clock time of whole milliseconds (e.g. 10s, 500ms), or 0 "
     "or off for none"},
    {"watchdog-word", "[scenario]\nduration = 1ms\nwatchdog = never\n",
     "3: watchdog: 'never' is not a wall-clock time of whole milliseconds (e.g. 10s, 500ms), or "
     "0 or off for none"},
    {"watchdog-too-long", "[scenario]\nduration = 1ms\nwatchdog = 3000000s\n",
     "3: watchdog: '3000000s' is not a wall-clock time of whole milliseconds (e.g. 10s, 500ms), "
     "or 0 or off for none"},
    {"dangling-member", HEAD GUEST_A "[link lan]\nmembers = a, c\n",
     "6: members: 'c' is neither a [guest c] nor a [node c] of this file"},
    {"node-without-address", HEAD GUEST_A "[node r]\n[link lan]\nmembers = a, r\n",
     "7: members: node r needs an address: r=A.B.C.D/P"},
    {"p2p-three-members",
     HEAD GUEST_A GUEST_B "[node r]\n[link w]\ntype = p2p\n"
                          "members = a, b, r=10.0.0.3/24\n",
     "10: link w: a point-to-point link has two ends"},
    {"p2p-one-member", HEAD GUEST_A "[link w]\ntype = p2p\nmembers = a\n",
     "5: link w: a point-to-point link has exactly two members, it has 1"},
    {"csma-across-ranks", HEAD GUEST_A "rank = 1\n" GUEST_B "[link lan]\nmembers = a, b\n",
     "8: link lan: guest a NIC 0 is on rank 1, guest b NIC 0 on rank 0; only a point-to-point "
     "link joins two ranks"},
    {"p2p-across-ranks-without-delay",
     HEAD GUEST_A "rank = 1\n" GUEST_B "[link w]\ntype = p2p\nmembers = a, b\n",
     "8: link w joins ranks 1 and 0: its delay must be above 0 (it is ns-3's lookahead between "
     "them)"},
    {"ranks-joined-by-no-link",
     HEAD GUEST_A "rank = 1\n" GUEST_B "[link lan]\nmembers = b\n[link lan1]\nmembers = a\n",
     " guests and nodes are on ranks 0 .. 1, but no point-to-point link joins two ranks (its "
     "delay is ns-3's lookahead)"},
    {"ranked-guest-on-no-link", HEAD GUEST_A "rank = 2\n",
     " guest a is on rank 2 but on no link; a guest without one runs on rank 0"},
    {"ranks-and-rank-keys", "[scenario]\nduration = 1ms\nranks = 2\n" GUEST_A "rank = 1\n",
     "6: rank: [scenario] ranks = 2 (line 3) puts guests and nodes on ranks by itself; give "
     "either ranks or rank keys"},
    {"ranks-more-than-parts",
     "[scenario]\nduration = 1ms\nranks = 3\n" GUEST_A GUEST_B
     "[link w]\ntype = p2p\ndelay = 1ms\nmembers = a, b\n",
     "3: ranks: the network splits into 2 part(s) at its point-to-point links, fewer than the 3 "
     "ranks asked for"},
    {"rank-too-high", HEAD "[node r]\nrank = 1024\n",
     "4: rank: bad number '1024' (expected a whole number 0 .. 1023)"},
    {"missing-kernel", HEAD "[guest k]\nkernel = no-such-bzImage\n",
     "4: kernel: cannot read 'no-such-bzImage': No such file or directory"},
    {"own-kernel-command",
     HEAD "[guest k]\nkernel = /bin/sh\nappend = console=ttyS0\ncommand = true\n",
     "6: guest k: command: nothing in an own image would run it; an own image gets them only if "
     "it runs the qns agent (scenarios/guests/debian/qns-agent, its unit qns-agent.service) and says so "
     "with agent = yes"},
    {"own-kernel-ip",
     HEAD "[guest k]\nkernel = /bin/sh\nappend = console=ttyS0\nnic0.ip = 10.0.0.1/24\n",
     "6: guest k: nic0.ip: nothing in an own image would set the address (configure it in the "
     "image); an own image gets them only if it runs the qns agent (scenarios/guests/debian/qns-agent, "
     "its unit qns-agent.service) and says so with agent = yes"},
    {"own-kernel-no-append", HEAD "[guest k]\nkernel = /bin/sh\n",
     "4: guest k: kernel: an own kernel needs append = its command line (at least console=ttyS0 "
     "for its console and root= for its disk); qns adds none"},
    {"agent-default-guest", HEAD "[guest k]\nagent = yes\n",
     "4: guest k: agent: only for an own kernel or initrd (the default guest and qns's images run "
     "theirs)"},
    {"missing-disk", HEAD "[guest k]\ndisk = /nonexistent/disk.qcow2\n",
     "4: disk: cannot read '/nonexistent/disk.qcow2': No such file or directory"},
    {"duplicate-name", HEAD GUEST_A "[node a]\n",
     "5: name a is already used by [guest a] at line 3"},
    {"duplicate-key", HEAD GUEST_A "nic0.ip = 10.0.0.1/24\nnic0.ip = 10.0.0.2/24\n",
     "6: key 'nic0.ip' is set twice in [guest a] (first at line 5)"},
    {"not-key-value", HEAD GUEST_A "members a b\n",
     "5: expected KEY = VALUE or [section], got 'members a b'"},
    {"bad-ip", HEAD GUEST_A "nic0.ip = 10.0.0.300/24\n",
     "5: nic0.ip: bad IPv4 address '10.0.0.300/24' (expected A.B.C.D/PREFIX, e.g. 10.0.0.1/24)"},
    {"bad-model", HEAD GUEST_A "nic1.model = rtl8139\n",
     "5: nic1.model: unknown NIC model 'rtl8139'; expected virtio or e1000"},
    {"bad-link-type", HEAD GUEST_A "[link l]\ntype = token-ring\nmembers = a\n",
     "6: type: unknown link type 'token-ring'; expected csma, p2p or wifi"},
    {"wifi-bad-standard", HEAD GUEST_A "[link w]\ntype = wifi\nstandard = 802.11x\nmembers = a\n",
     "7: link w: unknown standard '802.11x'; expected 802.11g, 802.11n or 802.11ac"},
    {"wifi-bad-mode", HEAD GUEST_A "[link w]\nwifi_mode = mesh\ntype = wifi\nmembers = a\n",
     "6: link w: unknown wifi_mode 'mesh'; expected adhoc or infrastructure"},
    {"wifi-rate-of-another-standard",
     HEAD GUEST_A "[link w]\ntype = wifi\nstandard = 802.11g\nwifi_rate = HtMcs7\nmembers = a\n",
     "8: link w: wifi_rate 'HtMcs7' is not a rate of 802.11g (one antenna): DsssRate1Mbps "
     "DsssRate2Mbps DsssRate5_5Mbps DsssRate11Mbps ErpOfdmRate6Mbps ErpOfdmRate9Mbps "
     "ErpOfdmRate12Mbps ErpOfdmRate18Mbps ErpOfdmRate24Mbps ErpOfdmRate36Mbps ErpOfdmRate48Mbps "
     "ErpOfdmRate54Mbps"},
    {"wifi-rate-and-manager",
     HEAD GUEST_A "[link w]\ntype = wifi\nrate_manager = minstrel\nwifi_rate = HtMcs7\n"
                  "members = a\n",
     "8: link w: wifi_rate fixes the rate; it does not go with rate_manager minstrel"},
    {"wifi-bad-manager", HEAD GUEST_A "[link w]\ntype = wifi\nrate_manager = arf\nmembers = a\n",
     "7: link w: unknown rate_manager 'arf'; expected ideal or minstrel"},
    {"wifi-wired-rate", HEAD GUEST_A "[link w]\ntype = wifi\nrate = 54Mbps\nmembers = a\n",
     "7: link w: rate is a wired link's setting; a wifi link has its standard, distance and "
     "wifi_rate or rate_manager"},
    {"wifi-key-on-csma", HEAD GUEST_A "[link l]\nstandard = 802.11n\nmembers = a\n",
     "6: link l: standard is a Wi-Fi setting; this link is not type wifi"},
    {"wifi-bad-distance",
     HEAD GUEST_A "[link w]\ntype = wifi\ndistance = 10 parsecs\nmembers = a\n",
     "7: distance: bad distance '10 parsecs' (expected a number above 0 and a unit: mm, cm, m, km, "
     "e.g. 10m, 2.5m)"},
    {"wifi-too-far", HEAD GUEST_A "[link w]\ntype = wifi\ndistance = 2000km\nmembers = a\n",
     "7: link w: distance must be more than 0 m and at most 1000 km"},
    {"bad-client", HEAD "[node n]\nudp-echo-client = 10.0.0.1:9 count=3 every=1s\n",
     "4: udp-echo-client: unknown option 'every'; expected count, interval, size, start"},
    {"sink-no-protocol", HEAD "[node n]\npacket-sink = 5000\n",
     "4: packet-sink: expected tcp:PORT or udp:PORT, got '5000'"},
    {"sink-bad-port", HEAD "[node n]\npacket-sink = tcp:5000, udp:0\n",
     "4: packet-sink: bad port '0' (expected 1 .. 65535)"},
    {"bulk-no-port", HEAD "[node n]\nbulk-send = tcp:10.0.0.2 max=10\n",
     "4: bulk-send: expected PROTOCOL:ADDR:PORT first, got 'tcp:10.0.0.2'"},
    {"bulk-bad-option", HEAD "[node n]\nbulk-send = tcp:10.0.0.2:5000 limit=10\n",
     "4: bulk-send: unknown option 'limit'; expected max, start, stop, rate, size, on, off"},
    {"bulk-bad-max", HEAD "[node n]\nbulk-send = tcp:10.0.0.2:5000 max=1MB\n",
     "4: bulk-send: max: bad number '1MB' (expected a whole number 0 .. 18446744073709551615)"},
    {"bulk-bad-start", HEAD "[node n]\nbulk-send = tcp:10.0.0.2:5000 start=2\n",
     "4: bulk-send: start: bad duration '2' (expected a number and a unit: ns, us, ms, s, e.g. "
     "100ns, 10us, 5ms, 1.5s)"},
    {"bulk-no-address", HEAD "[node n]\nbulk-send =  \n",
     "4: bulk-send: expected PROTOCOL:ADDR:PORT [OPTION=VALUE ...]"},
    {"on-off-bad-rate", HEAD "[node n]\non-off = udp:10.0.0.2:9 rate=fast\n",
     "4: on-off: rate: bad rate 'fast' (expected a number and bps, kbps, Mbps or Gbps, or bit/s, "
     "kbit/s, Mbit/s, Gbit/s, e.g. 100Mbps)"},
    /* The C API's checks, with the runner's FILE:LINE. */
    {"api-sink-protocol", HEAD "[node n]\npacket-sink = sctp:5000\n",
     "4: packet-sink: unknown protocol 'sctp', expected tcp or udp"},
    {"api-bulk-udp", HEAD "[node n]\nbulk-send = udp:10.0.0.2:5000\n",
     "4: bulk-send: unknown protocol 'udp', expected tcp"},
    {"api-bulk-address", HEAD "[node n]\nbulk-send = tcp:10.0.0.256:5000\n",
     "4: bulk-send: bad IPv4 address '10.0.0.256' (expected A.B.C.D)"},
    {"api-bulk-rate", HEAD "[node n]\nbulk-send = tcp:10.0.0.2:5000 rate=1Mbps\n",
     "4: bulk-send: rate, size, on and off are on-off settings"},
    {"api-on-off-stop", HEAD "[node n]\non-off = udp:10.0.0.2:9 start=2s stop=1s\n",
     "4: on-off: stop must come after start"},
    {"api-on-off-size", HEAD "[node n]\non-off = udp:10.0.0.2:9 size=70000\n",
     "4: on-off: size 70000 is more than a UDP datagram holds (65507)"},
    {"bad-flow-monitor", "[scenario]\nduration = 1ms\nflow_monitor = maybe\n",
     "3: flow_monitor: bad boolean 'maybe' (expected true or false)"},
    {"no-duration", "[scenario]\nseed = 3\n",
     "1: [scenario] needs duration = ..., e.g. duration = 10s"},
    {"route-without-via", HEAD "[node r]\nroute = 10.0.2.0/24 10.0.1.1\n",
     "4: route: expected DEST/PREFIX via GATEWAY, e.g. 10.0.2.0/24 via 10.0.1.1, got "
     "'10.0.2.0/24 10.0.1.1'"},
    {"route-extra-word", HEAD "[node r]\nroute = 10.0.2.0/24 via 10.0.1.1 metric 5\n",
     "4: route: expected DEST/PREFIX via GATEWAY, e.g. 10.0.2.0/24 via 10.0.1.1, got "
     "'10.0.2.0/24 via 10.0.1.1 metric 5'"},
    {"route-bad-destination", HEAD "[node r]\nroute = 10.0.2/24 via 10.0.1.1\n",
     "4: route: bad IPv4 address '10.0.2/24' (expected A.B.C.D/PREFIX, e.g. 10.0.0.1/24)"},
    {"route-bad-gateway", HEAD "[node r]\nroute = 10.0.2.0/24 via 10.0.1.1/24\n",
     "4: route: bad IPv4 address '10.0.1.1/24' (expected A.B.C.D)"},
    /* route repeats: the first line is fine, the second is not. */
    {"route-repeated",
     HEAD "[node r]\nroute = 10.0.2.0/24 via 10.0.1.1\n"
          "route = 10.0.3.0/24 va 10.0.1.1\n",
     "5: route: expected DEST/PREFIX via GATEWAY, e.g. 10.0.2.0/24 via 10.0.1.1, got "
     "'10.0.3.0/24 va 10.0.1.1'"},
    {"route-gateway-off-subnet",
     HEAD "[node r]\nroute = 10.0.1.0/24 via 10.0.9.1\n[node s]\n"
          "[link lan]\nmembers = r=10.0.2.1/24, s=10.0.2.2/24\n",
     "4: node r: gateway 10.0.9.1 of the route to 10.0.1.0/24 is on none of the node's subnets "
     "(10.0.2.1/24)"},
    {"route-node-on-no-link", HEAD "[node r]\nroute = 0.0.0.0/0 via 10.0.2.1\n",
     "4: node r: gateway 10.0.2.1 of the route to 0.0.0.0/0 is on none of the node's subnets "
     "(the node is on no link)"},
    /* An error the C API finds: still FILE:LINE, still 2. */
    {"api-bad-mac", HEAD GUEST_A "nic0.mac = 52:54:00:zz:00:01\n",
     "3: guest a NIC 0: bad MAC address '52:54:00:zz:00:01'"},
    /* Addresses that clash on a link: both places, with their lines. */
    {"duplicate-mac",
     HEAD GUEST_A "nic0.mac = 52:54:00:00:00:09\n" GUEST_B
                  "nic0.mac = 52:54:00:00:00:09\n[link lan]\nmembers = a, b\n",
     "10: link lan: guest b NIC 0 has MAC address 52:54:00:00:00:09, as guest a NIC 0 has"},
    {"duplicate-default-mac",
     HEAD GUEST_A GUEST_B "nic0.mac = 52:54:00:00:00:01\n"
                          "[link lan]\nmembers = a, b\n",
     "9: link lan: guest b NIC 0 has MAC address 52:54:00:00:00:01, as guest a NIC 0 has"},
    {"duplicate-ip",
     HEAD GUEST_A "nic0.ip = 10.0.0.1/24\n[node r]\n[link lan]\n"
                  "members = a, r=10.0.0.1/24\n",
     "8: link lan: node r has IPv4 address 10.0.0.1, as guest a NIC 0 has"},
    {"api-multicast-mac", HEAD GUEST_A "nic0.mac = 01:00:5e:00:00:01\n",
     "3: guest a NIC 0: MAC address 01:00:5e:00:00:01 is a multicast address (lowest bit of the "
     "first byte set); a NIC needs a unicast one, e.g. 52:54:00:00:00:01"},
    {"api-network-address", HEAD "[node r]\n[link lan]\nmembers = r=10.0.0.0/24\n",
     "5: node r: 10.0.0.0/24 is the network address of 10.0.0.0/24, not a host's"},
    {"api-broadcast-address", HEAD GUEST_A "nic0.ip = 10.0.0.255/24\n",
     "3: guest a NIC 0: 10.0.0.255/24 is the broadcast address of 10.0.0.0/24, not a host's"},
    /* User input is quoted with control bytes escaped and long values cut. */
    {"control-bytes", "[scenario]\nduration = 1\x01m\x1b[2Js\n",
     "2: duration: bad duration '1\\x01m\\x1b[2Js' (expected a number and a unit: ns, us, ms, s, "
     "e.g. 100ns, 10us, 5ms, 1.5s)"},
    {"control-bytes-in-a-line", HEAD "members\x07 a\n",
     "3: expected KEY = VALUE or [section], got 'members\\x07 a'"},
    {"escaped-tab-in-a-value", HEAD GUEST_A "nic0.model = e1000\\tx\n",
     "5: nic0.model: unknown NIC model 'e1000\\x09x'; expected virtio or e1000"},
    {"api-route-host-bits",
     HEAD "[node r]\nroute = 10.0.1.7/24 via 10.0.2.2\n[node s]\n"
          "[link lan]\nmembers = r=10.0.2.1/24, s=10.0.2.2/24\n",
     "4: node r: route destination 10.0.1.7/24 has host bits set; the network is 10.0.1.0/24"},
};

static void each_scenario_mistake_names_file_and_line_and_exits_2(void **state)
{
    (void)state;
    char *dir = make_dir("bad");
    /* QEMU and a guest image to check against (the C API reads GUEST-INFO). */
    fake_image img = fake_image_set("bad-image");
    for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        const bad_case *c = &bad_cases[i];
        char *name = g_strdup_printf("%s.ini", c->name);
        char *path = write_file(dir, name, c->text);
        char *out = g_build_filename(dir, c->name, NULL);
        result r = qns("run", path, "-o", out, NULL);
        char *want = g_strdup_printf("%s:%s\n", path, c->want);
        if (r.status != 2 || strstr(r.err, want) == NULL) {
            fail_msg("%s: status %d, stderr:\n%s\nwanted:\n%s", c->name, r.status, r.err, want);
        }
        /* Nothing ran: no output folder, for the C API's refusals too. */
        assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
        result_clear(&r);
        g_free(want);
        g_free(out);
        g_free(path);
        g_free(name);
    }
    fake_image_unset(&img);
    assert_int_equal(ts_child_count(), 0);
    g_free(dir);
}

/* A 100 kB key and a 100 kB value: each message quotes 64 characters. */
static void long_keys_and_values_are_shortened_in_messages(void **state)
{
    (void)state;
    char *dir = make_dir("long");
    char *key = g_strnfill(100000, 'k'), *val = g_strnfill(100000, '9');
    char *text = g_strdup_printf(HEAD GUEST_A "%s = 1\nmemory = %sx\n", key, val);
    char *path = write_file(dir, "long.ini", text);
    result r = qns("run", path, "-o", "never", NULL);
    assert_int_equal(r.status, 2);
    char *k64 = g_strnfill(64, 'k'), *v64 = g_strnfill(64, '9');
    char *want =
        g_strdup_printf("%s:5: unknown key '%s...' in [guest a]; expected one of: memory, "
                        "command, services, kernel, initrd, append, kernel_args, disk, "
                        "files, extra_args, ends_run, agent, program, rank, boot, nicN.ip, "
                        "nicN.mac, "
                        "nicN.model, nicN.latency\n"
                        "%s:6: memory: bad memory size '%s...' (expected MiB from 16 to "
                        "1048576, e.g. 256, 256M or 1G)\n",
                        path, k64, path, v64);
    assert_string_equal(r.err, want);
    result_clear(&r);
    g_free(want);
    g_free(k64);
    g_free(v64);
    g_free(path);
    g_free(text);
    g_free(key);
    g_free(val);
    g_free(dir);
}

/* Words of the command line are quoted as the file's values are. */
static void command_line_words_are_quoted_in_messages(void **state)
{
    (void)state;
    /* 64 characters: x, ESC, [2J and 59 of the 100 y. */
    char *y100 = g_strnfill(100, 'y'), *y59 = g_strnfill(59, 'y');
    char *word = g_strdup_printf("x\x1b[2J%s", y100);
    char *want = g_strdup_printf("qns: unknown command 'x\\x1b[2J%s...'; run 'qns --help'\n", y59);
    result r = qns(word, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    result_clear(&r);
    r = qns("report", "no\x07such", NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "qns: cannot open no\\x07such: No such file or directory\n");
    result_clear(&r);
    g_free(want);
    g_free(y59);
    g_free(y100);
    g_free(word);
}

/* The scenario must be a regular file of at most 1 MiB: a FIFO is refused
 * instead of read forever, a device instead of eaten. */
static void a_scenario_that_is_no_text_file_is_refused(void **state)
{
    (void)state;
    char *dir = make_dir("notfile");
    char *fifo = g_build_filename(dir, "fifo.ini", NULL);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    const struct {
        const char *path, *want;
    } cases[] = {
        {fifo, "the scenario is a FIFO, not a regular file"},
        {"/dev/zero", "the scenario is a character device, not a regular file"},
        {dir, "the scenario is a folder, not a regular file"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        long long t0 = ts_now_ms();
        result r = qns("run", cases[i].path, "-o", "never", NULL);
        char *want = g_strdup_printf("%s: %s\n", cases[i].path, cases[i].want);
        assert_int_equal(r.status, 2);
        assert_string_equal(r.err, want);
        assert_true(ts_now_ms() - t0 < 5000);
        g_free(want);
        result_clear(&r);
    }
    /* One byte over 1 MiB: refused, whatever it holds. */
    GString *big = g_string_new(HEAD);
    while (big->len <= 1024 * 1024) {
        g_string_append(big, "# padding padding padding padding padding padding padding\n");
    }
    g_string_truncate(big, 1024 * 1024 + 1);
    char *path = write_file(dir, "big.ini", big->str);
    result r = qns("run", path, "-o", "never", NULL);
    char *want = g_strdup_printf("%s: the scenario is larger than 1048576 bytes (1 MiB); a "
                                 "scenario file is short text\n",
                                 path);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    result_clear(&r);
    g_free(want);
    g_free(path);
    /* Exactly 1 MiB of comments and a good head is fine to read. */
    g_string_truncate(big, 1024 * 1024 - 1);
    g_string_append_c(big, '\n');
    path = write_file(dir, "max.ini", big->str);
    char *out = g_build_filename(dir, "max-run", NULL);
    r = qns("run", "-q", path, "-o", out, NULL);
    assert_int_equal(r.status, 0);
    result_clear(&r);
    g_free(out);
    g_free(path);
    /* A NUL byte would hide the rest of the file. */
    path = g_build_filename(dir, "nul.ini", NULL);
    assert_true(g_file_set_contents(path, HEAD "# x\0y\n[guest a]\n",
                                    sizeof(HEAD "# x\0y\n[guest a]\n") - 1, NULL));
    r = qns("run", path, "-o", "never", NULL);
    want = g_strdup_printf("%s:3: the line holds a NUL byte; a scenario file is text\n", path);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    result_clear(&r);
    g_free(want);
    g_free(path);
    g_string_free(big, TRUE);
    g_free(fifo);
    g_free(dir);
}

static void every_mistake_of_a_file_is_reported_not_only_the_first(void **state)
{
    (void)state;
    char *dir = make_dir("many");
    char *path = write_file(dir, "x.ini",
                            HEAD GUEST_A "colour = red\n[link l]\nrate = fast\nmembers = a, zz\n");
    result r = qns("run", path, "-o", "never", NULL);
    assert_int_equal(r.status, 2);
    gchar **lines = g_strsplit(r.err, "\n", -1);
    assert_int_equal(g_strv_length(lines), 4); /* three messages and the empty tail */
    assert_true(g_str_has_prefix(lines[0], path));
    assert_non_null(strstr(lines[0], ":5: unknown key 'colour'"));
    assert_non_null(strstr(lines[1], ":7: rate: bad rate 'fast'"));
    assert_non_null(strstr(lines[2], ":8: members: 'zz' is neither"));
    g_strfreev(lines);
    result_clear(&r);
    g_free(path);
    g_free(dir);
}

/* The C API's refusals too: each at its line, all of them, what depends on
 * a refused guest left out (its attachment is not refused again). */
static void every_refusal_of_the_api_is_reported_not_only_the_first(void **state)
{
    (void)state;
    char *dir = make_dir("many-api");
    char *path = write_file(dir, "x.ini",
                            HEAD GUEST_A "nic0.mac = 01:00:5e:00:00:01\n[node r]\n"
                                         "route = 10.0.9.0/24 via 10.0.1.1\n[node s]\n"
                                         "[link l]\nmembers = a, r=10.0.0.1/24, s=10.0.0.1/24\n");
    result r = qns("run", path, "-o", "never", NULL);
    assert_int_equal(r.status, 2);
    gchar **lines = g_strsplit(r.err, "\n", -1);
    assert_int_equal(g_strv_length(lines), 4); /* three messages and the empty tail */
    assert_non_null(strstr(lines[0], ":3: guest a NIC 0: MAC address 01:00:5e:00:00:01 is a "
                                     "multicast address"));
    assert_non_null(strstr(lines[1], ":10: link l: node s has IPv4 address 10.0.0.1, as node r "
                                     "has"));
    assert_non_null(strstr(lines[2], ":7: node r: gateway 10.0.1.1 of the route to 10.0.9.0/24 "
                                     "is on none of the node's subnets (10.0.0.1/24)"));
    assert_false(g_file_test("never", G_FILE_TEST_EXISTS));
    g_strfreev(lines);
    result_clear(&r);
    g_free(path);
    g_free(dir);
}

/* A command too long for the default guest's kernel command line is
 * refused when the file is built, at the guest's line, before any run. */
static void command_too_long_for_the_kernel_is_refused_at_its_guest(void **state)
{
    (void)state;
    fake_image img = fake_image_set("longcmd");
    char *cmd = g_strnfill(1600, 'x');
    char *text = g_strdup_printf("[scenario]\nduration = 1ms\n\n[guest a]\ncommand = %s\n", cmd);
    char *ini = write_file(img.dir, "long.ini", text);
    GString *errors = g_string_new(NULL);
    assert_null(rn_scenario_load(ini, NULL, NULL, errors));
    /* "console=ttyS0 quiet qns.hostname=a qns.cmd=" and 2136 bytes of base64 */
    char *want = g_strdup_printf("%s:4: guest a: its kernel command line is 2179 bytes, more than "
                                 "the default guest's kernel takes (2047); the command (1600 "
                                 "bytes) is base64-encoded into it: shorten it\n",
                                 ini);
    assert_string_equal(errors->str, want);
    g_free(want);
    g_string_free(errors, TRUE);
    assert_int_equal(g_remove(ini), 0);
    fake_image_unset(&img);
    g_free(ini);
    g_free(text);
    g_free(cmd);
}

/* kernel_args lands on the default guest's kernel command line after qns's
 * own parameters; pin = yes reaches the scenario. */
static void guest_kernel_args_and_pin_reach_the_simulation(void **state)
{
    (void)state;
    fake_image img = fake_image_set("keys");
    char *dir = img.dir;
    char *ini = write_file(dir, "keys.ini",
                           "[scenario]\nduration = 1ms\npin = yes\n"
                           "[guest a]\nnic0.ip = 10.0.0.1/24\n"
                           "kernel_args = qns.route=10.9.0.0/16,10.0.0.254 qns.debug=1\n");
    GString *errors = g_string_new(NULL);
    rn_scenario *sc = rn_scenario_load(ini, NULL, NULL, errors);
    if (sc == NULL) {
        fail_msg("%s", errors->str);
    }
    assert_int_equal(rn_scenario_settings(sc)->pin, 1);
    qns_sim_config cfg = {.out_dir = dir, .guest_dir = dir, .qemu = "/bin/true"};
    qns_sim *sim = rn_scenario_build(sc, &cfg, errors);
    if (sim == NULL) {
        fail_msg("%s", errors->str);
    }
    const char *const *argv = qns_sim_guest_argv(sim, 0);
    const char *append = NULL;
    for (int i = 0; argv[i] && argv[i + 1]; i++) {
        if (strcmp(argv[i], "-append") == 0) {
            append = argv[i + 1];
        }
    }
    assert_non_null(append);
    assert_string_equal(append, "console=ttyS0 quiet qns.hostname=a qns.net=eth0,10.0.0.1/24 "
                                "qns.route=10.9.0.0/16,10.0.0.254 qns.debug=1");
    qns_sim_free(sim);
    rn_scenario_free(sc);
    g_string_free(errors, TRUE);
    assert_int_equal(g_remove(ini), 0);
    fake_image_unset(&img);
    g_free(ini);
}

static void units_are_read_as_people_write_them(void **state)
{
    (void)state;
    char *why = NULL;
    uint64_t v;
    const struct {
        const char *s;
        uint64_t ns;
    } d[] = {{"100ns", 100},       {"10us", 10000},     {"5ms", 5000000},   {"2s", 2000000000},
             {"1.5s", 1500000000}, {"0.1s", 100000000}, {"2.5 ms", 2500000}};
    for (size_t i = 0; i < G_N_ELEMENTS(d); i++) {
        assert_int_equal(rn_parse_duration_ns(d[i].s, &v, &why), 0);
        assert_int_equal(v, d[i].ns);
    }
    assert_int_equal(rn_parse_duration_ns("1.5ns", &v, &why), -1);
    g_free(why);
    const struct {
        const char *s;
        uint64_t bps;
    } r[] = {{"10Mbps", 10000000}, {"100Mbit/s", 100000000}, {"1Gbps", 1000000000},
             {"500kbps", 500000},  {"9600bps", 9600},        {"1.5Mbps", 1500000}};
    for (size_t i = 0; i < G_N_ELEMENTS(r); i++) {
        assert_int_equal(rn_parse_rate_bps(r[i].s, &v, &why), 0);
        assert_int_equal(v, r[i].bps);
    }
    double loss;
    assert_int_equal(rn_parse_loss("1%", &loss, &why), 0);
    assert_true(loss > 0.00999 && loss < 0.01001);
    assert_int_equal(rn_parse_loss("0.01", &loss, &why), 0);
    assert_true(loss > 0.00999 && loss < 0.01001);
    uint32_t q;
    assert_int_equal(rn_parse_queue("100p", &q, &why), 0);
    assert_int_equal(q, 100);
    assert_int_equal(rn_parse_queue("100", &q, &why), 0);
    assert_int_equal(q, 100);
}

/* ---- run, verify, pack ------------------------------------------------------------- */

/* pin = yes reaches the run: the guest may use one CPU only, and the
 * manifest says the run was pinned. */
static void pinned_run_puts_the_guest_on_one_cpu(void **state)
{
    (void)state;
    char *dir = make_dir("pin");
    char *ini = one_guest_ini(dir, "pin.ini", "duration = 100us\npin = yes\n", "", "cpus:0");
    char *out = g_build_filename(dir, "run", NULL);
    result r = qns("run", "-q", ini, "-o", out, NULL);
    if (r.status != 0) {
        fail_msg("run: %d\n%s%s", r.status, r.out, r.err);
    }
    result_clear(&r);
    char *console = g_build_filename(out, "a.console", NULL), *data = NULL;
    assert_true(g_file_get_contents(console, &data, NULL, NULL));
    unsigned cpu;
    char tail;
    if (sscanf(data, "cpus: %u%c", &cpu, &tail) != 2 || tail != '\n') {
        fail_msg("a.console: not one CPU: %s", data);
    }
    g_free(data);
    data = manifest_of(out);
    assert_non_null(strstr(data, "\"pin\" : true"));
    g_free(data);
    g_free(console);
    g_free(out);
    g_free(ini);
    g_free(dir);
}

/* Two fake guests on a CSMA LAN: a sends six frames, b echoes them. */
static char *fake_lan(const char *dir, const char *duration, const char *every)
{
    char *text = g_strdup_printf("# generated by test_runner\n"
                                 "[scenario]\nname = fakelan\nduration = %s\nseed = 7\n\n"
                                 "[guest a]\nprogram = %s send:5000:0:98 %s\n"
                                 "nic0.mac = 52:54:00:00:00:01\n\n"
                                 "[guest b]\nprogram = %s echo:0\n\n"
                                 "[link lan]\ntype = csma\nrate = 100Mbps\ndelay = 1us\n"
                                 "capture = true\nmembers = a, b\n",
                                 duration, QNS_FAKE_GUEST, every, QNS_FAKE_GUEST);
    char *p = write_file(dir, "fakelan.ini", text);
    g_free(text);
    return p;
}

static char *run_fake_lan(const char *dir)
{
    char *ini = fake_lan(dir, "2ms", "every:100000:100000:0:98:5");
    char *out = g_build_filename(dir, "run", NULL);
    result r = qns("run", ini, "-o", out, NULL);
    if (r.status != 0) {
        fail_msg("run: %d\n%s%s", r.status, r.out, r.err);
    }
    assert_non_null(strstr(r.out, "guest a: 6 frames out, 6 frames in, clock 0.002000 s\n"));
    result_clear(&r);
    g_free(ini);
    const char *files[] = {"manifest.json", "scenario.ini", "a-nic0.pcap", "b-nic0.pcap",
                           "lan-0-0.pcap",  "lan-1-0.pcap", "a.console",   "b.console"};
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        char *p = g_build_filename(out, files[i], NULL);
        assert_true(g_file_test(p, G_FILE_TEST_IS_REGULAR));
        g_free(p);
    }
    return out;
}

static void run_then_verify_matches_every_output(void **state)
{
    (void)state;
    char *dir = make_dir("verify");
    char *out = run_fake_lan(dir);
    result r = qns("verify", "--trust-package", out, NULL);
    if (r.status != 0) {
        fail_msg("verify: %d\n%s%s", r.status, r.out, r.err);
    }
    assert_non_null(strstr(r.out, "verify: OK: all 6 files match"));
    assert_non_null(strstr(r.out, "\nlan-0-0.pcap "));
    result_clear(&r);
    assert_int_equal(ts_child_count(), 0);
    g_free(out);
    g_free(dir);
}

/* The fake LAN over 100 ms, with adaptive rounds (the default) or fixed
 * ones: the same files, byte for byte, in far fewer rounds; the manifest
 * says which. */
static void adaptive_rounds_write_what_fixed_rounds_write(void **state)
{
    (void)state;
    char *dir = make_dir("adaptive");
    char *ini = fake_lan(dir, "100ms", "every:100000:10000000:0:98:9");
    gchar *text = NULL;
    assert_true(g_file_get_contents(ini, &text, NULL, NULL));
    char *at = strstr(text, "seed = 7\n");
    assert_non_null(at);
    GString *f = g_string_new(NULL);
    g_string_append_len(f, text, at - text);
    g_string_append(f, "rounds = fixed\n");
    g_string_append(f, at);
    char *ini2 = write_file(dir, "fixed.ini", f->str);
    char *d1 = g_build_filename(dir, "fixed", NULL), *d2 = g_build_filename(dir, "adaptive", NULL);
    result r1 = qns("run", ini2, "-o", d1, NULL);
    result r2 = qns("run", ini, "-o", d2, NULL);
    assert_int_equal(r1.status, 0);
    assert_int_equal(r2.status, 0);
    assert_non_null(strstr(r1.out, "(100ms, quantum 10 us, fixed rounds, seed 7)"));
    assert_non_null(strstr(r1.out, "0.100000 s of virtual time"));
    assert_non_null(strstr(r1.out, ", 10000 rounds, 0 late frames\n"));
    assert_non_null(strstr(r2.out, "(100ms, quantum 10 us, seed 7)"));
    assert_non_null(strstr(r2.out, "0.100000 s of virtual time"));
    assert_null(strstr(r2.out, ", 10000 rounds"));
    const char *files[] = {"a-nic0.pcap",  "b-nic0.pcap", "lan-0-0.pcap",
                           "lan-1-0.pcap", "a.console",   "b.console"};
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        char *p1 = g_build_filename(d1, files[i], NULL), *p2 = g_build_filename(d2, files[i], NULL);
        if (!ts_same_bytes(p1, p2)) {
            fail_msg("%s differs between fixed and adaptive rounds", files[i]);
        }
        g_free(p1);
        g_free(p2);
    }
    const char *dirs[] = {d1, d2}, *modes[] = {"fixed", "adaptive"};
    for (int i = 0; i < 2; i++) {
        char *m = g_build_filename(dirs[i], "manifest.json", NULL), *mt = NULL;
        char *want = g_strdup_printf("\"round_mode\" : \"%s\"", modes[i]);
        assert_true(g_file_get_contents(m, &mt, NULL, NULL));
        if (strstr(mt, want) == NULL) {
            fail_msg("%s has no %s", m, want);
        }
        g_free(want);
        g_free(mt);
        g_free(m);
    }
    result_clear(&r1);
    result_clear(&r2);
    g_free(d1);
    g_free(d2);
    g_free(ini2);
    g_string_free(f, TRUE);
    g_free(text);
    g_free(ini);
    g_free(dir);
}

/* `body` run once with `rounds = fixed` and once with the default adaptive
 * rounds, into DIR/fixed and DIR/adaptive; both must succeed. */
static void run_both_modes(const char *dir, const char *body, result *fixed, result *adaptive)
{
    char *ft = g_strdup_printf("[scenario]\nrounds = fixed\n%s", body);
    char *at = g_strdup_printf("[scenario]\n%s", body);
    char *fi = write_file(dir, "fixed.ini", ft), *ai = write_file(dir, "adaptive.ini", at);
    char *fd = g_build_filename(dir, "fixed", NULL), *ad = g_build_filename(dir, "adaptive", NULL);
    *fixed = qns("run", fi, "-o", fd, NULL);
    *adaptive = qns("run", ai, "-o", ad, NULL);
    if (fixed->status != 0 || adaptive->status != 0) {
        fail_msg("fixed: %d\n%s%s\nadaptive: %d\n%s%s", fixed->status, fixed->out, fixed->err,
                 adaptive->status, adaptive->out, adaptive->err);
    }
    g_free(fd);
    g_free(ad);
    g_free(fi);
    g_free(ai);
    g_free(ft);
    g_free(at);
}

/* The files of DIR/fixed and DIR/adaptive are the same, byte for byte. */
static void same_files_in_both_modes(const char *dir, const char *const *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *p1 = g_build_filename(dir, "fixed", files[i], NULL);
        char *p2 = g_build_filename(dir, "adaptive", files[i], NULL);
        if (!ts_same_bytes(p1, p2)) {
            fail_msg("%s differs between fixed and adaptive rounds", files[i]);
        }
        g_free(p1);
        g_free(p2);
    }
}

/* Each of `lines` is in the output of both runs. */
static void printed_by_both(const result *f, const result *a, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strstr(f->out, lines[i]) == NULL || strstr(a->out, lines[i]) == NULL) {
            fail_msg("wanted '%s' in both:\n%s\n%s", lines[i], f->out, a->out);
        }
    }
}

/* The rounds a run printed ("..., N rounds, ..."). */
static unsigned long long printed_rounds(const char *out)
{
    const char *p = strstr(out, " s of virtual time in ");
    assert_non_null(p);
    p = strstr(p, " rounds, ");
    assert_non_null(p);
    while (p > out && p[-1] >= '0' && p[-1] <= '9') {
        p--;
    }
    return strtoull(p, NULL, 10);
}

/* Two fake guests that boot: b's NIC starts at 0.3 s, a's at 1.5004004 s.
 * b broadcasts a frame every 0.1 s from 0.3 s; a echoes what it gets once
 * its NIC has started, and the 13 frames that reach it before (up to the one
 * of 1.5 s, which arrives 206 us later) are dropped, in both modes. With
 * adaptive rounds a booting guest runs alone until its NIC starts: far
 * fewer rounds, the same files, the same end. */
static void booting_guests_run_alone_and_write_what_fixed_rounds_write(void **state)
{
    (void)state;
    char *dir = make_dir("booting");
    char *body = g_strdup_printf(
        "name = booting\nduration = 3s\nquantum = 100us\nseed = 7\n\n"
        "[guest a]\nprogram = %s open:1500400400 echo:0 print:1000000000:booting "
        "print:2000000000:up\n\n"
        "[guest b]\nprogram = %s open:300000000 every:300000000:100000000:0:60:20 "
        "print:2900000000:done stop:2950000000:0\nends_run = true\n\n"
        "[link lan]\ntype = csma\nrate = 100Mbps\ndelay = 1us\ncapture = true\nmembers = a, b\n",
        QNS_FAKE_GUEST, QNS_FAKE_GUEST);
    result f, a;
    run_both_modes(dir, body, &f, &a);
    const char *lines[] = {"qns: 2.950100 s of virtual time in ",
                           "guest a: 7 frames out, 20 frames in (13 before its NIC started), "
                           "clock 2.950100 s\n",
                           "guest b: 20 frames out, 7 frames in, clock 2.950000 s, powered off\n"};
    printed_by_both(&f, &a, lines, G_N_ELEMENTS(lines));
    const char *files[] = {"a-nic0.pcap",  "b-nic0.pcap", "lan-0-0.pcap",
                           "lan-1-0.pcap", "a.console",   "b.console"};
    same_files_in_both_modes(dir, files, G_N_ELEMENTS(files));
    unsigned long long rf = printed_rounds(f.out), ra = printed_rounds(a.out);
    print_message("booting fake guests: %llu rounds fixed, %llu adaptive\n", rf, ra);
    assert_int_equal(rf, 29501);
    assert_true(ra * 20 < rf);
    char *m = g_build_filename(dir, "adaptive", "manifest.json", NULL), *mt = NULL;
    assert_true(g_file_get_contents(m, &mt, NULL, NULL));
    assert_non_null(strstr(mt, "\"frames_unopened\" : 13"));
    assert_non_null(strstr(mt, "\"nic_started_us\" : 1500401"));
    assert_non_null(strstr(mt, "\"nic_started_us\" : 300000"));
    g_free(mt);
    g_free(m);
    result_clear(&f);
    result_clear(&a);
    g_free(body);
    g_free(dir);
}

/* A guest that powers off before its NIC ever starts ends the run in its
 * long grant; the run still ends at the round after its end, as with fixed
 * rounds. */
static void a_guest_that_powers_off_while_booting_ends_the_run_where_fixed_rounds_do(void **state)
{
    (void)state;
    char *dir = make_dir("bootstop");
    char *body = g_strdup_printf(
        "name = bootstop\nduration = 5s\nquantum = 100us\n\n"
        "[guest a]\nprogram = %s open:4000000000 print:100000000:booting stop:250000050:0\n"
        "ends_run = true\n\n"
        "[guest b]\nprogram = %s\n\n"
        "[link lan]\ncapture = true\nmembers = a, b\n",
        QNS_FAKE_GUEST, QNS_FAKE_GUEST);
    result f, a;
    run_both_modes(dir, body, &f, &a);
    const char *lines[] = {"qns: 0.250100 s of virtual time in ",
                           "guest a: 0 frames out, 0 frames in, clock 0.250000 s, powered off\n",
                           "guest b: 0 frames out, 0 frames in, clock 0.250100 s\n"};
    printed_by_both(&f, &a, lines, G_N_ELEMENTS(lines));
    const char *files[] = {"a.console", "b.console", "lan-0-0.pcap", "a-nic0.pcap"};
    same_files_in_both_modes(dir, files, G_N_ELEMENTS(files));
    assert_true(printed_rounds(a.out) < 20);
    result_clear(&f);
    result_clear(&a);
    g_free(body);
    g_free(dir);
}

/* A split scenario run in one process ends where it ends across ranks: the
 * round after a's power-off (0.250100 s), plus the 5 ms lookahead, plus a
 * quantum; the same with fixed and adaptive rounds. */
static void a_split_scenario_in_one_process_ends_where_its_ranks_would(void **state)
{
    (void)state;
    char *dir = make_dir("splitend");
    char *body =
        g_strdup_printf("name = splitend\nduration = 5s\nquantum = 100us\n\n"
                        "[guest a]\nprogram = %s stop:250000050:0\nends_run = true\n\n"
                        "[guest b]\nprogram = %s\nrank = 1\n\n"
                        "[link wan]\ntype = p2p\ndelay = 5ms\ncapture = true\nmembers = a, b\n",
                        QNS_FAKE_GUEST, QNS_FAKE_GUEST);
    result f, a;
    run_both_modes(dir, body, &f, &a);
    const char *lines[] = {"qns: 0.255200 s of virtual time in ",
                           "guest a: 0 frames out, 0 frames in, clock 0.250000 s, powered off\n",
                           "guest b: 0 frames out, 0 frames in, clock 0.255200 s\n"};
    printed_by_both(&f, &a, lines, G_N_ELEMENTS(lines));
    result_clear(&f);
    result_clear(&a);
    g_free(body);
    g_free(dir);
}

static void changed_output_fails_verify_and_is_named(void **state)
{
    (void)state;
    char *dir = make_dir("tamper");
    char *out = run_fake_lan(dir);
    /* A file kept in the folder no longer matches its manifest hash. */
    char *pcap = g_build_filename(out, "lan-1-0.pcap", NULL);
    gchar *data;
    gsize len;
    assert_true(g_file_get_contents(pcap, &data, &len, NULL));
    data[len - 1] ^= 1;
    assert_true(g_file_set_contents(pcap, data, (gssize)len, NULL));
    g_free(data);
    result r = qns("verify", "--trust-package", out, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "MISMATCH (folder copy changed)"));
    assert_non_null(strstr(r.out, "verify: FAILED: 1 of 6 files differ: lan-1-0.pcap\n"));
    result_clear(&r);

    /* The manifest expects other bytes than the re-run gives. */
    char *man = g_build_filename(out, "manifest.json", NULL);
    assert_true(g_file_get_contents(man, &data, &len, NULL));
    char *at = strstr(data, "\"a-nic0.pcap\" : \"");
    assert_non_null(at);
    at += strlen("\"a-nic0.pcap\" : \"");
    *at = *at == '0' ? '1' : '0';
    assert_true(g_file_set_contents(man, data, (gssize)len, NULL));
    g_free(data);
    r = qns("verify", "--trust-package", out, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "verify: FAILED: 2 of 6 files differ: a-nic0.pcap, "
                                  "lan-1-0.pcap\n"));
    gchar **lines = g_strsplit(r.out, "\n", -1);
    int seen = 0;
    for (gchar **l = lines; *l; l++) {
        if (g_str_has_prefix(*l, "a-nic0.pcap ")) {
            assert_true(g_str_has_suffix(*l, "  MISMATCH"));
            seen = 1;
        }
    }
    assert_true(seen);
    g_strfreev(lines);
    result_clear(&r);
    g_free(man);
    g_free(pcap);
    g_free(out);
    g_free(dir);
}

/* A manifest (maybe a stranger's) whose scenario is missing or not an
 * object: verify says the scenario copy does not match it and exits 1,
 * without a GLib critical (made fatal here) on the way. */
static void verify_refuses_a_manifest_without_a_scenario_object(void **state)
{
    (void)state;
    static const char *const manifests[] = {
        "{\"outputs\" : {}}",
        "{\"outputs\" : {}, \"scenario\" : \"scenario.ini\"}",
        "{\"outputs\" : {}, \"scenario\" : null}",
        "{\"outputs\" : {}, \"scenario\" : [1]}",
    };
    char *dir = make_dir("scenario-shape");
    g_free(write_file(dir, "scenario.ini", "[scenario]\nduration = 1ms\n"));
    g_setenv("G_DEBUG", "fatal-criticals", TRUE);
    for (size_t i = 0; i < G_N_ELEMENTS(manifests); i++) {
        g_free(write_file(dir, "manifest.json", manifests[i]));
        result r = qns("verify", dir, NULL);
        if (r.status != 1 || strstr(r.err, "CRITICAL") ||
            !strstr(r.err, "scenario.ini does not match the manifest")) {
            fail_msg("%s: exit %d\n%s%s", manifests[i], r.status, r.out, r.err);
        }
        result_clear(&r);
    }
    g_unsetenv("G_DEBUG");
    g_free(dir);
}

/* Inserts text into OUT/manifest.json just after the first `mark`. */
static void manifest_insert(const char *out, const char *mark, const char *text)
{
    char *man = g_build_filename(out, "manifest.json", NULL);
    gchar *data;
    assert_true(g_file_get_contents(man, &data, NULL, NULL));
    char *at = strstr(data, mark);
    assert_non_null(at);
    at += strlen(mark);
    char *edited = g_strdup_printf("%.*s%s%s", (int)(at - data), data, text, at);
    assert_true(g_file_set_contents(man, edited, -1, NULL));
    g_free(edited);
    g_free(data);
    g_free(man);
}

/* The output names and hashes verify prints come from the manifest, maybe a
 * stranger's: a terminal escape in one is printed escaped, not sent. */
static void verify_escapes_the_names_and_hashes_a_manifest_gives(void **state)
{
    (void)state;
    char *dir = make_dir("escape");
    char *out = run_fake_lan(dir);
    manifest_insert(out, "\"outputs\" : {", "\n    \"\\u001b[2Jx\" : \"\\u001b]0;y\\u0007\",");
    result r = qns("verify", "--trust-package", out, NULL);
    assert_int_equal(r.status, 1);
    assert_null(strchr(r.out, '\033'));
    assert_null(strchr(r.out, '\007'));
    assert_non_null(strstr(r.out, "\n\\x1b[2Jx "));
    assert_non_null(strstr(r.out, " \\x1b]0;y\\x07 "));
    assert_non_null(strstr(r.out, "verify: FAILED: 1 of 7 files differ: \\x1b[2Jx\n"));
    result_clear(&r);
    g_free(out);
    g_free(dir);
}

static void pack_unpack_elsewhere_then_verify_passes(void **state)
{
    (void)state;
    char *dir = make_dir("pack");
    char *out = run_fake_lan(dir);
    result r = qns("pack", out, NULL);
    assert_int_equal(r.status, 0);
    char *tarball = g_strdup_printf("%s.tar.zst", out);
    /* One line names the archive and its size: manifest, scenario, 6 outputs, README. */
    char *line = g_strdup_printf("qns: packed 9 files of %s into %s (", out, tarball);
    if (!g_str_has_prefix(r.out, line) || strstr(r.out, " KiB)\n") == NULL) {
        fail_msg("want %s... KiB)\ngot %s", line, r.out);
    }
    g_free(line);
    result_clear(&r);
    char *fresh = g_build_filename(dir, "fresh", NULL);
    g_mkdir_with_parents(fresh, 0755);
    const char *tar[] = {"tar", "-xf", tarball, "-C", fresh, NULL};
    int ws;
    assert_true(g_spawn_sync(NULL, (char **)tar, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                             &ws, NULL));
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    char *unpacked = g_build_filename(fresh, "run", NULL);
    char *readme = g_build_filename(unpacked, "README.txt", NULL);
    gchar *text;
    assert_true(g_file_get_contents(readme, &text, NULL, NULL));
    assert_non_null(strstr(text, "qns verify run.tar.zst\n"));
    assert_non_null(strstr(text, "line unchecked: a packed QEMU (qemu/) is not run, a scenario "));
    assert_non_null(strstr(text, "qns verify --trust-package\nruns the packed QEMU and such "
                                 "programs and options, naming each\nfirst;"));
    g_free(text);
    r = qns("verify", "--trust-package", unpacked, NULL);
    if (r.status != 0) {
        fail_msg("verify: %d\n%s%s", r.status, r.out, r.err);
    }
    assert_non_null(strstr(r.out, "verify: OK: all 6 files match"));
    result_clear(&r);
    g_free(readme);
    g_free(unpacked);
    g_free(fresh);
    g_free(tarball);
    g_free(out);
    g_free(dir);
}

/* ---- the environment in verify's report ----------------------------------------- */

/* Sets member of object (NULL: the top level) of DIR/manifest.json. */
static void manifest_set(const char *dir, const char *object, const char *member, const char *value)
{
    char *path = g_build_filename(dir, "manifest.json", NULL);
    JsonParser *p = json_parser_new();
    assert_true(json_parser_load_from_file(p, path, NULL));
    JsonObject *root = json_node_get_object(json_parser_get_root(p));
    JsonObject *o = root;
    if (object) {
        if (!json_object_has_member(root, object)) {
            json_object_set_object_member(root, object, json_object_new());
        }
        o = json_object_get_object_member(root, object);
    }
    json_object_set_string_member(o, member, value);
    JsonGenerator *g = json_generator_new();
    json_generator_set_root(g, json_parser_get_root(p));
    json_generator_set_pretty(g, TRUE);
    assert_true(json_generator_to_file(g, path, NULL));
    g_object_unref(g);
    g_object_unref(p);
    g_free(path);
}

static char *manifest_get(const char *dir, const char *member)
{
    char *path = g_build_filename(dir, "manifest.json", NULL);
    JsonParser *p = json_parser_new();
    assert_true(json_parser_load_from_file(p, path, NULL));
    JsonObject *root = json_node_get_object(json_parser_get_root(p));
    /* "object.member" reads a member of a top-level object. */
    const char *dot = strchr(member, '.');
    if (dot) {
        char *outer = g_strndup(member, (size_t)(dot - member));
        root =
            json_object_has_member(root, outer) ? json_object_get_object_member(root, outer) : NULL;
        member = dot + 1;
        g_free(outer);
    }
    char *v = root && json_object_has_member(root, member)
                  ? g_strdup(json_object_get_string_member(root, member))
                  : NULL;
    g_object_unref(p);
    g_free(path);
    return v;
}

static char *sha_of(const char *path)
{
    char *why = NULL, *sum = rn_file_sha256(path, &why);
    assert_non_null(sum);
    return sum;
}

/* A default guest image folder DIR/guest with GUEST-INFO of key and kernel
 * release and small stand-ins for the kernel and initramfs. */
static char *fake_guest_image(const char *dir, const char *key, const char *release)
{
    char *gdir = g_build_filename(dir, "guest", NULL);
    g_mkdir_with_parents(gdir, 0755);
    char *info = g_strdup_printf("[guest]\nkey=%s\nkernel=vmlinux\nkernel_release=%s\n"
                                 "initrd=initramfs.cpio\n",
                                 key, release);
    g_free(write_file(gdir, "GUEST-INFO", info));
    g_free(write_file(gdir, "vmlinux", release));
    g_free(write_file(gdir, "initramfs.cpio", key));
    g_free(info);
    return gdir;
}

static void verify_names_what_differs_in_the_environment(void **state)
{
    (void)state;
    char *dir = make_dir("env");
    char *out = run_fake_lan(dir);
    /* The manifest names the source commit this qns was built from. */
    char *commit = manifest_get(out, "qns_commit");
    assert_non_null(commit);
    assert_true(strcmp(commit, "unknown") == 0 || strspn(commit, "0123456789abcdef") == 40);
    result r = qns("verify", "--trust-package", out, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "verify: the environment matches the manifest\n"));
    result_clear(&r);

    /* A QEMU install (binary, BUILD-INFO) and a guest image other than the
     * manifest's; the fake guests run either way, so only the report changes. */
    char *qdir = g_build_filename(dir, "qemu", "bin", NULL);
    char *gdir = fake_guest_image(dir, "5b45c0ffee5b45c0ffee", "6.1.0-57-amd64");
    g_mkdir_with_parents(qdir, 0755);
    char *qemu = write_file(qdir, "qemu-system-x86_64",
                            "#!/bin/sh\necho 'QEMU emulator version 10.0.13 (qns)'\n");
    assert_int_equal(chmod(qemu, 0755), 0);
    char *qroot = g_build_filename(dir, "qemu", NULL);
    g_free(write_file(qroot, "BUILD-INFO",
                      "source-version: 1:10.0.13\nkey: 72eaa2d2e0754775\n"
                      "patch: 0001-qqq.patch sha256:c85c33bdb213\n"));
    char *kernel = g_build_filename(gdir, "vmlinux", NULL);
    char *initrd = g_build_filename(gdir, "initramfs.cpio", NULL);
    char *qemu_sha = sha_of(qemu), *kernel_sha = sha_of(kernel), *initrd_sha = sha_of(initrd);
    char *series = g_compute_checksum_for_string(G_CHECKSUM_SHA256,
                                                 "patch: 0001-qqq.patch sha256:c85c33bdb213\n", -1);

    manifest_set(out, NULL, "qns_commit", "00000000000000000000000000000000000000aa");
    manifest_set(out, "qemu", "version", "QEMU emulator version 10.0.12 (qns)");
    manifest_set(out, "qemu", "sha256", "0123456789abcdef0123456789abcdef");
    manifest_set(out, "qemu", "build_key", "72eaa2d2e0754775"); /* the same: not named */
    manifest_set(out, "qemu", "patch_series", "ffffffffffffffffffff");
    manifest_set(out, "guest_image", "key", "9063972020c2a5df9829");
    manifest_set(out, "guest_image", "kernel_release", "6.1.0-56-amd64");
    manifest_set(out, "guest_image", "kernel_sha256", kernel_sha); /* the same */
    manifest_set(out, "guest_image", "initrd_sha256", "eeeeeeeeeeeeeeeeeeee");
    /* And one output the re-run does not give. */
    manifest_set(out, "outputs", "a-nic0.pcap", "00");
    char *now_commit =
        g_strdup_printf("%.12s%s", commit, g_str_has_suffix(commit, "-dirty") ? "-dirty" : "");
    char *want = g_strdup_printf(
        "the environment differs: qns commit 000000000000 (manifest) vs %s (now), "
        "QEMU version 10.0.12 (qns) vs 10.0.13 (qns), QEMU SHA-256 0123456789ab vs %.12s, "
        "QEMU patch series ffffffffffff vs %.12s, guest image key 9063972020c2 vs "
        "5b45c0ffee5b, kernel 6.1.0-56-amd64 vs 6.1.0-57-amd64, guest initramfs SHA-256 "
        "eeeeeeeeeeee vs %.12s\n",
        strcmp(commit, "unknown") == 0 ? "unknown" : now_commit, qemu_sha, series, initrd_sha);
    g_setenv("QNS_QEMU", qemu, TRUE);
    g_setenv("QNS_GUEST_DIR", gdir, TRUE);
    r = qns("verify", "--trust-package", out, NULL);
    g_unsetenv("QNS_QEMU");
    g_unsetenv("QNS_GUEST_DIR");
    assert_int_equal(r.status, 1);
    char *before = g_strdup_printf("verify: %s", want);
    before[strlen("verify: the environment differs")] = '\0';
    char *line1 =
        g_strconcat(before, " from the manifest:", want + strlen("the environment differs:"), NULL);
    if (!g_str_has_prefix(r.out, line1)) {
        fail_msg("want first line\n%sgot\n%s", line1, r.out);
    }
    char *last = g_strdup_printf("verify: FAILED: 1 of 6 files differ: a-nic0.pcap; %s", want);
    if (strstr(r.out, last) == NULL) {
        fail_msg("want\n%sgot\n%s", last, r.out);
    }
    result_clear(&r);
    g_free(last);
    g_free(line1);
    g_free(before);
    g_free(want);
    g_free(now_commit);
    g_free(series);
    g_free(qemu_sha);
    g_free(kernel_sha);
    g_free(initrd_sha);
    g_free(kernel);
    g_free(initrd);
    g_free(qroot);
    g_free(qemu);
    g_free(gdir);
    g_free(qdir);
    g_free(commit);
    g_free(out);
    g_free(dir);
}

static int count_verify_folders(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    assert_non_null(d);
    int n = 0;
    for (const char *e; (e = g_dir_read_name(d)) != NULL;) {
        n += g_str_has_prefix(e, "verify-");
    }
    g_dir_close(d);
    return n;
}

/* The content key of an image folder as import makes it: the SHA-256 of
 * "SHA256 NAME" lines of its files in name order. */
static char *content_key_of(const char *dir)
{
    const char *names[] = {"GUEST-INFO", "initramfs.cpio", "vmlinux"};
    GString *lines = g_string_new(NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        char *p = g_build_filename(dir, names[i], NULL), *h = sha_of(p);
        g_string_append_printf(lines, "%s %s\n", h, names[i]);
        g_free(h);
        g_free(p);
    }
    char *key = g_compute_checksum_for_string(G_CHECKSUM_SHA256, lines->str, (gssize)lines->len);
    g_string_free(lines, TRUE);
    return key;
}

static void packed_guest_image_is_used_imported_and_a_tampered_kernel_refused(void **state)
{
    (void)state;
    char *dir = make_dir("packguest");
    char *out = run_fake_lan(dir);
    /* The run as if it had booted a default guest image (fake guests ignore it). */
    char *gdir = fake_guest_image(dir, "906397202cd2a5df9829", "6.1.0-56-amd64");
    char *kernel = g_build_filename(gdir, "vmlinux", NULL);
    char *initrd = g_build_filename(gdir, "initramfs.cpio", NULL);
    char *kernel_sha = sha_of(kernel), *initrd_sha = sha_of(initrd);
    manifest_set(out, "guest_image", "dir", gdir);
    manifest_set(out, "guest_image", "key", "906397202cd2a5df9829");
    manifest_set(out, "guest_image", "kernel", "vmlinux");
    manifest_set(out, "guest_image", "kernel_release", "6.1.0-56-amd64");
    manifest_set(out, "guest_image", "initrd", "initramfs.cpio");
    manifest_set(out, "guest_image", "kernel_sha256", kernel_sha);
    manifest_set(out, "guest_image", "initrd_sha256", initrd_sha);

    /* A guest image changed in place since the run is not packed. */
    assert_true(g_file_set_contents(kernel, "6.1.0-57-amd64", -1, NULL));
    result r = qns("pack", out, NULL);
    assert_int_equal(r.status, 1);
    char *got_sha = sha_of(kernel);
    char *want =
        g_strdup_printf("qns: cannot pack the guest image: %s has SHA-256 %.16s, the manifest "
                        "says %.16s\n",
                        kernel, got_sha, kernel_sha);
    assert_string_equal(r.err, want);
    result_clear(&r);
    g_free(want);
    g_free(got_sha);
    assert_true(g_file_set_contents(kernel, "6.1.0-56-amd64", -1, NULL));

    r = qns("pack", out, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "qns: packed 12 files of "));
    assert_non_null(strstr(r.out, "), with the guest image\n"));
    result_clear(&r);
    /* Elsewhere, with nothing in the cache and no default guest: the
     * package's own image is the environment, and it matches. */
    char *fresh = g_build_filename(dir, "fresh", NULL);
    char *cache = g_build_filename(fresh, "cache", NULL);
    g_mkdir_with_parents(cache, 0755);
    char *pkg = g_build_filename(fresh, "run.tar.zst", NULL);
    char *packed = g_strdup_printf("%s.tar.zst", out);
    assert_int_equal(rename(packed, pkg), 0);
    g_setenv("QNS_CACHE_DIR", cache, TRUE);
    g_setenv("QNS_GUEST_DIR", "/nonexistent", TRUE);
    r = qns("verify", "--trust-package", pkg, NULL);
    assert_int_equal(r.status, 0);
    char *unpacked = g_build_filename(fresh, "run", NULL);
    want = g_strdup_printf("verify: unpacked %s into %s/\n"
                           "verify: running from the packed guest image\n"
                           "verify: the environment matches the manifest\n",
                           pkg, unpacked);
    if (!g_str_has_prefix(r.out, want)) {
        fail_msg("want\n%sgot\n%s", want, r.out);
    }
    g_free(want);
    assert_non_null(strstr(r.out, "verify: OK: all 6 files match"));
    result_clear(&r);
    assert_int_equal(count_verify_folders(unpacked), 1);

    /* One changed byte in the packed kernel: refused before anything runs,
     * from the folder and from the package (which unpacks into it again). */
    char *packed_kernel = g_build_filename(unpacked, "guest", "vmlinux", NULL);
    assert_true(g_file_set_contents(packed_kernel, "6.1.0-56-amd65", -1, NULL));
    char *bad_sha = sha_of(packed_kernel);
    want = g_strdup_printf("qns: refusing to run: %s has SHA-256 %.16s, the manifest says %.16s\n",
                           packed_kernel, bad_sha, kernel_sha);
    r = qns("verify", "--trust-package", unpacked, NULL);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, want);
    assert_null(strstr(r.out, "running"));
    result_clear(&r);
    r = qns("verify", "--trust-package", pkg, NULL);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, want);
    result_clear(&r);
    assert_int_equal(count_verify_folders(unpacked), 1);
    assert_int_equal(ts_child_count(), 0);

    g_free(want);
    /* The package's image goes into the (empty) cache, once, under the hash
     * of its files, apart from the images built here: its GUEST-INFO's key
     * claims a recipe that its files do not prove. */
    assert_true(g_file_set_contents(packed_kernel, "6.1.0-56-amd64", -1, NULL));
    r = qns("guest", "list", NULL);
    assert_int_equal(r.status, 0);
    want = g_strdup_printf("qns: no guest images in %s/guest/\n", cache);
    assert_string_equal(r.out, want);
    g_free(want);
    result_clear(&r);
    r = qns("guest", "import", pkg, NULL);
    assert_int_equal(r.status, 0);
    char *content = content_key_of(gdir);
    char *cached = g_build_filename(cache, QNS_IMPORTED_GUESTS, content, NULL);
    want = g_strdup_printf("qns: imported guest image %s (kernel 6.1.0-56-amd64) into %s/\n"
                           "qns: its GUEST-INFO says it was built by the recipe of key "
                           "906397202cd2a5df9829, which its files do not prove; a scenario boots "
                           "it with guest_image = %s\n",
                           content, cached, content);
    assert_string_equal(r.out, want);
    g_free(want);
    result_clear(&r);
    char *cached_kernel = g_build_filename(cached, "vmlinux", NULL);
    char *cached_sha = sha_of(cached_kernel);
    assert_string_equal(cached_sha, kernel_sha);
    r = qns("guest", "import", pkg, NULL);
    assert_int_equal(r.status, 0);
    want = g_strdup_printf("qns: guest image %s (kernel 6.1.0-56-amd64) is in the cache already: "
                           "%s/\n",
                           content, cached);
    assert_string_equal(r.out, want);
    g_clear_pointer(&want, g_free);
    result_clear(&r);
    r = qns("guest", "list", NULL);
    assert_int_equal(r.status, 0);
    gchar **rows = g_strsplit(r.out, "\n", -1);
    assert_true(g_str_has_prefix(rows[0], "key "));
    assert_true(g_str_has_prefix(rows[1], content));
    assert_non_null(strstr(rows[1], "  6.1.0-56-amd64  "));
    assert_true(g_str_has_suffix(rows[1], "  (imported; its GUEST-INFO says key 906397202cd2)"));
    assert_string_equal(rows[2], "");
    g_strfreev(rows);
    result_clear(&r);
    /* The key it claims names nothing; its content key names it. */
    char found[4096], err[QNS_ERRBUF_SIZE];
    g_setenv("QNS_GUEST_DIR", "/nonexistent", TRUE);
    assert_int_equal(qns_guest_image_dir("906397202cd2a5df9829", NULL, found, sizeof(found), err), -1);
    assert_int_equal(qns_guest_image_dir(content, NULL, found, sizeof(found), err), 0);
    assert_string_equal(found, cached);

    /* A trojan: the package's kernel replaced, every hash made consistent
     * again, the genuine key kept. It is imported under its own content
     * key; the genuine key still names nothing, and a run that boots it
     * says it was imported. */
    char *trojan_dir = g_build_filename(dir, "trojan", NULL);
    g_mkdir_with_parents(trojan_dir, 0755);
    const char *untar[] = {"tar", "-xf", pkg, "-C", trojan_dir, NULL};
    int ws;
    assert_true(g_spawn_sync(NULL, (char **)untar, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                             NULL, &ws, NULL));
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    char *trun = g_build_filename(trojan_dir, "run", NULL);
    char *tkernel = g_build_filename(trun, "guest", "vmlinux", NULL);
    assert_true(g_file_set_contents(tkernel, "TROJAN", -1, NULL));
    char *tsha = sha_of(tkernel);
    manifest_set(trun, "guest_image", "kernel_sha256", tsha);
    char *tpkg = g_build_filename(dir, "trojan.tar.zst", NULL);
    const char *retar[] = {"tar", "--zstd", "-cf", tpkg, "-C", trojan_dir, "run", NULL};
    assert_true(g_spawn_sync(NULL, (char **)retar, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                             NULL, &ws, NULL));
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    r = qns("guest", "import", tpkg, NULL);
    assert_int_equal(r.status, 0);
    char *tguest = g_build_filename(trun, "guest", NULL);
    char *tcontent = content_key_of(tguest);
    assert_string_not_equal(tcontent, content);
    assert_true(g_str_has_prefix(r.out, "qns: imported guest image "));
    assert_non_null(strstr(r.out, tcontent));
    result_clear(&r);
    assert_int_equal(qns_guest_image_dir("906397202cd2a5df9829", NULL, found, sizeof(found), err), -1);
    char *cache_guest = g_build_filename(cache, "guest", NULL);
    assert_false(g_file_test(cache_guest, G_FILE_TEST_EXISTS)); /* the build's own: untouched */
    /* What a run that boots it records (fake guests boot no image, so the
     * manifest's guest image entry is made here as a run makes it). */
    assert_int_equal(qns_guest_image_dir(tcontent, NULL, found, sizeof(found), err), 0);
    JsonBuilder *jb = json_builder_new();
    json_builder_begin_object(jb);
    rn_env_add_guest_image(jb, found);
    json_builder_end_object(jb);
    JsonNode *node = json_builder_get_root(jb);
    JsonObject *entry = json_object_get_object_member(json_node_get_object(node), "guest_image");
    assert_string_equal(json_object_get_string_member(entry, "imported_as"), tcontent);
    assert_string_equal(json_object_get_string_member(entry, "key"), "906397202cd2a5df9829");
    json_node_unref(node);
    g_object_unref(jb);
    g_free(cache_guest);
    g_free(tcontent);
    g_free(tguest);
    g_free(tpkg);
    g_free(tsha);
    g_free(tkernel);
    g_free(trun);
    g_free(trojan_dir);
    g_free(content);
    g_free(cached_sha);
    g_free(cached_kernel);
    g_free(cached);
    g_unsetenv("QNS_CACHE_DIR");
    g_unsetenv("QNS_GUEST_DIR");
    g_free(want);
    g_free(bad_sha);
    g_free(packed_kernel);
    g_free(unpacked);
    g_free(packed);
    g_free(pkg);
    g_free(cache);
    g_free(fresh);
    g_free(kernel_sha);
    g_free(initrd_sha);
    g_free(kernel);
    g_free(initrd);
    g_free(gdir);
    g_free(out);
    g_free(dir);
}

/* `qns run INI -o DIR/run`, which must succeed; returns DIR/run. */
static char *run_ok(const char *dir, const char *ini)
{
    char *out = g_build_filename(dir, "run", NULL);
    result r = qns("run", ini, "-o", out, NULL);
    if (r.status != 0) {
        fail_msg("run: %d\n%s%s", r.status, r.out, r.err);
    }
    result_clear(&r);
    return out;
}

static void scenario_names_its_guest_image_by_key(void **state)
{
    (void)state;
    char *dir = make_dir("imagekey");
    char *cache = g_build_filename(dir, "cache", NULL);
    char *cache_guest = g_build_filename(cache, "guest", NULL);
    /* Two images in the cache; the build's default (QNS_GUEST_DIR) is the newer. */
    char *old_dir = g_build_filename(cache_guest, "aaaa0056", NULL);
    char *new_dir = g_build_filename(cache_guest, "bbbb0057", NULL);
    char *made = fake_guest_image(cache_guest, "aaaa0056", "6.1.0-56-amd64");
    assert_int_equal(rename(made, old_dir), 0);
    g_free(made);
    made = fake_guest_image(cache_guest, "bbbb0057", "6.1.0-57-amd64");
    assert_int_equal(rename(made, new_dir), 0);
    g_free(made);
    g_setenv("QNS_CACHE_DIR", cache, TRUE);
    g_setenv("QNS_GUEST_DIR", new_dir, TRUE);

    /* The C API: a key names its image whatever the default is now. */
    char found[4096], err[QNS_ERRBUF_SIZE];
    assert_int_equal(qns_guest_image_dir("aaaa0056", NULL, found, sizeof(found), err), 0);
    assert_string_equal(found, old_dir);
    assert_int_equal(qns_guest_image_dir("bbbb0057", NULL, found, sizeof(found), err), 0);
    assert_string_equal(found, new_dir); /* QNS_GUEST_DIR holds that key */
    assert_int_equal(qns_guest_image_dir("cccc", NULL, found, sizeof(found), err), -1);
    char *want = g_strdup_printf("guest image cccc is not in the cache (no %s/cccc/GUEST-INFO "
                                 "with that key); build it, or qns guest import a package that "
                                 "carries it",
                                 cache_guest);
    assert_string_equal(err, want);
    qns_sim_config cfg = {.guest_image = "cccc"};
    assert_null(qns_sim_new(&cfg, err));
    assert_string_equal(err, want);
    g_free(want);
    assert_int_equal(qns_guest_image_dir("../x", NULL, found, sizeof(found), err), -1);
    assert_string_equal(err, "guest image key '../x' is not a key (up to 64 hex digits, e.g. "
                             "from qns guest list)");

    /* A scenario file: a known key runs, an unknown one is a mistake of its line. */
    char *lan = fake_lan(dir, "1ms", "every:100000:100000:0:98:2");
    gchar *text;
    assert_true(g_file_get_contents(lan, &text, NULL, NULL));
    char *at = strstr(text, "seed = 7\n");
    assert_non_null(at);
    at[strlen("seed = 7\n")] = '\0';
    char *rest = at + strlen("seed = 7\n") + 1;
    char *good = g_strdup_printf("%sguest_image = aaaa0056\n\n%s", text, rest);
    char *bad = g_strdup_printf("%sguest_image = cccc\n\n%s", text, rest);
    char *good_ini = write_file(dir, "good.ini", good), *bad_ini = write_file(dir, "bad.ini", bad);
    char *out = run_ok(dir, good_ini);
    result r = qns("run", bad_ini, NULL);
    assert_int_equal(r.status, 2);
    want = g_strdup_printf("%s:6: guest_image: guest image cccc is not in the cache (no "
                           "%s/cccc/GUEST-INFO with that key); build it, or qns guest import a "
                           "package that carries it\n",
                           bad_ini, cache_guest);
    assert_string_equal(r.err, want);
    result_clear(&r);
    g_unsetenv("QNS_CACHE_DIR");
    g_unsetenv("QNS_GUEST_DIR");
    g_free(want);
    g_free(out);
    g_free(good_ini);
    g_free(bad_ini);
    g_free(good);
    g_free(bad);
    g_free(text);
    g_free(lan);
    g_free(old_dir);
    g_free(new_dir);
    g_free(cache_guest);
    g_free(cache);
    g_free(dir);
}

static void own_inputs_are_packed_and_verified_from_the_package(void **state)
{
    (void)state;
    char *dir = make_dir("inputs");
    char *data = g_build_filename(dir, "data", NULL);
    g_mkdir_with_parents(data, 0755);
    char *disk = write_file(data, "disk.img", "a disk image\n");
    char *lan = fake_lan(dir, "1ms", "every:100000:100000:0:98:2");
    gchar *text;
    assert_true(g_file_get_contents(lan, &text, NULL, NULL));
    char *at = strstr(text, "[guest b]\n");
    assert_non_null(at);
    *at = '\0';
    char *with_disk = g_strdup_printf("%sdisk = data/disk.img\n\n[guest b]\n%s", text,
                                      at + strlen("[guest b]\n"));
    char *ini = write_file(dir, "disk.ini", with_disk);
    char *out = run_ok(dir, ini);
    result r = qns("pack", out, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "qns: packed 10 files of "));
    result_clear(&r);
    /* Elsewhere, without the original disk. */
    char *fresh = g_build_filename(dir, "fresh", NULL);
    g_mkdir_with_parents(fresh, 0755);
    char *packed = g_strdup_printf("%s.tar.zst", out);
    char *pkg = g_build_filename(fresh, "run.tar.zst", NULL);
    assert_int_equal(rename(packed, pkg), 0);
    assert_int_equal(unlink(disk), 0);
    r = qns("verify", "--trust-package", pkg, NULL);
    if (r.status != 0) {
        fail_msg("verify: %d\n%s%s", r.status, r.out, r.err);
    }
    assert_non_null(strstr(r.out, "\nverify: running from the packed inputs\n"));
    assert_non_null(strstr(r.out, "verify: OK: all 6 files match"));
    result_clear(&r);
    /* A changed packed input is refused, by name. */
    char *packed_disk = g_build_filename(fresh, "run", "inputs", "data", "disk.img", NULL);
    char *want_sha = sha_of(packed_disk);
    assert_true(g_file_set_contents(packed_disk, "another disk\n", -1, NULL));
    char *got_sha = sha_of(packed_disk);
    char *unpacked = g_build_filename(fresh, "run", NULL);
    r = qns("verify", "--trust-package", unpacked, NULL);
    assert_int_equal(r.status, 1);
    char *want =
        g_strdup_printf("qns: refusing to run: %s has SHA-256 %.16s, the manifest says %.16s\n",
                        packed_disk, got_sha, want_sha);
    assert_string_equal(r.err, want);
    result_clear(&r);
    g_free(want);
    g_free(unpacked);
    g_free(got_sha);
    g_free(want_sha);
    g_free(packed_disk);
    g_free(pkg);
    g_free(packed);
    g_free(fresh);
    g_free(out);
    g_free(ini);
    g_free(with_disk);
    g_free(text);
    g_free(lan);
    g_free(disk);
    g_free(data);
    g_free(dir);
}

/* ---- disks with backing files ------------------------------------------------------ */

static char *write_bytes(const char *dir, const char *name, const char *bytes, size_t len)
{
    char *p = g_build_filename(dir, name, NULL);
    assert_true(g_file_set_contents(p, bytes, (gssize)len, NULL));
    return p;
}

/* Runs `qemu-img ARGS` in dir; the test fails when it does. */
static void qemu_img(const char *dir, const char *args)
{
    char *found = g_find_program_in_path("qemu-img");
    if (found == NULL) {
        fail_msg("qemu-img is not installed (scripts/setup-deps.sh installs qemu-utils)");
    }
    g_free(found);
    char *cmd = g_strdup_printf("cd '%s' && exec qemu-img %s", dir, args);
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    result r = run_argv(argv, NULL);
    if (r.status != 0) {
        fail_msg("qemu-img %s: %d\n%s%s", args, r.status, r.out, r.err);
    }
    result_clear(&r);
    g_free(cmd);
}

/* DIR/NAME.ini: one fake guest with disk = DISK; the path of the file. */
static char *disk_ini(const char *dir, const char *name, const char *disk)
{
    char *file = g_strdup_printf("%s.ini", name);
    char *guest = g_strdup_printf("disk = %s\n", disk);
    char *p = one_guest_ini(dir, file, "duration = 1ms\n", guest, "echo:0");
    g_free(guest);
    g_free(file);
    return p;
}

/* The manifest's inputs, "PATH SHA\n" each, in its order. */
static char *manifest_inputs(const char *out)
{
    char *path = g_build_filename(out, "manifest.json", NULL);
    JsonParser *p = json_parser_new();
    assert_true(json_parser_load_from_file(p, path, NULL));
    JsonObject *in =
        json_object_get_object_member(json_node_get_object(json_parser_get_root(p)), "inputs");
    GString *s = g_string_new(NULL);
    GList *members = json_object_get_members(in);
    for (GList *l = members; l; l = l->next) {
        g_string_append_printf(s, "%s %s\n", (const char *)l->data,
                               json_object_get_string_member(in, l->data));
    }
    g_list_free(members);
    g_object_unref(p);
    g_free(path);
    return g_string_free(s, FALSE);
}

/* "PATH SHA\n" of dir/rel, PATH absolute as the manifest has it. */
static char *input_line(const char *dir, const char *rel)
{
    char *p = g_build_filename(dir, rel, NULL), *abs = g_canonicalize_filename(p, NULL);
    char *sha = sha_of(p), *line = g_strdup_printf("%s %s\n", abs, sha);
    g_free(sha);
    g_free(abs);
    g_free(p);
    return line;
}

static void a_qcow2_chain_is_hashed_packed_and_verified_from_the_package(void **state)
{
    (void)state;
    char *dir = make_dir("chain");
    char *disks = g_build_filename(dir, "disks", NULL);
    g_mkdir_with_parents(disks, 0755);
    char *base = write_file(dir, "base.raw", "the base image's bytes\n");
    qemu_img(disks, "create -q -f qcow2 -b ../base.raw -F raw mid.qcow2 1M");
    qemu_img(disks, "create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2");
    char *ini = disk_ini(dir, "chain", "disks/top.qcow2");
    char *out = run_ok(dir, ini);
    /* The disk, then each backing file, each with its SHA-256. */
    char *l1 = input_line(dir, "disks/top.qcow2"), *l2 = input_line(dir, "disks/mid.qcow2");
    char *l3 = input_line(dir, "base.raw"), *want = g_strconcat(l1, l2, l3, NULL);
    char *got = manifest_inputs(out);
    assert_string_equal(got, want);
    g_free(got);

    result r = qns("pack", out, NULL);
    if (r.status != 0) {
        fail_msg("pack: %d\n%s%s", r.status, r.out, r.err);
    }
    /* manifest, scenario, console, README and the three images */
    assert_non_null(strstr(r.out, "qns: packed 7 files of "));
    result_clear(&r);
    char *tarball = g_strdup_printf("%s.tar.zst", out);
    const char *list[] = {"/bin/sh", "-c", "exec tar -tf \"$0\"", tarball, NULL};
    r = run_argv(list, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "run/\nrun/README.txt\nrun/a.console\nrun/inputs/\n"
                               "run/inputs/base.raw\nrun/inputs/disks/\n"
                               "run/inputs/disks/mid.qcow2\nrun/inputs/disks/top.qcow2\n"
                               "run/manifest.json\nrun/scenario.ini\n");
    result_clear(&r);

    /* A backing file changed since the run: verify of the folder says so. */
    char *base_sha = sha_of(base);
    assert_true(g_file_set_contents(base, "changed bytes\n", -1, NULL));
    char *changed_sha = sha_of(base);
    r = qns("verify", "--trust-package", out, NULL);
    assert_int_equal(r.status, 0); /* the fake guest does not read its disk */
    char *line = g_strdup_printf("verify: the environment differs from the manifest: input "
                                 "base.raw SHA-256 %.12s (manifest) vs %.12s (now)\n",
                                 base_sha, changed_sha);
    if (!g_str_has_prefix(r.out, line)) {
        fail_msg("want %sgot %s", line, r.out);
    }
    result_clear(&r);
    g_free(line);

    /* Elsewhere, without any of the images: the package alone verifies. */
    char *fresh = g_build_filename(dir, "fresh", NULL);
    g_mkdir_with_parents(fresh, 0755);
    char *pkg = g_build_filename(fresh, "run.tar.zst", NULL);
    assert_int_equal(rename(tarball, pkg), 0);
    const char *rm[] = {"/bin/sh", "-c", "exec rm -r \"$0\" \"$1\"", disks, base, NULL};
    r = run_argv(rm, NULL);
    assert_int_equal(r.status, 0);
    result_clear(&r);
    r = qns("verify", "--trust-package", pkg, NULL);
    if (r.status != 0) {
        fail_msg("verify: %d\n%s%s", r.status, r.out, r.err);
    }
    assert_non_null(strstr(r.out, "verify: running from the packed inputs\n"
                                  "verify: the environment matches the manifest\n"));
    assert_non_null(strstr(r.out, "verify: OK: all 1 files match"));
    result_clear(&r);

    /* A packed backing file changed after packing is refused before anything runs. */
    char *packed = g_build_filename(fresh, "run", "inputs", "base.raw", NULL);
    assert_true(g_file_set_contents(packed, "changed bytes\n", -1, NULL));
    char *unpacked = g_build_filename(fresh, "run", NULL);
    r = qns("verify", "--trust-package", unpacked, NULL);
    assert_int_equal(r.status, 1);
    g_free(want);
    want = g_strdup_printf("qns: refusing to run: %s has SHA-256 %.16s, the manifest says %.16s\n",
                           packed, changed_sha, base_sha);
    assert_string_equal(r.err, want);
    result_clear(&r);
    g_free(unpacked);
    g_free(packed);
    g_free(pkg);
    g_free(fresh);
    g_free(changed_sha);
    g_free(base_sha);
    g_free(tarball);
    g_free(want);
    g_free(l1);
    g_free(l2);
    g_free(l3);
    g_free(out);
    g_free(ini);
    g_free(base);
    g_free(disks);
    g_free(dir);
}

static void a_disk_chain_qemu_would_not_open_from_its_files_is_refused_at_its_line(void **state)
{
    (void)state;
    char *dir = make_dir("badchain");
    char *raw = write_file(dir, "base.raw", "raw bytes\n");
    /* a loop: a -> b -> a */
    qemu_img(dir, "create -q -f qcow2 -b base.raw -F raw a.qcow2 1M");
    qemu_img(dir, "create -q -f qcow2 -b a.qcow2 -F qcow2 b.qcow2");
    qemu_img(dir, "rebase -u -b b.qcow2 -F qcow2 a.qcow2");
    qemu_img(dir, "create -q -f qcow2 -u -b missing.raw -F raw missing.qcow2 1M");
    qemu_img(dir, "create -q -f qcow2 -o data_file=ext.data ext.qcow2 1M");
    qemu_img(dir, "create -q -f qcow2 -u -b nbd://localhost/disk -F raw nbd.qcow2 1M");
    qemu_img(dir, "create -q -f qcow2 -u -b 'json:{\"file.filename\":\"base.raw\"}' -F raw "
                  "json.qcow2 1M");
    qemu_img(dir, "create -q -f vmdk base.vmdk 1M");
    qemu_img(dir, "create -q -f qcow2 -b base.vmdk -F vmdk vmdk.qcow2");
    char *sub = g_build_filename(dir, "sub", NULL);
    g_mkdir_with_parents(sub, 0755);
    qemu_img(dir, "create -q -f qcow2 -u -b sub -F raw folder.qcow2 1M");
    static const char garbage_bytes[] = "QFI\xfb\x00\x00\x00\x03 then nothing";
    char *garbage = write_bytes(dir, "garbage.qcow2", garbage_bytes, sizeof(garbage_bytes) - 1);
    struct {
        const char *name, *disk, *message;
    } cases[] = {
        {"loop", "a.qcow2", "the backing chain loops: a.qcow2 -> b.qcow2 -> a.qcow2"},
        {"missing", "missing.qcow2",
         "backing file 'missing.raw' of 'missing.qcow2' cannot be read: No such file or "
         "directory"},
        {"ext", "ext.qcow2",
         "'ext.qcow2' uses an external data file, which qns neither hashes "
         "nor packs"},
        {"garbage", "garbage.qcow2",
         "'garbage.qcow2' starts like a qcow2 image, but its header is cut short (21 bytes)"},
        {"nbd", "nbd.qcow2",
         "'nbd.qcow2' names its backing file by the protocol name "
         "'nbd://localhost/disk'; qns follows only local files"},
        {"json", "json.qcow2",
         "'json.qcow2' names its backing file by a json: description; qns "
         "follows only file names"},
        {"vmdk", "vmdk.qcow2",
         "'vmdk.qcow2' says its backing file 'base.vmdk' is vmdk; qns "
         "follows only qcow2 and raw images"},
        {"folder", "folder.qcow2", "backing file 'sub' of 'folder.qcow2' is not a regular file"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *ini = disk_ini(dir, cases[i].name, cases[i].disk);
        char *out = g_build_filename(dir, cases[i].name, NULL);
        result r = qns("run", ini, "-o", out, NULL);
        char *want = g_strdup_printf("%s:4: disk: %s\n", ini, cases[i].message);
        assert_int_equal(r.status, 2);
        assert_string_equal(r.err, want);
        assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
        result_clear(&r);
        g_free(want);
        g_free(out);
        g_free(ini);
    }
    g_free(garbage);
    g_free(sub);
    g_free(raw);
    g_free(dir);
}

static void pack_refuses_a_backing_name_that_would_not_lead_to_the_packed_copy(void **state)
{
    (void)state;
    char *dir = make_dir("backingname");
    char *scen = g_build_filename(dir, "scenario", NULL);
    g_mkdir_with_parents(scen, 0755);
    char *inside = write_file(scen, "base.raw", "inside\n");
    char *outside = write_file(dir, "outside.raw", "outside\n");
    char *abs_base = g_canonicalize_filename(inside, NULL);
    char *args = g_strdup_printf("create -q -f qcow2 -b %s -F raw abs.qcow2 1M", abs_base);
    qemu_img(scen, args);
    qemu_img(scen, "create -q -f qcow2 -b ../outside.raw -F raw out.qcow2 1M");
    char *scen_abs = g_canonicalize_filename(scen, NULL);
    struct {
        const char *name, *disk;
        char *message;
    } cases[] = {
        {"abs", "abs.qcow2",
         g_strdup_printf("qns: cannot pack an input: %s/abs.qcow2 names its backing file by the "
                         "absolute path '%s', which would not lead to the packed copy; rebase it "
                         "onto a relative path: qemu-img rebase -u -b base.raw %s/abs.qcow2\n",
                         scen_abs, abs_base, scen_abs)},
        {"out", "out.qcow2",
         g_strdup_printf("qns: cannot pack an input: backing file '../outside.raw' of "
                         "%s/out.qcow2 is outside the scenario's folder %s, so the package "
                         "could not carry it; copy it into the folder and rebase onto a relative "
                         "path: qemu-img rebase -u -b REL %s/out.qcow2\n",
                         scen_abs, scen_abs, scen_abs)},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        /* The run itself is fine, and hashes the backing file. */
        char *ini = disk_ini(scen, cases[i].name, cases[i].disk);
        char *out = g_build_filename(dir, cases[i].name, NULL);
        result r = qns("run", ini, "-o", out, NULL);
        assert_int_equal(r.status, 0);
        result_clear(&r);
        char *inputs = manifest_inputs(out);
        assert_int_equal(strchr(strchr(inputs, '\n') + 1, '\n')[1], '\0'); /* two lines */
        g_free(inputs);
        r = qns("pack", out, NULL);
        assert_int_equal(r.status, 1);
        assert_string_equal(r.err, cases[i].message);
        char *tarball = g_strdup_printf("%s.tar.zst", out);
        assert_false(g_file_test(tarball, G_FILE_TEST_EXISTS));
        result_clear(&r);
        g_free(tarball);
        g_free(out);
        g_free(ini);
        g_free(cases[i].message);
    }
    g_free(scen_abs);
    g_free(args);
    g_free(abs_base);
    g_free(outside);
    g_free(inside);
    g_free(scen);
    g_free(dir);
}

/* ---- qcow2 headers, written byte by byte ---- */

typedef struct qcow2_header {
    uint32_t version; /* 0: 3 */
    uint64_t incompat;
    uint32_t cluster_bits;      /* 0: 16 */
    uint32_t header_length;     /* 0: 104 (version 3) */
    const char *backing;        /* at byte 512; NULL: none */
    uint32_t backing_len;       /* 0: strlen(backing) */
    const char *format;         /* the backing format extension; NULL: none */
    uint32_t ext_type, ext_len; /* one more extension (0: none) */
    size_t size;                /* 0: 1024 */
} qcow2_header;

static void put_be(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8) {
        p[i] = (unsigned char)v;
    }
}

static char *write_qcow2(const char *dir, const char *name, qcow2_header h)
{
    unsigned char b[4096] = "QFI\xfb";
    uint32_t version = h.version ? h.version : 3;
    uint32_t hlen = h.header_length ? h.header_length : version == 2 ? 72 : 104;
    put_be(b + 4, version, 4);
    if (h.backing) {
        put_be(b + 8, 512, 8);
        put_be(b + 16, h.backing_len ? h.backing_len : strlen(h.backing), 4);
        memcpy(b + 512, h.backing, strlen(h.backing));
    }
    put_be(b + 20, h.cluster_bits ? h.cluster_bits : 16, 4);
    if (version == 3) {
        put_be(b + 72, h.incompat, 8);
        put_be(b + 100, hlen, 4);
    }
    unsigned char *e = b + hlen;
    if (h.format) {
        put_be(e, 0xe2792aca, 4);
        put_be(e + 4, strlen(h.format), 4);
        memcpy(e + 8, h.format, strlen(h.format));
        e += 8 + ((strlen(h.format) + 7) & ~(size_t)7);
    }
    if (h.ext_type) {
        put_be(e, h.ext_type, 4);
        put_be(e + 4, h.ext_len, 4);
    }
    char *p = g_build_filename(dir, name, NULL);
    assert_true(g_file_set_contents(p, (const char *)b, h.size ? (gssize)h.size : 1024, NULL));
    return p;
}

/* rn_disk_chain of dir/name: its paths relative to dir, " -> " between,
 * or "refused: WHY". */
static char *chain_of(const char *dir, const char *name)
{
    char *p = g_build_filename(dir, name, NULL), *why = NULL;
    GPtrArray *chain = rn_disk_chain(p, dir, &why);
    GString *s = g_string_new(chain ? NULL : "refused: ");
    if (chain == NULL) {
        g_string_append(s, why);
    }
    char *abs = g_canonicalize_filename(dir, NULL);
    for (guint i = 0; chain && i < chain->len; i++) {
        const char *f = ((rn_disk_file *)g_ptr_array_index(chain, i))->path;
        g_string_append_printf(s, "%s%s", i ? " -> " : "",
                               g_str_has_prefix(f, abs) ? f + strlen(abs) + 1 : f);
    }
    if (chain) {
        g_ptr_array_unref(chain);
    }
    g_free(abs);
    g_free(why);
    g_free(p);
    return g_string_free(s, FALSE);
}

static void disk_chain_reads_qcow2_headers_and_refuses_what_it_does_not_know(void **state)
{
    (void)state;
    char *dir = make_dir("qcow2hdr");
    char *d = g_canonicalize_filename(dir, NULL);
    g_free(write_file(d, "plain.raw", "raw\n"));
    g_free(write_bytes(d, "garbage.bin", "QFI\xfb\x00\x00\x00\x03", 8));
    g_free(write_qcow2(d, "v2.qcow2", (qcow2_header){.version = 2, .backing = "plain.raw"}));
    g_free(write_qcow2(d, "v4.qcow2", (qcow2_header){.version = 4}));
    g_free(write_qcow2(d, "feat.qcow2", (qcow2_header){.incompat = 0x21}));
    g_free(write_qcow2(d, "dirty.qcow2", (qcow2_header){.incompat = 0x1, .backing = "plain.raw"}));
    g_free(write_qcow2(d, "hlen.qcow2", (qcow2_header){.header_length = 50}));
    g_free(write_qcow2(d, "cluster.qcow2", (qcow2_header){.cluster_bits = 30}));
    g_free(write_qcow2(d, "long.qcow2", (qcow2_header){.backing = "x", .backing_len = 2000}));
    g_free(write_qcow2(d, "short.qcow2",
                       (qcow2_header){.backing = "plain.raw", .backing_len = 20, .size = 520}));
    g_free(write_qcow2(d, "extpast.qcow2",
                       (qcow2_header){.backing = "plain.raw", .ext_type = 0x1234, .ext_len = 500}));
    g_free(write_qcow2(d, "extshort.qcow2", (qcow2_header){.ext_type = 0x1234, .size = 108}));
    g_free(write_qcow2(d, "liar.qcow2", (qcow2_header){.backing = "plain.raw", .format = "qcow2"}));
    g_free(
        write_qcow2(d, "asraw.qcow2", (qcow2_header){.backing = "garbage.bin", .format = "raw"}));
    g_free(write_qcow2(d, "probed.qcow2", (qcow2_header){.backing = "garbage.bin"}));
    /* c0 -> c1 -> ... -> c16: 17 images */
    for (int i = 0; i <= 16; i++) {
        char *name = g_strdup_printf("c%d.qcow2", i), *next = g_strdup_printf("c%d.qcow2", i + 1);
        g_free(write_qcow2(d, name, (qcow2_header){.backing = i < 16 ? next : NULL}));
        g_free(next);
        g_free(name);
    }
    struct {
        const char *name, *want;
    } cases[] = {
        {"plain.raw", "plain.raw"},
        {"v2.qcow2", "v2.qcow2 -> plain.raw"},
        {"dirty.qcow2", "dirty.qcow2 -> plain.raw"},
        {"asraw.qcow2", "asraw.qcow2 -> garbage.bin"},
        {"c1.qcow2", "c1.qcow2 -> c2.qcow2 -> c3.qcow2 -> c4.qcow2 -> c5.qcow2 -> c6.qcow2 -> "
                     "c7.qcow2 -> c8.qcow2 -> c9.qcow2 -> c10.qcow2 -> c11.qcow2 -> c12.qcow2 -> "
                     "c13.qcow2 -> c14.qcow2 -> c15.qcow2 -> c16.qcow2"},
        {"c0.qcow2", "refused: the backing chain of 'c0.qcow2' is longer than 16 images"},
        {"garbage.bin", "refused: 'garbage.bin' starts like a qcow2 image, but its header is cut "
                        "short (8 bytes)"},
        {"probed.qcow2", "refused: 'garbage.bin' starts like a qcow2 image, but its header is cut "
                         "short (8 bytes)"},
        {"v4.qcow2", "refused: 'v4.qcow2' is qcow2 version 4; qns reads versions 2 and 3"},
        {"feat.qcow2", "refused: 'feat.qcow2' has incompatible features qns does not know (bits "
                       "0x20)"},
        {"hlen.qcow2", "refused: 'hlen.qcow2' is not a valid qcow2 image: header length 50"},
        {"cluster.qcow2", "refused: 'cluster.qcow2' is not a valid qcow2 image: cluster_bits 30"},
        {"long.qcow2", "refused: 'long.qcow2' names a backing file of 2000 bytes; QEMU takes at "
                       "most 1023"},
        {"short.qcow2", "refused: 'short.qcow2' is not a valid qcow2 image: its backing file name "
                        "is cut short or holds a NUL byte"},
        {"extpast.qcow2", "refused: 'extpast.qcow2' is not a valid qcow2 image: a header "
                          "extension runs past the header"},
        {"extshort.qcow2", "refused: 'extshort.qcow2' is not a valid qcow2 image: its header "
                           "extensions are cut short"},
        {"liar.qcow2", "refused: backing file 'plain.raw' of 'liar.qcow2' is not a qcow2 image, "
                       "though 'liar.qcow2' says it is"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *got = chain_of(d, cases[i].name);
        if (strcmp(got, cases[i].want) != 0) {
            fail_msg("%s:\nwant %s\ngot  %s", cases[i].name, cases[i].want, got);
        }
        g_free(got);
    }
    g_free(d);
    g_free(dir);
}

static void pack_refuses_to_replace_a_package_unless_forced(void **state)
{
    (void)state;
    char *dir = make_dir("packtwice");
    char *out = run_fake_lan(dir);
    char *tarball = g_strdup_printf("%s.tar.zst", out);
    result r = qns("pack", out, NULL);
    assert_int_equal(r.status, 0);
    result_clear(&r);
    char *first = sha_of(tarball);
    r = qns("pack", out, NULL);
    char *want = g_strdup_printf("qns: %s exists already; not replaced (qns pack --force "
                                 "replaces it)\n",
                                 tarball);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    assert_string_equal(r.out, "");
    result_clear(&r);
    char *now = sha_of(tarball);
    assert_string_equal(now, first);
    g_free(now);
    /* --force replaces whatever is there (packing is deterministic: the same bytes). */
    assert_true(g_file_set_contents(tarball, "not a package\n", -1, NULL));
    r = qns("pack", "--force", out, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "qns: packed 9 files of "));
    result_clear(&r);
    now = sha_of(tarball);
    assert_string_equal(now, first);
    char *partial = g_strdup_printf("%s.partial", tarball);
    assert_false(g_file_test(partial, G_FILE_TEST_EXISTS));
    g_free(partial);
    g_free(now);
    g_free(want);
    g_free(first);
    g_free(tarball);
    g_free(out);
    g_free(dir);
}

/* ---- files = SRC:DST ------------------------------------------------------------ */

/* DIR/FILE: one default guest a with the given [guest a] lines. */
static char *files_ini(const char *dir, const char *file, const char *guest)
{
    char *text = g_strdup_printf("[scenario]\nduration = 10ms\n\n[guest a]\n%s", guest);
    char *p = write_file(dir, file, text);
    g_free(text);
    return p;
}

static void each_refusal_of_files_is_named_at_its_line(void **state)
{
    (void)state;
    char *dir = make_dir("files-bad");
    char *abs = g_canonicalize_filename(dir, NULL);
    g_free(write_file(dir, "app.sh", "#!/bin/sh\necho app\n"));
    g_free(write_file(dir, "vmlinux", "a kernel\n"));
    char *link = g_build_filename(dir, "link.sh", NULL);
    assert_int_equal(symlink("app.sh", link), 0);
    fake_image img = fake_image_set("files-bad-image");
    static const struct {
        const char *guest, *want; /* %1$s: the scenario's folder */
    } cases[] = {
        {"files = missing.sh:/usr/bin/x\n",
         "5: guest a: files: cannot read '%1$s/missing.sh': No such file or directory"},
        {"files = app.sh:usr/bin/app\n",
         "5: guest a: files: destination 'usr/bin/app' is not an absolute path (e.g. "
         "/usr/local/bin/NAME)"},
        {"files = app.sh:/usr/../etc/app\n",
         "5: guest a: files: destination '/usr/../etc/app' has a '..' component"},
        {"command = true\nfiles = ./app.sh:/bin/app, link.sh:/usr/bin/l\n",
         "6: guest a: files: '%1$s/link.sh' is a symbolic link; only regular files and folders "
         "are packed"},
        {"kernel = vmlinux\nfiles = app.sh:/bin/app\n",
         "6: guest a: files go into the default guest's initramfs; with an own kernel, put them "
         "into its image when you build it"},
        {"program = " QNS_FAKE_GUEST "\nfiles = app.sh:/bin/app\n",
         "6: guest a: files go into the default guest's initramfs; a program has none"},
        {"files = app.sh:/bin/app,\n",
         "5: guest a: files: '' is not SRC:DST (e.g. ./app:/usr/local/bin/app)"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *ini = files_ini(dir, "bad.ini", cases[i].guest);
        char *out = g_build_filename(dir, "out", NULL);
        result r = qns("run", ini, "-o", out, NULL);
        char *tail = g_strdup_printf(cases[i].want, abs);
        char *want = g_strdup_printf("%s:%s\n", ini, tail);
        if (r.status != 2 || strcmp(r.err, want) != 0) {
            fail_msg("case %zu: status %d, stderr:\n%s\nwanted:\n%s", i, r.status, r.err, want);
        }
        assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
        result_clear(&r);
        g_free(want);
        g_free(tail);
        g_free(out);
        g_free(ini);
    }
    fake_image_unset(&img);
    g_free(link);
    g_free(abs);
    g_free(dir);
}

/* A QEMU stand-in: the fake guest with the -qqq and -netdev options qns
 * gives QEMU, printing the default guest's ready line and the SHA-256 of
 * the -initrd it was given, then powering off. */
static char *initrd_printing_qemu(const char *dir)
{
    char *text = g_strdup_printf(
        "#!/bin/sh\nopts=''\ninitrd=''\nwhile [ $# -gt 0 ]; do\n  case $1 in\n"
        "    -qqq|-netdev) opts=\"$opts $1 $2\"; shift 2 ;;\n"
        "    -initrd) initrd=$2; shift 2 ;;\n    *) shift ;;\n  esac\ndone\n"
        "sum=$(sha256sum < \"$initrd\" | cut -c1-64)\n"
        "exec %s $opts 'print:1000:QNS-GUEST: ready' \"print:2000:initrd $sum\" exit:3000:0\n",
        QNS_FAKE_GUEST);
    char *p = write_file(dir, "qemu", text);
    assert_int_equal(chmod(p, 0755), 0);
    g_free(text);
    return p;
}

static void files_are_inputs_of_the_manifest_and_verify_from_the_package(void **state)
{
    (void)state;
    char *dir = make_dir("files");
    char *abs = g_canonicalize_filename(dir, NULL);
    char *cache = g_build_filename(abs, "cache", NULL);
    g_setenv("QNS_CACHE_DIR", cache, TRUE);
    char *old_qemu = g_strdup(g_getenv("QNS_QEMU")),
         *old_guest = g_strdup(g_getenv("QNS_GUEST_DIR"));
    char *qemu = initrd_printing_qemu(dir);
    /* The stand-in QEMU runs the build's fake guest, which a confined QEMU
     * does not see (tests/guest/test_confine.c shows the confinement). */
    g_setenv("QNS_QEMU_UNCONFINED", "1", TRUE);
    char *gdir = g_build_filename(abs, "guest", NULL);
    g_mkdir_with_parents(gdir, 0755);
    g_free(write_file(gdir, "GUEST-INFO",
                      "[guest]\nkey=feed\nkernel=vmlinux\nkernel_release=6.1.0-test\n"
                      "initrd=initramfs.cpio\ncmdline=console=ttyS0\nqemu_args=-machine pc\n"
                      "nic_e1000=e1000,netdev=ID,mac=MAC\n"
                      "nic_virtio=virtio-net-pci,netdev=ID,mac=MAC\n"));
    g_free(write_file(gdir, "vmlinux", "a kernel\n"));
    g_free(write_file(gdir, "initramfs.cpio", "an initramfs\n"));
    g_setenv("QNS_QEMU", qemu, TRUE);
    g_setenv("QNS_GUEST_DIR", gdir, TRUE);
    char *data = g_build_filename(dir, "data", NULL);
    g_mkdir_with_parents(data, 0755);
    char *app = write_file(data, "app.sh", "#!/bin/sh\necho app\n");
    assert_int_equal(chmod(app, 0755), 0);
    char *conf = g_build_filename(data, "conf", NULL);
    g_mkdir_with_parents(conf, 0755);
    char *conf_file = write_file(conf, "app.conf", "level = 3\n");
    char *ini = files_ini(dir, "files.ini",
                          "files = data/app.sh:/usr/local/bin/app.sh, data/conf:/etc/app\n");
    char *out = run_ok(dir, ini);

    /* The guest booted the combined initrd of the cache, named by its SHA-256. */
    char *console = g_build_filename(out, "a.console", NULL), *text = NULL;
    assert_true(g_file_get_contents(console, &text, NULL, NULL));
    char *sum = strstr(text, "initrd ");
    assert_non_null(sum);
    sum = g_strndup(sum + strlen("initrd "), 64);
    char *initrd = g_build_filename(cache, "initrd", sum, NULL);
    char *actual = sha_of(initrd);
    assert_string_equal(actual, sum);
    /* ... which is not an output of the run. */
    const char *skip[] = {NULL};
    GPtrArray *files = rn_list_files(out, skip);
    GString *listed = g_string_new(NULL);
    for (guint i = 0; i < files->len; i++) {
        g_string_append_printf(listed, "%s ", (char *)g_ptr_array_index(files, i));
    }
    assert_string_equal(listed->str, ".qns.lock a.console manifest.json scenario.ini ");
    g_string_free(listed, TRUE);
    g_ptr_array_free(files, TRUE);

    /* The manifest hashes every packed file and names the pairs. */
    char *m = manifest_of(out);
    char *app_abs = g_build_filename(abs, "data", "app.sh", NULL);
    char *conf_abs = g_build_filename(abs, "data", "conf", "app.conf", NULL);
    char *app_sha = sha_of(app), *conf_sha = sha_of(conf_file);
    char *want_app = g_strdup_printf("\"%s\" : \"%s\"", app_abs, app_sha);
    char *want_conf = g_strdup_printf("\"%s\" : \"%s\"", conf_abs, conf_sha);
    assert_non_null(strstr(m, want_app));
    assert_non_null(strstr(m, want_conf));
    assert_non_null(strstr(m, "\"files\" : [\n        \"data/app.sh:/usr/local/bin/app.sh\",\n"
                              "        \"data/conf:/etc/app\"\n      ]"));

    /* Packed, then verified elsewhere without the originals. */
    result r = qns("pack", out, NULL);
    assert_int_equal(r.status, 0);
    result_clear(&r);
    char *fresh = g_build_filename(dir, "fresh", NULL);
    g_mkdir_with_parents(fresh, 0755);
    char *packed = g_strdup_printf("%s.tar.zst", out);
    char *pkg = g_build_filename(fresh, "run.tar.zst", NULL);
    assert_int_equal(rename(packed, pkg), 0);
    assert_int_equal(unlink(app), 0);
    assert_int_equal(unlink(conf_file), 0);
    char *packed_app = g_build_filename(fresh, "run", "inputs", "data", "app.sh", NULL);
    r = qns("verify", "--trust-package", pkg, NULL);
    if (r.status != 0) {
        fail_msg("verify: %d\n%s%s", r.status, r.out, r.err);
    }
    assert_non_null(strstr(r.out, "\nverify: running from the packed guest image, inputs\n"));
    assert_non_null(strstr(r.out, "verify: OK: all 1 files match"));
    result_clear(&r);
    /* The packed script kept its exec bit, which the archive records. */
    struct stat st;
    assert_int_equal(stat(packed_app, &st), 0);
    assert_true(st.st_mode & 0100);

    g_free(packed_app);
    g_free(pkg);
    g_free(packed);
    g_free(fresh);
    g_free(want_conf);
    g_free(want_app);
    g_free(conf_sha);
    g_free(app_sha);
    g_free(conf_abs);
    g_free(app_abs);
    g_free(m);
    g_free(actual);
    g_free(initrd);
    g_free(sum);
    g_free(text);
    g_free(console);
    g_free(out);
    g_free(ini);
    g_free(conf_file);
    g_free(conf);
    g_free(app);
    g_free(data);
    if (old_qemu) {
        g_setenv("QNS_QEMU", old_qemu, TRUE);
    } else {
        g_unsetenv("QNS_QEMU");
    }
    if (old_guest) {
        g_setenv("QNS_GUEST_DIR", old_guest, TRUE);
    } else {
        g_unsetenv("QNS_GUEST_DIR");
    }
    g_unsetenv("QNS_QEMU_UNCONFINED");
    g_unsetenv("QNS_CACHE_DIR");
    g_free(old_guest);
    g_free(old_qemu);
    g_free(gdir);
    g_free(qemu);
    g_free(cache);
    g_free(abs);
    g_free(dir);
}

/* Frames of the capture at path that match(header, bytes, arg) takes. */
static int count_frames(const char *path,
                        int (*match)(const struct pcap_pkthdr *, const u_char *, const void *),
                        const void *arg)
{
    char e[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, e);
    if (p == NULL) {
        fail_msg("%s: %s", path, e);
    }
    struct pcap_pkthdr *h;
    const u_char *d;
    int n = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
        n += match(h, d, arg) != 0;
    }
    pcap_close(p);
    return n;
}

/* An IPv4 packet from src ("10.0.2.2") in an Ethernet frame. */
static int is_ipv4_from(const struct pcap_pkthdr *h, const u_char *d, const void *src)
{
    char from[16];
    if (h->caplen < 34 || d[12] != 0x08 || d[13] != 0x00) {
        return 0;
    }
    snprintf(from, sizeof(from), "%u.%u.%u.%u", d[26], d[27], d[28], d[29]);
    return strcmp(from, src) == 0;
}

static int count_ipv4_from(const char *path, const char *src)
{
    return count_frames(path, is_ipv4_from, src);
}

static int is_of_length(const struct pcap_pkthdr *h, const u_char *d, const void *len)
{
    (void)d;
    return h->len == *(const uint32_t *)len;
}

/* Frames of `len` bytes in the capture at path. */
static int count_frames_of_length(const char *path, uint32_t len)
{
    return count_frames(path, is_of_length, &len);
}

/* Member `member` of guest i's NIC nic in DIR/manifest.json (nic < 0: of the
 * guest itself). */
static int64_t manifest_guest_int(const char *dir, guint i, int nic, const char *member)
{
    char *path = g_build_filename(dir, "manifest.json", NULL);
    JsonParser *p = json_parser_new();
    assert_true(json_parser_load_from_file(p, path, NULL));
    JsonObject *root = json_node_get_object(json_parser_get_root(p));
    JsonObject *o = json_array_get_object_element(json_object_get_array_member(root, "guests"), i);
    if (nic >= 0) {
        o = json_array_get_object_element(json_object_get_array_member(o, "nics"), (guint)nic);
    }
    int64_t v = json_object_get_int_member(o, member);
    g_object_unref(p);
    g_free(path);
    return v;
}

/* DIR/lan.ini: fake guests a (doing `actions`) and b on a captured CSMA LAN
 * of MTU 1500, for 1 ms in fixed rounds. */
static char *two_guest_lan(const char *dir, const char *actions)
{
    char *text = g_strdup_printf("[scenario]\nduration = 1ms\nrounds = fixed\n"
                                 "[guest a]\nprogram = %s %s\n[guest b]\nprogram = %s\n"
                                 "[link lan]\ncapture = true\nmembers = a, b\n",
                                 QNS_FAKE_GUEST, actions, QNS_FAKE_GUEST);
    char *p = write_file(dir, "lan.ini", text);
    g_free(text);
    return p;
}

/* A frame longer than the MTU of the device it would enter ns-3 through is
 * dropped there, said in a's line and counted in the manifest for a's NIC:
 * a's own capture has it, neither ns-3's captures nor b's. */
static void frames_longer_than_the_mtu_are_dropped_and_reported(void **state)
{
    (void)state;
    char *dir = make_dir("mtu");
    char *ini = two_guest_lan(dir, "send:1000:0:1514 send:2000:0:9000");
    char *out = g_build_filename(dir, "out", NULL);
    result r = qns("run", ini, "-o", out, NULL);
    if (r.status != 0) {
        fail_msg("run: %d\n%s%s", r.status, r.out, r.err);
    }
    assert_non_null(strstr(r.out, "guest a: 1 frames out, 0 frames in, 1 frames dropped at nic0 "
                                  "(longer than MTU 1500), clock 0.001000 s\n"));
    assert_non_null(strstr(r.out, "guest b: 0 frames out, 1 frames in, clock 0.001000 s\n"));
    assert_int_equal(manifest_guest_int(out, 0, -1, "frames_from_guest"), 1);
    assert_int_equal(manifest_guest_int(out, 0, -1, "frames_too_long"), 1);
    assert_int_equal(manifest_guest_int(out, 0, 0, "mtu"), 1500);
    assert_int_equal(manifest_guest_int(out, 0, 0, "frames_too_long"), 1);
    assert_int_equal(manifest_guest_int(out, 1, 0, "frames_too_long"), 0);
    /* ns-3's CSMA captures add the 4-byte FCS. */
    const char *files[] = {"a-nic0.pcap", "b-nic0.pcap", "lan-0-0.pcap", "lan-1-0.pcap"};
    for (size_t k = 0; k < G_N_ELEMENTS(files); k++) {
        char *path = g_build_filename(out, files[k], NULL);
        uint32_t fcs = k > 1 ? 4 : 0;
        assert_int_equal(count_frames_of_length(path, 1514 + fcs), 1);
        assert_int_equal(count_frames_of_length(path, 9000 + fcs), k == 0);
        g_free(path);
    }
    result_clear(&r);
    g_free(out);
    g_free(ini);
    g_free(dir);
}

/* Guest a breaks the frame protocol in a way the end of the run shows:
 * exit 1, the one line `want` on stderr and as the manifest's error. */
static void fails_at_the_end(const char *tag, const char *actions, const char *want)
{
    char *dir = make_dir(tag);
    char *ini = two_guest_lan(dir, actions);
    char *out = g_build_filename(dir, "out", NULL);
    result r = qns("run", "-q", ini, "-o", out, NULL);
    assert_int_equal(r.status, 1);
    char *line = g_strdup_printf("qns: %s\n", want);
    assert_string_equal(r.err, line);
    char *data = manifest_of(out);
    assert_non_null(strstr(data, "\"status\" : \"failed\""));
    char *error = manifest_get(out, "error");
    assert_string_equal(error, want);
    assert_int_equal(ts_child_count(), 0);
    g_free(error);
    g_free(data);
    g_free(line);
    result_clear(&r);
    g_free(out);
    g_free(ini);
    g_free(dir);
}

/* A re-run that fails is a failed verify even when every file matches: the
 * guest's program (a wrapper, trusted) leaves a record cut short at the end
 * only once FLAG exists, which no capture shows. */
static void a_failed_re_run_fails_verify_though_the_files_match(void **state)
{
    (void)state;
    char *dir = make_dir("rerun-fails");
    char *abs = g_canonicalize_filename(dir, NULL);
    char *flag = g_build_filename(abs, "FLAG", NULL);
    char *body = g_strdup_printf("#!/bin/sh\nif [ -e '%s' ]; then exec %s \"$@\" send:100:0:60 "
                                 "partial:500:0:100:20; fi\nexec %s \"$@\" send:100:0:60\n",
                                 flag, QNS_FAKE_GUEST, QNS_FAKE_GUEST);
    char *wrapper = write_file(dir, "flaky.sh", body);
    assert_int_equal(chmod(wrapper, 0755), 0);
    char *ini = two_guest_lan(dir, "");
    gchar *text = NULL;
    assert_true(g_file_get_contents(ini, &text, NULL, NULL));
    char *first = g_strdup_printf("program = %s \n", QNS_FAKE_GUEST);
    char *at = strstr(text, first);
    assert_non_null(at);
    char *edited =
        g_strdup_printf("%.*sprogram = ./flaky.sh\n%s", (int)(at - text), text, at + strlen(first));
    assert_true(g_file_set_contents(ini, edited, -1, NULL));
    char *out = g_build_filename(dir, "out", NULL);
    result r = qns("run", "-q", ini, "-o", out, NULL);
    assert_int_equal(r.status, 0);
    result_clear(&r);
    g_free(write_file(dir, "FLAG", ""));
    char *again = g_build_filename(dir, "again", NULL);
    r = qns("verify", "--trust-package", out, "-o", again, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "the run ended in the middle of a record"));
    char *want = g_strdup_printf("verify: FAILED: the re-run failed, although all 6 files match "
                                 "(re-run in %s/)\n",
                                 again);
    if (strstr(r.out, want) == NULL) {
        fail_msg("want %sgot\n%s", want, r.out);
    }
    result_clear(&r);
    g_free(want);
    g_free(again);
    g_free(out);
    g_free(edited);
    g_free(first);
    g_free(text);
    g_free(ini);
    g_free(wrapper);
    g_free(body);
    g_free(flag);
    g_free(abs);
    g_free(dir);
}

static void a_record_cut_short_at_the_end_fails_the_run(void **state)
{
    (void)state;
    fails_at_the_end("cut", "send:1000:0:60 partial:5000:0:100:20",
                     "guest a nic 0: the run ended in the middle of a record: the guest had "
                     "written 36 of its 116 bytes");
}

static void a_reply_past_the_end_of_the_run_fails_it(void **state)
{
    (void)state;
    fails_at_the_end("overshoot", "overshoot:3:2147483000",
                     "guest a replied 2147483010 us to a grant of 10 us in round 3, which took "
                     "its clock to 2147483030 us, past the run's end at 1000 us");
}

/* client --lan1-- router --lan2-- server, ns-3 nodes only, plus a guest on a
 * p2p link to the router, so ns-3's global routing is off: the echoes cross
 * the router only by the route lines (two on the client). */
static void node_routes_repeat_and_carry_traffic_across_a_router(void **state)
{
    (void)state;
    char *dir = make_dir("routes");
    char *text = g_strdup_printf(
        "[scenario]\nduration = 100ms\n"
        "[guest g]\nprogram = %s\n"
        "[node client]\nudp-echo-client = 10.0.2.2:9 count=2 interval=10ms\n"
        "route = 10.0.2.0/24 via 10.0.1.1\n"
        "route = 10.0.3.0/24 via 10.0.1.1\n"
        "[node router]\n"
        "[node server]\nudp-echo-server = 9\nroute = 0.0.0.0/0 via 10.0.2.1\n"
        "[link wan]\ntype = p2p\nmembers = g, router=10.0.9.1/24\n"
        "[link lan1]\ncapture = true\nmembers = client=10.0.1.2/24, router=10.0.1.1/24\n"
        "[link lan2]\nmembers = router=10.0.2.1/24, server=10.0.2.2/24\n",
        QNS_FAKE_GUEST);
    char *ini = write_file(dir, "routes.ini", text);
    char *out = g_build_filename(dir, "run", NULL);
    result r = qns("run", ini, "-o", out, NULL);
    if (r.status != 0) {
        fail_msg("run: %d\n%s%s", r.status, r.out, r.err);
    }
    result_clear(&r);
    char *pcap = g_build_filename(out, "lan1-client-1.pcap", NULL);
    assert_int_equal(count_ipv4_from(pcap, "10.0.1.2"), 2);
    assert_int_equal(count_ipv4_from(pcap, "10.0.2.2"), 2);
    g_free(pcap);
    g_free(out);
    g_free(ini);
    g_free(text);
    g_free(dir);
}

/* Member `member` (an integer) of the i-th of the manifest's apps. */
static int64_t manifest_app_int(const char *dir, guint i, const char *member)
{
    char *path = g_build_filename(dir, "manifest.json", NULL);
    JsonParser *p = json_parser_new();
    assert_true(json_parser_load_from_file(p, path, NULL));
    JsonObject *root = json_node_get_object(json_parser_get_root(p));
    JsonArray *apps = json_object_get_array_member(root, "apps");
    assert_non_null(apps);
    assert_true(i < json_array_get_length(apps));
    int64_t v = json_object_get_int_member(json_array_get_object_element(apps, i), member);
    g_object_unref(p);
    g_free(path);
    return v;
}

/* Runs scenario `text` as NAME.ini in a new folder, which must succeed and
 * print `line`; the run folder (g_free it and its *dir). */
static char *run_printing(const char *name, const char *text, const char *line, char **dir)
{
    *dir = make_dir(name);
    char *file = g_strdup_printf("%s.ini", name);
    char *ini = write_file(*dir, file, text);
    char *out = g_build_filename(*dir, "run", NULL);
    result r = qns("run", ini, "-o", out, NULL);
    if (r.status != 0 || strstr(r.out, line) == NULL) {
        fail_msg("run: %d, wanted '%s' in:\n%s%s", r.status, line, r.out, r.err);
    }
    result_clear(&r);
    g_free(ini);
    g_free(file);
    return out;
}

/* Two ns-3 nodes on a 10 Mbit/s CSMA link: a bulk-send of 1 MB over TCP to
 * a packet sink, which receives exactly the 1 MB, as the summary and the
 * manifest say; the idle UDP sink beside it received nothing. */
static void bulk_send_delivers_max_bytes_to_a_packet_sink(void **state)
{
    (void)state;
    char *dir;
    char *out = run_printing("bulk",
                             "[scenario]\nduration = 5s\n"
                             "[node a]\nbulk-send = tcp:10.0.0.2:5000 max=1000000 start=100ms\n"
                             "[node b]\npacket-sink = tcp:5000, udp:6000\n"
                             "[link lan]\nrate = 10Mbps\ndelay = 1ms\n"
                             "members = a=10.0.0.1/24, b=10.0.0.2/24\n",
                             "node b: packet-sink tcp:5000 received 1000000 bytes\n"
                             "node b: packet-sink udp:6000 received 0 bytes\n",
                             &dir);
    assert_int_equal(manifest_app_int(out, 0, "max_bytes"), 1000000);
    assert_int_equal(manifest_app_int(out, 1, "port"), 5000);
    assert_int_equal(manifest_app_int(out, 1, "rx_bytes"), 1000000);
    assert_int_equal(manifest_app_int(out, 2, "rx_bytes"), 0);
    g_free(out);
    g_free(dir);
}

#define ON_OFF_NODES                                                                               \
    "[node a]\non-off = udp:10.0.0.2:9 rate=800kbps size=1000 on=100ms off=400ms start=0s "        \
    "stop=1s\n"                                                                                    \
    "[node b]\npacket-sink = udp:9\n"                                                              \
    "[link lan]\nrate = 10Mbps\nmembers = a=10.0.0.1/24, b=10.0.0.2/24\n"

/* An on-off sender of 1000-byte UDP packets at 800 kbit/s (one per 10 ms)
 * for 100 ms of each 500 ms, stopped at 1 s: OnOffApplication begins with an
 * off period, so 400-500 ms and 900-1000 ms are on; 9 packets in the first
 * (the first leaves one interval after it starts) and 10 in the second (the
 * interval's remainder is carried over the off time): 19000 bytes, where
 * sending all along would be 100000. */
static void on_off_sends_only_while_on(void **state)
{
    (void)state;
    char *dir;
    char *out = run_printing("onoff", "[scenario]\nduration = 2s\n" ON_OFF_NODES,
                             "node b: packet-sink udp:9 received 19000 bytes\n", &dir);
    assert_int_equal(manifest_app_int(out, 1, "rx_bytes"), 19000);
    /* no flow_monitor, no flowmon.xml */
    char *xml = g_build_filename(out, "flowmon.xml", NULL);
    assert_false(g_file_test(xml, G_FILE_TEST_EXISTS));
    g_free(xml);
    g_free(out);
    g_free(dir);
}

/* A flowmon.xml that cannot be written (files may grow to 600 bytes: the
 * scenario's copy fits, the statistics do not) fails the run: exit 1 and
 * the reason. */
static void flow_statistics_that_cannot_be_written_fail_the_run(void **state)
{
    (void)state;
    char *dir = make_dir("flows-fail");
    char *ini = write_file(dir, "flows.ini",
                           "[scenario]\nduration = 2s\nflow_monitor = true\n" ON_OFF_NODES);
    char *out = g_build_filename(dir, "run", NULL);
    spawn_setup small = {.fsize = 600};
    const char *argv[] = {QNS_BIN, "run", ini, "-o", out, NULL};
    result r = run_argv(argv, &small);
    assert_int_equal(r.status, 1);
    if (strstr(r.err, "qns: cannot write the flow statistics: Failed to write file") == NULL ||
        strstr(r.err, "File too large\n") == NULL) {
        fail_msg("stderr:\n%s\nwanted: qns: cannot write the flow statistics: ...File too large",
                 r.err);
    }
    result_clear(&r);
    g_free(out);
    g_free(ini);
    g_free(dir);
}

/* flow_monitor = true: FlowMonitor's statistics of the on-off flow (19
 * packets of 1000 bytes + 28 of UDP and IPv4 headers) in flowmon.xml, an
 * output of the manifest, byte for byte the same in a second run. */
static void flow_monitor_writes_the_same_flow_statistics_every_run(void **state)
{
    (void)state;
    char *xml[2], *dirs[2], *sha = NULL;
    for (int i = 0; i < 2; i++) {
        char *out = run_printing(i ? "flows2" : "flows1",
                                 "[scenario]\nduration = 2s\nflow_monitor = true\n" ON_OFF_NODES,
                                 "node b: packet-sink udp:9 received 19000 bytes\n", &dirs[i]);
        char *path = g_build_filename(out, "flowmon.xml", NULL);
        assert_true(g_file_get_contents(path, &xml[i], NULL, NULL));
        char *man = manifest_of(out);
        g_free(sha);
        sha = sha_of(path);
        char *entry = g_strdup_printf("\"flowmon.xml\" : \"%s\"", sha);
        assert_non_null(strstr(man, entry));
        g_free(entry);
        g_free(man);
        g_free(path);
        g_free(out);
    }
    assert_non_null(strstr(xml[0], "txBytes=\"19532\" rxBytes=\"19532\" txPackets=\"19\" "
                                   "rxPackets=\"19\" lostPackets=\"0\""));
    assert_non_null(strstr(xml[0], "sourceAddress=\"10.0.0.1\" destinationAddress=\"10.0.0.2\" "
                                   "protocol=\"17\""));
    assert_string_equal(xml[0], xml[1]);
    for (int i = 0; i < 2; i++) {
        g_free(xml[i]);
        g_free(dirs[i]);
    }
    g_free(sha);
}

/* ---- report ------------------------------------------------------------------------- */

static uint16_t csum(const uint8_t *d, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        s += (uint32_t)(d[i] << 8 | d[i + 1]);
    }
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return (uint16_t)~s;
}

/* Ethernet + IPv4 header from src to dst (last octets), protocol, payload. */
static size_t frame(uint8_t *f, int src, int dst, uint8_t proto, const uint8_t *l4, size_t n)
{
    memset(f, 0, 14 + 20);
    f[5] = (uint8_t)dst;
    f[11] = (uint8_t)src;
    f[12] = 0x08;
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[2] = (uint8_t)((20 + n) >> 8);
    ip[3] = (uint8_t)(20 + n);
    ip[8] = 64;
    ip[9] = proto;
    ip[12] = 10;
    ip[15] = (uint8_t)src;
    ip[16] = 10;
    ip[19] = (uint8_t)dst;
    uint16_t c = csum(ip, 20);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    memcpy(f + 34, l4, n);
    return 34 + n;
}

static void dump(pcap_dumper_t *d, uint64_t t_ns, const uint8_t *f, size_t n)
{
    struct pcap_pkthdr h = {.caplen = (bpf_u_int32)n, .len = (bpf_u_int32)n};
    h.ts.tv_sec = (time_t)(t_ns / 1000000000u);
    h.ts.tv_usec = (suseconds_t)(t_ns % 1000000000u); /* nanoseconds in a nano pcap */
    pcap_dump((u_char *)d, &h, f);
}

static void write_known_capture(const char *path)
{
    pcap_t *p = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
    pcap_dumper_t *d = pcap_dump_open(p, path);
    assert_non_null(d);
    uint8_t f[200], icmp[64];
    /* Three pings 10.0.0.1 -> 10.0.0.2 at 1, 2, 3 s; replies after 100, 200, 300 us. */
    for (int k = 0; k < 3; k++) {
        memset(icmp, 0, sizeof(icmp));
        icmp[0] = 8;
        icmp[5] = 7;          /* id 7 */
        icmp[7] = (uint8_t)k; /* seq */
        size_t n = frame(f, 1, 2, 1, icmp, sizeof(icmp));
        dump(d, (uint64_t)(k + 1) * 1000000000u, f, n);
        icmp[0] = 0;
        n = frame(f, 2, 1, 1, icmp, sizeof(icmp));
        dump(d, (uint64_t)(k + 1) * 1000000000u + (uint64_t)(k + 1) * 100000u, f, n);
    }
    /* TCP 10.0.0.1:5000 -> 10.0.0.2:80: 100 bytes at 4 s, ACKed 2 ms later;
     * 100 more at 4.010 s, sent again at 4.020 s, ACKed at 4.025 s (no sample). */
    uint8_t tcp[120];
    const uint64_t sends[] = {4000000000u, 4010000000u, 4020000000u};
    const uint32_t seqs[] = {1000, 1100, 1100};
    for (int k = 0; k < 3; k++) {
        memset(tcp, 0, sizeof(tcp));
        tcp[0] = 0x13;
        tcp[1] = 0x88; /* 5000 */
        tcp[3] = 80;
        tcp[4] = (uint8_t)(seqs[k] >> 24);
        tcp[5] = (uint8_t)(seqs[k] >> 16);
        tcp[6] = (uint8_t)(seqs[k] >> 8);
        tcp[7] = (uint8_t)seqs[k];
        tcp[12] = 0x50;
        tcp[13] = 0x18; /* PSH ACK */
        size_t n = frame(f, 1, 2, 6, tcp, 120);
        dump(d, sends[k], f, n);
        if (k != 1) {
            uint32_t ack = seqs[k] + 100;
            memset(tcp, 0, 20);
            tcp[1] = 80;
            tcp[2] = 0x13;
            tcp[3] = 0x88;
            tcp[8] = (uint8_t)(ack >> 24);
            tcp[9] = (uint8_t)(ack >> 16);
            tcp[10] = (uint8_t)(ack >> 8);
            tcp[11] = (uint8_t)ack;
            tcp[12] = 0x50;
            tcp[13] = 0x10;
            n = frame(f, 2, 1, 6, tcp, 20);
            dump(d, sends[k] + (k == 0 ? 2000000u : 5000000u), f, n);
        }
    }
    pcap_dump_close(d);
    pcap_close(p);
}

static void report_prints_flows_and_rtts_of_a_known_capture(void **state)
{
    (void)state;
    char *dir = make_dir("report");
    char *pcap = g_build_filename(dir, "known.pcap", NULL);
    write_known_capture(pcap);
    result r = qns("report", dir, NULL);
    if (r.status != 0) {
        fail_msg("report: %d\n%s%s", r.status, r.out, r.err);
    }
    char want[1024];
    assert_non_null(strstr(r.out, "capture known.pcap: Ethernet, 11 packets (11 IPv4), "
                                  "1.000000000 s .. 4.025000000 s\n"));
    /* 3 x 84 bytes over 2 s; RTTs 0.1, 0.2, 0.3 ms. */
    snprintf(want, sizeof(want), "  %-46s %8d %10d %16s %6d %10s %10s %10s\n",
             "ICMP 10.0.0.1 -> 10.0.0.2", 3, 252, "1.008 kbit/s", 3, "0.100", "0.200", "0.300");
    assert_non_null(strstr(r.out, want));
    snprintf(want, sizeof(want), "  %-46s %8d %10d %16s %6s %10s %10s %10s\n",
             "ICMP 10.0.0.2 -> 10.0.0.1", 3, 252, "1.008 kbit/s", "-", "-", "-", "-");
    assert_non_null(strstr(r.out, want));
    /* 3 x 140 bytes over 20 ms = 168 kbit/s; one RTT sample of 2 ms (Karn). */
    snprintf(want, sizeof(want), "  %-46s %8d %10d %16s %6d %10s %10s %10s\n",
             "TCP 10.0.0.1:5000 -> 10.0.0.2:80", 3, 420, "168.000 kbit/s", 1, "2.000", "2.000",
             "2.000");
    assert_non_null(strstr(r.out, want));
    result_clear(&r);
    char *gnuplot = g_find_program_in_path("gnuplot");
    if (gnuplot) {
        const char *pngs[] = {"known-throughput.png", "known-rtt.png"};
        for (int i = 0; i < 2; i++) {
            char *p = g_build_filename(dir, "report", pngs[i], NULL);
            assert_true(g_file_test(p, G_FILE_TEST_IS_REGULAR));
            g_free(p);
        }
    }
    g_free(gnuplot);
    g_free(pcap);
    g_free(dir);
}

/* A capture's name is data: one made to break out of a gnuplot string
 * (x';system 'touch MARK';#.pcap) runs nothing; it is plotted as
 * capture-N, and its name reaches the terminal with its control bytes
 * escaped. */
static void report_runs_nothing_a_capture_name_says(void **state)
{
    (void)state;
    char *dir = make_dir("report-names");
    char *pcap = g_build_filename(dir, "x';system 'touch MARK';#\x1b[2J.pcap", NULL);
    write_known_capture(pcap);
    result r = qns("report", dir, NULL);
    if (r.status != 0) {
        fail_msg("report: %d\n%s%s", r.status, r.out, r.err);
    }
    assert_non_null(
        strstr(r.out, "capture x';system 'touch MARK';#\\x1b[2J.pcap: Ethernet, 11 packets"));
    assert_null(strchr(r.out, '\x1b'));
    const char *marks[] = {"MARK", "report/MARK"};
    for (int i = 0; i < 2; i++) {
        char *m = g_build_filename(dir, marks[i], NULL);
        assert_false(g_file_test(m, G_FILE_TEST_EXISTS));
        g_free(m);
    }
    char *png = g_build_filename(dir, "report", "capture-1-throughput.png", NULL);
    assert_true(g_file_test(png, G_FILE_TEST_IS_REGULAR));
    g_free(png);
    result_clear(&r);
    g_free(pcap);
    g_free(dir);
}

/* A run folder may be a stranger's: the programs its scenario names (here
 * a script that leaves a mark, then runs the fake guest) do not run on
 * verify (exit 2, one line naming the guest and the program, no mark, no
 * re-run folder) unless --trust-package says so, which names them first. */
static void verify_runs_no_program_of_a_run_folder_unless_trusted(void **state)
{
    (void)state;
    char *dir = make_dir("verify-program");
    char *abs = g_canonicalize_filename(dir, NULL);
    char *mark = g_build_filename(abs, "MARK", NULL);
    char *body = g_strdup_printf("#!/bin/sh\ntouch '%s'\nexec %s \"$@\"\n", mark, QNS_FAKE_GUEST);
    char *payload = write_file(dir, "payload.sh", body);
    assert_int_equal(chmod(payload, 0755), 0);
    char *ini =
        write_file(dir, "p.ini", "[scenario]\nduration = 1ms\n[guest a]\nprogram = ./payload.sh\n");
    char *out = g_build_filename(dir, "run", NULL);
    result r = qns("run", "-q", ini, "-o", out, NULL);
    assert_int_equal(r.status, 0);
    result_clear(&r);
    assert_int_equal(unlink(mark), 0);

    char *again = g_build_filename(dir, "again", NULL);
    r = qns("verify", out, "-o", again, NULL);
    char *want = g_strdup_printf("qns: guest a runs the program '%s/payload.sh', which the run "
                                 "folder or package names: qns verify runs none unless you pass "
                                 "--trust-package\n",
                                 abs);
    if (r.status != 2 || strcmp(r.err, want) != 0) {
        fail_msg("verify: status %d, stderr:\n%s\nwanted:\n%s", r.status, r.err, want);
    }
    assert_false(g_file_test(mark, G_FILE_TEST_EXISTS));
    assert_false(g_file_test(again, G_FILE_TEST_EXISTS));
    result_clear(&r);

    r = qns("verify", "--trust-package", out, "-o", again, NULL);
    assert_int_equal(r.status, 0);
    char *named = g_strdup_printf(
        "verify: guest a runs the program '%s/payload.sh' (--trust-package)\n", abs);
    assert_non_null(strstr(r.out, named));
    assert_true(g_file_test(mark, G_FILE_TEST_EXISTS));
    result_clear(&r);
    g_free(named);
    g_free(want);
    g_free(again);
    g_free(out);
    g_free(ini);
    g_free(payload);
    g_free(body);
    g_free(mark);
    g_free(abs);
    g_free(dir);
}

/* A stranger's run folder whose scenario (its hash in the manifest made to
 * match) gives a guest the reader's own file as its disk: verify refuses
 * before anything runs, naming the file, unless --trust-package. */
static void verify_reads_no_file_the_manifest_does_not_name(void **state)
{
    (void)state;
    char *dir = make_dir("verify-inputs");
    char *out = run_fake_lan(dir);
    char *secret = write_file(dir, "SECRET", "the reader's own\n");
    char *abs_secret = g_canonicalize_filename(secret, NULL);
    char *ini = g_build_filename(out, "scenario.ini", NULL);
    gchar *text = NULL;
    assert_true(g_file_get_contents(ini, &text, NULL, NULL));
    char *at = strstr(text, "[guest a]\n");
    assert_non_null(at);
    at += strlen("[guest a]\n");
    char *hostile = g_strdup_printf("%.*sdisk = %s\n%s", (int)(at - text), text, abs_secret, at);
    assert_true(g_file_set_contents(ini, hostile, -1, NULL));
    char *old_sha = manifest_get(out, "scenario.sha256"), *new_sha = sha_of(ini);
    char *man = g_build_filename(out, "manifest.json", NULL);
    gchar *mtext = NULL;
    assert_true(g_file_get_contents(man, &mtext, NULL, NULL));
    char *m_at = strstr(mtext, old_sha);
    assert_non_null(m_at);
    memcpy(m_at, new_sha, strlen(new_sha));
    assert_true(g_file_set_contents(man, mtext, -1, NULL));
    char *again = g_build_filename(dir, "again", NULL);
    result r = qns("verify", out, "-o", again, NULL);
    char *want = g_strdup_printf("qns: the scenario reads '%s' into a guest, which is no input the "
                                 "manifest names with these bytes: qns verify reads none unless "
                                 "you pass --trust-package\n",
                                 abs_secret);
    if (r.status != 2 || strcmp(r.err, want) != 0) {
        fail_msg("verify: status %d, stderr:\n%s\nwanted:\n%s", r.status, r.err, want);
    }
    assert_false(g_file_test(again, G_FILE_TEST_EXISTS));
    result_clear(&r);
    g_free(want);
    g_free(again);
    g_free(mtext);
    g_free(man);
    g_free(new_sha);
    g_free(old_sha);
    g_free(hostile);
    g_free(text);
    g_free(ini);
    g_free(abs_secret);
    g_free(secret);
    g_free(out);
    g_free(dir);
}

/* A scenario's extra_args reach QEMU's command line: on verify, options
 * other than the allowed ones (-D VICTIM would truncate VICTIM) are refused
 * before anything runs, naming the guest and the option; allowed ones pass
 * on to the next check (here the program's). */
static void verify_passes_no_unknown_qemu_option_unless_trusted(void **state)
{
    (void)state;
    char *dir = make_dir("verify-extra");
    char *victim = write_file(dir, "VICTIM", "precious\n");
    char *abs_victim = g_canonicalize_filename(victim, NULL);
    char *body = g_strdup_printf("[scenario]\nduration = 1ms\n[guest a]\nprogram = %s\n"
                                 "extra_args = -smp 1 -D '%s' -d guest_errors\n",
                                 QNS_FAKE_GUEST, abs_victim);
    char *ini = write_file(dir, "x.ini", body);
    char *out = g_build_filename(dir, "run", NULL);
    result r = qns("run", "-q", ini, "-o", out, NULL);
    assert_int_equal(r.status, 0);
    result_clear(&r);
    char *again = g_build_filename(dir, "again", NULL);
    r = qns("verify", out, "-o", again, NULL);
    const char *want = "qns: guest a: extra_args: '-D' is not an option qns passes to QEMU from "
                       "data: it may touch the host (allowed: " QNS_QEMU_ARGS_ALLOWED
                       "); qns verify passes none unless you pass --trust-package\n";
    if (r.status != 2 || strcmp(r.err, want) != 0) {
        fail_msg("verify: status %d, stderr:\n%s\nwanted:\n%s", r.status, r.err, want);
    }
    assert_false(g_file_test(again, G_FILE_TEST_EXISTS));
    gchar *text = NULL;
    assert_true(g_file_get_contents(victim, &text, NULL, NULL));
    assert_string_equal(text, "precious\n");
    g_free(text);
    result_clear(&r);
    r = qns("verify", "--trust-package", out, "-o", again, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(
        strstr(r.out, "verify: guest a passes its extra_args to QEMU (--trust-package)\n"));
    result_clear(&r);
    g_free(again);
    g_free(out);
    g_free(ini);
    g_free(body);
    g_free(abs_victim);
    g_free(victim);
    g_free(dir);
}

/* program = ./PATH is the scenario folder's, as kernel and disk are, not
 * the current folder's; a bare name is looked up in PATH. */
static void a_program_path_is_relative_to_the_scenario(void **state)
{
    (void)state;
    char *dir = make_dir("program-path");
    char *scen = g_build_filename(dir, "scen", NULL);
    g_mkdir_with_parents(scen, 0755);
    char *body = g_strdup_printf("#!/bin/sh\nexec %s \"$@\"\n", QNS_FAKE_GUEST);
    char *fake = write_file(scen, "fake.sh", body);
    assert_int_equal(chmod(fake, 0755), 0);
    char *ini =
        write_file(scen, "p.ini", "[scenario]\nduration = 1ms\n[guest a]\nprogram = ./fake.sh\n");
    char *out = g_build_filename(dir, "out", NULL);
    result r = qns("run", "-q", ini, "-o", out, NULL);
    if (r.status != 0) {
        fail_msg("run from another folder: %d\n%s%s", r.status, r.out, r.err);
    }
    assert_non_null(strstr(r.out, "guest a: 0 frames out, 0 frames in, clock 0.001000 s"));
    result_clear(&r);
    g_free(out);
    g_free(ini);
    g_free(fake);
    g_free(body);
    g_free(scen);
    g_free(dir);
}

/* A capture cut short or damaged: what report read of it is shown, the
 * file named with what libpcap says, and the exit status is 1. */
static void report_fails_on_a_truncated_capture(void **state)
{
    (void)state;
    char *dir = make_dir("report-cut");
    char *pcap = g_build_filename(dir, "cut.pcap", NULL);
    write_known_capture(pcap);
    struct stat st;
    assert_int_equal(stat(pcap, &st), 0);
    assert_int_equal(truncate(pcap, st.st_size - 10), 0);
    result r = qns("report", dir, "--no-plots", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "capture cut.pcap: Ethernet, 10 packets"));
    assert_non_null(strstr(r.err, "qns: cut.pcap: truncated dump file; tried to read "));
    assert_non_null(strstr(r.err, " (reading stopped there)\n"));
    result_clear(&r);
    g_free(pcap);
    g_free(dir);
}

/* ---- SIGINT -------------------------------------------------------------------------- */

static int count_packets(const char *path)
{
    char e[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, e);
    if (p == NULL) {
        fail_msg("%s: %s", path, e);
    }
    struct pcap_pkthdr *h;
    const u_char *d;
    int n = 0, r;
    while ((r = pcap_next_ex(p, &h, &d)) == 1) {
        n++;
    }
    assert_int_equal(r, PCAP_ERROR_BREAK); /* clean end of file, not a truncated record */
    pcap_close(p);
    return n;
}

static void sigint_stops_the_run_with_valid_captures_and_no_process(void **state)
{
    (void)state;
    /* Orphaned guests would become our children: ts_child_count sees them. */
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    char *dir = make_dir("sigint");
    /* a and b echo each other's frames: traffic until the end of time. */
    char *ini = fake_lan(dir, "100s", "echo:0 print:100000:echoing");
    char *out = g_build_filename(dir, "run", NULL);
    char *log = g_build_filename(dir, "stdout.txt", NULL);
    char *console = g_build_filename(out, "a.console", NULL);
    pid_t pid = spawn_run(ini, out, log);
    /* Wait until frames have crossed both ways (a prints at 100 us of
     * virtual time, after its first echo), then interrupt the run. */
    wait_for_text(console, "echoing", 10000);
    g_free(console);
    char *data = NULL;
    g_usleep(100000);
    assert_int_equal(kill(pid, SIGINT), 0);
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 130);
    g_usleep(100000);
    assert_int_equal(ts_child_count(), 0);

    assert_true(g_file_get_contents(log, &data, NULL, NULL));
    assert_non_null(strstr(data, "qns: stopped by SIGINT at virtual time"));
    g_free(data);
    const char *pcaps[] = {"a-nic0.pcap", "b-nic0.pcap", "lan-0-0.pcap", "lan-1-0.pcap"};
    for (size_t i = 0; i < G_N_ELEMENTS(pcaps); i++) {
        char *p = g_build_filename(out, pcaps[i], NULL);
        assert_true(count_packets(p) > 0);
        g_free(p);
    }
    char *man = g_build_filename(out, "manifest.json", NULL);
    assert_true(g_file_get_contents(man, &data, NULL, NULL));
    assert_non_null(strstr(data, "\"status\" : \"interrupted\""));
    g_free(data);
    /* An interrupted run depends on when it stopped: verify refuses it. */
    result r = qns("verify", "--trust-package", out, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "did not complete (interrupted)"));
    result_clear(&r);
    g_free(man);
    g_free(log);
    g_free(out);
    g_free(ini);
    g_free(dir);
}

/* ---- one folder, one run ------------------------------------------------------- */

/* While a run writes a folder, a second run or a verify into it stops at
 * once, names the folder and the holder, and touches nothing. */
static void a_folder_in_use_is_refused_to_a_second_run_and_to_verify(void **state)
{
    (void)state;
    char *dir = make_dir("lock");
    char *done = run_fake_lan(dir); /* a finished run, to verify into the busy folder */
    char *ini = fake_lan(dir, "100s", "echo:0");
    char *out = g_build_filename(dir, "busy", NULL);
    char *log = g_build_filename(dir, "stdout.txt", NULL);
    pid_t pid = start_run(ini, out, log);
    char *want = g_strdup_printf("qns: %s is in use by another qns (pid %d); wait for it or "
                                 "choose another folder\n",
                                 out, (int)pid);
    char *lock = g_build_filename(out, ".qns.lock", NULL), *before = NULL, *after = NULL;
    assert_true(g_file_get_contents(lock, &before, NULL, NULL));
    result r = qns("run", ini, "-o", out, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    assert_string_equal(r.out, "");
    result_clear(&r);
    r = qns("verify", "--trust-package", done, "-o", out, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    result_clear(&r);
    assert_true(g_file_get_contents(lock, &after, NULL, NULL));
    assert_string_equal(after, before);
    stop_run(pid, 130);
    /* The lock went with the run; the folder now holds a run of its own. */
    r = qns("run", ini, "-o", out, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "already holds a run (manifest.json)"));
    result_clear(&r);
    /* The lock file is no output: not in the manifest. */
    char *man = g_build_filename(done, "manifest.json", NULL), *data = NULL;
    assert_true(g_file_get_contents(man, &data, NULL, NULL));
    assert_null(strstr(data, ".qns.lock"));
    g_free(data);
    g_free(man);
    g_free(before);
    g_free(after);
    g_free(lock);
    g_free(want);
    g_free(log);
    g_free(out);
    g_free(ini);
    g_free(done);
    g_free(dir);
}

/* ---- write errors ---------------------------------------------------------------- */

/* Files may grow to 64 kB: the guests' captures of 150 frames of 1000
 * bytes each way cannot, and the first failed write ends the run. */
static void a_capture_that_cannot_be_written_fails_the_run_and_says_which(void **state)
{
    (void)state;
    char *dir = make_dir("efbig");
    char *ini = fake_lan(dir, "2ms", "every:10000:10000:0:1000:150");
    char *out = g_build_filename(dir, "run", NULL);
    const char *argv[] = {QNS_BIN, "run", "-q", ini, "-o", out, NULL};
    spawn_setup s = {.fsize = 65536};
    result r = run_argv(argv, &s);
    char *want =
        g_strdup_printf("qns: capture %s/a-nic0.pcap: write failed: File too large\n", out);
    if (r.status != 1 || strstr(r.err, want) == NULL) {
        fail_msg("status %d, stdout:\n%s\nstderr:\n%s", r.status, r.out, r.err);
    }
    /* It stopped there: far from the end of the 2 ms. */
    assert_null(strstr(r.out, "clock 0.002000 s"));
    result_clear(&r);
    char *man = g_build_filename(out, "manifest.json", NULL), *data = NULL;
    assert_true(g_file_get_contents(man, &data, NULL, NULL));
    assert_non_null(strstr(data, "\"status\" : \"failed\""));
    want[strlen(want) - 1] = '\0';
    char *err_member = g_strdup_printf("\"error\" : \"%s\"", want + strlen("qns: "));
    assert_non_null(strstr(data, err_member));
    g_free(err_member);
    g_free(data);
    g_free(man);
    g_free(want);
    g_free(out);
    g_free(ini);
    g_free(dir);
}

/* A manifest that cannot be written is a failed run, not "outputs and
 * manifest in". */
static void a_manifest_that_cannot_be_written_fails_the_run(void **state)
{
    (void)state;
    char *dir = make_dir("efbig-manifest");
    char *text =
        g_strdup_printf("[scenario]\nduration = 100us\n[guest a]\nprogram = %s\n", QNS_FAKE_GUEST);
    char *ini = write_file(dir, "one.ini", text);
    char *out = g_build_filename(dir, "run", NULL);
    const char *argv[] = {QNS_BIN, "run", "-q", ini, "-o", out, NULL};
    spawn_setup s = {.fsize = 512}; /* the scenario's copy fits, the manifest does not */
    result r = run_argv(argv, &s);
    char *want = g_strdup_printf("qns: cannot write %s/manifest.json: ", out);
    if (r.status != 1 || !g_str_has_prefix(r.err, want) ||
        strstr(r.err, "File too large\n") == NULL) {
        fail_msg("status %d, stdout:\n%s\nstderr:\n%s", r.status, r.out, r.err);
    }
    assert_null(strstr(r.out, "outputs and manifest in"));
    result_clear(&r);
    g_free(want);
    g_free(out);
    g_free(ini);
    g_free(text);
    g_free(dir);
}

/* A guest that stops answering: Ctrl-C or SIGTERM still ends the run at
 * once (the watchdog is 60 s), with the manifest written and no process
 * left, and the progress line names the guest the run waits for. */
static void stop_a_hung_run_with(int sig, int want_status, const char *tag)
{
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    char *dir = make_dir(tag);
    char *text = g_strdup_printf("[scenario]\nduration = 100s\nrounds = fixed\n"
                                 "[guest a]\nprogram = %s\n[guest b]\nprogram = %s hang:3\n"
                                 "[link lan]\ncapture = true\nmembers = a, b\n",
                                 QNS_FAKE_GUEST, QNS_FAKE_GUEST);
    char *ini = write_file(dir, "hung.ini", text);
    char *out = g_build_filename(dir, "run", NULL);
    char *log = g_build_filename(dir, "stdout.txt", NULL);
    long long t0 = ts_now_ms();
    pid_t pid = spawn_run(ini, out, log);
    wait_for_text(log, ", waiting for guest b for 1.", 10000);
    long long t1 = ts_now_ms();
    assert_int_equal(kill(pid, sig), 0);
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    long long stop_ms = ts_now_ms() - t1, total_ms = ts_now_ms() - t0;
    print_message("%s: stopped %lld ms after the signal, %lld ms in all\n", tag, stop_ms, total_ms);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), want_status);
    assert_true(stop_ms < 1000); /* 100 ms as built; sanitizers and load slow it */
    assert_true(total_ms < 5000);
    assert_int_equal(ts_child_count(), 0);
    char *data = NULL;
    assert_true(g_file_get_contents(log, &data, NULL, NULL));
    char *want = g_strdup_printf("qns: stopped by %s at virtual time 0.000030 s\n",
                                 sig == SIGINT   ? "SIGINT"
                                 : sig == SIGHUP ? "SIGHUP"
                                                 : "SIGTERM");
    assert_non_null(strstr(data, want));
    g_free(want);
    g_free(data);
    data = manifest_of(out);
    assert_non_null(strstr(data, "\"status\" : \"interrupted\""));
    assert_non_null(strstr(data, "\"watchdog_ms\" : 60000"));
    g_free(data);
    char *pcap = g_build_filename(out, "lan-0-0.pcap", NULL);
    assert_int_equal(count_packets(pcap), 0); /* complete, if empty */
    g_free(pcap);
    g_free(log);
    g_free(out);
    g_free(ini);
    g_free(text);
    g_free(dir);
}

static void sigint_ends_a_hung_run_at_once_with_130(void **state)
{
    (void)state;
    stop_a_hung_run_with(SIGINT, 130, "hung-int");
}

static void sigterm_ends_a_hung_run_at_once_with_143(void **state)
{
    (void)state;
    stop_a_hung_run_with(SIGTERM, 143, "hung-term");
}

/* A closed terminal or a dropped ssh session: handled as SIGTERM is. */
static void sighup_ends_a_hung_run_at_once_with_129(void **state)
{
    (void)state;
    stop_a_hung_run_with(SIGHUP, 129, "hung-hup");
}

/* A stop signal at any instant of a run's start, from the first
 * milliseconds on: qns is either ended before the run folder exists (by the
 * signal itself while the program is still being loaded, or with 128 + the
 * signal once its handlers are in place), or it stops the run as an
 * interrupted run: exit 128 + the signal, the manifest written, no process
 * left. Never killed with a folder half made. */
static void a_stop_signal_at_any_instant_of_the_start_leaves_no_half_made_folder(void **state)
{
    (void)state;
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    char *dir = make_dir("early-signal");
    char *text = g_strdup_printf("[scenario]\nduration = 100s\nrounds = fixed\n"
                                 "[guest a]\nprogram = %s\n[guest b]\nprogram = %s hang:3\n"
                                 "[link lan]\ncapture = true\nmembers = a, b\n",
                                 QNS_FAKE_GUEST, QNS_FAKE_GUEST);
    char *ini = write_file(dir, "early.ini", text);
    const int sigs[] = {SIGHUP, SIGTERM, SIGINT};
    int before = 0, stopped = 0;
    /* 0 .. 60 ms in steps of 2 ms, then longer until a signal lands after
     * the folder exists (a sanitized build starts slower), at most 10 s. */
    int delay_ms = 0;
    for (int i = 0; i <= 30 || (stopped == 0 && delay_ms <= 10000); i++) {
        delay_ms = i <= 30 ? i * 2 : delay_ms * 3 / 2;
        int sig = sigs[i % 3];
        char *name = g_strdup_printf("run-%d", i);
        char *out = g_build_filename(dir, name, NULL);
        char *log = g_build_filename(dir, "stdout.txt", NULL);
        pid_t pid = spawn_run(ini, out, log);
        usleep((useconds_t)delay_ms * 1000);
        assert_int_equal(kill(pid, sig), 0);
        int ws;
        assert_int_equal(waitpid(pid, &ws, 0), pid);
        int exists = g_file_test(out, G_FILE_TEST_EXISTS);
        if (WIFSIGNALED(ws) || !exists) {
            if (exists) {
                fail_msg("signal %d after %d ms: qns %s, and %s is there", sig, delay_ms,
                         WIFSIGNALED(ws) ? "was killed by it" : "exited", out);
            }
            assert_true(WIFSIGNALED(ws) ? WTERMSIG(ws) == sig : WEXITSTATUS(ws) == 128 + sig);
            before++;
        } else {
            assert_true(WIFEXITED(ws));
            assert_int_equal(WEXITSTATUS(ws), 128 + sig);
            char *data = manifest_of(out);
            assert_non_null(strstr(data, "\"status\" : \"interrupted\""));
            g_free(data);
            stopped++;
        }
        assert_int_equal(ts_child_count(), 0);
        g_free(log);
        g_free(out);
        g_free(name);
    }
    print_message("early signals: %d ended qns before its folder, %d stopped the run\n", before,
                  stopped);
    assert_true(stopped > 0);
    g_free(ini);
    g_free(text);
    g_free(dir);
}

/* ---- the same through the C API, in a child (one simulation per process) ---- */

static qns_sim *alarm_sim;
static volatile long long alarm_ms;

static void stop_on_alarm(int sig)
{
    (void)sig;
    alarm_ms = ts_now_ms(); /* clock_gettime: async-signal-safe */
    qns_sim_request_stop(alarm_sim);
}

typedef struct seen_wait {
    char guest[32];
    double waited_s;
    int calls;
} seen_wait;

/* Notes each report of a wait; the first arms SIGALRM 200 ms later. */
static int note_wait(void *ctx, const qns_progress *p)
{
    seen_wait *w = ctx;
    if (p->waiting_guest) {
        if (w->calls++ == 0) {
            struct itimerval t = {.it_value = {.tv_usec = 200000}};
            setitimer(ITIMER_REAL, &t, NULL);
        }
        snprintf(w->guest, sizeof(w->guest), "%s", p->waiting_guest);
        w->waited_s = p->waiting_s;
    }
    return 0;
}

/* Guest b hangs; a SIGALRM handler asks the run to stop. */
static int run_stopped_by_alarm(const char *ini, const char *out)
{
    GString *errors = g_string_new(NULL);
    rn_scenario *sc = rn_scenario_load(ini, NULL, NULL, errors);
    g_mkdir_with_parents(out, 0755);
    /* Fixed rounds, so that guest b is granted a third time (adaptive ones
     * would not grant the idle guest again before the end). */
    qns_sim_config cfg = {.out_dir = out, .rounds = QNS_ROUNDS_FIXED};
    qns_sim *sim = sc ? rn_scenario_build(sc, &cfg, errors) : NULL;
    if (sim == NULL) {
        fprintf(stderr, "%s", errors->str);
        return 10;
    }
    seen_wait w = {0};
    qns_sim_set_progress(sim, note_wait, &w, 50);
    alarm_sim = sim;
    struct sigaction sa = {.sa_handler = stop_on_alarm};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    char err[QNS_ERRBUF_SIZE];
    int r = qns_sim_run(sim, 100000000000ull, err);
    long long took = ts_now_ms() - alarm_ms;
    qns_sim_free(sim);
    rn_scenario_free(sc);
    g_string_free(errors, TRUE);
    fprintf(stderr, "run %d, %lld ms after the alarm; %d wait reports, last: guest %s for %.3f s\n",
            r, took, w.calls, w.guest, w.waited_s);
    /* 1: stopped, soon after the alarm (100 ms as built, slower under
     * sanitizers); the waits for b were reported */
    return r == 1 && alarm_ms > 0 && took < 500 && w.calls >= 2 && strcmp(w.guest, "b") == 0 &&
                   w.waited_s >= 0.1
               ? 0
               : 11;
}

static void request_stop_from_a_signal_handler_ends_a_hung_run(void **state)
{
    (void)state;
    char *dir = make_dir("api-stop");
    char *text = g_strdup_printf("[scenario]\nduration = 100s\n[guest a]\nprogram = %s\n"
                                 "[guest b]\nprogram = %s hang:3\n",
                                 QNS_FAKE_GUEST, QNS_FAKE_GUEST);
    char *ini = write_file(dir, "stop.ini", text);
    char *out = g_build_filename(dir, "run", NULL);
    pid_t pid = fork();
    if (pid == 0) {
        _exit(run_stopped_by_alarm(ini, out));
    }
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
    assert_int_equal(ts_child_count(), 0);
    g_free(out);
    g_free(ini);
    g_free(text);
    g_free(dir);
}

/* ns-3's own pcaps write through a stream that says nothing: after the run
 * each is checked, and one that lost a write fails the run. */
static void an_ns3_capture_that_lost_writes_fails_the_run(void **state)
{
    (void)state;
    char *dir = make_dir("efbig-ns3");
    char *ini = write_file(dir, "nodes.ini",
                           "[scenario]\nduration = 1s\n"
                           "[node a]\nudp-echo-client = 10.0.0.2:9 count=100 interval=1ms "
                           "size=1000\n"
                           "[node b]\nudp-echo-server = 9\n"
                           "[link lan]\ncapture = true\nmembers = a=10.0.0.1/24, b=10.0.0.2/24\n");
    char *out = g_build_filename(dir, "run", NULL);
    const char *argv[] = {QNS_BIN, "run", "-q", ini, "-o", out, NULL};
    spawn_setup s = {.fsize = 65536};
    result r = run_argv(argv, &s);
    char *want =
        g_strdup_printf("qns: capture %s/lan-a-1.pcap: write failed: File too large\n", out);
    if (r.status != 1 || strstr(r.err, want) == NULL) {
        fail_msg("status %d, stdout:\n%s\nstderr:\n%s", r.status, r.out, r.err);
    }
    result_clear(&r);
    /* Without the limit the same run is fine. */
    char *out2 = g_build_filename(dir, "run2", NULL);
    argv[5] = out2;
    r = run_argv(argv, NULL);
    assert_int_equal(r.status, 0);
    result_clear(&r);
    g_free(out2);
    g_free(want);
    g_free(out);
    g_free(ini);
    g_free(dir);
}

/* ---- an unreadable build ------------------------------------------------------------ */

/* A user who may not enter the folder of QEMU and the guest image is told
 * so, not that they are missing. Root passes every permission check, so qns
 * runs as nobody then. */
static void an_unreadable_qemu_or_guest_image_is_named_as_such(void **state)
{
    (void)state;
    char *rel = make_dir("closed");
    char *dir = g_canonicalize_filename(rel, NULL);
    char *closed = g_build_filename(dir, "cache", NULL);
    g_mkdir_with_parents(closed, 0755);
    char *qemu = write_file(closed, "qemu-system-x86_64", "#!/bin/sh\n");
    assert_int_equal(chmod(qemu, 0755), 0);
    g_free(write_file(closed, "GUEST-INFO", "[guest]\n"));
    /* Closed to everyone but its owner, root; to all when we are not root. */
    assert_int_equal(chmod(closed, geteuid() == 0 ? 0700 : 0000), 0);
    char *ini = write_file(dir, "g.ini", "[scenario]\nduration = 1ms\n[guest a]\n");
    char *env_qemu = g_strdup_printf("QNS_QEMU=%s", qemu);
    char *env_guest = g_strdup_printf("QNS_GUEST_DIR=%s", closed);
    const char *as_nobody[] = {"/usr/bin/setpriv",
                               "--reuid=65534",
                               "--regid=65534",
                               "--clear-groups",
                               "/usr/bin/env",
                               env_qemu,
                               env_guest,
                               QNS_BIN,
                               "run",
                               ini,
                               "-o",
                               "never",
                               NULL};
    result r = run_argv(geteuid() == 0 ? as_nobody : as_nobody + 4, NULL);
    char *want = g_strdup_printf(
        "%s:3: guest a needs QEMU, but '%s' cannot be run: Permission denied (folder '%s' cannot "
        "be searched) (set QNS_QEMU)\n"
        "%s:3: guest a boots the default guest, but '%s/GUEST-INFO' cannot be read: Permission "
        "denied (folder '%s' cannot be searched) (set QNS_GUEST_DIR)\n",
        ini, qemu, closed, ini, closed, closed);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    result_clear(&r);
    /* A path that is simply not there is still called so. */
    char *gone = g_build_filename(dir, "no-such-qemu", NULL);
    char *env_gone = g_strdup_printf("QNS_QEMU=%s", gone);
    as_nobody[5] = env_gone;
    r = run_argv(as_nobody + 4, NULL);
    char *line = g_strdup_printf("%s:3: guest a needs QEMU, but '%s' is not there (set QNS_QEMU)\n",
                                 ini, gone);
    assert_int_equal(r.status, 2);
    assert_true(g_str_has_prefix(r.err, line));
    result_clear(&r);
    assert_int_equal(chmod(closed, 0755), 0);
    g_free(line);
    g_free(env_gone);
    g_free(gone);
    g_free(want);
    g_free(env_guest);
    g_free(env_qemu);
    g_free(ini);
    g_free(qemu);
    g_free(closed);
    g_free(dir);
    g_free(rel);
}

/* ---- guest process groups ------------------------------------------------------------ */

/* A guest program that starts a child which ignores SIGTERM and would run
 * on: when the run ends, the guest's whole process group goes with it. */
static void a_guest_leaves_no_process_of_its_group_behind(void **state)
{
    (void)state;
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    char *dir = make_dir("pgroup");
    char *pidfile = g_build_filename(dir, "guest.pid", NULL);
    char *script_text = g_strdup_printf("#!/bin/sh\n"
                                        "echo $$ > %s\n"
                                        "(trap '' TERM HUP INT; exec sleep 1000) &\n"
                                        "exec %s \"$@\"\n",
                                        pidfile, QNS_FAKE_GUEST);
    char *script = write_file(dir, "guest.sh", script_text);
    assert_int_equal(chmod(script, 0755), 0);
    char *text = g_strdup_printf("[scenario]\nduration = 1ms\n[guest a]\nprogram = ./guest.sh\n");
    char *ini = write_file(dir, "g.ini", text);
    char *out = g_build_filename(dir, "run", NULL);
    result r = qns("run", "-q", ini, "-o", out, NULL);
    if (r.status != 0) {
        fail_msg("run: %d\n%s%s", r.status, r.out, r.err);
    }
    result_clear(&r);
    char *data = NULL;
    assert_true(g_file_get_contents(pidfile, &data, NULL, NULL));
    pid_t pgid = (pid_t)atoi(data);
    g_free(data);
    assert_true(pgid > 1);
    long long t0 = ts_now_ms();
    while (ts_live_in_group(pgid) > 0 && ts_now_ms() - t0 < 2000) {
        g_usleep(10000);
    }
    assert_int_equal(ts_live_in_group(pgid), 0);
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    g_free(out);
    g_free(ini);
    g_free(text);
    g_free(script);
    g_free(script_text);
    g_free(pidfile);
    g_free(dir);
}

/* watchdog = 1s in the file: a hang fails the run after a second, named, with
 * the way to turn the watchdog off; a guest busy on the CPU is waited for. */
static void scenario_watchdog_fails_a_hang_after_its_time(void **state)
{
    (void)state;
    char *dir = make_dir("watchdog");
    /* Fixed rounds: adaptive ones would not grant the idle guest again
     * before the end (it says nothing can happen in it). */
    char *ini = one_guest_ini(dir, "w.ini", "duration = 100s\nwatchdog = 1s\nrounds = fixed\n", "",
                              "hang:3");
    char *out = g_build_filename(dir, "run", NULL);
    long long t0 = ts_now_ms();
    result r = qns("run", "-q", ini, "-o", out, NULL);
    long long took = ts_now_ms() - t0;
    print_message("watchdog 1s: the run failed after %lld ms\n", took);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err,
                        "qns: guest a did not reply within 1000 ms in round 3 and used no "
                        "CPU in the last 900 ms (0 ms; hung); to wait for it however long it "
                        "takes, set watchdog = off in [scenario]\n");
    /* A guest the watchdog gave up on is not waited for at shutdown, which
     * would take 2 s more (about 1.1 s as built; slower under sanitizers). */
    assert_true(took >= 1000 && took < 2800);
    result_clear(&r);
    char *data = manifest_of(out);
    assert_non_null(strstr(data, "\"watchdog_ms\" : 1000"));
    assert_non_null(strstr(data, "\"status\" : \"failed\""));
    assert_non_null(strstr(data,
                           "\"error\" : \"guest a did not reply within 1000 ms in round 3 and "
                           "used no CPU in the last 900 ms (0 ms; hung); to wait for it however "
                           "long it takes, set watchdog = off in [scenario]\""));
    g_free(data);
    g_free(out);
    g_free(ini);

    /* off: no bound, recorded as 0 */
    ini = one_guest_ini(dir, "off.ini", "duration = 100us\nwatchdog = off\n", "", "");
    out = g_build_filename(dir, "off", NULL);
    r = qns("run", "-q", ini, "-o", out, NULL);
    assert_int_equal(r.status, 0);
    result_clear(&r);
    data = manifest_of(out);
    assert_non_null(strstr(data, "\"watchdog_ms\" : 0,"));
    g_free(data);
    g_free(out);
    g_free(ini);

    /* A grant that keeps the guest on the CPU for 3.5 windows is waited for. */
    ini = one_guest_ini(dir, "busy.ini", "duration = 100us\nrounds = fixed\nwatchdog = 200ms\n", "",
                        "busy:3:700");
    out = g_build_filename(dir, "busy", NULL);
    t0 = ts_now_ms();
    r = qns("run", "-q", ini, "-o", out, NULL);
    took = ts_now_ms() - t0;
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_true(took >= 700);
    result_clear(&r);
    data = manifest_of(out);
    assert_non_null(strstr(data, "\"status\" : \"completed\""));
    assert_non_null(strstr(data, "\"end_ns\" : 100000,"));
    g_free(data);
    g_free(out);
    g_free(ini);
    g_free(dir);
}

/* ---- a guest's outcome ------------------------------------------------------------- */

typedef struct outcome_case {
    const char *name;
    const char *actions; /* the fake guest's, after its path */
    int status;          /* qns's exit status */
    const char *error;   /* the one stderr line after "qns: ", NULL: none */
    const char *command_status;
} outcome_case;

#define CMD_BEGIN "print:1000:QNS-CMD-BEGIN print:1100:oops "

static const outcome_case outcome_cases[] = {
    {"setup-error", "\"print:1000:QNS-GUEST: error: unknown parameter 'qns.bogus'\" stop:2000:0", 1,
     "guest a failed to set up: unknown parameter 'qns.bogus'; console: QNS-GUEST: error: "
     "unknown parameter 'qns.bogus'",
     "null"},
    {"panic", "\"print:1000:Kernel panic - not syncing: sysrq triggered crash\" stop:2000:0", 1,
     "guest a: its kernel panicked (Kernel panic - not syncing: sysrq triggered crash); console: "
     "Kernel panic - not syncing: sysrq triggered crash",
     "null"},
    {"command-exit-1", CMD_BEGIN "\"print:1200:QNS-CMD-END status=1 uptime=0.00\" stop:2000:0", 1,
     "guest a: its command exited with status 1; console: QNS-CMD-BEGIN | oops | QNS-CMD-END "
     "status=1 uptime=0.00",
     "1"},
    {"cut-off", "\"print:1000:still going\"", 1,
     "guest a had not powered off at the end of the run's duration of 0.001 s; console: still "
     "going",
     "null"},
    {"command-exit-0", CMD_BEGIN "\"print:1200:QNS-CMD-END status=0 uptime=0.00\" stop:2000:0", 0,
     NULL, "0"},
};

static void guest_outcome_decides_exit_status_message_and_manifest(void **state)
{
    (void)state;
    char *dir = make_dir("outcome");
    for (size_t i = 0; i < G_N_ELEMENTS(outcome_cases); i++) {
        const outcome_case *c = &outcome_cases[i];
        char *name = g_strdup_printf("%s.ini", c->name);
        char *ini = one_guest_ini(dir, name, "duration = 1ms\n", "ends_run = true\n", c->actions);
        char *out = g_build_filename(dir, c->name, NULL);
        result r = qns("run", "-q", ini, "-o", out, NULL);
        char *want = c->error ? g_strdup_printf("qns: %s\n", c->error) : g_strdup("");
        if (r.status != c->status || strcmp(r.err, want) != 0) {
            fail_msg("%s: status %d, stderr:\n%s\nwanted %d:\n%s", c->name, r.status, r.err,
                     c->status, want);
        }
        if (strstr(c->actions, "oops")) {
            assert_non_null(strstr(r.out, "  a| oops\n"));
        }
        char *data = manifest_of(out);
        char *status = g_strdup_printf("\"status\" : \"%s\"", c->error ? "failed" : "completed");
        char *cmd = g_strdup_printf("\"command_status\" : %s", c->command_status);
        char *error = c->error ? g_strdup_printf("\"error\" : \"%s\"", c->error)
                               : g_strdup("\"error\" : null");
        if (!strstr(data, status) || !strstr(data, cmd) || !strstr(data, error)) {
            fail_msg("%s: manifest lacks %s, %s or %s:\n%s", c->name, status, cmd, error, data);
        }
        /* The run's error and the guest's are the same line. */
        char *second = strstr(strstr(data, error) + 1, error);
        assert_true(c->error ? second != NULL : 1);
        g_free(error);
        g_free(cmd);
        g_free(status);
        g_free(data);
        result_clear(&r);
        g_free(want);
        g_free(out);
        g_free(ini);
        g_free(name);
    }
    assert_int_equal(ts_child_count(), 0);
    g_free(dir);
}

static void help_lists_every_command(void **state)
{
    (void)state;
    result r = qns("--help", NULL);
    assert_int_equal(r.status, 0);
    const char *cmds[] = {"run FILE", "verify DIR", "pack DIR", "report DIR"};
    for (int i = 0; i < 4; i++) {
        assert_non_null(strstr(r.out, cmds[i]));
    }
    result_clear(&r);
    const char *sub[] = {"run", "verify", "pack", "report"};
    for (int i = 0; i < 4; i++) {
        r = qns(sub[i], "--help", NULL);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "Usage:"));
        result_clear(&r);
    }
    r = qns("frobnicate", NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "qns: unknown command 'frobnicate'; run 'qns --help'\n");
    result_clear(&r);
}

/* What fn(ctx) writes to stderr (rn_error's messages). */
static char *stderr_of(int (*fn)(void *), void *ctx, int *ret)
{
    fflush(stderr);
    char *path = g_build_filename(g_get_tmp_dir(), "qns-test-stderr-XXXXXX", NULL);
    int fd = g_mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0 && dup2(fd, STDERR_FILENO) >= 0);
    *ret = fn(ctx);
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    close(fd);
    gchar *text = NULL;
    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_unlink(path);
    g_free(path);
    return text;
}

typedef struct take_call {
    const rn_scenario *sc;
    rn_run_result *rr;
    const char *dir;
    GBytes *msg;
    rn_rank_figures fig;
} take_call;

static int call_take(void *ctx)
{
    take_call *t = ctx;
    return rn_rank_take(rn_scenario_settings(t->sc), t->rr, t->dir, 1, t->msg, &t->fig);
}

/* Rank 1's message reaches rank 0's results: its guest's stats, its
 * outcome (the worse one wins), its end and files; what is not rank 1's to
 * report is refused and said. */
static void a_ranks_results_merge_and_what_is_not_its_own_is_refused(void **state)
{
    (void)state;
    char *dir = make_dir("rankmsg");
    char *body = g_strdup_printf("[scenario]\nduration = 1s\n[guest a]\nprogram = %s\n"
                                 "[guest b]\nprogram = %s\nrank = 1\n"
                                 "[link wan]\ntype = p2p\ndelay = 5ms\nmembers = a, b\n",
                                 QNS_FAKE_GUEST, QNS_FAKE_GUEST);
    char *path = write_file(dir, "split.ini", body);
    GString *errors = g_string_new(NULL);
    rn_scenario *sc = rn_scenario_load(path, NULL, NULL, errors);
    assert_non_null(sc);
    assert_int_equal(rn_scenario_settings(sc)->rank_count, 2);
    char *staging = g_build_filename(dir, "staging", NULL),
         *run = g_build_filename(dir, "run", NULL);
    assert_int_equal(g_mkdir(staging, 0755), 0);
    assert_int_equal(g_mkdir(run, 0755), 0);
    g_free(write_file(staging, "b.console", "b's console\n"));
    g_free(write_file(staging, "b-nic0.pcap", "not really a pcap"));

    qns_guest_stats mine[2] = {{0}}, theirs[2] = {{0}};
    mine[1] = (qns_guest_stats){
        .rounds = 7, .clock_us = 1234, .nic_started_us = 5, .command_status = -1, .done = 1};
    snprintf(mine[1].console_path, sizeof(mine[1].console_path), "%s/b.console", staging);
    rn_run_result one = {.r = -1,
                         .stopped_by = -1,
                         .end_ns = 5000,
                         .rounds = 9,
                         .late_frames = 2,
                         .guest_count = 2,
                         .guests = mine};
    snprintf(one.error, sizeof(one.error), "guest b: it broke");
    int ok = 1;
    GBytes *msg = rn_rank_pack(rn_scenario_settings(sc), &one, staging, 1, &ok);
    assert_int_equal(ok, 1);

    rn_run_result zero = {
        .r = 0, .stopped_by = -1, .end_ns = 4000, .rounds = 3, .guest_count = 2, .guests = theirs};
    take_call t = {.sc = sc, .rr = &zero, .dir = run, .msg = msg};
    int ret;
    char *said = stderr_of(call_take, &t, &ret);
    assert_int_equal(ret, 0);
    assert_string_equal(said, "");
    g_free(said);
    assert_int_equal(zero.r, -1);
    assert_string_equal(zero.error, "guest b: it broke");
    assert_int_equal(zero.end_ns, 5000);
    assert_int_equal(zero.late_frames, 2);
    assert_int_equal(zero.rounds, 3); /* rank 0's own */
    assert_int_equal(t.fig.rounds, 9);
    assert_int_equal(theirs[1].rounds, 7);
    assert_int_equal(theirs[1].clock_us, 1234);
    assert_int_equal(theirs[1].done, 1);
    char *console = g_build_filename(run, "b.console", NULL);
    assert_string_equal(theirs[1].console_path, console);
    gchar *text = NULL;
    assert_true(g_file_get_contents(console, &text, NULL, NULL));
    assert_string_equal(text, "b's console\n");
    g_free(text);
    assert_int_equal(theirs[0].rounds, 0); /* rank 0's guest is not rank 1's to report */

    /* The same files again: rank 1 would have written what another rank has. */
    said = stderr_of(call_take, &t, &ret);
    assert_int_equal(ret, -1);
    assert_non_null(strstr(said, "qns: rank 1 wrote b-nic0.pcap, which another rank wrote too\n"));
    g_free(said);
    g_bytes_unref(msg);

    /* Rank 1 reporting rank 0's guest a. */
    g_unlink(console);
    mine[0].rounds = 1;
    GBytes *other = rn_rank_pack(rn_scenario_settings(sc), &one, staging, 0, &ok);
    t.msg = other;
    said = stderr_of(call_take, &t, &ret);
    assert_int_equal(ret, -1);
    assert_non_null(strstr(said, "qns: rank 1 sent the figures of a guest it does not run (0)\n"));
    g_free(said);
    g_bytes_unref(other);

    /* A file in a folder of the staging folder is no file of a run folder. */
    char *sub = g_build_filename(staging, "sub", NULL);
    assert_int_equal(g_mkdir(sub, 0755), 0);
    g_free(write_file(sub, "x", "x"));
    GBytes *nested = rn_rank_pack(rn_scenario_settings(sc), &one, staging, 1, &ok);
    t.msg = nested;
    said = stderr_of(call_take, &t, &ret);
    assert_int_equal(ret, -1);
    assert_non_null(strstr(said, "qns: rank 1 wrote sub/x, which is no file of a run folder\n"));
    g_free(said);
    g_bytes_unref(nested);

    /* Bytes that are no message. */
    GBytes *junk = g_bytes_new_static("garbage", 7);
    t.msg = junk;
    said = stderr_of(call_take, &t, &ret);
    assert_int_equal(ret, -1);
    assert_string_equal(said, "qns: rank 1 sent a malformed message of 7 bytes\n");
    g_free(said);
    g_bytes_unref(junk);

    g_free(console);
    g_free(sub);
    g_free(run);
    g_free(staging);
    rn_scenario_free(sc);
    g_string_free(errors, TRUE);
    g_free(path);
    g_free(body);
    g_free(dir);
}

/* ranks = 2 over parts of 2, 1 and 1 guests: the part of two goes to rank
 * 0, the others to rank 1 (fewest guests first); the router stays with its
 * LAN. The scenario as loaded says so, as every rank computes it. */
static void ranks_split_at_point_to_point_links_by_guests(void **state)
{
    (void)state;
    char *dir = make_dir("partition");
    char *body = g_strdup_printf("[scenario]\nduration = 1s\nranks = 2\n"
                                 "[guest a]\nprogram = %s\n[guest b]\nprogram = %s\n"
                                 "[guest c]\nprogram = %s\n[guest d]\nprogram = %s\n[node r]\n"
                                 "[link lan]\nmembers = a, b, r=10.0.0.254/24\n"
                                 "[link wc]\ntype = p2p\ndelay = 1ms\nmembers = r=10.1.0.1/30, c\n"
                                 "[link wd]\ntype = p2p\ndelay = 2ms\nmembers = r=10.2.0.1/30, d\n",
                                 QNS_FAKE_GUEST, QNS_FAKE_GUEST, QNS_FAKE_GUEST, QNS_FAKE_GUEST);
    char *path = write_file(dir, "partition.ini", body);
    GString *errors = g_string_new(NULL);
    rn_scenario *sc = rn_scenario_load(path, NULL, NULL, errors);
    if (sc == NULL) {
        fail_msg("%s", errors->str);
    }
    assert_int_equal(rn_scenario_settings(sc)->rank_count, 2);
    const uint32_t want[] = {0, 0, 1, 1};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(rn_scenario_settings(sc)->guests[i].rank, want[i]);
    }
    rn_scenario_free(sc);
    g_string_free(errors, TRUE);
    g_free(path);
    g_free(body);
    g_free(dir);
}

/* ---- what reaches the terminal ------------------------------------------------------ */

/* A folder or package named to print a fake line over the one before. */
#define HOSTILE "x\rverify: OK: all 6 files match\x1b[K"
#define HOSTILE_SHOWN "x\\x0dverify: OK: all 6 files match\\x1b[K"

/* Text as a terminal gets it from qns: UTF-8 with no control character
 * but the newline (no ESC, CR or C1 character that could move the cursor
 * or start a sequence). */
static void assert_printable(const char *what, const char *text)
{
    if (!g_utf8_validate(text, -1, NULL)) {
        fail_msg("%s is not UTF-8:\n%s", what, text);
    }
    for (const char *p = text; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (c != '\n' && (c < 0x20 || (c >= 0x7f && c <= 0x9f))) {
            fail_msg("%s holds U+%04X at %td:\n%s", what, c, p - text, text);
        }
    }
}

static void assert_said(const result *r, const char *want)
{
    assert_printable("stdout", r->out);
    assert_printable("stderr", r->err);
    if (strstr(r->out, want) == NULL && strstr(r->err, want) == NULL) {
        fail_msg("no '%s' in:\n%s%s", want, r->out, r->err);
    }
}

/* Control characters and bytes that are not UTF-8 as \xNN; the rest of
 * the text, UTF-8 included, as it is. */
static void escaping_shows_every_control_character_as_its_bytes(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"plain words, caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x90\xa7", NULL},
        {"a\x1b[2Jb\rc\td\x7f", "a\\x1b[2Jb\\x0dc\\x09d\\x7f"},
        {"C1 \xc2\x9b"
         "2J \xc2\x85 \xc2\x80 \xc2\x9f, not \xc2\xa0",
         "C1 \\xc2\\x9b"
         "2J \\xc2\\x85 "
         "\\xc2\\x80 \\xc2\\x9f, not \xc2\xa0"},
        {"\x9b"
         "2J alone, \xff and caf\xc3\xa9",
         "\\x9b"
         "2J alone, \\xff and caf\xc3\xa9"},
        {"cut \xe2\x86", "cut \\xe2\\x86"},
        {"overlong \xc0\xaf, surrogate \xed\xa0\x80", "overlong \\xc0\\xaf, surrogate "
                                                      "\\xed\\xa0\\x80"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *got = rn_escape(cases[i][0]);
        const char *want = cases[i][1] ? cases[i][1] : cases[i][0];
        if (strcmp(got, want) != 0) {
            fail_msg("case %zu: '%s', not '%s'", i, got, want);
        }
        g_free(got);
    }
    /* rn_quote counts an escaped character as one. */
    char *y70 = g_strnfill(70, 'y'), *y62 = g_strnfill(62, 'y');
    char *text = g_strdup_printf("\xc2\x9b\x1b%s", y70), *got = rn_quote(text);
    char *want = g_strdup_printf("\\xc2\\x9b\\x1b%s...", y62);
    assert_string_equal(got, want);
    g_free(want);
    g_free(got);
    g_free(text);
    g_free(y62);
    g_free(y70);
}

/* A run into a folder with that name, its verify and its pack: every line
 * that names the folder shows it escaped. */
static void a_run_folder_named_to_fake_a_line_is_printed_escaped(void **state)
{
    (void)state;
    char *dir = make_dir("hostile-run");
    char *ini = fake_lan(dir, "2ms", "every:100000:100000:0:98:5");
    char *out = g_build_filename(dir, HOSTILE, NULL);
    char *shown = g_build_filename(dir, HOSTILE_SHOWN, NULL);
    result r = qns("run", "-q", ini, "-o", out, NULL);
    assert_int_equal(r.status, 0);
    char *want = g_strdup_printf("seed 7) into %s/\n", shown);
    assert_said(&r, want);
    g_free(want);
    want = g_strdup_printf("qns: outputs and manifest in %s/\n", shown);
    assert_said(&r, want);
    g_free(want);
    result_clear(&r);

    r = qns("verify", "--trust-package", out, NULL);
    assert_int_equal(r.status, 0);
    want = g_strdup_printf("verify: OK: all 6 files match (re-run in %s/verify-", shown);
    assert_said(&r, want);
    g_free(want);
    result_clear(&r);

    r = qns("pack", out, NULL);
    assert_int_equal(r.status, 0);
    want = g_strdup_printf(" files of %s into %s.tar.zst (", shown, shown);
    assert_said(&r, want);
    g_free(want);
    assert_said(&r, "qns: to check it elsewhere: qns verify " HOSTILE_SHOWN ".tar.zst\n");
    result_clear(&r);

    /* Its one folder has that name: the package is refused, saying so escaped. */
    char *package = g_strdup_printf("%s.tar.zst", out);
    r = qns("verify", "--trust-package", package, NULL);
    assert_int_equal(r.status, 2);
    assert_said(&r, "member '" HOSTILE_SHOWN "/' has control bytes in its name");
    result_clear(&r);
    g_free(package);
    g_free(shown);
    g_free(out);
    g_free(ini);
    g_free(dir);
}

/* A package file with that name, of a run folder named plainly: unpacking
 * and verifying it name it escaped. */
static void a_package_named_to_fake_a_line_is_printed_escaped(void **state)
{
    (void)state;
    char *dir = make_dir("hostile-package");
    char *out = run_fake_lan(dir);
    result r = qns("pack", out, NULL);
    assert_int_equal(r.status, 0);
    result_clear(&r);
    char *from = g_strdup_printf("%s.tar.zst", out);
    char *elsewhere = g_build_filename(dir, "elsewhere", NULL);
    char *package = g_build_filename(elsewhere, HOSTILE ".tar.zst", NULL);
    assert_int_equal(g_mkdir(elsewhere, 0755), 0);
    assert_int_equal(rename(from, package), 0);
    for (int again = 0; again < 2; again++) {
        r = qns("verify", "--trust-package", package, NULL);
        assert_int_equal(r.status, 0);
        char *want =
            again ? g_strdup_printf("verify: %s/run/ holds this package already", elsewhere)
                  : g_strdup_printf("verify: unpacked %s/" HOSTILE_SHOWN ".tar.zst into %s/run/\n",
                                    elsewhere, elsewhere);
        assert_said(&r, want);
        g_free(want);
        assert_said(&r, "verify: OK: all 6 files match (re-run in ");
        result_clear(&r);
    }
    g_free(package);
    g_free(elsewhere);
    g_free(from);
    g_free(out);
    g_free(dir);
}

/* A guest is code from anyone: its console lines that qns prints show
 * escape sequences, CR and C1 characters escaped. */
static void a_guests_console_lines_are_printed_escaped(void **state)
{
    (void)state;
    char *dir = make_dir("hostile-console");
    char *ini = one_guest_ini(dir, "console.ini", "duration = 1ms\n", "ends_run = true\n",
                              "print:1000:QNS-CMD-BEGIN "
                              "\"print:1100:\x1b[2Jwiped\rverify: OK \xc2\x9b"
                              "1;1H\" "
                              "\"print:1200:QNS-CMD-END status=0 uptime=0.00\" stop:2000:0");
    char *out = g_build_filename(dir, "run", NULL);
    result r = qns("run", "-q", ini, "-o", out, NULL);
    assert_int_equal(r.status, 0);
    assert_said(&r, "\n  a| \\x1b[2Jwiped\\x0dverify: OK \\xc2\\x9b"
                    "1;1H\n");
    result_clear(&r);
    g_free(out);
    g_free(ini);
    g_free(dir);
}

/* ---- packages are data ------------------------------------------------------------ */

/* A member of a package the test writes: type 0 is a hard link to link. */
typedef struct member {
    const char *name;
    unsigned type, perm;
    const char *text; /* a regular file's bytes, or */
    size_t zeros;     /* this many zero bytes */
    const char *link; /* a symbolic or hard link's target */
} member;

#define DIR_MEMBER(n) ((member){n, AE_IFDIR, 0755, NULL, 0, NULL})
#define FILE_MEMBER(n, t) ((member){n, AE_IFREG, 0644, t, 0, NULL})
#define MANIFEST_MEMBER FILE_MEMBER("run/manifest.json", "{\"outputs\" : {}}\n")

/* A tar archive of members, compressed with zstd, as any tool could write
 * it: whatever the members say, owner 1234. */
static void write_package(const char *path, const member *m, size_t n)
{
    struct archive *a = archive_write_new();
    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    static const char zeros[65536];
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        size_t size = m[i].text ? strlen(m[i].text) : m[i].zeros;
        archive_entry_set_pathname(e, m[i].name);
        archive_entry_set_filetype(e, m[i].type ? m[i].type : AE_IFREG);
        archive_entry_set_perm(e, m[i].perm);
        archive_entry_set_uid(e, 1234);
        archive_entry_set_gid(e, 1234);
        if (m[i].type == 0) {
            archive_entry_set_hardlink(e, m[i].link);
        } else if (m[i].type == AE_IFLNK) {
            archive_entry_set_symlink(e, m[i].link);
        } else if (m[i].type == AE_IFCHR || m[i].type == AE_IFBLK) {
            archive_entry_set_rdevmajor(e, 1);
            archive_entry_set_rdevminor(e, 3);
        } else if (m[i].type == AE_IFREG) {
            archive_entry_set_size(e, (la_int64_t)size);
        }
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (m[i].text) {
            assert_int_equal(archive_write_data(a, m[i].text, size), (la_ssize_t)size);
        }
        for (size_t done = 0; m[i].type == AE_IFREG && done < m[i].zeros;) {
            size_t k = MIN(sizeof(zeros), m[i].zeros - done);
            assert_int_equal(archive_write_data(a, zeros, k), (la_ssize_t)k);
            done += k;
        }
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

typedef struct unpack_call {
    const char *package;
    rn_unpack_limits limits;
    char *folder;
} unpack_call;

static int call_unpack(void *ctx)
{
    unpack_call *u = ctx;
    u->folder = rn_package_unpack_limited(u->package, &u->limits);
    return u->folder != NULL;
}

/* What rn_package_unpack_limited says on stderr; u->folder its result. */
static char *unpack_said(unpack_call *u)
{
    int ret = 0;
    return stderr_of(call_unpack, u, &ret);
}

static gint by_name(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names in dir, sorted, joined by ','. */
static char *names_in(const char *dir)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    GDir *d = g_dir_open(dir, 0, NULL);
    assert_non_null(d);
    for (const char *n; (n = g_dir_read_name(d)) != NULL;) {
        g_ptr_array_add(names, g_strdup(n));
    }
    g_dir_close(d);
    g_ptr_array_sort(names, by_name);
    g_ptr_array_add(names, NULL);
    char *joined = g_strjoinv(",", (gchar **)names->pdata);
    g_ptr_array_free(names, TRUE);
    return joined;
}

static void assert_names(const char *dir, const char *want)
{
    char *got = names_in(dir);
    if (strcmp(got, want) != 0) {
        fail_msg("%s holds %s, not %s", dir, got, want);
    }
    g_free(got);
}

static int strange;

/* Counts what is neither a folder nor a regular file, and set-id bits. */
static int note_strange(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)path;
    (void)type;
    (void)f;
    strange += (!S_ISDIR(st->st_mode) && !S_ISREG(st->st_mode)) || (st->st_mode & 07000);
    return 0;
}

static int strange_below(const char *dir)
{
    strange = 0;
    assert_int_equal(nftw(dir, note_strange, 16, FTW_PHYS), 0);
    return strange;
}

/* Files and folders as the archive gives them, whatever modes and owners
 * it says: folders 0755, files 0644, or 0755 when executable (no set-uid
 * bit), all this user's; a second unpack finds the folder holding them. */
static void a_package_unpacks_to_plain_files_and_folders_of_our_own(void **state)
{
    (void)state;
    char *dir = make_dir("unpack-ok");
    char *package = g_build_filename(dir, "run.tar.zst", NULL);
    const member m[] = {{"run", AE_IFDIR, 0700, NULL, 0, NULL},
                        MANIFEST_MEMBER,
                        {"run/qemu/run-qemu", AE_IFREG, 04755, "#!/bin/sh\n", 0, NULL},
                        {"run/secret", AE_IFREG, 0600, "x", 0, NULL},
                        {"run/./guest//GUEST-INFO", AE_IFREG, 0444, "[guest]\n", 0, NULL}};
    write_package(package, m, G_N_ELEMENTS(m));
    unpack_call u = {.package = package, .limits = RN_UNPACK_LIMITS};
    char *said = unpack_said(&u);
    assert_string_equal(said, "");
    char *want = g_build_filename(dir, "run", NULL);
    assert_string_equal(u.folder, want);
    const struct {
        const char *rel;
        unsigned mode;
    } modes[] = {{"", S_IFDIR | 0755},       {"manifest.json", S_IFREG | 0644},
                 {"qemu", S_IFDIR | 0755},   {"qemu/run-qemu", S_IFREG | 0755},
                 {"secret", S_IFREG | 0644}, {"guest/GUEST-INFO", S_IFREG | 0644}};
    for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
        char *p = g_build_filename(want, modes[i].rel, NULL);
        struct stat st;
        assert_int_equal(lstat(p, &st), 0);
        if (st.st_mode != modes[i].mode || st.st_uid != getuid()) {
            fail_msg("%s: mode %o owner %u", p, st.st_mode, (unsigned)st.st_uid);
        }
        g_free(p);
    }
    assert_names(dir, "run,run.tar.zst");
    g_free(u.folder);
    g_free(said);
    said = unpack_said(&u);
    assert_string_equal(said, "");
    assert_string_equal(u.folder, want);
    g_free(u.folder);
    g_free(said);
    g_free(want);
    g_free(package);
    g_free(dir);
}

/* Each member that is no regular file or folder, or whose name leads
 * elsewhere or is given twice, refuses the whole package with one line
 * naming it (control bytes escaped), after a file of it was unpacked
 * already: nothing stays, beside the package or outside its folder. */
static void each_member_that_is_no_plain_file_refuses_the_package(void **state)
{
    (void)state;
    char *absolute = g_strdup_printf("/tmp/qns-unpack-absolute-%d", (int)getpid());
    const struct {
        member m;
        const char *said;
    } cases[] = {
        {{"run/passwd", AE_IFLNK, 0777, NULL, 0, "/etc/passwd"},
         "member 'run/passwd' is a symbolic link to '/etc/passwd'"},
        {{"run/hard", 0, 0644, NULL, 0, "run/manifest.json"},
         "member 'run/hard' is a hard link to 'run/manifest.json'"},
        {{"run/null", AE_IFCHR, 0666, NULL, 0, NULL}, "member 'run/null' is a character device"},
        {{"run/disk", AE_IFBLK, 0660, NULL, 0, NULL}, "member 'run/disk' is a block device"},
        {{"run/fifo", AE_IFIFO, 0644, NULL, 0, NULL}, "member 'run/fifo' is a FIFO"},
        {FILE_MEMBER("../x", "x"), "member '../x' has a '..' component"},
        {FILE_MEMBER("run/../../x", "x"), "member 'run/../../x' has a '..' component"},
        {FILE_MEMBER(absolute, "x"), NULL},
        {FILE_MEMBER("run/a\r\x1b[2Jb", "x"),
         "member 'run/a\\x0d\\x1b[2Jb' has control bytes in its name"},
        {FILE_MEMBER("run/manifest.json", "{}"),
         "member 'run/manifest.json' is in the archive twice"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *tag = g_strdup_printf("unpack-bad-%zu", i);
        char *top = make_dir(tag), *dir = g_build_filename(top, "pkg", NULL);
        assert_int_equal(g_mkdir(dir, 0755), 0);
        char *package = g_build_filename(dir, "run.tar.zst", NULL);
        const member m[] = {DIR_MEMBER("run"), MANIFEST_MEMBER, cases[i].m};
        write_package(package, m, G_N_ELEMENTS(m));
        unpack_call u = {.package = package, .limits = RN_UNPACK_LIMITS};
        char *said = unpack_said(&u);
        char *what = cases[i].said ? g_strdup(cases[i].said)
                                   : g_strdup_printf("member '%s' has an absolute name", absolute);
        const char *because = i < 5 ? "; a package holds only regular files and folders" : "";
        char *want = g_strdup_printf("qns: cannot unpack %s: %s%s\n", package, what, because);
        assert_null(u.folder);
        assert_string_equal(said, want);
        assert_names(dir, "run.tar.zst");
        assert_names(top, "pkg");
        assert_int_equal(strange_below(top), 0);
        assert_false(g_file_test(absolute, G_FILE_TEST_EXISTS));
        g_free(want);
        g_free(what);
        g_free(said);
        g_free(package);
        g_free(dir);
        g_free(top);
        g_free(tag);
    }
    g_free(absolute);
}

/* qns verify and qns guest import refuse such a package the same way. */
static void verify_and_guest_import_refuse_a_package_with_a_device(void **state)
{
    (void)state;
    char *dir = make_dir("unpack-device");
    char *cache = g_build_filename(dir, "cache", NULL);
    char *package = g_build_filename(dir, "run.tar.zst", NULL);
    const member m[] = {DIR_MEMBER("run"),
                        MANIFEST_MEMBER,
                        DIR_MEMBER("run/guest"),
                        {"run/guest/null", AE_IFCHR, 0666, NULL, 0, NULL}};
    write_package(package, m, G_N_ELEMENTS(m));
    char *want = g_strdup_printf("qns: cannot unpack %s: member 'run/guest/null' is a character "
                                 "device; a package holds only regular files and folders\n",
                                 package);
    result r = qns("verify", package, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    result_clear(&r);
    char *old_cache = g_strdup(g_getenv("QNS_CACHE_DIR"));
    g_setenv("QNS_CACHE_DIR", cache, TRUE);
    r = qns("guest", "import", package, NULL);
    if (old_cache) {
        g_setenv("QNS_CACHE_DIR", old_cache, TRUE);
    } else {
        g_unsetenv("QNS_CACHE_DIR");
    }
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, want);
    result_clear(&r);
    char *guests = g_build_filename(cache, QNS_IMPORTED_GUESTS, NULL);
    assert_names(guests, "");
    assert_names(dir, "cache,run.tar.zst");
    assert_int_equal(strange_below(dir), 0);
    g_free(guests);
    g_free(old_cache);
    g_free(want);
    g_free(package);
    g_free(cache);
    g_free(dir);
}

/* A zstd bomb (8 MiB of zeros, a few hundred bytes packed) is stopped by
 * its declared size before a byte of it is written, and so is a package
 * of more members than the limit; the same package unpacks within the
 * limits qns uses. */
static void a_package_past_the_limits_is_stopped_before_it_fills_the_disk(void **state)
{
    (void)state;
    char *dir = make_dir("unpack-bomb");
    char *package = g_build_filename(dir, "run.tar.zst", NULL);
    member m[40] = {
        DIR_MEMBER("run"), MANIFEST_MEMBER, {"run/zeros", AE_IFREG, 0644, NULL, 8 << 20, NULL}};
    write_package(package, m, 3);
    struct stat st;
    assert_int_equal(stat(package, &st), 0);
    unpack_call u = {.package = package, .limits = {1 << 20, 100}};
    char *said = unpack_said(&u);
    char *want = g_strdup_printf("qns: cannot unpack %s: member 'run/zeros' would take the "
                                 "unpacked files past 1048576 bytes (it says it is 8388608 "
                                 "bytes, after 17); a qns package is smaller\n",
                                 package);
    assert_null(u.folder);
    assert_string_equal(said, want);
    assert_names(dir, "run.tar.zst");
    print_message("bomb: %lld bytes packed, 8388608 unpacked; stopped with 17 bytes written\n",
                  (long long)st.st_size);
    g_free(want);
    g_free(said);

    u.limits = (rn_unpack_limits)RN_UNPACK_LIMITS;
    said = unpack_said(&u);
    assert_string_equal(said, "");
    assert_non_null(u.folder);
    rn_remove_tree(u.folder);
    g_free(u.folder);
    g_free(said);

    char *names[G_N_ELEMENTS(m)];
    for (size_t i = 2; i < G_N_ELEMENTS(m); i++) {
        names[i] = g_strdup_printf("run/f%zu", i);
        m[i] = FILE_MEMBER(names[i], "x");
    }
    write_package(package, m, G_N_ELEMENTS(m));
    u.limits = (rn_unpack_limits){1 << 20, 20};
    said = unpack_said(&u);
    want = g_strdup_printf("qns: cannot unpack %s: it holds more than 20 members; a qns package "
                           "holds fewer\n",
                           package);
    assert_null(u.folder);
    assert_string_equal(said, want);
    assert_names(dir, "run.tar.zst");
    for (size_t i = 2; i < G_N_ELEMENTS(m); i++) {
        g_free(names[i]);
    }
    g_free(want);
    g_free(said);
    g_free(package);
    g_free(dir);
}

/* A package that is a symbolic link (it would unpack and run beside
 * whatever it leads to), and one whose folder beside it is a link, are
 * refused: nothing is written there or where the links lead. */
static void a_package_or_its_folder_that_is_a_link_is_refused(void **state)
{
    (void)state;
    char *dir = make_dir("unpack-links");
    char *elsewhere = g_build_filename(dir, "elsewhere", NULL);
    char *pkgdir = g_build_filename(dir, "pkg", NULL);
    char *real = g_build_filename(elsewhere, "run.tar.zst", NULL);
    char *evil = g_build_filename(pkgdir, "evil.tar.zst", NULL);
    assert_int_equal(g_mkdir(elsewhere, 0755), 0);
    assert_int_equal(g_mkdir(pkgdir, 0755), 0);
    const member m[] = {DIR_MEMBER("run"), MANIFEST_MEMBER};
    write_package(real, m, G_N_ELEMENTS(m));
    assert_int_equal(symlink("../elsewhere/run.tar.zst", evil), 0);
    result r = qns("verify", evil, NULL);
    char *want = g_strdup_printf("qns: %s is a symbolic link; give the run folder or package "
                                 "itself\n",
                                 evil);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    result_clear(&r);
    g_free(want);
    unpack_call u = {.package = evil, .limits = RN_UNPACK_LIMITS};
    char *said = unpack_said(&u);
    want = g_strdup_printf("qns: %s is a symbolic link; qns unpacks a package only by its own "
                           "name, so that it unpacks beside it\n",
                           evil);
    assert_null(u.folder);
    assert_string_equal(said, want);
    assert_names(pkgdir, "evil.tar.zst");
    assert_names(elsewhere, "run.tar.zst");
    g_free(said);
    g_free(want);

    /* The package itself, with its folder a link to another. */
    char *run = g_build_filename(elsewhere, "run", NULL);
    char *other = g_build_filename(dir, "other", NULL);
    assert_int_equal(g_mkdir(other, 0755), 0);
    assert_int_equal(symlink("../other", run), 0);
    want = g_strdup_printf("qns: %s unpacks into %s/, which is a symbolic link; qns writes only "
                           "into a folder of its own there: remove the link\n",
                           real, run);
    u.package = real;
    said = unpack_said(&u);
    assert_null(u.folder);
    assert_string_equal(said, want);
    r = qns("verify", real, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    result_clear(&r);
    assert_names(elsewhere, "run,run.tar.zst");
    assert_names(other, "");
    g_free(said);
    g_free(want);
    g_free(other);
    g_free(run);
    g_free(evil);
    g_free(real);
    g_free(pkgdir);
    g_free(elsewhere);
    g_free(dir);
}

/* ---- run folders from elsewhere ------------------------------------------------------ */

/* A run goes into a new or empty folder only: a folder holding anything
 * (notes.txt) is refused and left as it was, for run and for verify's
 * re-run; so are -o / and a folder that is a symbolic link. The outputs
 * of a run into an empty folder are the files it wrote. */
static void a_run_goes_only_into_a_new_or_empty_folder(void **state)
{
    (void)state;
    char *dir = make_dir("out-dir");
    char *ini = fake_lan(dir, "2ms", "every:100000:100000:0:98:5");
    char *full = g_build_filename(dir, "full", NULL);
    char *notes = g_build_filename(full, "notes.txt", NULL);
    g_mkdir(full, 0755);
    assert_true(g_file_set_contents(notes, "mine\n", -1, NULL));
    char *want = g_strdup_printf("qns: %s is not empty (it holds 'notes.txt'); a run goes into a "
                                 "new or empty folder: choose another -o\n",
                                 full);
    result r = qns("run", ini, "-o", full, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    result_clear(&r);
    assert_names(full, "notes.txt");

    r = qns("run", ini, "-o", "/", NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "qns: -o / is the root folder; a run goes into a new or empty "
                               "folder of its own\n");
    assert_string_equal(r.out, "");
    result_clear(&r);

    char *empty = g_build_filename(dir, "empty", NULL), *link = g_build_filename(dir, "link", NULL);
    g_mkdir(empty, 0755);
    assert_int_equal(symlink("empty", link), 0);
    char *link_said = g_strdup_printf("qns: %s is a symbolic link; a run goes into a folder named "
                                      "as itself\n",
                                      link);
    r = qns("run", ini, "-o", link, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, link_said);
    result_clear(&r);
    assert_names(empty, "");

    r = qns("run", ini, "-o", empty, NULL);
    assert_int_equal(r.status, 0);
    result_clear(&r);
    rn_manifest m;
    assert_int_equal(rn_manifest_load(empty, &m), 0);
    GList *outputs = g_list_sort(json_object_get_members(m.outputs), (GCompareFunc)strcmp);
    GString *names = g_string_new(NULL);
    for (GList *l = outputs; l; l = l->next) {
        g_string_append_printf(names, "%s%s", names->len ? "," : "", (const char *)l->data);
    }
    assert_string_equal(names->str, "a-nic0.pcap,a.console,b-nic0.pcap,b.console,lan-0-0.pcap,"
                                    "lan-1-0.pcap");
    g_string_free(names, TRUE);
    g_list_free(outputs);
    g_object_unref(m.parser);

    r = qns("verify", "--trust-package", empty, "-o", full, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    result_clear(&r);
    assert_names(full, "notes.txt");
    g_free(link_said);
    g_free(link);
    g_free(empty);
    g_free(want);
    g_free(notes);
    g_free(full);
    g_free(ini);
    g_free(dir);
}

/* `timeout 20 qns ARGS...`: a qns that waits on a FIFO fails the test
 * (exit 124) instead of hanging it. */
static result qns_in_time(const char *a1, const char *a2, const char *a3)
{
    const char *argv[] = {"/usr/bin/timeout", "20", QNS_BIN, a1, a2, a3, NULL};
    return run_argv(argv, NULL);
}

/* A run folder that is a symbolic link, and an output of the manifest
 * that is a FIFO or a symbolic link (to a file outside) or named out of
 * the folder, are refused by verify, pack and report with one line, at
 * once: nothing is read through them or waited on. */
static void a_linked_run_folder_or_an_output_that_is_no_file_is_refused(void **state)
{
    (void)state;
    char *dir = make_dir("strange-outputs");
    char *out = run_fake_lan(dir);
    char *link = g_build_filename(dir, "link", NULL);
    assert_int_equal(symlink("run", link), 0);
    const char *cmds[][2] = {{"verify", "give the run folder or package itself"},
                             {"pack", "give the run folder itself"},
                             {"report", "give the run folder itself"}};
    for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) {
        char *slash = g_strdup_printf("%s/", link);
        result r = qns_in_time(cmds[i][0], slash, NULL);
        char *want = g_strdup_printf("qns: %s is a symbolic link; %s\n", slash, cmds[i][1]);
        assert_int_equal(r.status, 2);
        assert_string_equal(r.err, want);
        result_clear(&r);
        g_free(want);
        g_free(slash);
    }
    char *pcap = g_build_filename(out, "lan-1-0.pcap", NULL);
    assert_int_equal(g_unlink(pcap), 0);
    assert_int_equal(mkfifo(pcap, 0644), 0);
    char *want = g_strdup_printf("qns: %s/manifest.json names the output 'lan-1-0.pcap', which is "
                                 "a FIFO, not a regular file\n",
                                 out);
    result r = qns_in_time("verify", "--trust-package", out);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    result_clear(&r);
    r = qns_in_time("pack", out, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    result_clear(&r);
    r = qns_in_time("report", "--no-plots", out);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, "qns: lan-1-0.pcap: it is a FIFO, not a regular file (not read)\n");
    result_clear(&r);
    g_free(want);

    char *outside = write_file(dir, "outside.pcap", "not a capture");
    assert_int_equal(g_unlink(pcap), 0);
    assert_int_equal(symlink("../outside.pcap", pcap), 0);
    want = g_strdup_printf("qns: %s/manifest.json names the output 'lan-1-0.pcap', which is a "
                           "symbolic link, not a regular file\n",
                           out);
    r = qns_in_time("verify", "--trust-package", out);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    result_clear(&r);
    r = qns_in_time("report", "--no-plots", out);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, "qns: lan-1-0.pcap: it is a symbolic link (not read)\n");
    result_clear(&r);
    g_free(want);

    char *man = g_build_filename(out, "manifest.json", NULL), *text = NULL;
    assert_true(g_file_get_contents(man, &text, NULL, NULL));
    char *at = strstr(text, "\"lan-1-0.pcap\" :");
    assert_non_null(at);
    memcpy(at, "\"../../x/../y\"", 14);
    assert_true(g_file_set_contents(man, text, -1, NULL));
    want = g_strdup_printf("qns: %s/manifest.json names the output '../../x/../y', which is not a "
                           "file name inside the run folder\n",
                           out);
    r = qns_in_time("pack", out, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    result_clear(&r);
    assert_names(dir, "fakelan.ini,link,outside.pcap,run");
    g_free(want);
    g_free(text);
    g_free(man);
    g_free(outside);
    g_free(pcap);
    g_free(link);
    g_free(out);
    g_free(dir);
}

/* A manifest nested 100 000 levels deep (json-glib's recursion took its
 * stack), one larger than 16 MiB and one that is a FIFO are refused with
 * one line before they are parsed, at once. */
static void a_manifest_too_deep_too_large_or_no_file_is_refused(void **state)
{
    (void)state;
    char *dir = make_dir("bad-manifest");
    char *man = g_build_filename(dir, "manifest.json", NULL);
    char *deep = g_malloc(100000);
    memset(deep, '[', 100000);
    assert_true(g_file_set_contents(man, deep, 100000, NULL));
    g_free(deep);
    char *want = g_strdup_printf("qns: %s nests arrays and objects deeper than 64 levels; it is "
                                 "not a qns manifest\n",
                                 man);
    result r = qns_in_time("verify", dir, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    result_clear(&r);
    g_free(want);

    /* 64 levels are a manifest's business, 65 are not. */
    GString *nested = g_string_new("{\"outputs\" : {}, \"x\" : ");
    for (int i = 0; i < 63; i++) {
        g_string_append(nested, i < 62 ? "[\"[{\\\"\"," : "[\"[{\\\"\"");
    }
    for (int i = 0; i < 63; i++) {
        g_string_append(nested, "]");
    }
    g_string_append(nested, "}");
    assert_true(g_file_set_contents(man, nested->str, -1, NULL));
    rn_manifest m;
    assert_int_equal(rn_manifest_load(dir, &m), 0);
    g_object_unref(m.parser);
    g_string_free(nested, TRUE);

    gsize big = ((gsize)16 << 20) + 1;
    char *space = g_malloc(big);
    memset(space, ' ', big);
    assert_true(g_file_set_contents(man, space, (gssize)big, NULL));
    g_free(space);
    want = g_strdup_printf("qns: cannot read %s: it is larger than 16777216 bytes\n", man);
    r = qns_in_time("pack", dir, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    result_clear(&r);
    g_free(want);

    assert_int_equal(g_unlink(man), 0);
    assert_int_equal(mkfifo(man, 0644), 0);
    want = g_strdup_printf("qns: cannot read %s: it is a FIFO, not a regular file\n", man);
    r = qns_in_time("verify", dir, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    result_clear(&r);
    g_free(want);
    g_free(man);
    g_free(dir);
}

#ifndef QNS_NS3_MPI
/* mpirun starting a qns built without MPI: said, not N separate runs. */
static void a_qns_without_mpi_refuses_to_run_under_mpirun(void **state)
{
    (void)state;
    g_setenv("OMPI_COMM_WORLD_SIZE", "2", TRUE);
    result r = qns("run", "no-such-file.ini", NULL);
    g_unsetenv("OMPI_COMM_WORLD_SIZE");
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "qns: mpirun started 2 processes, but this qns was built without "
                               "MPI (configure it with -DQNS_WITH_MPI=ON to run across ranks)\n");
    result_clear(&r);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
#ifndef QNS_NS3_MPI
        cmocka_unit_test(a_qns_without_mpi_refuses_to_run_under_mpirun),
#endif
        cmocka_unit_test(a_ranks_results_merge_and_what_is_not_its_own_is_refused),
        cmocka_unit_test(ranks_split_at_point_to_point_links_by_guests),
        cmocka_unit_test(units_are_read_as_people_write_them),
        cmocka_unit_test(guest_kernel_args_and_pin_reach_the_simulation),
        cmocka_unit_test(command_too_long_for_the_kernel_is_refused_at_its_guest),
        cmocka_unit_test(pinned_run_puts_the_guest_on_one_cpu),
        cmocka_unit_test(each_scenario_mistake_names_file_and_line_and_exits_2),
        cmocka_unit_test(every_mistake_of_a_file_is_reported_not_only_the_first),
        cmocka_unit_test(every_refusal_of_the_api_is_reported_not_only_the_first),
        cmocka_unit_test(help_lists_every_command),
        cmocka_unit_test(node_routes_repeat_and_carry_traffic_across_a_router),
        cmocka_unit_test(bulk_send_delivers_max_bytes_to_a_packet_sink),
        cmocka_unit_test(on_off_sends_only_while_on),
        cmocka_unit_test(flow_monitor_writes_the_same_flow_statistics_every_run),
        cmocka_unit_test(flow_statistics_that_cannot_be_written_fail_the_run),
        cmocka_unit_test(run_then_verify_matches_every_output),
        cmocka_unit_test(frames_longer_than_the_mtu_are_dropped_and_reported),
        cmocka_unit_test(a_record_cut_short_at_the_end_fails_the_run),
        cmocka_unit_test(a_failed_re_run_fails_verify_though_the_files_match),
        cmocka_unit_test(a_reply_past_the_end_of_the_run_fails_it),
        cmocka_unit_test(adaptive_rounds_write_what_fixed_rounds_write),
        cmocka_unit_test(booting_guests_run_alone_and_write_what_fixed_rounds_write),
        cmocka_unit_test(a_guest_that_powers_off_while_booting_ends_the_run_where_fixed_rounds_do),
        cmocka_unit_test(a_split_scenario_in_one_process_ends_where_its_ranks_would),
        cmocka_unit_test(changed_output_fails_verify_and_is_named),
        cmocka_unit_test(verify_refuses_a_manifest_without_a_scenario_object),
        cmocka_unit_test(verify_escapes_the_names_and_hashes_a_manifest_gives),
        cmocka_unit_test(escaping_shows_every_control_character_as_its_bytes),
        cmocka_unit_test(a_run_folder_named_to_fake_a_line_is_printed_escaped),
        cmocka_unit_test(a_package_named_to_fake_a_line_is_printed_escaped),
        cmocka_unit_test(a_guests_console_lines_are_printed_escaped),
        cmocka_unit_test(pack_unpack_elsewhere_then_verify_passes),
        cmocka_unit_test(verify_names_what_differs_in_the_environment),
        cmocka_unit_test(packed_guest_image_is_used_imported_and_a_tampered_kernel_refused),
        cmocka_unit_test(scenario_names_its_guest_image_by_key),
        cmocka_unit_test(own_inputs_are_packed_and_verified_from_the_package),
        cmocka_unit_test(a_qcow2_chain_is_hashed_packed_and_verified_from_the_package),
        cmocka_unit_test(a_disk_chain_qemu_would_not_open_from_its_files_is_refused_at_its_line),
        cmocka_unit_test(pack_refuses_a_backing_name_that_would_not_lead_to_the_packed_copy),
        cmocka_unit_test(disk_chain_reads_qcow2_headers_and_refuses_what_it_does_not_know),
        cmocka_unit_test(pack_refuses_to_replace_a_package_unless_forced),
        cmocka_unit_test(each_refusal_of_files_is_named_at_its_line),
        cmocka_unit_test(files_are_inputs_of_the_manifest_and_verify_from_the_package),
        cmocka_unit_test(report_prints_flows_and_rtts_of_a_known_capture),
        cmocka_unit_test(report_runs_nothing_a_capture_name_says),
        cmocka_unit_test(report_fails_on_a_truncated_capture),
        cmocka_unit_test(a_program_path_is_relative_to_the_scenario),
        cmocka_unit_test(verify_runs_no_program_of_a_run_folder_unless_trusted),
        cmocka_unit_test(verify_passes_no_unknown_qemu_option_unless_trusted),
        cmocka_unit_test(verify_reads_no_file_the_manifest_does_not_name),
        cmocka_unit_test(sigint_stops_the_run_with_valid_captures_and_no_process),
        cmocka_unit_test(long_keys_and_values_are_shortened_in_messages),
        cmocka_unit_test(a_scenario_that_is_no_text_file_is_refused),
        cmocka_unit_test(command_line_words_are_quoted_in_messages),
        cmocka_unit_test(a_folder_in_use_is_refused_to_a_second_run_and_to_verify),
        cmocka_unit_test(a_capture_that_cannot_be_written_fails_the_run_and_says_which),
        cmocka_unit_test(an_ns3_capture_that_lost_writes_fails_the_run),
        cmocka_unit_test(a_manifest_that_cannot_be_written_fails_the_run),
        cmocka_unit_test(an_unreadable_qemu_or_guest_image_is_named_as_such),
        cmocka_unit_test(a_guest_leaves_no_process_of_its_group_behind),
        cmocka_unit_test(sigint_ends_a_hung_run_at_once_with_130),
        cmocka_unit_test(sighup_ends_a_hung_run_at_once_with_129),
        cmocka_unit_test(a_stop_signal_at_any_instant_of_the_start_leaves_no_half_made_folder),
        cmocka_unit_test(sigterm_ends_a_hung_run_at_once_with_143),
        cmocka_unit_test(scenario_watchdog_fails_a_hang_after_its_time),
        cmocka_unit_test(request_stop_from_a_signal_handler_ends_a_hung_run),
        cmocka_unit_test(guest_outcome_decides_exit_status_message_and_manifest),
        cmocka_unit_test(a_package_unpacks_to_plain_files_and_folders_of_our_own),
        cmocka_unit_test(each_member_that_is_no_plain_file_refuses_the_package),
        cmocka_unit_test(verify_and_guest_import_refuse_a_package_with_a_device),
        cmocka_unit_test(a_package_past_the_limits_is_stopped_before_it_fills_the_disk),
        cmocka_unit_test(a_package_or_its_folder_that_is_a_link_is_refused),
        cmocka_unit_test(a_run_goes_only_into_a_new_or_empty_folder),
        cmocka_unit_test(a_linked_run_folder_or_an_output_that_is_no_file_is_refused),
        cmocka_unit_test(a_manifest_too_deep_too_large_or_no_file_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
