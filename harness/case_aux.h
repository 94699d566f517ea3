/* A case's auxiliary tensors (attn_case_aux in attn_case.h): the case-file reader, the checks
 * attn_case_validate applies, and their generation on the host (case_aux.c). */
#ifndef ATTN_CASE_AUX_H
#define ATTN_CASE_AUX_H

#include "attn_case.h"
#include "internal/yaml_doc.h"

/* The `aux` key of a case: a mapping of name -> {dtype, shape, fill | values, scale, step}. */
attn_status attn_case_aux_parse(attn_yaml *y, yaml_node_t *node, attn_case *c, attn_error *err);
/* Shapes, element counts, fills that fit their dtype, values that fit theirs. */
attn_status attn_case_aux_validate(const attn_case *c, const char *who, attn_error *err);
/* The declarations attn_expr_parse takes: out[0..c->aux_count). */
void attn_case_aux_declared(const attn_case *c, attn_expr_aux *out);
/* Bytes of the tensor's values: float32, int32 or uint8 elements. */
size_t attn_case_aux_bytes(const attn_case_aux *a);
/* Its values, contiguous row-major (malloc'd; NULL when out of memory): a function of the case
 * alone (fill, values, the case's data_seed). */
void *attn_case_aux_make(const attn_case *c, int32_t index);

#endif
