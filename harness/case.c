/* attn_case: defaults, labels and consistency checks. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "attn_case.h"
#include "case_aux.h"
#include "case_fields.h"

void attn_case_defaults(attn_case *c) {
    memset(c, 0, sizeof *c);
    for (uint32_t n = 0; n < attn_case_field_count(); ++n) attn_case_field_set_initial(c, attn_case_field_at(n));
}

void attn_case_label(const attn_case *c, char *out, size_t cap) {
    char extra[160] = "";
    size_t n = 0;
#define ADD(...) n += (size_t)snprintf(extra + n, n < sizeof extra ? sizeof extra - n : 0, __VA_ARGS__)
    if (!c->causal) ADD(" bidir");
    if (c->window_left >= 0 || c->window_right >= 0) ADD(" win%d,%d", c->window_left, c->window_right);
    if (c->has_lengths) ADD(" ragged");
    if (c->doc_count) ADD(" docs%d", c->doc_count);
    if (c->has_prefix) ADD(" prefix");
    if (c->modifier > ATTN_MOD_NONE && c->modifier < attn_modifier_count()) ADD(" %s", attn_modifier_name(c->modifier));
    if (c->mask_mod[0]) ADD(" mask_mod");
    if (c->score_mod[0]) ADD(" score_mod");
    if (c->dropout_p > 0.0f) ADD(" drop%.2g", (double)c->dropout_p);
    if (c->want_lse) ADD(" lse");
    if (c->kv_cache_len > c->kv_len) ADD(" cache%lld", (long long)c->kv_cache_len);
    if (c->layout == ATTN_LAYOUT_BTHD) ADD(" %s", attn_layout_name(c->layout));
    if (c->input_scale != 1.0f) ADD(" x%g", (double)c->input_scale);
#undef ADD
    const char *dtype = attn_dtype_short_name(c->dtype);
    if (c->value_dim != c->head_dim)
        snprintf(out, cap, "%s B%lld H%lld/%lld T%lldx%lld D%lld/%lld%s", dtype, (long long)c->batch, (long long)c->q_heads,
                 (long long)c->kv_heads, (long long)c->q_len, (long long)c->kv_len, (long long)c->head_dim,
                 (long long)c->value_dim, extra);
    else
        snprintf(out, cap, "%s B%lld H%lld/%lld T%lldx%lld D%lld%s", dtype, (long long)c->batch, (long long)c->q_heads,
                 (long long)c->kv_heads, (long long)c->q_len, (long long)c->kv_len, (long long)c->head_dim, extra);
}

/* Largest tensor the host generates for one instance, in elements: keeps a typo in a case
 * file (a stray zero) from asking for terabytes. */
#define ATTN_CASE_MAX_ELEMENTS (1LL << 31)

static int product_fits(int64_t a, int64_t b, int64_t c, int64_t d) {
    int64_t x;
    return !__builtin_mul_overflow(a, b, &x) && !__builtin_mul_overflow(x, c, &x) && !__builtin_mul_overflow(x, d, &x) &&
           x <= ATTN_CASE_MAX_ELEMENTS;
}

/* The aux tensors are well formed, mask_mod and score_mod parse as their kind over them (the
 * parser's message names the column), and score_mod is not given beside a built-in modifier. */
static attn_status attn_case_expressions_valid(const attn_case *c, const char *who, attn_error *err) {
    const struct {
        const char *field, *text;
        attn_expr_kind kind;
    } exprs[2] = {{"mask_mod", c->mask_mod, ATTN_EXPR_MASK}, {"score_mod", c->score_mod, ATTN_EXPR_SCORE}};
    attn_status st = attn_case_aux_validate(c, who, err);
    if (st != ATTN_OK) return st;
    attn_expr_aux declared[ATTN_CASE_MAX_AUX];
    attn_case_aux_declared(c, declared);
    for (int n = 0; n < 2; ++n) {
        if (!exprs[n].text[0]) continue;
        attn_expr *e = NULL;
        attn_error why;
        if (attn_expr_parse(exprs[n].text, exprs[n].kind, declared, (uint32_t)c->aux_count, &e, &why) != ATTN_OK)
            return attn_error_set(err, ATTN_E_INVALID, "%s: %s: %s", who, exprs[n].field, why.message);
        attn_expr_free(e);
    }
    if (c->score_mod[0] && c->modifier != ATTN_MOD_NONE)
        return attn_error_set(err, ATTN_E_INVALID, "%s: score_mod and modifier %s are both given: write the modifier into score_mod",
                              who, attn_modifier_name(c->modifier));
    return ATTN_OK;
}

attn_status attn_case_validate(const attn_case *c, attn_error *err) {
    const char *who = c->name[0] ? c->name : c->row;
    if (c->dtype < 0 || c->dtype >= ATTN_DTYPE_COUNT)
        return attn_error_set(err, ATTN_E_INVALID, "%s: dtype %d unknown", who, c->dtype);
    if (c->layout != ATTN_LAYOUT_BHTD && c->layout != ATTN_LAYOUT_BTHD)
        return attn_error_set(err, ATTN_E_INVALID, "%s: layout %d unknown", who, c->layout);
    if (c->batch < 1 || c->batch > ATTN_CASE_MAX_BATCH)
        return attn_error_set(err, ATTN_E_INVALID, "%s: batch %lld outside [1, %d]", who, (long long)c->batch, ATTN_CASE_MAX_BATCH);
    if (c->q_heads < 1 || c->kv_heads < 1 || c->q_heads % c->kv_heads)
        return attn_error_set(err, ATTN_E_INVALID, "%s: q_heads %lld must be a positive multiple of kv_heads %lld", who,
                              (long long)c->q_heads, (long long)c->kv_heads);
    if (c->q_len < 0 || c->kv_len < 0 || c->head_dim < 1 || c->value_dim < 1)
        return attn_error_set(err, ATTN_E_INVALID, "%s: q_len %lld, kv_len %lld >= 0 and head_dim %lld, value_dim %lld >= 1", who,
                              (long long)c->q_len, (long long)c->kv_len, (long long)c->head_dim, (long long)c->value_dim);
    if (c->kv_cache_len != 0 && c->kv_cache_len < c->kv_len)
        return attn_error_set(err, ATTN_E_INVALID, "%s: kv_cache_len %lld is shorter than kv_len %lld", who,
                              (long long)c->kv_cache_len, (long long)c->kv_len);
    int64_t cache = c->kv_cache_len > c->kv_len ? c->kv_cache_len : c->kv_len;
    int64_t dmax = c->head_dim > c->value_dim ? c->head_dim : c->value_dim;
    if (!product_fits(c->batch, c->q_heads, c->q_len, dmax) || !product_fits(c->batch, c->kv_heads, cache, dmax))
        return attn_error_set(err, ATTN_E_INVALID, "%s: tensors larger than 2^31 elements are not generated", who);
    if (c->causal != 0 && c->causal != 1) return attn_error_set(err, ATTN_E_INVALID, "%s: causal must be 0 or 1", who);
    if (c->window_left < -1 || c->window_right < -1)
        return attn_error_set(err, ATTN_E_INVALID, "%s: window sides must be >= -1", who);
    for (int64_t b = 0; c->has_lengths && b < c->batch; ++b)
        if (c->q_lens[b] < 0 || c->q_lens[b] > c->q_len || c->kv_lens[b] < 0 || c->kv_lens[b] > c->kv_len)
            return attn_error_set(err, ATTN_E_INVALID, "%s: batch %lld lengths q %d / kv %d outside [0, %lld] / [0, %lld]", who,
                                  (long long)b, c->q_lens[b], c->kv_lens[b], (long long)c->q_len, (long long)c->kv_len);
    if (c->doc_count < 0 || c->doc_count > ATTN_CASE_MAX_DOCS)
        return attn_error_set(err, ATTN_E_INVALID, "%s: doc_count %d outside [0, %d]", who, c->doc_count, ATTN_CASE_MAX_DOCS);
    for (int32_t d = 0; d < c->doc_count; ++d)
        if (c->doc_sizes[d] < 1) return attn_error_set(err, ATTN_E_INVALID, "%s: doc_sizes[%d] = %d must be >= 1", who, d, c->doc_sizes[d]);
    for (int64_t b = 0; c->has_prefix && b < c->batch; ++b)
        if (c->prefix_lens[b] < 0) return attn_error_set(err, ATTN_E_INVALID, "%s: prefix_lens[%lld] is negative", who, (long long)b);
    if (c->modifier < ATTN_MOD_NONE || c->modifier >= attn_modifier_count())
        return attn_error_set(err, ATTN_E_INVALID, "%s: modifier %d unknown", who, c->modifier);
    if (c->modifier == ATTN_MOD_SOFTCAP && !(c->softcap > 0.0f && isfinite(c->softcap)))
        return attn_error_set(err, ATTN_E_INVALID, "%s: softcap %g must be > 0", who, (double)c->softcap);
    if (c->modifier == ATTN_MOD_SYNAPTIC && !(c->synaptic_eps > 0.0f))
        return attn_error_set(err, ATTN_E_INVALID, "%s: synaptic_eps must be > 0", who);
    if (!(c->dropout_p >= 0.0f && c->dropout_p < 1.0f))
        return attn_error_set(err, ATTN_E_INVALID, "%s: dropout_p %g outside [0, 1)", who, (double)c->dropout_p);
    if (!isfinite(c->scale) || c->scale < 0.0) return attn_error_set(err, ATTN_E_INVALID, "%s: scale must be finite and >= 0", who);
    if (!(c->input_scale > 0.0f) || !isfinite(c->input_scale))
        return attn_error_set(err, ATTN_E_INVALID, "%s: input_scale must be finite and > 0", who);
    double largest = attn_dtype_largest(c->dtype);
    if ((double)c->input_scale * ATTN_INPUT_NORMAL_MAX > largest)
        return attn_error_set(err, ATTN_E_INVALID,
                              "%s: input_scale %g makes Q and K reach %.3g, past %s's largest value %.6g (they would be inf)",
                              who, (double)c->input_scale, (double)c->input_scale * ATTN_INPUT_NORMAL_MAX,
                              attn_dtype_name(c->dtype), largest);
    attn_status st = attn_case_expressions_valid(c, who, err);
    if (st != ATTN_OK) return st;
    if (c->checks & ATTN_CHECK_LSE_MERGE) {
        int position_free = !c->causal && c->window_left < 0 && c->window_right < 0 && !c->has_lengths && !c->doc_count &&
                            c->modifier != ATTN_MOD_ALIBI && c->modifier != ATTN_MOD_SYNAPTIC && c->dropout_p == 0.0f &&
                            !c->mask_mod[0] && !c->score_mod[0];
        if (!position_free)
            return attn_error_set(err, ATTN_E_INVALID,
                                  "%s: the LSE-merge check splits the keys in two, so it needs a bidirectional case without "
                                  "lengths, windows, documents, position-dependent modifiers, expressions or dropout",
                                  who);
    }
    if (c->checks & ~(uint32_t)(ATTN_CHECK_LSE_MERGE | ATTN_CHECK_KEPT_FRACTION))
        return attn_error_set(err, ATTN_E_INVALID, "%s: unknown check bits 0x%x", who, c->checks);
    return ATTN_OK;
}

void attn_case_problem_scalars(const attn_case *c, attn_problem *p) {
    p->causal = c->causal;
    p->window_left = c->window_left;
    p->window_right = c->window_right;
    p->modifier = c->modifier;
    p->softcap = c->softcap;
    p->synaptic_lambda = c->synaptic_lambda;
    p->synaptic_eps = c->synaptic_eps;
    p->synaptic_beta = c->synaptic_beta;
    p->scale = c->scale;
    p->dropout_p = c->dropout_p;
    p->dropout_seed = c->dropout_seed;
    p->dropout_offset = c->dropout_offset;
}
