/*
 * escape.c - control characters and bytes that are not UTF-8 as \xNN.
 */
#include "qns_escape.h"

#include <glib.h>
#include <string.h>

char *qns_text_escape(const char *s, size_t max_chars)
{
    GString *out = g_string_new(NULL);
    const char *end = s + strlen(s);
    size_t chars = 0;
    for (const char *p = s; *p; chars++) {
        if (max_chars > 0 && chars == max_chars) {
            g_string_append(out, "...");
            break;
        }
        unsigned char c = (unsigned char)*p;
        gunichar u = c < 0x80 ? c : g_utf8_get_char_validated(p, end - p);
        if (u == (gunichar)-1 || u == (gunichar)-2) {
            g_string_append_printf(out, "\\x%02x", c); /* not UTF-8: this byte alone */
            p++;
        } else if (u < 0x20 || (u >= 0x7f && u <= 0x9f)) {
            for (const char *next = g_utf8_next_char(p); p < next; p++) {
                g_string_append_printf(out, "\\x%02x", (unsigned char)*p);
            }
        } else {
            const char *next = g_utf8_next_char(p);
            g_string_append_len(out, p, next - p);
            p = next;
        }
    }
    return g_string_free(out, FALSE);
}
