/*
 * manifest_read.c - a run's manifest.json read back: from its bytes, which
 * a package from a stranger carries (it must be a JSON object with an
 * object of outputs, and its members are read only through accessors that
 * check their types), and from a run folder. Free of the C API, so the
 * fuzz target compiles it on its own. Writing: manifest_write.c.
 */
#define _GNU_SOURCE
#include "manifest.h"
#include "runner.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The deepest nesting of arrays and objects outside strings, stopping at
 * more than max: json-glib parses recursively, and a stranger's manifest
 * of 100 000 '[' would take its stack. */
static int nests_deeper(const char *text, size_t len, int max)
{
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                in_string = 0;
            }
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max) {
                return 1;
            }
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return 0;
}

int rn_manifest_parse(const char *data, size_t len, const char *name, rn_manifest *m)
{
    /* json-glib names data it did not read from a file "<data>". */
    static const char unnamed[] = "<data>";
    GError *ge = NULL;
    m->parser = json_parser_new();
    m->root = NULL;
    m->outputs = NULL;
    if (nests_deeper(data, len, RN_MANIFEST_MAX_DEPTH)) {
        rn_error("%s nests arrays and objects deeper than %d levels; it is not a qns manifest",
                 name, RN_MANIFEST_MAX_DEPTH);
        g_clear_object(&m->parser);
        return -1;
    }
    int ok = len <= G_MAXSSIZE && json_parser_load_from_data(m->parser, data, (gssize)len, &ge);
    if (!ok) {
        const char *why = ge ? ge->message : "too large";
        int at = g_str_has_prefix(why, unnamed);
        rn_error("cannot read %s: %s%s", name, at ? name : "", at ? why + strlen(unnamed) : why);
        g_clear_error(&ge);
    } else {
        JsonNode *root = json_parser_get_root(m->parser);
        m->root = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
        m->outputs = rn_json_object(m->root, "outputs");
        if (m->outputs == NULL) {
            rn_error("%s is not a qns manifest (no outputs)", name);
            ok = 0;
        }
    }
    if (!ok) {
        g_clear_object(&m->parser);
    }
    return ok ? 0 : -1;
}

const char *rn_json_string(JsonObject *o, const char *member)
{
    if (o == NULL || !json_object_has_member(o, member)) {
        return NULL;
    }
    JsonNode *n = json_object_get_member(o, member);
    return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
               ? json_node_get_string(n)
               : NULL;
}

guint rn_manifest_guest_count(JsonObject *root)
{
    JsonNode *gn = root ? json_object_get_member(root, "guests") : NULL;
    return gn && JSON_NODE_HOLDS_ARRAY(gn) ? json_array_get_length(json_node_get_array(gn)) : 0;
}

JsonObject *rn_manifest_guest(JsonObject *root, guint i)
{
    if (i >= rn_manifest_guest_count(root)) {
        return NULL;
    }
    JsonArray *guests = json_node_get_array(json_object_get_member(root, "guests"));
    JsonNode *n = json_array_get_element(guests, i);
    return JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

JsonObject *rn_json_object(JsonObject *o, const char *member)
{
    if (o == NULL || !json_object_has_member(o, member)) {
        return NULL;
    }
    JsonNode *n = json_object_get_member(o, member);
    return JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

/* Why an output the manifest names is no file of the run folder dir: a
 * name that leads elsewhere, or a file there that is no regular file (a
 * symbolic link, a FIFO, a device). NULL when it is one, or missing (which
 * verify reports in its table). */
static char *output_problem(const char *dir, const char *name)
{
    gchar **parts = g_strsplit(name, "/", -1);
    int bad = *name == '\0' || g_path_is_absolute(name);
    for (gchar **p = parts; *p && !bad; p++) {
        bad = **p == '\0' || strcmp(*p, ".") == 0 || strcmp(*p, "..") == 0;
    }
    g_strfreev(parts);
    if (bad) {
        return g_strdup("is not a file name inside the run folder");
    }
    char *path = g_build_filename(dir, name, NULL), *problem = NULL;
    struct stat st;
    int there = lstat(path, &st) == 0;
    if (!there && errno != ENOENT) {
        problem = g_strdup_printf("cannot be read: %s", g_strerror(errno));
    } else if (there && !S_ISREG(st.st_mode)) {
        problem = g_strdup_printf("is %s, not a regular file", rn_file_kind(st.st_mode));
    }
    g_free(path);
    return problem;
}

int rn_manifest_load(const char *dir, rn_manifest *m)
{
    char *path = g_build_filename(dir, RN_MANIFEST, NULL), *why = NULL;
    gsize len = 0;
    char *text = rn_read_plain_file(path, RN_MANIFEST_MAX_BYTES, &len, &why);
    int ok = 0;
    m->parser = NULL;
    if (text == NULL) {
        rn_error("cannot read %s: %s", path, why);
    } else {
        ok = rn_manifest_parse(text, len, path, m) == 0;
    }
    GList *names = ok ? json_object_get_members(m->outputs) : NULL;
    for (GList *l = names; l && ok; l = l->next) {
        char *problem = output_problem(dir, l->data);
        if (problem) {
            char *shown = rn_quote_path(l->data);
            rn_error("%s names the output '%s', which %s", path, shown, problem);
            g_free(shown);
            g_free(problem);
            ok = 0;
        }
    }
    g_list_free(names);
    g_free(text);
    g_free(why);
    g_free(path);
    if (!ok) {
        g_clear_object(&m->parser);
    }
    return ok ? 0 : -1;
}
