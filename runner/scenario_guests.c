/*
 * scenario_guests.c - a [guest NAME] section: memory, command, boot files
 * (kernel, initrd, disk and its backing chain, files =), QEMU's extra
 * arguments or a program run instead of QEMU, MPI rank and NICs.
 */
#define _GNU_SOURCE
#include "disk_chain.h"
#include "scenario_parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An existing, readable file, resolved against the base folder. */
static char *input_file(rn_scenario *sc, const rn_key *k, const char *v)
{
    char *p = g_path_is_absolute(v) ? g_strdup(v) : g_build_filename(sc->set.base_dir, v, NULL);
    if (access(p, R_OK) != 0) {
        rn_sc_err(sc, k->line, "%s: cannot read '%s': %s", k->key, rn_sc_shown_path(sc, v),
                  g_strerror(errno));
    } else if (!g_file_test(p, G_FILE_TEST_IS_REGULAR)) {
        rn_sc_err(sc, k->line, "%s: '%s' is not a regular file", k->key, rn_sc_shown_path(sc, v));
    }
    return rn_sc_own(sc, p);
}

/* The backing files of the disk at path (none for a raw image), or NULL
 * after a mistake of the disk's line: what QEMU would open besides plain
 * files of the chain, or a chain that does not open. */
static char **disk_backing(rn_scenario *sc, const rn_key *k, const char *path)
{
    char *why = NULL;
    GPtrArray *chain = rn_disk_chain(path, sc->set.base_dir, &why);
    if (chain == NULL) {
        rn_sc_err_why(sc, k, why);
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
        rn_sc_err(sc, k->line, "%s: cannot split '%s': %s", k->key, rn_sc_shown(sc, v),
                  ge->message);
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
            rn_sc_err_why(sc, k, why);
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
            rn_sc_err(sc, k->line, "%s: unknown NIC model '%s'; expected virtio or e1000", k->key,
                      rn_sc_shown(sc, v));
        }
    } else if (strcmp(field, "latency") == 0) {
        if (rn_parse_duration_ns(v, &g->latency_ns[nic], &why) < 0) {
            rn_sc_err_why(sc, k, why);
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
static void key_files(rn_scenario *sc, rn_guest *g, const rn_key *k, char *v)
{
    gchar **given = g_strsplit(v, ",", -1);
    char **specs = g_new0(char *, g_strv_length(given) + 1);
    char *base = g_canonicalize_filename(sc->set.base_dir, NULL);
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

static void key_memory(rn_scenario *sc, rn_guest *g, const rn_key *k, char *v)
{
    char *why = NULL;
    if (rn_parse_memory_mb(v, &g->cfg.memory_mb, &why) < 0) {
        rn_sc_err_why(sc, k, why);
    }
}

/* command, services, append, kernel_args: the C API's to check. */
static void key_text(rn_scenario *sc, rn_guest *g, const rn_key *k, char *v)
{
    (void)sc;
    const char **field = strcmp(k->key, "command") == 0    ? &g->cfg.command
                         : strcmp(k->key, "services") == 0 ? &g->cfg.services
                         : strcmp(k->key, "append") == 0   ? &g->cfg.append
                                                           : &g->cfg.kernel_args;
    *field = v;
}

static void key_kernel(rn_scenario *sc, rn_guest *g, const rn_key *k, char *v)
{
    g->cfg.kernel = g->kernel_path = input_file(sc, k, v);
}

static void key_initrd(rn_scenario *sc, rn_guest *g, const rn_key *k, char *v)
{
    g->cfg.initrd = g->initrd_path = input_file(sc, k, v);
}

static void key_disk(rn_scenario *sc, rn_guest *g, const rn_key *k, char *v)
{
    int before = sc->error_count;
    g->cfg.disk = g->disk_path = input_file(sc, k, v);
    if (sc->error_count == before) {
        g->disk_backing = disk_backing(sc, k, g->disk_path);
        g->cfg.disk_backing = (const char *const *)g->disk_backing;
    }
}

static void key_ends_run(rn_scenario *sc, rn_guest *g, const rn_key *k, char *v)
{
    rn_sc_parse_flag(sc, k, v, &g->cfg.ends_run);
}

static void key_agent(rn_scenario *sc, rn_guest *g, const rn_key *k, char *v)
{
    rn_sc_parse_flag(sc, k, v, &g->cfg.agent);
}

static void key_boot(rn_scenario *sc, rn_guest *g, const rn_key *k, char *v)
{
    if (strcmp(v, "cold") == 0) {
        g->cfg.boot = QNS_BOOT_COLD;
    } else if (strcmp(v, "snapshot") == 0) {
        g->cfg.boot = QNS_BOOT_SNAPSHOT;
    } else if (strcmp(v, "auto") == 0) {
        g->cfg.boot = QNS_BOOT_AUTO;
    } else {
        rn_sc_err(sc, k->line, "boot: '%s' is not auto, cold or snapshot", rn_sc_shown(sc, v));
    }
}

static void key_rank(rn_scenario *sc, rn_guest *g, const rn_key *k, char *v)
{
    rn_sc_parse_rank(sc, k, v, &g->cfg.rank, &g->rank_line);
}

static void key_extra_args(rn_scenario *sc, rn_guest *g, const rn_key *k, char *v)
{
    char **argv = split_args(sc, k, v);
    if (argv != NULL) {
        g->cfg.extra_args = (const char *const *)argv;
    }
}

static void key_program(rn_scenario *sc, rn_guest *g, const rn_key *k, char *v)
{
    char **argv = split_args(sc, k, v);
    if (argv == NULL) {
        return;
    }
    /* A path is the scenario's, as kernel's and disk's are; a bare name is
     * looked up in PATH. */
    if (strchr(argv[0], '/') && !g_path_is_absolute(argv[0])) {
        char *path = g_canonicalize_filename(argv[0], sc->set.base_dir);
        g_free(argv[0]); /* argv is freed with the scenario */
        argv[0] = path;
    }
    char *found = g_find_program_in_path(argv[0]);
    if (found == NULL) {
        rn_sc_err(sc, k->line, "program: '%s' is not an executable program",
                  rn_sc_shown_path(sc, argv[0]));
    }
    g_free(found);
    g->cfg.program = (const char *const *)argv;
}

typedef void guest_key_parser(rn_scenario *sc, rn_guest *g, const rn_key *k, char *v);

static const struct {
    const char *key;
    guest_key_parser *parse;
} guest_key_parsers[] = {
    {"memory", key_memory},         {"command", key_text},      {"services", key_text},
    {"kernel", key_kernel},         {"initrd", key_initrd},     {"append", key_text},
    {"kernel_args", key_text},      {"disk", key_disk},         {"files", key_files},
    {"extra_args", key_extra_args}, {"ends_run", key_ends_run}, {"agent", key_agent},
    {"program", key_program},       {"rank", key_rank},         {"boot", key_boot},
};

static const char guest_keys[] =
    "memory, command, services, kernel, initrd, append, kernel_args, disk, files, extra_args, "
    "ends_run, agent, program, rank, boot, "
    "nicN.ip, nicN.mac, nicN.model, nicN.latency";

static guest_key_parser *guest_key_parser_of(const char *key)
{
    for (size_t i = 0; i < G_N_ELEMENTS(guest_key_parsers); i++) {
        if (strcmp(key, guest_key_parsers[i].key) == 0) {
            return guest_key_parsers[i].parse;
        }
    }
    return NULL;
}

static void parse_guest_key(rn_scenario *sc, rn_guest *g, const rn_key *k)
{
    const char *field;
    int nic = nic_key(k->key, &field);
    guest_key_parser *parse = nic < 0 ? guest_key_parser_of(k->key) : NULL;
    char *v = rn_sc_known_value(sc, g->sec, k, nic >= 0 || parse != NULL, guest_keys);
    if (v == NULL) {
        return;
    }
    if (nic >= QNS_MAX_NICS) {
        rn_sc_err(sc, k->line, "%s: a guest has at most %d NICs, nic0 .. nic%d",
                  rn_sc_shown(sc, k->key), QNS_MAX_NICS, QNS_MAX_NICS - 1);
    } else if (nic >= 0) {
        guest_nic(sc, g, k, v, nic, field);
    } else {
        parse(sc, g, k, v);
    }
}

void rn_sc_parse_guest(rn_scenario *sc, const rn_section *s)
{
    rn_guest *g = g_new0(rn_guest, 1);
    g->sec = s;
    g->cfg.name = s->name;
    g_ptr_array_add(sc->guests, g);
    for (guint i = 0; i < s->keys->len; i++) {
        parse_guest_key(sc, g, g_ptr_array_index(s->keys, i));
    }
}
