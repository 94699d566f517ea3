/* flex-cuda: the Tensor Memory Accelerator copies of the wgmma main loop (sm_90a only).
 *
 * One thread copies a whole K or V tile: a 4-d box (64 head dims x BN keys x 1 head x 1 batch)
 * of a tensor map that the host encoded for the problem's K or V view (host/tma_maps.cu), into shared
 * memory in the 128-byte swizzled layout that wgmma reads (device/wgmma_ptx.cuh).  Out-of-range
 * parts of a box (head dims past D, keys past Tk) arrive as zeros.  The copy's bytes count
 * against the destination stage's mbarrier, which the same thread armed with the byte count
 * (fc_mbar_arrive_expect_tx, with the other mbarrier helpers in device/wgmma_ptx.cuh). */
#ifndef FC_TMA_CUH
#define FC_TMA_CUH

#include <cuda.h>
#include <stdint.h>

#include "device/ptx.cuh"

/* Box at (c0, c1, c2, c3) of the map -> dst (1024-byte aligned), completing on bar. */
__device__ inline void fc_tma_load_4d(void *dst, const CUtensorMap *map, uint64_t *bar, int c0, int c1, int c2, int c3) {
    asm volatile(
        "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, %5}], "
        "[%6];\n" ::"r"(fc_smem_addr(dst)),
        "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(fc_smem_addr(bar))
        : "memory");
}

/* The map's descriptor into the cache ahead of the first copy. */
__device__ inline void fc_tma_prefetch(const CUtensorMap *map) {
    asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(map)) : "memory");
}

#endif
