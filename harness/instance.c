/* Host tensors of a problem instance, generated deterministically from the case's seed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attn/plugin/attn_access.h"
#include "attn_case.h"
#include "case_aux.h"
#include "memory_budget.h"
#include "random.h"
#include "attn/plugin/attn_philox.h"
#include "attn/plugin/attn_rules.h"

/* Unit-variance, bell-shaped values: the sum of four 16-bit uniforms from one 64-bit draw
 * (Irwin-Hall), centred and scaled.  Its tails stop at +-3.46, which test data never
 * needs beyond (large logits come from input_scale), and it costs one splitmix64 per
 * value: benchmark shapes of 10^8 elements generate in well under a second. */
typedef struct normal_source {
    uint64_t state;
} normal_source;

static double next_normal(normal_source *src) {
    uint64_t bits = attn_random_u64(&src->state);
    double sum = (double)(bits & 0xffff) + (double)((bits >> 16) & 0xffff) + (double)((bits >> 32) & 0xffff) +
                 (double)(bits >> 48) + 2.0; /* each uniform is (u + 0.5) / 65536 */
    return (sum / 65536.0 - 2.0) * 1.7320508075688772;
}

/* Normal values times `scale`, already rounded to the dtype. */
static float *normal_tensor(size_t count, double scale, int32_t dtype, normal_source *state) {
    float *t = malloc(sizeof(float) * (count ? count : 1));
    if (!t) return NULL;
    DLDataType dl = attn_dtype_dl(dtype);
    for (size_t n = 0; n < count; ++n) t[n] = attn_round_to(dl.code, dl.bits, (float)(next_normal(state) * scale));
    return t;
}

static int32_t *int_copy(const int32_t *src, int64_t count) {
    int32_t *t = malloc(sizeof(int32_t) * (size_t)(count ? count : 1));
    if (t) memcpy(t, src, sizeof(int32_t) * (size_t)count);
    return t;
}

void attn_instance_free(attn_instance *inst) {
    free(inst->q);
    free(inst->k);
    free(inst->v);
    free(inst->q_lens);
    free(inst->kv_lens);
    free(inst->prefix_lens);
    free(inst->doc_q);
    free(inst->doc_k);
    free(inst->alibi_slopes);
    free(inst->synaptic_w);
    attn_expr_free(inst->mask_mod);
    attn_expr_free(inst->score_mod);
    for (int32_t k = 0; k < ATTN_CASE_MAX_AUX; ++k) free(inst->aux[k]);
    memset(inst, 0, sizeof *inst);
}

/* Document of key j: consecutive segments of doc_sizes, the last one running to the end. */
static int32_t document_of(const attn_case *c, int64_t j) {
    int64_t end = 0;
    for (int32_t d = 0; d < c->doc_count; ++d) {
        end += c->doc_sizes[d];
        if (j < end) return d;
    }
    return c->doc_count - 1;
}

static attn_status make_documents(const attn_case *c, attn_instance *inst) {
    int64_t tq = c->q_len, tk = c->kv_len;
    inst->doc_q = malloc(sizeof(int32_t) * (size_t)(c->batch * tq + 1));
    inst->doc_k = malloc(sizeof(int32_t) * (size_t)(c->batch * tk + 1));
    if (!inst->doc_q || !inst->doc_k) return ATTN_E_NOMEM;
    for (int64_t b = 0; b < c->batch; ++b) {
        int64_t q_len = c->has_lengths ? c->q_lens[b] : tq, kv_len = c->has_lengths ? c->kv_lens[b] : tk;
        for (int64_t j = 0; j < tk; ++j) inst->doc_k[b * tk + j] = document_of(c, j);
        /* A query belongs to the document of the key at its own position. */
        for (int64_t i = 0; i < tq; ++i) {
            int64_t pos = attn_query_pos(i, q_len, kv_len);
            inst->doc_q[b * tq + i] = document_of(c, pos < 0 ? 0 : pos);
        }
    }
    return ATTN_OK;
}

/* Presynaptic weights from a random state per key: a spread of weights, fresh keys included. */
static float *make_synaptic_weights(const attn_case *c, uint64_t *state) {
    size_t count = (size_t)(c->batch * c->q_heads * c->kv_len);
    float *w = malloc(sizeof(float) * (count ? count : 1));
    if (!w) return NULL;
    for (size_t n = 0; n < count; ++n) {
        attn_presynaptic_state st = attn_presynaptic_fresh();
        if (attn_random_uniform(state) > 0.25) { /* a quarter of the keys stay fresh */
            st.c = (float)attn_random_uniform(state);
            st.cl = (float)attn_random_uniform(state);
            st.sn = (float)(0.4 + 0.6 * attn_random_uniform(state));
            st.rrp = (float)(1.0 + 7.0 * attn_random_uniform(state));
            st.amp = (float)(0.5 + attn_random_uniform(state));
        }
        w[n] = attn_presynaptic_weight(st, 1.0f);
    }
    return w;
}

attn_status attn_instance_make(const attn_case *c, attn_instance *out, attn_error *err) {
    memset(out, 0, sizeof *out);
    attn_status st = attn_case_validate(c, err);
    if (st != ATTN_OK) return st;
    out->c = *c;
    if (!out->c.name[0]) attn_case_label(c, out->c.name, sizeof out->c.name);
    st = attn_instance_check_budget(&out->c, err);
    if (st != ATTN_OK) return st;
    normal_source normals = {c->data_seed * 0x2545F4914F6CDD1DULL + 17};
    size_t nq = (size_t)(c->batch * c->q_heads * c->q_len * c->head_dim);
    size_t nk = (size_t)(c->batch * c->kv_heads * c->kv_len * c->head_dim);
    size_t nv = (size_t)(c->batch * c->kv_heads * c->kv_len * c->value_dim);
    out->q = normal_tensor(nq, c->input_scale, c->dtype, &normals);
    out->k = normal_tensor(nk, c->input_scale, c->dtype, &normals);
    out->v = normal_tensor(nv, 1.0, c->dtype, &normals);
    int failed = !out->q || !out->k || !out->v;
    if (!failed && c->has_lengths) {
        out->q_lens = int_copy(c->q_lens, c->batch);
        out->kv_lens = int_copy(c->kv_lens, c->batch);
        failed = !out->q_lens || !out->kv_lens;
    }
    if (!failed && c->has_prefix) failed = !(out->prefix_lens = int_copy(c->prefix_lens, c->batch));
    if (!failed && c->doc_count) failed = make_documents(c, out) != ATTN_OK;
    if (!failed && c->modifier == ATTN_MOD_ALIBI) {
        out->alibi_slopes = malloc(sizeof(float) * (size_t)c->q_heads);
        failed = !out->alibi_slopes;
        /* The geometric slopes of the ALiBi paper: 2^(-8 (h+1) / H). */
        for (int64_t h = 0; !failed && h < c->q_heads; ++h)
            out->alibi_slopes[h] = (float)pow(2.0, -8.0 * (double)(h + 1) / (double)c->q_heads);
    }
    if (!failed && c->modifier == ATTN_MOD_SYNAPTIC) failed = !(out->synaptic_w = make_synaptic_weights(c, &normals.state));
    /* attn_case_validate parsed them already: only memory can fail here */
    attn_expr_aux declared[ATTN_CASE_MAX_AUX];
    attn_case_aux_declared(c, declared);
    uint32_t aux_count = (uint32_t)c->aux_count;
    if (!failed && c->mask_mod[0])
        failed = attn_expr_parse(c->mask_mod, ATTN_EXPR_MASK, declared, aux_count, &out->mask_mod, err) != ATTN_OK;
    if (!failed && c->score_mod[0])
        failed = attn_expr_parse(c->score_mod, ATTN_EXPR_SCORE, declared, aux_count, &out->score_mod, err) != ATTN_OK;
    for (int32_t k = 0; !failed && k < c->aux_count; ++k) failed = !(out->aux[k] = attn_case_aux_make(c, k));
    if (failed) {
        attn_instance_free(out);
        return attn_error_set(err, ATTN_E_NOMEM, "%s: out of host memory generating inputs", c->name);
    }
    return ATTN_OK;
}

void attn_result_free(attn_result *r) {
    free(r->o);
    free(r->lse);
    r->o = r->lse = NULL;
}

double attn_instance_kept_fraction(const attn_instance *inst) {
    const attn_case *c = &inst->c;
    uint32_t threshold = attn_dropout_threshold(c->dropout_p);
    uint64_t kept = 0, total = 0;
    for (int64_t b = 0; b < c->batch; ++b) {
        int64_t q_len = inst->q_lens ? inst->q_lens[b] : c->q_len, kv_len = inst->kv_lens ? inst->kv_lens[b] : c->kv_len;
        for (int64_t h = 0; h < c->q_heads; ++h)
            for (int64_t i = 0; i < q_len; ++i) {
                attn_row_mask row = {attn_query_pos(i, q_len, kv_len), kv_len, inst->prefix_lens ? inst->prefix_lens[b] : 0,
                                     c->causal, c->window_left, c->window_right, inst->doc_q != NULL,
                                     inst->doc_q ? inst->doc_q[b * c->q_len + i] : 0};
                for (int64_t j = 0; j < kv_len; ++j) {
                    if (!attn_key_visible(&row, j, inst->doc_k ? inst->doc_k[b * c->kv_len + j] : 0)) continue;
                    ++total;
                    kept += (uint64_t)attn_dropout_keep(c->dropout_seed, c->dropout_offset, b, h, c->q_heads, row.pos, j,
                                                        threshold);
                }
            }
    }
    return total ? (double)kept / (double)total : 1.0;
}
