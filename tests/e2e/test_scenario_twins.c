/* Each shipped scenario file and its C twin (scenario_defs.c) describe the
 * same run: the file's [scenario] settings are the ones the C programs use,
 * and both build guests with the very same QEMU command lines (commands,
 * addresses, NICs), under either round mode. Builds only; nothing runs, so
 * this takes milliseconds. */
#define _GNU_SOURCE
#include "runner.h"
#include "scenario_util.h"
#include "test_support.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifndef QNS_SOURCE_DIR
#error "QNS_SOURCE_DIR must name the source tree"
#endif

typedef struct twin {
    const char *name;
    scenario_rounds_fn_t fn;
    uint64_t duration_ns; /* what the C program runs for */
    int guests;
} twin;

static const twin twins[] = {
    {"lan_ping", scenario_lan_ping, 60000000000ull, 2},
    {"ping_30", scenario_ping_30, 60000000000ull, 2},
    {"udp_echo_p2p", scenario_udp_echo_p2p, 120000000000ull, 1},
    {"iperf_bottleneck", scenario_iperf_bottleneck, 120000000000ull, 2},
};

/* Every guest's QEMU command line of `sim` (a GStrv each); frees sim. */
static GPtrArray *argvs_of(qns_sim *sim, int guests)
{
    GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    for (int g = 0; g < guests; g++) {
        const char *const *a = qns_sim_guest_argv(sim, g);
        assert_non_null(a);
        g_ptr_array_add(all, g_strdupv((char **)a));
    }
    qns_sim_free(sim);
    return all;
}

/* What the runner builds from the shipped file, at the file's quantum and
 * with `rounds`. */
static GPtrArray *file_argvs(const twin *t, const rn_scenario *sc, const char *out,
                             qns_round_mode rounds)
{
    GString *errors = g_string_new(NULL);
    qns_sim_config cfg = {.quantum_us = rn_scenario_settings(sc)->quantum_us,
                          .seed = rn_scenario_settings(sc)->seed,
                          .out_dir = out,
                          .rounds = rounds};
    qns_sim *sim = rn_scenario_build(sc, &cfg, errors);
    if (sim == NULL) {
        fail_msg("%s: %s", t->name, errors->str);
    }
    g_string_free(errors, TRUE);
    return argvs_of(sim, t->guests);
}

static void twin_builds_what_its_file_builds(const twin *t, const char *out)
{
    char *path = g_strdup_printf("%s/scenarios/%s.ini", QNS_SOURCE_DIR, t->name);
    GString *errors = g_string_new(NULL);
    rn_scenario *sc = rn_scenario_load(path, NULL, NULL, errors);
    if (sc == NULL) {
        fail_msg("%s", errors->str);
    }
    /* The C programs: this name, a 10 us quantum, seed 1, adaptive rounds. */
    assert_string_equal(rn_scenario_settings(sc)->name, t->name);
    assert_int_equal(rn_scenario_settings(sc)->quantum_us, 10);
    assert_int_equal(rn_scenario_settings(sc)->seed, 1);
    assert_int_equal(rn_scenario_settings(sc)->fixed_rounds, 0);
    assert_int_equal(rn_scenario_settings(sc)->duration_ns, t->duration_ns);
    assert_int_equal(rn_scenario_settings(sc)->guest_count, t->guests);
    const qns_round_mode modes[2] = {QNS_ROUNDS_ADAPTIVE, QNS_ROUNDS_FIXED};
    for (int m = 0; m < 2; m++) {
        GPtrArray *want = file_argvs(t, sc, out, modes[m]);
        char err[QNS_ERRBUF_SIZE];
        qns_sim *sim = t->fn(out, 10, modes[m], err);
        if (sim == NULL) {
            fail_msg("%s: %s", t->name, err);
        }
        GPtrArray *got = argvs_of(sim, t->guests);
        for (int g = 0; g < t->guests; g++) {
            char **w = g_ptr_array_index(want, g), **o = g_ptr_array_index(got, g);
            for (int i = 0; w[i] || o[i]; i++) {
                if (w[i] == NULL || o[i] == NULL || strcmp(w[i], o[i]) != 0) {
                    fail_msg("%s, guest %d, QEMU argument %d: the file gives '%s', the C twin "
                             "'%s'",
                             t->name, g, i, w[i] ? w[i] : "(end)", o[i] ? o[i] : "(end)");
                }
            }
        }
        g_ptr_array_free(want, TRUE);
        g_ptr_array_free(got, TRUE);
    }
    rn_scenario_free(sc);
    g_string_free(errors, TRUE);
    g_free(path);
}

static void each_shipped_file_builds_the_guests_of_its_c_twin(void **state)
{
    (void)state;
    char *out = g_strdup_printf("twins-%d", getpid());
    assert_int_equal(g_mkdir_with_parents(out, 0755), 0);
    for (size_t i = 0; i < G_N_ELEMENTS(twins); i++) {
        twin_builds_what_its_file_builds(&twins[i], out);
    }
    assert_int_equal(ts_child_count(), 0);
    g_rmdir(out);
    g_free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_shipped_file_builds_the_guests_of_its_c_twin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
