/* Problem validation: everything that must hold before any plugin sees a problem. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "attn/host/attn_host.h"
#include "internal.h"
#include "tensor_check.h"

typedef struct named_tensor {
    const DLTensor *tensor;
    const char *name;
    int32_t ndim;
    int64_t expected[4];
    int32_t want_int32; /* 1: int32, 2: float32, 0: the problem's float dtype */
    byte_span span;
} named_tensor;

/* The checks of attn_problem_validate, on a problem of libattn's own size. */
static attn_status validate_adopted(const attn_problem *p, attn_error *err) {
    const char *main_names[4] = {"q", "k", "v", "o"};
    const DLTensor *main_tensors[4] = {&p->q, &p->k, &p->v, &p->o};
    for (int n = 0; n < 4; ++n) {
        if (!attn_tensor_present(main_tensors[n]))
            return attn_error_set(err, ATTN_E_INVALID, "%s: data is NULL (Q, K, V and O are required)", main_names[n]);
        if (main_tensors[n]->ndim != 4)
            return attn_error_set(err, ATTN_E_INVALID, "%s: rank %d, expected 4", main_names[n], main_tensors[n]->ndim);
        if (!main_tensors[n]->shape || !main_tensors[n]->strides)
            return attn_error_set(err, ATTN_E_INVALID, "%s: shape and strides must both be given (strides are never NULL)",
                                  main_names[n]);
        if (!attn_is_float_dtype(main_tensors[n]->dtype))
            return attn_error_set(err, ATTN_E_INVALID, "%s: dtype is %s (code %u, %u bits); expected float32, float16 or bfloat16",
                                  main_names[n], attn_dtype_text(main_tensors[n]->dtype), main_tensors[n]->dtype.code,
                                  main_tensors[n]->dtype.bits);
        if (memcmp(&main_tensors[n]->dtype, &p->q.dtype, sizeof p->q.dtype) != 0)
            return attn_error_set(err, ATTN_E_INVALID, "%s: dtype %s differs from q's %s", main_names[n],
                                  attn_dtype_text(main_tensors[n]->dtype), attn_dtype_text(p->q.dtype));
        if (!attn_same_device(main_tensors[n], &p->q))
            return attn_error_set(err, ATTN_E_INVALID, "%s: on device (%d, %d), q is on (%d, %d)", main_names[n],
                                  (int)main_tensors[n]->device.device_type, main_tensors[n]->device.device_id,
                                  (int)p->q.device.device_type, p->q.device.device_id);
    }
    int64_t batch = p->q.shape[0], hq = p->q.shape[1], tq = p->q.shape[2], d = p->q.shape[3];
    int64_t hkv = p->k.shape[1], tk = p->k.shape[2], dv = p->v.shape[3];
    if (hq < 1 || hkv < 1)
        return attn_error_set(err, ATTN_E_INVALID, "head counts must be at least 1 (Hq %lld, Hkv %lld)", (long long)hq,
                              (long long)hkv);
    if (hq % hkv != 0)
        return attn_error_set(err, ATTN_E_INVALID, "Hq %% Hkv != 0: %lld query heads cannot share %lld key/value heads",
                              (long long)hq, (long long)hkv);
    if (d < 1 || dv < 1)
        return attn_error_set(err, ATTN_E_INVALID, "head dims must be at least 1 (D %lld, Dv %lld)", (long long)d,
                              (long long)dv);

    named_tensor tensors[] = {
        {&p->q, "q", 4, {batch, hq, tq, d}, 0, {0, 0}},
        {&p->k, "k", 4, {batch, hkv, tk, d}, 0, {0, 0}},
        {&p->v, "v", 4, {batch, hkv, tk, dv}, 0, {0, 0}},
        {&p->o, "o", 4, {batch, hq, tq, dv}, 0, {0, 0}},
        {&p->lse, "lse", 3, {batch, hq, tq, 0}, 2, {0, 0}},
        {&p->q_len, "q_len", 1, {batch, 0, 0, 0}, 1, {0, 0}},
        {&p->kv_len, "kv_len", 1, {batch, 0, 0, 0}, 1, {0, 0}},
        {&p->doc_q, "doc_q", 2, {batch, tq, 0, 0}, 1, {0, 0}},
        {&p->doc_k, "doc_k", 2, {batch, tk, 0, 0}, 1, {0, 0}},
        {&p->prefix_len, "prefix_len", 1, {batch, 0, 0, 0}, 1, {0, 0}},
        {&p->alibi_slopes, "alibi_slopes", 1, {hq, 0, 0, 0}, 2, {0, 0}},
        {&p->synaptic_w, "synaptic_w", 3, {batch, hq, tk, 0}, 2, {0, 0}},
    };
    const size_t count = sizeof tensors / sizeof tensors[0];
    for (size_t n = 0; n < count; ++n) {
        named_tensor *t = &tensors[n];
        if (!attn_tensor_present(t->tensor)) continue;
        if (t->want_int32 == 1 && (t->tensor->dtype.code != kDLInt || t->tensor->dtype.bits != 32 || t->tensor->dtype.lanes != 1))
            return attn_error_set(err, ATTN_E_INVALID, "%s: dtype is %s, expected int32", t->name, attn_dtype_text(t->tensor->dtype));
        if (t->want_int32 == 2 && (t->tensor->dtype.code != kDLFloat || t->tensor->dtype.bits != 32 || t->tensor->dtype.lanes != 1))
            return attn_error_set(err, ATTN_E_INVALID, "%s: dtype is %s, expected float32", t->name, attn_dtype_text(t->tensor->dtype));
        if (!attn_same_device(t->tensor, &p->q))
            return attn_error_set(err, ATTN_E_INVALID, "%s: not on q's device", t->name);
        attn_status st = attn_check_tensor(t->tensor, t->name, t->ndim, t->expected, &t->span, err);
        if (st != ATTN_OK) return st;
    }
    if (attn_tensor_present(&p->doc_q) != attn_tensor_present(&p->doc_k))
        return attn_error_set(err, ATTN_E_INVALID, "doc_q and doc_k must be given together");

    attn_status st = attn_check_writable(&p->o, "o", err);
    if (st == ATTN_OK && attn_tensor_present(&p->lse)) st = attn_check_writable(&p->lse, "lse", err);
    if (st != ATTN_OK) return st;
    /* Outputs (o at 3, lse at 4) must not overlap any other tensor. */
    for (size_t out = 3; out <= 4; ++out) {
        if (!attn_tensor_present(tensors[out].tensor)) continue;
        for (size_t n = 0; n < count; ++n) {
            if (n == out || !attn_tensor_present(tensors[n].tensor)) continue;
            if (attn_spans_overlap(tensors[out].span, tensors[n].span))
                return attn_error_set(err, ATTN_E_INVALID, "%s aliases %s: outputs must not overlap any other tensor",
                                      tensors[out].name, tensors[n].name);
        }
    }

    if (p->causal != 0 && p->causal != 1)
        return attn_error_set(err, ATTN_E_INVALID, "causal is %d, expected 0 or 1", p->causal);
    if (p->window_left < -1 || p->window_right < -1)
        return attn_error_set(err, ATTN_E_INVALID, "window (%d, %d): each side must be >= 0, or -1 for unbounded",
                              p->window_left, p->window_right);
    switch (p->modifier) {
    case ATTN_MOD_NONE:
        break;
    case ATTN_MOD_SOFTCAP:
        if (!(p->softcap > 0.0f) || !isfinite(p->softcap))
            return attn_error_set(err, ATTN_E_INVALID, "softcap %g must be finite and > 0", (double)p->softcap);
        break;
    case ATTN_MOD_ALIBI:
        if (!attn_tensor_present(&p->alibi_slopes))
            return attn_error_set(err, ATTN_E_INVALID, "modifier alibi needs alibi_slopes [Hq] float32");
        break;
    case ATTN_MOD_SYNAPTIC:
        if (!attn_tensor_present(&p->synaptic_w))
            return attn_error_set(err, ATTN_E_INVALID, "modifier synaptic needs synaptic_w [B, Hq, Tk] float32");
        if (!isfinite(p->synaptic_lambda) || !isfinite(p->synaptic_beta) || !(p->synaptic_eps > 0.0f) ||
            !isfinite(p->synaptic_eps))
            return attn_error_set(err, ATTN_E_INVALID, "synaptic lambda %g, eps %g, beta %g: all finite and eps > 0",
                                  (double)p->synaptic_lambda, (double)p->synaptic_eps, (double)p->synaptic_beta);
        break;
    default:
        return attn_error_set(err, ATTN_E_INVALID, "modifier %d is not one of none (0), softcap (1), alibi (2), synaptic (3)",
                              p->modifier);
    }
    if (!(p->dropout_p >= 0.0f && p->dropout_p < 1.0f))
        return attn_error_set(err, ATTN_E_INVALID, "dropout p %g is outside [0, 1)", (double)p->dropout_p);
    if (!isfinite(p->scale) || p->scale < 0.0)
        return attn_error_set(err, ATTN_E_INVALID, "scale %g must be finite and >= 0 (0 means 1/sqrt(D))", p->scale);
    return attn_problem_validate_expressions(p, err);
}

attn_status attn_problem_adopt_valid(const attn_problem *given, attn_problem *out, attn_error *err) {
    attn_status st = attn_problem_adopt(given, out, err);
    return st == ATTN_OK ? validate_adopted(out, err) : st;
}

attn_status attn_problem_validate(const attn_problem *given, attn_error *err) {
    attn_problem adopted;
    return attn_problem_adopt_valid(given, &adopted, err);
}

attn_status attn_problem_validate_lengths(const attn_problem *p, const int32_t *q_len, const int32_t *kv_len,
                                          const int32_t *prefix_len, attn_error *err) {
    int64_t batch = p->q.shape[0], tq = p->q.shape[2], tk = p->k.shape[2];
    for (int64_t b = 0; b < batch; ++b) {
        if (q_len && (q_len[b] < 0 || q_len[b] > tq))
            return attn_error_set(err, ATTN_E_INVALID, "q_len[%lld] = %d is outside [0, Tq = %lld]", (long long)b, q_len[b],
                                  (long long)tq);
        if (kv_len && (kv_len[b] < 0 || kv_len[b] > tk))
            return attn_error_set(err, ATTN_E_INVALID, "kv_len[%lld] = %d is outside [0, Tk = %lld]", (long long)b,
                                  kv_len[b], (long long)tk);
        if (prefix_len && prefix_len[b] < 0)
            return attn_error_set(err, ATTN_E_INVALID, "prefix_len[%lld] = %d is negative", (long long)b, prefix_len[b]);
    }
    return ATTN_OK;
}

attn_dims attn_problem_dims(const attn_problem *p) {
    attn_dims dims = {p->q.shape[0], p->q.shape[1], p->k.shape[1], p->q.shape[2], p->k.shape[2], p->q.shape[3], p->v.shape[3]};
    return dims;
}

double attn_problem_scale(const attn_problem *p) { return p->scale != 0.0 ? p->scale : 1.0 / sqrt((double)p->q.shape[3]); }
