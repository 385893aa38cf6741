/*
 * scenario_links.c - the [link NAME] sections: type, rate, delay, loss,
 * queue, capture, the wifi settings, and members (guest NICs and node
 * addresses). Read after every guest and node, which members name.
 */
#include "scenario_parse.h"

#include <stdlib.h>
#include <string.h>

static int find_index(GPtrArray *a, const char *name)
{
    for (guint i = 0; i < a->len; i++) {
        const rn_section *s = *(const rn_section **)g_ptr_array_index(a, i);
        if (strcmp(s->name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* "nic2" -> 2; -1 when it is no NIC of a guest. */
static long member_nic(const char *nicpart)
{
    char *end;
    long nic = -1;
    if (g_str_has_prefix(nicpart, "nic") && g_ascii_isdigit(nicpart[3])) {
        nic = strtol(nicpart + 3, &end, 10);
        if (*end != '\0') {
            nic = -1;
        }
    }
    return nic < 0 || nic >= QNS_MAX_NICS ? -1 : nic;
}

/* Guest m's NIC (nicpart, NULL: nic0) as a member of link l into *mb; 0,
 * or -1 after a mistake. attached: "guest.nicN" -> the link it is on. */
static int guest_member(rn_scenario *sc, rn_link *l, const rn_key *k, const char *m,
                        const char *addr, const char *nicpart, rn_member *mb, GHashTable *attached)
{
    rn_guest *g = g_ptr_array_index(sc->guests, mb->index);
    mb->is_guest = 1;
    if (addr) {
        rn_sc_err(sc, k->line,
                  "members: '%s' is a guest; give its address as nicN.ip in [guest %s]", m, m);
        return -1;
    }
    if (nicpart && (mb->nic = (int)member_nic(nicpart)) < 0) {
        rn_sc_err(sc, k->line, "members: bad NIC '%s' of guest %s (expected nic0 .. nic%d)",
                  rn_sc_shown(sc, nicpart), m, QNS_MAX_NICS - 1);
        return -1;
    }
    if (mb->nic + 1 > g->cfg.nic_count) {
        g->cfg.nic_count = mb->nic + 1;
    }
    char *id = g_strdup_printf("%s.nic%d", m, mb->nic);
    const rn_link *other = g_hash_table_lookup(attached, id);
    if (other) {
        rn_sc_err(sc, k->line, "members: %s is already on link %s (line %d)", id, other->sec->name,
                  other->sec->line);
        g_free(id);
        return -1;
    }
    g_hash_table_insert(attached, rn_sc_own(sc, id), l);
    return 0;
}

/* Node m at address addr as a member into *mb; 0, or -1 after a mistake. */
static int node_member(rn_scenario *sc, const rn_key *k, const char *m, const char *addr,
                       const char *nicpart, rn_member *mb)
{
    char *why = NULL;
    if (nicpart) {
        rn_sc_err(sc, k->line, "members: node %s has no NICs to choose; write %s=A.B.C.D/P", m, m);
        return -1;
    }
    if (addr == NULL) {
        rn_sc_err(sc, k->line, "members: node %s needs an address: %s=A.B.C.D/P", m, m);
        return -1;
    }
    if (rn_parse_ipv4(addr, 1, &why) < 0) {
        rn_sc_err(sc, k->line, "members: %s: %s", m, why);
        g_free(why);
        return -1;
    }
    mb->ipv4 = rn_sc_own(sc, g_strdup(addr));
    return 0;
}

/* One member "guest", "guest.nicN" or "node=A.B.C.D/P" (m, changed in
 * place) of link l, or a mistake reported. */
static void parse_member(rn_scenario *sc, rn_link *l, const rn_key *k, char *m,
                         GHashTable *attached)
{
    rn_member mb = {.line = k->line};
    char *eq = strchr(m, '=');
    char *addr = NULL;
    if (eq) {
        *eq = '\0';
        addr = g_strstrip(eq + 1);
        g_strstrip(m);
    }
    char *dot = strchr(m, '.');
    const char *nicpart = NULL;
    if (dot) {
        *dot = '\0';
        nicpart = dot + 1;
    }
    int gi = find_index(sc->guests, m), ni = find_index(sc->nodes, m);
    if (gi < 0 && ni < 0) {
        const char *q = rn_sc_shown(sc, m);
        rn_sc_err(sc, k->line, "members: '%s' is neither a [guest %s] nor a [node %s] of this file",
                  q, q, q);
        return;
    }
    mb.index = gi >= 0 ? gi : ni;
    int r = gi >= 0 ? guest_member(sc, l, k, m, addr, nicpart, &mb, attached)
                    : node_member(sc, k, m, addr, nicpart, &mb);
    if (r == 0) {
        g_array_append_val(l->members, mb);
    }
}

/* Where each guest NIC is attached: key "guest/nic" -> link section. */
static void parse_members(rn_scenario *sc, rn_link *l, const rn_key *k, const char *v,
                          GHashTable *attached)
{
    gchar **items = g_strsplit(v, ",", -1);
    for (int i = 0; items[i]; i++) {
        char *m = g_strstrip(items[i]);
        if (*m == '\0') {
            rn_sc_err(sc, k->line, "members: empty member in '%s'", rn_sc_shown(sc, v));
            continue;
        }
        parse_member(sc, l, k, m, attached);
    }
    g_strfreev(items);
}

/* The C API's checks of a link's settings (qns_link_check), made key by key
 * in file order: a mistake is reported at the line of the key that makes
 * it (a wired setting on a wifi link, a wifi_rate the standard lacks, ...). */
static void check_link_settings(rn_scenario *sc, const rn_link *l, const rn_key **keys, int n)
{
    qns_link_config c = {.name = l->cfg.name, .type = l->cfg.type};
    const qns_link_config *v = &l->cfg;
    char e[QNS_ERRBUF_SIZE];
    for (int i = 0; i < n; i++) {
        const char *k = keys[i]->key;
        if (strcmp(k, "rate") == 0) {
            c.rate_bps = v->rate_bps;
        } else if (strcmp(k, "delay") == 0) {
            c.delay_ns = v->delay_ns;
        } else if (strcmp(k, "loss") == 0) {
            c.loss = v->loss;
        } else if (strcmp(k, "queue") == 0) {
            c.queue_packets = v->queue_packets;
        } else if (strcmp(k, "wifi_mode") == 0) {
            c.wifi_mode = v->wifi_mode;
        } else if (strcmp(k, "standard") == 0) {
            c.standard = v->standard;
        } else if (strcmp(k, "distance") == 0) {
            c.distance_m = v->distance_m;
        } else if (strcmp(k, "rate_manager") == 0) {
            c.rate_manager = v->rate_manager;
        } else if (strcmp(k, "wifi_rate") == 0) {
            c.wifi_rate = v->wifi_rate;
        } else {
            continue;
        }
        if (qns_link_check(&c, e) < 0) {
            rn_sc_err(sc, keys[i]->line, "%s", e);
            return;
        }
    }
}

static const char *const link_keys[] = {
    "type",     "rate",         "delay",     "loss",     "queue",   "capture", "wifi_mode",
    "standard", "rate_manager", "wifi_rate", "distance", "members", NULL};

static int is_link_key(const char *k)
{
    for (const char *const *x = link_keys; *x; x++) {
        if (strcmp(k, *x) == 0) {
            return 1;
        }
    }
    return 0;
}

static void parse_link_type(rn_scenario *sc, rn_link *l, const rn_key *k, const char *v)
{
    if (strcmp(v, "csma") == 0) {
        l->cfg.type = QNS_LINK_CSMA;
    } else if (strcmp(v, "p2p") == 0) {
        l->cfg.type = QNS_LINK_P2P;
    } else if (strcmp(v, "wifi") == 0) {
        l->cfg.type = QNS_LINK_WIFI;
    } else {
        rn_sc_err(sc, k->line, "type: unknown link type '%s'; expected csma, p2p or wifi",
                  rn_sc_shown(sc, v));
    }
}

/* A unit parser's value: 0, or -1 with *why set. */
static int parse_link_unit(const rn_key *k, const char *v, qns_link_config *c, char **why)
{
    if (strcmp(k->key, "rate") == 0) {
        return rn_parse_rate_bps(v, &c->rate_bps, why);
    } else if (strcmp(k->key, "delay") == 0) {
        return rn_parse_duration_ns(v, &c->delay_ns, why);
    } else if (strcmp(k->key, "loss") == 0) {
        return rn_parse_loss(v, &c->loss, why);
    } else if (strcmp(k->key, "queue") == 0) {
        return rn_parse_queue(v, &c->queue_packets, why);
    } else if (strcmp(k->key, "capture") == 0) {
        return rn_parse_bool(v, &c->capture, why);
    }
    return rn_parse_distance_m(v, &c->distance_m, why);
}

/* One setting of a link: every key but members. */
static void parse_link_setting(rn_scenario *sc, rn_link *l, const rn_key *k, char *v)
{
    char *why = NULL;
    if (strcmp(k->key, "type") == 0) {
        parse_link_type(sc, l, k, v);
    } else if (strcmp(k->key, "wifi_mode") == 0) {
        l->cfg.wifi_mode = v;
    } else if (strcmp(k->key, "standard") == 0) {
        l->cfg.standard = v;
    } else if (strcmp(k->key, "rate_manager") == 0) {
        l->cfg.rate_manager = v;
    } else if (strcmp(k->key, "wifi_rate") == 0) {
        l->cfg.wifi_rate = v;
    } else if (parse_link_unit(k, v, &l->cfg, &why) < 0) {
        rn_sc_err_why(sc, k, why);
    }
}

static void parse_link(rn_scenario *sc, rn_link *l, GHashTable *attached)
{
    const rn_section *s = l->sec;
    const rn_key *members = NULL;
    int errors = sc->error_count;
    for (guint i = 0; i < s->keys->len; i++) {
        const rn_key *k = g_ptr_array_index(s->keys, i);
        char *v = rn_sc_known_value(sc, s, k, is_link_key(k->key),
                                    "type, rate, delay, loss, queue, capture, wifi_mode, "
                                    "standard, rate_manager, wifi_rate, distance, members");
        if (v == NULL) {
            continue;
        }
        if (strcmp(k->key, "members") == 0) {
            members = k;
        } else {
            parse_link_setting(sc, l, k, v);
        }
    }
    if (sc->error_count == errors) {
        check_link_settings(sc, l, (const rn_key **)s->keys->pdata, (int)s->keys->len);
    }
    /* After type, wherever it was written: p2p checks the member count. */
    if (members) {
        char *v = rn_sc_value(sc, s, members);
        if (v) {
            parse_members(sc, l, members, v, attached);
        }
    } else {
        rn_sc_err(sc, s->line, "[link %s] has no members", s->name);
    }
}

void rn_sc_parse_links(rn_scenario *sc)
{
    for (guint i = 0; i < sc->sections->len; i++) {
        const rn_section *s = g_ptr_array_index(sc->sections, i);
        if (s->kind == SEC_LINK) {
            rn_link *l = g_new0(rn_link, 1);
            l->sec = s;
            l->cfg.name = s->name;
            l->members = g_array_new(FALSE, FALSE, sizeof(rn_member));
            g_ptr_array_add(sc->links, l);
        }
    }
    GHashTable *attached = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < sc->links->len; i++) {
        parse_link(sc, g_ptr_array_index(sc->links, i), attached);
    }
    g_hash_table_destroy(attached);
}
