/*
 * qns_limits.h - the numbers a guest and a run are checked against, in one
 * table, in the lowest layer that checks one (the grant core checks spin):
 * the C API (qns.h includes this), the ns-3 attributes and the runner's
 * messages all read them from here. Plain C.
 */
#ifndef QNS_LIMITS_H
#define QNS_LIMITS_H

#include <stdint.h>

/* Guests, nodes, links and scenarios are named with 1..QNS_NAME_MAX letters,
 * digits, '-' or '_'. */
#define QNS_NAME_MAX 32
/* NICs a guest may have. */
#define QNS_MAX_NICS 8
/* The highest MPI rank a guest or node may be put on. */
#define QNS_MAX_RANK 1023
/* A guest's memory in MiB (0 takes its image's), and what the default guest
 * and an own kernel get. */
#define QNS_MEMORY_MB_MIN 16
#define QNS_MEMORY_MB_MAX 1048576
#define QNS_MEMORY_MB_DEFAULT 256
/* QEMU's -icount shift: a guest instruction takes 2^shift ns. */
#define QNS_ICOUNT_SHIFT_MAX 9
#define QNS_ICOUNT_SHIFT_DEFAULT 1
/* The round length when none is given, in microseconds (rounds are whole
 * microseconds: the grant protocol counts in them). */
#define QNS_QUANTUM_US_DEFAULT 10
/* Busy-waiting per round (spin_us), at most a second. */
#define QNS_SPIN_US_MAX 1000000
/* The wall-clock watchdog's window, and the value that turns it off. */
#define QNS_WATCHDOG_DEFAULT_MS 60000
#define QNS_WATCHDOG_NONE UINT32_MAX
/* The default guest's kernel takes a command line of at most this many
 * bytes (x86's COMMAND_LINE_SIZE 2048, less the terminating NUL); a longer
 * one (a long command, base64-encoded into it) is refused. */
#define QNS_DEFAULT_GUEST_CMDLINE_MAX 2047
/* The cache's folder (beside guest/) of images imported from packages, each
 * under the SHA-256 of its files: qns guest import never puts an image
 * where the build's own stand, under a key its files do not prove. */
#define QNS_IMPORTED_GUESTS "guest-imported"

#endif
