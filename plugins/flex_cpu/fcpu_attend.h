/* One thread's share of a run: its buffers and oneDNN handles, the tile loop of one work
 * item, the merge of split items and the zero rows of padding. */
#ifndef FCPU_ATTEND_H
#define FCPU_ATTEND_H

#include <attn/plugin/attn_problem.h>

#include "fcpu_plan.h"
#include "fcpu_softmax.h"

typedef struct fcpu_thread {
    dnnl_stream_t stream;
    fcpu_exec *execs; /* [plan.n_prims], parallel to plan.prims */
    void *scratch;
    void *qp, *p, *kst, *vst;      /* packed Q [M, D], P [M, N], staged K [N, D] and V [N, Dv] */
    uint16_t *pst;                 /* AMX: P re-laid for P.V [M, N + FCPU_AMX_K] (NULL without AMX) */
    float *s, *o, *m, *l;          /* S [M, N], running O [M, Dv], max and sum [M] */
    int32_t *doc_k;                /* [N] */
    attn_row_mask *mask;           /* [nq] */
    int64_t *lo, *hi;              /* [nq] */
    uint64_t tiles_seen[3];        /* per class (FCPU_TILE_*): what the block mask skipped */
} fcpu_thread;

/* 0, or a oneDNN status / -1 for host memory, with msg filled. */
int fcpu_thread_init(fcpu_thread *th, const fcpu_plan *pl, dnnl_engine_t engine, char *msg, size_t msg_cap);
void fcpu_thread_free(fcpu_thread *th, const fcpu_plan *pl);

/* Computes one item: writes its rows of O (and LSE), or its partial result when split.
 * partial is the plan's [n_pieces] slots of m_max * (Dv + 2) floats. */
int fcpu_attend_item(const fcpu_plan *pl, const attn_problem *p, const fcpu_softmax_problem *sp, fcpu_thread *th,
                   const fcpu_item *it, float *partial, char *msg, size_t msg_cap);

/* Fills part `part` (< plan.prep_parts) of the prepared K^T and V, or AMX packs, of head hkv
 * of batch b (fcpu_plan.h), with the thread's tile buffers as scratch. */
void fcpu_prepare_head(const fcpu_plan *pl, fcpu_thread *th, int64_t b, int64_t hkv, int64_t part);

/* Combines the pieces of one split item through their maxima and sums, writes the rows. */
void fcpu_merge_item(const fcpu_plan *pl, const fcpu_merge *mg, const float *partial, fcpu_thread *th);

/* O = 0 and LSE = -inf for the padding rows i >= q_len[b] of query head h of batch b. */
void fcpu_write_padding(const fcpu_plan *pl, int64_t b, int64_t h);

/* Floats of one partial-result slot. */
static inline int64_t fcpu_partial_floats(const fcpu_plan *pl) { return pl->m_max * (pl->Dv + 2); }

#endif
