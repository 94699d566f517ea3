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
#include <attn/plugin/attn_plugin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cpu_device.h"
#include "reference_rows.h"

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

/* Golden row: float64 all the way, rounded once when stored. scores[] holds Tk doubles. */
static void golden_row(ref_rows *r, double *scores, unsigned char *visible, double *acc, double *lse) {
    double m = -INFINITY;
    for (int64_t j = 0; j < r->tk; ++j) {
        visible[j] = (unsigned char)ref_rows_key_visible(r, j);
        if (!visible[j]) continue;
        scores[j] = ref_rows_score(r, j, NULL, NULL);
        if (scores[j] == -INFINITY) { /* score_mod hid it */
            visible[j] = 0;
            continue;
        }
        if (scores[j] > m) m = scores[j];
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
        double weight = exp(scores[j] - *lse) * ref_rows_dropout(r, j);
        if (weight == 0.0) continue;
        const float *v = ref_rows_load_value(r, j);
        for (int64_t e = 0; e < r->dv; ++e) acc[e] += weight * (double)v[e];
    }
}

/* Baseline row: what an eager framework computes in the problem's dtype. */
static void baseline_row(ref_rows *r, double *scores, unsigned char *visible, double *acc, double *lse) {
    const attn_problem *p = r->p;
    uint8_t code = p->q.dtype.code, bits = p->q.dtype.bits;
    float m = -INFINITY;
    for (int64_t j = 0; j < r->tk; ++j) {
        visible[j] = (unsigned char)ref_rows_key_visible(r, j);
        if (!visible[j]) continue;
        const float *k = ref_rows_load_key(r, j);
        float dot = 0.0f;
        for (int64_t e = 0; e < r->d; ++e) dot += r->q_row[e] * k[e];
        float s = attn_modify_scoref(p->modifier, dot * (float)r->scale, (float)ref_rows_modifier_param(r, j),
                                     fabsf((float)(r->mask.pos - j)), (float)r->mask.kv_len, p->synaptic_lambda,
                                     p->synaptic_eps, p->synaptic_beta);
        if (r->score_mod.e) /* evaluated in float64 on the float32 score, rounded back */
            s = (float)cpu_expr_eval(&r->score_mod, r->expr_scratch, r->b, r->h, r->mask.pos, j,
                                     (double)(dot * (float)r->scale), &r->expr_error)
                    .f;
        if (s == -INFINITY) {
            visible[j] = 0;
            continue;
        }
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
        float prob = attn_round_to(code, bits, expf((float)scores[j] - m) / sum);
        prob = attn_round_to(code, bits, prob * (float)ref_rows_dropout(r, j));
        if (prob == 0.0f) continue;
        const float *v = ref_rows_load_value(r, j);
        for (int64_t e = 0; e < r->dv; ++e) acc[e] = (float)acc[e] + prob * v[e]; /* float32 accumulation */
    }
}

static attn_status ref_run(void *backend, const attn_problem *p, char *msg, uint32_t msg_cap) {
    const sdpa_ref *self = backend;
    ref_rows r;
    attn_status st = ref_rows_init(&r, p, msg, msg_cap);
    if (st != ATTN_OK) return st;
    double *scores = malloc(sizeof(double) * (size_t)(r.tk > 0 ? r.tk : 1));
    unsigned char *visible = malloc((size_t)(r.tk > 0 ? r.tk : 1));
    double *acc = malloc(sizeof(double) * (size_t)(r.dv > 0 ? r.dv : 1));
    if (!scores || !visible || !acc) {
        free(scores);
        free(visible);
        free(acc);
        ref_rows_free(&r);
        snprintf(msg, msg_cap, "out of memory for a row of %lld keys", (long long)r.tk);
        return ATTN_E_NOMEM;
    }
    for (int64_t b = 0; b < r.batch; ++b)
        for (int64_t h = 0; h < r.hq; ++h)
            for (int64_t i = 0; i < r.tq; ++i) {
                double lse = -INFINITY;
                if (!ref_rows_begin(&r, b, h, i))
                    for (int64_t e = 0; e < r.dv; ++e) acc[e] = 0.0;
                else if (self->baseline)
                    baseline_row(&r, scores, visible, acc, &lse);
                else
                    golden_row(&r, scores, visible, acc, &lse);
                for (int64_t e = 0; e < r.dv; ++e) {
                    int64_t oi[4] = {b, h, i, e};
                    attn_store_float(&p->o, oi, (float)acc[e]);
                }
                if (attn_tensor_present(&p->lse)) {
                    int64_t li[3] = {b, h, i};
                    *(float *)attn_elem_ptr(&p->lse, li) = (float)lse;
                }
            }
    free(scores);
    free(visible);
    free(acc);
    /* An expression's error at a visible pair fails the call: O holds no answer then. */
    int expr_status = r.expr_error.status;
    if (expr_status != ATTN_EXPR_OK) cpu_expr_error_message(&r.expr_error, msg, msg_cap);
    ref_rows_free(&r);
    return expr_status == ATTN_EXPR_OK ? ATTN_OK : ATTN_E_INVALID;
}

/* ABI 1.1: what attninfo prints.  The reference has no limit to state: it is the spec. */
static attn_status ref_describe(void *backend, char *out, uint32_t out_cap) {
    const sdpa_ref *self = backend;
    snprintf(out, out_cap,
             "mode %s; dtypes float32 float16 bfloat16 (LSE float32); any head dim and value dim; any strides; "
             "features: causal, bidirectional, windows, lengths, documents, prefix-LM, softcap, ALiBi, synaptic, "
             "dropout (Philox), LSE, mask_mod and score_mod (interpreted); %s accumulation; CPU, one query row at a time",
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
    .reads = ATTN_READS_MASK_MOD | ATTN_READS_SCORE_MOD, /* ABI 1.2: interpreted, reference_expr.h */
};

ATTN_PLUGIN_ENTRY(sdpa_ref_api)
