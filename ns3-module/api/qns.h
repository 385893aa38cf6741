/*
 * qns.h - the public C API of qns: describe a network of QEMU guests and
 * ns-3 nodes, run it on one virtual clock, read what happened.
 *
 * One simulation per process (ns-3's simulator is process-wide). Every call
 * that can fail returns a negative value (or NULL) and writes a one-line
 * reason to errbuf (QNS_ERRBUF_SIZE bytes). Times are integer nanoseconds
 * unless the name says otherwise.
 */
#ifndef QNS_H
#define QNS_H

#include "qns_errbuf.h"
#include "qns_limits.h"
#include "qns_qemu_args.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* QNS_MAX_NICS, QNS_MAX_RANK, the memory range, QNS_WATCHDOG_NONE and the
 * other limits every check reads are in qns_limits.h. */

typedef struct qns_sim qns_sim;

/* Where rounds fall. Both give byte-identical outputs for the same bridge
 * latencies; adaptive rounds are fewer. */
typedef enum qns_round_mode {
    QNS_ROUNDS_ADAPTIVE = 0, /* only where something can happen: while every guest
                                is halted the next round waits for the earliest
                                guest timer or ns-3 event plus the bridge latency,
                                and a guest whose NICs have not started yet runs
                                until one starts; the quantum is the longest step
                                of a running guest */
    QNS_ROUNDS_FIXED = 1,    /* a round every quantum */
} qns_round_mode;

typedef struct qns_sim_config {
    uint32_t quantum_us;  /* round length; 0: 10 */
    uint32_t seed;        /* ns-3 RNG and guest RNG seed; 0: 1 */
    const char *out_dir;  /* captures and consoles go here (must exist); NULL: "." */
    uint32_t watchdog_ms; /* wall-clock window: a guest that has not replied to a
                             grant within it and used no CPU in it (under 1%)
                             fails the run as hung; one that used CPU (a crowded
                             host) is waited for, a window at a time;
                             0: QNS_WATCHDOG_DEFAULT_MS (60 s),
                             QNS_WATCHDOG_NONE: no watchdog */
    const char *qemu;     /* qemu-system-x86_64 to run; NULL: qns_default_qemu() */
    const char *guest_dir; /* default guest image folder; NULL: qns_default_guest_dir() */
    uint32_t spin_us;     /* QEMU and the simulator each poll up to this much wall
                             time for the other before sleeping (-qqq spin=),
                             which saves a CPU-bound guest the wake-up per round
                             at the price of busy cores: pays only while guests + 1
                             fit the host's idle cores. Never changes results.
                             0: off */
    int pin;              /* 1: the simulator stays on the CPU it starts on and
                             guest k runs on the k-th CPU after it (guest 0
                             shares the simulator's), so each round's hand-over
                             stays on one core: a CPU-bound guest then runs
                             about as fast as without -qqq. For a machine the
                             run has to itself (runs started side by side may
                             pick the same CPU). Never changes results. 0: off */
    const char *guest_image; /* the default guest image by key (qns guest list):
                                guest_dir (NULL: $QNS_GUEST_DIR) when its
                                GUEST-INFO has that key, else the qns cache's
                                guest/KEY; a missing one fails qns_sim_new.
                                Overrides guest_dir. NULL: off */
    qns_round_mode rounds; /* where rounds fall; QNS_ROUNDS_ADAPTIVE (0) by default */
    int flow_monitor;      /* 1: ns-3's FlowMonitor on every node with IPv4, its
                              statistics written to OUT_DIR/flowmon.xml at the
                              end of the run (no histograms, no probes). 0: off */
    const char *watchdog_off; /* how your program's user turns the watchdog off,
                                 ending the watchdog's message ("...; to wait for
                                 it however long it takes, " WATCHDOG_OFF); NULL:
                                 "set watchdog_ms to QNS_WATCHDOG_NONE in
                                 qns_sim_config" */
    const char *snapshot_dir; /* where snapshots (boot = snapshot) are looked for
                                 before the qns cache's: a folder KEY/ there is used
                                 when its INPUTS is what the guest's key is made of
                                 (qns verify names a package's snapshot/); NULL: the
                                 cache only */
    int (*stop)(void *ctx);   /* asked while qns_sim_add_guest makes a snapshot (between
                                 its boot's grants): non-zero gives it up, and the
                                 guest is refused ("... boot for its snapshot:
                                 interrupted"); NULL: never */
    void *stop_ctx;
    /* Called (with stop_ctx) when qns_sim_add_guest is about to boot the guest's
       machine once for its snapshot (none in the cache yet): seconds, for a
       Debian image half a minute, before it returns; NULL: not told */
    void (*snapshot_boot)(void *ctx, const char *guest, const char *key);
} qns_sim_config;

typedef enum qns_nic_model {
    QNS_NIC_VIRTIO = 0,
    QNS_NIC_E1000 = 1,
} qns_nic_model;

typedef struct qns_nic_config {
    const char *mac;  /* "52:54:00:00:00:01", not multicast; NULL: qns_default_mac */
    const char *ipv4; /* "10.0.0.1/24", a host of its subnet (neither the network's own
                         nor its broadcast address); configured by the default guest;
                         NULL: none */
    qns_nic_model model;
} qns_nic_config;

typedef enum qns_boot {
    QNS_BOOT_AUTO = 0,     /* QNS_BOOT_SNAPSHOT when the guest can be restored (its image's
                              GUEST-INFO says snapshot=yes, as the default guest's and
                              build-debian.sh's do; no program, own kernel, initrd,
                              append, agent or disk), else QNS_BOOT_COLD */
    QNS_BOOT_COLD = 1,     /* booted from its kernel */
    QNS_BOOT_SNAPSHOT = 2, /* restored from a snapshot of its machine booted once and
                              cached by what makes the machine (memory, NIC count and
                              models, kernel, initrd with its files, an image's root disk,
                              the words of kernel_args that are not qns.* parameters,
                              QEMU); its configuration (MACs, addresses, command,
                              services) arrives on a configuration disk after the
                              restore */
} qns_boot;

typedef struct qns_guest_config {
    const char *name;
    uint32_t memory_mb;   /* 0: the guest image's (256 for the default guest) */
    const char *command;  /* shell command the default guest runs, then powers off */
    const char *services; /* default guest services: "udp-echo,tcp-sink,iperf3,httpd" */
    const char *kernel;   /* own kernel instead of the default guest's */
    const char *initrd;   /* own initrd */
    const char *append;   /* own kernel command line (replaces the default's) */
    const char *kernel_args; /* appended to the default guest's command line,
                                e.g. "qns.route=10.0.9.0/24,10.0.0.254"; refused
                                with a program, an own kernel or append */
    const char *disk;     /* a disk image, attached as a virtio disk, snapshot mode */
    const char *const *extra_args; /* more QEMU arguments, NULL-terminated */
    /* Own files for the default guest, NULL-terminated "SRC:DST" strings
     * (e.g. "./app:/usr/local/bin/app"): a regular file, or a folder with
     * everything below it, put at absolute path DST (no '..', not /init, not
     * in /proc, /sys or /dev). A relative SRC is read from the current
     * folder. Packed into a cpio archive appended to the default initramfs
     * (sorted, owner 0:0, fixed mtime, files 0755 when SRC has an exec bit
     * and 0644 otherwise, folders 0755; symbolic links, devices and FIFOs
     * are refused); the combined initrd is kept in the qns cache's initrd/,
     * named by its SHA-256. Only for the default guest: refused with an own
     * kernel, initrd or a program. */
    const char *const *files;
    int ends_run;         /* the run ends once every guest with ends_run powered off */
    int nic_count;
    qns_nic_config nics[QNS_MAX_NICS];
    /* Test kit: run this program instead of QEMU (it gets -qqq and -netdev
     * options appended, as the fake guest expects). */
    const char *const *program;
    /* The MPI rank the guest runs on (see "Ranks" below); 0 by default. */
    uint32_t rank;
    /* An own kernel or initrd whose init runs the qns guest agent
     * (scenarios/guests/debian/qns-agent): it gets command, services and the NICs'
     * addresses as qns.* words after its append, and its console markers are
     * judged as the default guest's. Without it, an own image's command,
     * services and NIC addresses are refused (nothing would apply them). */
    int agent;
    /* The files the disk's image names as its backing (a qcow2 chain's),
     * NULL-terminated: QEMU reads them too, so its confinement shows them
     * (read-only). qns run finds them itself. */
    const char *const *disk_backing;
    qns_boot boot;
} qns_guest_config;

typedef enum qns_link_type {
    QNS_LINK_CSMA = 0,
    QNS_LINK_P2P = 1,
    QNS_LINK_WIFI = 2, /* a YansWifiChannel with ns-3's default log-distance loss */
} qns_link_type;

typedef struct qns_link_config {
    const char *name;
    qns_link_type type;
    uint64_t rate_bps;     /* 0: 100 Mbit/s */
    uint64_t delay_ns;
    double loss;           /* packet loss rate on receive, 0 .. 1 */
    uint32_t queue_packets; /* 0: 100 */
    int capture;            /* write ns-3 pcaps of every device on the link
                               (Wi-Fi: radiotap, DLT_IEEE802_11_RADIO) */
    /* Wi-Fi links only (rate, delay, loss and queue are for wired links):
     * guests are bridged in UseLocal mode (their MACs mapped to their
     * devices'), members stand on a line with constant positions. */
    const char *wifi_mode;    /* "adhoc" (every member an ad-hoc station; NULL)
                                 or "infrastructure": qns adds an access point
                                 (ns-3 node LINK-ap, no IP) at x = 0 and the
                                 members are its stations */
    const char *standard;     /* "802.11g", "802.11n" (NULL; 2.4 GHz) or
                                 "802.11ac" (5 GHz, 80 MHz) */
    double distance_m;        /* between neighbours on the line; 0: 10 m */
    const char *rate_manager; /* "ideal" (NULL) or "minstrel" (MinstrelHt for n/ac) */
    const char *wifi_rate;    /* a fixed rate instead: ConstantRateWifiManager's
                                 DataMode, e.g. "HtMcs7"; one of the standard's */
} qns_link_config;

/* A guest NIC's figures. */
typedef struct qns_nic_stats {
    uint32_t mtu;             /* the MTU of the ns-3 device the NIC is bridged
                                 onto; 0: the NIC is on no link (on another
                                 rank's: its own rank's figures say) */
    uint64_t frames_too_long; /* frames the NIC sent that were longer than that
                                 device carries (mtu + 14 bytes of Ethernet
                                 header, + 4 with an 802.1Q tag): dropped at
                                 the bridge, never in frames_from_guest, kept
                                 in the guest-side capture (they left the
                                 guest) but in no ns-3 capture */
} qns_nic_stats;

typedef struct qns_guest_stats {
    uint64_t rounds;
    uint64_t frames_from_guest; /* frames the guest sent into ns-3 */
    uint64_t frames_to_guest;   /* frames ns-3 handed to the guest */
    uint64_t frames_unopened;   /* of those, dropped because the NIC had not
                                   started yet at their instant (in every mode) */
    uint64_t frames_too_long;   /* frames_too_long of all its NICs */
    int nic_count;
    qns_nic_stats nics[QNS_MAX_NICS]; /* by NIC number */
    int64_t nic_started_us;     /* when the guest's first NIC started (its driver
                                   made it able to receive, or it sent); -1: none */
    int64_t clock_us;           /* the guest's virtual clock */
    int done;                   /* the guest powered off (exit status 0) */
    int ended;                  /* the process ended during the run */
    int exit_status;            /* raw wait status when ended */
    int command_status;         /* the exit status of the command, as the default
                                   guest reported it (QNS-CMD-END status=N); -1:
                                   none reported */
    char error[QNS_ERRBUF_SIZE]; /* why this guest failed the run (one line,
                                   naming it, with its last console lines);
                                   "" when it did not */
    char console_path[256];
    char snapshot_key[65];      /* restored from the snapshot of this key (boot =
                                   snapshot: its SHA-256 in hex); "" when booted cold */
    char snapshot_stream_sha256[65]; /* SHA-256s of that snapshot's stream and RAM */
    char snapshot_ram_sha256[65];
    char snapshot_disk_sha256[65]; /* and of its root disk's overlay; "" when the
                                      guest has no root disk (the default guest) */
} qns_guest_stats;

/* What a running simulation reports to a progress callback. */
typedef struct qns_progress {
    uint64_t virtual_ns;  /* simulation time now */
    uint64_t duration_ns; /* the run's end, if no guest ends it first */
    double wall_s;        /* wall-clock seconds since the run started */
    uint64_t rounds;
    uint64_t frames;      /* frames that crossed bridges, both ways */
    const char *waiting_guest; /* the guest the round in progress still waits
                                  for, NULL when none: calls come about every
                                  interval_ms while a round waits too */
    double waiting_s;     /* how long that round has waited, wall-clock seconds */
} qns_progress;

/* Return non-zero to stop the run (captures are still written in full). */
typedef int (*qns_progress_fn)(void *ctx, const qns_progress *progress);

/* NULL (with errbuf set) when the configuration is refused. */
qns_sim *qns_sim_new(const qns_sim_config *config, char *errbuf);
/* The checks qns_sim_new makes of a configuration (spin_us, pin with spin,
 * watchdog_ms, guest_image): 0, or -1 with the reason in errbuf. */
int qns_sim_config_check(const qns_sim_config *config, char *errbuf);

/* Guests, nodes and links are named with 1-32 letters, digits, '-' or '_'
 * (a guest's console and captures take its name). 0, or -1 with
 * "KIND name 'NAME' must be ..." in errbuf. */
int qns_name_check(const char *kind, const char *name, char *errbuf);

/* The qns cache folder: $QNS_CACHE_DIR, else $XDG_CACHE_HOME/qns, else
 * ~/.cache/qns (patched QEMU builds in qemu/KEY, guest images in guest/KEY,
 * imported ones in guest-imported/CONTENT-KEY).
 * Like snprintf: the length it has, written into dir as far as size allows. */
size_t qns_cache_dir(char *dir, size_t size);

/* The SHA-256 of a file that stays as it is (QEMU, a guest image, a disk)
 * in lowercase hex, remembered in the cache's hashes/ by the file's path,
 * device, inode, size, modification and change times: read once until it
 * changes. 0, or -1 with the reason in errbuf. */
int qns_file_sha256(const char *path, char out[65], char *errbuf);

/* A default guest image's key (a folder name in the cache): 1-64 lowercase
 * hex digits. 0, or -1 with the reason in errbuf. */
int qns_guest_key_check(const char *key, char *errbuf);

/* The folder of the default guest image of key, resolved as guest_image is
 * (into dir, size bytes): first (a package's packed image; NULL:
 * $QNS_GUEST_DIR) when its GUEST-INFO has that key, else the cache's. 0, or
 * -1 with the reason in errbuf. */
int qns_guest_image_dir(const char *key, const char *first, char *dir, size_t size,
                        char *errbuf);

/* The QEMU and the default guest image folder a config without qemu /
 * guest_dir gets: $QNS_QEMU / $QNS_GUEST_DIR when set, else those installed
 * with this library (PREFIX/libexec/qns/qemu/bin/qemu-system-x86_64 and
 * PREFIX/share/qns/guest, PREFIX being where the library is loaded from), or
 * the build's for the library in its build folder. Not freed by the caller. */
const char *qns_default_qemu(void);
const char *qns_default_guest_dir(void);

/* Calls fn about every interval_ms of wall time during qns_sim_run (also
 * while a round waits for a guest), and once at the end. */
void qns_sim_set_progress(qns_sim *sim, qns_progress_fn fn, void *ctx, uint32_t interval_ms);

/* The command line a guest will run with (NULL-terminated, owned by sim). */
const char *const *qns_sim_guest_argv(const qns_sim *sim, int guest);
/* The regular files the guest's `files` packed, as they were read (a
 * folder's files one by one), in archive order: NULL-terminated, owned by
 * sim; NULL for no such guest. */
const char *const *qns_sim_guest_files(const qns_sim *sim, int guest);

/* Whether text is an IPv4 address, "A.B.C.D", or with with_prefix
 * "A.B.C.D/PREFIX" (PREFIX 0 .. 32), as every address qns is given is
 * parsed: 0, or -1 with "bad IPv4 address 'TEXT' (expected ...)" in errbuf. */
int qns_ipv4_check(const char *text, int with_prefix, char *errbuf);

/* The MAC address of NIC `nic` of the guest added as number `guest` when its
 * config gives none: "52:54:00:GG:GG:NN" (guest index, NIC index + 1). */
void qns_default_mac(int guest, int nic, char out[18]);

/* Each returns the new object's index, or -1. A node or link without a name
 * is nodeN / linkN. */
int qns_sim_add_guest(qns_sim *sim, const qns_guest_config *guest, char *errbuf);
int qns_sim_add_node(qns_sim *sim, const char *name, char *errbuf);
int qns_sim_add_link(qns_sim *sim, const qns_link_config *link, char *errbuf);
/* The MPI rank ns-3 node `node` lives on (see "Ranks" below); 0 until set. */
int qns_sim_set_node_rank(qns_sim *sim, int node, uint32_t rank, char *errbuf);
/* Puts every guest and node on one of `ranks` ranks by itself, once the
 * network is described: the simulation splits at its point-to-point links
 * (the guests and nodes a CSMA or Wi-Fi link joins stay together); the
 * parts with most guests go first, each to the rank with fewest guests so
 * far, then fewest parts, then the lowest; a guest on no link stays on rank
 * 0. Deterministic: every rank, and a one-process run, gets the same
 * ranks. 0, or -1 when the network has fewer parts than ranks. */
int qns_sim_partition(qns_sim *sim, uint32_t ranks, char *errbuf);
/* The rank guest `guest` / node `node` is on (set or partitioned). */
uint32_t qns_sim_guest_rank(const qns_sim *sim, int guest);
uint32_t qns_sim_node_rank(const qns_sim *sim, int node);
/* One more than the highest rank a guest or node is on: the processes a run
 * across ranks needs (1: the simulation is not split). */
uint32_t qns_sim_rank_count(const qns_sim *sim);
/* The checks qns_sim_add_link makes of a link's Wi-Fi settings (and of
 * settings that do not fit its type): 0, or -1 with the reason in errbuf. */
int qns_link_check(const qns_link_config *link, char *errbuf);

/* The check qns_sim_run makes of link number `link` once the network is
 * described: a point-to-point link has exactly two members; only a
 * point-to-point link joins members on two ranks, and then its delay (ns-3's
 * lookahead) is above 0. 0, or -1 with the reason in errbuf. */
int qns_sim_link_check(const qns_sim *sim, int link, char *errbuf);

/* Connects guest NIC `nic` to `link` through a bridge with latency_ns (0: quantum).
 * On one link no two members share a MAC address (guests) or an IPv4 address. */
int qns_sim_attach_guest(qns_sim *sim, int link, int guest, int nic, uint64_t latency_ns,
                         char *errbuf);
/* Connects ns-3 node `node` to `link` with address "10.0.0.3/24". */
int qns_sim_attach_node(qns_sim *sim, int link, int node, const char *ipv4, char *errbuf);

/* A static IPv4 route on ns-3 node `node`: packets to `destination`
 * ("10.0.2.0/24", "0.0.0.0/0" for the default route) go to `gateway`
 * ("10.0.1.1"), out of the node's interface on the gateway's subnet. Routes
 * are installed when the run builds the network, so they may be added before
 * or after the node's attachments; qns_sim_run refuses a gateway on none of
 * the node's subnets. Static routes are consulted before ns-3's global
 * routing, which qns populates only when no guest is on a point-to-point
 * link. ns-3 nodes forward IPv4 between their interfaces. */
int qns_sim_add_route(qns_sim *sim, int node, const char *destination, const char *gateway,
                      char *errbuf);
/* The check qns_sim_run makes of route number `route` (0 for the first
 * added, ...) once the network is described: its gateway is on a subnet of
 * one of its node's attachments. 0, or -1 with the reason in errbuf. */
int qns_sim_route_check(const qns_sim *sim, int route, char *errbuf);

/* ns-3 applications on nodes. */
int qns_sim_udp_echo_server(qns_sim *sim, int node, uint16_t port, char *errbuf);
int qns_sim_udp_echo_client(qns_sim *sim, int node, const char *server_ipv4, uint16_t port,
                            uint32_t count, uint64_t interval_ns, uint32_t size,
                            uint64_t start_ns, char *errbuf);

/* ns-3's PacketSink, BulkSendApplication and OnOffApplication on a node. */
typedef enum qns_app_kind {
    QNS_APP_PACKET_SINK = 0, /* listens on port (protocol "tcp" or "udp") */
    QNS_APP_BULK_SEND = 1,   /* sends to remote_ipv4:port over "tcp" */
    QNS_APP_ON_OFF = 2,      /* sends to remote_ipv4:port over "udp" or "tcp":
                                rate_bps in packets of size bytes for on_ns,
                                then nothing for off_ns, and again */
} qns_app_kind;

typedef struct qns_app_config {
    qns_app_kind kind;
    const char *protocol;    /* "tcp" or "udp" (bulk-send: "tcp" only) */
    const char *remote_ipv4; /* senders: the receiver's address; sink: NULL */
    uint16_t port;           /* sink: the port it listens on; senders: the
                                receiver's; 1 .. 65535 */
    uint64_t max_bytes;      /* senders: bytes to send in all; 0: no limit */
    uint64_t start_ns;       /* when the application starts */
    uint64_t stop_ns;        /* when it stops; 0: at the run's end */
    /* on-off only (0 elsewhere) */
    uint64_t rate_bps;      /* while on; 0: 500 kbit/s */
    uint32_t size;          /* packet size in bytes; 0: 512 */
    uint64_t on_ns, off_ns; /* on_ns 0: 1 s; off_ns 0: 1 s */
} qns_app_config;

/* "packet-sink", "bulk-send", "on-off" (as scenario files name them). */
const char *qns_app_kind_name(qns_app_kind kind);
/* The application's index (for qns_sim_app_rx_bytes), or -1. */
int qns_sim_add_app(qns_sim *sim, int node, const qns_app_config *app, char *errbuf);
int qns_sim_app_count(const qns_sim *sim);
/* After qns_sim_run: the bytes packet sink `app` received (PacketSink's
 * TotalRx); 0 for other applications. 0, or -1 for no such application. */
int qns_sim_app_rx_bytes(const qns_sim *sim, int app, uint64_t *out);

/* Runs for duration_ns of virtual time, or until every guest with ends_run
 * has powered off. 0 on success; 1 when the progress callback or
 * qns_sim_request_stop stopped it; -1 when it failed, with the first reason
 * in errbuf: a guest died, hung or broke a protocol, or a guest's outcome
 * is a failure (qns_guest_stats.error of each): the default guest reported a
 * set-up error (QNS-GUEST: error:) or a command exit status other than 0, a
 * kernel panicked, a guest with a command powered off before it finished, or
 * a guest with ends_run had not powered off when duration_ns was reached
 * (for the default guest: had not booted, or its command was cut off). */
int qns_sim_run(qns_sim *sim, uint64_t duration_ns, char *errbuf);

/* The longest run: 100 years of virtual time. ns-3's time is a signed
 * 64-bit count of nanoseconds (about 292 years), and a run's end may lie a
 * few quanta past its duration. */
#define QNS_MAX_DURATION_NS 3155760000000000000ull

/* Whether duration_ns is a run's duration (more than 0, at most
 * QNS_MAX_DURATION_NS): 0, or -1 with the reason in errbuf. qns_sim_run
 * refuses the others. */
int qns_duration_check(uint64_t duration_ns, char *errbuf);

/* Asks a qns_sim_run in progress (or about to start) to stop as soon as it
 * can: every wait for a guest wakes, guests are ended without being waited
 * out, captures are completed, and qns_sim_run returns 1 within about
 * 100 ms. Async-signal-safe: meant for a SIGINT/SIGTERM handler. */
void qns_sim_request_stop(qns_sim *sim);

int qns_sim_guest_stats(const qns_sim *sim, int guest, qns_guest_stats *out);
uint64_t qns_sim_rounds(const qns_sim *sim);
uint64_t qns_sim_late_frames(const qns_sim *sim);
/* Virtual time the run ended at, in ns. */
uint64_t qns_sim_end_ns(const qns_sim *sim);
/* Across ranks: the rank whose failure or stop ended the run (this one's
 * too), -1 when none did. A run another rank's failure ended fails with
 * "rank K failed, which ended the run at T us"; one another rank's stop
 * ended is interrupted (qns_sim_run returns 1). */
int qns_sim_stopped_by(const qns_sim *sim);

void qns_sim_free(qns_sim *sim);

/* The first line QEMU (a path, or a name on PATH) prints for --version, run
 * confined as every QEMU qns starts (its check of a guest's QEMU options is
 * qns_qemu_args_check, qns_qemu_args.h); NULL when it cannot be run. free()
 * it. */
char *qns_qemu_version(const char *qemu);

/*
 * Reporting a run, the same way in every program: text from outside (a
 * guest's console line, a name or path from a package) is escaped before it
 * is printed.
 */

/* s with every control character as \xNN: C0 bytes and DEL, the C1
 * characters U+0080..U+009F (each byte of their UTF-8 form) and every byte
 * that is not part of valid UTF-8; with max_chars > 0 only that many
 * characters are kept and "..." marks the cut. Nothing of it can move a
 * terminal's cursor or start an escape sequence. free() it. */
char *qns_escape(const char *s, size_t max_chars);

/* Prints to out, as "  GUEST| LINE", escaped, the lines of the console file
 * between the QNS-CMD-BEGIN and QNS-CMD-END markers and every
 * "QNS-GUEST: error" line. Returns the command's exit status (QNS-CMD-END
 * status=N), -1 when it did not finish, -2 when the file cannot be read. */
int qns_print_command_output(const char *guest, const char *console_path, FILE *out);

/* "T s of virtual time in W s wall (Rx), N rounds, L late frames" for a
 * run that ended at end_ns (qns_sim_end_ns) after wall_s seconds, with
 * qns_sim_rounds and qns_sim_late_frames (into buf, size bytes, like
 * snprintf). */
int qns_run_summary(uint64_t end_ns, double wall_s, uint64_t rounds, uint64_t late_frames,
                    char *buf, size_t size);

/* "N frames out, M frames in[ (K before its NIC started)][, K frames dropped
 * at nicI (longer than MTU U)], clock T s[, powered off]" (like snprintf). */
int qns_guest_summary(const qns_guest_stats *stats, char *buf, size_t size);

/*
 * Ranks: one simulation split over MPI processes (mpirun -np N), with ns-3's
 * DistributedSimulatorImpl. Every rank describes and builds the whole
 * simulation; a guest's QEMU runs, its console and captures are written,
 * and a node's applications and captures run only on its own rank
 * (qns_guest_config.rank, qns_sim_set_node_rank). Only point-to-point links
 * join ranks. Outputs are byte-identical to a one-process run of the same
 * simulation: a split simulation (qns_sim_rank_count > 1) ends, in one
 * process too, a while after its ends_run guests powered off: at the first
 * multiple of the quantum after the last power-off, plus the smallest delay
 * of a point-to-point link between ranks rounded up to the quantum, plus a
 * quantum (the time the news takes to reach every rank). Needs qns built
 * with -DQNS_WITH_MPI=ON.
 */

/* The first qns call of a program that may run under mpirun: when started
 * with more than one process, joins them (MPI_Init, ns-3's distributed
 * simulator). Returns the number of ranks, 1 for a process of its own; -1
 * with the reason in errbuf when mpirun started several but qns was built
 * without MPI. */
int qns_ranks_start(int *argc, char ***argv, char *errbuf);
/* This process's rank (0 when not started across ranks), and how many
 * there are (1). */
uint32_t qns_rank(void);
uint32_t qns_ranks(void);
/* From a rank other than 0: len bytes to rank 0, which takes them with
 * qns_ranks_recv(from, ...) (malloc'd, free them). 0, or -1 with errbuf. */
int qns_ranks_send(const void *data, size_t len, char *errbuf);
int qns_ranks_recv(uint32_t from, void **data, size_t *len, char *errbuf);
/* Every rank calls it: the largest of their values (value itself in one
 * process). */
int qns_ranks_max(int value);
/* The checks qns_sim_run makes of a split simulation before it builds it,
 * for `ranks` processes (qns_ranks_start's count; 1: a process of its own,
 * which runs every rank's part): some point-to-point link joins two ranks
 * (one run ends for all over it); across ranks, mpirun started as many
 * processes as the simulation has ranks, and flow_monitor is off. 0, or -1
 * with the reason in errbuf. */
int qns_sim_ranks_check(const qns_sim *sim, uint32_t ranks, char *errbuf);
/* The last qns call of a program that called qns_ranks_start. */
void qns_ranks_end(void);

#ifdef __cplusplus
}
#endif

#endif
