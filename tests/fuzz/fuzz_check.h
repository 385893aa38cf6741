/*
 * fuzz_check.h - what a fuzz target asserts: a failed check aborts, which
 * libFuzzer reports as a crash (keeping the input) and a replay as a failure.
 * Unlike assert(), it is never compiled out.
 */
#ifndef QNS_FUZZ_CHECK_H
#define QNS_FUZZ_CHECK_H

#include <stdlib.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
