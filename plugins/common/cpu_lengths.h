/* Per-batch lengths as a CPU backend reads them: the [B] int32 tensors live in host memory,
 * and the host cannot bound their values (they are device data to it), so a CPU backend
 * checks them before using them to index K and V.  Header-only, like cpu_device.h. */
#ifndef ATTN_PLUGINS_CPU_LENGTHS_H
#define ATTN_PLUGINS_CPU_LENGTHS_H

#include <attn/plugin/attn_access.h>
#include <attn/plugin/attn_problem.h>
#include <stdio.h>

/* Element b of an optional [B] int32 tensor, or the fallback when it is absent. */
static inline int64_t cpu_per_batch(const DLTensor *t, int64_t b, int64_t fallback) {
    if (!attn_tensor_present(t)) return fallback;
    int64_t idx[1] = {b};
    return attn_load_i32(t, idx);
}

/* ATTN_E_INVALID, naming the batch, when q_len / kv_len fall outside [0, Tq] / [0, Tk]. */
static inline attn_status cpu_check_lengths(const attn_problem *p, char *msg, uint32_t msg_cap) {
    int64_t batch = p->q.shape[0], tq = p->q.shape[2], tk = p->k.shape[2];
    for (int64_t b = 0; b < batch; ++b) {
        int64_t ql = cpu_per_batch(&p->q_len, b, tq), kl = cpu_per_batch(&p->kv_len, b, tk);
        if (ql < 0 || ql > tq || kl < 0 || kl > tk) {
            snprintf(msg, msg_cap, "batch %lld: q_len %lld / kv_len %lld outside [0, %lld] / [0, %lld]", (long long)b,
                     (long long)ql, (long long)kl, (long long)tq, (long long)tk);
            return ATTN_E_INVALID;
        }
    }
    return ATTN_OK;
}

#endif
