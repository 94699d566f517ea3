/* The attention problem: tensors as DLPack views plus the semantics of SPEC.md.
 *
 * Ownership: every pointer in an attn_problem, and the data behind it, is borrowed from the
 * host during the call; for a run() that works asynchronously on a device stream, until the
 * host's next synchronize() returns (docs/PLUGINS.md, "Ownership").  All tensors (aux tensors
 * included) live on the backend's device (attn_plugin_api.device_of).  O and LSE are
 * caller-allocated and written by the backend; everything else is read-only.
 *
 * Growth: this struct starts with its size and only ever grows at the end, under a
 * "---- ABI 1.N ----" mark, and an appended field's zero value means "feature off".  libattn
 * hands every plugin a problem of libattn's own size (fields a caller compiled against older
 * headers did not have are zero), so a plugin built against newer headers reads each field
 * appended after 1.0 only where ATTN_PROBLEM_HAS says the host's struct reaches it. */
#ifndef ATTN_PROBLEM_H
#define ATTN_PROBLEM_H

#include <dlpack/dlpack.h>
#include <stddef.h>
#include <stdint.h>

#include "attn_expr.h"
#include "attn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A tensor whose data is NULL is absent.  Strides are in elements and never NULL for a
 * present tensor. */
typedef struct attn_problem {
    uint32_t struct_size; /* sizeof(attn_problem) as the caller compiled it: libattn reads that many bytes */
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

    /* ---- ABI 1.2: programmable masks and scores (SPEC.md "Expressions") ---- */
    /* A bool expression (attn_expr.h): pair (b, h, i, j) is visible where SPEC's rules and the
     * expression both say so.  NULL: none. */
    const attn_expr *mask_mod;
    /* A float expression: the score of each visible pair becomes score_mod(score), `score` being
     * the scaled dot product; -inf hides the pair.  NULL: none.  Excludes `modifier`. */
    const attn_expr *score_mod;
    /* The auxiliary tensors the expressions name (attn_expr.aux[k].name), on q's device: float32
     * for a float, int32 for an int, uint8 or bool for a bool aux, of the rank it is read with. */
    const DLTensor *aux;          /* [aux_count] */
    const char *const *aux_names; /* [aux_count], distinct */
    uint32_t aux_count;           /* at most ATTN_PROBLEM_MAX_AUX */
    uint32_t reserved1;

    /* ---- ABI 1.N: new fields are appended here, read through ATTN_PROBLEM_HAS ---- */
} attn_problem;

#define ATTN_PROBLEM_MAX_AUX 16

/* The size of the problem as ABI 1.0 defined it: the least a host hands over. */
#define ATTN_PROBLEM_SIZE_1_0 (offsetof(attn_problem, stream) + sizeof(uint64_t))

/* 1 when a struct of type `type` at `ptr`, whose writer set struct_size, reaches past `field`.
 * ATTN_PROBLEM_HAS is the one a plugin uses; the general form lets a test, or a plugin built
 * ahead of its headers, describe a layout the headers do not have yet. */
#define ATTN_STRUCT_HAS(type, ptr, field) ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))
#define ATTN_PROBLEM_HAS(problem, field) ATTN_STRUCT_HAS(attn_problem, problem, field)

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
