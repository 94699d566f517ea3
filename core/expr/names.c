/* The names an expression may use (variables, functions, literal words) and the "did you
 * mean" search over every name valid in a given place. */
#include <string.h>

#include "expr_internal.h"
#include "internal/edit_distance.h"

static const expr_function functions[] = {
    {"where", 3}, {"min", 2}, {"max", 2}, {"clamp", 3}, {"abs", 1}, {"exp", 1}, {"log", 1}, {"tanh", 1}, {"sqrt", 1},
};
#define FUNCTION_COUNT (sizeof functions / sizeof functions[0])

static const struct {
    const char *name;
    int32_t id;
} variables[] = {
    {"b", ATTN_EXPR_VAR_B},         {"h", ATTN_EXPR_VAR_H},         {"q_idx", ATTN_EXPR_VAR_Q_IDX},
    {"kv_idx", ATTN_EXPR_VAR_KV_IDX}, {"score", ATTN_EXPR_VAR_SCORE},
};
#define VARIABLE_COUNT (sizeof variables / sizeof variables[0])

static int same(const char *word, const char *name, size_t len) { return strlen(word) == len && memcmp(word, name, len) == 0; }

const expr_function *expr_find_function(const char *name, size_t len) {
    for (size_t k = 0; k < FUNCTION_COUNT; k++)
        if (same(functions[k].name, name, len)) return &functions[k];
    return NULL;
}

int32_t expr_find_variable(const char *name, size_t len) {
    for (size_t k = 0; k < VARIABLE_COUNT; k++)
        if (same(variables[k].name, name, len)) return variables[k].id;
    return 0;
}

int expr_name_reserved(const char *name, size_t len) {
    return expr_find_function(name, len) || expr_find_variable(name, len) || same("true", name, len) ||
           same("false", name, len);
}

static void consider(const char *candidate, const char *name, size_t len, const char **best, size_t *best_distance) {
    size_t lc = strlen(candidate);
    if (lc > ATTN_EDIT_DISTANCE_MAX) return;
    size_t d = attn_edit_distance(name, len, candidate, lc);
    if (d < *best_distance && d < len) {
        *best = candidate;
        *best_distance = d;
    }
}

const char *expr_suggest(const expr_parser *p, const char *name, size_t len) {
    if (len > ATTN_EDIT_DISTANCE_MAX) return NULL;
    const char *best = NULL;
    size_t best_distance = 3; /* at most 2 edits */
    for (size_t k = 0; k < VARIABLE_COUNT; k++)
        if (variables[k].id != ATTN_EXPR_VAR_SCORE || p->kind == ATTN_EXPR_SCORE)
            consider(variables[k].name, name, len, &best, &best_distance);
    for (uint32_t k = 0; k < p->declared_count; k++) consider(p->declared[k].name, name, len, &best, &best_distance);
    for (size_t k = 0; k < FUNCTION_COUNT; k++) consider(functions[k].name, name, len, &best, &best_distance);
    consider("true", name, len, &best, &best_distance);
    consider("false", name, len, &best, &best_distance);
    return best;
}
