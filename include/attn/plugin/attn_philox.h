/* Philox4x32-10 (Salmon et al., Random123) and the dropout decision of SPEC.md.
 *
 * The decision is a pure function of (seed, offset, b, h, pos, j), so every backend,
 * tiling and decode schedule drops the same entries. */
#ifndef ATTN_PHILOX_H
#define ATTN_PHILOX_H

#include <stdint.h>

#include "attn_inline.h"

#define ATTN_PHILOX_M0 0xD2511F53u
#define ATTN_PHILOX_M1 0xCD9E8D57u
#define ATTN_PHILOX_W0 0x9E3779B9u
#define ATTN_PHILOX_W1 0xBB67AE85u

ATTN_INLINE void attn_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; ++round) {
        uint64_t p0 = (uint64_t)ATTN_PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)ATTN_PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += ATTN_PHILOX_W0;
        k1 += ATTN_PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* floor(p * 2^32), saturated to 2^32 - 1.  p is in [0, 1). */
ATTN_INLINE uint32_t attn_dropout_threshold(float p) {
    double t = (double)p * 4294967296.0;
    if (t >= 4294967295.0) return 0xffffffffu;
    if (t <= 0.0) return 0u;
    return (uint32_t)t;
}

/* 1 when key j of query (b, h, pos) is kept, 0 when dropped.  pos is the absolute query
 * position and may be negative (it then wraps modulo 2^32, as SPEC.md says). */
ATTN_INLINE int attn_dropout_keep(uint64_t seed, uint32_t offset, int64_t b, int64_t h, int64_t num_q_heads,
                                  int64_t pos, int64_t j, uint32_t threshold) {
    uint32_t counter[4] = {(uint32_t)j, (uint32_t)pos, (uint32_t)(h + num_q_heads * b), offset};
    uint32_t key[2] = {(uint32_t)(seed & 0xffffffffu), (uint32_t)(seed >> 32)};
    uint32_t out[4];
    attn_philox4x32_10(counter, key, out);
    return out[0] >= threshold;
}

#endif
