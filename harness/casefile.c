/* Case files: user-written instances with the same fields as the built-in ones.
 *
 *   cases:
 *     - row: Sliding window      # a row of the table, or a new row
 *       dtype: bfloat16
 *       q_len: 1
 *       kv_len: 4096
 *       window_left: 256
 *
 * Every field of case_fields.c is a key; unknown keys are refused with the nearest known one. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn_case.h"
#include "case_aux.h"
#include "case_fields.h"
#include "internal/files.h"
#include "internal/yaml_doc.h"

/* A named value (dtype, layout, modifier, one check): one of the field's names, listed when not. */
static attn_status parse_named(attn_yaml *y, yaml_node_t *value, const attn_case_field *f, int32_t *out,
                               attn_error *err) {
    const char *text;
    attn_status st = attn_yaml_string(y, value, f->key, &text, err);
    if (st != ATTN_OK) return st;
    if ((*out = attn_case_field_value_from_name(f, text)) >= 0) return ATTN_OK;
    char list[128];
    attn_case_field_names_joined(f, ", ", ", ", list, sizeof list);
    return attn_yaml_fail(y, value, f->key, err, "'%s' is not one of %s", text, list);
}

static attn_status parse_checks(attn_yaml *y, yaml_node_t *value, const attn_case_field *f, attn_case *c,
                                attn_error *err) {
    if (value->type != YAML_SEQUENCE_NODE) {
        char list[128];
        attn_case_field_names_joined(f, ", ", ", ", list, sizeof list);
        return attn_yaml_fail(y, value, f->key, err, "expected a list: [%s]", list);
    }
    c->checks = 0;
    for (yaml_node_item_t *item = value->data.sequence.items.start; item < value->data.sequence.items.top; ++item) {
        int32_t bit;
        attn_status st = parse_named(y, attn_yaml_get(y, *item), f, &bit, err);
        if (st != ATTN_OK) return st;
        c->checks |= 1u << bit;
    }
    return ATTN_OK;
}

static attn_status parse_unsigned(attn_yaml *y, const attn_case_field *f, yaml_node_t *value, attn_case *c,
                                  attn_error *err) {
    /* The member's type is the range: seeds take all of 64 bits, the table's max (a double) could not say 2^64 - 1. */
    uint64_t max = f->kind == ATTN_FIELD_UINT32 ? UINT32_MAX : UINT64_MAX, u;
    attn_status st = attn_yaml_uint(y, value, f->key, max, &u, err);
    if (st == ATTN_OK) attn_case_field_set_unsigned(c, f, u);
    return st;
}

static attn_status parse_field(attn_yaml *y, const attn_case_field *f, yaml_node_t *value, attn_case *c,
                               int32_t *list_count, attn_error *err) {
    char *slot = attn_case_field_slot(c, f);
    int64_t i64;
    double d;
    int32_t named;
    attn_status st = ATTN_OK;
    switch (f->kind) {
    case ATTN_FIELD_TEXT: {
        const char *text;
        st = attn_yaml_string(y, value, f->key, &text, err);
        if (st == ATTN_OK && strlen(text) >= f->size)
            return attn_yaml_fail(y, value, f->key, err, "longer than %zu characters", f->size - 1);
        if (st == ATTN_OK) snprintf(slot, f->size, "%s", text);
        return st;
    }
    case ATTN_FIELD_INT64:
    case ATTN_FIELD_INT32:
        st = attn_yaml_int(y, value, f->key, (int64_t)f->min, (int64_t)f->max, &i64, err);
        if (st == ATTN_OK) attn_case_field_set_int(c, f, i64);
        return st;
    case ATTN_FIELD_BOOL:
        return attn_yaml_bool(y, value, f->key, (int32_t *)slot, err);
    case ATTN_FIELD_FLOAT:
    case ATTN_FIELD_DOUBLE:
        st = attn_yaml_double(y, value, f->key, f->min, f->max, &d, err);
        if (st == ATTN_OK && !attn_case_field_holds_real(f, d))
            return attn_yaml_fail(y, value, f->key, err, "%g is too close to 0 for a float32 field", d);
        if (st == ATTN_OK) attn_case_field_set_real(c, f, d);
        return st;
    case ATTN_FIELD_UINT64:
    case ATTN_FIELD_UINT32:
        return parse_unsigned(y, f, value, c, err);
    case ATTN_FIELD_DTYPE:
    case ATTN_FIELD_LAYOUT:
    case ATTN_FIELD_MODIFIER:
        st = parse_named(y, value, f, &named, err);
        if (st == ATTN_OK) attn_case_field_set_int(c, f, named);
        return st;
    case ATTN_FIELD_BATCH_LIST:
    case ATTN_FIELD_DOC_LIST:
        st = attn_yaml_int_list(y, value, f->key, (int64_t)f->min, (int64_t)f->max, (int32_t *)slot,
                                (int32_t)(f->size / sizeof(int32_t)), list_count, err);
        if (st == ATTN_OK) attn_case_field_list_given(c, f, *list_count);
        return st;
    case ATTN_FIELD_CHECKS:
        return parse_checks(y, value, f, c, err);
    case ATTN_FIELD_AUX:
        return attn_case_aux_parse(y, value, c, err);
    }
    return ATTN_OK;
}

static attn_status unknown_key(attn_yaml *y, yaml_node_t *key, attn_error *err) {
    const char *known[ATTN_CASE_FIELD_CAP + 1];
    uint32_t n = 0;
    for (; n < attn_case_field_count(); ++n) known[n] = attn_case_field_at(n)->key;
    known[n] = NULL;
    return attn_yaml_unknown_key(y, key, known, err);
}

/* The length lists against the batch (has_lengths / has_prefix are set as they are parsed). */
static attn_status check_lists(attn_yaml *y, yaml_node_t *node, const attn_case *c, const uint8_t *given,
                               const int32_t *counts, attn_error *err) {
    int32_t q = attn_case_field_index("q_lens"), kv = attn_case_field_index("kv_lens");
    int32_t prefix = attn_case_field_index("prefix_lens");
    if (given[q] != given[kv])
        return attn_yaml_fail(y, node, given[q] ? "kv_lens" : "q_lens", err,
                              "q_lens and kv_lens must be given together");
    if (given[q] && (counts[q] != c->batch || counts[kv] != c->batch))
        return attn_yaml_fail(y, node, "q_lens", err, "q_lens has %d and kv_lens %d entries; batch is %lld", counts[q],
                              counts[kv], (long long)c->batch);
    if (given[prefix] && counts[prefix] != c->batch)
        return attn_yaml_fail(y, node, "prefix_lens", err, "%d entries; batch is %lld", counts[prefix],
                              (long long)c->batch);
    return ATTN_OK;
}

static attn_status parse_case(attn_yaml *y, yaml_node_t *node, attn_case *c, attn_error *err) {
    attn_status st = attn_yaml_expect_mapping(y, node, "a case", err);
    if (st != ATTN_OK) return st;
    attn_case_defaults(c);
    uint8_t given[ATTN_CASE_FIELD_CAP] = {0};
    int32_t counts[ATTN_CASE_FIELD_CAP] = {0};
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; ++pair) {
        yaml_node_t *key = attn_yaml_get(y, pair->key), *value = attn_yaml_get(y, pair->value);
        int32_t index = attn_case_field_index((const char *)key->data.scalar.value);
        if (index < 0) return unknown_key(y, key, err);
        st = parse_field(y, attn_case_field_at((uint32_t)index), value, c, &counts[index], err);
        if (st != ATTN_OK) return st;
        given[index] = 1;
    }
    attn_case_fields_follow(c, given);
    if ((st = check_lists(y, node, c, given, counts, err)) != ATTN_OK) return st;
    attn_error why;
    if (attn_case_validate(c, &why) != ATTN_OK) return attn_yaml_fail(y, node, NULL, err, "%s", why.message);
    if (!c->name[0]) attn_case_label(c, c->name, sizeof c->name);
    return ATTN_OK;
}

static attn_status parse_cases(attn_yaml *y, attn_case **out, uint32_t *count, attn_error *err) {
    yaml_node_t *root = attn_yaml_root(y);
    attn_status st = attn_yaml_expect_mapping(y, root, "a case file", err);
    if (st != ATTN_OK) return st;
    yaml_node_t *list = NULL;
    static const char *const top_keys[] = {"cases", NULL};
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; ++pair) {
        yaml_node_t *key = attn_yaml_get(y, pair->key);
        if (strcmp((const char *)key->data.scalar.value, "cases")) return attn_yaml_unknown_key(y, key, top_keys, err);
        list = attn_yaml_get(y, pair->value);
    }
    if (!list) return attn_yaml_fail(y, root, "cases", err, "missing");
    if (list->type != YAML_SEQUENCE_NODE || list->data.sequence.items.top == list->data.sequence.items.start)
        return attn_yaml_fail(y, list, "cases", err, "expected a non-empty list of cases");
    size_t n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
    attn_case *cases = calloc(n, sizeof *cases);
    if (!cases) return attn_error_set(err, ATTN_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; ++i) {
        st = parse_case(y, attn_yaml_get(y, list->data.sequence.items.start[i]), &cases[i], err);
        if (st != ATTN_OK) {
            free(cases);
            return st;
        }
    }
    *out = cases;
    *count = (uint32_t)n;
    return ATTN_OK;
}

attn_status attn_casefile_parse(const char *text, size_t length, const char *source, attn_case **out, uint32_t *count,
                                attn_error *err) {
    *out = NULL;
    *count = 0;
    attn_yaml y;
    attn_status st = attn_yaml_load(&y, text, length, source, err);
    if (st != ATTN_OK) return st;
    st = parse_cases(&y, out, count, err);
    attn_yaml_free(&y);
    return st;
}

attn_status attn_casefile_load(const char *path, attn_case **out, uint32_t *count, attn_error *err) {
    char *text;
    size_t length;
    *out = NULL;
    *count = 0;
    attn_status st = attn_read_file(path, &text, &length, err);
    if (st != ATTN_OK) return st;
    st = attn_casefile_parse(text, length, path, out, count, err);
    free(text);
    return st;
}
