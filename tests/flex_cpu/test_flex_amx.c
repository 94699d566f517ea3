/* flex-cpu's AMX-BF16 path (fcpu_amx.h): the B-operand packing against its definition, the
 * emulated tile kernel against float64 on every edge of its blocking (rows and columns not a
 * multiple of 16 or 32, head dims 64/80/96/128 and odd ones, strided operands, nothing
 * written outside the result), the real tile instructions against the emulation (skipped
 * with the reason where the CPU has no AMX), and whole bfloat16 problems through the plugin
 * with `amx: emulate` against a float64 loop (GQA, MQA, causal, windows, ragged lengths,
 * items that start at odd keys, tiles that end off the 32-key step). */
#include <attn/plugin/attn_dtype.h>
#include <attn/host/attn_host.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcpu_amx.h"
#include "test_support.h"
#include "run_with_log.h"
#include "small_problem.h"

#define SENTINEL 12345.0f
#define BF16_NAN 0x7fc0u
#define BF16_GUARD 0xaaaau

/* A deterministic value in [-1, 1), different for every n and seed, exact in bfloat16. */
static float value(int64_t n, int seed) {
    float x = (float)((n * 2654435761u + (uint32_t)seed * 40503u) % 2001u) / 1000.0f - 1.0f;
    return attn_bf16_to_f32(attn_f32_to_bf16(x));
}
static uint16_t bvalue(int64_t n, int seed) { return attn_f32_to_bf16(value(n, seed)); }
static float bf(uint16_t h) { return attn_bf16_to_f32(h); }

/* rows x width bfloat16 at row stride ld; the gap past width holds NaN (never to be read). */
static uint16_t *make_rows(int64_t rows, int64_t width, int64_t ld, int seed) {
    uint16_t *x = malloc(sizeof(uint16_t) * (size_t)(rows * ld + 1));
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < ld; ++c) x[r * ld + c] = c < width ? bvalue(r * width + c, seed) : BF16_NAN;
    return x;
}

/* ---- Packing ------------------------------------------------------------------------- */

/* ldk even: whole blocks take the vector transpose; odd: element by element. */
static void check_pack_k(int64_t D, int64_t count, int64_t tk, int64_t ldk) {
    const int64_t pairs = fcpu_amx_pad(D) / 2, size = pairs * tk * 2;
    uint16_t *k = make_rows(count, D, ldk, 1), *dst = malloc(sizeof(uint16_t) * (size_t)(size + 64));
    for (int64_t n = 0; n < size + 64; ++n) dst[n] = BF16_GUARD;
    fcpu_amx_pack_k(k, ldk, count, D, tk, dst);
    for (int64_t r = 0; r < pairs; ++r)
        for (int64_t j = 0; j < tk; ++j)
            for (int t = 0; t < 2; ++t) {
                int64_t d = 2 * r + t, at = ((j / 16) * pairs + r) * 32 + (j % 16) * 2 + t; /* fcpu_amx.h */
                uint16_t want = j < count && d < D ? k[j * ldk + d] : 0;
                if (dst[at] != want)
                    fail_msg("K pack D %lld count %lld: pair row %lld key %lld half %d = %#x, want %#x", (long long)D,
                             (long long)count, (long long)r, (long long)j, t, dst[at], want);
            }
    for (int64_t n = size; n < size + 64; ++n)
        if (dst[n] != BF16_GUARD) fail_msg("K pack wrote past its end");
    free(k), free(dst);
}

static void check_pack_v(int64_t Dv, int64_t count, int64_t tk) {
    const int64_t ldv = Dv + 5, dvp = fcpu_amx_pad(Dv), size = tk / 2 * dvp * 2;
    uint16_t *v = make_rows(count, Dv, ldv, 2), *dst = malloc(sizeof(uint16_t) * (size_t)(size + 64));
    for (int64_t n = 0; n < size + 64; ++n) dst[n] = BF16_GUARD;
    fcpu_amx_pack_v(v, ldv, count, Dv, tk, dst);
    for (int64_t r = 0; r < tk / 2; ++r)
        for (int64_t e = 0; e < dvp; ++e)
            for (int t = 0; t < 2; ++t) {
                int64_t j = 2 * r + t;
                uint16_t want = j < count && e < Dv ? v[j * ldv + e] : 0;
                if (dst[(r * dvp + e) * 2 + t] != want)
                    fail_msg("V pack Dv %lld count %lld: pair %lld column %lld half %d = %#x, want %#x", (long long)Dv,
                             (long long)count, (long long)r, (long long)e, t, dst[(r * dvp + e) * 2 + t], want);
            }
    for (int64_t n = size; n < size + 64; ++n)
        if (dst[n] != BF16_GUARD) fail_msg("V pack wrote past its end");
    free(v), free(dst);
}

/* Packing in blocks of 16 keys (as the plugin prepares a head) gives the whole pack. */
static void check_pack_blocks(int64_t D, int64_t count, int64_t tk) {
    const int64_t pairs = fcpu_amx_pad(D) / 2, dvp = fcpu_amx_pad(D);
    uint16_t *x = make_rows(count, D, D, 3);
    uint16_t *kw = calloc((size_t)(pairs * tk * 2), 2), *kb = calloc((size_t)(pairs * tk * 2), 2);
    uint16_t *vw = calloc((size_t)(tk / 2 * dvp * 2), 2), *vb = calloc((size_t)(tk / 2 * dvp * 2), 2);
    fcpu_amx_pack_k(x, D, count, D, tk, kw);
    fcpu_amx_pack_v(x, D, count, D, tk, vw);
    fcpu_amx_zero_k(count / 16 * 16, tk, D, kb); /* from the last block's start: rows fill it again */
    for (int64_t j0 = 0; j0 < count; j0 += 16) {
        int64_t rows = count - j0 < 16 ? count - j0 : 16;
        fcpu_amx_pack_k_rows(x + j0 * D, D, j0, rows, D, kb);
        fcpu_amx_pack_v_rows(x + j0 * D, D, j0, rows, D, vb);
    }
    assert_memory_equal(kw, kb, (size_t)(pairs * tk * 4));
    assert_memory_equal(vw, vb, (size_t)(tk / 2 * dvp * 4));
    free(x), free(kw), free(kb), free(vw), free(vb);
}

static void packing_matches_definition(void **state) {
    (void)state;
    const int64_t dims[] = {64, 80, 96, 128, 33, 8, 1};
    for (size_t n = 0; n < sizeof dims / sizeof *dims; ++n) {
        check_pack_k(dims[n], 37, 96, dims[n] + 3);
        check_pack_k(dims[n], 37, 96, dims[n] + 4);
        check_pack_k(dims[n], 64, 64, dims[n]);
        check_pack_k(dims[n], 64, 80, dims[n] + 2);
        check_pack_k(dims[n], 0, 32, dims[n]);
        check_pack_v(dims[n], 37, 96);
        check_pack_v(dims[n], 64, 64);
        check_pack_v(dims[n], 1, 32);
        check_pack_blocks(dims[n], 37, 96);
        check_pack_blocks(dims[n], 48, 64);
    }
}

/* ---- The kernels against float64 ----------------------------------------------------- */

/* Q [m, dp] at row stride dp + 8 (zeros past D, NaN past dp), K packed, the product from key
 * j0 (a multiple of 16) on. */
typedef struct qk_case {
    int64_t m, D, n, j0, dp, ldq, tk, lds;
    uint16_t *q, *k, *kp;
} qk_case;

static void qk_make(qk_case *c, int64_t m, int64_t D, int64_t n, int64_t j0) {
    c->m = m, c->D = D, c->n = n, c->j0 = j0;
    c->dp = fcpu_amx_pad(D), c->ldq = c->dp + 8, c->tk = (j0 + n + 31) / 16 * 16, c->lds = n + 5;
    c->q = make_rows(m, c->dp, c->ldq, 7);
    for (int64_t r = 0; r < m; ++r)
        for (int64_t d = D; d < c->dp; ++d) c->q[r * c->ldq + d] = 0;
    c->k = make_rows(c->tk, D, D, 3);
    c->kp = malloc(sizeof(uint16_t) * (size_t)(c->dp / 2 * c->tk * 2));
    fcpu_amx_pack_k(c->k, D, c->tk, D, c->tk, c->kp);
}

static void qk_free(qk_case *c) { free(c->q), free(c->k), free(c->kp); }

static float *qk_run(const qk_case *c, int kernel) {
    float *s = malloc(sizeof(float) * (size_t)((c->m + 1) * c->lds));
    for (int64_t n = 0; n < (c->m + 1) * c->lds; ++n) s[n] = SENTINEL;
    fcpu_amx_qk(kernel, c->q, c->ldq, c->m, c->dp, c->kp + c->j0 / 16 * (c->dp / 2 * 32), c->n, s, c->lds);
    fcpu_amx_release(kernel);
    return s;
}

/* float32 sums of bfloat16 products, in any order: within (terms + 2) units of the sum of
 * the magnitudes. */
static void check_close(const char *what, double got, double want, double mag, int64_t terms, int64_t r, int64_t c) {
    if (!(fabs(got - want) <= (double)(terms + 2) * 0x1p-24 * mag)) /* NaN fails too */
        fail_msg("%s [%lld][%lld] = %.9g, want %.9g (magnitude %g)", what, (long long)r, (long long)c, got, want, mag);
}

static void check_qk(int64_t m, int64_t D, int64_t n, int64_t j0) {
    qk_case c;
    qk_make(&c, m, D, n, j0);
    float *s = qk_run(&c, FCPU_AMX_EMU);
    for (int64_t r = 0; r <= m; ++r)
        for (int64_t j = 0; j < c.lds; ++j) {
            if (r == m || j >= n) {
                if (s[r * c.lds + j] != SENTINEL) fail_msg("QK wrote outside S: row %lld col %lld", (long long)r, (long long)j);
                continue;
            }
            double want = 0.0, mag = 0.0;
            for (int64_t d = 0; d < D; ++d) {
                double x = (double)bf(c.q[r * c.ldq + d]) * bf(c.k[(j0 + j) * D + d]);
                want += x, mag += fabs(x);
            }
            check_close("S", s[r * c.lds + j], want, mag, D, r, j);
        }
    free(s);
    qk_free(&c);
}

static void emulated_qk_matches_float64(void **state) {
    (void)state;
    const int64_t rows[] = {1, 7, 16, 17, 32, 45, 64}, dims[] = {64, 80, 96, 128, 33}, keys[] = {16, 36, 48, 80};
    for (size_t a = 0; a < sizeof rows / sizeof *rows; ++a)
        for (size_t b = 0; b < sizeof dims / sizeof *dims; ++b)
            for (size_t c = 0; c < sizeof keys / sizeof *keys; ++c) check_qk(rows[a], dims[b], keys[c], 16 * (int64_t)((a + c) % 3));
}

/* P [m, nk] at row stride nk + 4 (NaN past nk), V packed from the even key j0 on, O at row
 * stride Dv + 3 (sentinels past Dv and after the last row). */
typedef struct pv_case {
    int64_t m, nk, Dv, j0, ldp, dvp, tk, ldo;
    uint16_t *p, *v, *vp;
    float *o0;
} pv_case;

static void pv_make(pv_case *c, int64_t m, int64_t nk, int64_t Dv, int64_t j0) {
    c->m = m, c->nk = nk, c->Dv = Dv, c->j0 = j0;
    c->ldp = nk + 4, c->dvp = fcpu_amx_pad(Dv), c->tk = j0 + nk + 2, c->ldo = Dv + 3;
    c->p = make_rows(m, nk, c->ldp, 11);
    for (int64_t n = 0; n < m * c->ldp; ++n)
        if (c->p[n] != BF16_NAN) c->p[n] &= 0x7fff; /* probabilities: non-negative */
    c->v = make_rows(c->tk, Dv, Dv, 5);
    c->vp = malloc(sizeof(uint16_t) * (size_t)(c->tk / 2 * c->dvp * 2));
    fcpu_amx_pack_v(c->v, Dv, c->tk, Dv, c->tk, c->vp);
    c->o0 = malloc(sizeof(float) * (size_t)((m + 1) * c->ldo));
    for (int64_t r = 0; r <= m; ++r)
        for (int64_t e = 0; e < c->ldo; ++e) c->o0[r * c->ldo + e] = r < m && e < Dv ? value(r * Dv + e, 13) : SENTINEL;
}

static void pv_free(pv_case *c) { free(c->p), free(c->v), free(c->vp), free(c->o0); }

static float *pv_run(const pv_case *c, int kernel) {
    float *o = malloc(sizeof(float) * (size_t)((c->m + 1) * c->ldo));
    memcpy(o, c->o0, sizeof(float) * (size_t)((c->m + 1) * c->ldo));
    fcpu_amx_pv(kernel, c->p, c->ldp, c->m, c->nk, c->vp + c->j0 / 2 * c->dvp * 2, c->dvp, c->Dv, o, c->ldo);
    fcpu_amx_release(kernel);
    return o;
}

static void check_pv(int64_t m, int64_t nk, int64_t Dv, int64_t j0) {
    pv_case c;
    pv_make(&c, m, nk, Dv, j0);
    float *o = pv_run(&c, FCPU_AMX_EMU);
    for (int64_t r = 0; r <= m; ++r)
        for (int64_t e = 0; e < c.ldo; ++e) {
            if (r == m || e >= Dv) {
                if (o[r * c.ldo + e] != SENTINEL) fail_msg("PV wrote outside O: row %lld col %lld", (long long)r, (long long)e);
                continue;
            }
            double want = c.o0[r * c.ldo + e], mag = fabs(want);
            for (int64_t j = 0; j < nk; ++j) {
                double x = (double)bf(c.p[r * c.ldp + j]) * bf(c.v[(j0 + j) * Dv + e]);
                want += x, mag += fabs(x);
            }
            check_close("O", o[r * c.ldo + e], want, mag, nk + 1, r, e);
        }
    free(o);
    pv_free(&c);
}

static void emulated_pv_matches_float64(void **state) {
    (void)state;
    const int64_t rows[] = {1, 13, 16, 31, 33, 64}, keys[] = {32, 64, 96}, dims[] = {64, 80, 96, 128, 40, 8};
    for (size_t a = 0; a < sizeof rows / sizeof *rows; ++a)
        for (size_t b = 0; b < sizeof keys / sizeof *keys; ++b)
            for (size_t c = 0; c < sizeof dims / sizeof *dims; ++c) check_pv(rows[a], keys[b], dims[c], 2 * (int64_t)((a + c) % 3));
}

/* ---- The tile instructions against the emulation ------------------------------------- */

static int64_t bits_differ; /* entries where hardware and emulation are not bit-identical */

static double max_rel_diff(const float *a, const float *b, int64_t count) {
    double worst = 0.0;
    for (int64_t n = 0; n < count; ++n) {
        double d = fabs((double)a[n] - b[n]) / (fabs((double)b[n]) + 1.0);
        worst = d > worst || isnan(d) ? d : worst;
        bits_differ += memcmp(&a[n], &b[n], sizeof(float)) != 0;
    }
    return worst;
}

/* Same code, real instructions: the results agree with the emulation (the SDM's definition of
 * TDPBF16PS) within float32 rounding; how many entries are not bit-identical is printed, for
 * the record (an implementation may order its internal additions otherwise). */
static void hardware_matches_emulation(void **state) {
    (void)state;
    char reason[200];
    if (!fcpu_amx_available(reason, sizeof reason)) {
        printf("skipped: no AMX here: %s\n", reason);
        skip();
    }
    double worst = 0.0;
    const int64_t rows[] = {1, 16, 17, 45, 64, 256}, dims[] = {64, 80, 128};
    for (size_t a = 0; a < sizeof rows / sizeof *rows; ++a)
        for (size_t b = 0; b < sizeof dims / sizeof *dims; ++b) {
            qk_case q;
            qk_make(&q, rows[a], dims[b], 48 + 16 * (int64_t)b, 16 * ((int64_t)a % 3));
            float *hw = qk_run(&q, FCPU_AMX_HW), *emu = qk_run(&q, FCPU_AMX_EMU);
            double d = max_rel_diff(hw, emu, (q.m + 1) * q.lds);
            worst = d > worst ? d : worst;
            if (!(d <= 1e-5)) fail_msg("QK m %lld D %lld: hardware and emulation differ by %g", (long long)q.m, (long long)q.D, d);
            free(hw), free(emu);
            qk_free(&q);
            pv_case p;
            pv_make(&p, rows[a], 64 + 32 * (int64_t)b, dims[b] + (int64_t)a % 2 * 8, 2 * ((int64_t)a % 2));
            hw = pv_run(&p, FCPU_AMX_HW), emu = pv_run(&p, FCPU_AMX_EMU);
            d = max_rel_diff(hw, emu, (p.m + 1) * p.ldo);
            worst = d > worst ? d : worst;
            if (!(d <= 1e-5)) fail_msg("PV m %lld Dv %lld: hardware and emulation differ by %g", (long long)p.m, (long long)p.Dv, d);
            free(hw), free(emu);
            pv_free(&p);
        }
    printf("AMX hardware vs emulation: largest relative difference %g, %lld entries not bit-identical\n", worst,
           (long long)bits_differ);
}

/* ---- Whole problems through the plugin ------------------------------------------------ */

/* A bfloat16 problem, contiguous BHTD, with per-batch lengths and LSE. */
typedef struct bf_problem {
    attn_problem p;
    int64_t shapes[7][4], strides[7][4];
    uint16_t *q, *k, *v, *o;
    float *lse;
    int32_t q_len[4], kv_len[4];
    int64_t b, hq, hkv, tq, tk, d, dv;
} bf_problem;

static void bf_tensor(bf_problem *s, DLTensor *t, void *data, int slot, int32_t ndim, const int64_t *shape, uint8_t code,
                      uint8_t bits) {
    contiguous_tensor(t, data, ndim, shape, code, bits, s->shapes[slot], s->strides[slot]);
}

static void bf_init(bf_problem *s, int64_t b, int64_t hq, int64_t hkv, int64_t tq, int64_t tk, int64_t d, int64_t dv,
                    const int32_t *q_len, const int32_t *kv_len) {
    memset(s, 0, sizeof *s);
    s->b = b, s->hq = hq, s->hkv = hkv, s->tq = tq, s->tk = tk, s->d = d, s->dv = dv;
    s->q = make_rows(b * hq * tq, d, d, 21);
    s->k = make_rows(b * hkv * tk, d, d, 22);
    s->v = make_rows(b * hkv * tk, dv, dv, 23);
    s->o = calloc((size_t)(b * hq * tq * dv), 2);
    s->lse = calloc((size_t)(b * hq * tq), sizeof(float));
    bf_tensor(s, &s->p.q, s->q, 0, 4, (int64_t[]){b, hq, tq, d}, kDLBfloat, 16);
    bf_tensor(s, &s->p.k, s->k, 1, 4, (int64_t[]){b, hkv, tk, d}, kDLBfloat, 16);
    bf_tensor(s, &s->p.v, s->v, 2, 4, (int64_t[]){b, hkv, tk, dv}, kDLBfloat, 16);
    bf_tensor(s, &s->p.o, s->o, 3, 4, (int64_t[]){b, hq, tq, dv}, kDLBfloat, 16);
    bf_tensor(s, &s->p.lse, s->lse, 4, 3, (int64_t[]){b, hq, tq}, kDLFloat, 32);
    for (int64_t n = 0; n < b; ++n) {
        s->q_len[n] = q_len ? q_len[n] : (int32_t)tq;
        s->kv_len[n] = kv_len ? kv_len[n] : (int32_t)tk;
    }
    bf_tensor(s, &s->p.q_len, s->q_len, 5, 1, (int64_t[]){b}, kDLInt, 32);
    bf_tensor(s, &s->p.kv_len, s->kv_len, 6, 1, (int64_t[]){b}, kDLInt, 32);
    s->p.struct_size = sizeof s->p;
    s->p.causal = 1;
    s->p.window_left = s->p.window_right = -1;
    s->p.scale = 0.0; /* 1 / sqrt(D) */
    s->p.synaptic_lambda = 1.0f;
    s->p.synaptic_eps = 1e-6f;
    s->p.synaptic_beta = 0.1f;
}

static void bf_free(bf_problem *s) { free(s->q), free(s->k), free(s->v), free(s->o), free(s->lse); }

/* SPEC.md in float64 on the bfloat16 inputs (lengths, causal, window; no modifier): O and LSE
 * of one row, or 0 when the row sees no key. */
static int reference_row(const bf_problem *s, int64_t b, int64_t h, int64_t i, double *o, double *lse) {
    const int64_t q_len = s->q_len[b], kv_len = s->kv_len[b], pos = kv_len - q_len + i, g = s->hq / s->hkv;
    const double scale = 1.0 / sqrt((double)s->d);
    const uint16_t *q = s->q + ((b * s->hq + h) * s->tq + i) * s->d;
    const uint16_t *k = s->k + (b * s->hkv + h / g) * s->tk * s->d, *v = s->v + (b * s->hkv + h / g) * s->tk * s->dv;
    double *sc = malloc(sizeof(double) * (size_t)(s->tk + 1)), mx = -INFINITY;
    for (int64_t j = 0; j < s->tk; ++j) {
        int vis = i < q_len && j < kv_len && (!s->p.causal || j <= pos) &&
                  (s->p.window_left < 0 || j >= pos - s->p.window_left) && (s->p.window_right < 0 || j <= pos + s->p.window_right);
        sc[j] = -INFINITY;
        if (!vis) continue;
        double x = 0.0;
        for (int64_t d = 0; d < s->d; ++d) x += (double)bf(q[d]) * bf(k[j * s->d + d]);
        sc[j] = x * scale;
        mx = sc[j] > mx ? sc[j] : mx;
    }
    for (int64_t e = 0; e < s->dv; ++e) o[e] = 0.0;
    if (mx == -INFINITY) {
        free(sc);
        return 0;
    }
    double sum = 0.0;
    for (int64_t j = 0; j < s->tk; ++j)
        if (sc[j] != -INFINITY) sum += exp(sc[j] - mx);
    for (int64_t j = 0; j < s->tk; ++j) {
        if (sc[j] == -INFINITY) continue;
        double w = exp(sc[j] - mx) / sum;
        for (int64_t e = 0; e < s->dv; ++e) o[e] += w * bf(v[j * s->dv + e]);
    }
    *lse = mx + log(sum);
    free(sc);
    return 1;
}

/* Runs the problem with the host's debug log in a file; returns the number of items the run
 * put on the (emulated) AMX kernel, from the plugin's run line. */
static long run_logged(attn_backend *backend, bf_problem *s) {
    FILE *log = run_with_log(backend, &s->p);
    char line[1024];
    long amx = -1;
    while (fgets(line, sizeof line, log)) {
        const char *at = strstr(line, "split pieces, ");
        if (at) amx = strtol(at + strlen("split pieces, "), NULL, 10);
    }
    fclose(log);
    return amx;
}

/* O within 2 bfloat16 units of 1 (outputs are in [-1, 1]) plus the rounding of P to
 * bfloat16; LSE (float32 from float32 scores) within 1e-4 relative. */
static void check_problem(bf_problem *s, const char *name) {
    double *o = malloc(sizeof(double) * (size_t)s->dv), lse = 0.0, worst = 0.0;
    for (int64_t b = 0; b < s->b; ++b)
        for (int64_t h = 0; h < s->hq; ++h)
            for (int64_t i = 0; i < s->tq; ++i) {
                int seen = reference_row(s, b, h, i, o, &lse);
                const uint16_t *got = s->o + ((b * s->hq + h) * s->tq + i) * s->dv;
                float got_lse = s->lse[(b * s->hq + h) * s->tq + i];
                for (int64_t e = 0; e < s->dv; ++e) {
                    double d = fabs(bf(got[e]) - o[e]);
                    worst = d > worst || isnan(d) ? d : worst;
                    if (!seen ? got[e] != 0 : !(d <= 2 * 0x1p-8 + 4e-3)) /* NaN fails */
                        fail_msg("%s: O[%lld,%lld,%lld,%lld] = %g, want %g", name, (long long)b, (long long)h, (long long)i,
                                 (long long)e, bf(got[e]), o[e]);
                }
                if (!seen ? got_lse != -INFINITY : !(fabs(got_lse - lse) <= 1e-4 * (fabs(lse) + 1.0)))
                    fail_msg("%s: LSE[%lld,%lld,%lld] = %g, want %g", name, (long long)b, (long long)h, (long long)i,
                             got_lse, lse);
            }
    printf("%s: largest |O - float64| %.3g\n", name, worst);
    free(o);
}

/* The plugin of this build, or ATTN_FLEX_CPU_PATH from the environment (a staged build run
 * on another machine: plugins/flex_cpu/bench/xeon_amx.sh). */
static const char *flex_path(void) {
    const char *path = getenv("ATTN_FLEX_CPU_PATH");
    return path && *path ? path : ATTN_FLEX_CPU_PATH;
}

/* Under `amx: emulate` also bf16: native: AMX (emulated too) runs only where bfloat16 is
 * computed as such, and the plugin widens it to float32 where oneDNN lacks AVX512-BF16 -
 * valgrind's CPU in CI's memcheck step, for one.  Not otherwise: oneDNN 2.6 has no bfloat16
 * matmul there. */
static attn_backend *open_flex(const char *amx, const char *q_tile, const char *kv_tile, const char *edge_tile) {
    attn_option options[6] = {{"amx", amx},       {"q_tile", q_tile}, {"kv_tile", kv_tile}, {"edge_tile", edge_tile},
                              {"threads", "2"}, {"bf16", "native"}};
    const uint32_t count = strcmp(amx, "emulate") == 0 ? 6 : 5;
    attn_backend *backend = NULL;
    attn_error err;
    if (attn_backend_open("flex-cpu", flex_path(), options, count, &backend, &err) != ATTN_OK)
        fail_msg("cannot open flex-cpu: %s", err.message);
    return backend;
}

/* The plugin with amx (emulate or auto), each problem chosen to reach one edge of the AMX
 * path; the run must have put items on the AMX kernel (its log says how many). */
static void plugin_problems(const char *amx) {
    setenv("ATTN_LOG", "debug", 1);
    bf_problem s;
    attn_backend *tiles32 = open_flex(amx, "48", "32", "16"), *tiles48 = open_flex(amx, "100", "48", "16");

    /* GQA 4/2, causal, D 80, kv_len 77 (not a multiple of 16 or 32): items of 48 rows. */
    bf_init(&s, 1, 4, 2, 77, 77, 80, 80, NULL, NULL);
    assert_true(run_logged(tiles32, &s) > 0);
    check_problem(&s, "GQA causal D80 T77");
    bf_free(&s);

    /* A window whose items start at odd keys, without causal, D 96, Dv 64: the AMX walk starts
     * at the multiple of 16 before, whose leading keys every row masks. */
    bf_init(&s, 1, 2, 2, 70, 101, 96, 64, NULL, NULL);
    s.p.causal = 0;
    s.p.window_left = 20; /* first keys 11 + i: odd at every item */
    s.p.window_right = 5;
    assert_true(run_logged(tiles32, &s) > 0);
    check_problem(&s, "window 20/5 D96 Dv64");
    bf_free(&s);

    /* MQA 3/1, bidirectional, D 128: items of 99 rows (row tails of 3), key tiles of 48
     * (P re-laid to 64 keys). */
    bf_init(&s, 1, 3, 1, 50, 50, 128, 128, NULL, NULL);
    s.p.causal = 0;
    assert_true(run_logged(tiles48, &s) > 0);
    check_problem(&s, "MQA bidir D128 tiles 48");
    bf_free(&s);

    /* Ragged batches, chunk-style (q_len < kv_len: bottom-right causal), D 64, an empty batch;
     * keys past kv_len hold NaN (a cache's unwritten tail), which must never reach O. */
    bf_init(&s, 3, 2, 1, 64, 96, 64, 64, (const int32_t[]){40, 64, 0}, (const int32_t[]){57, 90, 0});
    for (int64_t b = 0; b < s.b; ++b)
        for (int64_t j = s.kv_len[b]; j < s.tk; ++j)
            for (int64_t e = 0; e < s.d; ++e) s.k[(b * s.tk + j) * s.d + e] = s.v[(b * s.tk + j) * s.dv + e] = BF16_NAN;
    assert_true(run_logged(tiles32, &s) > 0);
    check_problem(&s, "ragged chunk D64");
    bf_free(&s);

    /* More keys than one unit of preparation (FCPU_AMX_PREP_KEYS): a head packed by two threads,
     * kv_len odd inside the second part. */
    bf_init(&s, 1, 2, 1, 531, 531, 64, 64, NULL, NULL);
    assert_true(run_logged(tiles48, &s) > 0);
    check_problem(&s, "causal T531 D64");
    bf_free(&s);

    /* The default tiles (q_tile 256, kv_tile 512, edge_tile 64) and one diagonal tile of 256
     * keys: partial tiles of more than 32 rows compute their products strip by strip, each
     * strip of 32 rows over the keys it sees (fcpu_attend.c), along a causal diagonal (GQA 8/2:
     * a strip is 8 positions of 4 heads), both edges of a window and ragged kv_len. */
    attn_backend *tiles_default = open_flex(amx, "256", "512", "64"), *tiles_diag = open_flex(amx, "128", "256", "256");
    bf_init(&s, 1, 8, 2, 300, 300, 64, 64, NULL, NULL);
    assert_true(run_logged(tiles_default, &s) > 0);
    check_problem(&s, "GQA 8/2 causal T300 default tiles");
    assert_true(run_logged(tiles_diag, &s) > 0);
    check_problem(&s, "GQA 8/2 causal T300 edge_tile 256");
    bf_free(&s);
    bf_init(&s, 2, 2, 2, 300, 400, 64, 48, (const int32_t[]){300, 280}, (const int32_t[]){400, 351});
    s.p.window_left = 70;
    s.p.window_right = 9;
    s.p.causal = 0;
    assert_true(run_logged(tiles_default, &s) > 0);
    check_problem(&s, "window 70/9 ragged default tiles");
    assert_true(run_logged(tiles_diag, &s) > 0);
    check_problem(&s, "window 70/9 ragged edge_tile 256");
    bf_free(&s);
    attn_backend_close(tiles_default);
    attn_backend_close(tiles_diag);

    attn_backend_close(tiles32);
    attn_backend_close(tiles48);
    unsetenv("ATTN_LOG");
}

static void plugin_emulated_matches_float64(void **state) {
    (void)state;
    plugin_problems("emulate");
}

/* The same problems on the tile instructions (amx: auto on a CPU with AMX). */
static void plugin_hardware_matches_float64(void **state) {
    (void)state;
    char reason[200];
    if (!fcpu_amx_available(reason, sizeof reason)) {
        printf("skipped: no AMX here: %s\n", reason);
        skip();
    }
    plugin_problems("auto");
}

/* amx: off runs the same problems without the AMX kernel, and amx: auto on a CPU without AMX
 * too; the value is checked. */
static void option_checked(void **state) {
    (void)state;
    setenv("ATTN_LOG", "debug", 1);
    bf_problem s;
    bf_init(&s, 1, 4, 2, 77, 77, 80, 80, NULL, NULL);
    attn_backend *off = open_flex("off", "48", "32", "16");
    assert_int_equal(run_logged(off, &s), 0);
    check_problem(&s, "amx off");
    attn_backend_close(off);
    char reason[200];
    attn_backend *automatic = open_flex("auto", "48", "32", "16");
    long amx = run_logged(automatic, &s);
    assert_true(fcpu_amx_available(reason, sizeof reason) ? amx > 0 : amx == 0);
    check_problem(&s, "amx auto");
    attn_backend_close(automatic);
    bf_free(&s);
    unsetenv("ATTN_LOG");

    attn_option bad = {"amx", "on"};
    attn_backend *backend = NULL;
    attn_error err;
    assert_int_equal(attn_backend_open("flex-cpu", flex_path(), &bad, 1, &backend, &err), ATTN_E_INVALID);
    assert_contains(err.message, "option amx: 'on' is not auto, off or emulate");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(packing_matches_definition),  cmocka_unit_test(emulated_qk_matches_float64),
        cmocka_unit_test(emulated_pv_matches_float64), cmocka_unit_test(hardware_matches_emulation),
        cmocka_unit_test(plugin_emulated_matches_float64), cmocka_unit_test(plugin_hardware_matches_float64),
        cmocka_unit_test(option_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
