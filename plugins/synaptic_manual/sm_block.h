/* synaptic-manual's unit of work: one block of query rows of one (batch, query head),
 * computed the way an eager framework does it (scores materialised against every key, then
 * modifier and mask, softmax, dropout, P rounded to the dtype, P.V).
 *
 * The block is the memory bound: scratch holds rows x Tk float32 scores and nothing of size
 * B.H.Tq.Tk, so a 128k-key decode or a 32k prefill runs in the budget the caller chose. */
#ifndef SM_BLOCK_H
#define SM_BLOCK_H

#include <attn/plugin/attn_problem.h>
#include <attn/plugin/attn_rules.h>
#include <stdint.h>

#include "../common/cpu_expr.h"

/* Keys whose dot products are computed together: K is loaded transposed in chunks of this
 * many keys so the inner loop runs over independent accumulators (one per key) and each
 * dot product keeps the sequential order of the eager baseline, bit for bit. */
#define SM_KEY_CHUNK 8

/* Facts of the whole call, read once per run. */
typedef struct sm_call {
    const attn_problem *p;
    int64_t batch, hq, hkv, group, tq, tk, d, dv;
    float scale;
    int32_t dropout;         /* p > 0 */
    uint32_t drop_threshold; /* attn_dropout_threshold(p) */
    float drop_scale;        /* 1 / (1 - p), as float (the baseline's rounding) */
    uint8_t code, bits;      /* the problem dtype, for rounding P */
    /* ABI 1.2's expressions (e NULL when absent), evaluated as the eager baseline does: the
     * mask after SPEC's rules, score_mod in float64 on the float32 score, rounded back */
    cpu_expr mask_mod, score_mod;
    attn_expr_scratch *expr_scratch; /* NULL when neither is given */
    cpu_expr_error *expr_error;      /* the first error at a visible pair */
} sm_call;

/* Scratch of one block, allocated once per run and reused by every block. */
typedef struct sm_scratch {
    int64_t rows;          /* query rows per block */
    float *scores;         /* [rows, tk]: scores, then P in place */
    float *acc;            /* [rows, dv]: P.V accumulators */
    float *q;              /* [rows, d]: the block's query rows */
    float *kt;             /* [d, SM_KEY_CHUNK]: a key chunk, transposed */
    float *v;              /* [dv]: one value row */
    float *krow;           /* [d]: one key row, before transposing */
    attn_row_mask *masks;  /* [rows] */
    int64_t *lo, *hi;      /* [rows]: each row's candidate key range; lo == hi when empty */
    float *lse;            /* [rows] */
} sm_scratch;

/* Bytes of scratch for a block of `rows` rows: what the memory budget is divided by. */
uint64_t sm_scratch_bytes(const sm_call *c, int64_t rows);
/* Allocates scratch for `rows` rows; 0 on success, -1 when out of memory. */
int sm_scratch_alloc(const sm_call *c, int64_t rows, sm_scratch *s);
void sm_scratch_free(sm_scratch *s);

/* Computes rows [i0, i0 + nrows) of (b, h) and writes their O (and LSE when asked).
 * q_len / kv_len are batch b's lengths, already bound-checked; nrows <= s->rows. */
void sm_block_run(const sm_call *c, sm_scratch *s, int64_t b, int64_t h, int64_t i0, int64_t nrows, int64_t q_len,
                  int64_t kv_len, int64_t prefix_len);

#endif
