/* Checks of one DLTensor shared by problem validation (validate.c, validate_expr.c).
 * Internal to libattn. */
#ifndef ATTN_CORE_TENSOR_CHECK_H
#define ATTN_CORE_TENSOR_CHECK_H

#include <stdint.h>

#include "attn/host/attn_host.h"

typedef struct byte_span {
    uintptr_t begin, end; /* [begin, end); empty when begin == end */
} byte_span;

/* float32, float16 or bfloat16, one lane. */
int attn_is_float_dtype(DLDataType t);
/* "float32", "int32", ...: how a message names a dtype. */
const char *attn_dtype_text(DLDataType t);
/* Rank, shape (expected[d] < 0: any size), non-negative strides and the byte extent of one
 * present tensor, into *span; ATTN_E_INVALID naming `name` and the dimension otherwise. */
attn_status attn_check_tensor(const DLTensor *t, const char *name, int32_t ndim, const int64_t *expected,
                              byte_span *span, attn_error *err);
/* An output written through a zero stride would be written twice by different rows. */
attn_status attn_check_writable(const DLTensor *t, const char *name, attn_error *err);
int attn_same_device(const DLTensor *a, const DLTensor *b);
int attn_spans_overlap(byte_span a, byte_span b);

#endif
