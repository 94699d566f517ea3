/* Checks of one DLTensor that problem validation applies to every tensor of a problem
 * (validate.c) and to its auxiliary tensors (validate_expr.c). */
#include "tensor_check.h"

#include "internal/checked_math.h"

int attn_is_float_dtype(DLDataType t) {
    if (t.lanes != 1) return 0;
    return (t.code == kDLFloat && (t.bits == 32 || t.bits == 16)) || (t.code == kDLBfloat && t.bits == 16);
}

const char *attn_dtype_text(DLDataType t) {
    if (t.lanes != 1) return "a vector type";
    if (t.code == kDLFloat && t.bits == 32) return "float32";
    if (t.code == kDLFloat && t.bits == 16) return "float16";
    if (t.code == kDLBfloat && t.bits == 16) return "bfloat16";
    if (t.code == kDLInt && t.bits == 32) return "int32";
    if (t.code == kDLUInt && t.bits == 8) return "uint8";
    return "an unsupported dtype";
}

attn_status attn_check_tensor(const DLTensor *t, const char *name, int32_t ndim, const int64_t *expected,
                              byte_span *span, attn_error *err) {
    if (t->ndim != ndim)
        return attn_error_set(err, ATTN_E_INVALID, "%s: rank %d, expected %d", name, t->ndim, ndim);
    if (!t->shape || !t->strides)
        return attn_error_set(err, ATTN_E_INVALID, "%s: shape and strides must both be given (strides are never NULL)",
                              name);
    int64_t last = 0; /* largest element offset */
    int empty = 0;
    for (int32_t d = 0; d < ndim; ++d) {
        if (t->shape[d] < 0)
            return attn_error_set(err, ATTN_E_INVALID, "%s: dimension %d is negative (%lld)", name, d,
                                  (long long)t->shape[d]);
        if (expected[d] >= 0 && t->shape[d] != expected[d])
            return attn_error_set(err, ATTN_E_INVALID, "%s: dimension %d is %lld, expected %lld", name, d,
                                  (long long)t->shape[d], (long long)expected[d]);
        if (t->strides[d] < 0)
            return attn_error_set(err, ATTN_E_INVALID, "%s: stride %d is negative (%lld)", name, d,
                                  (long long)t->strides[d]);
        if (t->shape[d] == 0) empty = 1;
    }
    int64_t elem = t->dtype.bits / 8;
    span->begin = span->end = (uintptr_t)t->data;
    if (empty) return ATTN_OK;
    for (int32_t d = 0; d < ndim; ++d) {
        int64_t term;
        if (!attn_mul_i64(t->shape[d] - 1, t->strides[d], &term) || !attn_add_i64(last, term, &last))
            return attn_error_set(err, ATTN_E_INVALID, "%s: strides overflow 64 bits at dimension %d", name, d);
    }
    int64_t bytes, offset_bytes;
    if (!attn_mul_i64(last + 1, elem, &bytes) || (int64_t)t->byte_offset < 0 ||
        !attn_add_i64(bytes, (int64_t)t->byte_offset, &offset_bytes) || (uint64_t)offset_bytes > UINTPTR_MAX - (uintptr_t)t->data)
        return attn_error_set(err, ATTN_E_INVALID, "%s: byte extent overflows 64 bits", name);
    span->begin = (uintptr_t)t->data + (uintptr_t)t->byte_offset;
    span->end = (uintptr_t)t->data + (uintptr_t)offset_bytes;
    return ATTN_OK;
}

attn_status attn_check_writable(const DLTensor *t, const char *name, attn_error *err) {
    /* An output with no element (Tq = 0, B = 0) is never written, so it cannot overlap itself. */
    for (int32_t d = 0; d < t->ndim; ++d)
        if (t->shape[d] == 0) return ATTN_OK;
    for (int32_t d = 0; d < t->ndim; ++d)
        if (t->shape[d] > 1 && t->strides[d] == 0)
            return attn_error_set(err, ATTN_E_INVALID, "%s: stride %d is 0 on a dimension of size %lld: outputs must not overlap themselves",
                                  name, d, (long long)t->shape[d]);
    return ATTN_OK;
}

int attn_same_device(const DLTensor *a, const DLTensor *b) {
    return a->device.device_type == b->device.device_type && a->device.device_id == b->device.device_id;
}

int attn_spans_overlap(byte_span a, byte_span b) {
    return a.begin < a.end && b.begin < b.end && a.begin < b.end && b.begin < a.end;
}

