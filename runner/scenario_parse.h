/*
 * scenario_parse.h - what the parts of a scenario's load share: the file as
 * scanned (sections and keys with their lines), each section as parsed,
 * and the scenario handle that owns them with its settings. Internal to
 * the scenario_*.c files; the rest of the runner reads settings.h.
 *
 * scenario.c       load, environment checks, the settings, errors
 * scenario_ini.c   the text: sections, keys, lines, values, unknown keys
 * scenario_section.c, scenario_guests.c, scenario_nodes.c,
 * scenario_links.c the section parsers
 * scenario_build.c the parsed sections into qns_sim_* calls
 */
#ifndef QNS_RUNNER_SCENARIO_PARSE_H
#define QNS_RUNNER_SCENARIO_PARSE_H

#include "runner.h"

typedef struct rn_key {
    char *key;
    char *text; /* the value as written (read for keys that may repeat) */
    int line;
} rn_key;

typedef enum {
    SEC_SCENARIO,
    SEC_GUEST,
    SEC_NODE,
    SEC_LINK,
    SEC_UNKNOWN
} sec_kind;

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
    int nic_line[QNS_MAX_NICS];                        /* where each NIC was first mentioned */
    int mac_line[QNS_MAX_NICS], ip_line[QNS_MAX_NICS]; /* nicN.mac, nicN.ip; 0: not given */
    uint64_t latency_ns[QNS_MAX_NICS];
    int rank_line;                               /* rank = N; 0: not given */
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
    char *text;
    GKeyFile *kf;
    GPtrArray *sections;               /* rn_section * */
    rn_settings set;                   /* what the rest of the runner reads */
    rn_guest_settings *guest_settings; /* set.guests */
    rn_app_settings *app_settings;     /* set.apps */
    char *guest_image_dir;             /* [scenario] guest_image's folder, or NULL */
    rn_places places;                  /* owned copies; NULL fields: the library's */
    uint32_t auto_ranks;               /* [scenario] ranks = N: qns partitions (0: off) */
    int auto_ranks_line;
    GPtrArray *guests, *nodes, *links;
    GPtrArray *owned;      /* strings the configs point into */
    GPtrArray *owned_strv; /* argv vectors the configs point into */
    GString *errors;
    int error_count;
};

/* ---- scenario.c: mistakes and owned strings */
/* Appends "FILE:LINE: message" (line 0: "FILE: message") to the errors. */
void rn_sc_err(rn_scenario *sc, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reports a unit parser's reason as "KEY: reason" (frees why). */
void rn_sc_err_why(rn_scenario *sc, const rn_key *k, char *why);
/* s, owned by sc from now on. */
char *rn_sc_own(rn_scenario *sc, char *s);
/* User input as a message quotes it (rn_quote), owned by sc. */
const char *rn_sc_shown(rn_scenario *sc, const char *s);
/* A path as a message quotes it: escaped, cut only past PATH_MAX. */
const char *rn_sc_shown_path(rn_scenario *sc, const char *s);

/* ---- scenario_ini.c: the text */
/* The file's text into sc->text: a regular file of at most
 * RN_SCENARIO_MAX_BYTES, without NUL bytes. 0, or -1 after a mistake. */
int rn_sc_read_text(rn_scenario *sc);
/* Each section and key of sc->text with its line into sc->sections, every
 * header, key or name that is wrong or given twice reported. */
void rn_sc_scan_text(rn_scenario *sc);
/* The value of key k of section s as GKeyFile reads it (stripped, owned by
 * sc), or NULL after a mistake. */
char *rn_sc_value(rn_scenario *sc, const rn_section *s, const rn_key *k);
void rn_sc_unknown_key(rn_scenario *sc, const rn_section *s, const rn_key *k, const char *known);
/* rn_sc_value when the section knows the key (known), else NULL after
 * rn_sc_unknown_key. */
char *rn_sc_known_value(rn_scenario *sc, const rn_section *s, const rn_key *k, int known,
                        const char *known_keys);
void rn_section_free(gpointer p);
/* A yes/no value into *out, and rank = N into *rank and its line into
 * *line; a mistake reported. */
void rn_sc_parse_flag(rn_scenario *sc, const rn_key *k, const char *v, int *out);
void rn_sc_parse_rank(rn_scenario *sc, const rn_key *k, const char *v, uint32_t *rank, int *line);

/* ---- the section parsers; each reports every mistake it finds */
void rn_sc_parse_scenario(rn_scenario *sc, const rn_section *s); /* scenario_section.c */
void rn_sc_parse_guest(rn_scenario *sc, const rn_section *s);    /* scenario_guests.c */
void rn_sc_parse_node(rn_scenario *sc, const rn_section *s);     /* scenario_nodes.c */
/* Every [link] section; after the guests and nodes, which links name
 * (scenario_links.c). */
void rn_sc_parse_links(rn_scenario *sc);

#endif
