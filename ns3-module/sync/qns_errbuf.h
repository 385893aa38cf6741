/*
 * qns_errbuf.h - errors as values: a one-line reason written into the
 * caller's errbuf (QNS_ERRBUF_SIZE bytes), and -1 to return.
 *
 *   if (bad) return qns_fail(errbuf, "'%s' is not ...", word);
 */
#ifndef QNS_ERRBUF_H
#define QNS_ERRBUF_H

#include "qns.h"

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
