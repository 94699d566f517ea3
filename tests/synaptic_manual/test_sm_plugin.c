/* synaptic-manual as a plugin: its options, its refusal of out-of-range lengths, empty rows
 * that are exactly zero, and results that do not depend on the block size (the memory
 * budget changes the loop nest, never the arithmetic). */
#include "sm_test.h"

static void expect_create_refused(const char *key, const char *value, const char *needle) {
    attn_option option = {key, value};
    attn_backend *backend = NULL;
    attn_error err;
    assert_int_equal(attn_backend_open("synaptic-manual", SM_PLUGIN_PATH, &option, 1, &backend, &err), ATTN_E_INVALID);
    assert_null(backend);
    assert_contains(err.message, needle);
}

static void options(void **state) {
    (void)state;
    expect_create_refused("threads", "2", "unknown option 'threads'");
    expect_create_refused("block_bytes", "abc", "block_bytes");
    expect_create_refused("block_bytes", "0", "block_bytes");
    expect_create_refused("block_bytes", "12X", "block_bytes");
    expect_create_refused("block_bytes", "-5", "block_bytes");
    const char *good[] = {"1", "4096", "512K", "64M", "1G"};
    for (int n = 0; n < 5; ++n) {
        attn_option option = {"block_bytes", good[n]};
        attn_backend_close(sm_open(&option, 1));
    }
}

/* Lengths are host memory the host does not bound: the plugin refuses them itself. */
static void lengths_out_of_range(void **state) {
    (void)state;
    const int32_t bad[][4] = {{1, 5, 1, 4}, {-1, 4, 1, 4}, {1, -2, 1, 4}, {3, 4, 1, 4}};
    for (int n = 0; n < 4; ++n) {
        small_problem s;
        small_init(&s, 2, 1, 1, 2, 4, 2, 2);
        small_lengths(&s, (const int32_t[]){bad[n][0], bad[n][2]}, (const int32_t[]){bad[n][1], bad[n][3]});
        attn_backend *backend = sm_open(NULL, 0);
        attn_error err;
        assert_int_equal(attn_backend_run(backend, &s.p, &err), ATTN_E_INVALID);
        assert_contains(err.message, "batch 0");
        attn_backend_close(backend);
        small_free(&s);
    }
}

/* Rows with no visible key (zero-length cache, queries before key 0, padding, a window that
 * misses every key) are exactly 0 with LSE -inf, even over NaN-filled outputs. */
static void empty_rows_are_exact(void **state) {
    (void)state;
    small_problem s;
    small_init(&s, 3, 2, 1, 6, 6, 4, 3);
    sm_fill_problem(&s, 5);
    small_lengths(&s, (const int32_t[]){6, 6, 4}, (const int32_t[]){0, 3, 6});
    s.p.window_left = 1;
    s.p.window_right = 0;
    for (int64_t n = 0; n < s.b * s.hq * s.tq * s.dv; ++n) s.o[n] = NAN;
    for (int64_t n = 0; n < s.b * s.hq * s.tq; ++n) s.lse[n] = NAN;
    attn_backend *backend = sm_open(NULL, 0);
    sm_run(backend, &s.p);
    attn_backend_close(backend);
    for (int64_t b = 0; b < 3; ++b)
        for (int64_t h = 0; h < 2; ++h)
            for (int64_t i = 0; i < 6; ++i) {
                /* batch 0: no keys; batch 1: kv_len 3 puts query i at i - 3; batch 2: rows >= 4 pad */
                int empty = b == 0 || (b == 1 && i < 3) || (b == 2 && i >= 4);
                for (int64_t e = 0; e < 3; ++e) {
                    if (empty)
                        assert_true(SO(&s, b, h, i, e) == 0.0f && !signbit(SO(&s, b, h, i, e)));
                    else
                        assert_true(isfinite(SO(&s, b, h, i, e)));
                }
                if (empty)
                    assert_true(isinf(SL(&s, b, h, i)) && SL(&s, b, h, i) < 0);
                else
                    assert_true(isfinite(SL(&s, b, h, i)));
            }
    small_free(&s);
}

/* One problem that crosses every block boundary: ragged chunk decode with ALiBi and dropout. */
static void run_with_budget(const char *block_bytes, float *o, float *lse) {
    small_problem s;
    small_init(&s, 2, 4, 2, 19, 45, 12, 7);
    sm_fill_problem(&s, 9);
    small_lengths(&s, (const int32_t[]){19, 11}, (const int32_t[]){45, 30});
    float slopes[4] = {0.5f, 0.25f, 0.125f, 0.0625f};
    int64_t slope_shape[1] = {4}, slope_strides[1] = {1};
    s.p.alibi_slopes = s.p.lse;
    s.p.alibi_slopes.data = slopes;
    s.p.alibi_slopes.ndim = 1;
    s.p.alibi_slopes.shape = slope_shape;
    s.p.alibi_slopes.strides = slope_strides;
    s.p.modifier = ATTN_MOD_ALIBI;
    s.p.dropout_p = 0.2f;
    s.p.dropout_seed = 42;
    attn_option option = {"block_bytes", block_bytes};
    attn_backend *backend = sm_open(&option, 1);
    sm_run(backend, &s.p);
    attn_backend_close(backend);
    memcpy(o, s.o, sizeof(float) * 2 * 4 * 19 * 7);
    memcpy(lse, s.lse, sizeof(float) * 2 * 4 * 19);
    small_free(&s);
}

static void block_size_does_not_change_results(void **state) {
    (void)state;
    static float o[3][2 * 4 * 19 * 7], lse[3][2 * 4 * 19];
    run_with_budget("64M", o[0], lse[0]); /* one block per head */
    run_with_budget("1", o[1], lse[1]);   /* one row per block */
    run_with_budget("1K", o[2], lse[2]);  /* a few rows per block, the last one short */
    for (int n = 1; n < 3; ++n) {
        assert_memory_equal(o[0], o[n], sizeof o[0]);
        assert_memory_equal(lse[0], lse[n], sizeof lse[0]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(options),
        cmocka_unit_test(lengths_out_of_range),
        cmocka_unit_test(empty_rows_are_exact),
        cmocka_unit_test(block_size_does_not_change_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
