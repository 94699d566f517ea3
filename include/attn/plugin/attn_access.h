/* Element access through DLTensor strides, for host-side (CPU) code: the reference, the
 * CPU plugins and the tools.  Strides are in elements, as DLPack says. */
#ifndef ATTN_ACCESS_H
#define ATTN_ACCESS_H

#include <dlpack/dlpack.h>
#include <stdint.h>

#include "attn_dtype.h"
#include "attn_inline.h"

/* Address of element idx[0..ndim) of t. */
ATTN_INLINE void *attn_elem_ptr(const DLTensor *t, const int64_t *idx) {
    int64_t offset = 0;
    for (int32_t d = 0; d < t->ndim; ++d) offset += idx[d] * t->strides[d];
    return (char *)t->data + t->byte_offset + offset * (int64_t)(t->dtype.bits / 8);
}

/* Reads a float32 / float16 / bfloat16 element widened to float. */
ATTN_INLINE float attn_load_float(const DLTensor *t, const int64_t *idx) {
    const void *p = attn_elem_ptr(t, idx);
    if (t->dtype.bits == 32) return *(const float *)p;
    uint16_t h = *(const uint16_t *)p;
    return t->dtype.code == kDLBfloat ? attn_bf16_to_f32(h) : attn_f16_to_f32(h);
}

/* Rounds x to the tensor's dtype and stores it. */
ATTN_INLINE void attn_store_float(const DLTensor *t, const int64_t *idx, float x) {
    void *p = attn_elem_ptr(t, idx);
    if (t->dtype.bits == 32)
        *(float *)p = x;
    else if (t->dtype.code == kDLBfloat)
        *(uint16_t *)p = attn_f32_to_bf16(x);
    else
        *(uint16_t *)p = attn_f32_to_f16(x);
}

/* x rounded to a float dtype (code, bits), returned as float. */
ATTN_INLINE float attn_round_to(uint8_t code, uint8_t bits, float x) {
    if (bits == 32) return x;
    return code == kDLBfloat ? attn_bf16_to_f32(attn_f32_to_bf16(x)) : attn_f16_to_f32(attn_f32_to_f16(x));
}

/* Reads count elements along the last dimension, starting at idx (idx[ndim-1] included). */
ATTN_INLINE void attn_load_floats(const DLTensor *t, const int64_t *idx, int64_t count, float *out) {
    const char *p = (const char *)attn_elem_ptr(t, idx);
    int64_t step = t->strides[t->ndim - 1] * (int64_t)(t->dtype.bits / 8);
    for (int64_t n = 0; n < count; ++n, p += step) {
        if (t->dtype.bits == 32) {
            out[n] = *(const float *)p;
        } else {
            uint16_t h = *(const uint16_t *)p;
            out[n] = t->dtype.code == kDLBfloat ? attn_bf16_to_f32(h) : attn_f16_to_f32(h);
        }
    }
}

ATTN_INLINE int32_t attn_load_i32(const DLTensor *t, const int64_t *idx) { return *(const int32_t *)attn_elem_ptr(t, idx); }

#endif
