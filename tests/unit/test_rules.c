/* attn_rules.h on hand-worked cases: the visibility rules and key ranges of SPEC.md
 * ("Visibility"), the score modifiers and the presynaptic weight.  Every CPU and GPU
 * backend compiles these, so they are checked against the spec's text here, by hand. */
#include <attn/plugin/attn_rules.h>

#include "test_support.h"

/* A row mask with nothing but the length rule enabled. */
static attn_row_mask open_row(int64_t pos, int64_t kv_len) {
    attn_row_mask row = {0};
    row.pos = pos;
    row.kv_len = kv_len;
    row.window_left = row.window_right = -1;
    return row;
}

/* Visible keys of a row as a string of '1'/'0' over j = 0..n-1, docs from doc_k[]. */
static void visible_string(const attn_row_mask *row, const int32_t *doc_k, int64_t n, char *out) {
    for (int64_t j = 0; j < n; ++j) out[j] = attn_key_visible(row, j, doc_k ? doc_k[j] : 0) ? '1' : '0';
    out[n] = '\0';
}

static void assert_range(const attn_row_mask *row, int64_t lo, int64_t hi) {
    int64_t got_lo, got_hi;
    attn_row_key_range(row, &got_lo, &got_hi);
    if (got_lo != lo || got_hi != hi)
        print_error("key range [%lld, %lld), expected [%lld, %lld)\n", (long long)got_lo, (long long)got_hi,
                    (long long)lo, (long long)hi);
    assert_true(got_lo == lo && got_hi == hi);
}

static void test_bottom_right_positions(void **state) {
    (void)state;
    assert_int_equal(attn_query_pos(0, 1, 10), 9);  /* decode: the one query sees everything */
    assert_int_equal(attn_query_pos(2, 4, 10), 8);  /* chunk decode */
    assert_int_equal(attn_query_pos(5, 8, 8), 5);   /* full sequence */
    assert_int_equal(attn_query_pos(0, 3, 1), -2);  /* more queries than keys */
}

static void test_causal(void **state) {
    (void)state;
    char got[16];
    attn_row_mask row = open_row(attn_query_pos(0, 2, 5), 5); /* pos 3 */
    row.causal = 1;
    visible_string(&row, NULL, 6, got);
    assert_string_equal(got, "111100"); /* j <= 3; j = 5 is beyond kv_len */
    assert_range(&row, 0, 4);
    row.causal = 0;
    visible_string(&row, NULL, 6, got);
    assert_string_equal(got, "111110");
    assert_range(&row, 0, 5);
    /* A query before the first key (pos -2) sees nothing under causality. */
    row = open_row(-2, 1);
    row.causal = 1;
    visible_string(&row, NULL, 2, got);
    assert_string_equal(got, "00");
    assert_range(&row, 0, 0);
}

static void test_window(void **state) {
    (void)state;
    char got[16];
    attn_row_mask row = open_row(5, 10);
    row.window_left = 2;
    row.window_right = 1;
    visible_string(&row, NULL, 10, got);
    assert_string_equal(got, "0001111000"); /* 3 <= j <= 6 */
    assert_range(&row, 3, 7);
    row.causal = 1; /* the right side is then cut by causality */
    visible_string(&row, NULL, 10, got);
    assert_string_equal(got, "0001110000");
    assert_range(&row, 3, 6);
    /* Only one side bounded. */
    row = open_row(5, 10);
    row.window_right = 0;
    visible_string(&row, NULL, 10, got);
    assert_string_equal(got, "1111110000");
    assert_range(&row, 0, 6);
    /* A window that misses every key: an empty range, never an inverted one. */
    row = open_row(12, 5);
    row.window_left = 2;
    visible_string(&row, NULL, 5, got);
    assert_string_equal(got, "00000");
    int64_t lo, hi;
    attn_row_key_range(&row, &lo, &hi);
    assert_true(lo >= hi);
}

static void test_prefix_lm(void **state) {
    (void)state;
    char got[16];
    attn_row_mask row = open_row(1, 6);
    row.causal = 1;
    row.prefix_len = 4; /* keys 0..3 are visible to every query despite causality */
    visible_string(&row, NULL, 6, got);
    assert_string_equal(got, "111100");
    assert_range(&row, 0, 4);
    row.pos = 4; /* after the prefix: causal */
    visible_string(&row, NULL, 6, got);
    assert_string_equal(got, "111110");
    assert_range(&row, 0, 5);
    /* The prefix does not lift the window or the length rule. */
    row.pos = 1;
    row.window_left = 0;
    visible_string(&row, NULL, 6, got);
    assert_string_equal(got, "011100");
    row.window_left = -1;
    row.kv_len = 3;
    visible_string(&row, NULL, 6, got);
    assert_string_equal(got, "111000");
    assert_range(&row, 0, 3);
}

static void test_documents(void **state) {
    (void)state;
    char got[16];
    const int32_t doc_k[8] = {0, 0, 0, 1, 1, 2, 2, 2};
    attn_row_mask row = open_row(4, 8);
    row.causal = 1;
    row.has_docs = 1;
    row.doc_q = 1;
    visible_string(&row, doc_k, 8, got);
    assert_string_equal(got, "00011000");
    /* The range ignores documents: they may still mask inside it. */
    assert_range(&row, 0, 5);
    row.has_docs = 0; /* without documents doc_k is ignored */
    visible_string(&row, doc_k, 8, got);
    assert_string_equal(got, "11111000");
}

static void test_kv_len(void **state) {
    (void)state;
    char got[16];
    attn_row_mask row = open_row(9, 4); /* position past the last key (bidirectional) */
    visible_string(&row, NULL, 6, got);
    assert_string_equal(got, "111100");
    assert_range(&row, 0, 4);
    row.kv_len = 0; /* zero-length sequence */
    visible_string(&row, NULL, 3, got);
    assert_string_equal(got, "000");
    assert_range(&row, 0, 0);
    assert_int_equal(attn_key_visible(&row, -1, 0), 0);
}

/* Outside [lo, hi) nothing is visible; inside it only documents mask.  Checked over a grid. */
static void test_range_agrees_with_visible(void **state) {
    (void)state;
    for (int64_t pos = -3; pos < 12; ++pos)
        for (int32_t causal = 0; causal < 2; ++causal)
            for (int32_t wl = -1; wl < 4; ++wl)
                for (int32_t wr = -1; wr < 4; ++wr)
                    for (int64_t prefix = 0; prefix < 5; prefix += 2) {
                        attn_row_mask row = open_row(pos, 8);
                        row.causal = causal;
                        row.window_left = wl;
                        row.window_right = wr;
                        row.prefix_len = prefix;
                        int64_t lo, hi;
                        attn_row_key_range(&row, &lo, &hi);
                        for (int64_t j = -1; j < 10; ++j) {
                            int inside = j >= lo && j < hi;
                            if (attn_key_visible(&row, j, 0) != inside)
                                print_error("pos %lld causal %d window (%d, %d) prefix %lld: j %lld visible %d, "
                                            "range [%lld, %lld)\n",
                                            (long long)pos, causal, wl, wr, (long long)prefix, (long long)j,
                                            attn_key_visible(&row, j, 0), (long long)lo, (long long)hi);
                            assert_int_equal(attn_key_visible(&row, j, 0), inside);
                        }
                    }
}

static void test_modifiers(void **state) {
    (void)state;
    assert_close(attn_modify_score(ATTN_MOD_NONE, 3.5, 0.0, 2.0, 8.0, 1.0, 1e-6, 0.1), 3.5, 0.0);
    assert_close(attn_modify_score(ATTN_MOD_SOFTCAP, 100.0, 30.0, 0.0, 8.0, 1.0, 1e-6, 0.1), 30.0 * tanh(100.0 / 30.0),
                 1e-12);
    assert_close(attn_modify_score(ATTN_MOD_ALIBI, 1.0, 0.25, 3.0, 8.0, 1.0, 1e-6, 0.1), 0.25, 1e-12);
    /* distance barrier: beta * |pos - j| / max(1, kv_len) */
    double w = 0.5, s = 0.3;
    double expected = s + log(w / (1.0 + exp(-s)) + 1e-6) - 0.1 * 4.0 / 8.0;
    assert_close(attn_modify_score(ATTN_MOD_SYNAPTIC, s, w, 4.0, 8.0, 1.0, 1e-6, 0.1), expected, 1e-12);
    assert_close(attn_modify_scoref(ATTN_MOD_SYNAPTIC, (float)s, (float)w, 4.0f, 8.0f, 1.0f, 1e-6f, 0.1f), expected,
                 1e-5);
    /* kv_len 0 divides by max(1, kv_len) = 1, never by 0. */
    assert_close(attn_modify_score(ATTN_MOD_SYNAPTIC, s, w, 2.0, 0.0, 1.0, 1e-6, 0.1), expected + 0.05 - 0.2, 1e-12);
}

/* SPEC.md: a fresh key (c 0, cl 0.6, sn 0.7, rrp 6, amp 1) with ema_e 1 has w = 1.6162e-3,
 * and the augmentation at s = 0 is lambda * log(w * sigmoid(0) + 1e-6) = -7.1196. */
static void test_presynaptic_fresh(void **state) {
    (void)state;
    attn_presynaptic_state fresh = attn_presynaptic_fresh();
    assert_close(fresh.c, 0.0, 0.0);
    assert_close(fresh.cl, 0.6, 1e-7);
    assert_close(fresh.sn, 0.7, 1e-7);
    assert_close(fresh.rrp, 6.0, 0.0);
    assert_close(fresh.amp, 1.0, 0.0);
    float w = attn_presynaptic_weight(fresh, 1.0f);
    assert_close(w, 1.6162e-3, 0.00005e-3);
    assert_close(attn_modify_scoref(ATTN_MOD_SYNAPTIC, 0.0f, w, 0.0f, 16.0f, 1.0f, 1e-6f, 0.1f), -7.1196, 0.00005);
    assert_close(attn_modify_score(ATTN_MOD_SYNAPTIC, 0.0, w, 0.0, 16.0, 1.0, 1e-6, 0.1), -7.1196, 0.00005);
    /* Doubling ema_e halves w. */
    assert_close(attn_presynaptic_weight(fresh, 2.0f), w / 2.0, 1e-9);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bottom_right_positions), cmocka_unit_test(test_causal),
        cmocka_unit_test(test_window),                 cmocka_unit_test(test_prefix_lm),
        cmocka_unit_test(test_documents),              cmocka_unit_test(test_kv_len),
        cmocka_unit_test(test_range_agrees_with_visible), cmocka_unit_test(test_modifiers),
        cmocka_unit_test(test_presynaptic_fresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
