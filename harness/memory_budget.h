/* The memory an instance will take, estimated before anything is allocated, against a budget:
 * a case with kv_len 2^31 - 1, or attnrun --head-dim 1000000, used to be OOM-killed (24 GB)
 * instead of refused.  The budget is $ATTN_MEMORY_BUDGET (bytes, or with a K, M or G suffix) or
 * else the machine's available memory (MemAvailable of /proc/meminfo). */
#ifndef ATTN_HARNESS_MEMORY_BUDGET_H
#define ATTN_HARNESS_MEMORY_BUDGET_H

#include "attn_case.h"

/* Bytes at the peak of running the instance through the harness: the float32 host inputs and
 * the backend's copy of them (the K/V cache at full length), and four copies of the outputs
 * (golden, baseline, a backend's result and its device copy).  Computed in double, so that no
 * size overflows. */
double attn_instance_estimated_bytes(const attn_case *c);

/* ATTN_OK when the instance fits the budget; otherwise ATTN_E_NOMEM naming both numbers and
 * where the budget came from (or ATTN_E_INVALID for a malformed $ATTN_MEMORY_BUDGET). */
attn_status attn_instance_check_budget(const attn_case *c, attn_error *err);

#endif
