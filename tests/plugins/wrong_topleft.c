/* wrong-topleft: a deliberately wrong backend, to prove that the matrix catches a bug.
 *
 * It computes SPEC.md in full (modifiers, dropout, LSE, documents, prefix-LM, per-batch
 * lengths, empty rows) with float32 accumulation, except for one thing: query i sits at
 * position i (top-left alignment, as PyTorch's is_causal and FlashAttention < 2.1 do)
 * instead of kv_len - q_len + i.  The position feeds the causal rule, the window, the
 * ALiBi / synaptic distance and the dropout counter, so every instance where some batch
 * has q_len != kv_len and one of those is on must FAIL, and every other one must PASS.
 *
 * The arithmetic follows sdpa-ref's baseline mode step by step but keeps everything in
 * float32 (no rounding of scores or P to the dtype), so where the alignment does not
 * matter its error stays within the baseline's and the row passes. */
#include <attn/plugin/attn_access.h>
#include <attn/plugin/attn_philox.h>
#include <attn/plugin/attn_plugin.h>
#include <attn/plugin/attn_rules.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/common/cpu_device.h"

/* THE BUG: top-left alignment.  The right answer is attn_query_pos(i, q_len, kv_len). */
static int64_t wrong_query_pos(int64_t i, int64_t q_len, int64_t kv_len) {
    (void)q_len;
    (void)kv_len;
    return i;
}

static attn_status wt_create(const attn_host_services *host, const attn_option *options, uint32_t option_count,
                             void **out, char *msg, uint32_t msg_cap) {
    (void)host;
    if (option_count > 0) {
        snprintf(msg, msg_cap, "unknown option '%s' (wrong-topleft takes no options)", options[0].key);
        return ATTN_E_INVALID;
    }
    static int instance; /* stateless: any non-NULL pointer */
    *out = &instance;
    return ATTN_OK;
}

static void wt_destroy(void *backend) { (void)backend; }

/* Everything the host validates is computable here. */
static attn_status wt_check(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap) {
    (void)backend;
    (void)problem;
    (void)msg;
    (void)msg_cap;
    return ATTN_OK;
}

static int64_t per_batch(const DLTensor *t, int64_t b, int64_t fallback) {
    if (!attn_tensor_present(t)) return fallback;
    int64_t idx[1] = {b};
    return attn_load_i32(t, idx);
}

/* The modifier's parameter for (b, h, j): softcap c, ALiBi slope or synaptic weight. */
static float modifier_param(const attn_problem *p, int64_t b, int64_t h, int64_t j) {
    if (p->modifier == ATTN_MOD_SOFTCAP) return p->softcap;
    if (p->modifier == ATTN_MOD_ALIBI) {
        int64_t idx[1] = {h};
        return attn_load_float(&p->alibi_slopes, idx);
    }
    if (p->modifier == ATTN_MOD_SYNAPTIC) {
        int64_t idx[3] = {b, h, j};
        return attn_load_float(&p->synaptic_w, idx);
    }
    return 0.0f;
}

/* Scratch of one row: scores and visibility over Tk keys, the output accumulator over Dv. */
typedef struct row_scratch {
    float *scores;
    unsigned char *visible;
    float *acc;
} row_scratch;

/* One query row (b, h, i) with i < q_len: fills acc[0..Dv) and returns the LSE. */
static float compute_row(const attn_problem *p, int64_t b, int64_t h, int64_t i, int64_t q_len, int64_t kv_len,
                         row_scratch *scratch) {
    const int64_t hq = p->q.shape[1], d = p->q.shape[3], hkv = p->k.shape[1], tk = p->k.shape[2];
    const int64_t dv = p->v.shape[3], kv_head = h / (hq / hkv);
    const float scale = (float)(p->scale != 0.0 ? p->scale : 1.0 / sqrt((double)d));
    attn_row_mask mask = {0};
    mask.pos = wrong_query_pos(i, q_len, kv_len);
    mask.kv_len = kv_len;
    mask.prefix_len = per_batch(&p->prefix_len, b, 0);
    mask.causal = p->causal;
    mask.window_left = p->window_left;
    mask.window_right = p->window_right;
    mask.has_docs = attn_tensor_present(&p->doc_q);
    if (mask.has_docs) {
        int64_t idx[2] = {b, i};
        mask.doc_q = attn_load_i32(&p->doc_q, idx);
    }

    float m = -INFINITY;
    for (int64_t j = 0; j < tk; ++j) {
        int32_t doc_k = 0;
        if (mask.has_docs) {
            int64_t idx[2] = {b, j};
            doc_k = attn_load_i32(&p->doc_k, idx);
        }
        scratch->visible[j] = (unsigned char)attn_key_visible(&mask, j, doc_k);
        if (!scratch->visible[j]) continue;
        float dot = 0.0f;
        for (int64_t e = 0; e < d; ++e) {
            int64_t qi[4] = {b, h, i, e}, ki[4] = {b, kv_head, j, e};
            dot += attn_load_float(&p->q, qi) * attn_load_float(&p->k, ki);
        }
        float s = attn_modify_scoref(p->modifier, dot * scale, modifier_param(p, b, h, j), fabsf((float)(mask.pos - j)),
                                     (float)kv_len, p->synaptic_lambda, p->synaptic_eps, p->synaptic_beta);
        scratch->scores[j] = s;
        if (s > m) m = s;
    }
    for (int64_t e = 0; e < dv; ++e) scratch->acc[e] = 0.0f;
    if (m == -INFINITY) return -INFINITY; /* no visible key: O = 0, LSE = -inf */

    float sum = 0.0f;
    for (int64_t j = 0; j < tk; ++j)
        if (scratch->visible[j]) sum += expf(scratch->scores[j] - m);
    const int dropout = p->dropout_p > 0.0f;
    const uint32_t threshold = attn_dropout_threshold(p->dropout_p);
    const float keep_scale = (float)(1.0 / (1.0 - (double)p->dropout_p));
    for (int64_t j = 0; j < tk; ++j) {
        if (!scratch->visible[j]) continue;
        float prob = expf(scratch->scores[j] - m) / sum;
        if (dropout)
            prob *= attn_dropout_keep(p->dropout_seed, p->dropout_offset, b, h, hq, mask.pos, j, threshold) ? keep_scale
                                                                                                            : 0.0f;
        if (prob == 0.0f) continue;
        for (int64_t e = 0; e < dv; ++e) {
            int64_t vi[4] = {b, kv_head, j, e};
            scratch->acc[e] += prob * attn_load_float(&p->v, vi);
        }
    }
    return m + logf(sum);
}

static attn_status wt_run(void *backend, const attn_problem *p, char *msg, uint32_t msg_cap) {
    (void)backend;
    const int64_t batch = p->q.shape[0], hq = p->q.shape[1], tq = p->q.shape[2];
    const int64_t tk = p->k.shape[2], dv = p->v.shape[3];
    /* The lengths live in (host) memory the host could not bound-check for us. */
    for (int64_t b = 0; b < batch; ++b) {
        int64_t q_len = per_batch(&p->q_len, b, tq), kv_len = per_batch(&p->kv_len, b, tk);
        if (q_len < 0 || q_len > tq || kv_len < 0 || kv_len > tk) {
            snprintf(msg, msg_cap, "batch %lld: q_len %lld / kv_len %lld outside [0, %lld] / [0, %lld]",
                     (long long)b, (long long)q_len, (long long)kv_len, (long long)tq, (long long)tk);
            return ATTN_E_INVALID;
        }
    }
    row_scratch scratch;
    scratch.scores = malloc(sizeof(float) * (size_t)(tk > 0 ? tk : 1));
    scratch.visible = malloc((size_t)(tk > 0 ? tk : 1));
    scratch.acc = malloc(sizeof(float) * (size_t)(dv > 0 ? dv : 1));
    if (!scratch.scores || !scratch.visible || !scratch.acc) {
        free(scratch.scores);
        free(scratch.visible);
        free(scratch.acc);
        snprintf(msg, msg_cap, "out of memory for a row of %lld keys", (long long)tk);
        return ATTN_E_NOMEM;
    }
    for (int64_t b = 0; b < batch; ++b) {
        int64_t q_len = per_batch(&p->q_len, b, tq), kv_len = per_batch(&p->kv_len, b, tk);
        for (int64_t h = 0; h < hq; ++h)
            for (int64_t i = 0; i < tq; ++i) {
                float lse = -INFINITY;
                if (i < q_len)
                    lse = compute_row(p, b, h, i, q_len, kv_len, &scratch);
                else
                    for (int64_t e = 0; e < dv; ++e) scratch.acc[e] = 0.0f; /* padding row */
                for (int64_t e = 0; e < dv; ++e) {
                    int64_t oi[4] = {b, h, i, e};
                    attn_store_float(&p->o, oi, scratch.acc[e]);
                }
                if (attn_tensor_present(&p->lse)) {
                    int64_t li[3] = {b, h, i};
                    *(float *)attn_elem_ptr(&p->lse, li) = lse;
                }
            }
    }
    free(scratch.scores);
    free(scratch.visible);
    free(scratch.acc);
    return ATTN_OK;
}

static const attn_plugin_api wrong_topleft_api = {
    sizeof(attn_plugin_api),
    ATTN_ABI_VERSION,
    "wrong-topleft",
    "1.0.0",
    "TEST ONLY: SPEC.md with top-left causal alignment, deliberately wrong where q_len != kv_len",
    wt_create,
    wt_destroy,
    cpu_device_of,
    wt_check,
    wt_run,
    ATTN_CPU_DEVICE_SERVICES,
};

ATTN_PLUGIN_EXPORT attn_status attn_plugin_query(uint32_t host_abi_version, const attn_host_services *host,
                                                 const attn_plugin_api **out_api, char *msg, uint32_t msg_cap) {
    (void)host;
    if (ATTN_ABI_VERSION_MAJOR_OF(host_abi_version) != ATTN_ABI_MAJOR) {
        snprintf(msg, msg_cap, "wrong-topleft speaks ABI %u.x; the host offers %u.%u", ATTN_ABI_MAJOR,
                 ATTN_ABI_VERSION_MAJOR_OF(host_abi_version), ATTN_ABI_VERSION_MINOR_OF(host_abi_version));
        return ATTN_E_ABI;
    }
    *out_api = &wrong_topleft_api;
    return ATTN_OK;
}
