/* Case files: user-written instances with the same fields as the built-in ones.
 *
 *   cases:
 *     - row: Sliding window      # a row of the table, or a new row
 *       dtype: bfloat16
 *       q_len: 1
 *       kv_len: 4096
 *       window_left: 256
 *
 * Every attn_case field is a key; unknown keys are refused with the nearest known one. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn_case.h"
#include "internal/files.h"
#include "internal/yaml_doc.h"

typedef enum field_kind {
    F_TEXT,     /* char[] */
    F_INT64,
    F_INT32,
    F_BOOL,     /* int32 0/1 */
    F_FLOAT,
    F_DOUBLE,
    F_UINT64,
    F_UINT32,
    F_DTYPE,
    F_LAYOUT,
    F_MODIFIER,
    F_BATCH_LIST, /* int32[ATTN_CASE_MAX_BATCH], also sets has_lengths / has_prefix */
    F_DOC_LIST,
    F_CHECKS,
} field_kind;

typedef struct field {
    const char *key;
    field_kind kind;
    size_t offset;
    size_t size;
    double min, max;
} field;

#define FIELD(name, kind, min, max) {#name, kind, offsetof(attn_case, name), sizeof(((attn_case *)0)->name), min, max}
#define BIG 2147483647.0

static const field fields[] = {
    FIELD(row, F_TEXT, 0, 0),
    FIELD(name, F_TEXT, 0, 0),
    FIELD(dtype, F_DTYPE, 0, 0),
    FIELD(layout, F_LAYOUT, 0, 0),
    FIELD(batch, F_INT64, 1, ATTN_CASE_MAX_BATCH),
    FIELD(q_heads, F_INT64, 1, 65536),
    FIELD(kv_heads, F_INT64, 1, 65536),
    FIELD(q_len, F_INT64, 0, BIG),
    FIELD(kv_len, F_INT64, 0, BIG),
    FIELD(head_dim, F_INT64, 1, 65536),
    FIELD(value_dim, F_INT64, 1, 65536),
    FIELD(kv_cache_len, F_INT64, 0, BIG),
    FIELD(causal, F_BOOL, 0, 0),
    FIELD(window_left, F_INT32, -1, BIG),
    FIELD(window_right, F_INT32, -1, BIG),
    FIELD(q_lens, F_BATCH_LIST, 0, BIG),
    FIELD(kv_lens, F_BATCH_LIST, 0, BIG),
    FIELD(doc_sizes, F_DOC_LIST, 1, BIG),
    FIELD(prefix_lens, F_BATCH_LIST, 0, BIG),
    FIELD(modifier, F_MODIFIER, 0, 0),
    FIELD(softcap, F_FLOAT, 1e-30, 1e30),
    FIELD(synaptic_lambda, F_FLOAT, -1e30, 1e30),
    FIELD(synaptic_eps, F_FLOAT, 1e-30, 1e30),
    FIELD(synaptic_beta, F_FLOAT, -1e30, 1e30),
    FIELD(scale, F_DOUBLE, 0, 1e30),
    FIELD(dropout_p, F_FLOAT, 0, 1), /* [0, 1): attn_case_validate refuses 1 with the reason */
    FIELD(dropout_seed, F_UINT64, 0, 0),
    FIELD(dropout_offset, F_UINT32, 0, 4294967295.0),
    FIELD(want_lse, F_BOOL, 0, 0),
    FIELD(input_scale, F_FLOAT, 1e-30, 1e30),
    FIELD(data_seed, F_UINT64, 0, 0),
    FIELD(checks, F_CHECKS, 0, 0),
};
#define FIELD_COUNT (sizeof fields / sizeof fields[0])

static const char *const *known_keys(void) {
    static const char *keys[FIELD_COUNT + 1];
    for (size_t n = 0; n < FIELD_COUNT; ++n) keys[n] = fields[n].key;
    keys[FIELD_COUNT] = NULL;
    return keys;
}

static attn_status parse_named(attn_yaml *y, yaml_node_t *value, const char *key, const char *const *names, int32_t count,
                               int32_t *out, attn_error *err) {
    const char *text;
    attn_status st = attn_yaml_string(y, value, key, &text, err);
    if (st != ATTN_OK) return st;
    for (int32_t n = 0; n < count; ++n)
        if (!strcmp(text, names[n])) {
            *out = n;
            return ATTN_OK;
        }
    char list[128] = "";
    for (int32_t n = 0; n < count; ++n) {
        strncat(list, names[n], sizeof list - strlen(list) - 1);
        if (n + 1 < count) strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    return attn_yaml_fail(y, value, key, err, "'%s' is not one of %s", text, list);
}

static attn_status parse_checks(attn_yaml *y, yaml_node_t *value, uint32_t *out, attn_error *err) {
    if (value->type != YAML_SEQUENCE_NODE) return attn_yaml_fail(y, value, "checks", err, "expected a list: [lse_merge, kept_fraction]");
    static const char *const names[] = {"lse_merge", "kept_fraction"};
    *out = 0;
    for (yaml_node_item_t *item = value->data.sequence.items.start; item < value->data.sequence.items.top; ++item) {
        int32_t which;
        attn_status st = parse_named(y, attn_yaml_get(y, *item), "checks", names, 2, &which, err);
        if (st != ATTN_OK) return st;
        *out |= which == 0 ? ATTN_CHECK_LSE_MERGE : ATTN_CHECK_KEPT_FRACTION;
    }
    return ATTN_OK;
}

static attn_status parse_field(attn_yaml *y, const field *f, yaml_node_t *value, attn_case *c, int32_t *list_count,
                               attn_error *err) {
    char *slot = (char *)c + f->offset;
    int64_t i64;
    double d;
    attn_status st = ATTN_OK;
    switch (f->kind) {
    case F_TEXT: {
        const char *text;
        st = attn_yaml_string(y, value, f->key, &text, err);
        if (st == ATTN_OK && strlen(text) >= f->size)
            return attn_yaml_fail(y, value, f->key, err, "longer than %zu characters", f->size - 1);
        if (st == ATTN_OK) snprintf(slot, f->size, "%s", text);
        return st;
    }
    case F_INT64:
    case F_INT32:
        st = attn_yaml_int(y, value, f->key, (int64_t)f->min, (int64_t)f->max, &i64, err);
        if (st == ATTN_OK && f->kind == F_INT64) *(int64_t *)slot = i64;
        if (st == ATTN_OK && f->kind == F_INT32) *(int32_t *)slot = (int32_t)i64;
        return st;
    case F_BOOL:
        return attn_yaml_bool(y, value, f->key, (int32_t *)slot, err);
    case F_FLOAT:
    case F_DOUBLE:
        st = attn_yaml_double(y, value, f->key, f->min, f->max, &d, err);
        if (st == ATTN_OK && f->kind == F_FLOAT) *(float *)slot = (float)d;
        if (st == ATTN_OK && f->kind == F_DOUBLE) *(double *)slot = d;
        return st;
    case F_UINT64:
    case F_UINT32: {
        const char *text;
        st = attn_yaml_string(y, value, f->key, &text, err);
        if (st != ATTN_OK) return st;
        char *end = NULL;
        unsigned long long u = strtoull(text, &end, 0);
        if (!text[0] || *end || text[0] == '-' || (f->kind == F_UINT32 && u > 0xffffffffULL))
            return attn_yaml_fail(y, value, f->key, err, "'%s' is not an unsigned %d-bit integer", text,
                                  f->kind == F_UINT32 ? 32 : 64);
        if (f->kind == F_UINT64) *(uint64_t *)slot = u;
        else *(uint32_t *)slot = (uint32_t)u;
        return ATTN_OK;
    }
    case F_DTYPE: {
        static const char *const names[] = {"float32", "float16", "bfloat16"};
        return parse_named(y, value, f->key, names, 3, (int32_t *)slot, err);
    }
    case F_LAYOUT: {
        static const char *const names[] = {"bhtd", "bthd"};
        return parse_named(y, value, f->key, names, 2, (int32_t *)slot, err);
    }
    case F_MODIFIER: {
        static const char *const names[] = {"none", "softcap", "alibi", "synaptic"};
        return parse_named(y, value, f->key, names, 4, (int32_t *)slot, err);
    }
    case F_BATCH_LIST:
    case F_DOC_LIST:
        st = attn_yaml_int_list(y, value, f->key, (int64_t)f->min, (int64_t)f->max, (int32_t *)slot,
                                f->kind == F_DOC_LIST ? ATTN_CASE_MAX_DOCS : ATTN_CASE_MAX_BATCH, list_count, err);
        if (st == ATTN_OK && f->kind == F_DOC_LIST) c->doc_count = *list_count;
        return st;
    case F_CHECKS:
        return parse_checks(y, value, &c->checks, err);
    }
    return ATTN_OK;
}

static attn_status parse_case(attn_yaml *y, yaml_node_t *node, attn_case *c, attn_error *err) {
    attn_status st = attn_yaml_expect_mapping(y, node, "a case", err);
    if (st != ATTN_OK) return st;
    attn_case_defaults(c);
    int value_dim_given = 0;
    int32_t q_count = -1, kv_count = -1, prefix_count = -1;
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; ++pair) {
        yaml_node_t *key = attn_yaml_get(y, pair->key), *value = attn_yaml_get(y, pair->value);
        const char *k = (const char *)key->data.scalar.value;
        const field *f = NULL;
        for (size_t n = 0; n < FIELD_COUNT && !f; ++n)
            if (!strcmp(fields[n].key, k)) f = &fields[n];
        if (!f) return attn_yaml_unknown_key(y, key, known_keys(), err);
        int32_t list_count = 0;
        st = parse_field(y, f, value, c, &list_count, err);
        if (st != ATTN_OK) return st;
        if (!strcmp(k, "value_dim")) value_dim_given = 1;
        if (!strcmp(k, "q_lens")) q_count = list_count;
        if (!strcmp(k, "kv_lens")) kv_count = list_count;
        if (!strcmp(k, "prefix_lens")) prefix_count = list_count;
    }
    if (!value_dim_given) c->value_dim = c->head_dim;
    if ((q_count >= 0) != (kv_count >= 0))
        return attn_yaml_fail(y, node, q_count >= 0 ? "kv_lens" : "q_lens", err, "q_lens and kv_lens must be given together");
    if (q_count >= 0) {
        if (q_count != c->batch || kv_count != c->batch)
            return attn_yaml_fail(y, node, "q_lens", err, "q_lens has %d and kv_lens %d entries; batch is %lld", q_count, kv_count,
                                  (long long)c->batch);
        c->has_lengths = 1;
    }
    if (prefix_count >= 0) {
        if (prefix_count != c->batch)
            return attn_yaml_fail(y, node, "prefix_lens", err, "%d entries; batch is %lld", prefix_count, (long long)c->batch);
        c->has_prefix = 1;
    }
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
