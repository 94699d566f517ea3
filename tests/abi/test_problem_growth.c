/* The problem-size rule of attn_problem.h, both ways:
 *   - a plugin built against newer headers (an appended field, a newer minor) under this host
 *     is handed a problem of the host's own size, sees the field absent and computes right;
 *   - a caller built against newer headers hands a longer problem: libattn accepts it while the
 *     fields it does not know are zero (and hands the plugin its own size), and refuses it,
 *     naming the sizes, when they are set, so no feature is ever silently dropped;
 *   - sizes below ABI 1.0's, or past any plausible growth (an unset field), are refused;
 *   - the steady-state call (attn_backend_run_prevalidated) skips validation, not the size rule. */
#include <attn/host/attn_host.h>
#include <stdio.h>
#include <stdlib.h>

#include "../reference/small_problem.h"
#include "test_support.h"

/* The plugin's view of the next minor (tests/plugins/future_problem.c). */
typedef struct future_problem {
    attn_problem current;
    float logit_temperature;
} future_problem;

/* The problem as a caller built against the next minor's headers hands it over: today's fields,
 * the appended one, struct_size covering both, and zero padding (filled in place: a struct
 * returned by value need not keep its padding bytes, and libattn reads them). */
static void newer_callers_problem(future_problem *future, const attn_problem *today, float logit_temperature) {
    memset(future, 0, sizeof *future);
    future->current = *today;
    future->current.struct_size = sizeof *future;
    future->logit_temperature = logit_temperature;
}

static attn_backend *open_plugin(const char *path) {
    attn_backend *backend = NULL;
    attn_error err = {0};
    attn_status st = attn_backend_open("growth", path, NULL, 0, &backend, &err);
    if (st != ATTN_OK) print_error("%s: %s\n", path, err.message);
    assert_int_equal(st, ATTN_OK);
    return backend;
}

/* B1 H2/1 T3x5 D4, causal, values that make every key matter. */
static void filled_problem(small_problem *s) {
    small_init(s, 1, 2, 1, 3, 5, 4, 4);
    for (int64_t n = 0; n < 2 * 3 * 4; ++n) s->q[n] = (float)((n * 7 % 11) - 5) / 8.0f;
    for (int64_t n = 0; n < 5 * 4; ++n) {
        s->k[n] = (float)((n * 5 % 13) - 6) / 8.0f;
        s->v[n] = (float)((n * 3 % 7) - 3) / 4.0f;
    }
}

/* O of the reference on the same problem, for bit-exact comparison. */
static void reference_output(small_problem *s, float *out, size_t count) {
    attn_backend *reference = open_plugin(SDPA_REF_PATH);
    attn_error err = {0};
    assert_int_equal(attn_backend_run(reference, &s->p, &err), ATTN_OK);
    memcpy(out, s->o, count * sizeof *out);
    memset(s->o, 0, count * sizeof *out);
    attn_backend_close(reference);
}

static void test_newer_plugin_under_this_host(void **state) {
    (void)state;
    small_problem s;
    filled_problem(&s);
    float want[2 * 3 * 4];
    reference_output(&s, want, 24);

    attn_backend *future = open_plugin(FUTURE_PROBLEM_PATH);
    assert_int_equal(attn_backend_abi_version(future), ATTN_ABI_MAKE(ATTN_ABI_MAJOR, ATTN_ABI_MINOR + 1));
    attn_error err = {0};
    attn_status st = attn_backend_run(future, &s.p, &err);
    if (st != ATTN_OK) print_error("%s\n", err.message);
    assert_int_equal(st, ATTN_OK);
    assert_memory_equal(s.o, want, sizeof want);
    attn_backend_close(future);
    small_free(&s);
}

static void test_newer_caller_with_the_field_unset(void **state) {
    (void)state;
    small_problem s;
    filled_problem(&s);
    float want[2 * 3 * 4];
    reference_output(&s, want, 24);

    future_problem future;
    newer_callers_problem(&future, &s.p, 0.0f);
    attn_backend *plugin = open_plugin(FUTURE_PROBLEM_PATH);
    attn_error err = {0};
    /* The plugin refuses any struct_size but the host's own (future_problem.c). */
    attn_status st = attn_backend_run(plugin, &future.current, &err);
    if (st != ATTN_OK) print_error("%s\n", err.message);
    assert_int_equal(st, ATTN_OK);
    assert_memory_equal(s.o, want, sizeof want);
    attn_backend_close(plugin);
    small_free(&s);
}

static void test_newer_caller_with_the_field_set(void **state) {
    (void)state;
    small_problem s;
    filled_problem(&s);
    for (int n = 0; n < 24; ++n) s.o[n] = 7.0f; /* must stay untouched */
    future_problem future;
    newer_callers_problem(&future, &s.p, 2.0f);

    attn_backend *plugin = open_plugin(FUTURE_PROBLEM_PATH);
    attn_error err = {0};
    assert_int_equal(attn_backend_check(plugin, &future.current, &err), ATTN_E_ABI);
    assert_contains(err.message, "does not know");
    char size_text[32];
    snprintf(size_text, sizeof size_text, "struct_size %zu", sizeof future);
    assert_contains(err.message, size_text);
    assert_int_equal(attn_backend_run(plugin, &future.current, &err), ATTN_E_ABI);
    assert_int_equal(attn_problem_validate(&future.current, &err), ATTN_E_ABI);
    for (int n = 0; n < 24; ++n) assert_true(s.o[n] == 7.0f);
    attn_backend_close(plugin);
    small_free(&s);
}

static void test_sizes_that_no_abi_has(void **state) {
    (void)state;
    small_problem s;
    filled_problem(&s);
    attn_error err = {0};
    s.p.struct_size = (uint32_t)ATTN_PROBLEM_SIZE_1_0 - 8;
    assert_int_equal(attn_problem_validate(&s.p, &err), ATTN_E_INVALID);
    assert_contains(err.message, "smaller than ABI 1.0's");
    s.p.struct_size = 0xdeadbeefu;
    assert_int_equal(attn_problem_validate(&s.p, &err), ATTN_E_INVALID);
    assert_contains(err.message, "is it set?");
    s.p.struct_size = sizeof(attn_problem);
    assert_int_equal(attn_problem_validate(&s.p, &err), ATTN_OK);
    small_free(&s);
}

static void test_steady_state_call_keeps_the_size_rule(void **state) {
    (void)state;
    small_problem s;
    filled_problem(&s);
    float want[2 * 3 * 4];
    reference_output(&s, want, 24);
    attn_backend *plugin = open_plugin(FUTURE_PROBLEM_PATH);
    attn_error err = {0};
    assert_int_equal(attn_backend_check(plugin, &s.p, &err), ATTN_OK);
    assert_int_equal(attn_backend_run_prevalidated(plugin, &s.p, &err), ATTN_OK);
    assert_memory_equal(s.o, want, sizeof want);

    future_problem future;
    newer_callers_problem(&future, &s.p, 2.0f);
    assert_int_equal(attn_backend_run_prevalidated(plugin, &future.current, &err), ATTN_E_ABI);
    future.logit_temperature = 0.0f; /* handed on at the host's size, which the plugin checks */
    assert_int_equal(attn_backend_run_prevalidated(plugin, &future.current, &err), ATTN_OK);
    attn_backend_close(plugin);
    small_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_newer_plugin_under_this_host),
        cmocka_unit_test(test_newer_caller_with_the_field_unset),
        cmocka_unit_test(test_newer_caller_with_the_field_set),
        cmocka_unit_test(test_sizes_that_no_abi_has),
        cmocka_unit_test(test_steady_state_call_keeps_the_size_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
