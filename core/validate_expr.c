/* Validation of ABI 1.2's fields: mask_mod, score_mod and the auxiliary tensors they read
 * (SPEC.md "Expressions").  After this, a backend may trust that each expression is a tree the
 * parser could have built, and that every aux tensor an expression names is in the problem
 * with the rank and element type the expression reads it with. */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "tensor_check.h"

/* The DLPack dtype each expression type is stored as (SPEC.md). */
static int aux_dtype_fits(attn_expr_type type, DLDataType t) {
    if (t.lanes != 1) return 0;
    switch (type) {
    case ATTN_EXPR_FLOAT: return t.code == kDLFloat && t.bits == 32;
    case ATTN_EXPR_INT: return t.code == kDLInt && t.bits == 32;
    case ATTN_EXPR_BOOL: return t.code == kDLUInt && t.bits == 8;
    default: return 0;
    }
}

static const char *aux_dtype_wanted(attn_expr_type type) {
    return type == ATTN_EXPR_FLOAT ? "float32" : type == ATTN_EXPR_INT ? "int32" : "uint8";
}

/* The problem's aux tensor of that name, -1 if none. */
static int32_t find_aux(const attn_problem *p, const char *name) {
    for (uint32_t k = 0; k < p->aux_count; ++k)
        if (strcmp(p->aux_names[k], name) == 0) return (int32_t)k;
    return -1;
}

/* The problem's aux tensors on their own: named, distinct, well-formed, on q's device, not
 * overlapping an output. */
static attn_status validate_aux_tensors(const attn_problem *p, attn_error *err) {
    if (p->aux_count > ATTN_PROBLEM_MAX_AUX)
        return attn_error_set(err, ATTN_E_INVALID, "aux_count %u is more than %d auxiliary tensors", p->aux_count,
                              ATTN_PROBLEM_MAX_AUX);
    if (p->aux_count && (!p->aux || !p->aux_names))
        return attn_error_set(err, ATTN_E_INVALID, "aux_count is %u but aux or aux_names is NULL", p->aux_count);
    byte_span o_span, lse_span = {0, 0};
    int64_t any[ATTN_PROBLEM_MAX_RANK] = {-1, -1, -1, -1};
    attn_check_tensor(&p->o, "o", 4, any, &o_span, err); /* validated already: cannot fail */
    if (attn_tensor_present(&p->lse)) attn_check_tensor(&p->lse, "lse", 3, any, &lse_span, err);
    for (uint32_t k = 0; k < p->aux_count; ++k) {
        const char *name = p->aux_names[k];
        if (!name || !name[0]) return attn_error_set(err, ATTN_E_INVALID, "aux %u: the name is empty or NULL", k);
        for (uint32_t other = 0; other < k; ++other)
            if (strcmp(p->aux_names[other], name) == 0)
                return attn_error_set(err, ATTN_E_INVALID, "aux '%s' is given twice (aux %u and %u)", name, other, k);
        const DLTensor *t = &p->aux[k];
        if (!attn_tensor_present(t)) return attn_error_set(err, ATTN_E_INVALID, "aux '%s': data is NULL", name);
        if (t->ndim < 0 || t->ndim > ATTN_EXPR_MAX_ARITY)
            return attn_error_set(err, ATTN_E_INVALID, "aux '%s': rank %d is outside 0..%d", name, t->ndim,
                                  ATTN_EXPR_MAX_ARITY);
        if (!attn_same_device(t, &p->q)) return attn_error_set(err, ATTN_E_INVALID, "aux '%s': not on q's device", name);
        byte_span span;
        char label[96];
        snprintf(label, sizeof label, "aux '%.64s'", name);
        attn_status st = attn_check_tensor(t, label, t->ndim, any, &span, err);
        if (st != ATTN_OK) return st;
        if (attn_spans_overlap(span, o_span) || attn_spans_overlap(span, lse_span))
            return attn_error_set(err, ATTN_E_INVALID, "%s aliases an output: outputs must not overlap any other tensor", label);
    }
    return ATTN_OK;
}

/* One expression: a well-formed tree of its kind, whose aux reads the problem's tensors serve. */
static attn_status validate_expression(const attn_problem *p, const attn_expr *e, attn_expr_kind kind,
                                       const char *field, attn_error *err) {
    attn_status st = attn_expr_verify(e, kind, field, err);
    if (st != ATTN_OK) return st;
    for (uint32_t k = 0; k < e->aux_count; ++k) {
        const attn_expr_aux *want = &e->aux[k];
        int32_t at = find_aux(p, want->name);
        if (at < 0)
            return attn_error_set(err, ATTN_E_INVALID, "%s reads aux '%.64s', which the problem does not give (aux_names)",
                                  field, want->name);
        const DLTensor *t = &p->aux[at];
        if (t->ndim != want->rank)
            return attn_error_set(err, ATTN_E_INVALID, "%s reads aux '%.64s' with %d indices, the tensor has rank %d", field,
                                  want->name, want->rank, t->ndim);
        if (!aux_dtype_fits(want->type, t->dtype))
            return attn_error_set(err, ATTN_E_INVALID, "%s reads aux '%.64s' as %s: it must be %s, it is %s", field,
                                  want->name,
                                  want->type == ATTN_EXPR_FLOAT ? "a float" : want->type == ATTN_EXPR_INT ? "an int" : "a bool",
                                  aux_dtype_wanted(want->type), attn_dtype_text(t->dtype));
    }
    return ATTN_OK;
}

attn_status attn_problem_validate_expressions(const attn_problem *p, attn_error *err) {
    attn_status st = validate_aux_tensors(p, err);
    if (st == ATTN_OK && p->mask_mod) st = validate_expression(p, p->mask_mod, ATTN_EXPR_MASK, "mask_mod", err);
    if (st == ATTN_OK && p->score_mod) st = validate_expression(p, p->score_mod, ATTN_EXPR_SCORE, "score_mod", err);
    if (st == ATTN_OK && p->score_mod && p->modifier != ATTN_MOD_NONE)
        return attn_error_set(err, ATTN_E_INVALID,
                              "score_mod and modifier %d are both set: write the modifier into score_mod (SPEC.md, "
                              "\"Expressions\" shows softcap and ALiBi as expressions)",
                              p->modifier);
    return st;
}
