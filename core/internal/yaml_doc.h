/* A loaded YAML document with the helpers the config and case-file parsers share.
 * Every error names the source, line and column (1-based) and, where there is one, the key. */
#ifndef ATTN_CORE_YAML_DOC_H
#define ATTN_CORE_YAML_DOC_H

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "attn/host/attn_host.h"

/* Collections (lists, mappings) may nest this deep; a deeper document is refused before it is
 * built (libyaml's loader is superlinear in depth).  Configs and case files need 4 levels;
 * docs/USING.md, "Limits", documents it. */
#define ATTN_YAML_MAX_DEPTH 64

/* Nodes (scalars, lists, mappings, aliases) a document may have; more is refused before it is
 * built: libyaml keeps each node with its tokens, near 900 bytes apiece, so a 16 MiB file of
 * one-character items would take 7 GB.  200,000 nodes are some 6,000 cases of 30 fields. */
#define ATTN_YAML_MAX_NODES 200000

typedef struct attn_yaml {
    yaml_document_t document;
    const char *source;
    int loaded;
} attn_yaml;

/* Loads the first document of text; a stream with no document, or with more than one, nested
 * deeper than ATTN_YAML_MAX_DEPTH or with more than ATTN_YAML_MAX_NODES nodes, is an error. */
attn_status attn_yaml_load(attn_yaml *y, const char *text, size_t length, const char *source, attn_error *err);
void attn_yaml_free(attn_yaml *y);

yaml_node_t *attn_yaml_root(attn_yaml *y);
yaml_node_t *attn_yaml_get(attn_yaml *y, int node_id);

/* "source:line:column: [key 'k': ]message", status ATTN_E_CONFIG. */
attn_status attn_yaml_fail(attn_yaml *y, const yaml_node_t *node, const char *key, attn_error *err, const char *format, ...)
    __attribute__((format(printf, 5, 6)));

/* Scalar readers; each fails with the key and the offending value named.  A number is the whole
 * value: leading white space, trailing text and values beyond the type's range are refused. */
attn_status attn_yaml_string(attn_yaml *y, const yaml_node_t *node, const char *key, const char **out, attn_error *err);
attn_status attn_yaml_int(attn_yaml *y, const yaml_node_t *node, const char *key, int64_t min, int64_t max,
                          int64_t *out, attn_error *err);
/* An unsigned integer up to max; a minus sign is refused, never wrapped to 2^64 - n. */
attn_status attn_yaml_uint(attn_yaml *y, const yaml_node_t *node, const char *key, uint64_t max, uint64_t *out,
                           attn_error *err);
attn_status attn_yaml_double(attn_yaml *y, const yaml_node_t *node, const char *key, double min, double max,
                             double *out, attn_error *err);
attn_status attn_yaml_bool(attn_yaml *y, const yaml_node_t *node, const char *key, int32_t *out, attn_error *err);
/* A sequence of ints into out[cap]; *count gets the length. */
attn_status attn_yaml_int_list(attn_yaml *y, const yaml_node_t *node, const char *key, int64_t min, int64_t max,
                               int32_t *out, int32_t cap, int32_t *count, attn_error *err);

/* Requires a mapping node (what = "the config", "a backend entry", ...). */
attn_status attn_yaml_expect_mapping(attn_yaml *y, const yaml_node_t *node, const char *what, attn_error *err);
/* Fails on `key` not in known[] (NULL-terminated), suggesting the nearest known key. */
attn_status attn_yaml_unknown_key(attn_yaml *y, const yaml_node_t *key_node, const char *const *known, attn_error *err);
/* Fails when a key appears twice in a mapping. */
attn_status attn_yaml_no_duplicate_keys(attn_yaml *y, const yaml_node_t *mapping, attn_error *err);

#endif
