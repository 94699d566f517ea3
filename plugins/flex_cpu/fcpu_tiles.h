/* The block mask of flex-cpu: FlexAttention's idea of classifying, for each query tile,
 * every key tile before touching it.  An empty tile is skipped (no matmul, no softmax), a
 * full tile needs no per-element mask work, a partial tile is masked per element.
 *
 * The rules themselves are SPEC.md's, taken from attn_rules.h: a row's candidate keys are
 * [lo, hi) from attn_row_key_range (lengths, causal, prefix-LM, windows), and inside that
 * range only documents can still hide a key (attn_key_visible).  Pure functions, no oneDNN:
 * the unit tests call them on hand-made cases. */
#ifndef FCPU_TILES_H
#define FCPU_TILES_H

#include <attn/plugin/attn_rules.h>
#include <stdint.h>

#define FCPU_TILE_EMPTY 0
#define FCPU_TILE_FULL 1
#define FCPU_TILE_PARTIAL 2

/* The query positions of one tile, in order (the heads of a GQA group share positions, so
 * they share these).  lo/hi come from attn_row_key_range; a row with lo == hi sees nothing
 * (padding is never part of a tile: tiles cover rows i < q_len only). */
typedef struct fcpu_rows {
    int64_t count;
    const attn_row_mask *mask; /* [count] */
    int64_t *lo, *hi;          /* [count] */
    int32_t has_docs;
    int32_t doc_q_min, doc_q_max; /* over the rows, when has_docs */
    /* Over the rows that see any key: the union of their ranges [span_lo, span_hi) (empty
     * when no row sees anything) and the keys all of them see, [full_lo, full_hi) (empty
     * when full_lo >= full_hi), before documents. */
    int64_t span_lo, span_hi, full_lo, full_hi;
} fcpu_rows;

/* Fills lo/hi from the masks, then the bounds above. */
void fcpu_rows_prepare(fcpu_rows *rows, int64_t *lo, int64_t *hi);

/* Restricts every range to [kv_lo, kv_hi) (a split piece's keys) and recomputes the bounds. */
void fcpu_rows_clip(fcpu_rows *rows, int64_t kv_lo, int64_t kv_hi);

/* The first and last row whose range meets keys [j0, j1); *first > *last when none does.
 * Ranges of ordered positions are monotone under causal and window rules, so the rows in
 * between are the ones a tile needs (with documents, a superset). */
void fcpu_rows_meeting(const fcpu_rows *rows, int64_t j0, int64_t j1, int64_t *first, int64_t *last);

/* Classifies key columns [j0, j1) for the rows.  doc_k holds the document ids of keys
 * j0..j1-1 (contiguous) when rows->has_docs, else it is ignored and may be NULL. */
int fcpu_classify_tile(const fcpu_rows *rows, int64_t j0, int64_t j1, const int32_t *doc_k);

#endif
