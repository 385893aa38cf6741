/*
 * scenario_build.c - a parsed scenario into qns.h calls: its [scenario]
 * settings as a qns_sim_config, then every guest, node, link, member,
 * application and route added to the simulation.
 */
#include "scenario_parse.h"

#include <inttypes.h>
#include <string.h>

qns_sim_config rn_settings_sim_config(const rn_settings *set, const char *out_dir)
{
    qns_sim_config cfg = {.quantum_us = set->quantum_us,
                          .seed = set->seed,
                          .out_dir = out_dir,
                          .qemu = set->qemu,
                          .guest_dir = set->guest_dir,
                          .snapshot_dir = set->snapshot_dir,
                          .stop = set->stop,
                          .stop_ctx = set->stop_ctx,
                          .snapshot_boot = set->snapshot_boot,
                          .spin_us = set->spin_us,
                          .pin = set->pin,
                          .flow_monitor = set->flow_monitor,
                          .guest_image = set->guest_image,
                          .watchdog_ms = set->watchdog_ms,
                          .watchdog_off = "set watchdog = off in [scenario]",
                          .rounds = set->fixed_rounds ? QNS_ROUNDS_FIXED : QNS_ROUNDS_ADAPTIVE};
    return cfg;
}

/*
 * Every call into the C API, each of its refusals reported at the line of
 * what it refused: a mistake does not stop the others from being found (what
 * depends on a refused guest, node or link is left out). The checks are the
 * API's own; this only adds FILE:LINE.
 */
/* The line of the key an API refusal of a guest names ("guest NAME: KEY: ..."
 * or "guest NAME: KEY ..."), else the guest's section. */
static int refused_key_line(const rn_guest *g, const char *e)
{
    char *prefix = g_strdup_printf("guest %s: ", g->sec->name);
    int line = g->sec->line;
    if (g_str_has_prefix(e, prefix)) {
        const char *k = e + strlen(prefix);
        for (guint i = 0; i < g->sec->keys->len; i++) {
            const rn_key *key = g_ptr_array_index(g->sec->keys, i);
            size_t n = strlen(key->key);
            if (strncmp(k, key->key, n) == 0 && (k[n] == ':' || k[n] == ' ')) {
                line = key->line;
                break;
            }
        }
    }
    g_free(prefix);
    return line;
}

/* A build in progress: the simulation, and the API's index of each guest,
 * node and link (-1: refused). */
typedef struct build {
    rn_scenario *sc;
    qns_sim *sim;
    int *guest, *node, *link;
    char e[QNS_ERRBUF_SIZE];
} build;

static void add_guests(build *b)
{
    rn_scenario *sc = b->sc;
    for (guint i = 0; i < sc->guests->len; i++) {
        rn_guest *g = g_ptr_array_index(sc->guests, i);
        if ((b->guest[i] = qns_sim_add_guest(b->sim, &g->cfg, b->e)) < 0) {
            rn_sc_err(sc, refused_key_line(g, b->e), "%s", b->e);
        } else if (g->files_line && g->file_sources == NULL) {
            g->file_sources = g_ptr_array_new_with_free_func(g_free);
            for (const char *const *f = qns_sim_guest_files(b->sim, b->guest[i]); f && *f; f++) {
                g_ptr_array_add(g->file_sources, g_strdup(*f));
            }
        }
    }
}

static void add_nodes(build *b)
{
    rn_scenario *sc = b->sc;
    for (guint i = 0; i < sc->nodes->len; i++) {
        rn_node *n = g_ptr_array_index(sc->nodes, i);
        if ((b->node[i] = qns_sim_add_node(b->sim, n->sec->name, b->e)) < 0) {
            rn_sc_err(sc, n->sec->line, "%s", b->e);
        } else if (qns_sim_set_node_rank(b->sim, b->node[i], n->rank, b->e) < 0) {
            rn_sc_err(sc, n->rank_line, "%s", b->e);
        }
    }
}

/* The members of link i that were added themselves. */
static void attach_members(build *b, guint i)
{
    rn_scenario *sc = b->sc;
    const rn_link *l = g_ptr_array_index(sc->links, i);
    for (guint m = 0; m < l->members->len; m++) {
        const rn_member *mb = &g_array_index(l->members, rn_member, m);
        int r = 0;
        if (mb->is_guest && b->guest[mb->index] >= 0) {
            const rn_guest *g = g_ptr_array_index(sc->guests, mb->index);
            r = qns_sim_attach_guest(b->sim, b->link[i], b->guest[mb->index], mb->nic,
                                     g->latency_ns[mb->nic], b->e);
        } else if (!mb->is_guest && b->node[mb->index] >= 0) {
            r = qns_sim_attach_node(b->sim, b->link[i], b->node[mb->index], mb->ipv4, b->e);
        }
        if (r < 0) {
            rn_sc_err(sc, mb->line, "%s", b->e);
        }
    }
}

static void add_links(build *b)
{
    rn_scenario *sc = b->sc;
    for (guint i = 0; i < sc->links->len; i++) {
        const rn_link *l = g_ptr_array_index(sc->links, i);
        if ((b->link[i] = qns_sim_add_link(b->sim, &l->cfg, b->e)) < 0) {
            rn_sc_err(sc, l->sec->line, "%s", b->e);
        } else {
            attach_members(b, i);
        }
    }
}

/* [scenario] ranks = N: qns puts guests and nodes on ranks, which no rank
 * key may do too. */
static void partition(build *b)
{
    rn_scenario *sc = b->sc;
    if (sc->auto_ranks == 0) {
        return;
    }
    for (guint i = 0; i < sc->guests->len + sc->nodes->len; i++) {
        const rn_guest *g = i < sc->guests->len ? g_ptr_array_index(sc->guests, i) : NULL;
        const rn_node *n = g ? NULL : g_ptr_array_index(sc->nodes, i - sc->guests->len);
        int line = g ? g->rank_line : n->rank_line;
        if (line > 0) {
            rn_sc_err(sc, line,
                      "rank: [scenario] ranks = %" PRIu32 " (line %d) puts guests and nodes "
                      "on ranks by itself; give either ranks or rank keys",
                      sc->auto_ranks, sc->auto_ranks_line);
        }
    }
    if (qns_sim_partition(b->sim, sc->auto_ranks, b->e) < 0) {
        rn_sc_err(sc, sc->auto_ranks_line, "ranks: %s", b->e);
    }
}

/* The rank each added guest and node is on (its rank key's, or the
 * partition's). */
static void read_ranks(build *b)
{
    rn_scenario *sc = b->sc;
    for (guint i = 0; i < sc->guests->len; i++) {
        rn_guest *g = g_ptr_array_index(sc->guests, i);
        if (b->guest[i] >= 0) {
            g->cfg.rank = qns_sim_guest_rank(b->sim, b->guest[i]);
        }
    }
    for (guint i = 0; i < sc->nodes->len; i++) {
        rn_node *n = g_ptr_array_index(sc->nodes, i);
        if (b->node[i] >= 0) {
            n->rank = qns_sim_node_rank(b->sim, b->node[i]);
        }
    }
}

static void check_links(build *b)
{
    rn_scenario *sc = b->sc;
    for (guint i = 0; i < sc->links->len; i++) {
        const rn_link *l = g_ptr_array_index(sc->links, i);
        if (b->link[i] >= 0 && qns_sim_link_check(b->sim, b->link[i], b->e) < 0) {
            rn_sc_err(sc, l->sec->line, "%s", b->e);
        }
    }
}

/* Node i's UDP echo servers and clients and its applications. */
static void add_node_apps(build *b, guint i)
{
    rn_scenario *sc = b->sc;
    const rn_node *n = g_ptr_array_index(sc->nodes, i);
    for (guint k = 0; k < n->servers->len; k++) {
        const rn_server *sv = &g_array_index(n->servers, rn_server, k);
        if (qns_sim_udp_echo_server(b->sim, b->node[i], sv->port, b->e) < 0) {
            rn_sc_err(sc, sv->line, "%s", b->e);
        }
    }
    for (guint k = 0; k < n->clients->len; k++) {
        const rn_client *c = &g_array_index(n->clients, rn_client, k);
        if (qns_sim_udp_echo_client(b->sim, b->node[i], c->ip, c->port, c->count, c->interval_ns,
                                    c->size, c->start_ns, b->e) < 0) {
            rn_sc_err(sc, c->line, "%s", b->e);
        }
    }
    for (guint k = 0; k < n->apps->len; k++) {
        const rn_app *a = &g_array_index(n->apps, rn_app, k);
        if (qns_sim_add_app(b->sim, b->node[i], &a->cfg, b->e) < 0) {
            rn_sc_err(sc, a->line, "%s", b->e);
        }
    }
}

/* Node i's routes; the line of each one added into route_lines, which
 * qns_sim_route_check numbers as added. */
static void add_node_routes(build *b, guint i, GArray *route_lines)
{
    rn_scenario *sc = b->sc;
    const rn_node *n = g_ptr_array_index(sc->nodes, i);
    for (guint k = 0; k < n->routes->len; k++) {
        const rn_route *r = &g_array_index(n->routes, rn_route, k);
        if (qns_sim_add_route(b->sim, b->node[i], r->destination, r->gateway, b->e) < 0) {
            rn_sc_err(sc, r->line, "%s", b->e);
        } else {
            g_array_append_val(route_lines, r->line);
        }
    }
}

static void add_apps_and_routes(build *b)
{
    rn_scenario *sc = b->sc;
    GArray *route_lines = g_array_new(FALSE, FALSE, sizeof(int));
    for (guint i = 0; i < sc->nodes->len; i++) {
        if (b->node[i] >= 0) {
            add_node_apps(b, i);
            add_node_routes(b, i, route_lines);
        }
    }
    for (guint r = 0; r < route_lines->len; r++) {
        if (qns_sim_route_check(b->sim, (int)r, b->e) < 0) {
            rn_sc_err(sc, g_array_index(route_lines, int, r), "%s", b->e);
        }
    }
    g_array_free(route_lines, TRUE);
}

qns_sim *rn_scenario_build(const rn_scenario *csc, const qns_sim_config *config, GString *errors)
{
    build b = {.sc = (rn_scenario *)csc};
    rn_scenario *sc = b.sc;
    sc->errors = errors;
    int before = sc->error_count;
    if ((b.sim = qns_sim_new(config, b.e)) == NULL) {
        rn_sc_err(sc, 0, "%s", b.e);
        return NULL;
    }
    b.guest = g_new(int, sc->guests->len + 1);
    b.node = g_new(int, sc->nodes->len + 1);
    b.link = g_new(int, sc->links->len + 1);
    add_guests(&b);
    add_nodes(&b);
    add_links(&b);
    partition(&b);
    read_ranks(&b);
    check_links(&b);
    add_apps_and_routes(&b);
    if (qns_sim_ranks_check(b.sim, 1, b.e) < 0) {
        rn_sc_err(sc, 0, "%s", b.e);
    }
    sc->set.rank_count = qns_sim_rank_count(b.sim);
    g_free(b.guest);
    g_free(b.node);
    g_free(b.link);
    if (sc->error_count > before) {
        qns_sim_free(b.sim);
        return NULL;
    }
    return b.sim;
}
