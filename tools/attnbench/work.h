/* The work one instance asks for, for TFLOP/s and GB/s. */
#ifndef ATTNBENCH_WORK_H
#define ATTNBENCH_WORK_H

#include "attn_case.h"

typedef struct bench_work {
    int64_t pairs; /* visible (query, key) pairs of one head, summed over the batch */
    double flops;  /* 2 * pairs * Hq * (D + Dv): Q.K^T and P.V, multiply-adds counted as 2 */
    double bytes;  /* the least traffic any backend needs (see work.c) */
} bench_work;

/* Counts exactly, row by row with attn_row_key_range: O(B * Tq * runs of documents). */
attn_status bench_count_work(const attn_instance *inst, bench_work *out, attn_error *err);

#endif
