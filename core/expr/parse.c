/* The expression parser: precedence climbing over the lexer's tokens, building typed nodes in
 * postfix order (typecheck.c), then packing them into one allocation.
 *
 * Recursion is bounded before it happens: a parenthesis, a call or an index raises the depth
 * (at most ATTN_EXPR_MAX_DEPTH), each depth costs a fixed number of frames (one per
 * precedence level), and prefix operators are kept on an explicit stack instead of recursing. */
#include <stdlib.h>
#include <string.h>

#include "expr_internal.h"

/* Binary precedence, lowest first; 0 for a token that is no binary operator. */
enum { PREC_OR = 1, PREC_AND, PREC_EQUALITY, PREC_COMPARISON, PREC_ADD, PREC_MUL };
static int precedence(expr_token_kind kind) {
    switch (kind) {
    case TOK_OR: return PREC_OR;
    case TOK_AND: return PREC_AND;
    case TOK_EQ:
    case TOK_NE: return PREC_EQUALITY;
    case TOK_LT:
    case TOK_LE:
    case TOK_GT:
    case TOK_GE: return PREC_COMPARISON;
    case TOK_PLUS:
    case TOK_MINUS: return PREC_ADD;
    case TOK_STAR:
    case TOK_SLASH:
    case TOK_SLASHSLASH:
    case TOK_PERCENT: return PREC_MUL;
    default: return 0;
    }
}

static int32_t fail_unexpected(expr_parser *p, const char *expected) {
    char token[64];
    expr_token_describe(p, &p->tok, token, sizeof token);
    attn_error_set(p->err, ATTN_E_INVALID, "column %zu: unexpected %s (expected %s)", p->tok.start + 1, token, expected);
    return -1;
}

static int expect(expr_parser *p, expr_token_kind kind, const char *expected) {
    if (p->tok.kind != kind) return fail_unexpected(p, expected);
    return expr_next(p);
}

/* Enters a parenthesis, call or index at the current token. */
static int enter(expr_parser *p) {
    if (++p->depth > ATTN_EXPR_MAX_DEPTH)
        return attn_error_set(p->err, ATTN_E_INVALID,
                              "column %zu: nesting deeper than %d levels (parentheses, calls and indexing together)",
                              p->tok.start + 1, ATTN_EXPR_MAX_DEPTH),
               -1;
    return 0;
}

static int32_t parse_binary(expr_parser *p, int min_precedence);
static int32_t parse_expression(expr_parser *p) { return parse_binary(p, PREC_OR); }

static int32_t parse_call(expr_parser *p, const expr_function *fn, size_t column) {
    int32_t args[3];
    int argc = 0;
    if (enter(p) < 0 || expr_next(p) < 0) return -1; /* past '(' */
    if (p->tok.kind != TOK_RPAREN) {
        for (;;) {
            if ((args[argc++] = parse_expression(p)) < 0) return -1;
            if (p->tok.kind != TOK_COMMA) break;
            if (argc == fn->argc)
                return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: %s() takes %d argument%s, got more", column,
                              fn->name, fn->argc, fn->argc == 1 ? "" : "s"),
                       -1;
            if (expr_next(p) < 0) return -1;
        }
    }
    if (p->tok.kind != TOK_RPAREN) return fail_unexpected(p, "',' or ')'");
    if (argc != fn->argc)
        return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: %s() takes %d argument%s, got %d", column, fn->name,
                              fn->argc, fn->argc == 1 ? "" : "s", argc),
               -1;
    p->depth--;
    if (expr_next(p) < 0) return -1;
    return expr_call(p, fn->name, args, argc, column);
}

static int32_t parse_aux(expr_parser *p, uint32_t declared_index, size_t column) {
    const attn_expr_aux *d = &p->declared[declared_index];
    int32_t indices[ATTN_EXPR_MAX_ARITY];
    int32_t count = 0;
    while (p->tok.kind == TOK_LBRACKET) {
        if (count == d->rank)
            return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: '%s' has rank %d: too many indices",
                                  p->tok.start + 1, d->name, (int)d->rank),
                   -1;
        if (enter(p) < 0 || expr_next(p) < 0) return -1;
        if ((indices[count++] = parse_expression(p)) < 0) return -1;
        if (expect(p, TOK_RBRACKET, "']'") < 0) return -1;
        p->depth--;
    }
    if (count != d->rank)
        return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: '%s' has rank %d, indexed with %d ind%s", column,
                              d->name, (int)d->rank, (int)count, count == 1 ? "ex" : "ices"),
               -1;
    return expr_aux(p, declared_index, indices, column);
}

static int32_t parse_name(expr_parser *p) {
    const char *name = p->text + p->tok.start;
    size_t len = p->tok.len, column = p->tok.start + 1;
    attn_expr_node value;
    memset(&value, 0, sizeof value);
    if ((len == 4 && memcmp(name, "true", 4) == 0) || (len == 5 && memcmp(name, "false", 5) == 0)) {
        value.value.i = len == 4;
        if (expr_next(p) < 0) return -1;
        return expr_leaf(p, ATTN_EXPR_OP_INT, ATTN_EXPR_BOOL, value, column);
    }
    int32_t var = expr_find_variable(name, len);
    if (var == ATTN_EXPR_VAR_SCORE && p->kind != ATTN_EXPR_SCORE)
        return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: 'score' is only defined in a score_mod", column), -1;
    if (var) {
        value.value.var = var;
        if (expr_next(p) < 0) return -1;
        return expr_leaf(p, ATTN_EXPR_OP_VAR, var == ATTN_EXPR_VAR_SCORE ? ATTN_EXPR_FLOAT : ATTN_EXPR_INT, value,
                         column);
    }
    const expr_function *fn = expr_find_function(name, len);
    if (fn) {
        if (expr_next(p) < 0) return -1;
        if (p->tok.kind != TOK_LPAREN)
            return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: '%s' is a function: call it as %s(...)", column,
                                  fn->name, fn->name),
                   -1;
        return parse_call(p, fn, column);
    }
    for (uint32_t k = 0; k < p->declared_count; k++) {
        if (strlen(p->declared[k].name) == len && memcmp(p->declared[k].name, name, len) == 0) {
            if (expr_next(p) < 0) return -1;
            return parse_aux(p, k, column);
        }
    }
    const char *suggestion = expr_suggest(p, name, len);
    int shown = len > 40 ? 40 : (int)len;
    if (suggestion)
        return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: unknown name '%.*s' (did you mean '%s'?)", column,
                              shown, name, suggestion),
               -1;
    return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: unknown name '%.*s'", column, shown, name), -1;
}

static int32_t parse_primary(expr_parser *p) {
    attn_expr_node value;
    memset(&value, 0, sizeof value);
    size_t column = p->tok.start + 1;
    switch (p->tok.kind) {
    case TOK_INT:
        value.value.i = p->tok.i;
        if (expr_next(p) < 0) return -1;
        return expr_leaf(p, ATTN_EXPR_OP_INT, ATTN_EXPR_INT, value, column);
    case TOK_FLOAT:
        value.value.f = p->tok.f;
        if (expr_next(p) < 0) return -1;
        return expr_leaf(p, ATTN_EXPR_OP_FLOAT, ATTN_EXPR_FLOAT, value, column);
    case TOK_IDENT: return parse_name(p);
    case TOK_LPAREN: {
        if (enter(p) < 0 || expr_next(p) < 0) return -1;
        int32_t inner = parse_expression(p);
        if (inner < 0 || expect(p, TOK_RPAREN, "')'") < 0) return -1;
        p->depth--;
        return inner;
    }
    default: return fail_unexpected(p, "an expression");
    }
}

/* Prefix '-' and '!' go on p->prefixes and are applied innermost first once the operand is
 * parsed: "- - x" costs a loop, not a recursion. */
static int32_t parse_unary(expr_parser *p) {
    uint32_t base = p->prefix_count;
    while (p->tok.kind == TOK_MINUS || p->tok.kind == TOK_NOT) {
        /* at most one prefix per byte of text, and the text is at most ATTN_EXPR_MAX_TEXT */
        p->prefixes[p->prefix_count].kind = p->tok.kind;
        p->prefixes[p->prefix_count++].column = p->tok.start + 1;
        if (expr_next(p) < 0) return -1;
    }
    int32_t node = parse_primary(p);
    while (node >= 0 && p->prefix_count > base) {
        const expr_prefix *op = &p->prefixes[--p->prefix_count];
        node = expr_unary(p, op->kind, node, op->column);
    }
    p->prefix_count = base;
    return node;
}

static int32_t parse_binary(expr_parser *p, int min_precedence) {
    int32_t left = parse_unary(p);
    int last = 0; /* precedence of the operator that built `left` in this loop */
    while (left >= 0) {
        int prec = precedence(p->tok.kind);
        if (prec == 0 || prec < min_precedence) break;
        if (last == prec && (prec == PREC_COMPARISON || prec == PREC_EQUALITY)) {
            char token[64];
            expr_token_describe(p, &p->tok, token, sizeof token);
            return attn_error_set(p->err, ATTN_E_INVALID,
                                  "column %zu: comparisons do not chain: %s after a comparison of the same kind "
                                  "(write 'a < b && b < c' for 'a < b < c')",
                                  p->tok.start + 1, token),
                   -1;
        }
        expr_token_kind op = p->tok.kind;
        size_t column = p->tok.start + 1;
        if (expr_next(p) < 0) return -1;
        int32_t right = parse_binary(p, prec + 1); /* all binary operators associate to the left */
        if (right < 0) return -1;
        left = expr_binary(p, op, left, right, column);
        last = prec;
    }
    return left;
}

static int is_identifier(const char *s) {
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_')) return 0;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
    return 1;
}

static attn_status check_declared(const attn_expr_aux *declared, uint32_t count, attn_error *err) {
    if (count > 0 && !declared)
        return attn_error_set(err, ATTN_E_INVALID, "%u aux tensors declared with a NULL table", count);
    for (uint32_t k = 0; k < count; k++) {
        const attn_expr_aux *d = &declared[k];
        if (!d->name || !is_identifier(d->name))
            return attn_error_set(err, ATTN_E_INVALID, "aux tensor %u: name %s%s%s is not an identifier", k,
                                  d->name ? "'" : "", d->name ? d->name : "NULL", d->name ? "'" : "");
        if (expr_name_reserved(d->name, strlen(d->name)))
            return attn_error_set(err, ATTN_E_INVALID, "aux tensor %u: '%s' is a variable or function name", k,
                                  d->name);
        if (d->type != ATTN_EXPR_BOOL && d->type != ATTN_EXPR_INT && d->type != ATTN_EXPR_FLOAT)
            return attn_error_set(err, ATTN_E_INVALID, "aux tensor '%s': unknown type %d", d->name, (int)d->type);
        if (d->rank < 0 || d->rank > ATTN_EXPR_MAX_ARITY)
            return attn_error_set(err, ATTN_E_INVALID, "aux tensor '%s': rank %d is not in 0..%d", d->name,
                                  (int)d->rank, ATTN_EXPR_MAX_ARITY);
        for (uint32_t j = 0; j < k; j++)
            if (strcmp(declared[j].name, d->name) == 0)
                return attn_error_set(err, ATTN_E_INVALID, "aux tensor '%s' is declared twice", d->name);
    }
    return ATTN_OK;
}

/* One allocation: the struct, the nodes, the aux table, the text, the names. */
static attn_expr *pack(const expr_parser *p) {
    size_t size = sizeof(attn_expr) + p->node_count * sizeof(attn_expr_node) + p->aux_count * sizeof(attn_expr_aux) +
                  p->len + 1;
    for (uint32_t k = 0; k < p->aux_count; k++) size += strlen(p->declared[p->aux_used[k]].name) + 1;
    char *block = malloc(size);
    if (!block) return NULL;
    attn_expr *e = (attn_expr *)block;
    attn_expr_node *nodes = (attn_expr_node *)(block + sizeof(attn_expr));
    attn_expr_aux *aux = (attn_expr_aux *)(nodes + p->node_count);
    char *chars = (char *)(aux + p->aux_count);
    memcpy(nodes, p->nodes, p->node_count * sizeof(attn_expr_node));
    memcpy(chars, p->text, p->len);
    chars[p->len] = '\0';
    e->text = chars;
    chars += p->len + 1;
    for (uint32_t k = 0; k < p->aux_count; k++) {
        const attn_expr_aux *d = &p->declared[p->aux_used[k]];
        size_t n = strlen(d->name) + 1;
        memcpy(chars, d->name, n);
        aux[k].name = chars;
        aux[k].type = d->type;
        aux[k].rank = d->rank;
        chars += n;
    }
    e->struct_size = sizeof(attn_expr);
    e->node_count = p->node_count;
    e->nodes = nodes;
    e->aux_count = p->aux_count;
    e->aux = aux;
    return e;
}

attn_status attn_expr_parse(const char *text, attn_expr_kind kind, const attn_expr_aux *declared,
                            uint32_t declared_count, attn_expr **out, attn_error *err) {
    if (!out) return attn_error_set(err, ATTN_E_INVALID, "attn_expr_parse: out is NULL");
    *out = NULL;
    if (!text) return attn_error_set(err, ATTN_E_INVALID, "attn_expr_parse: text is NULL");
    if (kind != ATTN_EXPR_MASK && kind != ATTN_EXPR_SCORE)
        return attn_error_set(err, ATTN_E_INVALID, "attn_expr_parse: unknown kind %d", (int)kind);
    size_t len = strnlen(text, ATTN_EXPR_MAX_TEXT + 1);
    if (len > ATTN_EXPR_MAX_TEXT)
        return attn_error_set(err, ATTN_E_INVALID, "expression longer than %d bytes", ATTN_EXPR_MAX_TEXT);
    attn_status status = check_declared(declared, declared_count, err);
    if (status != ATTN_OK) return status;

    /* A local error record: the caller's err may be NULL, and the status is read back from it. */
    attn_error local;
    local.status = ATTN_OK;
    local.message[0] = '\0';
    expr_parser *p = calloc(1, sizeof *p);
    int32_t *slots = calloc(declared_count ? declared_count : 1, sizeof *slots);
    uint32_t *used = calloc(declared_count ? declared_count : 1, sizeof *used);
    if (!p || !slots || !used) {
        free(p);
        free(slots);
        free(used);
        return attn_error_set(err, ATTN_E_NOMEM, "out of memory parsing an expression");
    }
    for (uint32_t k = 0; k < declared_count; k++) slots[k] = -1;
    p->text = text;
    p->len = len;
    p->kind = kind;
    p->declared = declared;
    p->declared_count = declared_count;
    p->aux_slot = slots;
    p->aux_used = used;
    p->err = &local;

    int32_t root = -1;
    if (expr_next(p) == 0) {
        root = parse_expression(p);
        if (root >= 0 && p->tok.kind != TOK_END) root = fail_unexpected(p, "an operator or the end");
        if (root >= 0) root = expr_finish(p, root);
    }
    if (root >= 0) {
        *out = pack(p);
        if (!*out) attn_error_set(&local, ATTN_E_NOMEM, "out of memory packing an expression");
    } else if (local.status == ATTN_OK) {
        attn_error_set(&local, ATTN_E_INTERNAL, "expression parser failed without a message");
    }
    free(slots);
    free(used);
    free(p);
    if (local.status != ATTN_OK) {
        if (err) *err = local;
        return local.status;
    }
    return ATTN_OK;
}

void attn_expr_free(attn_expr *e) { free(e); }
