/*
 * qns_console.c - a guest's console file, read once (qns_console.h).
 */
#include "qns_console.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

static void empty(qns_console *c)
{
    memset(c, 0, sizeof(*c));
    c->command_status = -1;
}

static void scan_line(qns_console *c, GPtrArray *shown, const char *line, int *inside)
{
    const char *panic = strstr(line, QNS_CONSOLE_PANIC);
    if (panic != NULL && c->panic == NULL) {
        c->panic = g_strdup(panic);
    }
    if (g_str_has_prefix(line, QNS_CONSOLE_CMD_BEGIN)) {
        *inside = 1;
        return;
    }
    if (g_str_has_prefix(line, QNS_CONSOLE_CMD_END)) {
        *inside = 0;
        int status;
        if (sscanf(line, QNS_CONSOLE_CMD_END " status=%d", &status) == 1) {
            c->command_status = status;
        }
        return;
    }
    int error = g_str_has_prefix(line, QNS_CONSOLE_ERROR);
    if (*inside || error) {
        g_ptr_array_add(shown, g_strdup(line));
    }
    if (*inside) {
        return;
    }
    if (g_str_has_prefix(line, QNS_CONSOLE_READY)) {
        c->ready = 1;
    } else if (error && g_str_has_prefix(line, QNS_CONSOLE_ERROR ": ") && c->setup_error == NULL) {
        c->setup_error = g_strdup(line + strlen(QNS_CONSOLE_ERROR ": "));
    }
}

int qns_console_read(const char *path, qns_console *out)
{
    empty(out);
    gchar *data = NULL;
    if (!g_file_get_contents(path, &data, NULL, NULL)) {
        out->shown = g_new0(char *, 1);
        return -1;
    }
    GPtrArray *shown = g_ptr_array_new();
    gchar **lines = g_strsplit(data, "\n", -1);
    int inside = 0;
    for (gchar **l = lines; *l; l++) {
        scan_line(out, shown, g_strchomp(*l), &inside);
    }
    g_ptr_array_add(shown, NULL);
    out->shown = (char **)g_ptr_array_free(shown, FALSE);
    g_strfreev(lines);
    g_free(data);
    return 0;
}

void qns_console_clear(qns_console *console)
{
    g_free(console->setup_error);
    g_free(console->panic);
    g_strfreev(console->shown);
    empty(console);
}
