/* The plan of one run: the problem's geometry read once, the per-batch lengths, the work
 * items of the parallel loop, the tiles of each item and every matmul primitive the loop
 * will execute, resolved before the loop starts.
 *
 * A work item is one query tile of one key/value head: positions [i0, i0 + nq) of every
 * query head that reads that key/value head (GQA), so M = group * nq rows share each K and V
 * tile and K/V are read once per group.  Rows are position-major (row r is position
 * r / group of head r % group of the group), so the rows that see a key tile are one
 * contiguous block under causal and window rules, and a tile's matmuls run on that block
 * only.  Long key ranges with few items (decode) are split over the key axis; the pieces
 * are merged through their maxima and sums (split-KV). */
#ifndef FCPU_PLAN_H
#define FCPU_PLAN_H

#include <attn/plugin/attn_problem.h>
#include <attn/plugin/attn_rules.h>
#include <stdint.h>

#include "fcpu_amx.h"
#include "fcpu_native.h"
#include "fcpu_prims.h"
#include "fcpu_tiles.h"

/* Problem dtypes. */
#define FCPU_DT_F32 0
#define FCPU_DT_F16 1
#define FCPU_DT_BF16 2

/* Where a tile's K and V come from. */
#define FCPU_SRC_STAGED 0   /* copied (and widened) into the thread's tile buffers, zeros past kv_len */
#define FCPU_SRC_DIRECT 1   /* read in place by oneDNN (the keys exist and the dtype is the compute one) */
#define FCPU_SRC_PREPARED 2 /* the head's K^T, prepared once per run (see fcpu_plan.prep), and V from
                             the prepared copy, or staged where V can be read in place but the
                             tile passes kv_len */
#define FCPU_SRC_PREPARED_K 3 /* the prepared K^T, and V read in place */
#define FCPU_SRC_COUNT 4

/* Keys per unit of work when an AMX pack is prepared (fcpu_prepare_head). */
#define FCPU_AMX_PREP_KEYS 512

/* Granularity of tile sizes: key counts and row blocks are multiples of it (or end at the
 * item's last row), which bounds the number of distinct matmul shapes. */
#define FCPU_GRAN 16

/* A 4-d (or fewer) tensor as base address plus element strides. */
typedef struct fcpu_view {
    char *base;
    int64_t stride[4];
} fcpu_view;

typedef struct fcpu_item {
    int64_t b, hkv, i0, nq;
    int64_t kv_lo, kv_hi; /* keys this item visits */
    int64_t piece;        /* slot of its partial result when split, else -1 */
    double cost;
} fcpu_item;

/* A query tile split over keys: its pieces wrote partial results into slots
 * [first, first + count). */
typedef struct fcpu_merge {
    fcpu_item whole; /* the unsplit item: rows and heads to write */
    int64_t first, count;
} fcpu_merge;

typedef struct fcpu_tunables {
    int64_t q_tile;    /* target rows M of a tile (query positions times heads of the group) */
    int64_t kv_tile;   /* keys per tile where every row sees every key, a multiple of FCPU_GRAN */
    int64_t edge_tile; /* keys per tile along ragged edges (causal diagonal, windows, lengths) */
    int64_t edge_tile_amx; /* the same for AMX items (fcpu_item_amx), whose partial tiles compute
                              their products strip by strip over the keys each strip sees */
    int32_t split;     /* 1: split long key ranges when there are few items */
    int32_t small_m;   /* FCPU_SMALL_M_*: who computes the products of items of few rows */
    int32_t amx;       /* FCPU_AMX_*: the kernel of bfloat16 items of more than FCPU_NATIVE_MAX_M rows
                          (the plugin resolves its option `amx` against the CPU) */
} fcpu_tunables;

/* Items of at most FCPU_NATIVE_MAX_M rows (fcpu_native.h): hand-written products (default) or
 * oneDNN's, as for every other item. */
#define FCPU_SMALL_M_NATIVE 0
#define FCPU_SMALL_M_ONEDNN 1

/* One key tile of an item: key columns [j0, j0 + n), rows [r0, r0 + m) of the item's rows
 * (m = 0: no row sees the tile), the positions t0..t1 those rows belong to, and the source
 * of K and V. */
typedef struct fcpu_tile {
    int64_t j0, n, r0, m, t0, t1;
    int32_t src;
} fcpu_tile;

typedef struct fcpu_plan {
    int64_t B, Hq, Hkv, group, Tq, Tk, D, Dv;
    int32_t dtype, cdt; /* problem dtype (FCPU_DT_*), compute dtype (FCPU_CDT_*) */
    int32_t kv_direct;  /* K and V can be read in place (dtype and strides allow it) */
    int64_t rows_per_tile, kv_tile, edge_tile, edge_tile_amx;
    int64_t native_m_max; /* items of at most this many rows use fcpu_native.h (0: none) */
    int32_t amx;          /* FCPU_AMX_*: AMX kernel of the items fcpu_item_amx picks (NONE unless the
                             compute dtype is bfloat16) */
    int32_t threads;
    fcpu_view q, k, v, o, lse, doc_q, doc_k;
    int32_t has_lse, has_docs;
    int64_t *q_len, *kv_len, *prefix_len; /* [B] host copies (prefix_len NULL when absent) */

    fcpu_item *items;
    int64_t n_items;
    fcpu_merge *merges;
    int64_t n_merges, n_pieces;
    int64_t m_max, nq_max;

    /* Prepared heads.  Under AMX (amx != FCPU_AMX_NONE) a prepared head is instead K and V in
     * the B layouts of fcpu_amx.h, K [prep_tk / 16, fcpu_amx_pad(D) / 2, 16, 2] then V
     * [prep_tk / 2, fcpu_amx_pad(Dv), 2], bfloat16, zeros past kv_len, D and Dv; every prepared
     * head has both, prepared in prep_parts units of FCPU_AMX_PREP_KEYS keys.
     * When a head's K and V are read by several query tiles (prefill), K is
     * transposed once into K^T [D, prep_tk] in the compute dtype with zeros from kv_len on:
     * oneDNN then reads a plain K^T instead of transposing K's rows again on every call.
     * Where V cannot be read in place (float16, odd strides), it is converted once too, into
     * [prep_tk, Dv] after K^T, so that no tile needs staging.  Batch b's heads
     * start at prep + prep_off[b] (bytes; -1: not prepared), one block of prep_block bytes
     * per kv head.  The buffer of prep_bytes is the caller's (kept between runs: fresh pages
     * would cost a page fault each on every run). */
    char *prep;
    int64_t *prep_off;
    int64_t prep_tk, prep_block, prep_heads, prep_bytes;
    int64_t prep_parts; /* work units per prepared head: AMX packs split their keys
                           (FCPU_AMX_PREP_KEYS each) so that few heads still busy every thread */

    /* The matmul primitives: prims[fcpu_prim_index(...)], NULL where the loop never goes.
     * m_slot maps a row count (0..m_max) to its index, -1 when unused. */
    int32_t *m_slot;
    int32_t n_m_slots;
    int64_t n_count; /* key counts FCPU_GRAN, 2 * FCPU_GRAN, ..., kv_tile */
    const fcpu_prim **prims;
    int64_t n_prims;
    size_t scratch_max;
} fcpu_plan;

/* Whether an item's products are fcpu_native.h's instead of oneDNN's: it has few rows. */
static inline int fcpu_item_native(const fcpu_plan *pl, const fcpu_item *it) { return pl->group * it->nq <= pl->native_m_max; }

/* Whether an item's products are fcpu_amx.h's: AMX in use, more rows than a native item can
 * have, and its head prepared in the AMX layout (a batch of a single query tile per head,
 * chunk decode, stays on oneDNN: packing a whole head for one tile would not pay, and
 * preparing few long heads would leave threads idle). */
static inline int fcpu_item_amx(const fcpu_plan *pl, const fcpu_item *it) {
    return pl->amx != FCPU_AMX_NONE && pl->group * it->nq > FCPU_NATIVE_MAX_M && pl->prep_off[it->b] >= 0;
}

static inline int64_t fcpu_prim_index(const fcpu_plan *pl, int64_t m, int64_t n, int32_t src, int32_t op) {
    return (((int64_t)pl->m_slot[m] * pl->n_count + (n / FCPU_GRAN - 1)) * FCPU_SRC_COUNT + src) * 2 + op;
}

/* Row masks (attn_rules.h) of positions [i0, i0 + nq) of batch b into mask[nq]. */
void fcpu_plan_row_masks(const fcpu_plan *pl, const attn_problem *p, int64_t b, int64_t i0, int64_t nq, attn_row_mask *mask);

/* The rows of an item: masks, ranges from attn_row_key_range, clipped to the item's keys.
 * mask, lo and hi have room for it->nq entries. */
void fcpu_item_rows(const fcpu_plan *pl, const attn_problem *p, const fcpu_item *it, attn_row_mask *mask, int64_t *lo,
                  int64_t *hi, fcpu_rows *rows);

/* The tiles of an item, in key order: start with tile->j0 = it->kv_lo and tile->n = 0; each
 * call moves to the next tile and returns 1, or returns 0 after the last.  Inside the keys
 * every row sees, tiles are kv_tile wide; along ragged edges they are edge_tile wide
 * (edge_tile_amx for AMX items), so that
 * the row block that sees them (r0, m) shrinks with the edge. */
int fcpu_tile_next(const fcpu_plan *pl, const fcpu_item *it, const fcpu_rows *rows, fcpu_tile *tile);

/* Reads the geometry and lengths, bound-checks the lengths (host memory: a CPU backend),
 * builds the items and resolves the primitives through the cache.  ATTN_OK or an error with
 * msg filled. */
attn_status fcpu_plan_build(fcpu_plan *pl, const attn_problem *p, const fcpu_tunables *tun, int32_t cdt_bf16_native,
                          int32_t threads, fcpu_prim_cache *cache, char *msg, uint32_t msg_cap);
void fcpu_plan_free(fcpu_plan *pl);

#endif
