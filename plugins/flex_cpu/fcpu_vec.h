/* The vector helpers of flex-cpu's own loops (softmax rows, the K^T transpose): 16 floats at a
 * time through GCC's vector extensions, so that vectorisation does not depend on the
 * optimisation level; FCPU_CLONES compiles a function for AVX-512, AVX2 and the baseline
 * (which splits a vector into SSE parts), picked once at load time by the CPU.  Only on
 * static functions: GCC exports the resolver of an external one, hidden visibility or not.
 *
 * The helpers are always inlined into their (cloned) callers, so the calling convention of
 * 64-byte vectors, which GCC warns about (-Wpsabi), never applies: the files that include
 * this header are compiled with -Wno-psabi (CMakeLists.txt). */
#ifndef FCPU_VEC_H
#define FCPU_VEC_H

#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define FCPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FCPU_CLONES
#endif
#define FCPU_INLINE static inline __attribute__((always_inline))

typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
typedef uint16_t v16h __attribute__((vector_size(32)));

FCPU_INLINE v16f vload(const float *p) {
    v16f v;
    memcpy(&v, p, sizeof v);
    return v;
}
FCPU_INLINE void vstore(float *p, v16f v) { memcpy(p, &v, sizeof v); }
FCPU_INLINE v16f vsplat(float x) { return (v16f){0} + x; }

/* One stage of a 16 x 16 butterfly (s = 8, 4, 2 or 1, a constant): vbfly(a, b, s, 0) takes
 * a's and b's blocks of s lanes that stay in place, vbfly(a, b, s, 1) the blocks that cross
 * over (a two-source permute each: vpermt2ps / vshuff32x4 on AVX-512).  Four stages
 * transpose 16 vectors (fcpu_io.c); with an add after each, they reduce 16 vectors to one
 * vector of their sums (fcpu_native.c). */
FCPU_INLINE v16f vbfly(v16f a, v16f b, const int s, const int cross) {
    static const v16i idx[2][4] = {
        {{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
         {0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},
         {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},
         {0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30}},
        {{8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31},
         {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31},
         {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31},
         {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31}}};
    return __builtin_shuffle(a, b, idx[cross][s == 8 ? 0 : s == 4 ? 1 : s == 2 ? 2 : 3]);
}

#endif
