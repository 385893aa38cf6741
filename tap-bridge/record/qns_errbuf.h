/*
 * qns_errbuf.h - errors as values, for every qns library from the frame
 * records up to the C API: a function that can fail returns -1 (or NULL)
 * and writes a one-line reason into the caller's errbuf of QNS_ERRBUF_SIZE
 * bytes.
 *
 *   if (bad) return qns_fail(errbuf, "'%s' is not ...", word);
 */
#ifndef QNS_ERRBUF_H
#define QNS_ERRBUF_H

#define QNS_ERRBUF_SIZE 512

#include <stdarg.h>
#include <stdio.h>

static inline int qns_fail(char *errbuf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline int qns_fail(char *errbuf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, QNS_ERRBUF_SIZE, fmt, ap);
    va_end(ap);
    return -1;
}

#endif
