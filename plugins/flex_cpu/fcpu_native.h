/* The small-M tile products of flex-cpu: Q.K^T and P.V for tiles of at most FCPU_NATIVE_MAX_M
 * rows (decode, small chunk decode), by hand instead of oneDNN.
 *
 * Why: such a tile reads every K and V row once from memory and does a few FLOP per byte,
 * so it runs at the speed memory is streamed.  oneDNN 2.6's small-M kernels stream only
 * 6-10 GB/s per thread from DRAM (docs/PERF.md, "flex-cpu"); these loops read K and V rows
 * in place (any row stride; float32, or bfloat16 / float16 widened in registers), all the
 * tile's rows per loaded vector, several keys per iteration, each product prefetching its
 * own rows ahead and the rows the other reads next, and accumulate in float32.
 *
 * Both are exact in meaning to the oneDNN path: the same products in float32 (summation
 * order differs, as between any two matmul kernels). */
#ifndef FCPU_NATIVE_H
#define FCPU_NATIVE_H

#include <stdint.h>

#define FCPU_NATIVE_MAX_M 32

/* Rows of K or V read in place: row j at base + j * ld elements of dtype (FCPU_DT_*), its
 * elements contiguous. */
typedef struct fcpu_native_rows {
    const char *base;
    int64_t ld;
    int32_t dtype;
} fcpu_native_rows;

/* Q's packed row stride: D rounded up to 16 floats, the pad zero (fcpu_native_qk reads whole
 * vectors of Q). */
static inline int64_t fcpu_native_q_ld(int64_t D) { return (D + 15) / 16 * 16; }

/* S[r * lds + j] = Q[r] . K[j] for r < m, j < nk.  q is float32 [m, fcpu_native_q_ld(D)].
 * Rows [0, pf_rows) of pf (NULL: none), pf_row_bytes each, are prefetched alongside, one per
 * key: the stream read next (the tile's V rows). */
void fcpu_native_qk(const float *q, int64_t m, int64_t D, const fcpu_native_rows *k, int64_t nk, float *s, int64_t lds,
                  const fcpu_native_rows *pf, int64_t pf_rows, int64_t pf_row_bytes);

/* O[r * Dv + e] += sum_j P[r * ldp + j] * V[j, e] for r < m, j < nk, e < Dv.  Rows
 * [0, pf_rows) of pf (NULL: none) are prefetched alongside: the next tile's K. */
void fcpu_native_pv(const float *p, int64_t ldp, int64_t m, int64_t nk, const fcpu_native_rows *v, int64_t Dv, float *o,
                  const fcpu_native_rows *pf, int64_t pf_rows, int64_t pf_row_bytes);

#endif
