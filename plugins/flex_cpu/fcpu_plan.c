#include "fcpu_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cpu_lengths.h"
#include "fcpu_tiles.h"

static fcpu_view view_of(const DLTensor *t) {
    fcpu_view v = {0};
    if (!attn_tensor_present(t)) return v;
    v.base = (char *)t->data + t->byte_offset;
    for (int32_t d = 0; d < t->ndim && d < 4; ++d) v.stride[d] = t->strides[d];
    return v;
}

static int32_t load_i32(const fcpu_view *v, int64_t i0, int64_t i1) {
    return *(const int32_t *)(v->base + (i0 * v->stride[0] + i1 * v->stride[1]) * 4);
}

void fcpu_plan_row_masks(const fcpu_plan *pl, const attn_problem *p, int64_t b, int64_t i0, int64_t nq, attn_row_mask *mask) {
    int64_t q_len = pl->q_len[b], kv_len = pl->kv_len[b];
    for (int64_t t = 0; t < nq; ++t) {
        attn_row_mask *m = &mask[t];
        m->pos = attn_query_pos(i0 + t, q_len, kv_len);
        m->kv_len = kv_len;
        m->prefix_len = pl->prefix_len ? pl->prefix_len[b] : 0;
        m->causal = p->causal;
        m->window_left = p->window_left;
        m->window_right = p->window_right;
        m->has_docs = pl->has_docs;
        m->doc_q = pl->has_docs ? load_i32(&pl->doc_q, b, i0 + t) : 0;
    }
}

/* Host copies of the per-batch lengths, bound-checked first (plugins/common/cpu_lengths.h):
 * they are host memory for a CPU backend and index K, V and O below. */
static attn_status read_lengths(fcpu_plan *pl, const attn_problem *p, char *msg, uint32_t msg_cap) {
    attn_status st = cpu_check_lengths(p, msg, msg_cap);
    if (st != ATTN_OK) return st;
    size_t bytes = sizeof(int64_t) * (size_t)(pl->B > 0 ? pl->B : 1);
    pl->q_len = malloc(bytes);
    pl->kv_len = malloc(bytes);
    pl->prefix_len = attn_tensor_present(&p->prefix_len) ? malloc(bytes) : NULL;
    if (!pl->q_len || !pl->kv_len || (attn_tensor_present(&p->prefix_len) && !pl->prefix_len)) {
        snprintf(msg, msg_cap, "out of memory for %lld lengths", (long long)pl->B);
        return ATTN_E_NOMEM;
    }
    for (int64_t b = 0; b < pl->B; ++b) {
        pl->q_len[b] = cpu_per_batch(&p->q_len, b, pl->Tq);
        pl->kv_len[b] = cpu_per_batch(&p->kv_len, b, pl->Tk);
        if (pl->prefix_len) {
            int64_t f = cpu_per_batch(&p->prefix_len, b, 0);
            if (f < 0) {
                snprintf(msg, msg_cap, "batch %lld: prefix_len %lld is negative", (long long)b, (long long)f);
                return ATTN_E_INVALID;
            }
            pl->prefix_len[b] = f;
        }
    }
    return ATTN_OK;
}

static int by_cost_desc(const void *a, const void *b) {
    double ca = ((const fcpu_item *)a)->cost, cb = ((const fcpu_item *)b)->cost;
    return ca < cb ? 1 : ca > cb ? -1 : 0;
}

/* One item per (batch, query tile, kv head); their key spans from the row masks. */
static attn_status make_items(fcpu_plan *pl, const attn_problem *p, char *msg, uint32_t msg_cap) {
    int64_t count = 0, R = pl->rows_per_tile;
    for (int64_t b = 0; b < pl->B; ++b) count += (pl->q_len[b] + R - 1) / R * pl->Hkv;
    pl->items = malloc(sizeof(fcpu_item) * (size_t)(count > 0 ? count : 1));
    attn_row_mask *mask = malloc(sizeof(attn_row_mask) * (size_t)R);
    int64_t *lo = malloc(sizeof(int64_t) * (size_t)R), *hi = malloc(sizeof(int64_t) * (size_t)R);
    if (!pl->items || !mask || !lo || !hi) {
        free(mask), free(lo), free(hi);
        snprintf(msg, msg_cap, "out of memory for %lld work items", (long long)count);
        return ATTN_E_NOMEM;
    }
    for (int64_t b = 0; b < pl->B; ++b) {
        for (int64_t i0 = 0; i0 < pl->q_len[b]; i0 += R) {
            int64_t nq = pl->q_len[b] - i0 < R ? pl->q_len[b] - i0 : R;
            fcpu_plan_row_masks(pl, p, b, i0, nq, mask);
            fcpu_rows rows = {nq, mask, NULL, NULL, pl->has_docs, 0, 0, 0, 0, 0, 0};
            fcpu_rows_prepare(&rows, lo, hi);
            for (int64_t hkv = 0; hkv < pl->Hkv; ++hkv) {
                fcpu_item *it = &pl->items[pl->n_items++];
                it->b = b;
                it->hkv = hkv;
                it->i0 = i0;
                it->nq = nq;
                it->kv_lo = rows.span_lo;
                it->kv_hi = rows.span_hi;
                it->piece = -1;
                it->cost = (double)(pl->group * nq) * (double)(it->kv_hi - it->kv_lo + pl->D);
            }
        }
    }
    free(mask), free(lo), free(hi);
    return ATTN_OK;
}

/* Decode has few items and long key ranges: with fewer than four items per thread, long
 * ranges are cut into pieces of at least four tiles each, merged after the loop. */
static attn_status split_items(fcpu_plan *pl, char *msg, uint32_t msg_cap) {
    int64_t want = 4 * (int64_t)pl->threads;
    if (pl->threads <= 1 || pl->n_items == 0 || pl->n_items >= want) return ATTN_OK;
    int64_t per_item = (want + pl->n_items - 1) / pl->n_items, total = 0;
    for (int64_t n = 0; n < pl->n_items; ++n) {
        int64_t tiles = (pl->items[n].kv_hi - pl->items[n].kv_lo + pl->kv_tile - 1) / pl->kv_tile;
        int64_t parts = tiles / 4 < per_item ? tiles / 4 : per_item;
        total += parts > 1 ? parts : 1;
    }
    if (total == pl->n_items) return ATTN_OK;
    fcpu_item *items = malloc(sizeof(fcpu_item) * (size_t)total);
    fcpu_merge *merges = malloc(sizeof(fcpu_merge) * (size_t)pl->n_items);
    if (!items || !merges) {
        free(items), free(merges);
        snprintf(msg, msg_cap, "out of memory splitting %lld work items", (long long)pl->n_items);
        return ATTN_E_NOMEM;
    }
    int64_t out = 0;
    for (int64_t n = 0; n < pl->n_items; ++n) {
        const fcpu_item *whole = &pl->items[n];
        int64_t tiles = (whole->kv_hi - whole->kv_lo + pl->kv_tile - 1) / pl->kv_tile;
        int64_t parts = tiles / 4 < per_item ? tiles / 4 : per_item;
        if (parts <= 1) {
            items[out++] = *whole;
            continue;
        }
        int64_t per_part = (tiles + parts - 1) / parts * pl->kv_tile;
        fcpu_merge *mg = &merges[pl->n_merges++];
        mg->whole = *whole;
        mg->first = pl->n_pieces;
        mg->count = 0;
        for (int64_t lo = whole->kv_lo; lo < whole->kv_hi; lo += per_part) {
            fcpu_item *it = &items[out++];
            *it = *whole;
            it->kv_lo = lo;
            it->kv_hi = lo + per_part < whole->kv_hi ? lo + per_part : whole->kv_hi;
            it->piece = pl->n_pieces++;
            it->cost = (double)(pl->group * whole->nq) * (double)(it->kv_hi - it->kv_lo + pl->D);
            mg->count++;
        }
    }
    free(pl->items);
    pl->items = items;
    pl->n_items = out;
    pl->merges = merges;
    return ATTN_OK;
}

/* Heads whose K and V serve at least two query tiles are prepared once (fcpu_plan.h). */
static attn_status plan_prepared(fcpu_plan *pl, char *msg, uint32_t msg_cap) {
    pl->prep_off = malloc(sizeof(int64_t) * (size_t)(pl->B > 0 ? pl->B : 1));
    if (!pl->prep_off) {
        snprintf(msg, msg_cap, "out of memory");
        return ATTN_E_NOMEM;
    }
    int64_t max_kv = 0;
    for (int64_t b = 0; b < pl->B; ++b) max_kv = pl->kv_len[b] > max_kv ? pl->kv_len[b] : max_kv;
    if (pl->amx != FCPU_AMX_NONE) {
        /* Tiles of AMX items start at multiples of 16 keys, so the last ends at kv_len
         * rounded up to 16, and P.V's last step of FCPU_AMX_K keys reaches 16 keys past that:
         * zeros, all inside kv_len rounded up to 32 plus 32. */
        pl->prep_tk = fcpu_amx_pad(max_kv) + FCPU_AMX_K;
        pl->prep_block = pl->prep_tk * (fcpu_amx_pad(pl->D) + fcpu_amx_pad(pl->Dv)) * 2;
        pl->prep_parts = (pl->prep_tk + FCPU_AMX_PREP_KEYS - 1) / FCPU_AMX_PREP_KEYS;
    } else {
        pl->prep_parts = 1;
        /* Tiles start anywhere (windows) and round their key count up to FCPU_GRAN: one more
         * granule of zeros keeps every tile inside the buffer. */
        pl->prep_tk = (max_kv + FCPU_GRAN - 1) / FCPU_GRAN * FCPU_GRAN + FCPU_GRAN;
        pl->prep_block = pl->prep_tk * (pl->D + (pl->kv_direct ? 0 : pl->Dv)) * (pl->cdt == FCPU_CDT_BF16 ? 2 : 4);
    }
    int64_t bytes = 0;
    for (int64_t b = 0; b < pl->B; ++b) {
        int reused = pl->q_len[b] > pl->rows_per_tile && pl->kv_len[b] > 0;
        pl->prep_off[b] = reused ? bytes : -1;
        if (reused) {
            bytes += pl->prep_block * pl->Hkv;
            pl->prep_heads += pl->Hkv;
        }
    }
    pl->prep_bytes = bytes; /* the caller lends the buffer (fcpu_plan.prep) */
    (void)msg;
    (void)msg_cap;
    return ATTN_OK;
}

void fcpu_item_rows(const fcpu_plan *pl, const attn_problem *p, const fcpu_item *it, attn_row_mask *mask, int64_t *lo,
                  int64_t *hi, fcpu_rows *rows) {
    fcpu_plan_row_masks(pl, p, it->b, it->i0, it->nq, mask);
    memset(rows, 0, sizeof *rows);
    rows->count = it->nq;
    rows->mask = mask;
    rows->has_docs = pl->has_docs;
    fcpu_rows_prepare(rows, lo, hi);
    fcpu_rows_clip(rows, it->kv_lo, it->kv_hi); /* a split piece sees only its own keys */
}

int fcpu_tile_next(const fcpu_plan *pl, const fcpu_item *it, const fcpu_rows *rows, fcpu_tile *tile) {
    int64_t j0 = tile->j0 + tile->n;
    if (j0 >= it->kv_hi) return 0;
    const int64_t edge = fcpu_item_amx(pl, it) ? pl->edge_tile_amx : pl->edge_tile;
    int has_full = rows->full_lo < rows->full_hi;
    int64_t w;
    /* A sliver of the fully seen keys (less than an edge tile) joins the edge instead of
     * making a narrow matmul of its own. */
    if (has_full && j0 >= rows->full_lo && rows->full_hi - j0 >= edge) {
        /* Whole granules only: the causal diagonal puts full_hi one key past a multiple of
         * the query tile, and rounding those 1 + 256 keys up made a partial tile of 272 keys
         * (masked, and under AMX its P copied to whole 32-key steps); the key left over
         * starts the edge instead. */
        w = rows->full_hi - j0 < pl->kv_tile ? rows->full_hi - j0 : pl->kv_tile;
        w = w / FCPU_GRAN * FCPU_GRAN;
    } else if (has_full && j0 < rows->full_lo)
        w = rows->full_lo - j0 < edge ? rows->full_lo - j0 : edge;
    else
        w = edge;
    if (w > it->kv_hi - j0) w = it->kv_hi - j0;
    int64_t n = (w + FCPU_GRAN - 1) / FCPU_GRAN * FCPU_GRAN;
    tile->j0 = j0;
    tile->n = n < pl->kv_tile ? n : pl->kv_tile;
    int64_t j1 = j0 + tile->n < it->kv_hi ? j0 + tile->n : it->kv_hi, first, last;
    fcpu_rows_meeting(rows, j0, j1, &first, &last);
    if (first > last) {
        tile->r0 = tile->m = tile->t0 = 0;
        tile->t1 = -1;
    } else {
        /* The block of rows of those positions, widened to the granularity. */
        int64_t M = pl->group * rows->count, r0 = first * pl->group / FCPU_GRAN * FCPU_GRAN;
        int64_t r1 = ((last + 1) * pl->group + FCPU_GRAN - 1) / FCPU_GRAN * FCPU_GRAN;
        if (r1 > M) r1 = M;
        tile->r0 = r0;
        tile->m = r1 - r0;
        tile->t0 = r0 / pl->group;
        tile->t1 = (r1 - 1) / pl->group;
    }
    int in_place = pl->kv_direct && j0 + tile->n <= pl->kv_len[it->b];
    if (pl->prep_off[it->b] >= 0 && pl->amx == FCPU_AMX_NONE) /* AMX packs are not K^T */
        tile->src = in_place ? FCPU_SRC_PREPARED_K : FCPU_SRC_PREPARED;
    else
        tile->src = in_place ? FCPU_SRC_DIRECT : FCPU_SRC_STAGED;
    return 1;
}

/* Walks every item's tiles as the loop will, twice: first to learn the row counts in use,
 * then to create each primitive met (mark_only = 0). */
static attn_status walk_tiles(fcpu_plan *pl, const attn_problem *p, fcpu_prim_cache *cache, int mark_only, char *msg,
                              uint32_t msg_cap) {
    attn_row_mask *mask = malloc(sizeof(attn_row_mask) * (size_t)pl->nq_max);
    int64_t *lo = malloc(sizeof(int64_t) * (size_t)pl->nq_max), *hi = malloc(sizeof(int64_t) * (size_t)pl->nq_max);
    attn_status st = ATTN_OK;
    if (!mask || !lo || !hi) {
        snprintf(msg, msg_cap, "out of memory walking the tiles");
        st = ATTN_E_NOMEM;
    }
    for (int64_t n = 0; n < pl->n_items && st == ATTN_OK; ++n) {
        const fcpu_item *it = &pl->items[n];
        if (fcpu_item_native(pl, it) || fcpu_item_amx(pl, it)) continue; /* no oneDNN products */
        fcpu_rows rows;
        fcpu_item_rows(pl, p, it, mask, lo, hi, &rows);
        fcpu_tile tile = {it->kv_lo, 0, 0, 0, 0, 0, 0};
        while (st == ATTN_OK && fcpu_tile_next(pl, it, &rows, &tile)) {
            if (tile.m == 0) continue;
            if (mark_only) {
                pl->m_slot[tile.m] = 0;
                continue;
            }
            int64_t slot = fcpu_prim_index(pl, tile.m, tile.n, tile.src, FCPU_OP_QK);
            if (pl->prims[slot]) continue;
            fcpu_prim_key qk = {FCPU_OP_QK, pl->cdt, tile.m, tile.n, pl->D, pl->D, 0};
            fcpu_prim_key pv = {FCPU_OP_PV, pl->cdt, tile.m, pl->Dv, tile.n, pl->Dv, 0};
            if (tile.src == FCPU_SRC_DIRECT) {
                qk.ldb = pl->k.stride[2];
                pv.ldb = pl->v.stride[2];
            } else if (tile.src == FCPU_SRC_PREPARED || tile.src == FCPU_SRC_PREPARED_K) {
                qk.ldb = pl->prep_tk;
                qk.k_transposed = 1;
                if (tile.src == FCPU_SRC_PREPARED_K) pv.ldb = pl->v.stride[2];
            }
            for (int op = 0; op < 2 && st == ATTN_OK; ++op) {
                pl->prims[slot + op] = fcpu_prim_get(cache, op == 0 ? &qk : &pv, msg, msg_cap);
                if (!pl->prims[slot + op])
                    st = ATTN_E_INTERNAL;
                else if (pl->prims[slot + op]->scratch_bytes > pl->scratch_max)
                    pl->scratch_max = pl->prims[slot + op]->scratch_bytes;
            }
        }
    }
    free(mask), free(lo), free(hi);
    return st;
}

static attn_status resolve_prims(fcpu_plan *pl, const attn_problem *p, fcpu_prim_cache *cache, char *msg,
                                 uint32_t msg_cap) {
    pl->m_slot = malloc(sizeof(int32_t) * (size_t)(pl->m_max + 1));
    if (!pl->m_slot) {
        snprintf(msg, msg_cap, "out of memory for the primitive table");
        return ATTN_E_NOMEM;
    }
    for (int64_t m = 0; m <= pl->m_max; ++m) pl->m_slot[m] = -1;
    attn_status st = walk_tiles(pl, p, cache, 1, msg, msg_cap);
    if (st != ATTN_OK) return st;
    for (int64_t m = 0; m <= pl->m_max; ++m)
        if (pl->m_slot[m] == 0) pl->m_slot[m] = pl->n_m_slots++;
    pl->n_prims = (int64_t)pl->n_m_slots * pl->n_count * FCPU_SRC_COUNT * 2;
    pl->prims = calloc((size_t)(pl->n_prims > 0 ? pl->n_prims : 1), sizeof *pl->prims);
    if (!pl->prims) {
        snprintf(msg, msg_cap, "out of memory for the primitive table");
        return ATTN_E_NOMEM;
    }
    return walk_tiles(pl, p, cache, 0, msg, msg_cap);
}

attn_status fcpu_plan_build(fcpu_plan *pl, const attn_problem *p, const fcpu_tunables *tun, int32_t cdt_bf16_native,
                          int32_t threads, fcpu_prim_cache *cache, char *msg, uint32_t msg_cap) {
    memset(pl, 0, sizeof *pl);
    pl->B = p->q.shape[0];
    pl->Hq = p->q.shape[1];
    pl->Tq = p->q.shape[2];
    pl->D = p->q.shape[3];
    pl->Hkv = p->k.shape[1];
    pl->Tk = p->k.shape[2];
    pl->Dv = p->v.shape[3];
    pl->group = pl->Hq / pl->Hkv;
    pl->threads = threads;
    pl->dtype = p->q.dtype.bits == 32 ? FCPU_DT_F32 : p->q.dtype.code == kDLBfloat ? FCPU_DT_BF16 : FCPU_DT_F16;
    /* float16 has no matmul on CPUs without AVX512-FP16 in oneDNN 2.6: its tiles are widened
     * to float32 (exact).  bfloat16 runs natively where the CPU has AVX512-BF16. */
    pl->cdt = pl->dtype == FCPU_DT_BF16 && cdt_bf16_native ? FCPU_CDT_BF16 : FCPU_CDT_F32;
    pl->q = view_of(&p->q);
    pl->k = view_of(&p->k);
    pl->v = view_of(&p->v);
    pl->o = view_of(&p->o);
    pl->lse = view_of(&p->lse);
    pl->has_lse = attn_tensor_present(&p->lse);
    pl->has_docs = attn_tensor_present(&p->doc_q);
    pl->doc_q = view_of(&p->doc_q);
    pl->doc_k = view_of(&p->doc_k);
    int same_type = (pl->dtype == FCPU_DT_F32 && pl->cdt == FCPU_CDT_F32) || (pl->dtype == FCPU_DT_BF16 && pl->cdt == FCPU_CDT_BF16);
    pl->kv_direct = same_type && pl->k.stride[3] == 1 && pl->v.stride[3] == 1 && pl->k.stride[2] >= pl->D &&
                    pl->v.stride[2] >= pl->Dv;

    attn_status st = read_lengths(pl, p, msg, msg_cap);
    if (st != ATTN_OK) return st;
    int64_t max_kv = 0;
    for (int64_t b = 0; b < pl->B; ++b) max_kv = pl->kv_len[b] > max_kv ? pl->kv_len[b] : max_kv;
    /* No tile wider than the longest cache needs (rounded up to the granularity). */
    int64_t kv_need = (max_kv + FCPU_GRAN - 1) / FCPU_GRAN * FCPU_GRAN;
    if (kv_need < FCPU_GRAN) kv_need = FCPU_GRAN;
    pl->kv_tile = tun->kv_tile < kv_need ? tun->kv_tile : kv_need;
    pl->edge_tile = tun->edge_tile < pl->kv_tile ? tun->edge_tile : pl->kv_tile;
    pl->edge_tile_amx = tun->edge_tile_amx < pl->kv_tile ? tun->edge_tile_amx : pl->kv_tile;
    pl->n_count = pl->kv_tile / FCPU_GRAN;
    pl->rows_per_tile = tun->q_tile / pl->group > 1 ? tun->q_tile / pl->group : 1;
    if (pl->Tq > 0 && pl->rows_per_tile > pl->Tq) pl->rows_per_tile = pl->Tq;
    pl->nq_max = pl->rows_per_tile;
    pl->m_max = pl->group * pl->rows_per_tile;
    pl->native_m_max = tun->small_m == FCPU_SMALL_M_NATIVE ? FCPU_NATIVE_MAX_M : 0;
    pl->amx = pl->cdt == FCPU_CDT_BF16 ? tun->amx : FCPU_AMX_NONE;

    st = make_items(pl, p, msg, msg_cap);
    if (st == ATTN_OK && tun->split) st = split_items(pl, msg, msg_cap);
    if (st == ATTN_OK) qsort(pl->items, (size_t)pl->n_items, sizeof *pl->items, by_cost_desc);
    if (st == ATTN_OK) st = plan_prepared(pl, msg, msg_cap);
    if (st == ATTN_OK) st = resolve_prims(pl, p, cache, msg, msg_cap);
    return st;
}

void fcpu_plan_free(fcpu_plan *pl) {
    free(pl->q_len);
    free(pl->kv_len);
    free(pl->prefix_len);
    free(pl->items);
    free(pl->merges);
    free(pl->m_slot);
    free((void *)pl->prims);
    free(pl->prep_off);
    memset(pl, 0, sizeof *pl);
}
