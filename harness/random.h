/* The harness's random stream: splitmix64, tiny, well-mixed and the same on every platform, so
 * that generated inputs depend only on the case (instance.c, case_aux.c). */
#ifndef ATTN_HARNESS_RANDOM_H
#define ATTN_HARNESS_RANDOM_H

#include <stdint.h>

static inline uint64_t attn_random_u64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1): never 0, so that log() of it is finite. */
static inline double attn_random_uniform(uint64_t *state) {
    return ((double)(attn_random_u64(state) >> 11) + 0.5) * 0x1.0p-53;
}

#endif
