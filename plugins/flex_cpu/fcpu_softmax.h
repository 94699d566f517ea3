/* The online softmax of one key tile (FlexAttention / FlashAttention style): masks the
 * scores S = Q.K^T of a tile as the tile's class says, applies the score modifier, moves
 * each row's running maximum m and sum l, rescales the row's running output, and writes
 * the tile's probabilities P (dropout applied) for the P.V product.
 *
 * Float32 throughout.  Masked scores never enter the maximum; a row with no visible key
 * so far keeps m = -inf, l = 0 and a zero output. */
#ifndef FCPU_SOFTMAX_H
#define FCPU_SOFTMAX_H

#include <stdint.h>

#include "fcpu_tiles.h"

/* What does not change over a run. */
typedef struct fcpu_softmax_problem {
    float scale;
    int32_t modifier;
    float softcap, lambda, eps, beta;
    const float *alibi; /* slope of head h at alibi[h * alibi_stride] */
    int64_t alibi_stride;
    const float *syn_w; /* w[b, h, j] at syn_w[b*sb + h*sh + j*sj] */
    int64_t syn_sb, syn_sh, syn_sj;
    int32_t dropout;    /* p > 0 */
    uint32_t drop_threshold;
    float drop_scale;   /* 1 / (1 - p) */
    uint64_t seed;
    uint32_t offset;
    int64_t hq;
    int32_t p_bf16;     /* store P as bfloat16 (the bf16 matmul path) */
} fcpu_softmax_problem;

/* One tile of one work item.  The tile covers rows [r0, r0 + m_rows) of the item's rows;
 * row r is position r / group (index into rows) of head h0 + r % group. */
typedef struct fcpu_softmax_tile {
    const fcpu_rows *rows;
    int64_t b, h0, group;
    int64_t r0, m_rows;
    int cls;              /* FCPU_TILE_FULL or FCPU_TILE_PARTIAL */
    int64_t j0, n;        /* key columns [j0, j0 + n) */
    const int32_t *doc_k; /* [n] when rows->has_docs */
    float *s;             /* [m_rows, n] scores of the tile's rows, overwritten */
    void *p;              /* [m_rows, n] probabilities, f32 or bf16 */
    float *m, *l;         /* the item's running max and sum, indexed by item row */
    float *o;             /* the item's running output [rows, dv] */
    int64_t dv;
} fcpu_softmax_tile;

void fcpu_softmax_tile_update(const fcpu_softmax_problem *pb, const fcpu_softmax_tile *t);

/* exp(x) for x <= 0 or x = -inf, within 2 float32 units; 0 below -87 (exp(-87) = 1.6e-38). */
float fcpu_exp_nonpositive(float x);
/* out[c] = exp(s[c] - m) for c < n, through the vectorised row kernel; returns the sum.
 * What the softmax runs, exposed for the tests. */
float fcpu_exp_row(const float *s, int64_t n, float m, float *out);

#endif
