/* One block of query rows, eager style: S = scale.Q.K^T (materialised, float32), modifier,
 * mask, softmax, dropout, P rounded to the dtype, O = P.V accumulated in float32.
 *
 * Every floating-point step is taken in the order of SPEC.md's baseline (sdpa-ref, mode
 * baseline): each dot product sums over e in order, the softmax sums over j in order and
 * P.V accumulates over j in order.  Only the loop nest around them differs (rows of a block
 * share each loaded key and value row), so float32 results equal the baseline's. */
#include "sm_block.h"

#include <attn/plugin/attn_access.h>
#include <attn/plugin/attn_philox.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t sm_scratch_bytes(const sm_call *c, int64_t rows) {
    uint64_t per_row = sizeof(float) * (uint64_t)(c->tk + c->dv + c->d + 1) + sizeof(attn_row_mask) + 2 * sizeof(int64_t);
    return per_row * (uint64_t)rows + sizeof(float) * (uint64_t)(c->d * (SM_KEY_CHUNK + 1) + c->dv);
}

int sm_scratch_alloc(const sm_call *c, int64_t rows, sm_scratch *s) {
    memset(s, 0, sizeof *s);
    s->rows = rows;
    size_t r = (size_t)rows;
    /* +1: a zero-sized dimension (Tk = 0, an empty cache) still gets a valid pointer. */
    s->scores = malloc(sizeof(float) * (r * (size_t)c->tk + 1));
    s->acc = malloc(sizeof(float) * (r * (size_t)c->dv + 1));
    s->q = malloc(sizeof(float) * (r * (size_t)c->d + 1));
    s->kt = malloc(sizeof(float) * ((size_t)c->d * SM_KEY_CHUNK + 1));
    s->v = malloc(sizeof(float) * ((size_t)c->dv + 1));
    s->krow = malloc(sizeof(float) * ((size_t)c->d + 1));
    s->masks = malloc(sizeof(attn_row_mask) * r);
    s->lo = malloc(sizeof(int64_t) * r);
    s->hi = malloc(sizeof(int64_t) * r);
    s->lse = malloc(sizeof(float) * r);
    if (!s->scores || !s->acc || !s->q || !s->kt || !s->v || !s->krow || !s->masks || !s->lo || !s->hi || !s->lse) {
        sm_scratch_free(s);
        return -1;
    }
    return 0;
}

void sm_scratch_free(sm_scratch *s) {
    free(s->scores);
    free(s->acc);
    free(s->q);
    free(s->kt);
    free(s->v);
    free(s->krow);
    free(s->masks);
    free(s->lo);
    free(s->hi);
    free(s->lse);
    memset(s, 0, sizeof *s);
}

/* Row facts and candidate key ranges; loads the query rows.  Padding rows get an empty range. */
static void prepare_rows(const sm_call *c, sm_scratch *s, int64_t b, int64_t h, int64_t i0, int64_t nrows,
                         int64_t q_len, int64_t kv_len, int64_t prefix_len) {
    const attn_problem *p = c->p;
    int has_docs = attn_tensor_present(&p->doc_q);
    for (int64_t r = 0; r < nrows; ++r) {
        int64_t i = i0 + r;
        attn_row_mask *m = &s->masks[r];
        s->lo[r] = s->hi[r] = 0;
        if (i >= q_len) continue; /* rule 1: padding rows see nothing */
        m->pos = attn_query_pos(i, q_len, kv_len);
        m->kv_len = kv_len;
        m->prefix_len = prefix_len;
        m->causal = p->causal;
        m->window_left = p->window_left;
        m->window_right = p->window_right;
        m->has_docs = has_docs;
        m->doc_q = 0;
        if (has_docs) {
            int64_t di[2] = {b, i};
            m->doc_q = attn_load_i32(&p->doc_q, di);
        }
        attn_row_key_range(m, &s->lo[r], &s->hi[r]);
        int64_t qi[4] = {b, h, i, 0};
        attn_load_floats(&p->q, qi, c->d, s->q + r * c->d);
    }
}

/* Loads keys [j0, j0 + n) of (b, hkv) transposed into kt[e * SM_KEY_CHUNK + k]; the unused
 * lanes are zero so their (discarded) dot products stay finite. */
static void load_key_chunk(const sm_call *c, sm_scratch *s, int64_t b, int64_t hkv, int64_t j0, int64_t n) {
    for (int64_t k = 0; k < SM_KEY_CHUNK; ++k) {
        if (k < n) {
            int64_t ki[4] = {b, hkv, j0 + k, 0};
            attn_load_floats(&c->p->k, ki, c->d, s->krow);
            for (int64_t e = 0; e < c->d; ++e) s->kt[e * SM_KEY_CHUNK + k] = s->krow[e];
        } else {
            for (int64_t e = 0; e < c->d; ++e) s->kt[e * SM_KEY_CHUNK + k] = 0.0f;
        }
    }
}

/* SM_KEY_CHUNK dot products of one query row, each summed over e in order. */
static void chunk_dots(const float *q, const float *kt, int64_t d, float dots[SM_KEY_CHUNK]) {
    float acc[SM_KEY_CHUNK] = {0};
    for (int64_t e = 0; e < d; ++e) {
        float qe = q[e];
        const float *ke = kt + e * SM_KEY_CHUNK;
        for (int k = 0; k < SM_KEY_CHUNK; ++k) acc[k] += qe * ke[k];
    }
    memcpy(dots, acc, sizeof acc);
}

/* The modifier's per-key parameters of chunk [j0, j0 + n) for head h: softcap c, ALiBi slope
 * or synaptic weight w[b, h, j]. */
static void chunk_params(const sm_call *c, int64_t b, int64_t h, int64_t j0, int64_t n, float param[SM_KEY_CHUNK]) {
    const attn_problem *p = c->p;
    for (int k = 0; k < SM_KEY_CHUNK; ++k) param[k] = 0.0f;
    if (p->modifier == ATTN_MOD_SOFTCAP) {
        for (int k = 0; k < SM_KEY_CHUNK; ++k) param[k] = p->softcap;
    } else if (p->modifier == ATTN_MOD_ALIBI) {
        int64_t ai[1] = {h};
        float slope = attn_load_float(&p->alibi_slopes, ai);
        for (int k = 0; k < SM_KEY_CHUNK; ++k) param[k] = slope;
    } else if (p->modifier == ATTN_MOD_SYNAPTIC) {
        int64_t wi[3] = {b, h, j0};
        attn_load_floats(&p->synaptic_w, wi, n, param);
    }
}

/* Scores of every row against the union of their key ranges, chunk by chunk; a key outside a
 * row's range, of another document or hidden by mask_mod is -inf (masked: never part of the
 * max), as is a key score_mod sends to -inf. */
static void compute_scores(const sm_call *c, sm_scratch *s, int64_t b, int64_t h, int64_t nrows, int64_t ulo,
                           int64_t uhi) {
    const attn_problem *p = c->p;
    int64_t hkv = h / c->group;
    float param[SM_KEY_CHUNK], dots[SM_KEY_CHUNK];
    int32_t doc_k[SM_KEY_CHUNK] = {0};
    for (int64_t j0 = ulo; j0 < uhi; j0 += SM_KEY_CHUNK) {
        int64_t n = uhi - j0 < SM_KEY_CHUNK ? uhi - j0 : SM_KEY_CHUNK;
        load_key_chunk(c, s, b, hkv, j0, n);
        chunk_params(c, b, h, j0, n, param);
        if (attn_tensor_present(&p->doc_k))
            for (int64_t k = 0; k < n; ++k) {
                int64_t di[2] = {b, j0 + k};
                doc_k[k] = attn_load_i32(&p->doc_k, di);
            }
        for (int64_t r = 0; r < nrows; ++r) {
            if (j0 >= s->hi[r] || j0 + n <= s->lo[r]) continue;
            const attn_row_mask *m = &s->masks[r];
            chunk_dots(s->q + r * c->d, s->kt, c->d, dots);
            float *out = s->scores + r * c->tk;
            for (int64_t k = 0; k < n; ++k) {
                int64_t j = j0 + k;
                if (j < s->lo[r] || j >= s->hi[r] || !attn_key_visible(m, j, doc_k[k]) ||
                    (c->mask_mod.e &&
                     !cpu_expr_eval(&c->mask_mod, c->expr_scratch, b, h, m->pos, j, 0.0, c->expr_error).i)) {
                    out[j] = -INFINITY;
                    continue;
                }
                if (c->score_mod.e) { /* validation refuses it beside a modifier */
                    out[j] = (float)cpu_expr_eval(&c->score_mod, c->expr_scratch, b, h, m->pos, j,
                                                  (double)(dots[k] * c->scale), c->expr_error)
                                 .f;
                    continue;
                }
                out[j] = attn_modify_scoref(p->modifier, dots[k] * c->scale, param[k], fabsf((float)(m->pos - j)),
                                            (float)m->kv_len, p->synaptic_lambda, p->synaptic_eps,
                                            p->synaptic_beta);
            }
        }
    }
}

/* Softmax of each row in place (scores become P, rounded to the dtype), dropout included.
 * A row whose maximum is -inf has no visible key: its range is emptied and LSE is -inf. */
static void softmax_rows(const sm_call *c, sm_scratch *s, int64_t b, int64_t h, int64_t nrows) {
    const attn_problem *p = c->p;
    for (int64_t r = 0; r < nrows; ++r) {
        float *row = s->scores + r * c->tk;
        int64_t lo = s->lo[r], hi = s->hi[r];
        float m = -INFINITY;
        for (int64_t j = lo; j < hi; ++j)
            if (row[j] > m) m = row[j];
        if (m == -INFINITY) {
            s->lo[r] = s->hi[r] = 0;
            s->lse[r] = -INFINITY;
            continue;
        }
        float sum = 0.0f;
        for (int64_t j = lo; j < hi; ++j)
            if (row[j] != -INFINITY) sum += expf(row[j] - m);
        s->lse[r] = m + logf(sum);
        for (int64_t j = lo; j < hi; ++j) {
            if (row[j] == -INFINITY) {
                row[j] = 0.0f;
                continue;
            }
            float prob = attn_round_to(c->code, c->bits, expf(row[j] - m) / sum);
            if (c->dropout) {
                int keep = attn_dropout_keep(p->dropout_seed, p->dropout_offset, b, h, c->hq, s->masks[r].pos, j,
                                             c->drop_threshold);
                prob = attn_round_to(c->code, c->bits, prob * (keep ? c->drop_scale : 0.0f));
            }
            row[j] = prob;
        }
    }
}

/* acc += prob * v, element by element.  Written in fixed groups of 8 so that -O2's cheap
 * vectoriser takes it (it will not vectorise a loop of unknown length); every element still
 * gets exactly one multiply and one add, so the result is the baseline's. */
static void add_scaled(float *restrict acc, const float *restrict v, float prob, int64_t dv) {
    int64_t e = 0;
    for (; e + 8 <= dv; e += 8)
        for (int k = 0; k < 8; ++k) acc[e + k] += prob * v[e + k];
    for (; e < dv; ++e) acc[e] += prob * v[e];
}

/* O = P.V for every row: each value row is loaded once per block and added, in key order,
 * into the accumulators of the rows that keep it.  A zero P is skipped, as in the baseline,
 * so a NaN value row that carries no weight never reaches O. */
static void apply_values(const sm_call *c, sm_scratch *s, int64_t b, int64_t h, int64_t nrows, int64_t ulo,
                         int64_t uhi) {
    int64_t hkv = h / c->group, dv = c->dv;
    memset(s->acc, 0, sizeof(float) * (size_t)(nrows * dv));
    for (int64_t j = ulo; j < uhi; ++j) {
        int loaded = 0;
        for (int64_t r = 0; r < nrows; ++r) {
            if (j < s->lo[r] || j >= s->hi[r]) continue;
            float prob = s->scores[r * c->tk + j];
            if (prob == 0.0f) continue;
            if (!loaded) {
                int64_t vi[4] = {b, hkv, j, 0};
                attn_load_floats(&c->p->v, vi, dv, s->v);
                loaded = 1;
            }
            add_scaled(s->acc + r * dv, s->v, prob, dv);
        }
    }
}

static void store_rows(const sm_call *c, const sm_scratch *s, int64_t b, int64_t h, int64_t i0, int64_t nrows) {
    const attn_problem *p = c->p;
    int want_lse = attn_tensor_present(&p->lse);
    for (int64_t r = 0; r < nrows; ++r) {
        int empty = s->lo[r] == s->hi[r]; /* padding or no visible key: O = 0 exactly */
        for (int64_t e = 0; e < c->dv; ++e) {
            int64_t oi[4] = {b, h, i0 + r, e};
            attn_store_float(&p->o, oi, empty ? 0.0f : s->acc[r * c->dv + e]);
        }
        if (want_lse) {
            int64_t li[3] = {b, h, i0 + r};
            *(float *)attn_elem_ptr(&p->lse, li) = empty ? -INFINITY : s->lse[r];
        }
    }
}

void sm_block_run(const sm_call *c, sm_scratch *s, int64_t b, int64_t h, int64_t i0, int64_t nrows, int64_t q_len,
                  int64_t kv_len, int64_t prefix_len) {
    prepare_rows(c, s, b, h, i0, nrows, q_len, kv_len, prefix_len);
    /* The union of the rows' ranges: keys outside it are masked for every row of the block. */
    int64_t ulo = INT64_MAX, uhi = 0;
    for (int64_t r = 0; r < nrows; ++r) {
        if (s->lo[r] == s->hi[r]) continue;
        if (s->lo[r] < ulo) ulo = s->lo[r];
        if (s->hi[r] > uhi) uhi = s->hi[r];
    }
    if (uhi > 0) {
        compute_scores(c, s, b, h, nrows, ulo, uhi);
        softmax_rows(c, s, b, h, nrows);
        apply_values(c, s, b, h, nrows, ulo, uhi);
    } else {
        for (int64_t r = 0; r < nrows; ++r) s->lse[r] = -INFINITY;
    }
    store_rows(c, s, b, h, i0, nrows);
}
