/* Overflow-checked 64-bit arithmetic for byte extents and sizes: 1 on success, 0 on overflow. */
#ifndef ATTN_INTERNAL_CHECKED_MATH_H
#define ATTN_INTERNAL_CHECKED_MATH_H

#include <stdint.h>

static inline int attn_mul_i64(int64_t a, int64_t b, int64_t *out) { return !__builtin_mul_overflow(a, b, out); }
static inline int attn_add_i64(int64_t a, int64_t b, int64_t *out) { return !__builtin_add_overflow(a, b, out); }

#endif
