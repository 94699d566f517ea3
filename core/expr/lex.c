/* The expression lexer: numbers, names, operators.  Whitespace is spaces, tabs and line
 * breaks (YAML block scalars keep them); every other character outside a token is an error. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr_internal.h"

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_name_char(char c) { return is_name_start(c) || is_digit(c); }

/* [0-9]+ not followed by '.', 'e' or 'E': an int64, refused when it does not fit. */
static int lex_int(expr_parser *p, expr_token *t) {
    int64_t value = 0;
    for (size_t k = 0; k < t->len; k++) {
        int digit = p->text[t->start + k] - '0';
        if (value > (INT64_MAX - digit) / 10)
            return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: integer literal '%.*s' does not fit in 64 bits",
                                  t->start + 1, (int)t->len, p->text + t->start),
                   -1;
        value = value * 10 + digit;
    }
    t->i = value;
    return 0;
}

/* The lexeme is checked here (digits, one '.', an exponent with digits) and converted by
 * strtod, which reads exactly this syntax in the C locale. */
static int lex_float(expr_parser *p, expr_token *t) {
    char buffer[128];
    if (t->len >= sizeof buffer)
        return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: number literal longer than %zu characters",
                              t->start + 1, sizeof buffer - 1),
               -1;
    memcpy(buffer, p->text + t->start, t->len);
    buffer[t->len] = '\0';
    char *end = NULL;
    errno = 0;
    double value = strtod(buffer, &end);
    if (end != buffer + t->len)
        return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: malformed number '%s'", t->start + 1, buffer), -1;
    if (isinf(value))
        return attn_error_set(p->err, ATTN_E_INVALID, "column %zu: float literal '%s' is out of range", t->start + 1,
                              buffer),
               -1;
    t->f = value;
    return 0;
}

static int lex_number(expr_parser *p, expr_token *t) {
    const char *s = p->text;
    size_t k = p->pos;
    int is_float = 0;
    while (k < p->len && is_digit(s[k])) k++;
    if (k < p->len && s[k] == '.') {
        is_float = 1;
        k++;
        while (k < p->len && is_digit(s[k])) k++;
    }
    if (k < p->len && (s[k] == 'e' || s[k] == 'E')) {
        size_t exponent = k + 1;
        if (exponent < p->len && (s[exponent] == '+' || s[exponent] == '-')) exponent++;
        if (exponent < p->len && is_digit(s[exponent])) {
            is_float = 1;
            k = exponent;
            while (k < p->len && is_digit(s[k])) k++;
        }
        /* else: "2e" is the number 2 followed by the name e, which the parser refuses */
    }
    t->kind = is_float ? TOK_FLOAT : TOK_INT;
    t->len = k - t->start;
    p->pos = k;
    return is_float ? lex_float(p, t) : lex_int(p, t);
}

int expr_next(expr_parser *p) {
    const char *s = p->text;
    while (p->pos < p->len && (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' || s[p->pos] == '\r'))
        p->pos++;
    expr_token *t = &p->tok;
    memset(t, 0, sizeof *t);
    t->start = p->pos;
    if (p->pos >= p->len) {
        t->kind = TOK_END;
        return 0;
    }
    char c = s[p->pos], next = p->pos + 1 < p->len ? s[p->pos + 1] : '\0';
    if (is_digit(c) || (c == '.' && is_digit(next))) return lex_number(p, t);
    if (is_name_start(c)) {
        size_t k = p->pos;
        while (k < p->len && is_name_char(s[k])) k++;
        t->kind = TOK_IDENT;
        t->len = k - p->pos;
        p->pos = k;
        return 0;
    }
    static const struct {
        const char *text;
        expr_token_kind kind;
    } operators[] = {
        /* two-character operators first, so "<=" is not read as "<" */
        {"//", TOK_SLASHSLASH}, {"<=", TOK_LE}, {">=", TOK_GE}, {"==", TOK_EQ}, {"!=", TOK_NE}, {"&&", TOK_AND},
        {"||", TOK_OR},         {"(", TOK_LPAREN}, {")", TOK_RPAREN}, {"[", TOK_LBRACKET}, {"]", TOK_RBRACKET},
        {",", TOK_COMMA},       {"+", TOK_PLUS},   {"-", TOK_MINUS},  {"*", TOK_STAR},     {"/", TOK_SLASH},
        {"%", TOK_PERCENT},     {"<", TOK_LT},     {">", TOK_GT},     {"!", TOK_NOT},
    };
    for (size_t k = 0; k < sizeof operators / sizeof operators[0]; k++) {
        size_t n = strlen(operators[k].text);
        if (p->pos + n <= p->len && memcmp(s + p->pos, operators[k].text, n) == 0) {
            t->kind = operators[k].kind;
            t->len = n;
            p->pos += n;
            return 0;
        }
    }
    const char *hint = c == '&' ? " (did you mean '&&'?)" : c == '|' ? " (did you mean '||'?)" : c == '=' ? " (did you mean '=='?)" : "";
    if (c >= 0x20 && c < 0x7f)
        attn_error_set(p->err, ATTN_E_INVALID, "column %zu: unexpected character '%c'%s", p->pos + 1, c, hint);
    else
        attn_error_set(p->err, ATTN_E_INVALID, "column %zu: unexpected byte 0x%02x", p->pos + 1, (unsigned char)c);
    return -1;
}

void expr_token_describe(const expr_parser *p, const expr_token *t, char *out, size_t cap) {
    if (t->kind == TOK_END)
        snprintf(out, cap, "end of text");
    else if (t->len > 40)
        snprintf(out, cap, "'%.40s...'", p->text + t->start);
    else
        snprintf(out, cap, "'%.*s'", (int)t->len, p->text + t->start);
}
