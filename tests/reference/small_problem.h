/* Tiny float32 problems built by hand on the host, for testing the reference against values
 * worked out on paper.  Contiguous BHTD tensors; every aux tensor optional. */
#ifndef ATTN_TEST_SMALL_PROBLEM_H
#define ATTN_TEST_SMALL_PROBLEM_H

#include <attn/plugin/attn_problem.h>
#include <stdlib.h>
#include <string.h>

typedef struct small_problem {
    attn_problem p;
    int64_t shapes[8][4], strides[8][4];
    float *q, *k, *v, *o, *lse;
    int32_t q_len[8], kv_len[8];
    int64_t b, hq, hkv, tq, tk, d, dv;
} small_problem;

/* A contiguous host tensor of any dtype over data; its shape and strides are kept in the
 * caller's shape_out / strides_out (ndim entries each), which must outlive it. */
static inline void contiguous_tensor(DLTensor *t, void *data, int32_t ndim, const int64_t *shape, uint8_t code,
                                     uint8_t bits, int64_t *shape_out, int64_t *strides_out) {
    int64_t stride = 1;
    for (int32_t n = ndim - 1; n >= 0; --n) {
        shape_out[n] = shape[n];
        strides_out[n] = stride;
        stride *= shape[n];
    }
    memset(t, 0, sizeof *t);
    t->data = data;
    t->device.device_type = kDLCPU;
    t->ndim = ndim;
    t->dtype.code = code;
    t->dtype.bits = bits;
    t->dtype.lanes = 1;
    t->shape = shape_out;
    t->strides = strides_out;
}

/* A float32 (or, is_int, int32) tensor of the problem in slot `slot` of its shape store. */
static inline void small_tensor(small_problem *s, DLTensor *t, void *data, int slot, int32_t ndim, const int64_t *shape,
                                int is_int) {
    contiguous_tensor(t, data, ndim, shape, is_int ? kDLInt : kDLFloat, 32, s->shapes[slot], s->strides[slot]);
}

/* Zeroed inputs of the given sizes, causal, scale 1, with LSE requested. */
static inline void small_init(small_problem *s, int64_t b, int64_t hq, int64_t hkv, int64_t tq, int64_t tk, int64_t d, int64_t dv) {
    memset(s, 0, sizeof *s);
    s->b = b, s->hq = hq, s->hkv = hkv, s->tq = tq, s->tk = tk, s->d = d, s->dv = dv;
    s->q = calloc((size_t)(b * hq * tq * d), sizeof(float));
    s->k = calloc((size_t)(b * hkv * tk * d + 1), sizeof(float));
    s->v = calloc((size_t)(b * hkv * tk * dv + 1), sizeof(float));
    s->o = calloc((size_t)(b * hq * tq * dv + 1), sizeof(float));
    s->lse = calloc((size_t)(b * hq * tq + 1), sizeof(float));
    small_tensor(s, &s->p.q, s->q, 0, 4, (int64_t[]){b, hq, tq, d}, 0);
    small_tensor(s, &s->p.k, s->k, 1, 4, (int64_t[]){b, hkv, tk, d}, 0);
    small_tensor(s, &s->p.v, s->v, 2, 4, (int64_t[]){b, hkv, tk, dv}, 0);
    small_tensor(s, &s->p.o, s->o, 3, 4, (int64_t[]){b, hq, tq, dv}, 0);
    small_tensor(s, &s->p.lse, s->lse, 4, 3, (int64_t[]){b, hq, tq}, 0);
    s->p.struct_size = sizeof s->p;
    s->p.causal = 1;
    s->p.window_left = s->p.window_right = -1;
    s->p.scale = 1.0;
    s->p.synaptic_lambda = 1.0f;
    s->p.synaptic_eps = 1e-6f;
    s->p.synaptic_beta = 0.1f;
}

static inline void small_lengths(small_problem *s, const int32_t *q_len, const int32_t *kv_len) {
    memcpy(s->q_len, q_len, sizeof(int32_t) * (size_t)s->b);
    memcpy(s->kv_len, kv_len, sizeof(int32_t) * (size_t)s->b);
    small_tensor(s, &s->p.q_len, s->q_len, 5, 1, (int64_t[]){s->b}, 1);
    small_tensor(s, &s->p.kv_len, s->kv_len, 6, 1, (int64_t[]){s->b}, 1);
}

static inline void small_free(small_problem *s) {
    free(s->q);
    free(s->k);
    free(s->v);
    free(s->o);
    free(s->lse);
}

/* Element addresses of the canonical layout. */
#define SQ(s, b, h, i, e) (s)->q[(((b) * (s)->hq + (h)) * (s)->tq + (i)) * (s)->d + (e)]
#define SK(s, b, h, j, e) (s)->k[(((b) * (s)->hkv + (h)) * (s)->tk + (j)) * (s)->d + (e)]
#define SV(s, b, h, j, e) (s)->v[(((b) * (s)->hkv + (h)) * (s)->tk + (j)) * (s)->dv + (e)]
#define SO(s, b, h, i, e) (s)->o[(((b) * (s)->hq + (h)) * (s)->tq + (i)) * (s)->dv + (e)]
#define SL(s, b, h, i) (s)->lse[((b) * (s)->hq + (h)) * (s)->tq + (i)]

#endif
