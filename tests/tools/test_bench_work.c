/* attnbench's work count: the visible pairs counted per row with attn_row_key_range (and
 * document runs) must equal a brute-force count with attn_key_visible over every key. */
#include <stdlib.h>

#include <attn/plugin/attn_rules.h>

#include "test_support.h"
#include "work.h"

static int64_t brute_force_pairs(const attn_instance *inst) {
    const attn_case *c = &inst->c;
    int64_t total = 0;
    for (int64_t b = 0; b < c->batch; ++b) {
        int64_t q_len = inst->q_lens ? inst->q_lens[b] : c->q_len, kv_len = inst->kv_lens ? inst->kv_lens[b] : c->kv_len;
        for (int64_t i = 0; i < q_len; ++i) {
            attn_row_mask row = {attn_query_pos(i, q_len, kv_len), kv_len, inst->prefix_lens ? inst->prefix_lens[b] : 0,
                                 c->causal, c->window_left, c->window_right, inst->doc_q != NULL,
                                 inst->doc_q ? inst->doc_q[b * c->q_len + i] : 0};
            for (int64_t j = 0; j < c->kv_len; ++j)
                total += attn_key_visible(&row, j, inst->doc_k ? inst->doc_k[b * c->kv_len + j] : 0);
        }
    }
    return total;
}

static bench_work count(const attn_case *c, attn_instance *inst) {
    attn_error err = {0};
    attn_status st = attn_instance_make(c, inst, &err);
    if (st != ATTN_OK) fail_msg("instance: %s", err.message);
    bench_work work;
    assert_int_equal(bench_count_work(inst, &work, &err), ATTN_OK);
    return work;
}

static attn_case small_case(int64_t q_len, int64_t kv_len, int32_t causal) {
    attn_case c;
    attn_case_defaults(&c);
    c.batch = 2;
    c.q_heads = 4;
    c.kv_heads = 2;
    c.q_len = q_len;
    c.kv_len = kv_len;
    c.head_dim = 8;
    c.value_dim = 4;
    c.causal = causal;
    return c;
}

static void test_closed_forms(void **state) {
    (void)state;
    attn_instance inst;
    attn_case c = small_case(10, 10, 1);
    bench_work w = count(&c, &inst);
    assert_int_equal(w.pairs, 2 * 10 * 11 / 2);
    assert_close(w.flops, 2.0 * (double)w.pairs * 4 * (8 + 4), 0);
    attn_instance_free(&inst);

    c = small_case(1, 50, 1); /* decode: the one query sees every key */
    w = count(&c, &inst);
    assert_int_equal(w.pairs, 2 * 50);
    /* bytes: Q + O + K + V, float32: B * (Hq*D + Hq*Dv + Hkv*Tk*(D+Dv)) * 4 */
    assert_close(w.bytes, 4.0 * 2 * (4 * 8 + 4 * 4 + 2 * 50 * (8 + 4)), 0);
    attn_instance_free(&inst);

    c = small_case(6, 20, 1); /* chunk decode: the prefix whole, causal inside the chunk */
    w = count(&c, &inst);
    assert_int_equal(w.pairs, 2 * (6 * 14 + 6 * 7 / 2));
    attn_instance_free(&inst);

    c = small_case(7, 9, 0);
    w = count(&c, &inst);
    assert_int_equal(w.pairs, 2 * 7 * 9);
    attn_instance_free(&inst);
}

static int32_t next_below(uint64_t *rng, int64_t n) {
    *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int32_t)((*rng >> 33) % (uint64_t)n);
}

static void test_matches_brute_force(void **state) {
    (void)state;
    uint64_t rng = 99;
#define NEXT(n) next_below(&rng, (n))
    for (int iter = 0; iter < 300; ++iter) {
        int64_t q_len = 1 + NEXT(24), kv_len = 1 + NEXT(40);
        attn_case c = small_case(q_len, kv_len, NEXT(2));
        if (c.q_len > c.kv_len && c.causal) c.q_len = c.kv_len;
        if (NEXT(2)) {
            c.window_left = NEXT(12);
            c.window_right = NEXT(3) - 1;
        }
        if (NEXT(3) == 0) {
            c.has_lengths = 1;
            for (int b = 0; b < c.batch; ++b) {
                c.kv_lens[b] = NEXT(c.kv_len + 1);
                c.q_lens[b] = NEXT(c.q_len + 1);
            }
        }
        if (NEXT(3) == 0) {
            c.doc_count = 1 + NEXT(4);
            for (int d = 0; d < c.doc_count; ++d) c.doc_sizes[d] = 1 + NEXT(12);
        }
        if (NEXT(4) == 0) {
            c.has_prefix = 1;
            for (int b = 0; b < c.batch; ++b) c.prefix_lens[b] = NEXT(c.kv_len + 1);
        }
        attn_instance inst;
        bench_work w = count(&c, &inst);
        int64_t expected = brute_force_pairs(&inst);
        if (w.pairs != expected) fail_msg("%s: %lld pairs counted, brute force %lld", inst.c.name, (long long)w.pairs, (long long)expected);
        attn_instance_free(&inst);
    }
#undef NEXT
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_forms),
        cmocka_unit_test(test_matches_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
