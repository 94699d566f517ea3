#include "fcpu_native.h"

#include <string.h>

#include "fcpu_plan.h"
#include "fcpu_vec.h"

/* Prefetching: the two streams alternate, so each phase prefetches the other's rows: Q.K^T
 * the tile's V rows (row j with K's row j), P.V the next tile's K rows; and each phase its
 * own rows FCPU_PF_AHEAD rows ahead (the hardware prefetcher does not follow Q.K^T's four
 * interleaved rows, nor P.V's half rows).  On two threads the own-row prefetch took the
 * decode shape from 18-22 to 26-28 GB/s (docs/PERF.md). */
#define FCPU_PF_AHEAD 16

/* The loops over a block's rows and keys are fully unrolled (GCC unroll pragmas: -O2 does
 * not unroll), so that the accumulators live in vector registers, not on the stack. */

/* Register blocks: QK keeps 4 rows x 4 keys of dot products (16 vector accumulators,
 * reduced together); PV keeps 4 rows x 4 vectors (64 columns) of O over a tile's keys. */
#define QK_KEYS 4
#define QK_ROWS 4
#define PV_ROWS 4
#define PV_VECS 4

/* 16 elements of dtype at p as float32: bfloat16 is the high half of a float32, float16 is
 * rebased (exponent + 112, which the multiplication by 2^112 does for normal and subnormal
 * values alike), with infinities and NaNs moved to float32's top exponent. */
FCPU_INLINE v16f load16(const char *p, int32_t dtype) {
    if (dtype == FCPU_DT_F32) return vload((const float *)p);
    v16h h;
    memcpy(&h, p, sizeof h);
    v16i u = __builtin_convertvector(h, v16i); /* uint16 -> int32: zero-extended */
    if (dtype == FCPU_DT_BF16) return (v16f)(u << 16);
    v16i em = (u & 0x7fff) << 13, sign = (u & 0x8000) << 16;
    v16f f = (v16f)em * 0x1p112f;
    v16i special = em >= (0x7c00 << 13);
    v16i bits = (special & (em | 0x7f800000)) | (~special & (v16i)f);
    return (v16f)(bits | sign);
}

/* The first `count` (< 16) elements, the rest zero: a row's last partial vector.  Reading
 * whole vectors past the row's end could leave the tensor. */
FCPU_INLINE v16f load_part(const char *p, int32_t dtype, int64_t count) {
    char buf[64] = {0};
    memcpy(buf, p, (size_t)(count * (dtype == FCPU_DT_F32 ? 4 : 2)));
    return load16(buf, dtype);
}

FCPU_INLINE const char *row_at(const fcpu_native_rows *r, int64_t j) {
    return r->base + j * r->ld * (r->dtype == FCPU_DT_F32 ? 4 : 2);
}

FCPU_INLINE void prefetch_row(const char *p, int64_t bytes) {
    for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off, 0, 2);
}

/* lane l of the result = the sum of x[l]'s lanes: the butterfly of fcpu_io.c's 16x16
 * transpose with an add after each stage (15 pairs of two-source permutes for 16 sums). */
FCPU_INLINE void reduce_stage(v16f x[16], const int s) {
    _Pragma("GCC unroll 8")
    for (int i = 0; i < s; ++i) x[i] = vbfly(x[i], x[i + s], s, 0) + vbfly(x[i], x[i + s], s, 1);
}
FCPU_INLINE v16f reduce16(v16f x[16]) {
    reduce_stage(x, 8); /* constant stages: each loop unrolls */
    reduce_stage(x, 4);
    reduce_stage(x, 2);
    reduce_stage(x, 1);
    return x[0];
}

FCPU_INLINE void qk_fma(v16f acc[QK_ROWS * QK_KEYS], const float *q, int64_t ldq, const v16f kv[QK_KEYS], const int RN) {
    _Pragma("GCC unroll 16")
    for (int r = 0; r < RN; ++r) {
        v16f qv = vload(q + r * ldq);
        _Pragma("GCC unroll 16")
        for (int k = 0; k < QK_KEYS; ++k) acc[r * QK_KEYS + k] += qv * kv[k];
    }
}

/* S for RN (<= QK_ROWS, a constant: the loops unroll) rows from q (stride ldq) and
 * QK_KEYS key rows kr[], over D: accumulators acc[r * QK_KEYS + k], reduced at the end to
 * lane r * QK_KEYS + k (lanes of missing rows are zero).  Keys past the real ones are
 * repeats of the last; their sums are not stored. */
FCPU_INLINE v16f qk_block(const float *q, int64_t ldq, const char *kr[QK_KEYS], int64_t D, int32_t dtype, const int RN) {
    v16f acc[QK_ROWS * QK_KEYS];
    _Pragma("GCC unroll 16")
    for (int i = 0; i < QK_ROWS * QK_KEYS; ++i) acc[i] = vsplat(0.0f);
    const int64_t esz = dtype == FCPU_DT_F32 ? 4 : 2;
    v16f kv[QK_KEYS];
    int64_t d = 0;
    for (; d + 16 <= D; d += 16) {
        _Pragma("GCC unroll 16")
        for (int k = 0; k < QK_KEYS; ++k) kv[k] = load16(kr[k] + d * esz, dtype);
        qk_fma(acc, q + d, ldq, kv, RN);
    }
    if (d < D) { /* Q's pad is zero; K's tail is loaded as zeros */
        _Pragma("GCC unroll 16")
        for (int k = 0; k < QK_KEYS; ++k) kv[k] = load_part(kr[k] + d * esz, dtype, D - d);
        qk_fma(acc, q + d, ldq, kv, RN);
    }
    return reduce16(acc);
}

FCPU_INLINE void qk_store(const float *q, int64_t ldq, const char *kr[QK_KEYS], int64_t D, int32_t dtype, const int RN,
                        int64_t kn, float *s, int64_t lds) {
    float sums[QK_ROWS * QK_KEYS];
    vstore(sums, qk_block(q, ldq, kr, D, dtype, RN));
    _Pragma("GCC unroll 16")
    for (int r = 0; r < RN; ++r) memcpy(s + r * lds, sums + r * QK_KEYS, (size_t)kn * sizeof(float));
}

FCPU_INLINE void qk_body(const float *q, int64_t m, int64_t D, const fcpu_native_rows *k, int64_t nk, float *s,
                       int64_t lds, const fcpu_native_rows *pf, int64_t pf_rows, int64_t pf_row_bytes, int32_t dtype) {
    const int64_t ldq = fcpu_native_q_ld(D), k_bytes = D * (dtype == FCPU_DT_F32 ? 4 : 2);
    for (int64_t j = 0; j < nk; j += QK_KEYS) {
        const char *kr[QK_KEYS];
        _Pragma("GCC unroll 16")
        for (int c = 0; c < QK_KEYS; ++c) {
            kr[c] = row_at(k, j + c < nk ? j + c : nk - 1);
            if (j + c + FCPU_PF_AHEAD < nk) prefetch_row(row_at(k, j + c + FCPU_PF_AHEAD), k_bytes);
            if (pf && j + c < pf_rows) prefetch_row(row_at(pf, j + c), pf_row_bytes);
        }
        const int64_t kn = nk - j < QK_KEYS ? nk - j : QK_KEYS;
        int64_t r0 = 0;
        for (; r0 + QK_ROWS <= m; r0 += QK_ROWS)
            qk_store(q + r0 * ldq, ldq, kr, D, dtype, QK_ROWS, kn, s + r0 * lds + j, lds);
        switch (m - r0) { /* constant row counts, so that each unrolls */
        case 3: qk_store(q + r0 * ldq, ldq, kr, D, dtype, 3, kn, s + r0 * lds + j, lds); break;
        case 2: qk_store(q + r0 * ldq, ldq, kr, D, dtype, 2, kn, s + r0 * lds + j, lds); break;
        case 1: qk_store(q + r0 * ldq, ldq, kr, D, dtype, 1, kn, s + r0 * lds + j, lds); break;
        default: break;
        }
    }
}

FCPU_CLONES static void qk_f32(const float *q, int64_t m, int64_t D, const fcpu_native_rows *k, int64_t nk, float *s,
                             int64_t lds, const fcpu_native_rows *pf, int64_t pf_rows, int64_t pf_row_bytes) {
    qk_body(q, m, D, k, nk, s, lds, pf, pf_rows, pf_row_bytes, FCPU_DT_F32);
}
FCPU_CLONES static void qk_bf16(const float *q, int64_t m, int64_t D, const fcpu_native_rows *k, int64_t nk, float *s,
                              int64_t lds, const fcpu_native_rows *pf, int64_t pf_rows, int64_t pf_row_bytes) {
    qk_body(q, m, D, k, nk, s, lds, pf, pf_rows, pf_row_bytes, FCPU_DT_BF16);
}
FCPU_CLONES static void qk_f16(const float *q, int64_t m, int64_t D, const fcpu_native_rows *k, int64_t nk, float *s,
                             int64_t lds, const fcpu_native_rows *pf, int64_t pf_rows, int64_t pf_row_bytes) {
    qk_body(q, m, D, k, nk, s, lds, pf, pf_rows, pf_row_bytes, FCPU_DT_F16);
}

/* By dtype (FCPU_DT_F32, FCPU_DT_F16, FCPU_DT_BF16): each body is compiled with its dtype a
 * constant, so the widening is chosen outside the loops. */
static void (*const qk_by_dtype[3])(const float *, int64_t, int64_t, const fcpu_native_rows *, int64_t, float *, int64_t,
                                    const fcpu_native_rows *, int64_t, int64_t) = {qk_f32, qk_f16, qk_bf16};

void fcpu_native_qk(const float *q, int64_t m, int64_t D, const fcpu_native_rows *k, int64_t nk, float *s, int64_t lds,
                  const fcpu_native_rows *pf, int64_t pf_rows, int64_t pf_row_bytes) {
    qk_by_dtype[k->dtype](q, m, D, k, nk, s, lds, pf, pf_rows, pf_row_bytes);
}

/* O[r][e0, e0 + 16 * CW) of RN rows += P[r][j] * V[j][e0, ...) over the keys j < nk, RN
 * and CW constants (the loops unroll): the RN x CW output vectors stay in registers over
 * all the tile's keys, so O is read and written once per tile and each loaded V vector
 * serves every row.  The first pass over the keys (first) also prefetches V's rows ahead
 * and the next stream (pf). */
FCPU_INLINE void pv_chunk(const float *p, int64_t ldp, int64_t nk, const fcpu_native_rows *v, float *o, int64_t Dv,
                        int64_t e0, int32_t dtype, const int RN, const int CW, int first, const fcpu_native_rows *pf,
                        int64_t pf_rows, int64_t pf_row_bytes) {
    const int64_t esz = dtype == FCPU_DT_F32 ? 4 : 2, vld = v->ld * esz, v_bytes = Dv * esz;
    v16f acc[PV_ROWS][PV_VECS];
    _Pragma("GCC unroll 16")
    for (int r = 0; r < RN; ++r) {
        _Pragma("GCC unroll 16")
        for (int w = 0; w < CW; ++w) acc[r][w] = vload(o + r * Dv + e0 + 16 * w);
    }
    const char *vp = v->base + e0 * esz;
    for (int64_t j = 0; j < nk; ++j, vp += vld) {
        if (first && j + FCPU_PF_AHEAD < nk) prefetch_row(row_at(v, j + FCPU_PF_AHEAD), v_bytes);
        if (pf && j < pf_rows) prefetch_row(row_at(pf, j), pf_row_bytes);
        v16f vv[PV_VECS];
        _Pragma("GCC unroll 16")
        for (int w = 0; w < CW; ++w) vv[w] = load16(vp + 16 * w * esz, dtype);
        _Pragma("GCC unroll 16")
        for (int r = 0; r < RN; ++r) {
            const v16f pr = vsplat(p[r * ldp + j]);
            _Pragma("GCC unroll 16")
            for (int w = 0; w < CW; ++w) acc[r][w] += pr * vv[w];
        }
    }
    _Pragma("GCC unroll 16")
    for (int r = 0; r < RN; ++r) {
        _Pragma("GCC unroll 16")
        for (int w = 0; w < CW; ++w) vstore(o + r * Dv + e0 + 16 * w, acc[r][w]);
    }
}

/* The last `width` (< 16) columns of a row, one vector through a buffer: odd head dims only. */
FCPU_INLINE void pv_part(const float *p, int64_t ldp, int64_t nk, const fcpu_native_rows *v, float *o, int64_t Dv,
                       int64_t e0, int64_t width, int32_t dtype, const int RN) {
    const int64_t esz = dtype == FCPU_DT_F32 ? 4 : 2;
    _Pragma("GCC unroll 16")
    for (int r = 0; r < RN; ++r) {
        float buf[16] = {0};
        memcpy(buf, o + r * Dv + e0, (size_t)width * 4);
        v16f acc = vload(buf);
        for (int64_t j = 0; j < nk; ++j) acc += p[r * ldp + j] * load_part(row_at(v, j) + e0 * esz, dtype, width);
        vstore(buf, acc);
        memcpy(o + r * Dv + e0, buf, (size_t)width * 4);
    }
}

/* RN rows over all of Dv: chunks of PV_VECS vectors, then single vectors, then the part.
 * first: these are the item's first rows (the pass that prefetches). */
FCPU_INLINE void pv_rows(const float *p, int64_t ldp, int64_t nk, const fcpu_native_rows *v, float *o, int64_t Dv,
                       int32_t dtype, const int RN, int first, const fcpu_native_rows *pf, int64_t pf_rows,
                       int64_t pf_row_bytes) {
    int64_t e0 = 0;
    for (; e0 + 16 * PV_VECS <= Dv; e0 += 16 * PV_VECS, first = 0, pf = NULL)
        pv_chunk(p, ldp, nk, v, o, Dv, e0, dtype, RN, PV_VECS, first, pf, pf_rows, pf_row_bytes);
    for (; e0 + 16 <= Dv; e0 += 16, first = 0, pf = NULL)
        pv_chunk(p, ldp, nk, v, o, Dv, e0, dtype, RN, 1, first, pf, pf_rows, pf_row_bytes);
    if (e0 < Dv) pv_part(p, ldp, nk, v, o, Dv, e0, Dv - e0, dtype, RN);
}

FCPU_INLINE void pv_body(const float *p, int64_t ldp, int64_t m, int64_t nk, const fcpu_native_rows *v, int64_t Dv,
                       float *o, const fcpu_native_rows *pf, int64_t pf_rows, int64_t pf_row_bytes, int32_t dtype) {
    int64_t r0 = 0;
    for (; r0 + PV_ROWS <= m; r0 += PV_ROWS, pf = NULL)
        pv_rows(p + r0 * ldp, ldp, nk, v, o + r0 * Dv, Dv, dtype, PV_ROWS, r0 == 0, pf, pf_rows, pf_row_bytes);
    const float *pr = p + r0 * ldp;
    float *orow = o + r0 * Dv;
    const int first = r0 == 0;
    switch (m - r0) { /* constant row counts, so that each unrolls */
    case 3: pv_rows(pr, ldp, nk, v, orow, Dv, dtype, 3, first, pf, pf_rows, pf_row_bytes); break;
    case 2: pv_rows(pr, ldp, nk, v, orow, Dv, dtype, 2, first, pf, pf_rows, pf_row_bytes); break;
    case 1: pv_rows(pr, ldp, nk, v, orow, Dv, dtype, 1, first, pf, pf_rows, pf_row_bytes); break;
    default: break;
    }
}

FCPU_CLONES static void pv_f32(const float *p, int64_t ldp, int64_t m, int64_t nk, const fcpu_native_rows *v, int64_t Dv,
                             float *o, const fcpu_native_rows *pf, int64_t pf_rows, int64_t pf_row_bytes) {
    pv_body(p, ldp, m, nk, v, Dv, o, pf, pf_rows, pf_row_bytes, FCPU_DT_F32);
}
FCPU_CLONES static void pv_bf16(const float *p, int64_t ldp, int64_t m, int64_t nk, const fcpu_native_rows *v, int64_t Dv,
                              float *o, const fcpu_native_rows *pf, int64_t pf_rows, int64_t pf_row_bytes) {
    pv_body(p, ldp, m, nk, v, Dv, o, pf, pf_rows, pf_row_bytes, FCPU_DT_BF16);
}
FCPU_CLONES static void pv_f16(const float *p, int64_t ldp, int64_t m, int64_t nk, const fcpu_native_rows *v, int64_t Dv,
                             float *o, const fcpu_native_rows *pf, int64_t pf_rows, int64_t pf_row_bytes) {
    pv_body(p, ldp, m, nk, v, Dv, o, pf, pf_rows, pf_row_bytes, FCPU_DT_F16);
}

static void (*const pv_by_dtype[3])(const float *, int64_t, int64_t, int64_t, const fcpu_native_rows *, int64_t, float *,
                                    const fcpu_native_rows *, int64_t, int64_t) = {pv_f32, pv_f16, pv_bf16};

void fcpu_native_pv(const float *p, int64_t ldp, int64_t m, int64_t nk, const fcpu_native_rows *v, int64_t Dv, float *o,
                  const fcpu_native_rows *pf, int64_t pf_rows, int64_t pf_row_bytes) {
    pv_by_dtype[v->dtype](p, ldp, m, nk, v, Dv, o, pf, pf_rows, pf_row_bytes);
}
