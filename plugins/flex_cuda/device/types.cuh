/* flex-cuda: element types.  Loads widen to float, stores round to nearest even, like the
 * host's attn_dtype.h conversions (the reference rounds its float64 result the same way). */
#ifndef FC_TYPES_CUH
#define FC_TYPES_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

__device__ inline float fc_to_float(float x) { return x; }
__device__ inline float fc_to_float(__half x) { return __half2float(x); }
__device__ inline float fc_to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <class T>
__device__ inline T fc_from_float(float x);
template <>
__device__ inline float fc_from_float<float>(float x) {
    return x;
}
template <>
__device__ inline __half fc_from_float<__half>(float x) {
    return __float2half_rn(x);
}
template <>
__device__ inline __nv_bfloat16 fc_from_float<__nv_bfloat16>(float x) {
    return __float2bfloat16_rn(x);
}

/* Two floats as one 32-bit register of two 16-bit values, the first in the low half (the
 * lower column of an mma fragment). */
template <class T>
__device__ inline uint32_t fc_pack2(float lo, float hi);
template <>
__device__ inline uint32_t fc_pack2<__half>(float lo, float hi) {
    __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
}
template <>
__device__ inline uint32_t fc_pack2<__nv_bfloat16>(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
}

#endif
