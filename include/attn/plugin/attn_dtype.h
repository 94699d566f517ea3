/* float16 / bfloat16 <-> float32 conversions, round to nearest even, NaN preserved. */
#ifndef ATTN_DTYPE_H
#define ATTN_DTYPE_H

#include <stdint.h>
#include <string.h>

#include "attn_inline.h"

ATTN_INLINE uint32_t attn_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
ATTN_INLINE float attn_bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

ATTN_INLINE float attn_bf16_to_f32(uint16_t h) { return attn_bits_f32((uint32_t)h << 16); }

ATTN_INLINE uint16_t attn_f32_to_bf16(float f) {
    uint32_t u = attn_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

ATTN_INLINE float attn_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0) {
        if (man == 0) return attn_bits_f32(sign);
        /* subnormal: value = man * 2^-24 */
        float f = (float)man * 5.9604644775390625e-8f;
        return sign ? -f : f;
    }
    if (exp == 31) return attn_bits_f32(sign | 0x7f800000u | (man << 13));
    return attn_bits_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

ATTN_INLINE uint16_t attn_f32_to_f16(float f) {
    uint32_t u = attn_f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t abs = u & 0x7fffffffu;
    if (abs > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);  /* NaN */
    if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to >= 65520: inf */
    if (abs < 0x38800000u) {                                   /* below 2^-14: subnormal or zero */
        /* value / 2^-24, rounded to nearest even, by adding and subtracting 0.5 (magic). */
        float magic = attn_bits_f32(abs) + 0.5f; /* 0.5 = 2^-1 places 2^-24 at the unit bit */
        return (uint16_t)(sign | (uint16_t)(attn_f32_bits(magic) - 0x3f000000u));
    }
    uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
    return (uint16_t)(sign | (uint16_t)((rounded - 0x38000000u) >> 13));
}

#endif
