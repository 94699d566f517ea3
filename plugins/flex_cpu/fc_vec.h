/* The vector helpers of flex-cpu's own loops (softmax rows, the K^T transpose): 16 floats at a
 * time through GCC's vector extensions, so that vectorisation does not depend on the
 * optimisation level; FC_CLONES compiles a function for AVX-512, AVX2 and the baseline
 * (which splits a vector into SSE parts), picked once at load time by the CPU.  Only on
 * static functions: GCC exports the resolver of an external one, hidden visibility or not.
 *
 * The helpers are always inlined into their (cloned) callers, so the calling convention of
 * 64-byte vectors, which GCC warns about (-Wpsabi), never applies: the files that include
 * this header are compiled with -Wno-psabi (CMakeLists.txt). */
#ifndef FC_VEC_H
#define FC_VEC_H

#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define FC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FC_CLONES
#endif
#define FC_INLINE static inline __attribute__((always_inline))

typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
typedef uint16_t v16h __attribute__((vector_size(32)));

FC_INLINE v16f vload(const float *p) {
    v16f v;
    memcpy(&v, p, sizeof v);
    return v;
}
FC_INLINE void vstore(float *p, v16f v) { memcpy(p, &v, sizeof v); }
FC_INLINE v16f vsplat(float x) { return (v16f){0} + x; }

#endif
