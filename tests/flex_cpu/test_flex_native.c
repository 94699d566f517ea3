/* flex-cpu's small-M tile products (fcpu_native.c) against a float64 loop: every remainder of
 * its blocking (rows not a multiple of 4, keys not a multiple of 4 or 8, head dims not a
 * multiple of 16), strided rows, the three dtypes, that nothing outside the result is
 * written, and the float16/bfloat16 widening bit for bit. */
#include <attn/plugin/attn_dtype.h>
#include <math.h>
#include <stdlib.h>

#include "fcpu_native.h"
#include "fcpu_plan.h"
#include "test_support.h"

#define SENTINEL 12345.0f

/* A deterministic value in [-1, 1), different for every n and seed. */
static float value(int64_t n, int seed) { return (float)((n * 2654435761u + (uint32_t)seed * 40503u) % 2001u) / 1000.0f - 1.0f; }

/* Rows x width elements of dtype at row stride ld (> width: a strided cache view), and the
 * float32 values they hold (the reference's input). */
static void make_rows(int32_t dtype, int64_t rows, int64_t width, int64_t ld, int seed, void **data, float **exact) {
    size_t esz = dtype == FCPU_DT_F32 ? 4 : 2;
    *data = malloc((size_t)(rows * ld) * esz);
    *exact = malloc(sizeof(float) * (size_t)(rows * width));
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < ld; ++c) {
            float x = c < width ? value(r * width + c, seed) : NAN; /* the gap must never be read */
            if (dtype == FCPU_DT_F32) {
                ((float *)*data)[r * ld + c] = x;
            } else {
                uint16_t h = dtype == FCPU_DT_BF16 ? attn_f32_to_bf16(x) : attn_f32_to_f16(x);
                ((uint16_t *)*data)[r * ld + c] = h;
                x = dtype == FCPU_DT_BF16 ? attn_bf16_to_f32(h) : attn_f16_to_f32(h);
            }
            if (c < width) (*exact)[r * width + c] = x;
        }
}

static void check_qk(int32_t dtype, int64_t m, int64_t D, int64_t nk) {
    const int64_t ldq = fcpu_native_q_ld(D), ldk = D + 3, lds = nk + 5;
    float *q = calloc((size_t)(m * ldq), sizeof(float)), *k_exact, *s = malloc(sizeof(float) * (size_t)((m + 1) * lds));
    void *k;
    for (int64_t r = 0; r < m; ++r)
        for (int64_t d = 0; d < D; ++d) q[r * ldq + d] = value(r * D + d, 7);
    make_rows(dtype, nk, D, ldk, 3, &k, &k_exact);
    for (int64_t n = 0; n < (m + 1) * lds; ++n) s[n] = SENTINEL;
    fcpu_native_rows kr = {k, ldk, dtype};
    fcpu_native_qk(q, m, D, &kr, nk, s, lds, NULL, 0, 0);
    for (int64_t r = 0; r < m + 1; ++r)
        for (int64_t j = 0; j < lds; ++j) {
            if (r == m || j >= nk) {
                if (s[r * lds + j] != SENTINEL) fail_msg("QK wrote outside S: row %lld col %lld", (long long)r, (long long)j);
                continue;
            }
            double want = 0.0, mag = 0.0;
            for (int64_t d = 0; d < D; ++d) {
                want += (double)q[r * ldq + d] * k_exact[j * D + d];
                mag += fabs((double)q[r * ldq + d] * k_exact[j * D + d]);
            }
            /* float32 accumulation in any order: within (n + 1) units of the magnitudes */
            if (fabs(s[r * lds + j] - want) > (double)(D + 2) * 0x1p-24 * mag)
                fail_msg("QK dtype %d m %lld D %lld nk %lld: S[%lld][%lld] = %g, want %g", dtype, (long long)m, (long long)D,
                         (long long)nk, (long long)r, (long long)j, s[r * lds + j], want);
        }
    free(q), free(k), free(k_exact), free(s);
}

static void check_pv(int32_t dtype, int64_t m, int64_t Dv, int64_t nk) {
    const int64_t ldp = nk + 2, ldv = Dv + 5;
    float *p = malloc(sizeof(float) * (size_t)(m * ldp)), *v_exact, *o = malloc(sizeof(float) * (size_t)((m + 1) * Dv));
    void *v;
    for (int64_t r = 0; r < m; ++r)
        for (int64_t j = 0; j < ldp; ++j) p[r * ldp + j] = j < nk ? fabsf(value(r * nk + j, 11)) : NAN;
    make_rows(dtype, nk, Dv, ldv, 5, &v, &v_exact);
    for (int64_t n = 0; n < (m + 1) * Dv; ++n) o[n] = n < m * Dv ? value(n, 13) : SENTINEL; /* += onto this */
    float *o_before = malloc(sizeof(float) * (size_t)(m * Dv));
    memcpy(o_before, o, sizeof(float) * (size_t)(m * Dv));
    fcpu_native_rows vr = {v, ldv, dtype};
    fcpu_native_pv(p, ldp, m, nk, &vr, Dv, o, NULL, 0, 0);
    for (int64_t e = 0; e < Dv; ++e)
        if (o[m * Dv + e] != SENTINEL) fail_msg("PV wrote past row %lld", (long long)m);
    for (int64_t r = 0; r < m; ++r)
        for (int64_t e = 0; e < Dv; ++e) {
            double want = o_before[r * Dv + e], mag = fabs(want);
            for (int64_t j = 0; j < nk; ++j) {
                want += (double)p[r * ldp + j] * v_exact[j * Dv + e];
                mag += fabs((double)p[r * ldp + j] * v_exact[j * Dv + e]);
            }
            if (fabs(o[r * Dv + e] - want) > (double)(nk + 2) * 0x1p-24 * mag)
                fail_msg("PV dtype %d m %lld Dv %lld nk %lld: O[%lld][%lld] = %g, want %g", dtype, (long long)m,
                         (long long)Dv, (long long)nk, (long long)r, (long long)e, o[r * Dv + e], want);
        }
    free(p), free(v), free(v_exact), free(o), free(o_before);
}

static const int32_t dtypes[3] = {FCPU_DT_F32, FCPU_DT_BF16, FCPU_DT_F16};
static const int64_t rows[] = {1, 2, 3, 4, 5, 7, 8, 13, 32};
static const int64_t dims[] = {1, 8, 16, 20, 64, 100, 128};
static const int64_t keys[] = {1, 3, 4, 5, 8, 9, 17, 64};
#define COUNT(a) (sizeof(a) / sizeof(a[0]))

/* check(dtype, rows, head dim, keys) over every combination above. */
static void for_each_case(void (*check)(int32_t, int64_t, int64_t, int64_t)) {
    for (size_t t = 0; t < 3; ++t)
        for (size_t a = 0; a < COUNT(rows); ++a)
            for (size_t b = 0; b < COUNT(dims); ++b)
                for (size_t c = 0; c < COUNT(keys); ++c) check(dtypes[t], rows[a], dims[b], keys[c]);
}

static void qk_matches_float64(void **state) {
    (void)state;
    for_each_case(check_qk);
}

static void pv_matches_float64(void **state) {
    (void)state;
    for_each_case(check_pv);
}

/* With Q's rows unit vectors, S[r][j] = K[j][r] exactly: the widened value of every bit
 * pattern class of float16 (normal, subnormal, signed zero, the largest) and bfloat16. */
static void widening_exact(void **state) {
    (void)state;
    const uint16_t f16[16] = {0x0000, 0x8000, 0x0001, 0x03ff, 0x8200, 0x0400, 0x3c00, 0xbc00,
                              0x7bff, 0xfbff, 0x3555, 0x1234, 0x8001, 0x5640, 0x0200, 0x2e66};
    const uint16_t bf16[16] = {0x0000, 0x8000, 0x0001, 0x007f, 0x3f80, 0xbf80, 0x7f7f, 0xff7f,
                               0x4049, 0x3c23, 0x8080, 0x0080, 0x4000, 0xc2f6, 0x3e80, 0x1234};
    float q[16 * 16] = {0}, s[16];
    for (int r = 0; r < 16; ++r) q[r * 16 + r] = 1.0f;
    for (int t = 0; t < 2; ++t) {
        const uint16_t *bits = t == 0 ? f16 : bf16;
        fcpu_native_rows kr = {(const char *)bits, 16, t == 0 ? FCPU_DT_F16 : FCPU_DT_BF16};
        for (int r = 0; r < 16; ++r) {
            fcpu_native_qk(q + r * 16, 1, 16, &kr, 1, s, 1, NULL, 0, 0);
            float want = t == 0 ? attn_f16_to_f32(bits[r]) : attn_bf16_to_f32(bits[r]);
            if (memcmp(&s[0], &want, 4) != 0 && !(s[0] == 0.0f && want == 0.0f))
                fail_msg("%s 0x%04x widened to %a, want %a", t == 0 ? "float16" : "bfloat16", bits[r], s[0], want);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(qk_matches_float64),
        cmocka_unit_test(pv_matches_float64),
        cmocka_unit_test(widening_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
