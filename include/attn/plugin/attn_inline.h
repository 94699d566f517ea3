/* ATTN_INLINE: header-only functions usable from C, C++ and CUDA device code alike. */
#ifndef ATTN_INLINE_H
#define ATTN_INLINE_H
#if defined(__CUDACC__)
#define ATTN_INLINE static inline __host__ __device__
#else
#define ATTN_INLINE static inline
#endif
#endif
