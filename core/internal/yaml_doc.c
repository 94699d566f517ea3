/* libyaml document loading and the typed scalar readers shared by config and case files. */
#include "yaml_doc.h"

#include "edit_distance.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static attn_status open_parser(yaml_parser_t *parser, const char *text, size_t length, const char *source,
                               attn_error *err) {
    if (!yaml_parser_initialize(parser))
        return attn_error_set(err, ATTN_E_NOMEM, "%s: cannot initialise the YAML parser", source);
    yaml_parser_set_input_string(parser, (const unsigned char *)text, length);
    return ATTN_OK;
}

/* Refuses a stream nested deeper than ATTN_YAML_MAX_DEPTH, or with more than ATTN_YAML_MAX_NODES
 * nodes, from libyaml's events alone, reading only as far as the first event past a limit: the
 * loader builds every node first, is superlinear in depth (100,000 levels took a minute) and
 * takes near 900 bytes a node.  Every document of the stream is read, as the load reads a second
 * one to refuse it.  A syntax error ends this pass quietly: the load that follows reports it. */
static attn_status check_shape(const char *text, size_t length, const char *source, attn_error *err) {
    yaml_parser_t parser;
    attn_status st = open_parser(&parser, text, length, source, err);
    if (st != ATTN_OK) return st;
    int depth = 0, ended = 0;
    long nodes = 0;
    yaml_event_t event;
    while (st == ATTN_OK && !ended && yaml_parser_parse(&parser, &event)) {
        int opens = event.type == YAML_SEQUENCE_START_EVENT || event.type == YAML_MAPPING_START_EVENT;
        if (opens || event.type == YAML_SCALAR_EVENT || event.type == YAML_ALIAS_EVENT) ++nodes;
        if (opens && ++depth > ATTN_YAML_MAX_DEPTH)
            st = attn_error_set(err, ATTN_E_CONFIG, "%s:%zu:%zu: nesting deeper than %d levels", source,
                                event.start_mark.line + 1, event.start_mark.column + 1, ATTN_YAML_MAX_DEPTH);
        else if (nodes > ATTN_YAML_MAX_NODES)
            st = attn_error_set(err, ATTN_E_CONFIG, "%s:%zu:%zu: more than %d YAML nodes (values, lists, mappings)",
                                source, event.start_mark.line + 1, event.start_mark.column + 1, ATTN_YAML_MAX_NODES);
        else if (event.type == YAML_SEQUENCE_END_EVENT || event.type == YAML_MAPPING_END_EVENT)
            --depth;
        ended = event.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&event);
    }
    yaml_parser_delete(&parser);
    return st;
}

attn_status attn_yaml_load(attn_yaml *y, const char *text, size_t length, const char *source, attn_error *err) {
    memset(y, 0, sizeof *y);
    y->source = source;
    yaml_parser_t parser;
    attn_status st = check_shape(text, length, source, err);
    if (st == ATTN_OK) st = open_parser(&parser, text, length, source, err);
    if (st != ATTN_OK) return st;
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

/* strtoll, strtoull and strtod skip leading white space, and strtoull turns "-1" into 2^64 - 1: a
 * number must start the value, a digit or '.' after at most one sign ('-' only where allowed). */
static int starts_with_number(const char *text, int minus_allowed) {
    if (*text == '+' || (minus_allowed && *text == '-')) ++text;
    return (*text >= '0' && *text <= '9') || *text == '.';
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
    if (!starts_with_number(text, 1) || *end != '\0')
        return attn_yaml_fail(y, node, key, err, "'%s' is not an integer", text);
    if (errno == ERANGE || value < min || value > max)
        return attn_yaml_fail(y, node, key, err, "%s is out of range [%lld, %lld]", text, (long long)min, (long long)max);
    *out = value;
    return ATTN_OK;
}

attn_status attn_yaml_uint(attn_yaml *y, const yaml_node_t *node, const char *key, uint64_t max, uint64_t *out,
                           attn_error *err) {
    const char *text;
    attn_status st = attn_yaml_string(y, node, key, &text, err);
    if (st != ATTN_OK) return st;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 0);
    if (!starts_with_number(text, 0) || *end != '\0')
        return attn_yaml_fail(y, node, key, err, "'%s' is not an unsigned integer", text);
    if (errno == ERANGE || value > max)
        return attn_yaml_fail(y, node, key, err, "%s is out of range [0, %llu]", text, (unsigned long long)max);
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
    if (!starts_with_number(text, 1) || *end != '\0' || isnan(value))
        return attn_yaml_fail(y, node, key, err, "'%s' is not a finite number", text);
    /* ERANGE: beyond a double (1e999, now +-HUGE_VAL) or too close to 0 for one (1e-400, now 0 or subnormal). */
    if (errno == ERANGE && !isinf(value))
        return attn_yaml_fail(y, node, key, err, "%s is too close to 0 to be represented", text);
    if (errno == ERANGE || value < min || value > max)
        return attn_yaml_fail(y, node, key, err, "%s is out of range [%g, %g]", text, min, max);
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

attn_status attn_yaml_unknown_key(attn_yaml *y, const yaml_node_t *key_node, const char *const *known, attn_error *err) {
    const char *key = key_node->type == YAML_SCALAR_NODE ? (const char *)key_node->data.scalar.value : "(not a scalar)";
    const char *nearest = NULL;
    size_t best = (size_t)-1;
    for (const char *const *k = known; *k; ++k) {
        size_t distance = attn_edit_distance(key, strlen(key), *k, strlen(*k));
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

/* A text key and its place in the mapping.  Sorted by text, then place, equal keys are neighbours:
 * a mapping of n keys is checked in O(n log n), where comparing every key with every other took
 * minutes for 200,000 keys. */
typedef struct key_place {
    const char *text;
    size_t place;
} key_place;

static int compare_key_places(const void *a, const void *b) {
    const key_place *x = a, *y = b;
    int order = strcmp(x->text, y->text);
    return order ? order : (x->place > y->place) - (x->place < y->place);
}

/* The repeated key met first in the mapping: its first place and its second; count when none. */
static void first_repeat(const key_place *sorted, size_t count, size_t none, size_t *first, size_t *second) {
    *first = *second = none;
    for (size_t n = 0; n + 1 < count; ++n)
        if (sorted[n].place < *first && !strcmp(sorted[n].text, sorted[n + 1].text)) {
            *first = sorted[n].place;
            *second = sorted[n + 1].place;
        }
}

/* Reports what a front-to-back scan would meet first: a key that is not text, or a key that
 * appears again later (named at its second place, with the first one's line). */
attn_status attn_yaml_no_duplicate_keys(attn_yaml *y, const yaml_node_t *mapping, attn_error *err) {
    const yaml_node_pair_t *pairs = mapping->data.mapping.pairs.start;
    size_t count = (size_t)(mapping->data.mapping.pairs.top - pairs), text_count = 0, not_text = count;
    key_place *keys = malloc((count ? count : 1) * sizeof *keys);
    if (!keys) return attn_error_set(err, ATTN_E_NOMEM, "%s: out of memory checking %zu keys", y->source, count);
    for (size_t n = 0; n < count; ++n) {
        const yaml_node_t *key = attn_yaml_get(y, pairs[n].key);
        if (key->type == YAML_SCALAR_NODE) keys[text_count++] = (key_place){(const char *)key->data.scalar.value, n};
        else if (not_text == count) not_text = n;
    }
    qsort(keys, text_count, sizeof *keys, compare_key_places);
    size_t first, second;
    first_repeat(keys, text_count, count, &first, &second);
    free(keys);
    if (not_text < first)
        return attn_yaml_fail(y, attn_yaml_get(y, pairs[not_text].key), NULL, err, "keys must be plain text");
    if (first == count) return ATTN_OK;
    yaml_node_t *first_key = attn_yaml_get(y, pairs[first].key), *second_key = attn_yaml_get(y, pairs[second].key);
    return attn_yaml_fail(y, second_key, (char *)second_key->data.scalar.value, err,
                          "duplicate key (first at line %zu)", first_key->start_mark.line + 1);
}
