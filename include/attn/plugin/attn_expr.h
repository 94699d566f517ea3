/* The expression format of mask_mod / score_mod (SPEC.md, "Expressions"): a typed tree in
 * postfix order that libattn's parser builds (include/attn/host/attn_expr_parse.h) and a plugin
 * reads, plus the reference evaluator every backend can compile.  Header-only, C99, no libattn
 * link; usable from C, C++ and CUDA device code like attn_rules.h.
 *
 * Only fixed-width integers, pointers and these structs cross the plugin boundary (PLUGINS.md):
 * the "enums" below are #defines over int32_t / uint8_t for that reason. */
#ifndef ATTN_EXPR_H
#define ATTN_EXPR_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "attn_inline.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Value types. */
typedef int32_t attn_expr_type;
#define ATTN_EXPR_BOOL 1
#define ATTN_EXPR_INT 2   /* int64, arithmetic wraps modulo 2^64 */
#define ATTN_EXPR_FLOAT 3 /* double */

/* Operators (attn_expr_node.op).  Numbers are part of the ABI: only ever append. */
/* leaves */
#define ATTN_EXPR_OP_INT 1   /* value.i */
#define ATTN_EXPR_OP_FLOAT 2 /* value.f */
#define ATTN_EXPR_OP_VAR 3   /* value.var, one of ATTN_EXPR_VAR_* */
#define ATTN_EXPR_OP_AUX 4   /* value.aux indexes attn_expr.aux; args[0..arity) are the indices */
/* unary */
#define ATTN_EXPR_OP_NEG 10
#define ATTN_EXPR_OP_NOT 11
#define ATTN_EXPR_OP_ABS 12
#define ATTN_EXPR_OP_EXP 13
#define ATTN_EXPR_OP_LOG 14
#define ATTN_EXPR_OP_TANH 15
#define ATTN_EXPR_OP_SQRT 16
#define ATTN_EXPR_OP_TO_FLOAT 17 /* inserted by the type checker where an int meets a float */
/* binary: both operands have one type (the checker inserts TO_FLOAT), except AND / OR (bools) */
#define ATTN_EXPR_OP_ADD 30
#define ATTN_EXPR_OP_SUB 31
#define ATTN_EXPR_OP_MUL 32
#define ATTN_EXPR_OP_DIV 33  /* always float */
#define ATTN_EXPR_OP_IDIV 34 /* '//': ints, floor division (Python) */
#define ATTN_EXPR_OP_MOD 35  /* '%': ints, the result has the divisor's sign (Python) */
#define ATTN_EXPR_OP_LT 36
#define ATTN_EXPR_OP_LE 37
#define ATTN_EXPR_OP_GT 38
#define ATTN_EXPR_OP_GE 39
#define ATTN_EXPR_OP_EQ 40
#define ATTN_EXPR_OP_NE 41
#define ATTN_EXPR_OP_AND 42 /* both sides are evaluated (no side effects, so no short circuit) */
#define ATTN_EXPR_OP_OR 43
#define ATTN_EXPR_OP_MIN 44
#define ATTN_EXPR_OP_MAX 45
/* ternary */
#define ATTN_EXPR_OP_WHERE 60 /* where(cond, a, b) */
#define ATTN_EXPR_OP_CLAMP 61 /* clamp(x, lo, hi) = min(max(x, lo), hi) */

/* Variables (value.var). */
#define ATTN_EXPR_VAR_B 1
#define ATTN_EXPR_VAR_H 2
#define ATTN_EXPR_VAR_Q_IDX 3  /* the query's absolute position pos(b, i) */
#define ATTN_EXPR_VAR_KV_IDX 4 /* the key's position j */
#define ATTN_EXPR_VAR_SCORE 5  /* float, after scaling; score_mod only */

#define ATTN_EXPR_MAX_ARITY 4 /* so an aux tensor has rank 0 to 4 */

/* One node.  Children (args[0..arity)) always have smaller indices than their parent; the root
 * is the last node, so evaluating nodes 0..n-1 in order needs no recursion. */
typedef struct attn_expr_node {
    uint8_t op, type, arity, reserved; /* type: ATTN_EXPR_BOOL / INT / FLOAT */
    int32_t args[ATTN_EXPR_MAX_ARITY];
    union {
        int64_t i;
        double f;
        int32_t var;
        int32_t aux;
    } value;
} attn_expr_node;

/* An auxiliary tensor the expression reads, by name. */
typedef struct attn_expr_aux {
    const char *name;
    attn_expr_type type; /* element type as the expression sees it */
    int32_t rank;        /* 0 to ATTN_EXPR_MAX_ARITY */
} attn_expr_aux;

/* A parsed, type-checked expression.  Grows at its end only (PLUGINS.md, "Tables only grow at
 * the end"): read any field appended later through ATTN_EXPR_HAS. */
typedef struct attn_expr {
    uint32_t struct_size; /* sizeof(attn_expr) of the side that built it */
    uint32_t node_count;
    const attn_expr_node *nodes;
    const char *text; /* the source, NUL-terminated, for messages */
    uint32_t aux_count;
    const attn_expr_aux *aux; /* only the tensors the expression uses, in first-use order */
    /* ---- later fields are appended here, read through ATTN_EXPR_HAS ---- */
} attn_expr;

#define ATTN_EXPR_HAS(expr, field) \
    ((expr)->struct_size >= offsetof(attn_expr, field) + sizeof(((attn_expr *)0)->field))

/* Limits the parser enforces against hostile input (text from config and case files). */
#define ATTN_EXPR_MAX_TEXT 4096  /* bytes */
#define ATTN_EXPR_MAX_NODES 1024 /* so scratch of 1024 values always suffices */
#define ATTN_EXPR_MAX_DEPTH 64   /* parentheses, calls and indexing nested together */

/* ---- Evaluation -------------------------------------------------------------------------- */

/* Element kinds of an aux tensor in memory; each matches one expression type exactly. */
#define ATTN_EXPR_ELEM_F32 1     /* float32, for a FLOAT aux */
#define ATTN_EXPR_ELEM_I32 2     /* int32, for an INT aux */
#define ATTN_EXPR_ELEM_BOOL_U8 3 /* uint8, nonzero is true, for a BOOL aux */

/* Where one aux tensor lives: host memory the evaluator may read. */
typedef struct attn_expr_tensor {
    const void *data;
    int32_t elem; /* ATTN_EXPR_ELEM_* */
    int32_t rank;
    const int64_t *shape;   /* [rank] */
    const int64_t *strides; /* [rank], in elements, non-negative */
} attn_expr_tensor;

/* The point at which the expression is evaluated; aux[k] is the tensor of expression aux k. */
typedef struct attn_expr_env {
    int64_t b, h, q_idx, kv_idx;
    double score;
    uint32_t aux_count;
    const attn_expr_tensor *aux;
} attn_expr_env;

/* One value: ints and bools (0 / 1) in i, floats in f. */
typedef union attn_expr_value {
    int64_t i;
    double f;
} attn_expr_value;

/* attn_expr_eval's results. */
#define ATTN_EXPR_OK 0
#define ATTN_EXPR_E_DIV_ZERO 1  /* '/', '//' or '%' by zero (float 0.0 included) */
#define ATTN_EXPR_E_INDEX 2     /* an aux index outside the tensor's shape: nothing was read */
#define ATTN_EXPR_E_ENV 3       /* env does not match the expression: aux missing, rank or kind differs */
#define ATTN_EXPR_E_MALFORMED 4 /* a node that no parser builds (unknown op, child not before it) */

ATTN_INLINE int64_t attn_expr_wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
ATTN_INLINE int64_t attn_expr_wrap_sub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
ATTN_INLINE int64_t attn_expr_wrap_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }

/* Python's a // b and a % b (b != 0): the quotient rounds toward -inf, the remainder takes the
 * divisor's sign.  b == -1 is separate because INT64_MIN / -1 overflows in C. */
ATTN_INLINE int64_t attn_expr_floor_div(int64_t a, int64_t b) {
    if (b == -1) return attn_expr_wrap_sub(0, a);
    int64_t q = a / b, r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) q -= 1;
    return q;
}
ATTN_INLINE int64_t attn_expr_floor_mod(int64_t a, int64_t b) {
    if (b == -1) return 0;
    int64_t r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}

/* min / max that propagate NaN from either side (as torch.minimum / maximum). */
ATTN_INLINE double attn_expr_fmin(double a, double b) { return (a < b || a != a) ? a : b; }
ATTN_INLINE double attn_expr_fmax(double a, double b) { return (a > b || a != a) ? a : b; }

/* Reads element idx of aux node `n` (already evaluated indices in v) into *out. */
ATTN_INLINE int attn_expr_eval_aux(const attn_expr *e, const attn_expr_env *env, const attn_expr_node *n,
                                   const attn_expr_value *v, attn_expr_value *out) {
    int32_t k = n->value.aux;
    if (k < 0 || (uint32_t)k >= e->aux_count || (uint32_t)k >= env->aux_count || !env->aux) return ATTN_EXPR_E_ENV;
    const attn_expr_tensor *t = &env->aux[k];
    if (t->rank != (int32_t)n->arity || e->aux[k].rank != t->rank) return ATTN_EXPR_E_ENV;
    int64_t offset = 0;
    for (int d = 0; d < t->rank; d++) {
        int64_t idx = v[n->args[d]].i;
        if (idx < 0 || idx >= t->shape[d]) return ATTN_EXPR_E_INDEX;
        offset += idx * t->strides[d];
    }
    if (n->type == ATTN_EXPR_FLOAT && t->elem == ATTN_EXPR_ELEM_F32)
        out->f = (double)((const float *)t->data)[offset];
    else if (n->type == ATTN_EXPR_INT && t->elem == ATTN_EXPR_ELEM_I32)
        out->i = ((const int32_t *)t->data)[offset];
    else if (n->type == ATTN_EXPR_BOOL && t->elem == ATTN_EXPR_ELEM_BOOL_U8)
        out->i = ((const uint8_t *)t->data)[offset] != 0;
    else
        return ATTN_EXPR_E_ENV;
    return ATTN_EXPR_OK;
}

/* Scratch of one evaluation: a value and an error (ATTN_EXPR_OK or ATTN_EXPR_E_DIV_ZERO /
 * E_INDEX) per node.  An error is a value like any other (SPEC.md "Expressions", "Errors at run
 * time"): it reaches the root only through operands the result depends on. */
typedef struct attn_expr_scratch {
    attn_expr_value value[ATTN_EXPR_MAX_NODES];
    uint8_t error[ATTN_EXPR_MAX_NODES];
} attn_expr_scratch;

/* The error of a node from its operands' errors: where(c, a, b) takes c's, then the chosen
 * branch's; `x && y` is a certain false when either side is a false without error (and
 * `x || y` a certain true likewise); every other node takes its first operand's error. */
ATTN_INLINE uint8_t attn_expr_error_of(const attn_expr_node *n, const attn_expr_scratch *s) {
    const int32_t *a = n->args;
    /* A damaged tree's node with too few children reads only those it has (default). */
    int op = (n->op == ATTN_EXPR_OP_WHERE && n->arity == 3) || ((n->op == ATTN_EXPR_OP_AND || n->op == ATTN_EXPR_OP_OR) && n->arity == 2) ? n->op : 0;
    switch (op) {
    case ATTN_EXPR_OP_WHERE:
        if (s->error[a[0]]) return s->error[a[0]];
        return s->error[s->value[a[0]].i ? a[1] : a[2]];
    case ATTN_EXPR_OP_AND:
    case ATTN_EXPR_OP_OR: {
        int64_t decisive = n->op == ATTN_EXPR_OP_OR;
        for (int k = 0; k < 2; k++)
            if (!s->error[a[k]] && (s->value[a[k]].i != 0) == decisive) return ATTN_EXPR_OK;
        return s->error[a[0]] ? s->error[a[0]] : s->error[a[1]];
    }
    default:
        for (int k = 0; k < n->arity; k++)
            if (s->error[a[k]]) return s->error[a[k]];
        return ATTN_EXPR_OK;
    }
}

/* Evaluates e at env.  *out gets the root's value (a bool in out->i for a mask, a float in
 * out->f for a score).  Returns ATTN_EXPR_OK, the root's error (ATTN_EXPR_E_DIV_ZERO,
 * E_INDEX), or ATTN_EXPR_E_ENV / E_MALFORMED for an env or a tree that does not fit, found
 * before anything is read.  Every child index is checked before use, so a damaged tree never
 * reads outside the scratch. */
ATTN_INLINE int attn_expr_eval(const attn_expr *e, const attn_expr_env *env, attn_expr_scratch *s,
                               attn_expr_value *out) {
    attn_expr_value *v = s->value;
    if (e->node_count == 0 || e->node_count > ATTN_EXPR_MAX_NODES) return ATTN_EXPR_E_MALFORMED;
    for (uint32_t i = 0; i < e->node_count; i++) {
        const attn_expr_node *n = &e->nodes[i];
        if (n->arity > ATTN_EXPR_MAX_ARITY) return ATTN_EXPR_E_MALFORMED;
        for (int a = 0; a < n->arity; a++)
            if (n->args[a] < 0 || (uint32_t)n->args[a] >= i) return ATTN_EXPR_E_MALFORMED;
        /* The operand type decides int or float arithmetic (both operands share it). */
        int typed_arg = n->op == ATTN_EXPR_OP_WHERE ? 1 : 0;
        int fl = n->arity > typed_arg && e->nodes[n->args[typed_arg]].type == ATTN_EXPR_FLOAT;
        attn_expr_value x = {0}, y = {0}, z = {0}, r = {0};
        uint8_t error = n->op == ATTN_EXPR_OP_AUX ? (uint8_t)ATTN_EXPR_OK : attn_expr_error_of(n, s);
        if (n->arity > 0 && n->op != ATTN_EXPR_OP_AUX) x = v[n->args[0]];
        if (n->arity > 1 && n->op != ATTN_EXPR_OP_AUX) y = v[n->args[1]];
        if (n->arity > 2 && n->op != ATTN_EXPR_OP_AUX) z = v[n->args[2]];
        switch (n->op) {
        case ATTN_EXPR_OP_INT: r.i = n->value.i; break;
        case ATTN_EXPR_OP_FLOAT: r.f = n->value.f; break;
        case ATTN_EXPR_OP_VAR:
            switch (n->value.var) {
            case ATTN_EXPR_VAR_B: r.i = env->b; break;
            case ATTN_EXPR_VAR_H: r.i = env->h; break;
            case ATTN_EXPR_VAR_Q_IDX: r.i = env->q_idx; break;
            case ATTN_EXPR_VAR_KV_IDX: r.i = env->kv_idx; break;
            case ATTN_EXPR_VAR_SCORE: r.f = env->score; break;
            default: return ATTN_EXPR_E_MALFORMED;
            }
            break;
        case ATTN_EXPR_OP_AUX: {
            /* An index with an error of its own passes it on; nothing is read then. */
            for (int a = 0; a < n->arity && !error; a++) error = s->error[n->args[a]];
            if (error) break;
            int status = attn_expr_eval_aux(e, env, n, v, &r);
            if (status == ATTN_EXPR_E_INDEX) error = ATTN_EXPR_E_INDEX;
            else if (status != ATTN_EXPR_OK) return status;
            break;
        }
        case ATTN_EXPR_OP_NEG:
            if (fl) r.f = -x.f;
            else r.i = attn_expr_wrap_sub(0, x.i);
            break;
        case ATTN_EXPR_OP_NOT: r.i = !x.i; break;
        case ATTN_EXPR_OP_ABS:
            if (fl) r.f = fabs(x.f);
            else r.i = x.i < 0 ? attn_expr_wrap_sub(0, x.i) : x.i;
            break;
        case ATTN_EXPR_OP_EXP: r.f = exp(x.f); break;
        case ATTN_EXPR_OP_LOG: r.f = log(x.f); break;
        case ATTN_EXPR_OP_TANH: r.f = tanh(x.f); break;
        case ATTN_EXPR_OP_SQRT: r.f = sqrt(x.f); break;
        case ATTN_EXPR_OP_TO_FLOAT: r.f = (double)x.i; break;
        case ATTN_EXPR_OP_ADD:
            if (fl) r.f = x.f + y.f;
            else r.i = attn_expr_wrap_add(x.i, y.i);
            break;
        case ATTN_EXPR_OP_SUB:
            if (fl) r.f = x.f - y.f;
            else r.i = attn_expr_wrap_sub(x.i, y.i);
            break;
        case ATTN_EXPR_OP_MUL:
            if (fl) r.f = x.f * y.f;
            else r.i = attn_expr_wrap_mul(x.i, y.i);
            break;
        case ATTN_EXPR_OP_DIV:
            if (y.f == 0.0) error = error ? error : (uint8_t)ATTN_EXPR_E_DIV_ZERO;
            else r.f = x.f / y.f;
            break;
        case ATTN_EXPR_OP_IDIV:
            if (y.i == 0) error = error ? error : (uint8_t)ATTN_EXPR_E_DIV_ZERO;
            else r.i = attn_expr_floor_div(x.i, y.i);
            break;
        case ATTN_EXPR_OP_MOD:
            if (y.i == 0) error = error ? error : (uint8_t)ATTN_EXPR_E_DIV_ZERO;
            else r.i = attn_expr_floor_mod(x.i, y.i);
            break;
        case ATTN_EXPR_OP_LT: r.i = fl ? x.f < y.f : x.i < y.i; break;
        case ATTN_EXPR_OP_LE: r.i = fl ? x.f <= y.f : x.i <= y.i; break;
        case ATTN_EXPR_OP_GT: r.i = fl ? x.f > y.f : x.i > y.i; break;
        case ATTN_EXPR_OP_GE: r.i = fl ? x.f >= y.f : x.i >= y.i; break;
        case ATTN_EXPR_OP_EQ: r.i = fl ? x.f == y.f : x.i == y.i; break;
        case ATTN_EXPR_OP_NE: r.i = fl ? x.f != y.f : x.i != y.i; break;
        case ATTN_EXPR_OP_AND: r.i = x.i && y.i; break;
        case ATTN_EXPR_OP_OR: r.i = x.i || y.i; break;
        case ATTN_EXPR_OP_MIN:
            if (fl) r.f = attn_expr_fmin(x.f, y.f);
            else r.i = x.i < y.i ? x.i : y.i;
            break;
        case ATTN_EXPR_OP_MAX:
            if (fl) r.f = attn_expr_fmax(x.f, y.f);
            else r.i = x.i > y.i ? x.i : y.i;
            break;
        case ATTN_EXPR_OP_WHERE: r = x.i ? y : z; break;
        case ATTN_EXPR_OP_CLAMP:
            if (fl) r.f = attn_expr_fmin(attn_expr_fmax(x.f, y.f), z.f);
            else {
                r.i = x.i > y.i ? x.i : y.i;
                r.i = r.i < z.i ? r.i : z.i;
            }
            break;
        default: return ATTN_EXPR_E_MALFORMED;
        }
        /* An erroneous value is zero (all 8 bytes), so that nothing undefined leaks through. */
        if (error) r.i = 0;
        v[i] = r;
        s->error[i] = error;
    }
    *out = v[e->node_count - 1];
    return s->error[e->node_count - 1];
}

#ifdef __cplusplus
}
#endif
#endif
