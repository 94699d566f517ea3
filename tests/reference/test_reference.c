/* The reference against values worked out by hand.  The reference is the oracle of every
 * other backend, so each rule of SPEC.md gets a case small enough to check on paper. */
#include <attn/host/attn_host.h>
#include <attn/plugin/attn_philox.h>
#include <attn/plugin/attn_rules.h>
#include <math.h>

#include "small_problem.h"
#include "test_support.h"

static attn_backend *open_reference(const char *mode) {
    attn_option option = {"mode", mode};
    attn_backend *backend = NULL;
    attn_error err;
    if (attn_backend_open("sdpa-ref", ATTN_SDPA_REF_PATH, &option, 1, &backend, &err) != ATTN_OK)
        fail_msg("cannot open sdpa-ref: %s", err.message);
    return backend;
}

static void run(small_problem *s) {
    attn_backend *backend = open_reference("golden");
    attn_error err;
    if (attn_backend_run(backend, &s->p, &err) != ATTN_OK) fail_msg("run: %s", err.message);
    attn_backend_close(backend);
}

/* Scores 0 and ln 3 give weights 1/4 and 3/4: O = 4/4 + 3*8/4 = 7, LSE = ln 4. */
static void softmax_of_two_keys(void **state) {
    (void)state;
    small_problem s;
    small_init(&s, 1, 1, 1, 1, 2, 1, 1);
    s.p.causal = 0;
    SQ(&s, 0, 0, 0, 0) = 1.0f;
    SK(&s, 0, 0, 1, 0) = (float)log(3.0);
    SV(&s, 0, 0, 0, 0) = 4.0f;
    SV(&s, 0, 0, 1, 0) = 8.0f;
    run(&s);
    assert_close(SO(&s, 0, 0, 0, 0), 7.0, 1e-6);
    assert_close(SL(&s, 0, 0, 0), log(4.0), 1e-6);
    small_free(&s);
}

/* The default scale is 1/sqrt(D): D = 4, q.k = 4 gives a score of 2. */
static void default_scale(void **state) {
    (void)state;
    small_problem s;
    small_init(&s, 1, 1, 1, 1, 2, 4, 1);
    s.p.scale = 0.0;
    s.p.causal = 0;
    for (int e = 0; e < 4; ++e) SQ(&s, 0, 0, 0, e) = SK(&s, 0, 0, 1, e) = 1.0f;
    SV(&s, 0, 0, 1, 0) = 1.0f;
    run(&s);
    assert_close(SL(&s, 0, 0, 0), log(1.0 + exp(2.0)), 1e-6);
    assert_close(SO(&s, 0, 0, 0, 0), exp(2.0) / (1.0 + exp(2.0)), 1e-6);
    small_free(&s);
}

/* With all scores equal, O is the mean of the visible V: V_j = j makes visibility readable. */
static void set_uniform_scores(small_problem *s) {
    for (int64_t h = 0; h < s->hkv; ++h)
        for (int64_t j = 0; j < s->tk; ++j) SV(s, 0, h, j, 0) = (float)j;
}

/* Tq = 2, Tk = 4, causal: bottom-right alignment puts the queries at positions 2 and 3. */
static void bottom_right_alignment(void **state) {
    (void)state;
    small_problem s;
    small_init(&s, 1, 1, 1, 2, 4, 1, 1);
    set_uniform_scores(&s);
    run(&s);
    assert_close(SO(&s, 0, 0, 0, 0), 1.0, 1e-6); /* mean of 0, 1, 2 */
    assert_close(SO(&s, 0, 0, 1, 0), 1.5, 1e-6); /* mean of 0..3 */
    assert_close(SL(&s, 0, 0, 0), log(3.0), 1e-6);
    small_free(&s);
}

/* Per-batch lengths move the alignment: kv_len 3, q_len 1 puts the query at position 2. */
static void ragged_lengths_and_padding(void **state) {
    (void)state;
    small_problem s;
    small_init(&s, 1, 1, 1, 2, 4, 1, 1);
    set_uniform_scores(&s);
    small_lengths(&s, (const int32_t[]){1}, (const int32_t[]){3});
    run(&s);
    assert_close(SO(&s, 0, 0, 0, 0), 1.0, 1e-6); /* keys 0..2 */
    assert_true(SO(&s, 0, 0, 1, 0) == 0.0f);     /* padding row: exactly 0 */
    assert_true(isinf(SL(&s, 0, 0, 1)) && SL(&s, 0, 0, 1) < 0);
    small_free(&s);
}

/* A zero-length cache and queries before key 0 leave rows empty: O = 0, LSE = -inf, no NaN. */
static void empty_rows(void **state) {
    (void)state;
    small_problem s;
    small_init(&s, 2, 1, 1, 3, 4, 1, 1);
    for (int64_t b = 0; b < 2; ++b)
        for (int64_t j = 0; j < 4; ++j) SV(&s, b, 0, j, 0) = 5.0f;
    small_lengths(&s, (const int32_t[]){3, 3}, (const int32_t[]){0, 1});
    run(&s);
    for (int i = 0; i < 3; ++i) {
        assert_true(SO(&s, 0, 0, i, 0) == 0.0f);
        assert_true(isinf(SL(&s, 0, 0, i)) && SL(&s, 0, 0, i) < 0);
    }
    /* batch 1: positions -2, -1, 0: only the last row sees key 0 */
    assert_true(SO(&s, 1, 0, 0, 0) == 0.0f && SO(&s, 1, 0, 1, 0) == 0.0f);
    assert_close(SO(&s, 1, 0, 2, 0), 5.0, 1e-6);
    small_free(&s);
}

/* Query head h reads key/value head h / (Hq / Hkv): heads 0,1 -> 0 and 2,3 -> 1. */
static void gqa_head_mapping(void **state) {
    (void)state;
    small_problem s;
    small_init(&s, 1, 4, 2, 1, 2, 1, 1);
    for (int64_t j = 0; j < 2; ++j) {
        SV(&s, 0, 0, j, 0) = 10.0f;
        SV(&s, 0, 1, j, 0) = 20.0f;
    }
    run(&s);
    assert_close(SO(&s, 0, 0, 0, 0), 10.0, 1e-6);
    assert_close(SO(&s, 0, 1, 0, 0), 10.0, 1e-6);
    assert_close(SO(&s, 0, 2, 0, 0), 20.0, 1e-6);
    assert_close(SO(&s, 0, 3, 0, 0), 20.0, 1e-6);
    small_free(&s);
}

/* A masked key with a huge score must not take part in the max (or O would underflow to 0). */
static void masked_scores_never_count(void **state) {
    (void)state;
    small_problem s;
    small_init(&s, 1, 1, 1, 1, 3, 1, 1);
    s.p.causal = 0;
    s.p.window_left = 0;
    s.p.window_right = 0; /* the query at position 2 sees only key 2 */
    SQ(&s, 0, 0, 0, 0) = 1.0f;
    SK(&s, 0, 0, 0, 0) = 1000.0f;
    SK(&s, 0, 0, 2, 0) = -50.0f;
    SV(&s, 0, 0, 2, 0) = 3.0f;
    run(&s);
    assert_close(SO(&s, 0, 0, 0, 0), 3.0, 1e-6);
    assert_close(SL(&s, 0, 0, 0), -50.0, 1e-5);
    small_free(&s);
}

/* Prefix-LM: keys below prefix_len are visible to every query, even ahead of it. */
static void prefix_lm(void **state) {
    (void)state;
    small_problem s;
    small_init(&s, 1, 1, 1, 4, 4, 1, 1);
    set_uniform_scores(&s);
    int32_t prefix = 3;
    small_tensor(&s, &s.p.prefix_len, &prefix, 7, 1, (int64_t[]){1}, 1);
    run(&s);
    assert_close(SO(&s, 0, 0, 0, 0), 1.0, 1e-6); /* keys 0..2 */
    assert_close(SO(&s, 0, 0, 3, 0), 1.5, 1e-6); /* keys 0..3 */
    small_free(&s);
}

/* Documents: a query sees only keys of its own document, causally. */
static void document_mask(void **state) {
    (void)state;
    small_problem s;
    small_init(&s, 1, 1, 1, 4, 4, 1, 1);
    set_uniform_scores(&s);
    int32_t doc_q[4] = {0, 0, 1, 1}, doc_k[4] = {0, 0, 1, 1};
    small_tensor(&s, &s.p.doc_q, doc_q, 7, 2, (int64_t[]){1, 4}, 1);
    int64_t shape[2] = {1, 4}, strides[2] = {4, 1};
    s.p.doc_k = s.p.doc_q;
    s.p.doc_k.data = doc_k;
    s.p.doc_k.shape = shape;
    s.p.doc_k.strides = strides;
    run(&s);
    assert_close(SO(&s, 0, 0, 1, 0), 0.5, 1e-6); /* keys 0, 1 */
    assert_close(SO(&s, 0, 0, 2, 0), 2.0, 1e-6); /* key 2 only */
    assert_close(SO(&s, 0, 0, 3, 0), 2.5, 1e-6); /* keys 2, 3 */
    small_free(&s);
}

/* One visible key: LSE is the modified score itself, which reads each modifier off directly. */
static double single_key_lse(int32_t modifier, float score, float param, int64_t tk) {
    small_problem s;
    small_init(&s, 1, 1, 1, 1, tk, 1, 1);
    s.p.window_left = 0; /* the query at position tk-1 sees only key tk-1 */
    s.p.modifier = modifier;
    SQ(&s, 0, 0, 0, 0) = 1.0f;
    SK(&s, 0, 0, tk - 1, 0) = score;
    float slope = param, *w = calloc((size_t)tk, sizeof(float));
    if (modifier == ATTN_MOD_SOFTCAP) s.p.softcap = param;
    if (modifier == ATTN_MOD_ALIBI) small_tensor(&s, &s.p.alibi_slopes, &slope, 7, 1, (int64_t[]){1}, 0);
    if (modifier == ATTN_MOD_SYNAPTIC) {
        w[tk - 1] = param;
        small_tensor(&s, &s.p.synaptic_w, w, 7, 3, (int64_t[]){1, 1, tk}, 0);
    }
    run(&s);
    double lse = SL(&s, 0, 0, 0);
    free(w);
    small_free(&s);
    return lse;
}

static void modifiers(void **state) {
    (void)state;
    assert_close(single_key_lse(ATTN_MOD_SOFTCAP, 10.0f, 5.0f, 1), 5.0 * tanh(2.0), 1e-6);
    /* ALiBi at distance 0 is the plain score; the distance term is checked with a window. */
    assert_close(single_key_lse(ATTN_MOD_ALIBI, 2.0f, 0.5f, 3), 2.0, 1e-6);
    double w = 1.6162e-3;
    double expected = 0.0 + log(w * 0.5 + 1e-6) - 0.1 * 0.0 / 4.0;
    assert_close(single_key_lse(ATTN_MOD_SYNAPTIC, 0.0f, (float)w, 4), expected, 1e-5);
    assert_close(expected, -7.1196, 1e-3); /* SPEC.md's value at fresh state */
}

/* ALiBi and the synaptic barrier at distance 2: one query at position 2, only key 0 visible. */
static void distance_terms(void **state) {
    (void)state;
    for (int32_t modifier = ATTN_MOD_ALIBI; modifier <= ATTN_MOD_SYNAPTIC; ++modifier) {
        small_problem s;
        small_init(&s, 1, 1, 1, 1, 3, 1, 1);
        s.p.window_right = -1;
        s.p.window_left = 2;
        int32_t doc_q[1] = {0}, doc_k[3] = {0, 1, 1}; /* documents hide keys 1 and 2 */
        small_tensor(&s, &s.p.doc_q, doc_q, 7, 2, (int64_t[]){1, 1}, 1);
        int64_t shape[2] = {1, 3}, strides[2] = {3, 1};
        s.p.doc_k = s.p.doc_q;
        s.p.doc_k.data = doc_k;
        s.p.doc_k.shape = shape;
        s.p.doc_k.strides = strides;
        s.p.modifier = modifier;
        float slope = 0.25f, w[3] = {0.5f, 0.5f, 0.5f};
        if (modifier == ATTN_MOD_ALIBI) small_tensor(&s, &s.p.alibi_slopes, &slope, 5, 1, (int64_t[]){1}, 0);
        else small_tensor(&s, &s.p.synaptic_w, w, 5, 3, (int64_t[]){1, 1, 3}, 0);
        run(&s);
        double expected = modifier == ATTN_MOD_ALIBI ? -0.25 * 2.0 : log(0.5 * 0.5 + 1e-6) - 0.1 * 2.0 / 3.0;
        assert_close(SL(&s, 0, 0, 0), expected, 1e-6);
        small_free(&s);
    }
}

/* Dropout: with equal scores O = mean over keys of keep_j / (1 - p) * V_j, keep from Philox. */
static void dropout_follows_philox(void **state) {
    (void)state;
    small_problem s;
    int64_t tk = 64;
    small_init(&s, 1, 2, 1, 1, tk, 1, 1);
    for (int64_t j = 0; j < tk; ++j) SV(&s, 0, 0, j, 0) = 1.0f + (float)j;
    s.p.dropout_p = 0.5f;
    s.p.dropout_seed = 0xabcdef0123ULL;
    s.p.dropout_offset = 3;
    run(&s);
    uint32_t threshold = attn_dropout_threshold(0.5f);
    for (int64_t h = 0; h < 2; ++h) {
        double expected = 0.0;
        for (int64_t j = 0; j < tk; ++j)
            if (attn_dropout_keep(0xabcdef0123ULL, 3, 0, h, 2, tk - 1, j, threshold)) expected += 2.0 * (1.0 + (double)j);
        expected /= (double)tk;
        assert_close(SO(&s, 0, h, 0, 0), expected, 1e-4);
        assert_close(SL(&s, 0, h, 0), log((double)tk), 1e-6); /* LSE is taken before dropout */
    }
    small_free(&s);
}

/* Scores near 1e4 neither overflow nor lose the row. */
static void large_logits(void **state) {
    (void)state;
    small_problem s;
    small_init(&s, 1, 1, 1, 1, 2, 1, 1);
    s.p.causal = 0;
    SQ(&s, 0, 0, 0, 0) = 100.0f;
    SK(&s, 0, 0, 0, 0) = 100.0f;
    SK(&s, 0, 0, 1, 0) = 99.99f;
    SV(&s, 0, 0, 0, 0) = 1.0f;
    SV(&s, 0, 0, 1, 0) = 3.0f;
    run(&s);
    double s1 = 100.0 * (double)99.99f, d = s1 - 1e4;
    double w1 = exp(d) / (1.0 + exp(d));
    assert_close(SO(&s, 0, 0, 0, 0), 1.0 + 2.0 * w1, 1e-5);
    assert_close(SL(&s, 0, 0, 0), 1e4 + log(1.0 + exp(d)), 1e-2);
    small_free(&s);
}

/* Two disjoint halves of the keys, merged through their LSEs, equal the whole. */
static void lse_merge_of_halves(void **state) {
    (void)state;
    small_problem whole, first, second;
    int64_t tk = 10, d = 3;
    small_init(&whole, 1, 1, 1, 2, tk, d, d);
    small_init(&first, 1, 1, 1, 2, tk / 2, d, d);
    small_init(&second, 1, 1, 1, 2, tk / 2, d, d);
    small_problem *parts[3] = {&whole, &first, &second};
    for (int n = 0; n < 3; ++n) parts[n]->p.causal = 0;
    for (int64_t i = 0; i < 2; ++i)
        for (int64_t e = 0; e < d; ++e) SQ(&whole, 0, 0, i, e) = SQ(&first, 0, 0, i, e) = SQ(&second, 0, 0, i, e) = sinf((float)(i * 7 + e));
    for (int64_t j = 0; j < tk; ++j)
        for (int64_t e = 0; e < d; ++e) {
            float kv = cosf((float)(j * 3 + e * 5)), vv = sinf((float)(j + e * 11));
            SK(&whole, 0, 0, j, e) = kv;
            SV(&whole, 0, 0, j, e) = vv;
            small_problem *half = j < tk / 2 ? &first : &second;
            SK(half, 0, 0, j % (tk / 2), e) = kv;
            SV(half, 0, 0, j % (tk / 2), e) = vv;
        }
    for (int n = 0; n < 3; ++n) run(parts[n]);
    for (int64_t i = 0; i < 2; ++i) {
        double la = SL(&first, 0, 0, i), lb = SL(&second, 0, 0, i);
        double m = fmax(la, lb), lse = m + log(exp(la - m) + exp(lb - m));
        assert_close(lse, SL(&whole, 0, 0, i), 1e-6);
        for (int64_t e = 0; e < d; ++e)
            assert_close(exp(la - lse) * SO(&first, 0, 0, i, e) + exp(lb - lse) * SO(&second, 0, 0, i, e), SO(&whole, 0, 0, i, e), 1e-6);
    }
    for (int n = 0; n < 3; ++n) small_free(parts[n]);
}

/* BTHD strides and a longer cache buffer give the same result as the contiguous tensors. */
static void strided_views(void **state) {
    (void)state;
    small_problem s;
    int64_t tk = 5, cache = 8;
    small_init(&s, 1, 2, 1, 2, tk, 2, 2);
    for (int64_t n = 0; n < 2 * 2 * 2; ++n) s.q[n] = sinf((float)n);
    for (int64_t n = 0; n < tk * 2; ++n) {
        s.k[n] = cosf((float)n);
        s.v[n] = sinf((float)n * 0.7f);
    }
    run(&s);
    float expected[8];
    memcpy(expected, s.o, sizeof expected);
    /* K and V inside [1, 1, cache, 2] buffers whose tail is NaN: the view must not leak. */
    float kbuf[16], vbuf[16];
    for (int n = 0; n < 16; ++n) kbuf[n] = vbuf[n] = NAN;
    memcpy(kbuf, s.k, sizeof(float) * (size_t)(tk * 2));
    memcpy(vbuf, s.v, sizeof(float) * (size_t)(tk * 2));
    int64_t kv_strides[4] = {cache * 2, cache * 2, 2, 1};
    s.p.k.data = kbuf;
    s.p.v.data = vbuf;
    s.p.k.strides = s.p.v.strides = kv_strides;
    /* O as BTHD: [B, T, H, D] memory, strides (T*H*D, D, H*D, 1). */
    int64_t o_strides[4] = {2 * 2 * 2, 2, 4, 1};
    float obuf[8];
    s.p.o.data = obuf;
    s.p.o.strides = o_strides;
    run(&s);
    for (int64_t h = 0; h < 2; ++h)
        for (int64_t i = 0; i < 2; ++i)
            for (int64_t e = 0; e < 2; ++e) assert_close(obuf[i * 4 + h * 2 + e], expected[(h * 2 + i) * 2 + e], 0.0);
    small_free(&s);
}

/* The baseline (eager, in-dtype) stays within a few bf16 units of golden, and equals it closely in float32. */
static void baseline_mode(void **state) {
    (void)state;
    small_problem s;
    small_init(&s, 1, 1, 1, 4, 16, 8, 8);
    for (int64_t n = 0; n < 4 * 8; ++n) s.q[n] = sinf((float)n * 1.3f);
    for (int64_t n = 0; n < 16 * 8; ++n) {
        s.k[n] = cosf((float)n * 0.9f);
        s.v[n] = sinf((float)n * 0.4f);
    }
    run(&s);
    float golden[32];
    memcpy(golden, s.o, sizeof golden);
    attn_backend *baseline = open_reference("baseline");
    attn_error err;
    if (attn_backend_run(baseline, &s.p, &err) != ATTN_OK) fail_msg("%s", err.message);
    for (int n = 0; n < 32; ++n) assert_close(s.o[n], golden[n], 2e-6);
    attn_backend_close(baseline);
    small_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(softmax_of_two_keys),   cmocka_unit_test(default_scale),
        cmocka_unit_test(bottom_right_alignment), cmocka_unit_test(ragged_lengths_and_padding),
        cmocka_unit_test(empty_rows),            cmocka_unit_test(gqa_head_mapping),
        cmocka_unit_test(masked_scores_never_count), cmocka_unit_test(prefix_lm),
        cmocka_unit_test(document_mask),         cmocka_unit_test(modifiers),
        cmocka_unit_test(distance_terms),        cmocka_unit_test(dropout_follows_philox),
        cmocka_unit_test(large_logits),          cmocka_unit_test(lse_merge_of_halves),
        cmocka_unit_test(strided_views),         cmocka_unit_test(baseline_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
