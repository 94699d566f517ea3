/* libyaml document loading and the typed scalar readers shared by config and case files. */
#include "yaml_doc.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

attn_status attn_yaml_load(attn_yaml *y, const char *text, size_t length, const char *source, attn_error *err) {
    memset(y, 0, sizeof *y);
    y->source = source;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return attn_error_set(err, ATTN_E_NOMEM, "%s: cannot initialise the YAML parser", source);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, length);
    if (!yaml_parser_load(&parser, &y->document)) {
        attn_error_set(err, ATTN_E_CONFIG, "%s:%zu:%zu: malformed YAML: %s%s%s", source, parser.problem_mark.line + 1,
                       parser.problem_mark.column + 1, parser.problem ? parser.problem : "parse error",
                       parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return ATTN_E_CONFIG;
    }
    y->loaded = 1;
    if (!yaml_document_get_root_node(&y->document)) {
        yaml_parser_delete(&parser);
        attn_yaml_free(y);
        return attn_error_set(err, ATTN_E_CONFIG, "%s:1:1: the file holds no YAML document", source);
    }
    yaml_document_t second;
    if (!yaml_parser_load(&parser, &second)) {
        attn_error_set(err, ATTN_E_CONFIG, "%s:%zu:%zu: malformed YAML: %s", source, parser.problem_mark.line + 1,
                       parser.problem_mark.column + 1, parser.problem ? parser.problem : "parse error");
        yaml_parser_delete(&parser);
        attn_yaml_free(y);
        return ATTN_E_CONFIG;
    }
    int has_second = yaml_document_get_root_node(&second) != NULL;
    size_t second_line = second.start_mark.line + 1;
    yaml_document_delete(&second);
    yaml_parser_delete(&parser);
    if (has_second) {
        attn_yaml_free(y);
        return attn_error_set(err, ATTN_E_CONFIG, "%s:%zu:1: a second YAML document; one file holds one document", source,
                              second_line);
    }
    return ATTN_OK;
}

void attn_yaml_free(attn_yaml *y) {
    if (y->loaded) yaml_document_delete(&y->document);
    y->loaded = 0;
}

yaml_node_t *attn_yaml_root(attn_yaml *y) { return yaml_document_get_root_node(&y->document); }
yaml_node_t *attn_yaml_get(attn_yaml *y, int node_id) { return yaml_document_get_node(&y->document, node_id); }

attn_status attn_yaml_fail(attn_yaml *y, const yaml_node_t *node, const char *key, attn_error *err, const char *format, ...) {
    char message[ATTN_ERROR_CAP];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    size_t line = node ? node->start_mark.line + 1 : 1, column = node ? node->start_mark.column + 1 : 1;
    if (key)
        return attn_error_set(err, ATTN_E_CONFIG, "%s:%zu:%zu: key '%s': %s", y->source, line, column, key, message);
    return attn_error_set(err, ATTN_E_CONFIG, "%s:%zu:%zu: %s", y->source, line, column, message);
}

static const char *node_kind(const yaml_node_t *node) {
    switch (node->type) {
    case YAML_SCALAR_NODE: return "a scalar";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}

attn_status attn_yaml_string(attn_yaml *y, const yaml_node_t *node, const char *key, const char **out, attn_error *err) {
    if (node->type != YAML_SCALAR_NODE)
        return attn_yaml_fail(y, node, key, err, "expected a text value, found %s", node_kind(node));
    *out = (const char *)node->data.scalar.value;
    if (strlen(*out) != node->data.scalar.length)
        return attn_yaml_fail(y, node, key, err, "value contains a NUL byte");
    return ATTN_OK;
}

attn_status attn_yaml_int(attn_yaml *y, const yaml_node_t *node, const char *key, int64_t min, int64_t max,
                          int64_t *out, attn_error *err) {
    const char *text;
    attn_status st = attn_yaml_string(y, node, key, &text, err);
    if (st != ATTN_OK) return st;
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 0);
    if (!text[0] || *end != '\0') return attn_yaml_fail(y, node, key, err, "'%s' is not an integer", text);
    if (errno == ERANGE || value < min || value > max)
        return attn_yaml_fail(y, node, key, err, "%s is out of range [%lld, %lld]", text, (long long)min, (long long)max);
    *out = value;
    return ATTN_OK;
}

attn_status attn_yaml_double(attn_yaml *y, const yaml_node_t *node, const char *key, double min, double max,
                             double *out, attn_error *err) {
    const char *text;
    attn_status st = attn_yaml_string(y, node, key, &text, err);
    if (st != ATTN_OK) return st;
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (!text[0] || *end != '\0' || !isfinite(value)) return attn_yaml_fail(y, node, key, err, "'%s' is not a finite number", text);
    if (value < min || value > max) return attn_yaml_fail(y, node, key, err, "%s is out of range [%g, %g]", text, min, max);
    *out = value;
    return ATTN_OK;
}

attn_status attn_yaml_bool(attn_yaml *y, const yaml_node_t *node, const char *key, int32_t *out, attn_error *err) {
    const char *text;
    attn_status st = attn_yaml_string(y, node, key, &text, err);
    if (st != ATTN_OK) return st;
    if (!strcmp(text, "true") || !strcmp(text, "yes") || !strcmp(text, "on") || !strcmp(text, "1")) *out = 1;
    else if (!strcmp(text, "false") || !strcmp(text, "no") || !strcmp(text, "off") || !strcmp(text, "0")) *out = 0;
    else return attn_yaml_fail(y, node, key, err, "'%s' is not true or false", text);
    return ATTN_OK;
}

attn_status attn_yaml_int_list(attn_yaml *y, const yaml_node_t *node, const char *key, int64_t min, int64_t max,
                               int32_t *out, int32_t cap, int32_t *count, attn_error *err) {
    if (node->type != YAML_SEQUENCE_NODE)
        return attn_yaml_fail(y, node, key, err, "expected a list of integers, found %s", node_kind(node));
    int32_t n = 0;
    for (yaml_node_item_t *item = node->data.sequence.items.start; item < node->data.sequence.items.top; ++item) {
        if (n >= cap) return attn_yaml_fail(y, node, key, err, "more than %d entries", cap);
        int64_t value;
        attn_status st = attn_yaml_int(y, attn_yaml_get(y, *item), key, min, max, &value, err);
        if (st != ATTN_OK) return st;
        out[n++] = (int32_t)value;
    }
    *count = n;
    return ATTN_OK;
}

attn_status attn_yaml_expect_mapping(attn_yaml *y, const yaml_node_t *node, const char *what, attn_error *err) {
    if (node->type == YAML_MAPPING_NODE) return attn_yaml_no_duplicate_keys(y, node, err);
    return attn_yaml_fail(y, node, NULL, err, "%s must be a mapping of keys to values, found %s", what, node_kind(node));
}

/* Edit distance, for "did you mean". Keys are short. */
static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return (size_t)-1;
    size_t row[64];
    for (size_t j = 0; j <= lb; ++j) row[j] = j;
    for (size_t i = 1; i <= la; ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; ++j) {
            size_t above = row[j];
            size_t best = diagonal + (a[i - 1] != b[j - 1]);
            if (above + 1 < best) best = above + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    return row[lb];
}

attn_status attn_yaml_unknown_key(attn_yaml *y, const yaml_node_t *key_node, const char *const *known, attn_error *err) {
    const char *key = key_node->type == YAML_SCALAR_NODE ? (const char *)key_node->data.scalar.value : "(not a scalar)";
    const char *nearest = NULL;
    size_t best = (size_t)-1;
    for (const char *const *k = known; *k; ++k) {
        size_t distance = edit_distance(key, *k);
        if (distance < best) {
            best = distance;
            nearest = *k;
        }
    }
    if (nearest && best <= 3)
        return attn_yaml_fail(y, key_node, key, err, "unknown key; did you mean '%s'?", nearest);
    char list[512] = "";
    for (const char *const *k = known; *k; ++k) {
        strncat(list, *k, sizeof list - strlen(list) - 1);
        if (k[1]) strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    return attn_yaml_fail(y, key_node, key, err, "unknown key (known: %s)", list);
}

attn_status attn_yaml_no_duplicate_keys(attn_yaml *y, const yaml_node_t *mapping, attn_error *err) {
    for (yaml_node_pair_t *a = mapping->data.mapping.pairs.start; a < mapping->data.mapping.pairs.top; ++a) {
        yaml_node_t *ka = attn_yaml_get(y, a->key);
        if (ka->type != YAML_SCALAR_NODE) return attn_yaml_fail(y, ka, NULL, err, "keys must be plain text");
        for (yaml_node_pair_t *b = a + 1; b < mapping->data.mapping.pairs.top; ++b) {
            yaml_node_t *kb = attn_yaml_get(y, b->key);
            if (kb->type == YAML_SCALAR_NODE && !strcmp((char *)ka->data.scalar.value, (char *)kb->data.scalar.value))
                return attn_yaml_fail(y, kb, (char *)kb->data.scalar.value, err, "duplicate key (first at line %zu)",
                                      ka->start_mark.line + 1);
        }
    }
    return ATTN_OK;
}
