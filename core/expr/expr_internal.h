/* Shared state of the expression parser (core/expr/): the lexer's tokens, the parser's state
 * and the typed node builder.  Internal to libattn. */
#ifndef ATTN_EXPR_INTERNAL_H
#define ATTN_EXPR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "attn/host/attn_expr_parse.h"

typedef enum expr_token_kind {
    TOK_END,
    TOK_INT,
    TOK_FLOAT,
    TOK_IDENT,
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_LBRACKET,
    TOK_RBRACKET,
    TOK_COMMA,
    TOK_PLUS,
    TOK_MINUS,
    TOK_STAR,
    TOK_SLASH,
    TOK_SLASHSLASH,
    TOK_PERCENT,
    TOK_LT,
    TOK_LE,
    TOK_GT,
    TOK_GE,
    TOK_EQ,
    TOK_NE,
    TOK_AND,
    TOK_OR,
    TOK_NOT,
} expr_token_kind;

typedef struct expr_token {
    expr_token_kind kind;
    size_t start, len; /* bytes of the text; the column is start + 1 */
    int64_t i;         /* TOK_INT */
    double f;          /* TOK_FLOAT */
} expr_token;

/* A pending prefix operator ('-' or '!'): kept on an explicit stack so that a long run of
 * them costs no recursion. */
typedef struct expr_prefix {
    expr_token_kind kind;
    size_t column;
} expr_prefix;

typedef struct expr_parser {
    const char *text;
    size_t len;
    size_t pos; /* the lexer's next byte */
    expr_token tok;
    attn_expr_kind kind;
    const attn_expr_aux *declared;
    uint32_t declared_count;
    int32_t *aux_slot; /* [declared_count]: the aux table index of a declared tensor, -1 unused */
    uint32_t *aux_used; /* [declared_count]: declared index of each aux table entry */
    uint32_t aux_count;
    attn_expr_node nodes[ATTN_EXPR_MAX_NODES];
    uint32_t node_count;
    expr_prefix prefixes[ATTN_EXPR_MAX_TEXT];
    uint32_t prefix_count;
    int depth;
    attn_error *err;
} expr_parser;

/* lex.c: reads the next token into p->tok; -1 with err set on a bad character or literal. */
int expr_next(expr_parser *p);
/* "'x'", "end of text": how a message names the current token. */
void expr_token_describe(const expr_parser *p, const expr_token *t, char *out, size_t cap);

/* typecheck.c: appends typed nodes; each returns the new node's index, or -1 with err set
 * naming `column` and the operator when the operand types do not fit. */
int32_t expr_leaf(expr_parser *p, uint8_t op, uint8_t type, attn_expr_node value, size_t column);
int32_t expr_unary(expr_parser *p, expr_token_kind op, int32_t a, size_t column);
int32_t expr_binary(expr_parser *p, expr_token_kind op, int32_t a, int32_t b, size_t column);
/* A call of a function by name (already known to exist) with its arguments. */
int32_t expr_call(expr_parser *p, const char *name, const int32_t *args, int argc, size_t column);
int32_t expr_aux(expr_parser *p, uint32_t declared_index, const int32_t *indices, size_t column);
/* Converts the root to what the kind requires (bool mask, float score). */
int32_t expr_finish(expr_parser *p, int32_t root);

/* names.c */
typedef struct expr_function {
    const char *name;
    int argc;
} expr_function;
const expr_function *expr_find_function(const char *name, size_t len);
/* Variable ids (ATTN_EXPR_VAR_*) by name, 0 when not a variable. */
int32_t expr_find_variable(const char *name, size_t len);
/* 1 when name is a variable, function or literal word: not usable as an aux name. */
int expr_name_reserved(const char *name, size_t len);
/* The valid name closest to name[0..len) within edit distance 2, or NULL. */
const char *expr_suggest(const expr_parser *p, const char *name, size_t len);

#endif
