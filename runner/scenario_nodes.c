/*
 * scenario_nodes.c - a [node NAME] section: its applications (UDP echo
 * servers and clients, packet sinks, bulk and on-off senders), its static
 * routes and its MPI rank. Protocols, addresses and which options go with
 * which application are the C API's to check.
 */
#include "scenario_parse.h"

#include <string.h>

static int parse_port(const char *s, uint16_t *port, char **why)
{
    uint64_t n;
    if (rn_parse_uint(s, 65535, &n, why) < 0 || n == 0) {
        if (*why == NULL) {
            char *q = rn_quote(s);
            *why = g_strdup_printf("bad port '%s' (expected 1 .. 65535)", q);
            g_free(q);
        }
        return -1;
    }
    *port = (uint16_t)n;
    return 0;
}

/* The words of v, split at blanks, none empty (g_strfreev them). */
static gchar **words_of(const char *v)
{
    gchar **w = g_strsplit_set(v, " \t", -1);
    int n = 0;
    for (int i = 0; w[i]; i++) {
        if (*w[i] != '\0') {
            w[n++] = w[i];
        } else {
            g_free(w[i]);
        }
    }
    w[n] = NULL;
    return w;
}

/* Splits word "OPTION=VALUE" at its '=' into *opt and *val; 0, or -1 with
 * the mistake reported. */
static int split_option(rn_scenario *sc, const rn_key *k, char *word, const char **opt,
                        const char **val)
{
    char *eq = strchr(word, '=');
    if (eq == NULL) {
        rn_sc_err(sc, k->line, "%s: expected OPTION=VALUE, got '%s'", k->key,
                  rn_sc_shown(sc, word));
        return -1;
    }
    *eq = '\0';
    *opt = word;
    *val = eq + 1;
    return 0;
}

/* Reports option opt of key k as bad (why from its parser) or unknown. */
static void bad_option(rn_scenario *sc, const rn_key *k, const char *opt, char *why,
                       const char *known)
{
    if (why) {
        rn_sc_err(sc, k->line, "%s: %s: %s", k->key, rn_sc_shown(sc, opt), why);
        g_free(why);
    } else {
        rn_sc_err(sc, k->line, "%s: unknown option '%s'; expected %s", k->key, rn_sc_shown(sc, opt),
                  known);
    }
}

/* "10.0.0.1:9 count=5 interval=1s size=64 start=2s" */
static void parse_client(rn_scenario *sc, rn_node *n, const rn_key *k, const char *v)
{
    rn_client c = {.line = k->line, .count = 1, .interval_ns = 1000000000, .size = 64};
    char *why = NULL;
    gchar **w = words_of(v);
    int ok = 1;
    char *colon = w[0] ? strrchr(w[0], ':') : NULL;
    if (w[0] == NULL) {
        rn_sc_err(sc, k->line,
                  "%s: expected SERVER_IP:PORT [count=N] [interval=DUR] [size=BYTES] "
                  "[start=DUR]",
                  k->key);
        ok = 0;
    } else if (colon == NULL) {
        rn_sc_err(sc, k->line, "%s: expected SERVER_IP:PORT first, got '%s'", k->key,
                  rn_sc_shown(sc, w[0]));
        ok = 0;
    } else {
        *colon = '\0';
        if (rn_parse_ipv4(w[0], 0, &why) < 0 || parse_port(colon + 1, &c.port, &why) < 0) {
            rn_sc_err_why(sc, k, why);
            ok = 0;
        }
        c.ip = rn_sc_own(sc, g_strdup(w[0]));
    }
    for (int i = 1; ok && w[i]; i++) {
        const char *opt, *val;
        uint64_t x;
        if (split_option(sc, k, w[i], &opt, &val) < 0) {
            ok = 0;
        } else if (strcmp(opt, "count") == 0 && rn_parse_uint(val, UINT32_MAX, &x, &why) == 0) {
            c.count = (uint32_t)x;
        } else if (strcmp(opt, "size") == 0 && rn_parse_uint(val, 65507, &x, &why) == 0) {
            c.size = (uint32_t)x;
        } else if (strcmp(opt, "interval") == 0 &&
                   rn_parse_duration_ns(val, &c.interval_ns, &why) == 0) {
        } else if (strcmp(opt, "start") == 0 && rn_parse_duration_ns(val, &c.start_ns, &why) == 0) {
        } else {
            bad_option(sc, k, opt, why, "count, interval, size, start");
            ok = 0;
        }
    }
    if (ok) {
        g_array_append_val(n->clients, c);
    }
    g_strfreev(w);
}

/* "10.0.2.0/24 via 10.0.1.1"; whether the gateway is on one of the node's
 * subnets is checked once every link is read (check_routes). */
static void parse_route(rn_scenario *sc, rn_node *n, const rn_key *k)
{
    gchar **w = g_strsplit_set(k->text, " \t", -1);
    const char *word[3] = {NULL, NULL, NULL};
    int count = 0;
    for (int i = 0; w[i]; i++) {
        if (*w[i] == '\0') {
            continue;
        }
        if (count < 3) {
            word[count] = w[i];
        }
        count++;
    }
    char *why = NULL;
    if (count != 3 || strcmp(word[1], "via") != 0) {
        rn_sc_err(
            sc, k->line,
            "route: expected DEST/PREFIX via GATEWAY, e.g. 10.0.2.0/24 via 10.0.1.1, got '%s'",
            rn_sc_shown(sc, k->text));
    } else if (rn_parse_ipv4(word[0], 1, &why) < 0 || rn_parse_ipv4(word[2], 0, &why) < 0) {
        rn_sc_err_why(sc, k, why);
    } else {
        rn_route r = {.line = k->line,
                      .destination = rn_sc_own(sc, g_strdup(word[0])),
                      .gateway = rn_sc_own(sc, g_strdup(word[2]))};
        g_array_append_val(n->routes, r);
    }
    g_strfreev(w);
}

/* "tcp:5000, udp:6000": the protocol is the C API's to check. */
static void parse_sinks(rn_scenario *sc, rn_node *n, const rn_key *k, const char *v)
{
    gchar **items = g_strsplit_set(v, ", ", -1);
    for (int i = 0; items[i]; i++) {
        rn_app a = {.line = k->line, .cfg = {.kind = QNS_APP_PACKET_SINK}};
        char *why = NULL, *colon = strchr(items[i], ':');
        if (*items[i] == '\0') {
            continue;
        }
        if (colon == NULL) {
            rn_sc_err(sc, k->line, "%s: expected tcp:PORT or udp:PORT, got '%s'", k->key,
                      rn_sc_shown(sc, items[i]));
            continue;
        }
        *colon = '\0';
        if (parse_port(colon + 1, &a.cfg.port, &why) < 0) {
            rn_sc_err_why(sc, k, why);
            continue;
        }
        a.cfg.protocol = rn_sc_own(sc, g_strdup(items[i]));
        g_array_append_val(n->apps, a);
    }
    g_strfreev(items);
}

/* bulk-send "tcp:10.0.0.2:5000 max=1000000 start=1s", on-off "udp:10.0.0.2:9
 * rate=1Mbps size=1000 on=100ms off=100ms start=1s stop=2s": protocol,
 * address and which options go with which kind are the C API's to check. */
static void parse_sender(rn_scenario *sc, rn_node *n, const rn_key *k, const char *v,
                         qns_app_kind kind)
{
    rn_app a = {.line = k->line, .cfg = {.kind = kind}};
    char *why = NULL;
    gchar **w = words_of(v);
    int ok = 1;
    char *c1 = w[0] ? strchr(w[0], ':') : NULL, *c2 = w[0] ? strrchr(w[0], ':') : NULL;
    if (w[0] == NULL) {
        rn_sc_err(sc, k->line, "%s: expected PROTOCOL:ADDR:PORT [OPTION=VALUE ...]", k->key);
        ok = 0;
    } else if (c1 == NULL || c1 == c2) {
        rn_sc_err(sc, k->line, "%s: expected PROTOCOL:ADDR:PORT first, got '%s'", k->key,
                  rn_sc_shown(sc, w[0]));
        ok = 0;
    } else {
        *c1 = *c2 = '\0';
        if (parse_port(c2 + 1, &a.cfg.port, &why) < 0) {
            rn_sc_err_why(sc, k, why);
            ok = 0;
        }
        a.cfg.protocol = rn_sc_own(sc, g_strdup(w[0]));
        a.cfg.remote_ipv4 = rn_sc_own(sc, g_strdup(c1 + 1));
    }
    for (int i = 1; ok && w[i]; i++) {
        const char *opt, *val;
        uint64_t x;
        if (split_option(sc, k, w[i], &opt, &val) < 0) {
            ok = 0;
        } else if (strcmp(opt, "max") == 0 &&
                   rn_parse_uint(val, UINT64_MAX, &a.cfg.max_bytes, &why) == 0) {
        } else if (strcmp(opt, "start") == 0 &&
                   rn_parse_duration_ns(val, &a.cfg.start_ns, &why) == 0) {
        } else if (strcmp(opt, "stop") == 0 &&
                   rn_parse_duration_ns(val, &a.cfg.stop_ns, &why) == 0) {
        } else if (strcmp(opt, "rate") == 0 && rn_parse_rate_bps(val, &a.cfg.rate_bps, &why) == 0) {
        } else if (strcmp(opt, "size") == 0 && rn_parse_uint(val, UINT32_MAX, &x, &why) == 0) {
            a.cfg.size = (uint32_t)x;
        } else if (strcmp(opt, "on") == 0 && rn_parse_duration_ns(val, &a.cfg.on_ns, &why) == 0) {
        } else if (strcmp(opt, "off") == 0 && rn_parse_duration_ns(val, &a.cfg.off_ns, &why) == 0) {
        } else {
            bad_option(sc, k, opt, why, "max, start, stop, rate, size, on, off");
            ok = 0;
        }
    }
    if (ok) {
        g_array_append_val(n->apps, a);
    }
    g_strfreev(w);
}

/* "7, 9": UDP echo servers on these ports. */
static void parse_servers(rn_scenario *sc, rn_node *n, const rn_key *k, const char *v)
{
    gchar **ports = g_strsplit_set(v, ", ", -1);
    for (int p = 0; ports[p]; p++) {
        rn_server srv = {.line = k->line};
        char *why = NULL;
        if (*ports[p] == '\0') {
            continue;
        }
        if (parse_port(ports[p], &srv.port, &why) < 0) {
            rn_sc_err_why(sc, k, why);
        } else {
            g_array_append_val(n->servers, srv);
        }
    }
    g_strfreev(ports);
}

static void parse_node_key(rn_scenario *sc, rn_node *n, const rn_key *k)
{
    const rn_section *s = n->sec;
    if (strcmp(k->key, "route") == 0) {
        parse_route(sc, n, k);
        return;
    }
    if (strcmp(k->key, "rank") == 0) {
        rn_sc_parse_rank(sc, k, rn_sc_value(sc, s, k), &n->rank, &n->rank_line);
        return;
    }
    int server = strcmp(k->key, "udp-echo-server") == 0;
    int sink = strcmp(k->key, "packet-sink") == 0, bulk = strcmp(k->key, "bulk-send") == 0;
    int on_off = strcmp(k->key, "on-off") == 0;
    int client = strcmp(k->key, "udp-echo-client") == 0;
    char *v = rn_sc_known_value(sc, s, k, server || sink || bulk || on_off || client,
                                "udp-echo-server, udp-echo-client, packet-sink, bulk-send, "
                                "on-off, route, rank");
    if (v == NULL) {
        return;
    }
    if (sink) {
        parse_sinks(sc, n, k, v);
    } else if (bulk || on_off) {
        parse_sender(sc, n, k, v, bulk ? QNS_APP_BULK_SEND : QNS_APP_ON_OFF);
    } else if (server) {
        parse_servers(sc, n, k, v);
    } else {
        parse_client(sc, n, k, v);
    }
}

void rn_sc_parse_node(rn_scenario *sc, const rn_section *s)
{
    rn_node *n = g_new0(rn_node, 1);
    n->sec = s;
    n->servers = g_array_new(FALSE, FALSE, sizeof(rn_server));
    n->clients = g_array_new(FALSE, FALSE, sizeof(rn_client));
    n->routes = g_array_new(FALSE, FALSE, sizeof(rn_route));
    n->apps = g_array_new(FALSE, FALSE, sizeof(rn_app));
    g_ptr_array_add(sc->nodes, n);
    for (guint i = 0; i < s->keys->len; i++) {
        parse_node_key(sc, n, g_ptr_array_index(s->keys, i));
    }
}
