/* FLOPs from visible pairs, not from B*H*Tq*Tk: a causal prefill does half the work of a
 * bidirectional one, and a backend that skips masked blocks should not be credited for
 * FLOPs nobody needs.
 *
 * Bytes: Q rows that are not padding, all of O (padding rows are written as zeros), LSE
 * when asked, and K and V once per kv head over the span of keys that any row of the batch
 * entry can see (the hull of the rows' key ranges), plus the synaptic weights over that
 * span.  That is the floor of the traffic: GB/s against it shows how close a decode kernel
 * gets to the memory bandwidth. */
#include "work.h"

#include <stdlib.h>

#include <attn/plugin/attn_rules.h>

/* A run of consecutive keys with one document id. */
typedef struct doc_run {
    int64_t begin, end;
    int32_t id;
} doc_run;

static int64_t count_runs(const int32_t *doc_k, int64_t tk, doc_run *runs) {
    int64_t n = 0;
    for (int64_t j = 0; j < tk; ++j) {
        if (n && runs[n - 1].id == doc_k[j]) runs[n - 1].end = j + 1;
        else runs[n++] = (doc_run){j, j + 1, doc_k[j]};
    }
    return n;
}

/* Keys of [lo, hi) in document `id`. */
static int64_t keys_in_document(const doc_run *runs, int64_t run_count, int64_t lo, int64_t hi, int32_t id) {
    int64_t total = 0;
    for (int64_t r = 0; r < run_count && runs[r].begin < hi; ++r) {
        if (runs[r].id != id || runs[r].end <= lo) continue;
        int64_t begin = runs[r].begin > lo ? runs[r].begin : lo, end = runs[r].end < hi ? runs[r].end : hi;
        total += end - begin;
    }
    return total;
}

attn_status bench_count_work(const attn_instance *inst, bench_work *out, attn_error *err) {
    const attn_case *c = &inst->c;
    int64_t tq = c->q_len, tk = c->kv_len;
    double elem = (double)attn_dtype_size(c->dtype);
    doc_run *runs = NULL;
    if (inst->doc_k && !(runs = malloc(sizeof *runs * (size_t)(tk ? tk : 1))))
        return attn_error_set(err, ATTN_E_NOMEM, "out of memory counting the work of %s", c->name);

    *out = (bench_work){0};
    for (int64_t b = 0; b < c->batch; ++b) {
        int64_t q_len = inst->q_lens ? inst->q_lens[b] : tq, kv_len = inst->kv_lens ? inst->kv_lens[b] : tk;
        int64_t run_count = runs ? count_runs(inst->doc_k + b * tk, tk, runs) : 0;
        int64_t span_lo = kv_len, span_hi = 0;
        for (int64_t i = 0; i < q_len; ++i) {
            attn_row_mask row = {
                .pos = attn_query_pos(i, q_len, kv_len),
                .kv_len = kv_len,
                .prefix_len = inst->prefix_lens ? inst->prefix_lens[b] : 0,
                .causal = c->causal,
                .window_left = c->window_left,
                .window_right = c->window_right,
                .has_docs = runs != NULL,
                .doc_q = inst->doc_q ? inst->doc_q[b * tq + i] : 0,
            };
            int64_t lo, hi;
            attn_row_key_range(&row, &lo, &hi);
            if (hi <= lo) continue;
            out->pairs += runs ? keys_in_document(runs, run_count, lo, hi, row.doc_q) : hi - lo;
            if (lo < span_lo) span_lo = lo;
            if (hi > span_hi) span_hi = hi;
        }
        double span = span_hi > span_lo ? (double)(span_hi - span_lo) : 0.0;
        out->bytes += elem * (double)(c->q_heads * q_len * c->head_dim);
        out->bytes += elem * (double)(c->q_heads * tq * c->value_dim);
        out->bytes += elem * (double)c->kv_heads * span * (double)(c->head_dim + c->value_dim);
        if (c->want_lse) out->bytes += 4.0 * (double)(c->q_heads * tq);
        if (c->modifier == ATTN_MOD_SYNAPTIC) out->bytes += 4.0 * (double)c->q_heads * span;
    }
    out->flops = 2.0 * (double)out->pairs * (double)c->q_heads * (double)(c->head_dim + c->value_dim);
    free(runs);
    return ATTN_OK;
}
