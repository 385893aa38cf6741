/*
 * qns_escape.h - text from outside (a path from the command line or a package,
 * a name from a manifest, a line of a guest's console) made safe to print
 * on a terminal: nothing of it can move the cursor, clear the screen or
 * start an escape sequence.
 */
#ifndef QNS_ESCAPE_H
#define QNS_ESCAPE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* s with every control character as \xNN: C0 bytes and DEL, the C1
 * characters U+0080..U+009F (each byte of their UTF-8 form) and every byte
 * that is not part of valid UTF-8; with max_chars > 0 only that many
 * characters are kept and "..." marks the cut. g_free it. */
char *qns_text_escape(const char *s, size_t max_chars);

#ifdef __cplusplus
}
#endif

#endif
