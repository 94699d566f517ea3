/* The attention problem: tensors as DLPack views plus the semantics of SPEC.md.
 *
 * Ownership: every pointer in an attn_problem is borrowed by the backend for the duration
 * of one call only.  All tensors (aux tensors included) live on the backend's device
 * (see attn_plugin_api.device_of).  O and LSE are caller-allocated and written by the
 * backend; everything else is read-only.
 *
 * Layout rule: this struct starts with its size and only ever grows at the end.  A reader
 * must treat fields beyond struct_size as absent (zero). */
#ifndef ATTN_PROBLEM_H
#define ATTN_PROBLEM_H

#include <dlpack/dlpack.h>
#include <stdint.h>

#include "attn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A tensor whose data is NULL is absent.  Strides are in elements and never NULL for a
 * present tensor. */
typedef struct attn_problem {
    uint32_t struct_size; /* sizeof(attn_problem) as the caller compiled it */
    uint32_t reserved0;

    /* Main tensors, all of one dtype (float32, float16 or bfloat16). */
    DLTensor q;   /* [B, Hq, Tq, D] */
    DLTensor k;   /* [B, Hkv, Tk, D] */
    DLTensor v;   /* [B, Hkv, Tk, Dv] */
    DLTensor o;   /* [B, Hq, Tq, Dv], written */
    DLTensor lse; /* [B, Hq, Tq] float32, written; optional */

    /* Lengths and positions (SPEC.md "Lengths and positions"), int32, optional. */
    DLTensor q_len;      /* [B] */
    DLTensor kv_len;     /* [B] */
    DLTensor doc_q;      /* [B, Tq] document ids of the queries */
    DLTensor doc_k;      /* [B, Tk] document ids of the keys */
    DLTensor prefix_len; /* [B] prefix-LM: keys below it are visible despite causality */

    /* Visibility. */
    int32_t causal;       /* 1: rule 2 of SPEC.md; 0: bidirectional */
    int32_t window_left;  /* -1: unbounded */
    int32_t window_right; /* -1: unbounded */

    /* Score modifier (ATTN_MOD_*). */
    int32_t modifier;
    float softcap;          /* c > 0 for ATTN_MOD_SOFTCAP */
    float synaptic_lambda;  /* ATTN_MOD_SYNAPTIC: lambda, eps, beta */
    float synaptic_eps;
    float synaptic_beta;
    DLTensor alibi_slopes;  /* [Hq] float32, for ATTN_MOD_ALIBI */
    DLTensor synaptic_w;    /* [B, Hq, Tk] float32, for ATTN_MOD_SYNAPTIC */

    /* Scale of q.k; 0 means the default 1/sqrt(D). */
    double scale;

    /* Dropout after the softmax (SPEC.md "Dropout"): p in [0, 1); p == 0 means none. */
    float dropout_p;
    uint32_t dropout_offset;
    uint64_t dropout_seed;

    /* Opaque device stream for asynchronous backends (a cudaStream_t for flex-cuda);
     * 0 means the backend's own default.  CPU backends ignore it. */
    uint64_t stream;
} attn_problem;

/* Convenience accessors used by host and plugins alike. */
static inline int attn_tensor_present(const DLTensor *t) { return t->data != 0; }

/* Default synaptic parameters (SPEC.md). */
#define ATTN_SYNAPTIC_LAMBDA_DEFAULT 1.0f
#define ATTN_SYNAPTIC_EPS_DEFAULT 1e-6f
#define ATTN_SYNAPTIC_BETA_DEFAULT 0.1f

#ifdef __cplusplus
}
#endif
#endif
