/* flex-cpu through its cache and through the host: matmul primitives are created once per
 * shape and then reused (counted in the cache, and seen in the plugin's debug log across
 * runs), options are checked, and per-batch lengths (host memory) are bound-checked. */
#include <attn/host/attn_host.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fcpu_prims.h"
#include "small_problem.h"
#include "test_support.h"
#include "run_with_log.h"

/* ---- The cache itself ---------------------------------------------------------------- */

static void cache_creates_once_per_shape(void **state) {
    (void)state;
    fcpu_prim_cache cache;
    char msg[256];
    assert_int_equal(fcpu_prim_cache_init(&cache, msg, sizeof msg), 0);
    fcpu_prim_key qk = {FCPU_OP_QK, FCPU_CDT_F32, 64, 128, 64, 64, 0};
    fcpu_prim_key pv = {FCPU_OP_PV, FCPU_CDT_F32, 64, 64, 128, 64, 0};
    const fcpu_prim *a = fcpu_prim_get(&cache, &qk, msg, sizeof msg);
    assert_non_null(a);
    assert_int_equal(cache.created, 1);
    assert_ptr_equal(fcpu_prim_get(&cache, &qk, msg, sizeof msg), a); /* same shape: reused */
    assert_int_equal(cache.created, 1);
    assert_non_null(fcpu_prim_get(&cache, &pv, msg, sizeof msg));
    qk.ldb = 512; /* a strided K (BTHD) is another shape */
    assert_non_null(fcpu_prim_get(&cache, &qk, msg, sizeof msg));
    assert_int_equal(cache.created, 3);
    assert_int_equal(cache.count, 3);
    fcpu_prim_cache_destroy(&cache);
}

/* ---- The plugin, counting creations in its debug log ---------------------------------- */

static attn_backend *open_flex(const attn_option *options, uint32_t count) {
    attn_backend *backend = NULL;
    attn_error err;
    if (attn_backend_open("flex-cpu", ATTN_FLEX_CPU_PATH, options, count, &backend, &err) != ATTN_OK)
        fail_msg("cannot open flex-cpu: %s", err.message);
    return backend;
}

/* Runs the problem with the host's log (stderr) going to a file; returns how many
 * "created matmul primitive" lines the plugin logged. */
static int run_counting_creations(attn_backend *backend, small_problem *s) {
    FILE *log = run_with_log(backend, &s->p);
    char line[512];
    int created = 0;
    while (fgets(line, sizeof line, log))
        if (strstr(line, "created matmul primitive")) created++;
    fclose(log);
    return created;
}

static void fill_inputs(small_problem *s) {
    for (int64_t n = 0; n < s->b * s->hq * s->tq * s->d; ++n) s->q[n] = (float)((n * 7) % 11) / 11.0f - 0.5f;
    for (int64_t n = 0; n < s->b * s->hkv * s->tk * s->d; ++n) s->k[n] = (float)((n * 5) % 13) / 13.0f - 0.5f;
    for (int64_t n = 0; n < s->b * s->hkv * s->tk * s->dv; ++n) s->v[n] = (float)((n * 3) % 17) / 17.0f - 0.5f;
}

static void primitives_reused_across_runs(void **state) {
    (void)state;
    setenv("ATTN_LOG", "debug", 1);
    /* Tiles of 16 rows would run flex-cpu's own products (small_m: native): oneDNN's here. */
    attn_option options[3] = {{"q_tile", "16"}, {"kv_tile", "32"}, {"small_m", "onednn"}};
    attn_backend *backend = open_flex(options, 3);
    small_problem a, b;
    small_init(&a, 1, 4, 2, 40, 40, 16, 16); /* GQA, causal, tiles cut at 16 rows / 32 keys */
    small_init(&b, 1, 2, 2, 8, 24, 16, 8);   /* another shape */
    fill_inputs(&a);
    fill_inputs(&b);
    int first = run_counting_creations(backend, &a);
    print_message("first run created %d primitives\n", first);
    assert_true(first > 0);
    assert_int_equal(run_counting_creations(backend, &a), 0);
    assert_true(run_counting_creations(backend, &b) > 0);
    assert_int_equal(run_counting_creations(backend, &a), 0);
    assert_int_equal(run_counting_creations(backend, &b), 0);
    attn_backend_close(backend);
    small_free(&a);
    small_free(&b);
    unsetenv("ATTN_LOG");
}

/* Items of at most 32 rows (here a GQA decode: 4 rows) run flex-cpu's own products and
 * create no oneDNN primitive, unless small_m says onednn; a prefill item of 64 rows still
 * goes to oneDNN either way. */
static void small_items_skip_onednn(void **state) {
    (void)state;
    setenv("ATTN_LOG", "debug", 1);
    attn_option native = {"small_m", "native"}, onednn = {"small_m", "onednn"};
    small_problem decode, prefill;
    small_init(&decode, 1, 4, 1, 1, 40, 16, 16);
    small_init(&prefill, 1, 2, 2, 64, 64, 16, 16);
    fill_inputs(&decode);
    fill_inputs(&prefill);
    attn_backend *a = open_flex(&native, 1), *b = open_flex(&onednn, 1);
    assert_int_equal(run_counting_creations(a, &decode), 0);
    assert_true(run_counting_creations(b, &decode) > 0);
    assert_true(run_counting_creations(a, &prefill) > 0);
    attn_backend_close(a);
    attn_backend_close(b);
    small_free(&decode);
    small_free(&prefill);
    unsetenv("ATTN_LOG");
}

/* ---- Options and lengths ---------------------------------------------------------------- */

static void expect_open_error(const char *key, const char *value, const char *needle) {
    attn_option option = {key, value};
    attn_backend *backend = NULL;
    attn_error err;
    assert_int_equal(attn_backend_open("flex-cpu", ATTN_FLEX_CPU_PATH, &option, 1, &backend, &err), ATTN_E_INVALID);
    assert_contains(err.message, needle);
}

static void options_checked(void **state) {
    (void)state;
    expect_open_error("tile", "64", "unknown option 'tile'");
    expect_open_error("threads", "0", "option threads");
    expect_open_error("threads", "two", "option threads");
    expect_open_error("kv_tile", "100", "multiple of 16");
    expect_open_error("edge_tile", "40", "option edge_tile");
    expect_open_error("bf16", "maybe", "option bf16: 'maybe' is not auto, native or f32");
    expect_open_error("split", "yes", "option split: 'yes' is not on or off");
    expect_open_error("small_m", "fast", "option small_m: 'fast' is not native or onednn");
    attn_option good[7] = {{"threads", "1"},    {"q_tile", "32"}, {"kv_tile", "64"},      {"edge_tile", "32"},
                           {"bf16", "f32"}, {"split", "off"}, {"small_m", "onednn"}};
    attn_backend_close(open_flex(good, 7));
}

static void lengths_bound_checked(void **state) {
    (void)state;
    attn_backend *backend = open_flex(NULL, 0);
    small_problem s;
    small_init(&s, 2, 1, 1, 4, 8, 4, 4);
    attn_error err;
    small_lengths(&s, (const int32_t[]){4, 4}, (const int32_t[]){8, 9}); /* kv_len past Tk */
    assert_int_equal(attn_backend_run(backend, &s.p, &err), ATTN_E_INVALID);
    assert_contains(err.message, "batch 1");
    small_lengths(&s, (const int32_t[]){-1, 4}, (const int32_t[]){8, 8});
    assert_int_equal(attn_backend_run(backend, &s.p, &err), ATTN_E_INVALID);
    assert_contains(err.message, "batch 0");
    small_lengths(&s, (const int32_t[]){4, 0}, (const int32_t[]){8, 0}); /* zero lengths are fine */
    assert_int_equal(attn_backend_run(backend, &s.p, &err), ATTN_OK);
    for (int e = 0; e < 4; ++e) assert_true(SO(&s, 1, 0, 0, e) == 0.0f);
    assert_true(SL(&s, 1, 0, 3) == -INFINITY);
    attn_backend_close(backend);
    small_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cache_creates_once_per_shape),
        cmocka_unit_test(primitives_reused_across_runs),
        cmocka_unit_test(small_items_skip_onednn),
        cmocka_unit_test(options_checked),
        cmocka_unit_test(lengths_bound_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
