/* Checks an attn_expr that arrives in a problem: a caller may build the tree by hand, not
 * through attn_expr_parse, and every backend (an evaluator, a code generator) relies on the
 * tree being one the parser could have built.  So the parser's type rules are checked again
 * node by node, in terms of the tree (typecheck.c applies them while building). */
#include <string.h>

#include "../internal.h"

static int is_number(uint8_t type) { return type == ATTN_EXPR_INT || type == ATTN_EXPR_FLOAT; }

/* The arity an operator takes (an aux read's is its tensor's rank), -1 for an unknown op. */
static int arity_of(uint8_t op) {
    switch (op) {
    case ATTN_EXPR_OP_INT:
    case ATTN_EXPR_OP_FLOAT:
    case ATTN_EXPR_OP_VAR: return 0;
    case ATTN_EXPR_OP_NEG:
    case ATTN_EXPR_OP_NOT:
    case ATTN_EXPR_OP_ABS:
    case ATTN_EXPR_OP_EXP:
    case ATTN_EXPR_OP_LOG:
    case ATTN_EXPR_OP_TANH:
    case ATTN_EXPR_OP_SQRT:
    case ATTN_EXPR_OP_TO_FLOAT: return 1;
    case ATTN_EXPR_OP_WHERE:
    case ATTN_EXPR_OP_CLAMP: return 3;
    default: return op >= ATTN_EXPR_OP_ADD && op <= ATTN_EXPR_OP_MAX ? 2 : -1;
    }
}

/* Whether node n's type follows from its operands' as typecheck.c types it; a short reason when not. */
static const char *type_fault(const attn_expr *e, const attn_expr_node *n, attn_expr_kind kind) {
    uint8_t t = n->type, a0 = n->arity > 0 ? e->nodes[n->args[0]].type : 0;
    uint8_t a1 = n->arity > 1 ? e->nodes[n->args[1]].type : 0, a2 = n->arity > 2 ? e->nodes[n->args[2]].type : 0;
    switch (n->op) {
    case ATTN_EXPR_OP_INT: return t == ATTN_EXPR_INT ? NULL : "an int literal that is not an int";
    case ATTN_EXPR_OP_FLOAT: return t == ATTN_EXPR_FLOAT ? NULL : "a float literal that is not a float";
    case ATTN_EXPR_OP_VAR:
        if (n->value.var == ATTN_EXPR_VAR_SCORE) {
            if (kind != ATTN_EXPR_SCORE) return "'score' outside a score_mod";
            return t == ATTN_EXPR_FLOAT ? NULL : "'score' typed other than float";
        }
        if (n->value.var < ATTN_EXPR_VAR_B || n->value.var > ATTN_EXPR_VAR_KV_IDX) return "an unknown variable";
        return t == ATTN_EXPR_INT ? NULL : "an index variable typed other than int";
    case ATTN_EXPR_OP_AUX: {
        if (n->value.aux < 0 || (uint32_t)n->value.aux >= e->aux_count) return "an aux read past the aux table";
        const attn_expr_aux *aux = &e->aux[n->value.aux];
        if (aux->rank != n->arity) return "an aux read with another number of indices than its rank";
        if (t != aux->type) return "an aux read typed other than its tensor";
        for (int k = 0; k < n->arity; k++)
            if (e->nodes[n->args[k]].type != ATTN_EXPR_INT) return "an aux index that is not an int";
        return NULL;
    }
    case ATTN_EXPR_OP_NOT: return a0 == ATTN_EXPR_BOOL && t == ATTN_EXPR_BOOL ? NULL : "'!' not of bools";
    case ATTN_EXPR_OP_NEG:
    case ATTN_EXPR_OP_ABS: return is_number(a0) && t == a0 ? NULL : "'-' or abs() not of one number type";
    case ATTN_EXPR_OP_EXP:
    case ATTN_EXPR_OP_LOG:
    case ATTN_EXPR_OP_TANH:
    case ATTN_EXPR_OP_SQRT: return a0 == ATTN_EXPR_FLOAT && t == ATTN_EXPR_FLOAT ? NULL : "a float function not of floats";
    case ATTN_EXPR_OP_TO_FLOAT: return a0 == ATTN_EXPR_INT && t == ATTN_EXPR_FLOAT ? NULL : "a conversion not from int to float";
    case ATTN_EXPR_OP_AND:
    case ATTN_EXPR_OP_OR:
        return a0 == ATTN_EXPR_BOOL && a1 == ATTN_EXPR_BOOL && t == ATTN_EXPR_BOOL ? NULL : "'&&' or '||' not of bools";
    case ATTN_EXPR_OP_EQ:
    case ATTN_EXPR_OP_NE: return a0 == a1 && t == ATTN_EXPR_BOOL ? NULL : "'==' or '!=' of two types";
    case ATTN_EXPR_OP_LT:
    case ATTN_EXPR_OP_LE:
    case ATTN_EXPR_OP_GT:
    case ATTN_EXPR_OP_GE: return is_number(a0) && a0 == a1 && t == ATTN_EXPR_BOOL ? NULL : "a comparison not of one number type";
    case ATTN_EXPR_OP_DIV: return a0 == ATTN_EXPR_FLOAT && a1 == ATTN_EXPR_FLOAT && t == ATTN_EXPR_FLOAT ? NULL : "'/' not of floats";
    case ATTN_EXPR_OP_IDIV:
    case ATTN_EXPR_OP_MOD: return a0 == ATTN_EXPR_INT && a1 == ATTN_EXPR_INT && t == ATTN_EXPR_INT ? NULL : "'//' or '%' not of ints";
    case ATTN_EXPR_OP_ADD:
    case ATTN_EXPR_OP_SUB:
    case ATTN_EXPR_OP_MUL:
    case ATTN_EXPR_OP_MIN:
    case ATTN_EXPR_OP_MAX: return is_number(a0) && a0 == a1 && t == a0 ? NULL : "arithmetic not of one number type";
    case ATTN_EXPR_OP_CLAMP: return is_number(a0) && a0 == a1 && a0 == a2 && t == a0 ? NULL : "clamp() not of one number type";
    case ATTN_EXPR_OP_WHERE:
        return a0 == ATTN_EXPR_BOOL && a1 == a2 && t == a1 ? NULL : "where() without a bool condition and branches of one type";
    default: return "an unknown operator";
    }
}

attn_status attn_expr_verify(const attn_expr *e, attn_expr_kind kind, const char *field, attn_error *err) {
    if (e->struct_size < offsetof(attn_expr, aux) + sizeof e->aux)
        return attn_error_set(err, ATTN_E_INVALID, "%s: attn_expr struct_size %u is smaller than its first version's %zu",
                              field, e->struct_size, offsetof(attn_expr, aux) + sizeof e->aux);
    if (e->node_count < 1 || e->node_count > ATTN_EXPR_MAX_NODES || !e->nodes)
        return attn_error_set(err, ATTN_E_INVALID, "%s: %u nodes (1 to %d, and nodes not NULL)", field, e->node_count,
                              ATTN_EXPR_MAX_NODES);
    if (e->aux_count > ATTN_EXPR_MAX_NODES || (e->aux_count && !e->aux))
        return attn_error_set(err, ATTN_E_INVALID, "%s: aux table of %u entries (and aux not NULL)", field, e->aux_count);
    for (uint32_t k = 0; k < e->aux_count; ++k) {
        const attn_expr_aux *aux = &e->aux[k];
        if (!aux->name || !aux->name[0] || aux->type < ATTN_EXPR_BOOL || aux->type > ATTN_EXPR_FLOAT || aux->rank < 0 ||
            aux->rank > ATTN_EXPR_MAX_ARITY)
            return attn_error_set(err, ATTN_E_INVALID, "%s: aux %u needs a name, a type (1 to 3) and a rank (0 to %d)", field,
                                  k, ATTN_EXPR_MAX_ARITY);
    }
    for (uint32_t i = 0; i < e->node_count; ++i) {
        const attn_expr_node *n = &e->nodes[i];
        int arity = n->op == ATTN_EXPR_OP_AUX ? n->arity : arity_of(n->op);
        const char *fault = NULL;
        if (arity < 0 || n->arity != arity || n->arity > ATTN_EXPR_MAX_ARITY) fault = "an unknown operator or a wrong arity";
        for (int k = 0; !fault && k < n->arity; ++k)
            if (n->args[k] < 0 || (uint32_t)n->args[k] >= i) fault = "an operand that is not an earlier node";
        if (!fault) fault = type_fault(e, n, kind);
        if (fault)
            return attn_error_set(err, ATTN_E_INVALID, "%s: node %u (op %u) is %s: not a tree attn_expr_parse builds", field,
                                  i, n->op, fault);
    }
    uint8_t root = e->nodes[e->node_count - 1].type;
    if (kind == ATTN_EXPR_MASK ? root != ATTN_EXPR_BOOL : root != ATTN_EXPR_FLOAT)
        return attn_error_set(err, ATTN_E_INVALID, "%s: the expression is %s, a %s must be %s", field,
                              root == ATTN_EXPR_BOOL ? "a bool" : root == ATTN_EXPR_INT ? "an int" : "a float", field,
                              kind == ATTN_EXPR_MASK ? "a bool" : "a float");
    return ATTN_OK;
}
