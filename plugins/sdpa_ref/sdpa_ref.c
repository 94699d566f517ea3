/* sdpa-ref: the reference.  Every row of SPEC.md, computed one query row at a time with
 * no cleverness, so that it can be read against the spec line by line.
 *
 * Two modes (option `mode`):
 *   golden   (default) float64 accumulation; the result is rounded to the dtype once, at
 *            the end.  This is the oracle every backend is compared with.
 *   baseline the plain materialised computation in the problem's dtype (SPEC.md): scores,
 *            modifier and softmax in float32, P rounded to the dtype before P.V, P.V
 *            accumulated in float32, O rounded to the dtype.  Its distance from golden
 *            sets the tolerance.  Scores are not rounded to the dtype: that would make the
 *            tolerance of the large-logits row (scores near 1e4, a bf16 unit of 64) so
 *            loose that any answer passed. */
#include <attn/plugin/attn_access.h>
#include <attn/plugin/attn_philox.h>
#include <attn/plugin/attn_plugin.h>
#include <attn/plugin/attn_rules.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cpu_device.h"
#include "../common/cpu_lengths.h"

typedef struct sdpa_ref {
    int32_t baseline; /* 0: golden, 1: baseline */
} sdpa_ref;

static attn_status ref_create(const attn_host_services *host, const attn_option *options, uint32_t option_count,
                              void **out, char *msg, uint32_t msg_cap) {
    (void)host;
    sdpa_ref self = {0};
    for (uint32_t n = 0; n < option_count; ++n) {
        const attn_option *opt = &options[n];
        if (strcmp(opt->key, "mode") == 0) {
            if (strcmp(opt->value, "golden") == 0)
                self.baseline = 0;
            else if (strcmp(opt->value, "baseline") == 0)
                self.baseline = 1;
            else {
                snprintf(msg, msg_cap, "option mode: '%s' is not golden or baseline", opt->value);
                return ATTN_E_INVALID;
            }
        } else {
            snprintf(msg, msg_cap, "unknown option '%s' (known: mode)", opt->key);
            return ATTN_E_INVALID;
        }
    }
    sdpa_ref *instance = malloc(sizeof *instance);
    if (!instance) {
        snprintf(msg, msg_cap, "out of memory");
        return ATTN_E_NOMEM;
    }
    *instance = self;
    *out = instance;
    return ATTN_OK;
}

static void ref_destroy(void *backend) { free(backend); }

/* The reference computes every valid problem: there is nothing to refuse. */
static attn_status ref_check(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap) {
    (void)backend;
    (void)problem;
    (void)msg;
    (void)msg_cap;
    return ATTN_OK;
}

/* The modifier's parameter for (b, h, j): softcap c, ALiBi slope or synaptic weight. */
static double modifier_param(const attn_problem *p, int64_t b, int64_t h, int64_t j) {
    switch (p->modifier) {
    case ATTN_MOD_SOFTCAP:
        return p->softcap;
    case ATTN_MOD_ALIBI: {
        int64_t idx[1] = {h};
        return attn_load_float(&p->alibi_slopes, idx);
    }
    case ATTN_MOD_SYNAPTIC: {
        int64_t idx[3] = {b, h, j};
        return attn_load_float(&p->synaptic_w, idx);
    }
    default:
        return 0.0;
    }
}

typedef struct row_context {
    const attn_problem *p;
    int64_t b, h, i, hkv, tk, d, dv, hq;
    attn_row_mask mask;
    double scale;
    uint32_t drop_threshold;
    double drop_scale;
    uint8_t code, bits; /* the problem dtype */
    float *q_row, *k_row, *v_row; /* scratch: the query row and one key / value row */
} row_context;

static int key_visible(const row_context *r, int64_t j) {
    int32_t doc_k = 0;
    if (r->mask.has_docs) {
        int64_t idx[2] = {r->b, j};
        doc_k = attn_load_i32(&r->p->doc_k, idx);
    }
    return attn_key_visible(&r->mask, j, doc_k);
}

static double dropout_factor(const row_context *r, int64_t j) {
    if (r->p->dropout_p <= 0.0f) return 1.0;
    return attn_dropout_keep(r->p->dropout_seed, r->p->dropout_offset, r->b, r->h, r->hq, r->mask.pos, j,
                             r->drop_threshold)
               ? r->drop_scale
               : 0.0;
}

/* Golden row: float64 all the way, rounded once when stored. scores[] holds Tk doubles. */
static void golden_row(const row_context *r, double *scores, unsigned char *visible, double *acc, double *lse) {
    const attn_problem *p = r->p;
    double m = -INFINITY;
    for (int64_t j = 0; j < r->tk; ++j) {
        visible[j] = (unsigned char)key_visible(r, j);
        if (!visible[j]) continue;
        int64_t ki[4] = {r->b, r->hkv, j, 0};
        attn_load_floats(&p->k, ki, r->d, r->k_row);
        double dot = 0.0;
        for (int64_t e = 0; e < r->d; ++e) dot += (double)r->q_row[e] * (double)r->k_row[e];
        double s = attn_modify_score(p->modifier, r->scale * dot, modifier_param(p, r->b, r->h, j),
                                     fabs((double)(r->mask.pos - j)), (double)r->mask.kv_len, p->synaptic_lambda,
                                     p->synaptic_eps, p->synaptic_beta);
        scores[j] = s;
        if (s > m) m = s;
    }
    for (int64_t e = 0; e < r->dv; ++e) acc[e] = 0.0;
    if (m == -INFINITY) {
        *lse = -INFINITY;
        return;
    }
    double sum = 0.0;
    for (int64_t j = 0; j < r->tk; ++j)
        if (visible[j]) sum += exp(scores[j] - m);
    *lse = m + log(sum);
    for (int64_t j = 0; j < r->tk; ++j) {
        if (!visible[j]) continue;
        double weight = exp(scores[j] - *lse) * dropout_factor(r, j);
        if (weight == 0.0) continue;
        int64_t vi[4] = {r->b, r->hkv, j, 0};
        attn_load_floats(&p->v, vi, r->dv, r->v_row);
        for (int64_t e = 0; e < r->dv; ++e) acc[e] += weight * (double)r->v_row[e];
    }
}

/* Baseline row: what an eager framework computes in the problem's dtype. */
static void baseline_row(const row_context *r, double *scores, unsigned char *visible, double *acc, double *lse) {
    const attn_problem *p = r->p;
    float m = -INFINITY;
    for (int64_t j = 0; j < r->tk; ++j) {
        visible[j] = (unsigned char)key_visible(r, j);
        if (!visible[j]) continue;
        int64_t ki[4] = {r->b, r->hkv, j, 0};
        attn_load_floats(&p->k, ki, r->d, r->k_row);
        float dot = 0.0f;
        for (int64_t e = 0; e < r->d; ++e) dot += r->q_row[e] * r->k_row[e];
        float s = attn_modify_scoref(p->modifier, dot * (float)r->scale, (float)modifier_param(p, r->b, r->h, j),
                                     fabsf((float)(r->mask.pos - j)), (float)r->mask.kv_len, p->synaptic_lambda,
                                     p->synaptic_eps, p->synaptic_beta);
        scores[j] = s;
        if (s > m) m = s;
    }
    for (int64_t e = 0; e < r->dv; ++e) acc[e] = 0.0;
    if (m == -INFINITY) {
        *lse = -INFINITY;
        return;
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < r->tk; ++j)
        if (visible[j]) sum += expf((float)scores[j] - m);
    *lse = m + logf(sum);
    for (int64_t j = 0; j < r->tk; ++j) {
        if (!visible[j]) continue;
        float prob = attn_round_to(r->code, r->bits, expf((float)scores[j] - m) / sum);
        prob = attn_round_to(r->code, r->bits, prob * (float)dropout_factor(r, j));
        if (prob == 0.0f) continue;
        int64_t vi[4] = {r->b, r->hkv, j, 0};
        attn_load_floats(&p->v, vi, r->dv, r->v_row);
        for (int64_t e = 0; e < r->dv; ++e) acc[e] = (float)acc[e] + prob * r->v_row[e]; /* float32 accumulation */
    }
}

static attn_status ref_run(void *backend, const attn_problem *p, char *msg, uint32_t msg_cap) {
    const sdpa_ref *self = backend;
    int64_t batch = p->q.shape[0], hq = p->q.shape[1], tq = p->q.shape[2], d = p->q.shape[3];
    int64_t hkv = p->k.shape[1], tk = p->k.shape[2], dv = p->v.shape[3];
    attn_status st = cpu_check_lengths(p, msg, msg_cap);
    if (st != ATTN_OK) return st;

    double *scores = malloc(sizeof(double) * (size_t)(tk > 0 ? tk : 1));
    unsigned char *visible = malloc((size_t)(tk > 0 ? tk : 1));
    double *acc = malloc(sizeof(double) * (size_t)dv);
    float *vectors = malloc(sizeof(float) * (size_t)(2 * d + dv));
    if (!scores || !visible || !acc || !vectors) {
        free(scores);
        free(visible);
        free(acc);
        free(vectors);
        snprintf(msg, msg_cap, "out of memory for a row of %lld keys", (long long)tk);
        return ATTN_E_NOMEM;
    }
    row_context r = {0};
    r.p = p;
    r.tk = tk;
    r.d = d;
    r.dv = dv;
    r.hq = hq;
    r.scale = p->scale != 0.0 ? p->scale : 1.0 / sqrt((double)d);
    r.drop_threshold = attn_dropout_threshold(p->dropout_p);
    r.drop_scale = 1.0 / (1.0 - (double)p->dropout_p);
    r.code = p->q.dtype.code;
    r.bits = p->q.dtype.bits;
    r.q_row = vectors;
    r.k_row = vectors + d;
    r.v_row = vectors + 2 * d;
    int64_t group = hq / hkv;

    for (int64_t b = 0; b < batch; ++b) {
        int64_t q_len = cpu_per_batch(&p->q_len, b, tq), kv_len = cpu_per_batch(&p->kv_len, b, tk);
        for (int64_t h = 0; h < hq; ++h) {
            for (int64_t i = 0; i < tq; ++i) {
                double lse = -INFINITY;
                r.b = b;
                r.h = h;
                r.i = i;
                r.hkv = h / group;
                if (i < q_len) {
                    r.mask.pos = attn_query_pos(i, q_len, kv_len);
                    r.mask.kv_len = kv_len;
                    r.mask.prefix_len = cpu_per_batch(&p->prefix_len, b, 0);
                    r.mask.causal = p->causal;
                    r.mask.window_left = p->window_left;
                    r.mask.window_right = p->window_right;
                    r.mask.has_docs = attn_tensor_present(&p->doc_q);
                    if (r.mask.has_docs) {
                        int64_t idx[2] = {b, i};
                        r.mask.doc_q = attn_load_i32(&p->doc_q, idx);
                    }
                    int64_t qi[4] = {b, h, i, 0};
                    attn_load_floats(&p->q, qi, d, r.q_row);
                    if (self->baseline)
                        baseline_row(&r, scores, visible, acc, &lse);
                    else
                        golden_row(&r, scores, visible, acc, &lse);
                } else {
                    for (int64_t e = 0; e < dv; ++e) acc[e] = 0.0;
                }
                for (int64_t e = 0; e < dv; ++e) {
                    int64_t oi[4] = {b, h, i, e};
                    attn_store_float(&p->o, oi, (float)acc[e]);
                }
                if (attn_tensor_present(&p->lse)) {
                    int64_t li[3] = {b, h, i};
                    *(float *)attn_elem_ptr(&p->lse, li) = (float)lse;
                }
            }
        }
    }
    free(scores);
    free(visible);
    free(acc);
    free(vectors);
    return ATTN_OK;
}

/* ABI 1.1: what attninfo prints.  The reference has no limit to state: it is the spec. */
static attn_status ref_describe(void *backend, char *out, uint32_t out_cap) {
    const sdpa_ref *self = backend;
    snprintf(out, out_cap,
             "mode %s; dtypes float32 float16 bfloat16 (LSE float32); any head dim and value dim; any strides; "
             "features: causal, bidirectional, windows, lengths, documents, prefix-LM, softcap, ALiBi, synaptic, "
             "dropout (Philox), LSE; %s accumulation; CPU, one query row at a time",
             self->baseline ? "baseline" : "golden", self->baseline ? "float32 (P rounded to the dtype)" : "float64");
    return ATTN_OK;
}

static const attn_plugin_api sdpa_ref_api = {
    .struct_size = sizeof(attn_plugin_api),
    .abi_version = ATTN_ABI_VERSION,
    .name = "sdpa-ref",
    .version = "1.0.0",
    .description = "float64 reference of SPEC.md on the CPU (mode golden) and the eager same-dtype baseline "
                   "(mode baseline)",
    .create = ref_create,
    .destroy = ref_destroy,
    .device_of = cpu_device_of,
    .check = ref_check,
    .run = ref_run,
    ATTN_CPU_DEVICE_SERVICES,
    .describe = ref_describe,
};

ATTN_PLUGIN_ENTRY(sdpa_ref_api)
