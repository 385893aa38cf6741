/*
 * scenario.c - scenario files: INI read with GLib's GKeyFile, checked in
 * full before anything runs, then turned into qns.h calls.
 *
 * GKeyFile keeps no line numbers, so the file text is scanned here too: the
 * scan finds each section's and key's line (and what GKeyFile would silently
 * merge: a section or key given twice); GKeyFile still reads every value,
 * except a [node]'s route, the one key that may repeat: GKeyFile would keep
 * only the last, so route values come from the scan.
 * Every mistake is reported as "FILE:LINE: what is wrong", all of them, not
 * just the first. Not here: running, manifests (run.c).
 */
#define _GNU_SOURCE
#include "disk_chain.h"
#include "runner.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct rn_key {
    char *key;
    char *text; /* the value as written (read for keys that may repeat) */
    int line;
} rn_key;

typedef enum { SEC_SCENARIO, SEC_GUEST, SEC_NODE, SEC_LINK, SEC_UNKNOWN } sec_kind;

typedef struct rn_section {
    char *group; /* the text between [ and ], as GKeyFile knows it */
    sec_kind kind;
    char *name;
    int line;
    GPtrArray *keys; /* rn_key *, file order */
} rn_section;

typedef struct rn_guest {
    const rn_section *sec;
    qns_guest_config cfg;
    int nic_line[QNS_MAX_NICS]; /* where each NIC was first mentioned */
    int mac_line[QNS_MAX_NICS], ip_line[QNS_MAX_NICS]; /* nicN.mac, nicN.ip; 0: not given */
    uint64_t latency_ns[QNS_MAX_NICS];
    int rank_line; /* rank = N; 0: not given */
    char *kernel_path, *initrd_path, *disk_path; /* resolved */
    char **disk_backing; /* the disk's backing files (disk_chain.c), NULL-terminated */
    /* files = ...: its line (0: not given), its SRC:DST pairs as written,
     * and the files the API packed (qns_sim_guest_files) */
    int files_line;
    char **files_given;
    GPtrArray *file_sources;
} rn_guest;

typedef struct rn_client {
    int line;
    char *ip;
    uint16_t port;
    uint32_t count, size;
    uint64_t interval_ns, start_ns;
} rn_client;

typedef struct rn_server {
    int line;
    uint16_t port;
} rn_server;

typedef struct rn_app {
    int line;
    qns_app_config cfg; /* strings owned by the scenario */
} rn_app;

typedef struct rn_route {
    int line;
    char *destination, *gateway;
} rn_route;

typedef struct rn_node {
    const rn_section *sec;
    uint32_t rank; /* rank = N */
    int rank_line;
    GArray *servers; /* rn_server */
    GArray *clients; /* rn_client */
    GArray *routes;  /* rn_route */
    GArray *apps;    /* rn_app: packet sinks, bulk senders */
} rn_node;

typedef struct rn_member {
    int line;
    int is_guest;
    int index;
    int nic;
    char *ipv4;
} rn_member;

typedef struct rn_link {
    const rn_section *sec;
    qns_link_config cfg;
    GArray *members; /* rn_member */
} rn_link;

struct rn_scenario {
    char *path;
    char *base_dir;
    char *text;
    GKeyFile *kf;
    GPtrArray *sections; /* rn_section * */
    char *name;
    uint64_t duration_ns;
    uint32_t quantum_us, seed, spin_us;
    uint32_t watchdog_ms; /* as qns_sim_config takes it */
    int pin;
    char *guest_image, *guest_image_dir; /* [scenario] guest_image = KEY, its folder */
    int fixed_rounds;
    int flow_monitor;
    uint32_t rank_count; /* processes the split scenario runs on (1: not split) */
    uint32_t auto_ranks; /* [scenario] ranks = N: qns partitions (0: off) */
    int auto_ranks_line;
    GPtrArray *guests, *nodes, *links;
    GPtrArray *owned;      /* strings the configs point into */
    GPtrArray *owned_strv; /* argv vectors the configs point into */
    GString *errors;
    int error_count;
};

static void err(rn_scenario *sc, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void err(rn_scenario *sc, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    /* Control bytes never reach the terminal, wherever they came from (the
     * path, a message of the C API); values are shortened where quoted. */
    char *file = rn_quote_path(sc->path), *text = rn_escape(msg);
    if (line > 0) {
        g_string_append_printf(sc->errors, "%s:%d: %s\n", file, line, text);
    } else {
        g_string_append_printf(sc->errors, "%s: %s\n", file, text);
    }
    sc->error_count++;
    g_free(text);
    g_free(file);
    g_free(msg);
}

/* Reports a unit parser's reason as "KEY: reason". */
static void err_why(rn_scenario *sc, const rn_key *k, char *why)
{
    err(sc, k->line, "%s: %s", k->key, why);
    g_free(why);
}

static char *own(rn_scenario *sc, char *s)
{
    g_ptr_array_add(sc->owned, s);
    return s;
}

/* User input as a message quotes it (rn_quote), owned by sc. */
static const char *shown(rn_scenario *sc, const char *s)
{
    return own(sc, rn_quote(s));
}

/* A path as a message quotes it: escaped, cut only past PATH_MAX. */
static const char *shown_path(rn_scenario *sc, const char *s)
{
    return own(sc, rn_quote_path(s));
}

static void section_free(gpointer p)
{
    rn_section *s = p;
    for (guint i = 0; i < s->keys->len; i++) {
        rn_key *k = g_ptr_array_index(s->keys, i);
        g_free(k->key);
        g_free(k->text);
        g_free(k);
    }
    g_ptr_array_free(s->keys, TRUE);
    g_free(s->group);
    g_free(s->name);
    g_free(s);
}

static const char *kind_word(sec_kind k)
{
    static const char *w[] = {"scenario", "guest", "node", "link", "?"};
    return w[k];
}

/* ---- pass 1: the text, for lines ---------------------------------------- */

static void scan_group(rn_scenario *sc, const char *text, int line, GHashTable *names)
{
    char why[QNS_ERRBUF_SIZE];
    rn_section *s = g_new0(rn_section, 1);
    s->group = g_strdup(text);
    s->line = line;
    s->keys = g_ptr_array_new();
    g_ptr_array_add(sc->sections, s);

    char *t = g_strstrip(g_strdup(text));
    char *space = strpbrk(t, " \t");
    char *word = g_strndup(t, space ? (size_t)(space - t) : strlen(t));
    s->name = g_strstrip(g_strdup(space ? space : ""));
    s->kind = SEC_UNKNOWN;
    for (int k = SEC_SCENARIO; k < SEC_UNKNOWN; k++) {
        if (strcmp(word, kind_word((sec_kind)k)) == 0) {
            s->kind = (sec_kind)k;
        }
    }
    if (s->kind == SEC_UNKNOWN) {
        err(sc, line,
            "unknown section [%s]; expected [scenario], [guest NAME], [node NAME] or [link NAME]",
            shown(sc, t));
    } else if (s->kind == SEC_SCENARIO && *s->name) {
        err(sc, line, "section [scenario] takes no name");
        s->kind = SEC_UNKNOWN;
    } else if (s->kind != SEC_SCENARIO && !*s->name) {
        err(sc, line, "section [%s] needs a name: [%s NAME]", shown(sc, word), shown(sc, word));
        s->kind = SEC_UNKNOWN;
    } else if (s->kind != SEC_SCENARIO &&
               qns_name_check(kind_word(s->kind), s->name, why) < 0) {
        err(sc, line, "%s", why);
        s->kind = SEC_UNKNOWN;
    } else {
        const char *id = s->kind == SEC_SCENARIO ? "" : s->name;
        rn_section *first = g_hash_table_lookup(names, id);
        if (first && s->kind == SEC_SCENARIO) {
            err(sc, line, "section [scenario] is given twice (first at line %d)", first->line);
            s->kind = SEC_UNKNOWN;
        } else if (first) {
            err(sc, line, "name %s is already used by [%s %s] at line %d", s->name,
                kind_word(first->kind), first->name, first->line);
            s->kind = SEC_UNKNOWN;
        } else {
            g_hash_table_insert(names, (gpointer)id, s);
        }
    }
    g_free(word);
    g_free(t);
}

static void scan_text(rn_scenario *sc)
{
    GHashTable *names = g_hash_table_new(g_str_hash, g_str_equal);
    gchar **lines = g_strsplit(sc->text, "\n", -1);
    rn_section *cur = NULL;
    for (int i = 0; lines[i]; i++) {
        int line = i + 1;
        char *l = g_strstrip(lines[i]);
        if (*l == '\0' || *l == '#') {
            continue;
        }
        if (*l == '[') {
            char *close = strrchr(l, ']');
            if (close == NULL || close[1] != '\0') {
                err(sc, line, "expected a section header [KIND NAME]");
                cur = NULL;
                continue;
            }
            *close = '\0';
            scan_group(sc, l + 1, line, names);
            cur = g_ptr_array_index(sc->sections, sc->sections->len - 1);
            continue;
        }
        char *eq = strchr(l, '=');
        if (eq == NULL || eq == l) {
            err(sc, line, "expected KEY = VALUE or [section], got '%s'", shown(sc, l));
            continue;
        }
        char *key = g_strstrip(g_strndup(l, (size_t)(eq - l)));
        if (cur == NULL) {
            err(sc, line, "key '%s' is outside any section", shown(sc, key));
            g_free(key);
            continue;
        }
        int repeats = cur->kind == SEC_NODE && strcmp(key, "route") == 0;
        for (guint k = 0; k < cur->keys->len && !repeats; k++) {
            rn_key *o = g_ptr_array_index(cur->keys, k);
            if (strcmp(o->key, key) == 0) {
                err(sc, line, "key '%s' is set twice in [%s] (first at line %d)", shown(sc, key),
                    cur->group, o->line);
                g_free(key);
                key = NULL;
                break;
            }
        }
        if (key) {
            rn_key *k = g_new0(rn_key, 1);
            k->key = key;
            k->text = g_strstrip(g_strdup(eq + 1));
            k->line = line;
            g_ptr_array_add(cur->keys, k);
        }
    }
    g_strfreev(lines);
    g_hash_table_destroy(names);
}

/* ---- pass 2: values ------------------------------------------------------ */

static char *value(rn_scenario *sc, const rn_section *s, const rn_key *k)
{
    GError *ge = NULL;
    char *v = g_key_file_get_string(sc->kf, s->group, k->key, &ge);
    if (v == NULL) {
        err(sc, k->line, "%s: %s", shown(sc, k->key), ge ? ge->message : "cannot read");
        g_clear_error(&ge);
        return NULL;
    }
    return own(sc, g_strstrip(v));
}

static void unknown_key(rn_scenario *sc, const rn_section *s, const rn_key *k, const char *known)
{
    err(sc, k->line, "unknown key '%s' in [%s]; expected one of: %s", shown(sc, k->key), s->group,
        known);
}

/* "10s", "500ms": a wall-clock bound of whole milliseconds; "0" or "off": none. */
static void parse_watchdog(rn_scenario *sc, const rn_key *k, const char *v)
{
    uint64_t ns;
    char *why = NULL;
    if (strcmp(v, "0") == 0 || g_ascii_strcasecmp(v, "off") == 0) {
        sc->watchdog_ms = QNS_WATCHDOG_NONE;
    } else if (rn_parse_duration_ns(v, &ns, &why) == 0 && ns > 0 && ns % 1000000 == 0 &&
               ns / 1000000 <= INT32_MAX) {
        sc->watchdog_ms = (uint32_t)(ns / 1000000);
    } else {
        err(sc, k->line,
            "watchdog: '%s' is not a wall-clock time of whole milliseconds (e.g. 10s, 500ms), "
            "or 0 or off for none",
            v);
    }
    g_free(why);
}

static void parse_scenario(rn_scenario *sc, const rn_section *s)
{
    int pin_line = s->line;
    for (guint i = 0; i < s->keys->len; i++) {
        const rn_key *k = g_ptr_array_index(s->keys, i);
        char *v = value(sc, s, k), *why = NULL;
        uint64_t n;
        if (v == NULL) {
            continue;
        }
        if (strcmp(k->key, "name") == 0) {
            char e[QNS_ERRBUF_SIZE];
            if (qns_name_check("scenario", v, e) < 0) {
                err(sc, k->line, "name: %s", e);
            } else {
                sc->name = v;
            }
        } else if (strcmp(k->key, "duration") == 0) {
            char e[QNS_ERRBUF_SIZE];
            if (rn_parse_duration_ns(v, &sc->duration_ns, &why) < 0) {
                err_why(sc, k, why);
            } else if (qns_duration_check(sc->duration_ns, e) < 0) {
                err(sc, k->line, "%s", e);
            }
        } else if (strcmp(k->key, "quantum") == 0) {
            if (rn_parse_duration_ns(v, &n, &why) < 0) {
                err_why(sc, k, why);
            } else if (n == 0 || n % 1000 != 0 || n / 1000 > UINT32_MAX) {
                err(sc, k->line, "quantum: '%s' is not a whole, non-zero number of microseconds",
                    shown(sc, v));
            } else {
                sc->quantum_us = (uint32_t)(n / 1000);
            }
        } else if (strcmp(k->key, "spin") == 0) {
            if (rn_parse_duration_ns(v, &n, &why) < 0) {
                err_why(sc, k, why);
            } else if (n % 1000 != 0 || n > 1000000000) {
                err(sc, k->line, "spin: '%s' is not a whole number of microseconds up to 1s",
                    shown(sc, v));
            } else {
                sc->spin_us = (uint32_t)(n / 1000);
            }
        } else if (strcmp(k->key, "watchdog") == 0) {
            parse_watchdog(sc, k, v);
        } else if (strcmp(k->key, "pin") == 0) {
            if (rn_parse_bool(v, &sc->pin, &why) < 0) {
                err_why(sc, k, why);
            }
            pin_line = k->line;
        } else if (strcmp(k->key, "ranks") == 0) {
            uint64_t count = 0;
            if (rn_parse_uint(v, QNS_MAX_RANK + 1, &count, &why) < 0 || count == 0) {
                if (why == NULL) {
                    why = g_strdup_printf("bad number '%s' (expected 1 .. %d)", shown(sc, v),
                                          QNS_MAX_RANK + 1);
                }
                err_why(sc, k, why);
            }
            sc->auto_ranks = (uint32_t)count;
            sc->auto_ranks_line = k->line;
        } else if (strcmp(k->key, "flow_monitor") == 0) {
            if (rn_parse_bool(v, &sc->flow_monitor, &why) < 0) {
                err_why(sc, k, why);
            }
        } else if (strcmp(k->key, "rounds") == 0) {
            if (strcmp(v, "fixed") == 0 || strcmp(v, "adaptive") == 0) {
                sc->fixed_rounds = strcmp(v, "fixed") == 0;
            } else {
                err(sc, k->line, "rounds: '%s' is neither fixed nor adaptive", shown(sc, v));
            }
        } else if (strcmp(k->key, "seed") == 0) {
            if (rn_parse_uint(v, UINT32_MAX, &n, &why) < 0) {
                err_why(sc, k, why);
            } else {
                sc->seed = (uint32_t)n;
            }
        } else if (strcmp(k->key, "guest_image") == 0) {
            char dir[4096], e[QNS_ERRBUF_SIZE];
            if (qns_guest_image_dir(v, dir, sizeof(dir), e) < 0) {
                err(sc, k->line, "guest_image: %s", e);
            } else {
                sc->guest_image = v;
                sc->guest_image_dir = g_strdup(dir);
                g_ptr_array_add(sc->owned, sc->guest_image_dir);
            }
        } else {
            unknown_key(sc, s, k,
                        "name, duration, quantum, rounds, seed, spin, pin, watchdog, guest_image, "
                        "flow_monitor, ranks");
        }
    }
    char e[QNS_ERRBUF_SIZE];
    qns_sim_config cfg = rn_scenario_config(sc, NULL);
    cfg.guest_image = NULL; /* its key was checked where it is given */
    if (qns_sim_config_check(&cfg, e) < 0) {
        err(sc, pin_line, "%s", e);
    }
}

/* An existing, readable file, resolved against the base folder. */
static char *input_file(rn_scenario *sc, const rn_key *k, const char *v)
{
    char *p = g_path_is_absolute(v) ? g_strdup(v) : g_build_filename(sc->base_dir, v, NULL);
    if (access(p, R_OK) != 0) {
        err(sc, k->line, "%s: cannot read '%s': %s", k->key, shown_path(sc, v), g_strerror(errno));
    } else if (!g_file_test(p, G_FILE_TEST_IS_REGULAR)) {
        err(sc, k->line, "%s: '%s' is not a regular file", k->key, shown_path(sc, v));
    }
    return own(sc, p);
}

/* The backing files of the disk at path (none for a raw image), or NULL
 * after a mistake of the disk's line: what QEMU would open besides plain
 * files of the chain, or a chain that does not open. */
static char **disk_backing(rn_scenario *sc, const rn_key *k, const char *path)
{
    char *why = NULL;
    GPtrArray *chain = rn_disk_chain(path, sc->base_dir, &why);
    if (chain == NULL) {
        err_why(sc, k, why);
        return NULL;
    }
    char **files = g_new0(char *, chain->len);
    for (guint i = 1; i < chain->len; i++) {
        files[i - 1] = g_strdup(((rn_disk_file *)g_ptr_array_index(chain, i))->path);
    }
    g_ptr_array_unref(chain);
    g_ptr_array_add(sc->owned_strv, files);
    return files;
}

static char **split_args(rn_scenario *sc, const rn_key *k, const char *v)
{
    char **argv = NULL;
    GError *ge = NULL;
    if (!g_shell_parse_argv(v, NULL, &argv, &ge)) {
        err(sc, k->line, "%s: cannot split '%s': %s", k->key, shown(sc, v), ge->message);
        g_error_free(ge);
        return NULL;
    }
    g_ptr_array_add(sc->owned_strv, argv);
    return argv;
}

static void guest_nic(rn_scenario *sc, rn_guest *g, const rn_key *k, const char *v, int nic,
                      const char *field)
{
    char *why = NULL;
    qns_nic_config *c = &g->cfg.nics[nic];
    if (g->nic_line[nic] == 0) {
        g->nic_line[nic] = k->line;
    }
    if (nic + 1 > g->cfg.nic_count) {
        g->cfg.nic_count = nic + 1;
    }
    if (strcmp(field, "ip") == 0) {
        if (rn_parse_ipv4(v, 1, &why) < 0) {
            err_why(sc, k, why);
        } else {
            c->ipv4 = v;
            g->ip_line[nic] = k->line;
        }
    } else if (strcmp(field, "mac") == 0) {
        c->mac = v; /* the API checks it and says what is wrong */
        g->mac_line[nic] = k->line;
    } else if (strcmp(field, "model") == 0) {
        if (strcmp(v, "virtio") == 0) {
            c->model = QNS_NIC_VIRTIO;
        } else if (strcmp(v, "e1000") == 0) {
            c->model = QNS_NIC_E1000;
        } else {
            err(sc, k->line, "%s: unknown NIC model '%s'; expected virtio or e1000", k->key,
                shown(sc, v));
        }
    } else if (strcmp(field, "latency") == 0) {
        if (rn_parse_duration_ns(v, &g->latency_ns[nic], &why) < 0) {
            err_why(sc, k, why);
        }
    }
}

/* "nic3.ip" -> 3, "ip"; -1 when the key is no NIC key. */
static int nic_key(const char *key, const char **field)
{
    if (!g_str_has_prefix(key, "nic") || !g_ascii_isdigit(key[3])) {
        return -1;
    }
    char *end;
    long n = strtol(key + 3, &end, 10);
    if (*end != '.') {
        return -1;
    }
    *field = end + 1;
    if (strcmp(*field, "ip") && strcmp(*field, "mac") && strcmp(*field, "model") &&
        strcmp(*field, "latency")) {
        return -1;
    }
    return n > 1000 ? 1000 : (int)n;
}

/* files = SRC:DST, SRC:DST: each SRC resolved against the base folder, as
 * kernel, initrd and disk are; the C API checks the rest. */
static void guest_files(rn_scenario *sc, rn_guest *g, const rn_key *k, const char *v)
{
    gchar **given = g_strsplit(v, ",", -1);
    char **specs = g_new0(char *, g_strv_length(given) + 1);
    char *base = g_canonicalize_filename(sc->base_dir, NULL);
    for (int i = 0; given[i]; i++) {
        g_strstrip(given[i]);
        char *colon = strrchr(given[i], ':');
        if (colon == NULL || colon == given[i] || g_path_is_absolute(given[i])) {
            specs[i] = g_strdup(given[i]);
            continue;
        }
        char *src = g_strndup(given[i], (gsize)(colon - given[i]));
        char *abs = g_canonicalize_filename(src, base);
        specs[i] = g_strconcat(abs, colon, NULL);
        g_free(abs);
        g_free(src);
    }
    g_free(base);
    g_ptr_array_add(sc->owned_strv, given);
    g_ptr_array_add(sc->owned_strv, specs);
    g->files_given = given;
    g->files_line = k->line;
    g->cfg.files = (const char *const *)specs;
}

static const char guest_keys[] =
    "memory, command, services, kernel, initrd, append, kernel_args, disk, files, extra_args, "
    "ends_run, agent, program, rank, "
    "nicN.ip, nicN.mac, nicN.model, nicN.latency";

static void parse_guest(rn_scenario *sc, const rn_section *s)
{
    rn_guest *g = g_new0(rn_guest, 1);
    g->sec = s;
    g->cfg.name = s->name;
    g_ptr_array_add(sc->guests, g);
    for (guint i = 0; i < s->keys->len; i++) {
        const rn_key *k = g_ptr_array_index(s->keys, i);
        const char *field;
        char *why = NULL;
        int nic = nic_key(k->key, &field);
        if (nic < 0 && strcmp(k->key, "memory") && strcmp(k->key, "command") &&
            strcmp(k->key, "services") && strcmp(k->key, "kernel") && strcmp(k->key, "initrd") &&
            strcmp(k->key, "append") && strcmp(k->key, "kernel_args") && strcmp(k->key, "disk") &&
            strcmp(k->key, "extra_args") && strcmp(k->key, "files") && strcmp(k->key, "ends_run") &&
            strcmp(k->key, "agent") && strcmp(k->key, "program") && strcmp(k->key, "rank")) {
            unknown_key(sc, s, k, guest_keys);
            continue;
        }
        char *v = value(sc, s, k);
        if (v == NULL) {
            continue;
        }
        if (nic >= QNS_MAX_NICS) {
            err(sc, k->line, "%s: a guest has at most %d NICs, nic0 .. nic%d", shown(sc, k->key),
                QNS_MAX_NICS, QNS_MAX_NICS - 1);
        } else if (nic >= 0) {
            guest_nic(sc, g, k, v, nic, field);
        } else if (strcmp(k->key, "memory") == 0) {
            if (rn_parse_memory_mb(v, &g->cfg.memory_mb, &why) < 0) {
                err_why(sc, k, why);
            }
        } else if (strcmp(k->key, "command") == 0) {
            g->cfg.command = v;
        } else if (strcmp(k->key, "services") == 0) {
            g->cfg.services = v;
        } else if (strcmp(k->key, "append") == 0) {
            g->cfg.append = v;
        } else if (strcmp(k->key, "kernel_args") == 0) {
            g->cfg.kernel_args = v;
        } else if (strcmp(k->key, "kernel") == 0) {
            g->cfg.kernel = g->kernel_path = input_file(sc, k, v);
        } else if (strcmp(k->key, "initrd") == 0) {
            g->cfg.initrd = g->initrd_path = input_file(sc, k, v);
        } else if (strcmp(k->key, "disk") == 0) {
            int before = sc->error_count;
            g->cfg.disk = g->disk_path = input_file(sc, k, v);
            if (sc->error_count == before) {
                g->disk_backing = disk_backing(sc, k, g->disk_path);
                g->cfg.disk_backing = (const char *const *)g->disk_backing;
            }
        } else if (strcmp(k->key, "files") == 0) {
            guest_files(sc, g, k, v);
        } else if (strcmp(k->key, "ends_run") == 0) {
            if (rn_parse_bool(v, &g->cfg.ends_run, &why) < 0) {
                err_why(sc, k, why);
            }
        } else if (strcmp(k->key, "agent") == 0) {
            if (rn_parse_bool(v, &g->cfg.agent, &why) < 0) {
                err_why(sc, k, why);
            }
        } else if (strcmp(k->key, "rank") == 0) {
            uint64_t r = 0;
            if (rn_parse_uint(v, QNS_MAX_RANK, &r, &why) < 0) {
                err_why(sc, k, why);
            }
            g->cfg.rank = (uint32_t)r;
            g->rank_line = k->line;
        } else if (strcmp(k->key, "extra_args") == 0 || strcmp(k->key, "program") == 0) {
            char **argv = split_args(sc, k, v);
            if (argv == NULL) {
                continue;
            }
            if (strcmp(k->key, "program") == 0) {
                /* A path is the scenario's, as kernel's and disk's are; a
                 * bare name is looked up in PATH. */
                if (strchr(argv[0], '/') && !g_path_is_absolute(argv[0])) {
                    char *path = g_canonicalize_filename(argv[0], sc->base_dir);
                    g_free(argv[0]); /* argv is freed with the scenario */
                    argv[0] = path;
                }
                char *found = g_find_program_in_path(argv[0]);
                if (found == NULL) {
                    err(sc, k->line, "program: '%s' is not an executable program",
                        shown_path(sc, argv[0]));
                }
                g_free(found);
                g->cfg.program = (const char *const *)argv;
            } else {
                g->cfg.extra_args = (const char *const *)argv;
            }
        }
    }
}

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
        err(sc, k->line, "%s: expected OPTION=VALUE, got '%s'", k->key, shown(sc, word));
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
        err(sc, k->line, "%s: %s: %s", k->key, shown(sc, opt), why);
        g_free(why);
    } else {
        err(sc, k->line, "%s: unknown option '%s'; expected %s", k->key, shown(sc, opt), known);
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
        err(sc, k->line,
            "%s: expected SERVER_IP:PORT [count=N] [interval=DUR] [size=BYTES] "
            "[start=DUR]",
            k->key);
        ok = 0;
    } else if (colon == NULL) {
        err(sc, k->line, "%s: expected SERVER_IP:PORT first, got '%s'", k->key, shown(sc, w[0]));
        ok = 0;
    } else {
        *colon = '\0';
        if (rn_parse_ipv4(w[0], 0, &why) < 0 || parse_port(colon + 1, &c.port, &why) < 0) {
            err_why(sc, k, why);
            ok = 0;
        }
        c.ip = own(sc, g_strdup(w[0]));
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
        err(sc, k->line,
            "route: expected DEST/PREFIX via GATEWAY, e.g. 10.0.2.0/24 via 10.0.1.1, got '%s'",
            shown(sc, k->text));
    } else if (rn_parse_ipv4(word[0], 1, &why) < 0 || rn_parse_ipv4(word[2], 0, &why) < 0) {
        err_why(sc, k, why);
    } else {
        rn_route r = {.line = k->line,
                      .destination = own(sc, g_strdup(word[0])),
                      .gateway = own(sc, g_strdup(word[2]))};
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
            err(sc, k->line, "%s: expected tcp:PORT or udp:PORT, got '%s'", k->key,
                shown(sc, items[i]));
            continue;
        }
        *colon = '\0';
        if (parse_port(colon + 1, &a.cfg.port, &why) < 0) {
            err_why(sc, k, why);
            continue;
        }
        a.cfg.protocol = own(sc, g_strdup(items[i]));
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
        err(sc, k->line, "%s: expected PROTOCOL:ADDR:PORT [OPTION=VALUE ...]", k->key);
        ok = 0;
    } else if (c1 == NULL || c1 == c2) {
        err(sc, k->line, "%s: expected PROTOCOL:ADDR:PORT first, got '%s'", k->key,
            shown(sc, w[0]));
        ok = 0;
    } else {
        *c1 = *c2 = '\0';
        if (parse_port(c2 + 1, &a.cfg.port, &why) < 0) {
            err_why(sc, k, why);
            ok = 0;
        }
        a.cfg.protocol = own(sc, g_strdup(w[0]));
        a.cfg.remote_ipv4 = own(sc, g_strdup(c1 + 1));
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

static void parse_node(rn_scenario *sc, const rn_section *s)
{
    rn_node *n = g_new0(rn_node, 1);
    n->sec = s;
    n->servers = g_array_new(FALSE, FALSE, sizeof(rn_server));
    n->clients = g_array_new(FALSE, FALSE, sizeof(rn_client));
    n->routes = g_array_new(FALSE, FALSE, sizeof(rn_route));
    n->apps = g_array_new(FALSE, FALSE, sizeof(rn_app));
    g_ptr_array_add(sc->nodes, n);
    for (guint i = 0; i < s->keys->len; i++) {
        const rn_key *k = g_ptr_array_index(s->keys, i);
        int server = strcmp(k->key, "udp-echo-server") == 0;
        if (strcmp(k->key, "route") == 0) {
            parse_route(sc, n, k);
            continue;
        }
        if (strcmp(k->key, "rank") == 0) {
            char *v = value(sc, s, k), *why = NULL;
            uint64_t r = 0;
            if (v != NULL && rn_parse_uint(v, QNS_MAX_RANK, &r, &why) < 0) {
                err_why(sc, k, why);
            }
            n->rank = (uint32_t)r;
            n->rank_line = k->line;
            continue;
        }
        int sink = strcmp(k->key, "packet-sink") == 0, bulk = strcmp(k->key, "bulk-send") == 0;
        int on_off = strcmp(k->key, "on-off") == 0;
        if (!server && !sink && !bulk && !on_off && strcmp(k->key, "udp-echo-client") != 0) {
            unknown_key(sc, s, k,
                        "udp-echo-server, udp-echo-client, packet-sink, bulk-send, on-off, route, "
                        "rank");
            continue;
        }
        char *v = value(sc, s, k);
        if (v == NULL) {
            continue;
        }
        if (sink) {
            parse_sinks(sc, n, k, v);
            continue;
        }
        if (bulk || on_off) {
            parse_sender(sc, n, k, v, bulk ? QNS_APP_BULK_SEND : QNS_APP_ON_OFF);
            continue;
        }
        if (!server) {
            parse_client(sc, n, k, v);
            continue;
        }
        gchar **ports = g_strsplit_set(v, ", ", -1);
        for (int p = 0; ports[p]; p++) {
            rn_server srv = {.line = k->line};
            char *why = NULL;
            if (*ports[p] == '\0') {
                continue;
            }
            if (parse_port(ports[p], &srv.port, &why) < 0) {
                err_why(sc, k, why);
            } else {
                g_array_append_val(n->servers, srv);
            }
        }
        g_strfreev(ports);
    }
}

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

/* Where each guest NIC is attached: key "guest/nic" -> link section. */
static void parse_members(rn_scenario *sc, rn_link *l, const rn_key *k, const char *v,
                          GHashTable *attached)
{
    gchar **items = g_strsplit(v, ",", -1);
    for (int i = 0; items[i]; i++) {
        char *m = g_strstrip(items[i]);
        rn_member mb = {.line = k->line};
        if (*m == '\0') {
            err(sc, k->line, "members: empty member in '%s'", shown(sc, v));
            continue;
        }
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
            const char *q = shown(sc, m);
            err(sc, k->line, "members: '%s' is neither a [guest %s] nor a [node %s] of this file",
                q, q, q);
            continue;
        }
        if (gi >= 0) {
            rn_guest *g = g_ptr_array_index(sc->guests, gi);
            mb.is_guest = 1;
            mb.index = gi;
            if (addr) {
                err(sc, k->line,
                    "members: '%s' is a guest; give its address as nicN.ip in [guest %s]", m, m);
                continue;
            }
            if (nicpart) {
                char *end;
                long nic = -1;
                if (g_str_has_prefix(nicpart, "nic") && g_ascii_isdigit(nicpart[3])) {
                    nic = strtol(nicpart + 3, &end, 10);
                    if (*end != '\0') {
                        nic = -1;
                    }
                }
                if (nic < 0 || nic >= QNS_MAX_NICS) {
                    err(sc, k->line, "members: bad NIC '%s' of guest %s (expected nic0 .. nic%d)",
                        shown(sc, nicpart), m, QNS_MAX_NICS - 1);
                    continue;
                }
                mb.nic = (int)nic;
            }
            if (mb.nic + 1 > g->cfg.nic_count) {
                g->cfg.nic_count = mb.nic + 1;
            }
            char *id = g_strdup_printf("%s.nic%d", m, mb.nic);
            const rn_link *other = g_hash_table_lookup(attached, id);
            if (other) {
                err(sc, k->line, "members: %s is already on link %s (line %d)", id,
                    other->sec->name, other->sec->line);
                g_free(id);
                continue;
            }
            g_hash_table_insert(attached, own(sc, id), l);
        } else {
            char *why = NULL;
            mb.index = ni;
            if (nicpart) {
                err(sc, k->line, "members: node %s has no NICs to choose; write %s=A.B.C.D/P", m,
                    m);
                continue;
            }
            if (addr == NULL) {
                err(sc, k->line, "members: node %s needs an address: %s=A.B.C.D/P", m, m);
                continue;
            }
            if (rn_parse_ipv4(addr, 1, &why) < 0) {
                err(sc, k->line, "members: %s: %s", m, why);
                g_free(why);
                continue;
            }
            mb.ipv4 = own(sc, g_strdup(addr));
        }
        g_array_append_val(l->members, mb);
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
            err(sc, keys[i]->line, "%s", e);
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

static void parse_link(rn_scenario *sc, rn_link *l, GHashTable *attached)
{
    const rn_section *s = l->sec;
    const rn_key *members = NULL;
    int errors = sc->error_count;
    for (guint i = 0; i < s->keys->len; i++) {
        const rn_key *k = g_ptr_array_index(s->keys, i);
        char *why = NULL;
        if (!is_link_key(k->key)) {
            unknown_key(sc, s, k,
                        "type, rate, delay, loss, queue, capture, wifi_mode, standard, "
                        "rate_manager, wifi_rate, distance, members");
            continue;
        }
        char *v = value(sc, s, k);
        if (v == NULL) {
            continue;
        }
        if (strcmp(k->key, "type") == 0) {
            if (strcmp(v, "csma") == 0) {
                l->cfg.type = QNS_LINK_CSMA;
            } else if (strcmp(v, "p2p") == 0) {
                l->cfg.type = QNS_LINK_P2P;
            } else if (strcmp(v, "wifi") == 0) {
                l->cfg.type = QNS_LINK_WIFI;
            } else {
                err(sc, k->line, "type: unknown link type '%s'; expected csma, p2p or wifi",
                    shown(sc, v));
            }
        } else if (strcmp(k->key, "rate") == 0) {
            if (rn_parse_rate_bps(v, &l->cfg.rate_bps, &why) < 0) {
                err_why(sc, k, why);
            }
        } else if (strcmp(k->key, "delay") == 0) {
            if (rn_parse_duration_ns(v, &l->cfg.delay_ns, &why) < 0) {
                err_why(sc, k, why);
            }
        } else if (strcmp(k->key, "loss") == 0) {
            if (rn_parse_loss(v, &l->cfg.loss, &why) < 0) {
                err_why(sc, k, why);
            }
        } else if (strcmp(k->key, "queue") == 0) {
            if (rn_parse_queue(v, &l->cfg.queue_packets, &why) < 0) {
                err_why(sc, k, why);
            }
        } else if (strcmp(k->key, "capture") == 0) {
            if (rn_parse_bool(v, &l->cfg.capture, &why) < 0) {
                err_why(sc, k, why);
            }
        } else if (strcmp(k->key, "distance") == 0) {
            if (rn_parse_distance_m(v, &l->cfg.distance_m, &why) < 0) {
                err_why(sc, k, why);
            }
        } else if (strcmp(k->key, "wifi_mode") == 0) {
            l->cfg.wifi_mode = v;
        } else if (strcmp(k->key, "standard") == 0) {
            l->cfg.standard = v;
        } else if (strcmp(k->key, "rate_manager") == 0) {
            l->cfg.rate_manager = v;
        } else if (strcmp(k->key, "wifi_rate") == 0) {
            l->cfg.wifi_rate = v;
        } else {
            members = k;
        }
    }
    if (sc->error_count == errors) {
        check_link_settings(sc, l, (const rn_key **)s->keys->pdata, (int)s->keys->len);
    }
    /* After type, wherever it was written: p2p checks the member count. */
    if (members) {
        char *v = value(sc, s, members);
        if (v) {
            parse_members(sc, l, members, v, attached);
        }
    } else {
        err(sc, s->line, "[link %s] has no members", s->name);
    }
}

static void check_environment(rn_scenario *sc)
{
    for (guint i = 0; i < sc->guests->len; i++) {
        rn_guest *g = g_ptr_array_index(sc->guests, i);
        if (g->cfg.program) {
            continue;
        }
        const char *qemu = rn_default_qemu();
        char *why = rn_path_problem(qemu, X_OK);
        if (why) {
            err(sc, g->sec->line, "guest %s needs QEMU, but '%s' %s (set QNS_QEMU)", g->sec->name,
                shown_path(sc, qemu), why);
            g_free(why);
        }
        if (g->cfg.kernel == NULL) {
            char *info = g_build_filename(rn_scenario_guest_dir(sc), "GUEST-INFO", NULL);
            why = rn_path_problem(info, R_OK);
            if (why) {
                err(sc, g->sec->line,
                    "guest %s boots the default guest, but '%s' %s (set QNS_GUEST_DIR)",
                    g->sec->name, shown_path(sc, info), why);
                g_free(why);
            }
            g_free(info);
        }
    }
}

/* The file's text into sc->text: a regular file of at most
 * RN_SCENARIO_MAX_BYTES, without NUL bytes. Opened without blocking, so a
 * FIFO is refused instead of waited on; read with a bound, so a file that
 * grows is too. */
static int read_text(rn_scenario *sc)
{
    int fd;
    do {
        fd = open(sc->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        err(sc, 0, "cannot read the scenario: %s", g_strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        err(sc, 0, "cannot read the scenario: %s", g_strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        err(sc, 0, "the scenario is %s, not a regular file", rn_file_kind(st.st_mode));
        close(fd);
        return -1;
    }
    GString *text =
        g_string_sized_new(st.st_size < RN_SCENARIO_MAX_BYTES ? (gsize)st.st_size + 1 : 4096);
    char buf[65536];
    int status = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            err(sc, 0, "cannot read the scenario: %s", g_strerror(errno));
            status = -1;
            break;
        }
        if (n == 0) {
            break;
        }
        if (text->len + (size_t)n > RN_SCENARIO_MAX_BYTES) {
            err(sc, 0,
                "the scenario is larger than %d bytes (1 MiB); a scenario file is short text",
                RN_SCENARIO_MAX_BYTES);
            status = -1;
            break;
        }
        g_string_append_len(text, buf, n);
    }
    close(fd);
    const char *nul = status == 0 ? memchr(text->str, '\0', text->len) : NULL;
    if (nul) {
        int line = 1;
        for (const char *p = text->str; p < nul; p++) {
            line += *p == '\n';
        }
        err(sc, line, "the line holds a NUL byte; a scenario file is text");
        status = -1;
    }
    sc->text = g_string_free(text, status < 0);
    return status;
}

void rn_scenario_free(rn_scenario *sc)
{
    if (sc == NULL) {
        return;
    }
    for (guint i = 0; i < sc->guests->len; i++) {
        rn_guest *g = g_ptr_array_index(sc->guests, i);
        if (g->file_sources) {
            g_ptr_array_free(g->file_sources, TRUE);
        }
        g_free(g);
    }
    for (guint i = 0; i < sc->nodes->len; i++) {
        rn_node *n = g_ptr_array_index(sc->nodes, i);
        g_array_free(n->servers, TRUE);
        g_array_free(n->clients, TRUE);
        g_array_free(n->routes, TRUE);
        g_array_free(n->apps, TRUE);
        g_free(n);
    }
    for (guint i = 0; i < sc->links->len; i++) {
        rn_link *l = g_ptr_array_index(sc->links, i);
        g_array_free(l->members, TRUE);
        g_free(l);
    }
    g_ptr_array_free(sc->guests, TRUE);
    g_ptr_array_free(sc->nodes, TRUE);
    g_ptr_array_free(sc->links, TRUE);
    g_ptr_array_free(sc->sections, TRUE);
    g_ptr_array_free(sc->owned, TRUE);
    g_ptr_array_free(sc->owned_strv, TRUE);
    if (sc->kf) {
        g_key_file_free(sc->kf);
    }
    g_free(sc->text);
    g_free(sc->path);
    g_free(sc->base_dir);
    g_free(sc);
}

rn_scenario *rn_scenario_load(const char *path, const char *base_dir, GString *errors)
{
    rn_scenario *sc = g_new0(rn_scenario, 1);
    sc->path = g_strdup(path);
    sc->errors = errors;
    sc->sections = g_ptr_array_new_with_free_func(section_free);
    sc->guests = g_ptr_array_new();
    sc->nodes = g_ptr_array_new();
    sc->links = g_ptr_array_new();
    sc->owned = g_ptr_array_new_with_free_func(g_free);
    sc->owned_strv = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    sc->quantum_us = 10;
    sc->seed = 1;
    char *dir = g_path_get_dirname(path);
    sc->base_dir = g_canonicalize_filename(base_dir ? base_dir : dir, NULL);
    g_free(dir);

    GError *ge = NULL;
    if (read_text(sc) < 0) {
        rn_scenario_free(sc);
        return NULL;
    }
    scan_text(sc);
    sc->kf = g_key_file_new();
    if (sc->error_count == 0 &&
        !g_key_file_load_from_data(sc->kf, sc->text, (gsize)-1, G_KEY_FILE_NONE, &ge)) {
        err(sc, 0, "%s", ge->message);
        g_error_free(ge);
    }
    if (sc->error_count) {
        rn_scenario_free(sc);
        return NULL;
    }

    const rn_section *scen = NULL;
    for (guint i = 0; i < sc->sections->len; i++) {
        rn_section *s = g_ptr_array_index(sc->sections, i);
        if (s->kind == SEC_SCENARIO) {
            scen = s;
            parse_scenario(sc, s);
        } else if (s->kind == SEC_GUEST) {
            parse_guest(sc, s);
        } else if (s->kind == SEC_NODE) {
            parse_node(sc, s);
        } else if (s->kind == SEC_LINK) {
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
    if (scen == NULL) {
        err(sc, 1, "no [scenario] section (it needs at least duration = ...)");
    } else if (sc->duration_ns == 0 && sc->error_count == 0) {
        err(sc, scen->line, "[scenario] needs duration = ..., e.g. duration = 10s");
    }
    if (sc->name == NULL) {
        char *b = g_path_get_basename(path);
        char *dot = strrchr(b, '.');
        if (dot && dot != b) {
            *dot = '\0';
        }
        sc->name = own(sc, b);
    }
    if (sc->error_count == 0) {
        check_environment(sc);
    }
    if (sc->error_count == 0) {
        /* What the C API refuses, before anything runs. */
        qns_sim_config cfg = rn_scenario_config(sc, NULL);
        qns_sim_free(rn_scenario_build(sc, &cfg, errors));
    }
    if (sc->error_count) {
        rn_scenario_free(sc);
        return NULL;
    }
    return sc;
}

/* ---- building the simulation --------------------------------------------- */

qns_sim_config rn_scenario_config(const rn_scenario *sc, const char *out_dir)
{
    qns_sim_config cfg = {.quantum_us = sc->quantum_us,
                          .seed = sc->seed,
                          .out_dir = out_dir,
                          .spin_us = sc->spin_us,
                          .pin = sc->pin,
                          .flow_monitor = sc->flow_monitor,
                          .guest_image = sc->guest_image,
                          .watchdog_ms = sc->watchdog_ms,
                          .watchdog_off = "set watchdog = off in [scenario]",
                          .rounds = sc->fixed_rounds ? QNS_ROUNDS_FIXED : QNS_ROUNDS_ADAPTIVE};
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

qns_sim *rn_scenario_build(const rn_scenario *csc, const qns_sim_config *config, GString *errors)
{
    rn_scenario *sc = (rn_scenario *)csc;
    char e[QNS_ERRBUF_SIZE];
    sc->errors = errors;
    int before = sc->error_count;
    qns_sim *sim = qns_sim_new(config, e);
    if (sim == NULL) {
        err(sc, 0, "%s", e);
        return NULL;
    }
    /* The API's index of each guest, node and link (-1: refused). */
    int *guest = g_new(int, sc->guests->len + 1), *node = g_new(int, sc->nodes->len + 1);
    int *link = g_new(int, sc->links->len + 1);
    for (guint i = 0; i < sc->guests->len; i++) {
        rn_guest *g = g_ptr_array_index(sc->guests, i);
        if ((guest[i] = qns_sim_add_guest(sim, &g->cfg, e)) < 0) {
            err(sc, refused_key_line(g, e), "%s", e);
        } else if (g->files_line && g->file_sources == NULL) {
            g->file_sources = g_ptr_array_new_with_free_func(g_free);
            for (const char *const *f = qns_sim_guest_files(sim, guest[i]); f && *f; f++) {
                g_ptr_array_add(g->file_sources, g_strdup(*f));
            }
        }
    }
    for (guint i = 0; i < sc->nodes->len; i++) {
        rn_node *n = g_ptr_array_index(sc->nodes, i);
        if ((node[i] = qns_sim_add_node(sim, n->sec->name, e)) < 0) {
            err(sc, n->sec->line, "%s", e);
        } else if (qns_sim_set_node_rank(sim, node[i], n->rank, e) < 0) {
            err(sc, n->rank_line, "%s", e);
        }
    }
    for (guint i = 0; i < sc->links->len; i++) {
        rn_link *l = g_ptr_array_index(sc->links, i);
        if ((link[i] = qns_sim_add_link(sim, &l->cfg, e)) < 0) {
            err(sc, l->sec->line, "%s", e);
            continue;
        }
        for (guint m = 0; m < l->members->len; m++) {
            rn_member *mb = &g_array_index(l->members, rn_member, m);
            int r = 0;
            if (mb->is_guest && guest[mb->index] >= 0) {
                rn_guest *g = g_ptr_array_index(sc->guests, mb->index);
                r = qns_sim_attach_guest(sim, link[i], guest[mb->index], mb->nic,
                                         g->latency_ns[mb->nic], e);
            } else if (!mb->is_guest && node[mb->index] >= 0) {
                r = qns_sim_attach_node(sim, link[i], node[mb->index], mb->ipv4, e);
            }
            if (r < 0) {
                err(sc, mb->line, "%s", e);
            }
        }
    }
    for (guint i = 0; sc->auto_ranks > 0 && i < sc->guests->len + sc->nodes->len; i++) {
        const rn_guest *g = i < sc->guests->len ? g_ptr_array_index(sc->guests, i) : NULL;
        const rn_node *n = g ? NULL : g_ptr_array_index(sc->nodes, i - sc->guests->len);
        int line = g ? g->rank_line : n->rank_line;
        if (line > 0) {
            err(sc, line, "rank: [scenario] ranks = %" PRIu32 " (line %d) puts guests and nodes "
                          "on ranks by itself; give either ranks or rank keys",
                sc->auto_ranks, sc->auto_ranks_line);
        }
    }
    if (sc->auto_ranks > 0 && qns_sim_partition(sim, sc->auto_ranks, e) < 0) {
        err(sc, sc->auto_ranks_line, "ranks: %s", e);
    }
    for (guint i = 0; i < sc->guests->len; i++) {
        rn_guest *g = g_ptr_array_index(sc->guests, i);
        if (guest[i] >= 0) {
            g->cfg.rank = qns_sim_guest_rank(sim, guest[i]);
        }
    }
    for (guint i = 0; i < sc->nodes->len; i++) {
        rn_node *n = g_ptr_array_index(sc->nodes, i);
        if (node[i] >= 0) {
            n->rank = qns_sim_node_rank(sim, node[i]);
        }
    }
    for (guint i = 0; i < sc->links->len; i++) {
        rn_link *l = g_ptr_array_index(sc->links, i);
        if (link[i] >= 0 && qns_sim_link_check(sim, link[i], e) < 0) {
            err(sc, l->sec->line, "%s", e);
        }
    }
    GArray *route_lines = g_array_new(FALSE, FALSE, sizeof(int));
    for (guint i = 0; i < sc->nodes->len; i++) {
        rn_node *n = g_ptr_array_index(sc->nodes, i);
        if (node[i] < 0) {
            continue;
        }
        for (guint k = 0; k < n->servers->len; k++) {
            rn_server *sv = &g_array_index(n->servers, rn_server, k);
            if (qns_sim_udp_echo_server(sim, node[i], sv->port, e) < 0) {
                err(sc, sv->line, "%s", e);
            }
        }
        for (guint k = 0; k < n->clients->len; k++) {
            rn_client *c = &g_array_index(n->clients, rn_client, k);
            if (qns_sim_udp_echo_client(sim, node[i], c->ip, c->port, c->count, c->interval_ns,
                                        c->size, c->start_ns, e) < 0) {
                err(sc, c->line, "%s", e);
            }
        }
        for (guint k = 0; k < n->apps->len; k++) {
            rn_app *a = &g_array_index(n->apps, rn_app, k);
            if (qns_sim_add_app(sim, node[i], &a->cfg, e) < 0) {
                err(sc, a->line, "%s", e);
            }
        }
        for (guint k = 0; k < n->routes->len; k++) {
            rn_route *r = &g_array_index(n->routes, rn_route, k);
            if (qns_sim_add_route(sim, node[i], r->destination, r->gateway, e) < 0) {
                err(sc, r->line, "%s", e);
            } else {
                g_array_append_val(route_lines, r->line);
            }
        }
    }
    for (guint r = 0; r < route_lines->len; r++) {
        if (qns_sim_route_check(sim, (int)r, e) < 0) {
            err(sc, g_array_index(route_lines, int, r), "%s", e);
        }
    }
    g_array_free(route_lines, TRUE);
    if (qns_sim_ranks_check(sim, 1, e) < 0) {
        err(sc, 0, "%s", e);
    }
    sc->rank_count = qns_sim_rank_count(sim);
    g_free(guest);
    g_free(node);
    g_free(link);
    if (sc->error_count > before) {
        qns_sim_free(sim);
        return NULL;
    }
    return sim;
}

/* ---- accessors ------------------------------------------------------------ */

const char *rn_scenario_name(const rn_scenario *sc)
{
    return sc->name;
}

uint64_t rn_scenario_duration_ns(const rn_scenario *sc)
{
    return sc->duration_ns;
}

uint32_t rn_scenario_quantum_us(const rn_scenario *sc)
{
    return sc->quantum_us;
}

int rn_scenario_pin(const rn_scenario *sc)
{
    return sc->pin;
}

uint32_t rn_scenario_rank_count(const rn_scenario *sc)
{
    return sc->rank_count;
}

int rn_scenario_flow_monitor(const rn_scenario *sc)
{
    return sc->flow_monitor;
}

uint32_t rn_scenario_watchdog_ms(const rn_scenario *sc)
{
    return sc->watchdog_ms;
}

uint32_t rn_scenario_watchdog_effective_ms(const rn_scenario *sc)
{
    return sc->watchdog_ms == 0                   ? QNS_WATCHDOG_DEFAULT_MS
           : sc->watchdog_ms == QNS_WATCHDOG_NONE ? 0
                                                  : sc->watchdog_ms;
}

int rn_scenario_fixed_rounds(const rn_scenario *sc)
{
    return sc->fixed_rounds;
}

uint32_t rn_scenario_spin_us(const rn_scenario *sc)
{
    return sc->spin_us;
}

uint32_t rn_scenario_seed(const rn_scenario *sc)
{
    return sc->seed;
}

const char *rn_scenario_base_dir(const rn_scenario *sc)
{
    return sc->base_dir;
}

int rn_scenario_guest_count(const rn_scenario *sc)
{
    return (int)sc->guests->len;
}

const char *const *rn_scenario_guest_files(const rn_scenario *sc, int i)
{
    const rn_guest *g = g_ptr_array_index(sc->guests, (guint)i);
    return (const char *const *)g->files_given;
}

const char *rn_scenario_guest_program(const rn_scenario *sc, int i)
{
    const rn_guest *g = g_ptr_array_index(sc->guests, (guint)i);
    return g->cfg.program ? g->cfg.program[0] : NULL;
}

const char *const *rn_scenario_guest_extra_args(const rn_scenario *sc, int i)
{
    const rn_guest *g = g_ptr_array_index(sc->guests, (guint)i);
    return g->cfg.extra_args;
}

const char *rn_scenario_guest_name(const rn_scenario *sc, int i)
{
    const rn_guest *g = g_ptr_array_index(sc->guests, i);
    return g->sec->name;
}

/* The app-th of every node's applications, in node order, as
 * rn_scenario_build adds them; *node gets its node's name. */
static const rn_app *nth_app(const rn_scenario *sc, int app, const char **node)
{
    for (guint i = 0; i < sc->nodes->len; i++) {
        const rn_node *n = g_ptr_array_index(sc->nodes, i);
        if (app < (int)n->apps->len) {
            *node = n->sec->name;
            return &g_array_index(n->apps, rn_app, app);
        }
        app -= (int)n->apps->len;
    }
    return NULL;
}

uint32_t rn_scenario_guest_rank(const rn_scenario *sc, int i)
{
    const rn_guest *g = g_ptr_array_index(sc->guests, i);
    return g->cfg.rank;
}

uint32_t rn_scenario_app_rank(const rn_scenario *sc, int app)
{
    for (guint i = 0; i < sc->nodes->len; i++) {
        const rn_node *n = g_ptr_array_index(sc->nodes, i);
        if (app < (int)n->apps->len) {
            return n->rank;
        }
        app -= (int)n->apps->len;
    }
    return 0;
}

int rn_scenario_app_count(const rn_scenario *sc)
{
    int count = 0;
    for (guint i = 0; i < sc->nodes->len; i++) {
        const rn_node *n = g_ptr_array_index(sc->nodes, i);
        count += (int)n->apps->len;
    }
    return count;
}

const qns_app_config *rn_scenario_app(const rn_scenario *sc, int i, const char **node)
{
    const rn_app *a = nth_app(sc, i, node);
    return a ? &a->cfg : NULL;
}

int rn_scenario_uses_qemu(const rn_scenario *sc)
{
    for (guint i = 0; i < sc->guests->len; i++) {
        const rn_guest *g = g_ptr_array_index(sc->guests, i);
        if (g->cfg.program == NULL) {
            return 1;
        }
    }
    return 0;
}

const char *rn_scenario_guest_image(const rn_scenario *sc)
{
    return sc->guest_image;
}

const char *rn_scenario_guest_dir(const rn_scenario *sc)
{
    return sc->guest_image_dir ? sc->guest_image_dir : rn_default_guest_dir();
}

int rn_scenario_uses_default_guest(const rn_scenario *sc)
{
    for (guint i = 0; i < sc->guests->len; i++) {
        const rn_guest *g = g_ptr_array_index(sc->guests, i);
        if (g->cfg.program == NULL && (g->cfg.kernel == NULL || g->cfg.initrd == NULL)) {
            return 1;
        }
    }
    return 0;
}

static void add_once(GPtrArray *a, const char *file)
{
    for (guint j = 0; j < a->len; j++) {
        if (strcmp(g_ptr_array_index(a, j), file) == 0) {
            return;
        }
    }
    g_ptr_array_add(a, g_strdup(file));
}

GPtrArray *rn_scenario_input_files(const rn_scenario *sc)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < sc->guests->len; i++) {
        const rn_guest *g = g_ptr_array_index(sc->guests, i);
        guint own = g->file_sources ? g->file_sources->len : 0;
        for (guint k = 0; k < 3 + own; k++) {
            const char *path = k == 0   ? g->kernel_path
                               : k == 1 ? g->initrd_path
                               : k == 2 ? g->disk_path
                                        : g_ptr_array_index(g->file_sources, k - 3);
            if (path != NULL) {
                add_once(a, path);
            }
        }
        for (char **b = g->disk_backing; b && *b; b++) {
            add_once(a, *b);
        }
    }
    return a;
}
