/*
 * escape_shim.c - qns_escape (qns.h) for the fuzz targets, which compile the
 * runner's helpers without the C API library: the same function, straight
 * on the machine library's escaping it wraps.
 */
#include "qns.h"
#include "qns_escape.h"

char *qns_escape(const char *s, size_t max_chars)
{
    return qns_text_escape(s ? s : "", max_chars);
}
