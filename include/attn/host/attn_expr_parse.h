/* Parsing mask_mod / score_mod expressions (SPEC.md, "Expressions") into the typed tree of
 * attn_expr.h that plugins read.  Errors name the column and the token:
 *
 *   attn_expr *e;
 *   attn_expr_aux bias = {"rel_bias", ATTN_EXPR_FLOAT, 2};
 *   if (attn_expr_parse("score + rel_bias[h][clamp(q_idx - kv_idx, 0, 127)]", ATTN_EXPR_SCORE,
 *                       &bias, 1, &e, &err) != ATTN_OK)
 *       fprintf(stderr, "%s\n", err.message);   // "column 9: unknown name ..."
 *   ...
 *   attn_expr_free(e);
 */
#ifndef ATTN_EXPR_PARSE_H
#define ATTN_EXPR_PARSE_H

#include <stdint.h>

#include "../plugin/attn_expr.h"
#include "attn_host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the expression is for. */
typedef int32_t attn_expr_kind;
#define ATTN_EXPR_MASK 1  /* a bool; `score` is not defined */
#define ATTN_EXPR_SCORE 2 /* a float (an int result is promoted); `score` is defined */

/* Parses and type-checks text.  declared[0..declared_count) are the aux tensors it may name
 * (identifiers, distinct, not a variable or function name, rank 0 to ATTN_EXPR_MAX_ARITY).
 * On ATTN_OK *out is a new expression that owns copies of the text and of the names it uses
 * (its aux table holds only those, in first-use order); free it with attn_expr_free.  On
 * failure *out is NULL and err says why: ATTN_E_INVALID with "column N: ..." for the text, or
 * for a bad argument; ATTN_E_NOMEM. */
ATTN_API attn_status attn_expr_parse(const char *text, attn_expr_kind kind, const attn_expr_aux *declared,
                                     uint32_t declared_count, attn_expr **out, attn_error *err);
ATTN_API void attn_expr_free(attn_expr *e);

#ifdef __cplusplus
}
#endif
#endif
