/* One thread's share of a run: its buffers and oneDNN handles, the tile loop of one work
 * item, the merge of split items and the zero rows of padding. */
#ifndef FC_ATTEND_H
#define FC_ATTEND_H

#include <attn/plugin/attn_problem.h>

#include "fc_plan.h"
#include "fc_softmax.h"

typedef struct fc_thread {
    dnnl_stream_t stream;
    fc_exec *execs; /* [plan.n_prims], parallel to plan.prims */
    void *scratch;
    void *qp, *p, *kst, *vst;      /* packed Q [M, D], P [M, N], staged K [N, D] and V [N, Dv] */
    uint16_t *pst;                 /* AMX: P re-laid for P.V [M, N + FC_AMX_K] (NULL without AMX) */
    float *s, *o, *m, *l;          /* S [M, N], running O [M, Dv], max and sum [M] */
    int32_t *doc_k;                /* [N] */
    attn_row_mask *mask;           /* [nq] */
    int64_t *lo, *hi;              /* [nq] */
    uint64_t tiles_seen[3];        /* per class (FC_TILE_*): what the block mask skipped */
} fc_thread;

/* 0, or a oneDNN status / -1 for host memory, with msg filled. */
int fc_thread_init(fc_thread *th, const fc_plan *pl, dnnl_engine_t engine, char *msg, size_t msg_cap);
void fc_thread_free(fc_thread *th, const fc_plan *pl);

/* Computes one item: writes its rows of O (and LSE), or its partial result when split.
 * partial is the plan's [n_pieces] slots of m_max * (Dv + 2) floats. */
int fc_attend_item(const fc_plan *pl, const attn_problem *p, const fc_softmax_problem *sp, fc_thread *th,
                   const fc_item *it, float *partial, char *msg, size_t msg_cap);

/* Fills part `part` (< plan.prep_parts) of the prepared K^T and V, or AMX packs, of head hkv
 * of batch b (fc_plan.h), with the thread's tile buffers as scratch. */
void fc_prepare_head(const fc_plan *pl, fc_thread *th, int64_t b, int64_t hkv, int64_t part);

/* Combines the pieces of one split item through their maxima and sums, writes the rows. */
void fc_merge_item(const fc_plan *pl, const fc_merge *mg, const float *partial, fc_thread *th);

/* O = 0 and LSE = -inf for the padding rows i >= q_len[b] of query head h of batch b. */
void fc_write_padding(const fc_plan *pl, int64_t b, int64_t h);

/* Floats of one partial-result slot. */
static inline int64_t fc_partial_floats(const fc_plan *pl) { return pl->m_max * (pl->Dv + 2); }

#endif
