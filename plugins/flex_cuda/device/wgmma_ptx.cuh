/* flex-cuda: the Hopper warpgroup instructions of the wgmma main loop (sm_90a only):
 * shared-memory matrix descriptors for the 128-byte swizzled layout, the wgmma fences, and
 * m64nNk16 products with float32 accumulation (N = 64, 128).
 *
 * Layout (PTX ISA "Shared Memory Matrix Layout", 128B swizzle): a tile of R rows of 16-bit
 * values is stored as panels of 64 columns (128 bytes per row); panel p starts at
 * p * R * 128 bytes, 1024-byte aligned, and row r's 16-byte chunk c sits at chunk
 * c ^ (r % 8).  As a K-major operand (Q, K) a descriptor strides 1024 bytes between groups
 * of 8 rows; as an MN-major operand (V: keys are the reduction dim, head dims contiguous) it
 * strides 1024 bytes between groups of 8 keys and one panel between groups of 64 dims.
 *
 * The accumulator fragment of m64nNk16 is, per warp of the warpgroup (16 rows each), the
 * layout of mma.sync m16n8: thread (g = lane / 4, c = lane % 4) holds rows g and g + 8,
 * columns 2c and 2c + 1 of each 8-column tile, as d[tile][0..3].  The A fragment from
 * registers is mma.sync's too, so a score tile turns into P with no data movement.
 *
 * The operand lists are macros: N / 2 accumulator registers per thread for an m64nNk16. */
#ifndef FC_WGMMA_PTX_CUH
#define FC_WGMMA_PTX_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include "device/ptx.cuh"

#define FC_WG_PANEL_ROW_BYTES 128 /* 64 16-bit values: one 128-byte swizzle row */

/* Byte offset of row r's 16-byte chunk ch (of the whole row) in a swizzled tile of R rows. */
__device__ inline uint32_t fc_swz_offset(int r, int ch, int R) {
    return (uint32_t)((ch >> 3) * R * FC_WG_PANEL_ROW_BYTES + r * FC_WG_PANEL_ROW_BYTES + (((ch & 7) ^ (r & 7)) << 4));
}

/* Matrix descriptor (start address, leading and stride byte offsets, 128-byte swizzle) as its
 * two 32-bit words: the low word holds the start address >> 4 (14 bits) and the leading byte
 * offset, the high word the stride byte offset and the swizzle mode.  Stepping through a tile
 * adds offset >> 4 to the low word only, and never carries (shared addresses stay below
 * 2^18).  Kept apart, each product's descriptor costs one 32-bit add: as 64-bit sums the
 * compiler spent ~100 instructions per tile on adds with carry and moves (ncu, session 3). */
__device__ inline uint32_t fc_wg_desc_lo(uint32_t smem_addr, uint32_t lbo) {
    return ((smem_addr & 0x3ffff) >> 4) | (((lbo & 0x3ffff) >> 4) << 16);
}
__host__ __device__ constexpr uint32_t fc_wg_desc_hi(uint32_t sbo) { return ((sbo & 0x3ffff) >> 4) | (1u << 30); }
__device__ inline uint64_t fc_wg_desc(uint32_t lo, uint32_t hi) { return ((uint64_t)hi << 32) | lo; }

__device__ inline void fc_wg_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ inline void fc_wg_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ inline void fc_wg_wait() {
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
/* Shared memory written through the generic proxy (cp.async, st.shared) becomes visible to
 * wgmma, which reads through the async proxy, only after this fence (then a barrier). */
__device__ inline void fc_fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

/* Keeps the compiler from moving reads or writes of accumulator registers across the
 * asynchronous wgmma that owns them between its issue and its wait. */
template <int N8>
__device__ inline void fc_wg_hold(float (&d)[N8][4]) {
#pragma unroll
    for (int i = 0; i < N8; ++i)
#pragma unroll
        for (int e = 0; e < 4; ++e) asm volatile("" : "+f"(d[i][e])::"memory");
}

/* mbarriers in shared memory (8 bytes each). */
__device__ inline void fc_mbar_init(uint64_t *bar, int count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(fc_smem_addr(bar)), "r"(count) : "memory");
}
__device__ inline void fc_mbar_arrive(uint64_t *bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(fc_smem_addr(bar)) : "memory");
}
/* Arrives once every cp.async this thread issued so far has landed (the arrival is one of
 * the count given at init: .noinc). */
__device__ inline void fc_mbar_arrive_cp_async(uint64_t *bar) {
    asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(fc_smem_addr(bar)) : "memory");
}
/* Arrives on the barrier and adds `bytes` to the transactions its phase waits for. */
__device__ inline void fc_mbar_arrive_expect_tx(uint64_t *bar, uint32_t bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(fc_smem_addr(bar)), "r"(bytes)
                 : "memory");
}

/* Arrives once every cp.async this thread issued so far has landed, counting one arrival more
 * in the phase first (no .noinc): a thread that was not in the barrier's count may use it. */
__device__ inline void fc_mbar_arrive_cp_async_inc(uint64_t *bar) {
    asm volatile("cp.async.mbarrier.arrive.shared::cta.b64 [%0];\n" ::"r"(fc_smem_addr(bar)) : "memory");
}

/* Waits for the completion of the phase with the given parity. */
__device__ inline void fc_mbar_wait(uint64_t *bar, int parity) {
    asm volatile(
        "{\n.reg .pred done;\nFC_MBAR_WAIT:\n"
        "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
        "@!done bra FC_MBAR_WAIT;\n}\n" ::"r"(fc_smem_addr(bar)),
        "r"(parity)
        : "memory");
}

/* The same for an A fragment in registers, which wgmma reads asynchronously too. */
__device__ inline void fc_wg_hold_regs(uint32_t (&a)[4]) {
#pragma unroll
    for (int e = 0; e < 4; ++e) asm volatile("" : "+r"(a[e])::"memory");
}

template <class T, int N>
struct fc_wgmma;

/* Accumulator operand lists (4 registers per 8-column tile) and their placeholders. */
#define FC_WG_ACC(C, i) C(d[i][0]), C(d[i][1]), C(d[i][2]), C(d[i][3])
#define FC_WG_ACC8(C) \
    FC_WG_ACC(C, 0), FC_WG_ACC(C, 1), FC_WG_ACC(C, 2), FC_WG_ACC(C, 3), FC_WG_ACC(C, 4), FC_WG_ACC(C, 5), \
        FC_WG_ACC(C, 6), FC_WG_ACC(C, 7)
#define FC_WG_ACC16(C) \
    FC_WG_ACC8(C), FC_WG_ACC(C, 8), FC_WG_ACC(C, 9), FC_WG_ACC(C, 10), FC_WG_ACC(C, 11), FC_WG_ACC(C, 12), \
        FC_WG_ACC(C, 13), FC_WG_ACC(C, 14), FC_WG_ACC(C, 15)
#define FC_WG_RW(x) "+f"(x)
#define FC_WG_W(x) "=f"(x)
#define FC_WG_REGS32 \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define FC_WG_REGS64 \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, " \
    "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
    "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"

/* One specialisation per (dtype, N); TY is the PTX type name of the 16-bit inputs. */
#define FC_WGMMA_N64(T, TY)                                                                       \
    template <>                                                                                   \
    struct fc_wgmma<T, 64> {                                                                      \
        /* d (+)= A[smem] * B[smem]^T, both K-major (S = Q K^T). */                               \
        __device__ static void ss(float (&d)[8][4], uint64_t a, uint64_t b, int accumulate) {     \
            asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"                             \
                         "wgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " " FC_WG_REGS32 \
                         ", %32, %33, p, 1, 1, 0, 0;\n}\n"                                        \
                         : FC_WG_ACC8(FC_WG_RW)                                                   \
                         : "l"(a), "l"(b), "r"(accumulate));                                      \
        }                                                                                         \
        /* d = A[smem] * B[smem]^T: as ss() without accumulating, and d is written only, so the   \
         * compiler sees no dependence on its previous values (which may come from a divergent    \
         * path, e.g. masking, and would make ptxas serialise the wgmma pipeline: C7520). */      \
        __device__ static void ss0(float (&d)[8][4], uint64_t a, uint64_t b) {                    \
            asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"                             \
                         "wgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " " FC_WG_REGS32 \
                         ", %32, %33, p, 1, 1, 0, 0;\n}\n"                                        \
                         : FC_WG_ACC8(FC_WG_W)                                                    \
                         : "l"(a), "l"(b), "r"(0));                                               \
        }                                                                                         \
        /* d += A[registers] * B[smem], B MN-major (O += P V with V's rows as stored). */         \
        __device__ static void rs(float (&d)[8][4], const uint32_t (&a)[4], uint64_t b) {         \
            asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"                             \
                         "wgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " " FC_WG_REGS32 \
                         ", {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"                          \
                         : FC_WG_ACC8(FC_WG_RW)                                                   \
                         : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));           \
        }                                                                                         \
    };

#define FC_WGMMA_N128(T, TY)                                                                       \
    template <>                                                                                    \
    struct fc_wgmma<T, 128> {                                                                      \
        /* d (+)= A[smem] * B[smem]^T, both K-major (S = Q K^T). */                                \
        __device__ static void ss(float (&d)[16][4], uint64_t a, uint64_t b, int accumulate) {     \
            asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"                              \
                         "wgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " " FC_WG_REGS64 \
                         ", %64, %65, p, 1, 1, 0, 0;\n}\n"                                         \
                         : FC_WG_ACC16(FC_WG_RW)                                                   \
                         : "l"(a), "l"(b), "r"(accumulate));                                       \
        }                                                                                          \
        /* d = A[smem] * B[smem]^T: as ss() without accumulating, and d is written only, so the    \
         * compiler sees no dependence on its previous values (which may come from a divergent     \
         * path, e.g. masking, and would make ptxas serialise the wgmma pipeline: C7520). */       \
        __device__ static void ss0(float (&d)[16][4], uint64_t a, uint64_t b) {                    \
            asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"                              \
                         "wgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " " FC_WG_REGS64 \
                         ", %64, %65, p, 1, 1, 0, 0;\n}\n"                                         \
                         : FC_WG_ACC16(FC_WG_W)                                                    \
                         : "l"(a), "l"(b), "r"(0));                                                \
        }                                                                                          \
        /* d += A[registers] * B[smem], B MN-major (O += P V with V's rows as stored). */          \
        __device__ static void rs(float (&d)[16][4], const uint32_t (&a)[4], uint64_t b) {         \
            asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"                              \
                         "wgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " " FC_WG_REGS64 \
                         ", {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"                           \
                         : FC_WG_ACC16(FC_WG_RW)                                                   \
                         : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));            \
        }                                                                                          \
    };

FC_WGMMA_N64(__nv_bfloat16, "bf16")
FC_WGMMA_N64(__half, "f16")
FC_WGMMA_N128(__nv_bfloat16, "bf16")
FC_WGMMA_N128(__half, "f16")

#endif
