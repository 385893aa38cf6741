/* Running commands from tests (GLib's g_spawn_sync) and comparing the
 * files two runs wrote. Each fails the running cmocka test on an error. */
#ifndef QNS_TEST_SPAWN_H
#define QNS_TEST_SPAWN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C"
{
#endif

    /* Runs argv (NULL-terminated; argv[0] searched in PATH) and waits for it:
     * it must exit 0. Its stdout in *out (g_free it). */
    void ts_run_ok(const char *const *argv, char **out);

    /* Every one of files[0 .. n) holds the same bytes in folders d1 and d2. */
    void ts_assert_same_files(const char *d1, const char *d2, const char *const *files, size_t n);

#ifdef __cplusplus
}
#endif

#endif
