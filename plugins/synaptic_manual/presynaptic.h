/* The presynaptic weight w[B, Hq, Tk] of the synaptic modifier, computed from the layer's
 * state tensors (SPEC.md "Scores"), for callers that hold the state and want the `synaptic_w`
 * tensor a backend takes.  Header-only and host-side (CPU memory): include it, link nothing.
 *
 * The per-key formula is attn_presynaptic_weight (include/attn/plugin/attn_rules.h), so the weight a
 * caller builds here is the one every backend and the reference are tested against. */
#ifndef SYNAPTIC_MANUAL_PRESYNAPTIC_H
#define SYNAPTIC_MANUAL_PRESYNAPTIC_H

#include <attn/plugin/attn_access.h>
#include <attn/plugin/attn_rules.h>
#include <dlpack/dlpack.h>
#include <stdint.h>

/* State of every key of every (batch, query head): float32 tensors of shape [B, Hq, Tk] with
 * any strides, plus the scalar ema_e (1 when fresh). */
typedef struct synaptic_presynaptic_state {
    const DLTensor *c, *cl, *sn, *rrp, *amp;
    float ema_e;
} synaptic_presynaptic_state;

/* 1 when t is a float32 rank-3 tensor of the same shape as w, else 0. */
static inline int synaptic_presynaptic_same_shape(const DLTensor *t, const DLTensor *w) {
    if (!t || !t->data || t->ndim != 3 || t->dtype.code != kDLFloat || t->dtype.bits != 32) return 0;
    for (int d = 0; d < 3; ++d)
        if (t->shape[d] != w->shape[d]) return 0;
    return 1;
}

/* Writes w[b, h, j] = attn_presynaptic_weight(state of (b, h, j), ema_e) into the float32
 * tensor w.  Returns 0, or -1 (writing nothing) when a tensor is missing, not float32 or of
 * another shape. */
static inline int synaptic_presynaptic_weights(const synaptic_presynaptic_state *st, const DLTensor *w) {
    if (!w || !w->data || w->ndim != 3 || w->dtype.code != kDLFloat || w->dtype.bits != 32) return -1;
    const DLTensor *parts[5] = {st->c, st->cl, st->sn, st->rrp, st->amp};
    for (int n = 0; n < 5; ++n)
        if (!synaptic_presynaptic_same_shape(parts[n], w)) return -1;
    for (int64_t b = 0; b < w->shape[0]; ++b)
        for (int64_t h = 0; h < w->shape[1]; ++h)
            for (int64_t j = 0; j < w->shape[2]; ++j) {
                int64_t idx[3] = {b, h, j};
                attn_presynaptic_state key;
                key.c = attn_load_float(st->c, idx);
                key.cl = attn_load_float(st->cl, idx);
                key.sn = attn_load_float(st->sn, idx);
                key.rrp = attn_load_float(st->rrp, idx);
                key.amp = attn_load_float(st->amp, idx);
                *(float *)attn_elem_ptr(w, idx) = attn_presynaptic_weight(key, st->ema_e);
            }
    return 0;
}

/* The logit augmentation of the synaptic modifier without its distance barrier:
 * lambda * log(w * sigmoid(s) + eps).  At a fresh key (w = 1.6162e-3), score 0 and the
 * default lambda and eps it is -7.1196. */
static inline float synaptic_augmentation(float w, float s, float lambda, float eps) {
    return lambda * logf(w * attn_sigmoidf(s) + eps);
}

#endif
