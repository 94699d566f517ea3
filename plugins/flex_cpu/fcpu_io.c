#include "fcpu_io.h"

#include <attn/plugin/attn_dtype.h>
#include <string.h>

#include "fcpu_plan.h"
#include "fcpu_vec.h"

void fcpu_load_row(const char *src, int64_t stride, int64_t count, int32_t dtype, int32_t cdt, void *dst) {
    int64_t in = fcpu_dtype_size(dtype);
    if (stride == 1 && ((dtype == FCPU_DT_F32 && cdt == FCPU_CDT_F32) || (dtype == FCPU_DT_BF16 && cdt == FCPU_CDT_BF16))) {
        memcpy(dst, src, (size_t)(count * in));
        return;
    }
    if (cdt == FCPU_CDT_BF16) { /* strided bfloat16 */
        uint16_t *out = dst;
        for (int64_t c = 0; c < count; ++c) memcpy(&out[c], src + c * stride * in, 2);
        return;
    }
    float *out = dst;
    for (int64_t c = 0; c < count; ++c) {
        const char *e = src + c * stride * in;
        if (dtype == FCPU_DT_F32) {
            memcpy(&out[c], e, 4);
        } else {
            uint16_t h;
            memcpy(&h, e, 2);
            out[c] = dtype == FCPU_DT_BF16 ? attn_bf16_to_f32(h) : attn_f16_to_f32(h);
        }
    }
}

/* Contiguous float32 rows: 16 lanes at a time (outputs of a prefill are as large as its
 * inputs, so this loop is not negligible next to the matmuls of a causal run). */
FCPU_CLONES static void store_f32(const float *src, float mul, int64_t count, float *dst) {
    int64_t c = 0;
    for (; c + 16 <= count; c += 16) vstore(dst + c, vload(src + c) * mul);
    for (; c < count; ++c) dst[c] = src[c] * mul;
}

/* Contiguous bfloat16 rows: as attn_f32_to_bf16 (round to nearest even, NaN kept quiet), 16
 * lanes at a time; element by element, writing O cost a tenth of a causal bfloat16 prefill's
 * time outside the products. */
typedef uint16_t v16u16 __attribute__((vector_size(32)));
FCPU_CLONES static void store_bf16(const float *src, float mul, int64_t count, uint16_t *dst) {
    int64_t c = 0;
    for (; c + 16 <= count; c += 16) {
        v16i u = (v16i)(vload(src + c) * mul);
        v16i nan = (u & 0x7fffffff) > 0x7f800000; /* a non-negative int: the signed compare is exact */
        v16i r = (v16i)(((uint32_t __attribute__((vector_size(64))))u + 0x7fffu +
                         (((uint32_t __attribute__((vector_size(64))))u >> 16) & 1u)) >> 16);
        v16i q = (v16i)(((uint32_t __attribute__((vector_size(64))))u >> 16) | 0x40u);
        v16u16 h = __builtin_convertvector((nan & q) | (~nan & r), v16u16);
        memcpy(dst + c, &h, sizeof h);
    }
    for (; c < count; ++c) dst[c] = attn_f32_to_bf16(src[c] * mul);
}

void fcpu_store_row(const float *src, float mul, int64_t count, int32_t dtype, char *dst, int64_t stride) {
    int64_t out = fcpu_dtype_size(dtype);
    if (mul == 0.0f && stride == 1) { /* 0 * anything stays an exact 0: no source read */
        memset(dst, 0, (size_t)(count * out));
        return;
    }
    if (dtype == FCPU_DT_F32 && stride == 1) {
        store_f32(src, mul, count, (float *)dst);
        return;
    }
    if (dtype == FCPU_DT_BF16 && stride == 1) {
        store_bf16(src, mul, count, (uint16_t *)dst);
        return;
    }
    for (int64_t c = 0; c < count; ++c) {
        float x = mul == 0.0f ? 0.0f : src[c] * mul;
        char *e = dst + c * stride * out;
        if (dtype == FCPU_DT_F32) {
            memcpy(e, &x, 4);
        } else {
            uint16_t h = dtype == FCPU_DT_BF16 ? attn_f32_to_bf16(x) : attn_f32_to_f16(x);
            memcpy(e, &h, 2);
        }
    }
}

/* Four butterfly stages swap blocks of 8, 4, 2 and 1 across the diagonal (a two-source
 * permute per row pair and stage: vpermt2ps on AVX-512), 16 loads and 16 stores: the K^T
 * preparation runs at memory speed instead of one scalar move per element. */
FCPU_INLINE void transpose_stage(v16f r[16], const int s) {
    _Pragma("GCC unroll 8")
    for (int j = 0; j < 8; ++j) { /* the 8 pairs (i, i + s) of rows whose bit s differs */
        const int i = j / s * 2 * s + j % s;
        const v16f a = r[i], b = r[i + s];
        r[i] = vbfly(a, b, s, 0);
        r[i + s] = vbfly(a, b, s, 1);
    }
}

FCPU_CLONES static void transpose16(const float *src, int64_t lds, float *dst, int64_t ldd) {
    v16f r[16];
    for (int i = 0; i < 16; ++i) r[i] = vload(src + i * lds);
    transpose_stage(r, 8); /* constant stages: each loop unrolls */
    transpose_stage(r, 4);
    transpose_stage(r, 2);
    transpose_stage(r, 1);
    for (int i = 0; i < 16; ++i) vstore(dst + i * ldd, r[i]);
}

/* The cloned function stays static: GCC gives the resolver of an external target_clones
 * function default visibility, which would export it from the plugin. */
void fcpu_transpose16_f32(const float *src, int64_t lds, float *dst, int64_t ldd) { transpose16(src, lds, dst, ldd); }
