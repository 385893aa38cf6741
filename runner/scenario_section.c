/*
 * scenario_section.c - the [scenario] section: the run's name, duration,
 * quantum, rounds, seed, spin, pinning, watchdog, guest image, FlowMonitor
 * and MPI ranks, checked by the C API as a whole (qns_sim_config_check).
 */
#include "scenario_parse.h"

#include <string.h>

/* "10s", "500ms": a wall-clock bound of whole milliseconds; "0" or "off": none. */
static void key_watchdog(rn_scenario *sc, const rn_key *k, char *v)
{
    uint64_t ns;
    char *why = NULL;
    if (strcmp(v, "0") == 0 || g_ascii_strcasecmp(v, "off") == 0) {
        sc->set.watchdog_ms = QNS_WATCHDOG_NONE;
    } else if (rn_parse_duration_ns(v, &ns, &why) == 0 && ns > 0 && ns % 1000000 == 0 &&
               ns / 1000000 <= INT32_MAX) {
        sc->set.watchdog_ms = (uint32_t)(ns / 1000000);
    } else {
        rn_sc_err(
            sc, k->line,
            "watchdog: '%s' is not a wall-clock time of whole milliseconds (e.g. 10s, 500ms), "
            "or 0 or off for none",
            v);
    }
    g_free(why);
}

static void key_name(rn_scenario *sc, const rn_key *k, char *v)
{
    char e[QNS_ERRBUF_SIZE];
    if (qns_name_check("scenario", v, e) < 0) {
        rn_sc_err(sc, k->line, "name: %s", e);
    } else {
        sc->set.name = v;
    }
}

static void key_duration(rn_scenario *sc, const rn_key *k, char *v)
{
    char e[QNS_ERRBUF_SIZE], *why = NULL;
    if (rn_parse_duration_ns(v, &sc->set.duration_ns, &why) < 0) {
        rn_sc_err_why(sc, k, why);
    } else if (qns_duration_check(sc->set.duration_ns, e) < 0) {
        rn_sc_err(sc, k->line, "%s", e);
    }
}

static void key_quantum(rn_scenario *sc, const rn_key *k, char *v)
{
    uint64_t n;
    char *why = NULL;
    if (rn_parse_duration_ns(v, &n, &why) < 0) {
        rn_sc_err_why(sc, k, why);
    } else if (n == 0 || n % 1000 != 0 || n / 1000 > UINT32_MAX) {
        rn_sc_err(sc, k->line, "quantum: '%s' is not a whole, non-zero number of microseconds",
                  rn_sc_shown(sc, v));
    } else {
        sc->set.quantum_us = (uint32_t)(n / 1000);
    }
}

static void key_spin(rn_scenario *sc, const rn_key *k, char *v)
{
    uint64_t n;
    char *why = NULL;
    g_autofree char *spin_max = rn_format_duration(1000ull * QNS_SPIN_US_MAX);
    if (rn_parse_duration_ns(v, &n, &why) < 0) {
        rn_sc_err_why(sc, k, why);
    } else if (n % 1000 != 0 || n / 1000 > QNS_SPIN_US_MAX) {
        rn_sc_err(sc, k->line, "spin: '%s' is not a whole number of microseconds up to %s",
                  rn_sc_shown(sc, v), spin_max);
    } else {
        sc->set.spin_us = (uint32_t)(n / 1000);
    }
}

static void key_pin(rn_scenario *sc, const rn_key *k, char *v)
{
    rn_sc_parse_flag(sc, k, v, &sc->set.pin);
}

static void key_flow_monitor(rn_scenario *sc, const rn_key *k, char *v)
{
    rn_sc_parse_flag(sc, k, v, &sc->set.flow_monitor);
}

static void key_ranks(rn_scenario *sc, const rn_key *k, char *v)
{
    uint64_t count = 0;
    char *why = NULL;
    if (rn_parse_uint(v, QNS_MAX_RANK + 1, &count, &why) < 0 || count == 0) {
        if (why == NULL) {
            why = g_strdup_printf("bad number '%s' (expected 1 .. %d)", rn_sc_shown(sc, v),
                                  QNS_MAX_RANK + 1);
        }
        rn_sc_err_why(sc, k, why);
    }
    sc->auto_ranks = (uint32_t)count;
    sc->auto_ranks_line = k->line;
}

static void key_rounds(rn_scenario *sc, const rn_key *k, char *v)
{
    if (strcmp(v, "fixed") == 0 || strcmp(v, "adaptive") == 0) {
        sc->set.fixed_rounds = strcmp(v, "fixed") == 0;
    } else {
        rn_sc_err(sc, k->line, "rounds: '%s' is neither fixed nor adaptive", rn_sc_shown(sc, v));
    }
}

static void key_seed(rn_scenario *sc, const rn_key *k, char *v)
{
    uint64_t n;
    char *why = NULL;
    if (rn_parse_uint(v, UINT32_MAX, &n, &why) < 0) {
        rn_sc_err_why(sc, k, why);
    } else {
        sc->set.seed = (uint32_t)n;
    }
}

static void key_guest_image(rn_scenario *sc, const rn_key *k, char *v)
{
    char dir[4096], e[QNS_ERRBUF_SIZE];
    if (qns_guest_image_dir(v, sc->places.guest_dir, dir, sizeof(dir), e) < 0) {
        rn_sc_err(sc, k->line, "guest_image: %s", e);
    } else {
        sc->set.guest_image = v;
        sc->guest_image_dir = rn_sc_own(sc, g_strdup(dir));
    }
}

/* The keys of [scenario], in the order the unknown-key message lists them. */
static const struct {
    const char *key;
    void (*parse)(rn_scenario *sc, const rn_key *k, char *v);
} scenario_keys[] = {
    {"name", key_name},
    {"duration", key_duration},
    {"quantum", key_quantum},
    {"rounds", key_rounds},
    {"seed", key_seed},
    {"spin", key_spin},
    {"pin", key_pin},
    {"watchdog", key_watchdog},
    {"guest_image", key_guest_image},
    {"flow_monitor", key_flow_monitor},
    {"ranks", key_ranks},
};

static void parse_scenario_key(rn_scenario *sc, const rn_section *s, const rn_key *k)
{
    char *v = rn_sc_value(sc, s, k);
    if (v == NULL) {
        return;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(scenario_keys); i++) {
        if (strcmp(k->key, scenario_keys[i].key) == 0) {
            scenario_keys[i].parse(sc, k, v);
            return;
        }
    }
    rn_sc_unknown_key(sc, s, k,
                      "name, duration, quantum, rounds, seed, spin, pin, watchdog, guest_image, "
                      "flow_monitor, ranks");
}

void rn_sc_parse_scenario(rn_scenario *sc, const rn_section *s)
{
    int pin_line = s->line;
    for (guint i = 0; i < s->keys->len; i++) {
        const rn_key *k = g_ptr_array_index(s->keys, i);
        parse_scenario_key(sc, s, k);
        if (strcmp(k->key, "pin") == 0) {
            pin_line = k->line;
        }
    }
    /* The whole: what the C API refuses is said at pin's line, else the section's. */
    char e[QNS_ERRBUF_SIZE];
    qns_sim_config cfg = rn_settings_sim_config(&sc->set, NULL);
    cfg.guest_image = NULL; /* its key was checked where it is given */
    if (qns_sim_config_check(&cfg, e) < 0) {
        rn_sc_err(sc, pin_line, "%s", e);
    }
}
