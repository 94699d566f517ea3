/* Dropout as SPEC.md defines it: the kept fraction is 1 - p, and the decision depends only on
 * (seed, offset, b, h, pos, j), so a full causal call and a token-by-token (or chunk-by-chunk)
 * decode of the same sequence drop the same entries and give the same rows. */
#include <attn/plugin/attn_philox.h>

#include "sm_test.h"

/* One decode query against 65536 keys, all scores 0 and V = 1: P = 2^-16 exactly, so O is
 * the kept count times P / (1 - p), summed in key order as the plugin does. */
static void kept_fraction_of_a_large_row(void **state) {
    (void)state;
    const int64_t tk = 65536;
    const float ps[3] = {0.1f, 0.3f, 0.5f};
    for (int n = 0; n < 3; ++n) {
        small_problem s;
        small_init(&s, 1, 1, 1, 1, tk, 1, 1);
        for (int64_t j = 0; j < tk; ++j) SV(&s, 0, 0, j, 0) = 1.0f;
        s.p.dropout_p = ps[n];
        s.p.dropout_seed = 0x0123456789abcdefull + (uint64_t)n;
        s.p.dropout_offset = 3;
        attn_backend *backend = sm_open(NULL, 0);
        sm_run(backend, &s.p);
        attn_backend_close(backend);

        uint32_t threshold = attn_dropout_threshold(ps[n]);
        float kept_weight = (1.0f / 65536.0f) * (float)(1.0 / (1.0 - (double)ps[n]));
        float expected = 0.0f;
        int64_t kept = 0;
        for (int64_t j = 0; j < tk; ++j)
            if (attn_dropout_keep(s.p.dropout_seed, 3, 0, 0, 1, tk - 1, j, threshold)) {
                ++kept;
                expected += kept_weight;
            }
        double fraction = (double)kept / (double)tk;
        assert_close(fraction, 1.0 - ps[n], 0.01);
        assert_true(SO(&s, 0, 0, 0, 0) == expected); /* exactly these entries were kept */
        /* The fraction as the output shows it, without the test's own count. */
        assert_close(SO(&s, 0, 0, 0, 0) * (1.0 - ps[n]), 1.0 - ps[n], 0.01);
        small_free(&s);
    }
}

enum { B = 2, HQ = 4, HKV = 2, T = 37, D = 16, DV = 8 };

/* The full causal call over T tokens, with dropout, LSE included. */
static void full_sequence(small_problem *s, float p) {
    small_init(s, B, HQ, HKV, T, T, D, DV);
    sm_fill_problem(s, 77);
    s->p.scale = 0.0; /* the default 1/sqrt(D) */
    s->p.dropout_p = p;
    s->p.dropout_seed = 0xdeadbeefcafef00dull;
    s->p.dropout_offset = 11;
    attn_backend *backend = sm_open(NULL, 0);
    sm_run(backend, &s->p);
    attn_backend_close(backend);
}

/* Rows [t0, t0 + n) of the full problem as a decode step: Q and O are views of those rows,
 * K and V views of the cache.  With `by_length`, the cache is the whole buffer and kv_len says
 * how far it is filled; otherwise K and V are views of exactly t0 + n keys. */
static void decode_step(const small_problem *full, int64_t t0, int64_t n, int by_length, float *o, float *lse) {
    attn_problem p = full->p;
    int64_t q_shape[4] = {B, HQ, n, D}, kv_len = by_length ? T : t0 + n;
    int64_t k_shape[4] = {B, HKV, kv_len, D}, v_shape[4] = {B, HKV, kv_len, DV};
    int64_t o_shape[4] = {B, HQ, n, DV}, o_strides[4] = {HQ * n * DV, n * DV, DV, 1};
    int64_t l_shape[3] = {B, HQ, n}, l_strides[3] = {HQ * n, n, 1};
    int32_t lengths[B] = {(int32_t)(t0 + n), (int32_t)(t0 + n)};
    int64_t len_shape[1] = {B}, len_strides[1] = {1};
    p.q.data = full->q + t0 * D;
    p.q.shape = q_shape;
    p.k.shape = k_shape;
    p.v.shape = v_shape;
    p.o.data = o;
    p.o.shape = o_shape;
    p.o.strides = o_strides;
    p.lse.data = lse;
    p.lse.shape = l_shape;
    p.lse.strides = l_strides;
    if (by_length) { /* kv_len: a [B] int32 tensor */
        memset(&p.kv_len, 0, sizeof p.kv_len);
        p.kv_len.data = lengths;
        p.kv_len.device.device_type = kDLCPU;
        p.kv_len.ndim = 1;
        p.kv_len.dtype.code = kDLInt;
        p.kv_len.dtype.bits = 32;
        p.kv_len.dtype.lanes = 1;
        p.kv_len.shape = len_shape;
        p.kv_len.strides = len_strides;
    }
    attn_backend *backend = sm_open(NULL, 0);
    sm_run(backend, &p);
    attn_backend_close(backend);
}

/* Every step's rows against the same rows of the full call. */
static void decode_matches_full(int64_t chunk, int by_length) {
    small_problem full, plain;
    full_sequence(&full, 0.25f);
    full_sequence(&plain, 0.0f);
    float o[B * HQ * T * DV], lse[B * HQ * T];
    double dropout_moved = 0.0;
    for (int64_t t0 = 0; t0 < T; t0 += chunk) {
        int64_t n = T - t0 < chunk ? T - t0 : chunk;
        decode_step(&full, t0, n, by_length, o, lse);
        for (int64_t b = 0; b < B; ++b)
            for (int64_t h = 0; h < HQ; ++h)
                for (int64_t i = 0; i < n; ++i) {
                    for (int64_t e = 0; e < DV; ++e) {
                        float got = o[((b * HQ + h) * n + i) * DV + e];
                        assert_close(got, SO(&full, b, h, t0 + i, e), 1e-6);
                        dropout_moved = fmax(dropout_moved, fabs(got - SO(&plain, b, h, t0 + i, e)));
                    }
                    assert_close(lse[(b * HQ + h) * n + i], SL(&full, b, h, t0 + i), 1e-6);
                }
    }
    assert_true(dropout_moved > 1e-2); /* dropout did drop entries: the test is not vacuous */
    small_free(&full);
    small_free(&plain);
}

static void token_by_token_decode_drops_the_same(void **state) {
    (void)state;
    decode_matches_full(1, 0);
}

static void chunk_decode_by_length_drops_the_same(void **state) {
    (void)state;
    decode_matches_full(5, 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kept_fraction_of_a_large_row),
        cmocka_unit_test(token_by_token_decode_drops_the_same),
        cmocka_unit_test(chunk_decode_by_length_drops_the_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
