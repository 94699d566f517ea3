/* A case's auxiliary tensors (SPEC.md "Expressions"): read from a case file, checked, and
 * generated on the host for an instance.
 *
 *   aux:
 *     rel_bias: {dtype: float32, shape: [4, 128], fill: normal, scale: 0.5}
 *     doc:      {dtype: int32, shape: [2, 96], fill: index, step: 24}   # documents of 24 keys
 *     keep:     {dtype: bool, shape: [8], values: [1, 0, 1, 1, 0, 1, 1, 1]} */
#include "case_aux.h"

#include "random.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const aux_keys[] = {"dtype", "shape", "fill", "scale", "step", "values", NULL};
static const char *const fill_names[] = {"values", "normal", "index", "bernoulli"};
#define FILL_COUNT (int32_t)(sizeof fill_names / sizeof fill_names[0])

int64_t attn_case_aux_elements(const attn_case_aux *a) {
    int64_t n = 1;
    for (int32_t d = 0; d < a->rank; ++d) n *= a->shape[d];
    return n;
}

static attn_status parse_dtype(attn_yaml *y, yaml_node_t *value, attn_case_aux *a, attn_error *err) {
    const char *text;
    attn_status st = attn_yaml_string(y, value, "dtype", &text, err);
    if (st != ATTN_OK) return st;
    if (!strcmp(text, "float32")) a->type = ATTN_EXPR_FLOAT;
    else if (!strcmp(text, "int32")) a->type = ATTN_EXPR_INT;
    else if (!strcmp(text, "bool")) a->type = ATTN_EXPR_BOOL;
    else return attn_yaml_fail(y, value, "dtype", err, "'%s' is not one of float32, int32, bool", text);
    return ATTN_OK;
}

static attn_status parse_fill(attn_yaml *y, yaml_node_t *value, attn_case_aux *a, attn_error *err) {
    const char *text;
    attn_status st = attn_yaml_string(y, value, "fill", &text, err);
    if (st != ATTN_OK) return st;
    for (int32_t n = 1; n < FILL_COUNT; ++n) /* "values" is given by the values key itself */
        if (!strcmp(text, fill_names[n])) {
            a->fill = n;
            return ATTN_OK;
        }
    return attn_yaml_fail(y, value, "fill", err, "'%s' is not one of normal, index, bernoulli (or give values)", text);
}

static attn_status parse_shape(attn_yaml *y, yaml_node_t *value, attn_case_aux *a, attn_error *err) {
    int32_t dims[ATTN_EXPR_MAX_ARITY];
    attn_status st = attn_yaml_int_list(y, value, "shape", 1, ATTN_CASE_AUX_MAX_ELEMENTS, dims, ATTN_EXPR_MAX_ARITY,
                                        &a->rank, err);
    if (st != ATTN_OK) return st;
    int64_t elements = 1;
    for (int32_t d = 0; d < a->rank; ++d) {
        a->shape[d] = dims[d];
        elements *= dims[d];
        if (elements > ATTN_CASE_AUX_MAX_ELEMENTS)
            return attn_yaml_fail(y, value, "shape", err, "more than %d elements", ATTN_CASE_AUX_MAX_ELEMENTS);
    }
    return ATTN_OK;
}

/* values: a flat list of numbers, row-major, stored as floats (exact for int32 up to 2^24). */
static attn_status parse_values(attn_yaml *y, yaml_node_t *value, attn_case_aux *a, attn_error *err) {
    if (value->type != YAML_SEQUENCE_NODE) return attn_yaml_fail(y, value, "values", err, "expected a list of numbers");
    a->fill = ATTN_AUX_FILL_VALUES;
    a->value_count = 0;
    for (yaml_node_item_t *item = value->data.sequence.items.start; item < value->data.sequence.items.top; ++item) {
        if (a->value_count == ATTN_CASE_AUX_VALUES_CAP)
            return attn_yaml_fail(y, value, "values", err, "more than %d values (use fill for larger tensors)",
                                  ATTN_CASE_AUX_VALUES_CAP);
        double d;
        attn_status st = attn_yaml_double(y, attn_yaml_get(y, *item), "values", -16777216.0, 16777216.0, &d, err);
        if (st != ATTN_OK) return st;
        a->values[a->value_count++] = (float)d;
    }
    return ATTN_OK;
}

/* One tensor's mapping: dtype and shape, then fill or values. */
static attn_status parse_one(attn_yaml *y, yaml_node_t *node, attn_case_aux *a, attn_error *err) {
    attn_status st = attn_yaml_expect_mapping(y, node, "an aux tensor ({dtype, shape, fill or values})", err);
    if (st != ATTN_OK) return st;
    a->scale = 1.0f;
    a->step = 1;
    a->fill = -1;
    int given_dtype = 0, given_shape = 0;
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start; st == ATTN_OK && pair < node->data.mapping.pairs.top;
         ++pair) {
        yaml_node_t *key = attn_yaml_get(y, pair->key), *value = attn_yaml_get(y, pair->value);
        const char *k = (const char *)key->data.scalar.value;
        double d;
        int64_t i;
        if (!strcmp(k, "dtype")) st = parse_dtype(y, value, a, err), given_dtype = 1;
        else if (!strcmp(k, "shape")) st = parse_shape(y, value, a, err), given_shape = 1;
        else if (!strcmp(k, "fill")) st = parse_fill(y, value, a, err);
        else if (!strcmp(k, "values")) st = parse_values(y, value, a, err);
        else if (!strcmp(k, "scale")) {
            if ((st = attn_yaml_double(y, value, "scale", 0.0, 1e30, &d, err)) == ATTN_OK) a->scale = (float)d;
        } else if (!strcmp(k, "step")) {
            if ((st = attn_yaml_int(y, value, "step", 1, 2147483647, &i, err)) == ATTN_OK) a->step = (int32_t)i;
        } else
            return attn_yaml_unknown_key(y, key, aux_keys, err);
    }
    if (st != ATTN_OK) return st;
    if (!given_dtype || !given_shape) return attn_yaml_fail(y, node, given_dtype ? "shape" : "dtype", err, "missing");
    if (a->fill < 0) return attn_yaml_fail(y, node, "fill", err, "missing: give fill (normal, index, bernoulli) or values");
    return ATTN_OK;
}

attn_status attn_case_aux_parse(attn_yaml *y, yaml_node_t *node, attn_case *c, attn_error *err) {
    attn_status st = attn_yaml_expect_mapping(y, node, "a mapping of aux tensors by name", err);
    if (st != ATTN_OK) return st;
    c->aux_count = 0;
    memset(c->aux, 0, sizeof c->aux);
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; ++pair) {
        yaml_node_t *key = attn_yaml_get(y, pair->key);
        const char *name = (const char *)key->data.scalar.value;
        if (c->aux_count == ATTN_CASE_MAX_AUX)
            return attn_yaml_fail(y, key, "aux", err, "more than %d aux tensors", ATTN_CASE_MAX_AUX);
        if (strlen(name) >= ATTN_CASE_AUX_NAME_CAP)
            return attn_yaml_fail(y, key, "aux", err, "name '%.40s...' longer than %d characters", name,
                                  ATTN_CASE_AUX_NAME_CAP - 1);
        attn_case_aux *a = &c->aux[c->aux_count];
        snprintf(a->name, sizeof a->name, "%s", name);
        if ((st = parse_one(y, attn_yaml_get(y, pair->value), a, err)) != ATTN_OK) return st;
        c->aux_count++;
    }
    return ATTN_OK;
}

attn_status attn_case_aux_validate(const attn_case *c, const char *who, attn_error *err) {
    if (c->aux_count < 0 || c->aux_count > ATTN_CASE_MAX_AUX)
        return attn_error_set(err, ATTN_E_INVALID, "%s: aux_count %d outside [0, %d]", who, c->aux_count, ATTN_CASE_MAX_AUX);
    for (int32_t k = 0; k < c->aux_count; ++k) {
        const attn_case_aux *a = &c->aux[k];
        if (a->type < ATTN_EXPR_BOOL || a->type > ATTN_EXPR_FLOAT || a->rank < 0 || a->rank > ATTN_EXPR_MAX_ARITY)
            return attn_error_set(err, ATTN_E_INVALID, "%s: aux '%s': type %d / rank %d unknown", who, a->name, a->type, a->rank);
        int64_t elements = 1;
        for (int32_t d = 0; d < a->rank; ++d) {
            if (a->shape[d] < 1 || (elements *= a->shape[d]) > ATTN_CASE_AUX_MAX_ELEMENTS)
                return attn_error_set(err, ATTN_E_INVALID, "%s: aux '%s': dimensions >= 1, at most %d elements", who,
                                      a->name, ATTN_CASE_AUX_MAX_ELEMENTS);
        }
        if (a->fill == ATTN_AUX_FILL_VALUES && a->value_count != elements)
            return attn_error_set(err, ATTN_E_INVALID, "%s: aux '%s': %d values for a shape of %lld elements", who, a->name,
                                  a->value_count, (long long)elements);
        if (a->fill < 0 || a->fill >= FILL_COUNT || a->step < 1)
            return attn_error_set(err, ATTN_E_INVALID, "%s: aux '%s': fill %d / step %d unknown", who, a->name, a->fill, a->step);
        if ((a->fill == ATTN_AUX_FILL_NORMAL && a->type != ATTN_EXPR_FLOAT) ||
            (a->fill == ATTN_AUX_FILL_INDEX && a->type != ATTN_EXPR_INT) ||
            (a->fill == ATTN_AUX_FILL_BERNOULLI && a->type != ATTN_EXPR_BOOL))
            return attn_error_set(err, ATTN_E_INVALID, "%s: aux '%s': fill %s makes %s, not %s", who, a->name,
                                  fill_names[a->fill],
                                  a->fill == ATTN_AUX_FILL_NORMAL ? "floats" : a->fill == ATTN_AUX_FILL_INDEX ? "ints" : "bools",
                                  a->type == ATTN_EXPR_FLOAT ? "float32" : a->type == ATTN_EXPR_INT ? "int32" : "bool");
        for (int32_t v = 0; a->fill == ATTN_AUX_FILL_VALUES && v < a->value_count; ++v)
            if (a->type != ATTN_EXPR_FLOAT && (a->values[v] != floorf(a->values[v]) ||
                                               (a->type == ATTN_EXPR_BOOL && a->values[v] != 0.0f && a->values[v] != 1.0f)))
                return attn_error_set(err, ATTN_E_INVALID, "%s: aux '%s': value %d is %g, not %s", who, a->name, v,
                                      (double)a->values[v], a->type == ATTN_EXPR_BOOL ? "0 or 1" : "an integer");
    }
    return ATTN_OK;
}

void attn_case_aux_declared(const attn_case *c, attn_expr_aux *out) {
    for (int32_t k = 0; k < c->aux_count; ++k) out[k] = (attn_expr_aux){c->aux[k].name, c->aux[k].type, c->aux[k].rank};
}

size_t attn_case_aux_bytes(const attn_case_aux *a) {
    return (size_t)attn_case_aux_elements(a) * (a->type == ATTN_EXPR_BOOL ? 1u : 4u);
}

void *attn_case_aux_make(const attn_case *c, int32_t index) {
    const attn_case_aux *a = &c->aux[index];
    int64_t n = attn_case_aux_elements(a), last = a->rank ? a->shape[a->rank - 1] : 1;
    void *data = malloc(attn_case_aux_bytes(a) + 1);
    if (!data) return NULL;
    uint64_t state = c->data_seed * 0x2545F4914F6CDD1DULL + 0x61757800u + (uint64_t)index; /* "aux" */
    for (int64_t e = 0; e < n; ++e) {
        double v = 0.0;
        switch (a->fill) {
        case ATTN_AUX_FILL_VALUES: v = a->values[e]; break;
        case ATTN_AUX_FILL_NORMAL: /* Box-Muller */
            v = a->scale * sqrt(-2.0 * log(attn_random_uniform(&state))) * cos(6.283185307179586 * attn_random_uniform(&state));
            break;
        case ATTN_AUX_FILL_INDEX: v = (double)((e % last) / a->step); break;
        case ATTN_AUX_FILL_BERNOULLI: v = (double)(attn_random_u64(&state) >> 63); break;
        }
        if (a->type == ATTN_EXPR_FLOAT) ((float *)data)[e] = (float)v;
        else if (a->type == ATTN_EXPR_INT) ((int32_t *)data)[e] = (int32_t)v;
        else ((uint8_t *)data)[e] = (uint8_t)(v != 0.0);
    }
    return data;
}
