/* flex-cuda: the kernel set of one dtype, included once per fc_kernels_*.cu so that the
 * dtypes compile in parallel.  Tensor-core shapes: prefill on Hopper at head dims 64 and 128
 * 128-key tiles of 128 rows (two warpgroups of 64 rows, wgmma) and, at head dim 64 without
 * modifiers, 64-key tiles of 64 rows (one warpgroup, three blocks per SM) and 128-key tiles of
 * 192 rows (three warpgroups;
 * with the modifiers they spill at the 168 registers that leaves a thread); the plan picks
 * the height (host/plan.cu); otherwise 128 x 64 tiles (4 warps of two
 * m16 tiles each, FlashAttention-2's layout) up to head dim 128 and 64 x 32 (4 warps of one)
 * at 256; decode 16 rows x 16-key tiles per warp, four warps.  Head dims are padded to 64, 96, 128 or 256 (80 runs as 96, 48 as 64, ...). */
#include "kernels/mainloop_mma.cuh"
#include "kernels/mainloop_simt.cuh"
#include "kernels/mainloop_wgmma.cuh"
#include "kernels/persistent_ws.cuh"
#include "kernels/combine.cuh"
#include "kernels/kernel_table.h"

#define FC_MMA_DESC(T, DT, DP, WM, WN, BN, MT, KIND, MODS)                                                  \
    {(const void *)fc_attn_mma<T, DP, WM, WN, BN, MT, MODS>, DT, KIND, DP, (MODS) ? FC_MODS_ALL : 0, 32 * WM * WN,   \
     16 * MT * WM, BN, fc_mma_cfg<T, DP, WM, WN, BN, MT>::SMEM}

#define FC_MMA_DIMS(T, DT, MODS)                                                                            \
    FC_MMA_DESC(T, DT, 64, 4, 1, 64, 2, FC_K_MMA_PREFILL, MODS),                                            \
        FC_MMA_DESC(T, DT, 96, 4, 1, 32, 2, FC_K_MMA_PREFILL, MODS),                                        \
        FC_MMA_DESC(T, DT, 128, 4, 1, 32, 2, FC_K_MMA_PREFILL, MODS),                                       \
        FC_MMA_DESC(T, DT, 256, 4, 1, 32, 1, FC_K_MMA_PREFILL, MODS),                                       \
        FC_MMA_DESC(T, DT, 64, 1, 4, 16, 1, FC_K_MMA_DECODE, MODS), FC_MMA_DESC(T, DT, 96, 1, 4, 16, 1, FC_K_MMA_DECODE, MODS), \
        FC_MMA_DESC(T, DT, 128, 1, 4, 16, 1, FC_K_MMA_DECODE, MODS), FC_MMA_DESC(T, DT, 256, 1, 4, 16, 1, FC_K_MMA_DECODE, MODS)

#define FC_WGMMA_DESC(T, DT, DP, BN, NWG, MODS, DROP)                                                       \
    {(const void *)fc_attn_wgmma<T, DP, BN, NWG, MODS, DROP>, DT, FC_K_WGMMA_PREFILL, DP,                     \
     ((MODS) ? FC_MODS_SCORE : 0) | ((DROP) ? FC_MODS_DROPOUT : 0), fc_wgmma_cfg<T, DP, BN, NWG>::THREADS,    \
     fc_wgmma_cfg<T, DP, BN, NWG>::BM, BN, fc_wgmma_cfg<T, DP, BN, NWG>::SMEM}

/* The wgmma loop: without modifiers at every height; with modifiers, and with modifiers and
 * dropout, on two warpgroups (three spill with them). */
#define FC_WGMMA_DIM(T, DT, DP)                                                                             \
    FC_WGMMA_DESC(T, DT, DP, 128, 2, false, false), FC_WGMMA_DESC(T, DT, DP, 128, 2, true, false),         \
        FC_WGMMA_DESC(T, DT, DP, 128, 2, true, true)

/* The persistent kernel (dense prefill at head dim 64, three math warpgroups). */
#define FC_WS_DESC(T, DT, DP)                                                                               \
    {(const void *)fc_attn_ws<T, DP>, DT, FC_K_WGMMA_PERSIST, DP, 0, fc_ws_cfg<T, DP>::THREADS,               \
     fc_ws_cfg<T, DP>::BM, fc_ws_cfg<T, DP>::BN, fc_ws_cfg<T, DP>::SMEM}

#define FC_MMA_SET(T, DT)                                                                                   \
    FC_MMA_DIMS(T, DT, false), FC_MMA_DIMS(T, DT, true), FC_WGMMA_DIM(T, DT, 64), FC_WGMMA_DIM(T, DT, 128),  \
        FC_WGMMA_DESC(T, DT, 64, 128, 3, false, false), FC_WGMMA_DESC(T, DT, 64, 64, 1, false, false),       \
        FC_WS_DESC(T, DT, 64)

#define FC_COMMON_SET(T, DT)                                                                                \
    {(const void *)fc_attn_simt<T>, DT, FC_K_SIMT, 0, FC_MODS_ALL, FC_SIMT_THREADS, FC_SIMT_BM, FC_SIMT_BN,   \
     fc_simt_smem(256, 256)},                                                                               \
        {(const void *)fc_combine<T>, DT, FC_K_COMBINE, 0, FC_MODS_ALL, 32 * FC_COMBINE_ROWS, FC_COMBINE_ROWS, 0, 0}
