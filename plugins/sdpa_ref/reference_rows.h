/* The reference's view of a problem, one query row at a time: which keys the row sees, its
 * float64 scores, the dropout factor of each key.  Header-only, like cpu_lengths.h, because
 * two readers need the one definition: the sdpa-ref plugin (golden and baseline) and the
 * harness, whose tolerance (harness/tolerance.c) is computed from the reference's own softmax.
 * Everything is read through attn_access.h, so any dtype and stride works. */
#ifndef ATTN_SDPA_REF_REFERENCE_ROWS_H
#define ATTN_SDPA_REF_REFERENCE_ROWS_H

#include <attn/plugin/attn_access.h>
#include <attn/plugin/attn_philox.h>
#include <attn/plugin/attn_problem.h>
#include <attn/plugin/attn_rules.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../common/cpu_lengths.h"
#include "../common/cpu_expr.h"

typedef struct ref_rows {
    const attn_problem *p;
    int64_t batch, hq, tq, d, hkv, tk, dv, group;
    double scale;
    uint32_t drop_threshold;
    double drop_scale;
    /* The current row (ref_rows_begin). */
    int64_t b, h, i, kv_head;
    attn_row_mask mask;
    float *q_row, *k_row, *v_row; /* scratch: the query row and one key / value row */
    /* ABI 1.2's expressions (x.e NULL when absent) and their first run-time error */
    cpu_expr mask_mod, score_mod;
    attn_expr_scratch *expr_scratch;
    cpu_expr_error expr_error;
} ref_rows;

/* Checks the lengths (they index K and V) and takes the scratch rows. */
static inline attn_status ref_rows_init(ref_rows *r, const attn_problem *p, char *msg, uint32_t msg_cap) {
    attn_status st = cpu_check_lengths(p, msg, msg_cap);
    if (st != ATTN_OK) return st;
    *r = (ref_rows){0};
    r->p = p;
    r->batch = p->q.shape[0];
    r->hq = p->q.shape[1];
    r->tq = p->q.shape[2];
    r->d = p->q.shape[3];
    r->hkv = p->k.shape[1];
    r->tk = p->k.shape[2];
    r->dv = p->v.shape[3];
    r->group = r->hq / r->hkv;
    r->scale = p->scale != 0.0 ? p->scale : 1.0 / sqrt((double)r->d);
    r->drop_threshold = attn_dropout_threshold(p->dropout_p);
    r->drop_scale = 1.0 / (1.0 - (double)p->dropout_p);
    r->q_row = malloc(sizeof(float) * (size_t)(2 * r->d + r->dv + 1));
    if (!r->q_row) {
        snprintf(msg, msg_cap, "out of memory for a row of head dim %lld", (long long)r->d);
        return ATTN_E_NOMEM;
    }
    r->k_row = r->q_row + r->d;
    r->v_row = r->q_row + 2 * r->d;
    if (cpu_expr_bind_problem(&r->mask_mod, &r->score_mod, p)) {
        r->expr_scratch = malloc(sizeof *r->expr_scratch);
        if (!r->expr_scratch) {
            free(r->q_row);
            snprintf(msg, msg_cap, "out of memory for the expressions' scratch");
            return ATTN_E_NOMEM;
        }
    }
    return ATTN_OK;
}

static inline void ref_rows_free(ref_rows *r) {
    free(r->expr_scratch);
    r->expr_scratch = NULL;
    free(r->q_row);
    r->q_row = r->k_row = r->v_row = NULL;
}

/* Makes (b, h, i) the current row and loads its query.  0 for a padding row (i >= q_len[b]),
 * which sees no key at all. */
static inline int ref_rows_begin(ref_rows *r, int64_t b, int64_t h, int64_t i) {
    const attn_problem *p = r->p;
    int64_t q_len = cpu_per_batch(&p->q_len, b, r->tq), kv_len = cpu_per_batch(&p->kv_len, b, r->tk);
    r->b = b;
    r->h = h;
    r->i = i;
    r->kv_head = h / r->group;
    if (i >= q_len) return 0;
    r->mask = (attn_row_mask){0};
    r->mask.pos = attn_query_pos(i, q_len, kv_len);
    r->mask.kv_len = kv_len;
    r->mask.prefix_len = cpu_per_batch(&p->prefix_len, b, 0);
    r->mask.causal = p->causal;
    r->mask.window_left = p->window_left;
    r->mask.window_right = p->window_right;
    r->mask.has_docs = attn_tensor_present(&p->doc_q);
    if (r->mask.has_docs) {
        int64_t idx[2] = {b, i};
        r->mask.doc_q = attn_load_i32(&p->doc_q, idx);
    }
    int64_t qi[4] = {b, h, i, 0};
    attn_load_floats(&p->q, qi, r->d, r->q_row);
    return 1;
}

/* SPEC's rules, then mask_mod where they let the key through (an expression is evaluated only
 * at pairs the rules leave visible). */
static inline int ref_rows_key_visible(ref_rows *r, int64_t j) {
    int32_t doc_k = 0;
    if (r->mask.has_docs) {
        int64_t idx[2] = {r->b, j};
        doc_k = attn_load_i32(&r->p->doc_k, idx);
    }
    if (!attn_key_visible(&r->mask, j, doc_k)) return 0;
    if (!r->mask_mod.e) return 1;
    return cpu_expr_eval(&r->mask_mod, r->expr_scratch, r->b, r->h, r->mask.pos, j, 0.0, &r->expr_error).i != 0;
}

/* Loads key / value j of the current row's kv head into the scratch row. */
static inline const float *ref_rows_load_key(ref_rows *r, int64_t j) {
    int64_t ki[4] = {r->b, r->kv_head, j, 0};
    attn_load_floats(&r->p->k, ki, r->d, r->k_row);
    return r->k_row;
}

static inline const float *ref_rows_load_value(ref_rows *r, int64_t j) {
    int64_t vi[4] = {r->b, r->kv_head, j, 0};
    attn_load_floats(&r->p->v, vi, r->dv, r->v_row);
    return r->v_row;
}

/* The modifier's parameter for key j: softcap c, ALiBi slope or synaptic weight. */
static inline double ref_rows_modifier_param(const ref_rows *r, int64_t j) {
    const attn_problem *p = r->p;
    switch (p->modifier) {
    case ATTN_MOD_SOFTCAP:
        return p->softcap;
    case ATTN_MOD_ALIBI: {
        int64_t idx[1] = {r->h};
        return attn_load_float(&p->alibi_slopes, idx);
    }
    case ATTN_MOD_SYNAPTIC: {
        int64_t idx[3] = {r->b, r->h, j};
        return attn_load_float(&p->synaptic_w, idx);
    }
    default:
        return 0.0;
    }
}

/* The dropout factor of key j: 0 (dropped) or 1 / (1 - p), or 1 without dropout. */
static inline double ref_rows_dropout(const ref_rows *r, int64_t j) {
    if (r->p->dropout_p <= 0.0f) return 1.0;
    return attn_dropout_keep(r->p->dropout_seed, r->p->dropout_offset, r->b, r->h, r->hq, r->mask.pos, j,
                             r->drop_threshold)
               ? r->drop_scale
               : 0.0;
}

/* The float64 score of visible key j (scaled, modified: by the modifier or by score_mod; a
 * score of -inf hides the key, which the callers apply).  When `scaled_dot` is given it gets
 * the scaled dot product before the modifier, and `scaled_abs_dot` scale * sum |q_e k_e|:
 * what bounds the rounding error of a float32 dot product. */
static inline double ref_rows_score(ref_rows *r, int64_t j, double *scaled_dot, double *scaled_abs_dot) {
    const attn_problem *p = r->p;
    const float *k = ref_rows_load_key(r, j);
    double dot = 0.0, abs_dot = 0.0;
    for (int64_t e = 0; e < r->d; ++e) {
        double term = (double)r->q_row[e] * (double)k[e];
        dot += term;
        abs_dot += fabs(term);
    }
    if (scaled_dot) *scaled_dot = r->scale * dot;
    if (scaled_abs_dot) *scaled_abs_dot = r->scale * abs_dot;
    if (r->score_mod.e) /* validation refuses score_mod beside a modifier */
        return cpu_expr_eval(&r->score_mod, r->expr_scratch, r->b, r->h, r->mask.pos, j, r->scale * dot, &r->expr_error).f;
    return attn_modify_score(p->modifier, r->scale * dot, ref_rows_modifier_param(r, j), fabs((double)(r->mask.pos - j)),
                             (double)r->mask.kv_len, p->synaptic_lambda, p->synaptic_eps, p->synaptic_beta);
}

/* score_mod of the current row's pair with key j at another score: how the tolerance sees
 * an error in the dot product come out of the expression.  Errors are not recorded (a probe
 * off the real score); a probe that errs reads as NaN, which no bound passes. */
static inline double ref_rows_score_mod_at(ref_rows *r, int64_t j, double score) {
    cpu_expr_error ignored = {0};
    attn_expr_value v = cpu_expr_eval(&r->score_mod, r->expr_scratch, r->b, r->h, r->mask.pos, j, score, &ignored);
    return ignored.status == ATTN_EXPR_OK ? v.f : NAN;
}

#endif
