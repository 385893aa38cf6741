/*
 * units.c - durations, rates, loss rates, queue sizes and the like, as
 * people write them in scenario files ("1.5s", "100Mbit/s", "1%"). Exact:
 * durations and rates are parsed as decimals, never through a double, so
 * "0.1s" is 100000000 ns. Not for general expressions.
 */
#define _GNU_SOURCE
#include "runner.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* "12.345" followed by a unit: value = mant / 10^frac_digits. */
typedef struct decimal {
    uint64_t mant;
    int frac_digits;
    const char *unit; /* rest of the string, leading spaces skipped */
} decimal;

static int parse_decimal(const char *s, decimal *d)
{
    const char *p = s;
    d->mant = 0;
    d->frac_digits = 0;
    int digits = 0, dot = 0;
    for (;; p++) {
        if (isdigit((unsigned char)*p)) {
            if (d->mant > (UINT64_MAX - 9) / 10) {
                return -1;
            }
            d->mant = d->mant * 10 + (uint64_t)(*p - '0');
            digits++;
            d->frac_digits += dot;
        } else if (*p == '.' && !dot) {
            dot = 1;
        } else {
            break;
        }
    }
    if (digits == 0) {
        return -1;
    }
    while (*p == ' ') {
        p++;
    }
    d->unit = p;
    return 0;
}

/* mant / 10^frac * scale, exactly; -1 if not whole or too large. */
static int scale_exact(const decimal *d, uint64_t scale, uint64_t *out)
{
    unsigned __int128 v = (unsigned __int128)d->mant * scale;
    for (int i = 0; i < d->frac_digits; i++) {
        if (v % 10 != 0) {
            return -1;
        }
        v /= 10;
    }
    if (v > UINT64_MAX) {
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

typedef struct unit {
    const char *name;
    uint64_t scale;
} unit;

static int find_unit(const unit *units, const char *name, uint64_t *scale)
{
    for (const unit *u = units; u->name; u++) {
        if (strcmp(u->name, name) == 0) {
            *scale = u->scale;
            return 0;
        }
    }
    return -1;
}

int rn_parse_duration_ns(const char *s, uint64_t *out, char **why)
{
    static const unit units[] = {{"ns", 1},           {"us", 1000},         {"\xc2\xb5s", 1000},
                                 {"ms", 1000000},     {"s", 1000000000},    {"min", 60000000000},
                                 {NULL, 0}};
    decimal d;
    uint64_t scale;
    if (parse_decimal(s, &d) < 0 || find_unit(units, d.unit, &scale) < 0) {
        g_autofree char *q = rn_quote(s);
        *why = g_strdup_printf("bad duration '%s' (expected a number and a unit: ns, us, ms, s, "
                               "e.g. 100ns, 10us, 5ms, 1.5s)",
                               q);
        return -1;
    }
    if (scale_exact(&d, scale, out) < 0) {
        g_autofree char *q = rn_quote(s);
        *why = g_strdup_printf("bad duration '%s' (not a whole number of nanoseconds, or too long)",
                               q);
        return -1;
    }
    return 0;
}

int rn_parse_distance_m(const char *s, double *out, char **why)
{
    static const unit units[] = {{"mm", 1}, {"cm", 10}, {"m", 1000}, {"km", 1000000}, {NULL, 0}};
    decimal d;
    uint64_t scale, mm;
    if (parse_decimal(s, &d) < 0 || find_unit(units, d.unit, &scale) < 0 ||
        scale_exact(&d, scale, &mm) < 0 || mm == 0) {
        g_autofree char *q = rn_quote(s);
        *why = g_strdup_printf("bad distance '%s' (expected a number above 0 and a unit: mm, cm, "
                               "m, km, e.g. 10m, 2.5m)",
                               q);
        return -1;
    }
    *out = (double)mm / 1000.0;
    return 0;
}

int rn_parse_rate_bps(const char *s, uint64_t *out, char **why)
{
    static const unit units[] = {
        {"bps", 1},           {"bit/s", 1},           {"b/s", 1},
        {"kbps", 1000},       {"kbit/s", 1000},       {"kb/s", 1000},
        {"Kbps", 1000},       {"Kbit/s", 1000},       {"Kb/s", 1000},
        {"Mbps", 1000000},    {"Mbit/s", 1000000},    {"Mb/s", 1000000},
        {"Gbps", 1000000000}, {"Gbit/s", 1000000000}, {"Gb/s", 1000000000},
        {NULL, 0}};
    decimal d;
    uint64_t scale;
    if (parse_decimal(s, &d) < 0 || find_unit(units, d.unit, &scale) < 0) {
        g_autofree char *q = rn_quote(s);
        *why = g_strdup_printf("bad rate '%s' (expected a number and bps, kbps, Mbps or Gbps, "
                               "or bit/s, kbit/s, Mbit/s, Gbit/s, e.g. 100Mbps)",
                               q);
        return -1;
    }
    if (scale_exact(&d, scale, out) < 0 || *out == 0) {
        g_autofree char *q = rn_quote(s);
        *why = g_strdup_printf("bad rate '%s' (must be a whole, non-zero number of bit/s)", q);
        return -1;
    }
    return 0;
}

int rn_parse_loss(const char *s, double *out, char **why)
{
    char *end;
    errno = 0;
    double v = g_ascii_strtod(s, &end);
    int percent = 0;
    while (*end == ' ') {
        end++;
    }
    if (*end == '%') {
        percent = 1;
        end++;
    }
    if (end == s || *end != '\0' || errno != 0 || !(v >= 0) || v > (percent ? 100.0 : 1.0)) {
        g_autofree char *q = rn_quote(s);
        *why = g_strdup_printf("bad loss rate '%s' (expected 0 .. 1 or 0%% .. 100%%, e.g. 0.01 "
                               "or 1%%)",
                               q);
        return -1;
    }
    *out = percent ? v / 100.0 : v;
    return 0;
}

int rn_parse_queue(const char *s, uint32_t *out, char **why)
{
    decimal d;
    uint64_t v;
    if (parse_decimal(s, &d) < 0 || d.frac_digits != 0 ||
        !(strcmp(d.unit, "") == 0 || strcmp(d.unit, "p") == 0 ||
          strcmp(d.unit, "packets") == 0) ||
        scale_exact(&d, 1, &v) < 0 || v == 0 || v > UINT32_MAX) {
        g_autofree char *q = rn_quote(s);
        *why = g_strdup_printf("bad queue size '%s' (expected a number of packets, e.g. 100p)", q);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

int rn_parse_memory_mb(const char *s, uint32_t *out, char **why)
{
    static const unit units[] = {{"", 1},   {"M", 1},    {"MB", 1},   {"MiB", 1},
                                 {"G", 1024}, {"GB", 1024}, {"GiB", 1024}, {NULL, 0}};
    decimal d;
    uint64_t scale, v;
    if (parse_decimal(s, &d) < 0 || find_unit(units, d.unit, &scale) < 0 ||
        scale_exact(&d, scale, &v) < 0 || v < QNS_MEMORY_MB_MIN || v > QNS_MEMORY_MB_MAX) {
        g_autofree char *q = rn_quote(s);
        *why = g_strdup_printf("bad memory size '%s' (expected MiB from %d to %d, e.g. 256, 256M "
                               "or 1G)",
                               q, QNS_MEMORY_MB_MIN, QNS_MEMORY_MB_MAX);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

int rn_parse_uint(const char *s, uint64_t max, uint64_t *out, char **why)
{
    decimal d;
    uint64_t v;
    if (parse_decimal(s, &d) < 0 || d.frac_digits != 0 || *d.unit != '\0' ||
        scale_exact(&d, 1, &v) < 0 || v > max) {
        g_autofree char *q = rn_quote(s);
        *why =
            g_strdup_printf("bad number '%s' (expected a whole number 0 .. %" PRIu64 ")", q, max);
        return -1;
    }
    *out = v;
    return 0;
}

int rn_parse_bool(const char *s, int *out, char **why)
{
    static const char *yes[] = {"true", "yes", "on", "1", NULL};
    static const char *no[] = {"false", "no", "off", "0", NULL};
    for (int i = 0; yes[i]; i++) {
        if (g_ascii_strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (g_ascii_strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    g_autofree char *q = rn_quote(s);
    *why = g_strdup_printf("bad boolean '%s' (expected true or false)", q);
    return -1;
}

int rn_parse_ipv4(const char *s, int with_prefix, char **why)
{
    char e[QNS_ERRBUF_SIZE];
    if (qns_ipv4_check(s, with_prefix, e) < 0) {
        *why = g_strdup(e);
        return -1;
    }
    return 0;
}

char *rn_format_duration(uint64_t ns)
{
    if (ns % 1000000000 == 0) {
        return g_strdup_printf("%" PRIu64 "s", ns / 1000000000);
    }
    if (ns % 1000000 == 0) {
        return g_strdup_printf("%" PRIu64 "ms", ns / 1000000);
    }
    if (ns % 1000 == 0) {
        return g_strdup_printf("%" PRIu64 "us", ns / 1000);
    }
    return g_strdup_printf("%" PRIu64 "ns", ns);
}
