/* flex-cuda: everything a kernel knows about SPEC.md's visibility rules, score modifiers and
 * dropout, kept apart from the main loops so that another main loop (a Hopper wgmma/TMA one)
 * can reuse it unchanged.  The per-element rules are the shared header code (attn_rules.h,
 * attn_philox.h) compiled for the device: every backend computes the same function.
 *
 * Block sparsity (FlexAttention's idea, computed on the fly instead of from a stored block
 * mask): a block's query rows see keys in a range [lo, hi) (lengths, causal, window and
 * prefix rules are monotone in the query position, so the first and last rows bound it);
 * key tiles outside it are never visited, tiles inside [full_lo, full_hi) are visible to
 * every row and skip the per-element rules, and only the rest ("partial") apply them.
 * Documents refine this per tile through the doc ids of its keys. */
#ifndef FC_MASK_CUH
#define FC_MASK_CUH

#include <attn/plugin/attn_philox.h>
#include <attn/plugin/attn_rules.h>
#include <math.h>

#include "kernels/params.h"

/* Per-batch lengths, clamped to their bounds.  An out-of-range value (which the host could
 * not see: lengths live on the device) raises the error flag instead of reading out of
 * bounds; synchronize() turns it into ATTN_E_INVALID. */
struct fc_batch {
    int b, q_len, kv_len, prefix;
};

__device__ inline fc_batch fc_load_batch(const fc_params &p, int b) {
    int ql = p.q_len ? p.q_len[b * p.q_len_s] : p.Tq;
    int kl = p.kv_len ? p.kv_len[b * p.kv_len_s] : p.Tk;
    int pl = p.prefix_len ? p.prefix_len[b * p.prefix_len_s] : 0;
    if ((ql < 0 || ql > p.Tq || kl < 0 || kl > p.Tk || pl < 0) && p.error_flag && threadIdx.x == 0)
        *(volatile int32_t *)p.error_flag = 1;
    fc_batch bt;
    bt.b = b;
    bt.q_len = ql < 0 ? 0 : (ql > p.Tq ? p.Tq : ql);
    bt.kv_len = kl < 0 ? 0 : (kl > p.Tk ? p.Tk : kl);
    bt.prefix = pl < 0 ? 0 : pl;
    return bt;
}

/* r / p.pack for 0 <= r < 2^31: q = (umulhi(r, mul) + r) >> shift with the host's
 * mul = 2^32 (2^shift - pack) / pack + 1, shift = ceil(log2 pack) (host/plan.cu). */
__device__ inline int fc_div_pack(const fc_params &p, int r) {
    return (int)((__umulhi((uint32_t)r, p.pack_mul) + (uint32_t)r) >> p.pack_shift);
}

/* Packed row r is a row of the problem, 0 <= r < pack * Tq, in one unsigned comparison: the
 * persistent kernel's first item under causality starts below row 0 (kernels/persistent_ws.cuh). */
__device__ inline bool fc_row_in_problem(const fc_params &p, int r) { return (uint32_t)r < (uint32_t)(p.pack * p.Tq); }

/* One packed query row: its position, head, validity and the per-row parameters the rules
 * and modifiers read. */
struct fc_row {
    int i, hq, pos, valid, doc;
    float slope;
};

__device__ inline fc_row fc_make_row(const fc_params &p, const fc_batch &bt, int head_block, int r) {
    fc_row row;
    row.i = fc_div_pack(p, r);
    row.hq = head_block * p.pack + r - row.i * p.pack;
    row.valid = fc_row_in_problem(p, r) && row.i < bt.q_len;
    row.pos = bt.kv_len - bt.q_len + row.i;
    row.doc = (p.doc_q && row.valid) ? p.doc_q[bt.b * p.doc_qs[0] + row.i * p.doc_qs[1]] : 0;
    row.slope = (p.modifier == ATTN_MOD_ALIBI && row.valid) ? p.alibi[row.hq * p.alibi_s] : 0.0f;
    return row;
}

/* Where packed row r reads and writes, without the per-row parameters: for loads. */
__device__ inline bool fc_row_coords(const fc_params &p, const fc_batch &bt, int head_block, int r, int &i, int &hq) {
    i = fc_div_pack(p, r);
    hq = head_block * p.pack + r - i * p.pack;
    return fc_row_in_problem(p, r) && i < bt.q_len;
}

__device__ inline attn_row_mask fc_row_mask(const fc_params &p, const fc_batch &bt, int pos, int doc) {
    attn_row_mask m;
    m.pos = pos;
    m.kv_len = bt.kv_len;
    m.prefix_len = bt.prefix;
    m.causal = p.causal;
    m.window_left = p.window_left;
    m.window_right = p.window_right;
    m.has_docs = p.doc_q != nullptr;
    m.doc_q = doc;
    return m;
}

/* Rules 1-5 of SPEC.md for (row, key j). */
__device__ inline bool fc_visible(const fc_params &p, const fc_batch &bt, const fc_row &row, int j) {
    if (!row.valid) return false;
    attn_row_mask m = fc_row_mask(p, bt, row.pos, row.doc);
    int32_t doc_k = (p.doc_k && j >= 0 && j < p.Tk) ? p.doc_k[bt.b * p.doc_ks[0] + (int64_t)j * p.doc_ks[1]] : 0;
    return attn_key_visible(&m, j, doc_k) != 0;
}

/* With p.dense (kernels/params.h), row i sees keys [0, this): attn_row_key_range's result for
 * those problems in a few instructions (a block's set-up is on its critical path). */
__device__ inline int fc_dense_key_end(const fc_params &p, int i) { return p.causal ? p.Tk - p.Tq + i + 1 : p.Tk; }

/* The keys a row can see under rules 1-3 and 5 (attn_row_key_range): [lo, hi).  Rule 4,
 * documents, is the caller's.  Empty for a padding row. */
__device__ inline void fc_row_keys(const fc_params &p, const fc_batch &bt, const fc_row &row, int &lo, int &hi) {
    lo = hi = 0;
    if (!row.valid) return;
    if (p.dense) {
        hi = fc_dense_key_end(p, row.i);
        return;
    }
    attn_row_mask m = fc_row_mask(p, bt, row.pos, row.doc);
    int64_t l, h;
    attn_row_key_range(&m, &l, &h);
    lo = (int)l;
    hi = (int)h;
}

/* The score modifier of SPEC.md on the scaled score s of (row, key j). */
__device__ inline float fc_modify(const fc_params &p, const fc_batch &bt, const fc_row &row, int j, float s) {
    float param = 0.0f;
    if (p.modifier == ATTN_MOD_SOFTCAP)
        param = p.softcap;
    else if (p.modifier == ATTN_MOD_ALIBI)
        param = row.slope;
    else if (p.modifier == ATTN_MOD_SYNAPTIC && row.valid && j < p.Tk)
        param = p.syn_w[bt.b * p.syn_ws[0] + row.hq * p.syn_ws[1] + (int64_t)j * p.syn_ws[2]];
    return attn_modify_scoref(p.modifier, s, param, fabsf((float)(row.pos - j)), (float)bt.kv_len, p.syn_lambda,
                              p.syn_eps, p.syn_beta);
}

/* The dropout factor of (row, key j): 0 or 1 / (1 - p). */
__device__ inline float fc_dropout(const fc_params &p, const fc_batch &bt, const fc_row &row, int j) {
    return attn_dropout_keep(p.drop_seed, p.drop_offset, bt.b, row.hq, p.Hq, row.pos, j, p.drop_threshold)
               ? p.drop_scale
               : 0.0f;
}

/* The keys a group of packed rows [r0, r0 + rows) can see, and the keys every one of its valid
 * rows sees (documents aside), within the split's keys [key_begin, key_end). */
struct fc_range {
    int lo, hi;           /* union: keys outside are never visible */
    int full_lo, full_hi; /* intersection */
};

__device__ inline fc_range fc_rows_range(const fc_params &p, const fc_batch &bt, int r0, int rows, int key_begin,
                                         int key_end) {
    fc_range out = {0, 0, 0, 0};
    int total = p.pack * p.Tq;
    int r_end = r0 + rows < total ? r0 + rows : total;
    if (r0 >= r_end) return out;
    int i_first = fc_div_pack(p, r0), i_last = fc_div_pack(p, r_end - 1);
    if (i_last > bt.q_len - 1) i_last = bt.q_len - 1;
    if (i_first > i_last) return out;
    int64_t lo_first, hi_first, lo_last, hi_last;
    if (p.dense) {
        lo_first = lo_last = 0;
        hi_first = fc_dense_key_end(p, i_first);
        hi_last = fc_dense_key_end(p, i_last);
    } else { /* Documents do not change the ranges: they only mask inside them. */
        attn_row_mask first = fc_row_mask(p, bt, bt.kv_len - bt.q_len + i_first, 0);
        attn_row_mask last = fc_row_mask(p, bt, bt.kv_len - bt.q_len + i_last, 0);
        attn_row_key_range(&first, &lo_first, &hi_first);
        attn_row_key_range(&last, &lo_last, &hi_last);
    }
    int64_t lo = lo_first > key_begin ? lo_first : key_begin;
    int64_t hi = hi_last < key_end ? hi_last : key_end;
    if (hi <= lo) return out; /* nothing in this split: an empty range, not one past its end */
    out.lo = (int)lo;
    out.hi = (int)hi;
    out.full_lo = (int)lo_last;
    out.full_hi = (int)hi_first;
    return out;
}

/* Documents: the smallest and largest doc id of the block's valid rows, for the per-tile
 * test.  Collective over the block; `scratch` is two ints of shared memory. */
__device__ inline void fc_doc_bounds(const fc_params &p, const fc_batch &bt, int head_block, int r0, int rows,
                                     int *scratch, int &doc_min, int &doc_max) {
    doc_min = 0;
    doc_max = -1;
    if (!p.doc_q) return;
    if (threadIdx.x == 0) {
        scratch[0] = 0x7fffffff;
        scratch[1] = (int)0x80000000;
    }
    __syncthreads();
    for (int t = threadIdx.x; t < rows; t += blockDim.x) {
        fc_row row = fc_make_row(p, bt, head_block, r0 + t);
        if (row.valid) {
            atomicMin(&scratch[0], row.doc);
            atomicMax(&scratch[1], row.doc);
        }
    }
    __syncthreads();
    doc_min = scratch[0];
    doc_max = scratch[1];
    __syncthreads();
}

/* What one key tile is for a group of rows. */
#define FC_TILE_EMPTY 0
#define FC_TILE_PARTIAL 1
#define FC_TILE_FULL 2

/* Walks the key tiles of one stream of work (a group of threads that loads and consumes the
 * same tiles: the whole block, or one warp of a key-split block).  Sync provides the
 * stream's barrier-reductions any()/all() that the document test needs. */
template <int BN, class Sync>
struct fc_walker {
    int t_end, step;
    fc_range range;
    int doc_min, doc_max;

    /* Class of tile t (collective over the stream when there are documents). */
    __device__ int classify(const fc_params &p, const fc_batch &bt, int t, int lane_in_stream, int stream_threads) const {
        int n0 = t * BN;
        bool full = n0 >= range.full_lo && n0 + BN <= range.full_hi;
        if (!p.doc_k) return full ? FC_TILE_FULL : FC_TILE_PARTIAL;
        /* Keys of the tile that some row may see: is any in [doc_min, doc_max]; are all the one doc? */
        bool any = false, all = doc_min == doc_max;
        for (int c = lane_in_stream; c < BN; c += stream_threads) {
            int j = n0 + c;
            if (j < range.lo || j >= range.hi) {
                all = false;
                continue;
            }
            int d = p.doc_k[bt.b * p.doc_ks[0] + (int64_t)j * p.doc_ks[1]];
            any = any || (d >= doc_min && d <= doc_max);
            all = all && d == doc_min;
        }
        if (!Sync::any(any)) return FC_TILE_EMPTY;
        return (full && Sync::all(all)) ? FC_TILE_FULL : FC_TILE_PARTIAL;
    }

    /* The first non-empty tile at or after t in this stream (t_end when none), with its class. */
    __device__ int next(const fc_params &p, const fc_batch &bt, int t, int lane_in_stream, int stream_threads,
                        int &cls) const {
        for (; t < t_end; t += step) {
            cls = classify(p, bt, t, lane_in_stream, stream_threads);
            if (cls != FC_TILE_EMPTY) return t;
        }
        cls = FC_TILE_EMPTY;
        return t_end;
    }
};

/* Barrier flavours for fc_walker and the main loops. */
struct fc_sync_block {
    __device__ static void sync() { __syncthreads(); }
    __device__ static bool any(bool x) { return __syncthreads_or(x) != 0; }
    __device__ static bool all(bool x) { return __syncthreads_and(x) != 0; }
};
struct fc_sync_warp {
    __device__ static void sync() { __syncwarp(); }
    __device__ static bool any(bool x) { return __any_sync(0xffffffffu, x) != 0; }
    __device__ static bool all(bool x) { return __all_sync(0xffffffffu, x) != 0; }
};

#endif
