/*
 * scenario_ini.c - a scenario file's text: read with a bound, scanned for
 * sections and keys with their lines, and each value read through GLib's
 * GKeyFile.
 *
 * GKeyFile keeps no line numbers, so the file text is scanned here too: the
 * scan finds each section's and key's line (and what GKeyFile would silently
 * merge: a section or key given twice); GKeyFile still reads every value,
 * except a [node]'s route, the one key that may repeat: GKeyFile would keep
 * only the last, so route values come from the scan.
 */
#define _GNU_SOURCE
#include "scenario_parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void rn_section_free(gpointer p)
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
        rn_sc_err(
            sc, line,
            "unknown section [%s]; expected [scenario], [guest NAME], [node NAME] or [link NAME]",
            rn_sc_shown(sc, t));
    } else if (s->kind == SEC_SCENARIO && *s->name) {
        rn_sc_err(sc, line, "section [scenario] takes no name");
        s->kind = SEC_UNKNOWN;
    } else if (s->kind != SEC_SCENARIO && !*s->name) {
        rn_sc_err(sc, line, "section [%s] needs a name: [%s NAME]", rn_sc_shown(sc, word),
                  rn_sc_shown(sc, word));
        s->kind = SEC_UNKNOWN;
    } else if (s->kind != SEC_SCENARIO && qns_name_check(kind_word(s->kind), s->name, why) < 0) {
        rn_sc_err(sc, line, "%s", why);
        s->kind = SEC_UNKNOWN;
    } else {
        const char *id = s->kind == SEC_SCENARIO ? "" : s->name;
        rn_section *first = g_hash_table_lookup(names, id);
        if (first && s->kind == SEC_SCENARIO) {
            rn_sc_err(sc, line, "section [scenario] is given twice (first at line %d)",
                      first->line);
            s->kind = SEC_UNKNOWN;
        } else if (first) {
            rn_sc_err(sc, line, "name %s is already used by [%s %s] at line %d", s->name,
                      kind_word(first->kind), first->name, first->line);
            s->kind = SEC_UNKNOWN;
        } else {
            g_hash_table_insert(names, (gpointer)id, s);
        }
    }
    g_free(word);
    g_free(t);
}

void rn_sc_scan_text(rn_scenario *sc)
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
                rn_sc_err(sc, line, "expected a section header [KIND NAME]");
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
            rn_sc_err(sc, line, "expected KEY = VALUE or [section], got '%s'", rn_sc_shown(sc, l));
            continue;
        }
        char *key = g_strstrip(g_strndup(l, (size_t)(eq - l)));
        if (cur == NULL) {
            rn_sc_err(sc, line, "key '%s' is outside any section", rn_sc_shown(sc, key));
            g_free(key);
            continue;
        }
        int repeats = cur->kind == SEC_NODE && strcmp(key, "route") == 0;
        for (guint k = 0; k < cur->keys->len && !repeats; k++) {
            rn_key *o = g_ptr_array_index(cur->keys, k);
            if (strcmp(o->key, key) == 0) {
                rn_sc_err(sc, line, "key '%s' is set twice in [%s] (first at line %d)",
                          rn_sc_shown(sc, key), cur->group, o->line);
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

char *rn_sc_value(rn_scenario *sc, const rn_section *s, const rn_key *k)
{
    GError *ge = NULL;
    char *v = g_key_file_get_string(sc->kf, s->group, k->key, &ge);
    if (v == NULL) {
        rn_sc_err(sc, k->line, "%s: %s", rn_sc_shown(sc, k->key), ge ? ge->message : "cannot read");
        g_clear_error(&ge);
        return NULL;
    }
    return rn_sc_own(sc, g_strstrip(v));
}

/* The value of key k when the section knows it (known), else NULL after
 * saying which keys it knows. */
char *rn_sc_known_value(rn_scenario *sc, const rn_section *s, const rn_key *k, int known,
                        const char *known_keys)
{
    if (!known) {
        rn_sc_unknown_key(sc, s, k, known_keys);
        return NULL;
    }
    return rn_sc_value(sc, s, k);
}

void rn_sc_unknown_key(rn_scenario *sc, const rn_section *s, const rn_key *k, const char *known)
{
    rn_sc_err(sc, k->line, "unknown key '%s' in [%s]; expected one of: %s", rn_sc_shown(sc, k->key),
              s->group, known);
}

/* The file's text into sc->text: a regular file of at most
 * RN_SCENARIO_MAX_BYTES, without NUL bytes. Opened without blocking, so a
 * FIFO is refused instead of waited on; read with a bound, so a file that
 * grows is too. */
int rn_sc_read_text(rn_scenario *sc)
{
    int fd;
    do {
        fd = open(sc->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        rn_sc_err(sc, 0, "cannot read the scenario: %s", g_strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rn_sc_err(sc, 0, "cannot read the scenario: %s", g_strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        rn_sc_err(sc, 0, "the scenario is %s, not a regular file", rn_file_kind(st.st_mode));
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
            rn_sc_err(sc, 0, "cannot read the scenario: %s", g_strerror(errno));
            status = -1;
            break;
        }
        if (n == 0) {
            break;
        }
        if (text->len + (size_t)n > RN_SCENARIO_MAX_BYTES) {
            rn_sc_err(sc, 0,
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
        rn_sc_err(sc, line, "the line holds a NUL byte; a scenario file is text");
        status = -1;
    }
    sc->text = g_string_free(text, status < 0);
    return status;
}

/* A yes/no key into *out; a mistake reported. */
void rn_sc_parse_flag(rn_scenario *sc, const rn_key *k, const char *v, int *out)
{
    char *why = NULL;
    if (rn_parse_bool(v, out, &why) < 0) {
        rn_sc_err_why(sc, k, why);
    }
}

/* rank = N of a guest or node into *rank and its line into *line (v NULL:
 * rank 0, after the value's own mistake). */
void rn_sc_parse_rank(rn_scenario *sc, const rn_key *k, const char *v, uint32_t *rank, int *line)
{
    uint64_t r = 0;
    char *why = NULL;
    if (v != NULL && rn_parse_uint(v, QNS_MAX_RANK, &r, &why) < 0) {
        rn_sc_err_why(sc, k, why);
    }
    *rank = (uint32_t)r;
    *line = k->line;
}
