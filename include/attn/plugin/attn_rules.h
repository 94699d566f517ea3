/* The visibility rules, score modifiers and presynaptic weight of SPEC.md, header-only so
 * that every backend (CPU, CUDA, third-party) compiles the one definition. */
#ifndef ATTN_RULES_H
#define ATTN_RULES_H

#include <math.h>
#include <stdint.h>

#include "attn_inline.h"
#include "attn_types.h"

/* Absolute position of query row i under bottom-right alignment. */
ATTN_INLINE int64_t attn_query_pos(int64_t i, int64_t q_len, int64_t kv_len) { return kv_len - q_len + i; }

/* Per-row facts that the mask needs, gathered once per (b, i). */
typedef struct attn_row_mask {
    int64_t pos;        /* absolute query position */
    int64_t kv_len;     /* keys j >= kv_len are never visible */
    int64_t prefix_len; /* 0 when no prefix-LM */
    int32_t causal;
    int32_t window_left, window_right; /* -1 unbounded */
    int32_t has_docs;
    int32_t doc_q;
} attn_row_mask;

/* Rules 2-5 of SPEC.md for key j (rule 1's query side, i < q_len, is the caller's: a padding
 * row has no visible key at all).  doc_k is ignored when the row has no documents. */
ATTN_INLINE int attn_key_visible(const attn_row_mask *row, int64_t j, int32_t doc_k) {
    if (j < 0 || j >= row->kv_len) return 0;
    if (row->causal && j > row->pos && !(j < row->prefix_len)) return 0;
    if (row->window_left >= 0 && j < row->pos - row->window_left) return 0;
    if (row->window_right >= 0 && j > row->pos + row->window_right) return 0;
    if (row->has_docs && doc_k != row->doc_q) return 0;
    return 1;
}

/* The range [lo, hi) of keys that can be visible to a row: everything outside it is
 * masked by the length, causal and window rules.  Inside it, documents may still mask. */
ATTN_INLINE void attn_row_key_range(const attn_row_mask *row, int64_t *lo, int64_t *hi) {
    int64_t start = 0, end = row->kv_len;
    if (row->causal) {
        int64_t causal_end = row->pos + 1;
        if (causal_end < row->prefix_len) causal_end = row->prefix_len;
        if (causal_end < end) end = causal_end;
    }
    if (row->window_left >= 0 && row->pos - row->window_left > start) start = row->pos - row->window_left;
    if (row->window_right >= 0 && row->pos + row->window_right + 1 < end) end = row->pos + row->window_right + 1;
    if (end < start) end = start;
    *lo = start;
    *hi = end;
}

ATTN_INLINE double attn_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
ATTN_INLINE float attn_sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* The score modifiers, in double (the reference) and float (everyone else).
 * `distance` is |pos(b,i) - j|; `kv_len` is the row's kv_len[b]; `param` is the softcap c,
 * the ALiBi slope of the head, or the synaptic weight w[b,h,j]. */
ATTN_INLINE double attn_modify_score(int32_t modifier, double s, double param, double distance, double kv_len,
                                     double lambda, double eps, double beta) {
    switch (modifier) {
    case ATTN_MOD_SOFTCAP:
        return param * tanh(s / param);
    case ATTN_MOD_ALIBI:
        return s - param * distance;
    case ATTN_MOD_SYNAPTIC:
        return s + lambda * log(param * attn_sigmoid(s) + eps) - beta * distance / (kv_len > 1.0 ? kv_len : 1.0);
    default:
        return s;
    }
}

ATTN_INLINE float attn_modify_scoref(int32_t modifier, float s, float param, float distance, float kv_len,
                                     float lambda, float eps, float beta) {
    switch (modifier) {
    case ATTN_MOD_SOFTCAP:
        return param * tanhf(s / param);
    case ATTN_MOD_ALIBI:
        return s - param * distance;
    case ATTN_MOD_SYNAPTIC:
        return s + lambda * logf(param * attn_sigmoidf(s) + eps) - beta * distance / (kv_len > 1.0f ? kv_len : 1.0f);
    default:
        return s;
    }
}

/* Presynaptic state of one key (SPEC.md "Scores"), all float32 in the layer. */
typedef struct attn_presynaptic_state {
    float c, cl, sn, rrp, amp;
} attn_presynaptic_state;

/* The state of a fresh key. */
ATTN_INLINE attn_presynaptic_state attn_presynaptic_fresh(void) {
    attn_presynaptic_state st = {0.0f, 0.6f, 0.7f, 6.0f, 1.0f};
    return st;
}

/* w = mix * rrp * amp / (ema_e + 1e-6), with mix from the release probability and gate. */
ATTN_INLINE float attn_presynaptic_weight(attn_presynaptic_state st, float ema_e) {
    float c = st.c;
    float p1 = attn_sigmoidf(8.0f * (c - 0.55f));
    float p7 = attn_sigmoidf(3.0f * (c - 0.25f));
    float p = 0.8f * p1 + 0.2f * p7 + 0.08f * attn_sigmoidf(4.0f * (c - 0.12f));
    float gate = attn_sigmoidf(8.0f * (c - 0.55f) - 2.0f * st.cl);
    float mix = p * gate * st.sn;
    if (mix < 0.0f) mix = 0.0f;
    if (mix > 0.999f) mix = 0.999f;
    return mix * st.rrp * st.amp / (ema_e + 1e-6f);
}

#endif
