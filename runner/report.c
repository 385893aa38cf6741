/*
 * report.c - `qns report`: reads every pcap of a run folder (libpcap,
 * nanosecond timestamps) and prints, per capture, each IPv4 flow (5-tuple)
 * with packets, bytes, throughput and round-trip times: ICMP echo request
 * to reply, and TCP data to the ACK that covers it (Karn's rule:
 * retransmitted segments give no sample). Plots throughput and RTT over
 * virtual time with gnuplot. Not a protocol analyser: IPv4 only, no
 * reassembly, first fragment only.
 */
#define _GNU_SOURCE
#include "runner.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct sample {
    uint64_t t_ns;
    uint64_t v; /* bytes (throughput series) or RTT in ns */
} sample;

typedef struct tcp_seg {
    uint32_t end;
    uint64_t t_ns;
    int retransmitted;
} tcp_seg;

typedef struct flow {
    uint8_t proto;
    uint32_t src, dst; /* network order */
    uint16_t sport, dport;
    uint64_t packets, bytes, first_ns, last_ns;
    GArray *sizes; /* sample: time, IP bytes */
    GArray *rtts;  /* sample: time of the answer, RTT ns */
    /* TCP sender state */
    GArray *outstanding; /* tcp_seg, increasing end */
    uint32_t highest_end;
    int have_highest;
} flow;

typedef struct capture {
    char *name;
    GHashTable *flows;  /* key string -> flow */
    GPtrArray *order;   /* flows in order of first packet */
    GHashTable *pings;  /* "src dst id seq" -> request time (boxed) */
    uint64_t packets, ipv4, first_ns, last_ns;
    int linktype;
    int damaged; /* libpcap stopped at a truncated or corrupt record */
} capture;

static char *flow_key(uint8_t proto, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
    return g_strdup_printf("%u|%08x|%u|%08x|%u", proto, src, sport, dst, dport);
}

static void flow_free(gpointer p)
{
    flow *f = p;
    g_array_free(f->sizes, TRUE);
    g_array_free(f->rtts, TRUE);
    g_array_free(f->outstanding, TRUE);
    g_free(f);
}

static flow *get_flow(capture *c, uint8_t proto, uint32_t src, uint16_t sport, uint32_t dst,
                      uint16_t dport, int create)
{
    char *k = flow_key(proto, src, sport, dst, dport);
    flow *f = g_hash_table_lookup(c->flows, k);
    if (f == NULL && create) {
        f = g_new0(flow, 1);
        f->proto = proto;
        f->src = src;
        f->dst = dst;
        f->sport = sport;
        f->dport = dport;
        f->sizes = g_array_new(FALSE, FALSE, sizeof(sample));
        f->rtts = g_array_new(FALSE, FALSE, sizeof(sample));
        f->outstanding = g_array_new(FALSE, FALSE, sizeof(tcp_seg));
        g_hash_table_insert(c->flows, k, f);
        g_ptr_array_add(c->order, f);
    } else {
        g_free(k);
    }
    return f;
}

static int seq_le(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}

static void tcp_packet(capture *c, flow *f, const uint8_t *tcp, uint32_t payload, uint64_t t)
{
    uint32_t seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
    uint32_t ack = (uint32_t)tcp[8] << 24 | (uint32_t)tcp[9] << 16 | (uint32_t)tcp[10] << 8 |
                   tcp[11];
    uint8_t flags = tcp[13];
    uint32_t len = payload + ((flags & 0x02) ? 1u : 0u) + ((flags & 0x01) ? 1u : 0u);
    if (len > 0) {
        uint32_t end = seq + len;
        if (f->have_highest && seq_le(end, f->highest_end)) {
            for (guint i = 0; i < f->outstanding->len; i++) {
                tcp_seg *s = &g_array_index(f->outstanding, tcp_seg, i);
                if (seq_le(seq + 1, s->end) && seq_le(s->end, end)) {
                    s->retransmitted = 1;
                }
            }
        } else {
            tcp_seg s = {.end = end, .t_ns = t};
            if (f->outstanding->len < 65536) {
                g_array_append_val(f->outstanding, s);
            }
            f->highest_end = end;
            f->have_highest = 1;
        }
    }
    if (flags & 0x10) {
        /* This ACK acknowledges data of the reverse flow. */
        flow *r = get_flow(c, 6, f->dst, f->dport, f->src, f->sport, 0);
        if (r == NULL) {
            return;
        }
        guint n = 0;
        const tcp_seg *last = NULL;
        while (n < r->outstanding->len &&
               seq_le(g_array_index(r->outstanding, tcp_seg, n).end, ack)) {
            last = &g_array_index(r->outstanding, tcp_seg, n);
            n++;
        }
        if (last && !last->retransmitted) {
            sample s = {.t_ns = t, .v = t - last->t_ns};
            g_array_append_val(r->rtts, s);
        }
        if (n) {
            g_array_remove_range(r->outstanding, 0, n);
        }
    }
}

static void icmp_packet(capture *c, flow *f, const uint8_t *icmp, uint32_t len, uint64_t t)
{
    if (len < 8 || (icmp[0] != 8 && icmp[0] != 0)) {
        return;
    }
    unsigned id = (unsigned)(icmp[4] << 8 | icmp[5]), seq = (unsigned)(icmp[6] << 8 | icmp[7]);
    if (icmp[0] == 8) {
        char *k = g_strdup_printf("%08x %08x %u %u", f->src, f->dst, id, seq);
        uint64_t *v = g_new(uint64_t, 1);
        *v = t;
        g_hash_table_replace(c->pings, k, v);
        return;
    }
    char *k = g_strdup_printf("%08x %08x %u %u", f->dst, f->src, id, seq);
    uint64_t *req = g_hash_table_lookup(c->pings, k);
    flow *rf = get_flow(c, 1, f->dst, 0, f->src, 0, 0);
    if (req && rf) {
        sample s = {.t_ns = t, .v = t - *req};
        g_array_append_val(rf->rtts, s);
        g_hash_table_remove(c->pings, k);
    }
    g_free(k);
}

/* The IPv4 packet inside a frame of this link type, or NULL. */
static const uint8_t *ipv4_of(int linktype, const uint8_t *d, uint32_t caplen, uint32_t *len)
{
    uint32_t off;
    if (linktype == DLT_EN10MB) {
        off = 12;
        if (caplen < 14) {
            return NULL;
        }
        uint16_t type = (uint16_t)(d[12] << 8 | d[13]);
        if (type == 0x8100 && caplen >= 18) {
            off = 16;
            type = (uint16_t)(d[16] << 8 | d[17]);
        }
        if (type != 0x0800) {
            return NULL;
        }
        off += 2;
    } else if (linktype == DLT_PPP) {
        off = (caplen >= 2 && d[0] == 0xff && d[1] == 0x03) ? 2 : 0;
        if (caplen < off + 2 || (d[off] << 8 | d[off + 1]) != 0x0021) {
            return NULL;
        }
        off += 2;
    } else if (linktype == DLT_RAW || linktype == DLT_IPV4) {
        off = 0;
    } else {
        return NULL;
    }
    if (caplen < off + 20 || (d[off] >> 4) != 4) {
        return NULL;
    }
    *len = caplen - off;
    return d + off;
}

static void packet(capture *c, uint64_t t, const uint8_t *d, uint32_t caplen)
{
    uint32_t len;
    c->packets++;
    if (c->packets == 1) {
        c->first_ns = t;
    }
    c->last_ns = t;
    const uint8_t *ip = ipv4_of(c->linktype, d, caplen, &len);
    if (ip == NULL) {
        return;
    }
    uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4, total = (uint32_t)(ip[2] << 8 | ip[3]);
    uint8_t proto = ip[9];
    int first_fragment = ((ip[6] & 0x1f) << 8 | ip[7]) == 0;
    if (ihl < 20 || len < ihl) {
        return;
    }
    c->ipv4++;
    uint32_t src, dst;
    memcpy(&src, ip + 12, 4);
    memcpy(&dst, ip + 16, 4);
    const uint8_t *l4 = ip + ihl;
    uint32_t l4len = (total < len ? total : len) - ihl;
    uint16_t sport = 0, dport = 0;
    if ((proto == 6 || proto == 17) && first_fragment && l4len >= 4) {
        sport = (uint16_t)(l4[0] << 8 | l4[1]);
        dport = (uint16_t)(l4[2] << 8 | l4[3]);
    }
    flow *f = get_flow(c, proto, src, sport, dst, dport, 1);
    if (f->packets == 0) {
        f->first_ns = t;
    }
    f->packets++;
    f->bytes += total;
    f->last_ns = t;
    sample s = {.t_ns = t, .v = total};
    g_array_append_val(f->sizes, s);
    if (!first_fragment) {
        return;
    }
    if (proto == 1) {
        icmp_packet(c, f, l4, l4len, t);
    } else if (proto == 6 && l4len >= 20) {
        uint32_t off = (uint32_t)(l4[12] >> 4) * 4;
        uint32_t payload = total >= ihl + off ? total - ihl - off : 0;
        tcp_packet(c, f, l4, payload, t);
    }
}

/* The capture dir/name for libpcap: a regular file, opened without
 * following a symbolic link or waiting on a FIFO; NULL with e set. */
static pcap_t *open_capture(const char *dir, const char *name, char *e)
{
    char *path = g_build_filename(dir, name, NULL);
    int fd;
    do {
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    g_free(path);
    struct stat st;
    FILE *f = NULL;
    if (fd < 0) {
        snprintf(e, PCAP_ERRBUF_SIZE, "%s",
                 errno == ELOOP ? "it is a symbolic link (not read)" : g_strerror(errno));
    } else if (fstat(fd, &st) < 0) {
        snprintf(e, PCAP_ERRBUF_SIZE, "%s", g_strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(e, PCAP_ERRBUF_SIZE, "it is %s, not a regular file (not read)",
                 rn_file_kind(st.st_mode));
    } else if (fcntl(fd, F_SETFL, O_RDONLY) < 0 || (f = fdopen(fd, "rb")) == NULL) {
        snprintf(e, PCAP_ERRBUF_SIZE, "%s", g_strerror(errno));
    }
    pcap_t *p =
        f ? pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, e) : NULL;
    if (p == NULL && f) {
        fclose(f);
    } else if (p == NULL && fd >= 0) {
        close(fd);
    }
    return p;
}

static capture *read_capture(const char *dir, const char *name)
{
    char e[PCAP_ERRBUF_SIZE];
    pcap_t *p = open_capture(dir, name, e);
    if (p == NULL) {
        rn_error("%s: %s", name, e);
        return NULL;
    }
    capture *c = g_new0(capture, 1);
    c->name = g_strdup(name);
    c->flows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, flow_free);
    c->order = g_ptr_array_new();
    c->pings = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    c->linktype = pcap_datalink(p);
    struct pcap_pkthdr *h;
    const u_char *d;
    int r;
    while ((r = pcap_next_ex(p, &h, &d)) == 1) {
        uint64_t t = (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;
        packet(c, t, d, h->caplen);
    }
    if (r == PCAP_ERROR) {
        rn_error("%s: %s (reading stopped there)", name, pcap_geterr(p));
        c->damaged = 1;
    }
    pcap_close(p);
    return c;
}

static void capture_free(capture *c)
{
    g_ptr_array_free(c->order, TRUE);
    g_hash_table_destroy(c->flows);
    g_hash_table_destroy(c->pings);
    g_free(c->name);
    g_free(c);
}

static const char *proto_name(uint8_t p)
{
    static char buf[16];
    switch (p) {
    case 1:
        return "ICMP";
    case 6:
        return "TCP";
    case 17:
        return "UDP";
    default:
        snprintf(buf, sizeof(buf), "ip%u", p);
        return buf;
    }
}

static char *flow_label(const flow *f)
{
    char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &f->src, s, sizeof(s));
    inet_ntop(AF_INET, &f->dst, d, sizeof(d));
    if (f->proto == 6 || f->proto == 17) {
        return g_strdup_printf("%s %s:%u -> %s:%u", proto_name(f->proto), s, f->sport, d,
                               f->dport);
    }
    return g_strdup_printf("%s %s -> %s", proto_name(f->proto), s, d);
}

static char *format_rate(double bps)
{
    if (bps >= 1e9) {
        return g_strdup_printf("%.3f Gbit/s", bps / 1e9);
    }
    if (bps >= 1e6) {
        return g_strdup_printf("%.3f Mbit/s", bps / 1e6);
    }
    if (bps >= 1e3) {
        return g_strdup_printf("%.3f kbit/s", bps / 1e3);
    }
    return g_strdup_printf("%.3f bit/s", bps);
}

static const char *link_name(int lt)
{
    switch (lt) {
    case DLT_EN10MB:
        return "Ethernet";
    case DLT_PPP:
        return "PPP";
    default:
        return "other";
    }
}

static void print_capture(const capture *c)
{
    rn_say("capture %s: %s, %" PRIu64 " packets (%" PRIu64 " IPv4), %.9f s .. %.9f s", c->name,
           link_name(c->linktype), c->packets, c->ipv4, (double)c->first_ns / 1e9,
           (double)c->last_ns / 1e9);
    if (c->order->len == 0) {
        printf("  no IPv4 flows\n\n");
        return;
    }
    printf("  %-46s %8s %10s %16s %6s %10s %10s %10s\n", "flow", "packets", "bytes",
           "throughput", "rtts", "min ms", "avg ms", "max ms");
    for (guint i = 0; i < c->order->len; i++) {
        const flow *f = g_ptr_array_index(c->order, i);
        char *label = flow_label(f);
        uint64_t span = f->last_ns - f->first_ns;
        char *rate = span ? format_rate((double)f->bytes * 8e9 / (double)span) : g_strdup("-");
        printf("  %-46s %8" PRIu64 " %10" PRIu64 " %16s", label, f->packets, f->bytes, rate);
        if (f->rtts->len) {
            uint64_t mn = UINT64_MAX, mx = 0;
            double sum = 0;
            for (guint k = 0; k < f->rtts->len; k++) {
                uint64_t v = g_array_index(f->rtts, sample, k).v;
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
                sum += (double)v;
            }
            printf(" %6u %10.3f %10.3f %10.3f\n", f->rtts->len, (double)mn / 1e6,
                   sum / f->rtts->len / 1e6, (double)mx / 1e6);
        } else {
            printf(" %6s %10s %10s %10s\n", "-", "-", "-", "-");
        }
        g_free(rate);
        g_free(label);
    }
    printf("\n");
}

/* Whether a name may go into a gnuplot script as it is: the characters qns
 * names its captures with (guests, links and nodes are letters, digits, '-'
 * and '_'). A file name is data: quoted into a script, a name like
 * x';system 'cmd';#.pcap would run cmd. */
static int gnuplot_safe(const char *s)
{
    for (; *s; s++) {
        if (!g_ascii_isalnum(*s) && *s != '.' && *s != '-' && *s != '_') {
            return 0;
        }
    }
    return 1;
}

/* One capture's plots as they are made: the data files' text, gnuplot's
 * plot clauses naming them, and how many series (blocks) each holds. Files
 * and titles are named after the capture when its name is gnuplot_safe,
 * else after its number in the report (capture-N), the only names the
 * script then holds. */
typedef struct plot {
    char *stem;
    uint64_t first_ns, bin, nbins; /* throughput: nbins bins of bin ns */
    char *tfile, *rfile;           /* STEM-throughput.dat, STEM-rtt.dat */
    GString *tp, *rt;              /* their text */
    GString *tplot, *rplot;        /* the plot clauses of each */
    int tindex, rindex;
} plot;

static void plot_init(plot *p, const capture *c, guint number)
{
    p->stem = g_strdup(c->name);
    if (g_str_has_suffix(p->stem, ".pcap")) {
        p->stem[strlen(p->stem) - 5] = '\0';
    }
    if (!gnuplot_safe(p->stem) || *p->stem == '\0') {
        g_free(p->stem);
        p->stem = g_strdup_printf("capture-%u", number);
    }
    uint64_t span = c->last_ns > c->first_ns ? c->last_ns - c->first_ns : 1;
    p->first_ns = c->first_ns;
    p->bin = span / 50 ? span / 50 : 1;
    p->nbins = span / p->bin + 1;
    p->tfile = g_strdup_printf("%s-throughput.dat", p->stem);
    p->rfile = g_strdup_printf("%s-rtt.dat", p->stem);
    p->tp = g_string_new(NULL);
    p->rt = g_string_new(NULL);
    p->tplot = g_string_new(NULL);
    p->rplot = g_string_new(NULL);
    p->tindex = p->rindex = 0;
}

static void plot_free(plot *p)
{
    g_free(p->tfile);
    g_free(p->rfile);
    g_string_free(p->tp, TRUE);
    g_string_free(p->rt, TRUE);
    g_string_free(p->tplot, TRUE);
    g_string_free(p->rplot, TRUE);
    g_free(p->stem);
}

/* A flow's throughput series: its bytes in each bin, as Mbit/s. */
static void plot_throughput(plot *p, const flow *f, const char *label)
{
    uint64_t *sum = g_new0(uint64_t, p->nbins);
    for (guint k = 0; k < f->sizes->len; k++) {
        const sample *s = &g_array_index(f->sizes, sample, k);
        sum[(s->t_ns - p->first_ns) / p->bin] += s->v;
    }
    g_string_append_printf(p->tp, "# %s\n", label);
    for (uint64_t b = 0; b < p->nbins; b++) {
        g_string_append_printf(p->tp, "%.9f %.6f\n", (double)(p->first_ns + b * p->bin) / 1e9,
                               (double)sum[b] * 8e3 / (double)p->bin);
    }
    g_string_append(p->tp, "\n\n");
    g_string_append_printf(p->tplot, "%s'%s' index %d with steps title '%s'", p->tindex ? ", " : "",
                           p->tfile, p->tindex, label);
    p->tindex++;
    g_free(sum);
}

/* A flow's RTT series, when it has samples: each in ms at its time. */
static void plot_rtts(plot *p, const flow *f, const char *label)
{
    if (f->rtts->len == 0) {
        return;
    }
    g_string_append_printf(p->rt, "# %s\n", label);
    for (guint k = 0; k < f->rtts->len; k++) {
        const sample *s = &g_array_index(f->rtts, sample, k);
        g_string_append_printf(p->rt, "%.9f %.6f\n", (double)s->t_ns / 1e9, (double)s->v / 1e6);
    }
    g_string_append(p->rt, "\n\n");
    g_string_append_printf(p->rplot, "%s'%s' index %d with linespoints title '%s'",
                           p->rindex ? ", " : "", p->rfile, p->rindex, label);
    p->rindex++;
}

/* The gnuplot script: a throughput plot, and an RTT plot when there are
 * samples (g_free). */
static char *plot_script(const plot *p)
{
    GString *gp = g_string_new(NULL);
    g_string_append_printf(gp,
                           "set terminal png size 1000,500\n"
                           "set key outside below\nset grid\n"
                           "set xlabel 'virtual time (s)'\n"
                           "set output '%s-throughput.png'\n"
                           "set title '%s: throughput (bins of %.6f s)'\n"
                           "set ylabel 'Mbit/s'\n",
                           p->stem, p->stem, (double)p->bin / 1e9);
    if (p->tindex) {
        g_string_append_printf(gp, "plot %s\n", p->tplot->str);
    }
    if (p->rindex) {
        g_string_append_printf(gp,
                               "set output '%s-rtt.png'\nset title '%s: round-trip time'\n"
                               "set ylabel 'ms'\nplot %s\n",
                               p->stem, p->stem, p->rplot->str);
    }
    return g_string_free(gp, FALSE);
}

/* The data files and the script (at script_path) into out, and the plots
 * of an earlier report removed; whether all of that went well. */
static int write_plot_files(const plot *p, const char *out, const char *script_path)
{
    int ok = 1;
    const char *files[][2] = {{p->tfile, p->tp->str}, {p->rfile, p->rt->str}};
    for (int i = 0; i < 2; i++) {
        char *path = g_build_filename(out, files[i][0], NULL);
        ok &= g_file_set_contents(path, files[i][1], -1, NULL);
        g_free(path);
    }
    char *gp = plot_script(p);
    ok &= g_file_set_contents(script_path, gp, -1, NULL);
    g_free(gp);
    /* gnuplot writes its plots through what is there: a link left in the
     * folder goes first. */
    for (int i = 0; ok && i < 2; i++) {
        char *png = g_strdup_printf("%s/%s-%s.png", out, p->stem, i ? "rtt" : "throughput");
        ok &= unlink(png) == 0 || errno == ENOENT;
        g_free(png);
    }
    return ok;
}

/* Runs gnuplot on the script in out and names the plots it made; whether
 * it ran well (else one line with what it said). */
static int run_gnuplot(const plot *p, const char *out, const char *script, const char *script_path)
{
    const char *argv[] = {"gnuplot", script, NULL};
    int st = 0, ok = 1;
    char *err_out = NULL;
    GError *ge = NULL;
    if (!g_spawn_sync(out, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, &err_out,
                      &st, &ge) ||
        !g_spawn_check_wait_status(st, &ge)) {
        g_strchomp(err_out ? err_out : (err_out = g_strdup("")));
        rn_error("gnuplot %s: %s%s%s", script_path, ge->message, *err_out ? ": " : "", err_out);
        g_clear_error(&ge);
        ok = 0;
    } else {
        rn_say("plot: %s/%s-throughput.png", out, p->stem);
        if (p->rindex) {
            rn_say("plot: %s/%s-rtt.png", out, p->stem);
        }
    }
    g_free(err_out);
    return ok;
}

/* gnuplot: throughput in bins over the capture's span, RTT samples. */
static int plot_capture(const capture *c, const char *out, guint number)
{
    plot p;
    plot_init(&p, c, number);
    for (guint i = 0; i < c->order->len; i++) {
        const flow *f = g_ptr_array_index(c->order, i);
        char *label = flow_label(f);
        plot_throughput(&p, f, label);
        plot_rtts(&p, f, label);
        g_free(label);
    }
    char *script = g_strdup_printf("%s.gp", p.stem);
    char *script_path = g_build_filename(out, script, NULL);
    int ok = write_plot_files(&p, out, script_path);
    if (ok && p.tindex) {
        ok = run_gnuplot(&p, out, script, script_path);
    }
    g_free(script_path);
    g_free(script);
    plot_free(&p);
    return ok ? 0 : -1;
}

static gint cmp_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int rn_report(const char *dir, int plots)
{
    if (rn_is_symlink(dir)) {
        rn_error("%s is a symbolic link; give the run folder itself", dir);
        return RN_EXIT_USAGE;
    }
    GDir *d = g_dir_open(dir, 0, NULL);
    if (d == NULL) {
        rn_error("cannot open %s: %s", dir, g_strerror(errno));
        return RN_EXIT_USAGE;
    }
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *n;
    while ((n = g_dir_read_name(d)) != NULL) {
        if (g_str_has_suffix(n, ".pcap")) {
            g_ptr_array_add(names, g_strdup(n));
        }
    }
    g_dir_close(d);
    if (names->len == 0) {
        rn_error("no .pcap files in %s", dir);
        g_ptr_array_free(names, TRUE);
        return RN_EXIT_USAGE;
    }
    g_ptr_array_sort(names, cmp_names);
    char *out = g_build_filename(dir, "report", NULL);
    if (plots && rn_is_symlink(out)) {
        rn_error("%s is a symbolic link; plots go only into a folder of the run's own (remove "
                 "it, or --no-plots)",
                 out);
        g_free(out);
        g_ptr_array_free(names, TRUE);
        return RN_EXIT_USAGE;
    }
    if (plots && g_mkdir_with_parents(out, 0755) < 0) {
        rn_error("cannot create %s: %s", out, g_strerror(errno));
        plots = 0;
    }
    int status = RN_EXIT_OK;
    for (guint i = 0; i < names->len; i++) {
        capture *c = read_capture(dir, g_ptr_array_index(names, i));
        if (c == NULL) {
            status = RN_EXIT_FAIL;
            continue;
        }
        print_capture(c);
        if (plots && c->order->len && plot_capture(c, out, i + 1) < 0) {
            status = RN_EXIT_FAIL;
        }
        if (c->damaged) {
            status = RN_EXIT_FAIL; /* what it shows of that capture is not all of it */
        }
        capture_free(c);
    }
    g_free(out);
    g_ptr_array_free(names, TRUE);
    return status;
}
