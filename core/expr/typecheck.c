/* The type rules of SPEC.md "Expressions", applied as each node is appended: int op int stays
 * int (except '/'), a float operand makes the other one float (a TO_FLOAT node), '//' and '%'
 * need ints, comparisons give bools, '&&' '||' '!' need bools.  No constant folding: the tree
 * is what was written, plus TO_FLOAT nodes. */
#include <string.h>

#include "expr_internal.h"

static const char *type_name(uint8_t type) {
    return type == ATTN_EXPR_BOOL ? "a bool" : type == ATTN_EXPR_INT ? "an int" : "a float";
}

static const char *op_text(expr_token_kind op) {
    switch (op) {
    case TOK_PLUS: return "+";
    case TOK_MINUS: return "-";
    case TOK_STAR: return "*";
    case TOK_SLASH: return "/";
    case TOK_SLASHSLASH: return "//";
    case TOK_PERCENT: return "%";
    case TOK_LT: return "<";
    case TOK_LE: return "<=";
    case TOK_GT: return ">";
    case TOK_GE: return ">=";
    case TOK_EQ: return "==";
    case TOK_NE: return "!=";
    case TOK_AND: return "&&";
    case TOK_OR: return "||";
    case TOK_NOT: return "!";
    default: return "?";
    }
}

static int32_t add(expr_parser *p, uint8_t op, uint8_t type, int arity, const int32_t *args, size_t column) {
    if (p->node_count >= ATTN_EXPR_MAX_NODES)
        return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: expression too large: more than %d nodes", column,
                              ATTN_EXPR_MAX_NODES),
               -1;
    attn_expr_node *n = &p->nodes[p->node_count];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->type = type;
    n->arity = (uint8_t)arity;
    for (int k = 0; k < arity; k++) n->args[k] = args[k];
    return (int32_t)p->node_count++;
}

static uint8_t type_of(const expr_parser *p, int32_t node) { return p->nodes[node].type; }
static int is_number(uint8_t type) { return type == ATTN_EXPR_INT || type == ATTN_EXPR_FLOAT; }

static int32_t to_float(expr_parser *p, int32_t node, size_t column) {
    if (type_of(p, node) == ATTN_EXPR_FLOAT) return node;
    return add(p, ATTN_EXPR_OP_TO_FLOAT, ATTN_EXPR_FLOAT, 1, &node, column);
}

/* Gives numbers one type: float when any is float.  -1 when a TO_FLOAT does not fit. */
static int unify(expr_parser *p, int32_t *args, int argc, size_t column) {
    int any_float = 0;
    for (int k = 0; k < argc; k++) any_float |= type_of(p, args[k]) == ATTN_EXPR_FLOAT;
    if (!any_float) return 0;
    for (int k = 0; k < argc; k++)
        if ((args[k] = to_float(p, args[k], column)) < 0) return -1;
    return 0;
}

int32_t expr_leaf(expr_parser *p, uint8_t op, uint8_t type, attn_expr_node value, size_t column) {
    int32_t node = add(p, op, type, 0, NULL, column);
    if (node >= 0) p->nodes[node].value = value.value;
    return node;
}

int32_t expr_unary(expr_parser *p, expr_token_kind op, int32_t a, size_t column) {
    uint8_t t = type_of(p, a);
    if (op == TOK_NOT) {
        if (t != ATTN_EXPR_BOOL)
            return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: '!' needs a bool, got %s", column, type_name(t)),
                   -1;
        return add(p, ATTN_EXPR_OP_NOT, ATTN_EXPR_BOOL, 1, &a, column);
    }
    if (!is_number(t))
        return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: '-' needs a number, got %s", column, type_name(t)),
               -1;
    return add(p, ATTN_EXPR_OP_NEG, t, 1, &a, column);
}

static int is_zero_literal(const expr_parser *p, int32_t node) {
    const attn_expr_node *n = &p->nodes[node];
    return (n->op == ATTN_EXPR_OP_INT && n->value.i == 0) || (n->op == ATTN_EXPR_OP_FLOAT && n->value.f == 0.0);
}

int32_t expr_binary(expr_parser *p, expr_token_kind op, int32_t a, int32_t b, size_t column) {
    int32_t args[2] = {a, b};
    uint8_t ta = type_of(p, a), tb = type_of(p, b);
    const char *text = op_text(op);
    switch (op) {
    case TOK_AND:
    case TOK_OR:
        if (ta != ATTN_EXPR_BOOL || tb != ATTN_EXPR_BOOL)
            return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: '%s' needs bools, got %s", column, text,
                                  type_name(ta != ATTN_EXPR_BOOL ? ta : tb)),
                   -1;
        return add(p, op == TOK_AND ? ATTN_EXPR_OP_AND : ATTN_EXPR_OP_OR, ATTN_EXPR_BOOL, 2, args, column);
    case TOK_EQ:
    case TOK_NE: {
        uint8_t code = op == TOK_EQ ? ATTN_EXPR_OP_EQ : ATTN_EXPR_OP_NE;
        if (ta == ATTN_EXPR_BOOL && tb == ATTN_EXPR_BOOL) return add(p, code, ATTN_EXPR_BOOL, 2, args, column);
        if (ta == ATTN_EXPR_BOOL || tb == ATTN_EXPR_BOOL)
            return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: '%s' compares %s with %s", column, text,
                                  type_name(ta), type_name(tb)),
                   -1;
        if (unify(p, args, 2, column) < 0) return -1;
        return add(p, code, ATTN_EXPR_BOOL, 2, args, column);
    }
    case TOK_SLASHSLASH:
    case TOK_PERCENT:
        if (ta != ATTN_EXPR_INT || tb != ATTN_EXPR_INT)
            return attn_error_set(p->err, ATTN_E_INVALID,
                                  "column %zu: '%s' needs integers, got %s (use '/' for float division)", column, text,
                                  type_name(ta != ATTN_EXPR_INT ? ta : tb)),
                   -1;
        if (is_zero_literal(p, b))
            return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: '%s' by the constant 0", column, text), -1;
        return add(p, op == TOK_SLASHSLASH ? ATTN_EXPR_OP_IDIV : ATTN_EXPR_OP_MOD, ATTN_EXPR_INT, 2, args, column);
    default: break;
    }
    if (!is_number(ta) || !is_number(tb))
        return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: '%s' needs numbers, got %s", column, text,
                              type_name(is_number(ta) ? tb : ta)),
               -1;
    uint8_t code;
    switch (op) {
    case TOK_PLUS: code = ATTN_EXPR_OP_ADD; break;
    case TOK_MINUS: code = ATTN_EXPR_OP_SUB; break;
    case TOK_STAR: code = ATTN_EXPR_OP_MUL; break;
    case TOK_SLASH: code = ATTN_EXPR_OP_DIV; break;
    case TOK_LT: code = ATTN_EXPR_OP_LT; break;
    case TOK_LE: code = ATTN_EXPR_OP_LE; break;
    case TOK_GT: code = ATTN_EXPR_OP_GT; break;
    case TOK_GE: code = ATTN_EXPR_OP_GE; break;
    default: return attn_error_set(p->err, ATTN_E_INTERNAL, "column %zu: unknown operator", column), -1;
    }
    if (code == ATTN_EXPR_OP_DIV) {
        if (is_zero_literal(p, b))
            return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: '/' by the constant 0", column), -1;
        if ((args[0] = to_float(p, a, column)) < 0 || (args[1] = to_float(p, b, column)) < 0) return -1;
        return add(p, code, ATTN_EXPR_FLOAT, 2, args, column);
    }
    if (unify(p, args, 2, column) < 0) return -1;
    int comparison = code >= ATTN_EXPR_OP_LT && code <= ATTN_EXPR_OP_GE;
    return add(p, code, comparison ? ATTN_EXPR_BOOL : type_of(p, args[0]), 2, args, column);
}

int32_t expr_call(expr_parser *p, const char *name, const int32_t *call_args, int argc, size_t column) {
    int32_t args[3];
    for (int k = 0; k < argc; k++) args[k] = call_args[k];
    if (strcmp(name, "where") == 0) {
        uint8_t tc = type_of(p, args[0]), ta = type_of(p, args[1]), tb = type_of(p, args[2]);
        if (tc != ATTN_EXPR_BOOL)
            return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: where's condition must be a bool, got %s",
                                  column, type_name(tc)),
                   -1;
        if ((ta == ATTN_EXPR_BOOL) != (tb == ATTN_EXPR_BOOL))
            return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: where's branches are %s and %s", column,
                                  type_name(ta), type_name(tb)),
                   -1;
        if (ta != ATTN_EXPR_BOOL && unify(p, args + 1, 2, column) < 0) return -1;
        return add(p, ATTN_EXPR_OP_WHERE, type_of(p, args[1]), 3, args, column);
    }
    for (int k = 0; k < argc; k++)
        if (!is_number(type_of(p, args[k])))
            return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: %s() needs numbers, got %s", column, name,
                                  type_name(type_of(p, args[k]))),
                   -1;
    static const struct {
        const char *name;
        uint8_t op;
        int float_result;
    } table[] = {
        {"min", ATTN_EXPR_OP_MIN, 0},  {"max", ATTN_EXPR_OP_MAX, 0},  {"clamp", ATTN_EXPR_OP_CLAMP, 0},
        {"abs", ATTN_EXPR_OP_ABS, 0},  {"exp", ATTN_EXPR_OP_EXP, 1},  {"log", ATTN_EXPR_OP_LOG, 1},
        {"tanh", ATTN_EXPR_OP_TANH, 1}, {"sqrt", ATTN_EXPR_OP_SQRT, 1},
    };
    for (size_t k = 0; k < sizeof table / sizeof table[0]; k++) {
        if (strcmp(name, table[k].name) != 0) continue;
        if (table[k].float_result) {
            if ((args[0] = to_float(p, args[0], column)) < 0) return -1;
        } else if (unify(p, args, argc, column) < 0) {
            return -1;
        }
        return add(p, table[k].op, type_of(p, args[0]), argc, args, column);
    }
    return attn_error_set(p->err, ATTN_E_INTERNAL, "column %zu: unknown function '%s'", column, name), -1;
}

int32_t expr_aux(expr_parser *p, uint32_t declared_index, const int32_t *indices, size_t column) {
    const attn_expr_aux *d = &p->declared[declared_index];
    for (int32_t k = 0; k < d->rank; k++)
        if (type_of(p, indices[k]) != ATTN_EXPR_INT)
            return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: index %d of '%s' must be an int, got %s", column,
                                  (int)k + 1, d->name, type_name(type_of(p, indices[k]))),
                   -1;
    int32_t node = add(p, ATTN_EXPR_OP_AUX, (uint8_t)d->type, d->rank, indices, column);
    if (node < 0) return -1;
    if (p->aux_slot[declared_index] < 0) {
        p->aux_slot[declared_index] = (int32_t)p->aux_count;
        p->aux_used[p->aux_count++] = declared_index;
    }
    p->nodes[node].value.aux = p->aux_slot[declared_index];
    return node;
}

int32_t expr_finish(expr_parser *p, int32_t root) {
    uint8_t t = type_of(p, root);
    if (p->kind == ATTN_EXPR_MASK) {
        if (t != ATTN_EXPR_BOOL)
            return attn_error_set(p->err, ATTN_E_INVALID, "column 1: a mask_mod must be a bool, got %s", type_name(t)),
                   -1;
        return root;
    }
    if (t == ATTN_EXPR_BOOL)
        return attn_error_set(p->err, ATTN_E_INVALID, "column 1: a score_mod must be a number, got a bool"), -1;
    return to_float(p, root, 1);
}
