/* Moving rows between the problem's strided tensors and flex-cpu's packed tiles, with the
 * dtype conversions: inputs widen to the compute dtype (float16 -> float32 exactly), outputs
 * round to the problem's dtype once, at the end. */
#ifndef FCPU_IO_H
#define FCPU_IO_H

#include <stdint.h>

/* count elements of dtype (FCPU_DT_*) at src, element stride `stride`, into dst as the
 * compute dtype cdt (FCPU_CDT_*; bfloat16 only from bfloat16). */
void fcpu_load_row(const char *src, int64_t stride, int64_t count, int32_t dtype, int32_t cdt, void *dst);

/* dst[c * stride] = src[c] * mul rounded to dtype, for c < count; mul = 0 writes zeros. */
void fcpu_store_row(const float *src, float mul, int64_t count, int32_t dtype, char *dst, int64_t stride);

/* dst[c * ldd + r] = src[r * lds + c] for a 16 x 16 block of floats. */
void fcpu_transpose16_f32(const float *src, int64_t lds, float *dst, int64_t ldd);

/* Bytes of one element of a problem dtype / a compute dtype. */
static inline int64_t fcpu_dtype_size(int32_t dtype) { return dtype == 0 ? 4 : 2; }
static inline int64_t fcpu_cdt_size(int32_t cdt) { return cdt == 0 ? 4 : 2; }

#endif
