/* ABI 1.2's mask_mod and score_mod read on the CPU (SPEC.md "Expressions"), for the plugins
 * whose tensors are host memory (sdpa-ref, synaptic-manual): each expression bound to the
 * problem's aux tensors by name and evaluated in float64 by the header-only evaluator of
 * attn_expr.h, one pair at a time.  The first error that reaches a visible pair's result is
 * kept with the pair, for the run to report. */
#ifndef ATTN_CPU_EXPR_H
#define ATTN_CPU_EXPR_H

#include <attn/plugin/attn_expr.h>
#include <attn/plugin/attn_problem.h>
#include <stdio.h>
#include <string.h>

typedef struct cpu_expr {
    const attn_expr *e; /* NULL: none */
    const char *field;  /* "mask_mod" / "score_mod", for messages */
    attn_expr_tensor aux[ATTN_PROBLEM_MAX_AUX];
} cpu_expr;

/* The first run-time error of a problem's expressions, and the pair it happened at. */
typedef struct cpu_expr_error {
    int status; /* ATTN_EXPR_OK: none */
    const char *field;
    int64_t b, h, q_idx, kv_idx;
} cpu_expr_error;

/* Binds both expressions of a problem; 0 when it has neither (or its host predates them). */
static inline int cpu_expr_bind_problem(cpu_expr *mask_mod, cpu_expr *score_mod, const attn_problem *p);

/* Binds e's aux reads to the problem's tensors of the same names (host memory: the reference
 * runs on the CPU).  A name the problem lacks, which validation refuses, binds to rank -1, so
 * that evaluating it gives ATTN_EXPR_E_ENV instead of a read. */
static inline void cpu_expr_bind(cpu_expr *x, const attn_expr *e, const char *field, const attn_problem *p) {
    memset(x, 0, sizeof *x);
    x->e = e;
    x->field = field;
    if (!e) return;
    for (uint32_t k = 0; k < e->aux_count && k < ATTN_PROBLEM_MAX_AUX; ++k) {
        attn_expr_tensor *t = &x->aux[k];
        t->rank = -1;
        for (uint32_t n = 0; n < p->aux_count; ++n) {
            if (strcmp(p->aux_names[n], e->aux[k].name) != 0) continue;
            const DLTensor *d = &p->aux[n];
            t->data = (const char *)d->data + d->byte_offset;
            t->elem = e->aux[k].type == ATTN_EXPR_FLOAT ? ATTN_EXPR_ELEM_F32
                      : e->aux[k].type == ATTN_EXPR_INT ? ATTN_EXPR_ELEM_I32
                                                        : ATTN_EXPR_ELEM_BOOL_U8;
            t->rank = d->ndim;
            t->shape = d->shape;
            t->strides = d->strides;
        }
    }
}

static inline int cpu_expr_bind_problem(cpu_expr *mask_mod, cpu_expr *score_mod, const attn_problem *p) {
    int has = ATTN_PROBLEM_HAS(p, aux_count); /* a host of an older minor hands no such fields */
    cpu_expr_bind(mask_mod, has ? p->mask_mod : NULL, "mask_mod", p);
    cpu_expr_bind(score_mod, has ? p->score_mod : NULL, "score_mod", p);
    return mask_mod->e || score_mod->e;
}

/* Evaluates x at one pair (score is ignored by a mask).  On an error, records the first one
 * in *error and answers 0 (a mask: not visible; a score: 0, unused since the run fails). */
static inline attn_expr_value cpu_expr_eval(const cpu_expr *x, attn_expr_scratch *scratch, int64_t b, int64_t h,
                                            int64_t q_idx, int64_t kv_idx, double score, cpu_expr_error *error) {
    attn_expr_env env = {b, h, q_idx, kv_idx, score, x->e->aux_count, x->aux};
    attn_expr_value out = {0};
    int status = attn_expr_eval(x->e, &env, scratch, &out);
    if (status == ATTN_EXPR_OK) return out;
    if (error->status == ATTN_EXPR_OK) *error = (cpu_expr_error){status, x->field, b, h, q_idx, kv_idx};
    return (attn_expr_value){0};
}

/* "mask_mod: division by zero at b 0, h 1, q_idx 5, kv_idx 3" */
static inline void cpu_expr_error_message(const cpu_expr_error *error, char *msg, uint32_t msg_cap) {
    const char *what = error->status == ATTN_EXPR_E_DIV_ZERO ? "division by zero"
                       : error->status == ATTN_EXPR_E_INDEX  ? "an aux index outside its tensor"
                       : error->status == ATTN_EXPR_E_ENV    ? "an aux tensor that does not match the expression"
                                                             : "a malformed expression";
    snprintf(msg, msg_cap, "%s: %s at b %lld, h %lld, q_idx %lld, kv_idx %lld (%s)", error->field, what,
             (long long)error->b, (long long)error->h, (long long)error->q_idx, (long long)error->kv_idx,
             error->status == ATTN_EXPR_E_DIV_ZERO ? "ATTN_EXPR_E_DIV_ZERO"
             : error->status == ATTN_EXPR_E_INDEX  ? "ATTN_EXPR_E_INDEX"
             : error->status == ATTN_EXPR_E_ENV    ? "ATTN_EXPR_E_ENV"
                                                   : "ATTN_EXPR_E_MALFORMED");
}

#endif
