#include "fcpu_attend.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcpu_io.h"
#include "fcpu_tiles.h"

static void *alloc64(int64_t bytes) {
    size_t n = (size_t)((bytes + 63) / 64 * 64);
    return aligned_alloc(64, n ? n : 64);
}

int fcpu_thread_init(fcpu_thread *th, const fcpu_plan *pl, dnnl_engine_t engine, char *msg, size_t msg_cap) {
    memset(th, 0, sizeof *th);
    int64_t M = pl->m_max, N = pl->kv_tile, ce = fcpu_cdt_size(pl->cdt);
    /* Native items (fcpu_native.h) keep Q (rows padded to whole vectors), P and staged K / V
     * in float32 whatever the compute dtype. */
    int64_t q_bytes = M * pl->D * ce, q_native = M * fcpu_native_q_ld(pl->D) * 4;
    if (pl->amx != FCPU_AMX_NONE && M * fcpu_amx_pad(pl->D) * 2 > q_bytes) q_bytes = M * fcpu_amx_pad(pl->D) * 2;
    th->execs = calloc((size_t)(pl->n_prims > 0 ? pl->n_prims : 1), sizeof *th->execs);
    th->scratch = alloc64((int64_t)pl->scratch_max);
    th->qp = alloc64(q_bytes > q_native ? q_bytes : q_native);
    th->p = alloc64(M * N * 4);
    th->kst = alloc64(N * pl->D * 4);
    th->vst = alloc64(N * pl->Dv * 4);
    th->s = alloc64(M * N * 4);
    th->o = alloc64(M * pl->Dv * 4);
    th->m = alloc64(M * 4);
    th->l = alloc64(M * 4);
    th->doc_k = alloc64(N * 4);
    th->mask = alloc64(pl->nq_max * (int64_t)sizeof(attn_row_mask));
    th->lo = alloc64(pl->nq_max * 8);
    th->hi = alloc64(pl->nq_max * 8);
    if (pl->amx != FCPU_AMX_NONE && !(th->pst = alloc64(M * (N + FCPU_AMX_K) * 2))) {
        snprintf(msg, msg_cap, "out of memory for a thread's tiles (M %lld, N %lld)", (long long)M, (long long)N);
        return -1;
    }
    if (!th->execs || !th->scratch || !th->qp || !th->p || !th->kst || !th->vst || !th->s || !th->o || !th->m ||
        !th->l || !th->doc_k || !th->mask || !th->lo || !th->hi) {
        snprintf(msg, msg_cap, "out of memory for a thread's tiles (M %lld, N %lld)", (long long)M, (long long)N);
        return -1;
    }
    dnnl_status_t st = dnnl_stream_create(&th->stream, engine, dnnl_stream_default_flags);
    if (st != dnnl_success) {
        snprintf(msg, msg_cap, "oneDNN stream: %s", fcpu_dnnl_status_text(st));
        return (int)st;
    }
    for (int64_t n = 0; n < pl->n_prims; ++n) {
        if (!pl->prims[n]) continue;
        int rc = fcpu_exec_init(&th->execs[n], pl->prims[n], engine, th->scratch);
        if (rc) {
            snprintf(msg, msg_cap, "oneDNN memory objects: %s", fcpu_dnnl_status_text((dnnl_status_t)rc));
            return rc;
        }
    }
    return 0;
}

void fcpu_thread_free(fcpu_thread *th, const fcpu_plan *pl) {
    if (th->execs)
        for (int64_t n = 0; n < pl->n_prims; ++n)
            if (th->execs[n].p) fcpu_exec_destroy(&th->execs[n]);
    if (th->stream) dnnl_stream_destroy(th->stream);
    free(th->execs);
    free(th->scratch);
    free(th->qp);
    free(th->p);
    free(th->kst);
    free(th->vst);
    free(th->s);
    free(th->o);
    free(th->m);
    free(th->l);
    free(th->doc_k);
    free(th->mask);
    free(th->lo);
    free(th->hi);
    free(th->pst);
    memset(th, 0, sizeof *th);
}

static char *elem4(const fcpu_view *v, int64_t a, int64_t b, int64_t c, int64_t d, int64_t size) {
    return v->base + (a * v->stride[0] + b * v->stride[1] + c * v->stride[2] + d * v->stride[3]) * size;
}

/* Rows [j0, j0 + n) of K (when k_too) and V for head hkv of batch b, widened to the compute
 * dtype, with zeros from kv_len on: keys past kv_len may hold anything (a cache's unwritten
 * tail, NaN), and a zero probability times NaN would still be NaN in P.V. */
static void stage_kv(const fcpu_plan *pl, fcpu_thread *th, int64_t b, int64_t hkv, int64_t j0, int64_t n, int k_too) {
    int64_t ce = fcpu_cdt_size(pl->cdt), in = fcpu_dtype_size(pl->dtype);
    int64_t valid = pl->kv_len[b] - j0;
    if (valid > n) valid = n;
    if (valid < 0) valid = 0;
    for (int64_t c = 0; c < valid; ++c) {
        if (k_too)
            fcpu_load_row(elem4(&pl->k, b, hkv, j0 + c, 0, in), pl->k.stride[3], pl->D, pl->dtype, pl->cdt,
                        (char *)th->kst + c * pl->D * ce);
        fcpu_load_row(elem4(&pl->v, b, hkv, j0 + c, 0, in), pl->v.stride[3], pl->Dv, pl->dtype, pl->cdt,
                    (char *)th->vst + c * pl->Dv * ce);
    }
    if (k_too) memset((char *)th->kst + valid * pl->D * ce, 0, (size_t)((n - valid) * pl->D * ce));
    memset((char *)th->vst + valid * pl->Dv * ce, 0, (size_t)((n - valid) * pl->Dv * ce));
}

/* Rows [j0, j0 + rows) of K or V (view) of head hkv of batch b as contiguous bfloat16 rows of
 * width elements: in place when they are (the row stride returned in *ld), else copied into
 * buf.  AMX runs only on bfloat16 problems, so there is nothing to convert. */
static const uint16_t *bf16_rows(const fcpu_plan *pl, const fcpu_view *view, int64_t b, int64_t hkv, int64_t j0, int64_t rows,
                                 int64_t width, uint16_t *buf, int64_t *ld) {
    const char *first = elem4(view, b, hkv, j0, 0, 2);
    if (view->stride[3] == 1) {
        *ld = view->stride[2];
        return (const uint16_t *)first;
    }
    for (int64_t r = 0; r < rows; ++r)
        fcpu_load_row(first + r * view->stride[2] * 2, view->stride[3], width, pl->dtype, pl->cdt, buf + r * width);
    *ld = width;
    return buf;
}

/* Keys [j0, j1) of the AMX packs of a prepared head (fcpu_plan.h, fcpu_amx.h), j0 a multiple of
 * 16: 16 keys at a time, so that rows which need gathering go through the thread's staging
 * tiles; zeros from kv_len on (keys past it may hold anything, NaN included, and P.V
 * multiplies them by zero probabilities). */
static void prepare_head_amx(const fcpu_plan *pl, fcpu_thread *th, int64_t b, int64_t hkv, int64_t j0, int64_t j1) {
    const int64_t tk = pl->prep_tk, dp = fcpu_amx_pad(pl->D), dvp = fcpu_amx_pad(pl->Dv);
    const int64_t kv_end = pl->kv_len[b] < j1 ? pl->kv_len[b] : j1; /* keys of the part that exist */
    uint16_t *kp = (uint16_t *)(pl->prep + pl->prep_off[b] + hkv * pl->prep_block), *vp = kp + dp * tk;
    for (int64_t j = j0; j < kv_end; j += 16) {
        int64_t rows = kv_end - j < 16 ? kv_end - j : 16, ld;
        const uint16_t *k = bf16_rows(pl, &pl->k, b, hkv, j, rows, pl->D, th->kst, &ld);
        fcpu_amx_pack_k_rows(k, ld, j, rows, pl->D, kp);
        const uint16_t *v = bf16_rows(pl, &pl->v, b, hkv, j, rows, pl->Dv, th->vst, &ld);
        fcpu_amx_pack_v_rows(v, ld, j, rows, pl->Dv, vp); /* an odd kv_len's last pair gets its zero */
    }
    const int64_t z0 = kv_end > j0 ? kv_end : j0; /* first key of the part to zero */
    if (z0 >= j1) return;
    fcpu_amx_zero_k(z0, j1, pl->D, kp);
    const int64_t p0 = (z0 + 1) / 2; /* pairs wholly past kv_len (j1 is even) */
    memset(vp + p0 * dvp * 2, 0, (size_t)((j1 / 2 - p0) * dvp * 4));
}

void fcpu_prepare_head(const fcpu_plan *pl, fcpu_thread *th, int64_t b, int64_t hkv, int64_t part) {
    if (pl->amx != FCPU_AMX_NONE) {
        int64_t j0 = part * FCPU_AMX_PREP_KEYS, j1 = j0 + FCPU_AMX_PREP_KEYS < pl->prep_tk ? j0 + FCPU_AMX_PREP_KEYS : pl->prep_tk;
        prepare_head_amx(pl, th, b, hkv, j0, j1);
        return;
    }
    (void)part; /* one part */
    const int64_t ce = fcpu_cdt_size(pl->cdt), in = fcpu_dtype_size(pl->dtype), tk = pl->prep_tk;
    const int64_t kv_len = pl->kv_len[b], D = pl->D, Dv = pl->Dv;
    char *kt = pl->prep + pl->prep_off[b] + hkv * pl->prep_block, *vp = kt + D * tk * ce;
    /* K^T in blocks of 16 keys: their rows read in place when they already are the compute
     * dtype, else widened into the thread's staging tile first; float32 blocks of 16 x 16
     * go through the vector transpose, the rest (bfloat16, ragged ends) element by element. */
    const int direct = pl->kv_direct;
    for (int64_t j0 = 0; j0 < kv_len; j0 += 16) {
        int64_t rows = kv_len - j0 < 16 ? kv_len - j0 : 16, ld;
        const char *base;
        if (direct) {
            base = elem4(&pl->k, b, hkv, j0, 0, in);
            ld = pl->k.stride[2];
        } else {
            for (int64_t r = 0; r < rows; ++r)
                fcpu_load_row(elem4(&pl->k, b, hkv, j0 + r, 0, in), pl->k.stride[3], D, pl->dtype, pl->cdt,
                            (char *)th->kst + r * D * ce);
            base = th->kst;
            ld = D;
        }
        int64_t d0 = 0;
        if (ce == 4 && rows == 16)
            for (; d0 + 16 <= D; d0 += 16)
                fcpu_transpose16_f32((const float *)base + d0, ld, (float *)kt + d0 * tk + j0, tk);
        for (int64_t d = d0; d < D; ++d)
            for (int64_t r = 0; r < rows; ++r) {
                if (ce == 4)
                    ((float *)kt)[d * tk + j0 + r] = ((const float *)base)[r * ld + d];
                else
                    ((uint16_t *)kt)[d * tk + j0 + r] = ((const uint16_t *)base)[r * ld + d];
            }
    }
    for (int64_t d = 0; d < D; ++d) memset(kt + (d * tk + kv_len) * ce, 0, (size_t)((tk - kv_len) * ce));
    if (direct) return; /* V is read in place (staged only for tiles that pass kv_len) */
    for (int64_t j = 0; j < kv_len; ++j)
        fcpu_load_row(elem4(&pl->v, b, hkv, j, 0, in), pl->v.stride[3], Dv, pl->dtype, pl->cdt, vp + j * Dv * ce);
    memset(vp + kv_len * Dv * ce, 0, (size_t)((tk - kv_len) * Dv * ce));
}

/* Decode-like items (few rows per tile) stream K and V from memory once, and oneDNN's small-M
 * kernels do not keep enough loads in flight to reach the memory bandwidth on their own:
 * the next operand is prefetched while the current product runs (the V tile during Q.K^T,
 * the next K tile during P.V).  Rows of `row_bytes` at stride `ld_bytes`. */
#define FCPU_PREFETCH_MAX_M 32

static void prefetch_rows(const char *base, int64_t rows, int64_t row_bytes, int64_t ld_bytes) {
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t off = 0; off < row_bytes; off += 64) __builtin_prefetch(base + r * ld_bytes + off, 0, 3);
}

/* Normalises and writes rows of O and LSE: row r is query i0 + r / group of head
 * hkv * group + r % group.  A row that saw no key gets O = 0 and LSE = -inf exactly. */
static void write_rows(const fcpu_plan *pl, const fcpu_item *it, const float *o, const float *m, const float *l) {
    int64_t out = fcpu_dtype_size(pl->dtype);
    for (int64_t r = 0; r < pl->group * it->nq; ++r) {
        int64_t h = it->hkv * pl->group + r % pl->group, i = it->i0 + r / pl->group;
        int empty = m[r] == -INFINITY;
        fcpu_store_row(o + r * pl->Dv, empty ? 0.0f : 1.0f / l[r], pl->Dv, pl->dtype, elem4(&pl->o, it->b, h, i, 0, out),
                     pl->o.stride[3]);
        if (pl->has_lse) {
            float lse = empty ? -INFINITY : m[r] + logf(l[r]);
            memcpy(elem4(&pl->lse, it->b, h, i, 0, 4), &lse, 4);
        }
    }
}

/* The tile's K and V operands, staged into the thread's buffers when they cannot be read in
 * place. */
static void tile_operands(const fcpu_plan *pl, fcpu_thread *th, const fcpu_item *it, const fcpu_tile *tile, const void **kp,
                          const void **vp) {
    const int64_t ce = fcpu_cdt_size(pl->cdt), in = fcpu_dtype_size(pl->dtype);
    if (tile->src == FCPU_SRC_PREPARED || tile->src == FCPU_SRC_PREPARED_K) {
        const char *kt = pl->prep + pl->prep_off[it->b] + it->hkv * pl->prep_block;
        *kp = kt + tile->j0 * ce; /* columns j0.. of K^T */
        if (tile->src == FCPU_SRC_PREPARED_K) {
            *vp = elem4(&pl->v, it->b, it->hkv, tile->j0, 0, in);
        } else if (pl->kv_direct) { /* the tile passes kv_len: V staged with its zeros */
            stage_kv(pl, th, it->b, it->hkv, tile->j0, tile->n, 0);
            *vp = th->vst;
        } else {
            *vp = kt + (pl->D * pl->prep_tk + tile->j0 * pl->Dv) * ce; /* rows j0.. of the V copy */
        }
    } else if (tile->src == FCPU_SRC_DIRECT) {
        *kp = elem4(&pl->k, it->b, it->hkv, tile->j0, 0, in);
        *vp = elem4(&pl->v, it->b, it->hkv, tile->j0, 0, in);
    } else {
        stage_kv(pl, th, it->b, it->hkv, tile->j0, tile->n, 1);
        *kp = th->kst;
        *vp = th->vst;
    }
}

/* Rows [j0, j0 + n) of K or V (view) of the item's head for fcpu_native.h: in place when a
 * row's elements are contiguous, else widened to float32 into buf first. */
static fcpu_native_rows native_rows(const fcpu_plan *pl, const fcpu_view *view, const fcpu_item *it, int64_t j0, int64_t n,
                                  int64_t width, float *buf) {
    const int64_t in = fcpu_dtype_size(pl->dtype);
    const char *first = elem4(view, it->b, it->hkv, j0, 0, in);
    if (view->stride[3] == 1) return (fcpu_native_rows){first, view->stride[2], pl->dtype};
    for (int64_t c = 0; c < n; ++c)
        fcpu_load_row(first + c * view->stride[2] * in, view->stride[3], width, pl->dtype, FCPU_CDT_F32, buf + c * width);
    return (fcpu_native_rows){(const char *)buf, width, FCPU_DT_F32};
}

/* One tile of a native item: S = Q.K^T over the keys that exist for it (nk; columns past
 * them are invisible to every row and never read), the softmax shared with the oneDNN
 * path, then O += P.V over the same keys.  While Q.K^T streams K, the tile's V rows are
 * prefetched; while P.V reads them, the next tile's K rows are. */
static void native_tile(const fcpu_plan *pl, const fcpu_softmax_problem *sp, fcpu_thread *th, const fcpu_item *it,
                        const fcpu_tile *tile, int64_t nk, const fcpu_softmax_tile *st) {
    const int64_t in = fcpu_dtype_size(pl->dtype), D = pl->D, Dv = pl->Dv;
    fcpu_native_rows k = native_rows(pl, &pl->k, it, tile->j0, nk, D, th->kst);
    fcpu_native_rows v = native_rows(pl, &pl->v, it, tile->j0, nk, Dv, th->vst);
    fcpu_native_qk((const float *)th->qp + tile->r0 * fcpu_native_q_ld(D), tile->m, D, &k, nk, th->s, tile->n, &v, nk,
                 Dv * fcpu_dtype_size(v.dtype));
    fcpu_softmax_tile_update(sp, st);
    const int64_t next = tile->j0 + tile->n, next_n = it->kv_hi - next < pl->kv_tile ? it->kv_hi - next : pl->kv_tile;
    fcpu_native_rows kn = {next < it->kv_hi ? elem4(&pl->k, it->b, it->hkv, next, 0, in) : NULL, pl->k.stride[2], pl->dtype};
    int pf = next < it->kv_hi && pl->k.stride[3] == 1;
    fcpu_native_pv((const float *)th->p, tile->n, tile->m, nk, &v, Dv, th->o + tile->r0 * Dv, pf ? &kn : NULL, next_n,
                 D * in);
}

/* P of the tile's rows [m, n] (bfloat16, row stride n) copied to [m, nk] with zeros after:
 * nk = fcpu_amx_pad(n) keys. */
static void stage_p(const uint16_t *p, int64_t m, int64_t n, int64_t nk, uint16_t *dst) {
    for (int64_t r = 0; r < m; ++r) {
        memcpy(dst + r * nk, p + r * n, (size_t)(n * 2));
        memset(dst + r * nk + n, 0, (size_t)((nk - n) * 2));
    }
}

/* One tile of an AMX item: S = Q.K^T from the head's K pack, the softmax shared with the
 * other paths (P in bfloat16), then O += P.V from the V pack.  The tile starts at a multiple
 * of 16 keys (fcpu_attend_item aligns the walk of AMX items), a whole block of the K pack and an
 * even key of the V pack.  P.V reduces over FCPU_AMX_K keys a step: a tile whose key count is
 * not a multiple of it (16 keys more: the last tile of a range, odd tile options) has its P
 * copied with zero columns after it; the default tiles need no copy in the interior. */
/* Rows of a strip of a partial AMX tile: one 2 x 2 block of C tiles. */
#define FCPU_AMX_STRIP 32

/* The keys [*begin, *end) of a tile (relative to it, multiples of FCPU_AMX_K, end at most n;
 * begin = end when none) that rows [r, r + m) see at most: along a causal diagonal (or a
 * window's edges, or kv_len) the strips of a partial tile see ever fewer of its keys, and
 * their products stop there instead of running over the whole tile.  Keys outside a row's
 * range are never read by the softmax (it writes P's zeros there), so the skipped part of
 * S may hold anything; the skipped part of P.V multiplies zeros. */
static void strip_keys(const fcpu_rows *rows, const fcpu_plan *pl, const fcpu_tile *tile, int64_t r, int64_t m, int64_t *begin,
                       int64_t *end) {
    int64_t lo = tile->j0 + tile->n, hi = tile->j0;
    for (int64_t q = r / pl->group; q <= (r + m - 1) / pl->group; ++q) {
        if (rows->lo[q] >= rows->hi[q]) continue; /* sees nothing */
        lo = rows->lo[q] < lo ? rows->lo[q] : lo;
        hi = rows->hi[q] > hi ? rows->hi[q] : hi;
    }
    if (lo >= hi || hi <= tile->j0 || lo >= tile->j0 + tile->n) {
        *begin = *end = 0;
        return;
    }
    int64_t b = lo - tile->j0, e = hi - tile->j0;
    b = b < 0 ? 0 : b / FCPU_AMX_K * FCPU_AMX_K;
    e = (e + FCPU_AMX_K - 1) / FCPU_AMX_K * FCPU_AMX_K;
    *begin = b;
    *end = e < tile->n ? e : tile->n;
}

static void amx_tile(const fcpu_plan *pl, const fcpu_softmax_problem *sp, fcpu_thread *th, const fcpu_item *it,
                     const fcpu_tile *tile, const fcpu_softmax_tile *st) {
    const int64_t dp = fcpu_amx_pad(pl->D), dvp = fcpu_amx_pad(pl->Dv), tk = pl->prep_tk, n = tile->n;
    const uint16_t *kp = (const uint16_t *)(pl->prep + pl->prep_off[it->b] + it->hkv * pl->prep_block);
    const uint16_t *vp = kp + dp * tk;
    if (st->cls == FCPU_TILE_PARTIAL && n % FCPU_AMX_K == 0 && tile->m > FCPU_AMX_STRIP) {
        /* Strip by strip: S of each strip's rows over the keys it sees (the rest of S is not
         * computed), the softmax on the whole tile, then P.V of each strip over its keys. */
        /* Strip k's keys [begins[k], ends[k]): begins at a multiple of 32 keys past j0 (a
         * multiple of 16), so the K pack's block and the V pack's pair line up. */
        int64_t begins[1024 / FCPU_AMX_STRIP], ends[1024 / FCPU_AMX_STRIP], strips = (tile->m + FCPU_AMX_STRIP - 1) / FCPU_AMX_STRIP;
        if (strips <= (int64_t)(sizeof ends / sizeof ends[0])) {
            for (int64_t k = 0; k < strips; ++k) {
                const int64_t r = tile->r0 + k * FCPU_AMX_STRIP;
                const int64_t m = tile->r0 + tile->m - r < FCPU_AMX_STRIP ? tile->r0 + tile->m - r : FCPU_AMX_STRIP;
                strip_keys(st->rows, pl, tile, r, m, &begins[k], &ends[k]);
                const int64_t j = tile->j0 + begins[k];
                if (ends[k] > begins[k])
                    fcpu_amx_qk(pl->amx, (const uint16_t *)th->qp + r * dp, dp, m, dp, kp + j / 16 * (dp / 2 * 32),
                              ends[k] - begins[k], th->s + k * FCPU_AMX_STRIP * n + begins[k], n);
            }
            fcpu_softmax_tile_update(sp, st);
            for (int64_t k = 0; k < strips; ++k) {
                const int64_t r = tile->r0 + k * FCPU_AMX_STRIP;
                const int64_t m = tile->r0 + tile->m - r < FCPU_AMX_STRIP ? tile->r0 + tile->m - r : FCPU_AMX_STRIP;
                const int64_t j = tile->j0 + begins[k];
                if (ends[k] > begins[k])
                    fcpu_amx_pv(pl->amx, (const uint16_t *)th->p + k * FCPU_AMX_STRIP * n + begins[k], n, m,
                              ends[k] - begins[k], vp + j / 2 * dvp * 2, dvp, pl->Dv, th->o + r * pl->Dv, pl->Dv);
            }
            return;
        }
    }
    fcpu_amx_qk(pl->amx, (const uint16_t *)th->qp + tile->r0 * dp, dp, tile->m, dp, kp + tile->j0 / 16 * (dp / 2 * 32), n,
              th->s, n);
    fcpu_softmax_tile_update(sp, st);
    const uint16_t *p = th->p;
    int64_t nk = n;
    if (n % FCPU_AMX_K) {
        nk = fcpu_amx_pad(n);
        stage_p(th->p, tile->m, n, nk, th->pst);
        p = th->pst;
    }
    fcpu_amx_pv(pl->amx, p, nk, tile->m, nk, vp + tile->j0 / 2 * dvp * 2, dvp, pl->Dv, th->o + tile->r0 * pl->Dv, pl->Dv);
}

int fcpu_attend_item(const fcpu_plan *pl, const attn_problem *p, const fcpu_softmax_problem *sp, fcpu_thread *th,
                   const fcpu_item *it, float *partial, char *msg, size_t msg_cap) {
    const int64_t M = pl->group * it->nq, D = pl->D, Dv = pl->Dv;
    const int64_t ce = fcpu_cdt_size(pl->cdt), in = fcpu_dtype_size(pl->dtype);
    const int native = fcpu_item_native(pl, it), amx = fcpu_item_amx(pl, it);
    /* Native items keep Q and P in float32 (fcpu_native.h), whatever the compute dtype. */
    fcpu_softmax_problem sp_native = *sp;
    sp_native.p_bf16 = 0;
    /* AMX items pad Q's rows with zeros to whole A tile rows (the K pack's pad is zero too). */
    const int64_t q_ld = native ? fcpu_native_q_ld(D) : amx ? fcpu_amx_pad(D) : D, q_size = native ? 4 : ce;
    const int32_t q_cdt = native ? FCPU_CDT_F32 : pl->cdt;
    fcpu_rows rows;
    fcpu_item_rows(pl, p, it, th->mask, th->lo, th->hi, &rows);

    for (int64_t r = 0; r < M; ++r) { /* position-major rows: see fcpu_plan.h */
        int64_t h = it->hkv * pl->group + r % pl->group, i = it->i0 + r / pl->group;
        char *row = (char *)th->qp + r * q_ld * q_size;
        fcpu_load_row(elem4(&pl->q, it->b, h, i, 0, in), pl->q.stride[3], D, pl->dtype, q_cdt, row);
        memset(row + D * q_size, 0, (size_t)((q_ld - D) * q_size));
        th->m[r] = -INFINITY;
        th->l[r] = 0.0f;
    }
    memset(th->o, 0, sizeof(float) * (size_t)(M * Dv));

    fcpu_softmax_tile st = {&rows, it->b, it->hkv * pl->group, pl->group, 0, 0, 0, 0, 0, th->doc_k, th->s, th->p,
                          th->m, th->l, th->o, Dv};
    /* AMX items walk their keys from a multiple of 16 (the K pack's blocks); keys before
     * kv_lo in the first tile are outside every row's range, so the softmax masks them. */
    fcpu_tile tile = {amx ? it->kv_lo / 16 * 16 : it->kv_lo, 0, 0, 0, 0, 0, 0};
    while (fcpu_tile_next(pl, it, &rows, &tile)) {
        if (tile.m == 0) { /* no row's range meets these keys */
            th->tiles_seen[FCPU_TILE_EMPTY]++;
            continue;
        }
        /* Classified over the positions of the tile's rows; columns from kv_hi on are
         * invisible to every row (and may not exist), so such a tile is never full. */
        int64_t j_end = tile.j0 + tile.n < it->kv_hi ? tile.j0 + tile.n : it->kv_hi;
        if (pl->has_docs)
            for (int64_t c = 0; c < j_end - tile.j0; ++c)
                th->doc_k[c] = *(const int32_t *)(pl->doc_k.base +
                                                  (it->b * pl->doc_k.stride[0] + (tile.j0 + c) * pl->doc_k.stride[1]) * 4);
        fcpu_rows sub = rows;
        sub.count = tile.t1 - tile.t0 + 1;
        sub.mask += tile.t0;
        sub.lo += tile.t0;
        sub.hi += tile.t0;
        int cls = fcpu_classify_tile(&sub, tile.j0, j_end, th->doc_k);
        if (cls == FCPU_TILE_FULL && j_end < tile.j0 + tile.n) cls = FCPU_TILE_PARTIAL;
        th->tiles_seen[cls]++;
        if (cls == FCPU_TILE_EMPTY) continue;
        st.r0 = tile.r0;
        st.m_rows = tile.m;
        st.cls = cls;
        st.j0 = tile.j0;
        st.n = tile.n;
        if (native) {
            native_tile(pl, &sp_native, th, it, &tile, j_end - tile.j0, &st);
            continue;
        }
        if (amx) {
            amx_tile(pl, sp, th, it, &tile, &st);
            continue;
        }

        const void *kp, *vp;
        tile_operands(pl, th, it, &tile, &kp, &vp);
        const int prefetch = tile.src == FCPU_SRC_DIRECT && tile.m <= FCPU_PREFETCH_MAX_M;
        if (prefetch) prefetch_rows(vp, tile.n, Dv * in, pl->v.stride[2] * in);
        int64_t slot = fcpu_prim_index(pl, tile.m, tile.n, tile.src, FCPU_OP_QK);
        int rc = fcpu_exec_run(&th->execs[slot], th->stream, (char *)th->qp + tile.r0 * D * ce, kp, th->s);
        if (rc) {
            snprintf(msg, msg_cap, "oneDNN Q.K^T (%s): %s", th->execs[slot].p->impl, fcpu_dnnl_status_text((dnnl_status_t)rc));
            return rc;
        }
        fcpu_softmax_tile_update(sp, &st);
        if (prefetch && tile.j0 + tile.n < it->kv_hi) {
            int64_t next = it->kv_hi - (tile.j0 + tile.n) < pl->kv_tile ? it->kv_hi - (tile.j0 + tile.n) : pl->kv_tile;
            prefetch_rows(elem4(&pl->k, it->b, it->hkv, tile.j0 + tile.n, 0, in), next, D * in, pl->k.stride[2] * in);
        }
        rc = fcpu_exec_run(&th->execs[slot + 1], th->stream, th->p, vp, th->o + tile.r0 * Dv);
        if (rc) {
            snprintf(msg, msg_cap, "oneDNN P.V (%s): %s", th->execs[slot + 1].p->impl, fcpu_dnnl_status_text((dnnl_status_t)rc));
            return rc;
        }
    }

    if (amx) fcpu_amx_release(pl->amx);
    if (it->piece < 0) {
        write_rows(pl, it, th->o, th->m, th->l);
    } else {
        float *slot = partial + it->piece * fcpu_partial_floats(pl);
        memcpy(slot, th->o, sizeof(float) * (size_t)(M * Dv));
        memcpy(slot + M * Dv, th->m, sizeof(float) * (size_t)M);
        memcpy(slot + M * Dv + M, th->l, sizeof(float) * (size_t)M);
    }
    return 0;
}

void fcpu_merge_item(const fcpu_plan *pl, const fcpu_merge *mg, const float *partial, fcpu_thread *th) {
    const int64_t M = pl->group * mg->whole.nq, Dv = pl->Dv, stride = fcpu_partial_floats(pl);
    for (int64_t r = 0; r < M; ++r) {
        float mx = -INFINITY;
        for (int64_t k = 0; k < mg->count; ++k) {
            float mk = partial[(mg->first + k) * stride + M * Dv + r];
            mx = mk > mx ? mk : mx;
        }
        float *o = th->o + r * Dv, sum = 0.0f;
        memset(o, 0, sizeof(float) * (size_t)Dv);
        if (mx != -INFINITY) {
            for (int64_t k = 0; k < mg->count; ++k) {
                const float *slot = partial + (mg->first + k) * stride;
                float mk = slot[M * Dv + r];
                if (mk == -INFINITY) continue;
                float w = expf(mk - mx);
                sum += slot[M * Dv + M + r] * w;
                for (int64_t e = 0; e < Dv; ++e) o[e] += slot[r * Dv + e] * w;
            }
        }
        th->m[r] = mx;
        th->l[r] = sum;
    }
    write_rows(pl, &mg->whole, th->o, th->m, th->l);
}

void fcpu_write_padding(const fcpu_plan *pl, int64_t b, int64_t h) {
    int64_t out = fcpu_dtype_size(pl->dtype);
    for (int64_t i = pl->q_len[b]; i < pl->Tq; ++i) {
        fcpu_store_row(NULL, 0.0f, pl->Dv, pl->dtype, elem4(&pl->o, b, h, i, 0, out), pl->o.stride[3]);
        if (pl->has_lse) {
            float lse = -INFINITY;
            memcpy(elem4(&pl->lse, b, h, i, 0, 4), &lse, 4);
        }
    }
}
