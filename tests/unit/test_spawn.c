/* Running commands from tests and comparing the files two runs wrote. */
#include "test_spawn.h"
#include "test_support.h"

#include <glib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/wait.h>

#include <cmocka.h>

void ts_run_ok(const char *const *argv, char **out)
{
    int ws = 0;
    char *err = NULL;
    GError *ge = NULL;
    *out = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, out, &err, &ws,
                      &ge)) {
        fail_msg("%s: %s", argv[0], ge->message);
    }
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
        /* cmocka cuts a message at a few hundred bytes: the whole output
         * goes to stderr first, where a failed CI run shows its end. */
        fprintf(stderr, "%s %s: status %d; its output:\n%s%s\n", argv[0], argv[1] ? argv[1] : "",
                ws, *out, err);
        fail_msg("%s %s: status %d (its output is above)", argv[0], argv[1] ? argv[1] : "", ws);
    }
    g_free(err);
}

void ts_assert_same_files(const char *d1, const char *d2, const char *const *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *p = g_build_filename(d1, files[i], NULL), *q = g_build_filename(d2, files[i], NULL);
        if (!ts_same_bytes(p, q)) {
            fail_msg("%s differs between %s and %s", files[i], d1, d2);
        }
        g_free(p);
        g_free(q);
    }
}
