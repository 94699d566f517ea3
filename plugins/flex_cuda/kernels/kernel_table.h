/* flex-cuda: the compiled kernels, described for the host.  Each fc_kernels_*.cu file
 * instantiates the kernels of one dtype and lists them here; the host picks one by
 * (dtype, kind, padded head dim, block height), sets its shared-memory limit once, and launches it
 * through cudaLaunchKernel with the fc_params block as its argument (the wgmma loop also takes
 * the K, V and Q tensor maps after it). */
#ifndef FC_KERNELS_H
#define FC_KERNELS_H

#include <stddef.h>

#define FC_DT_F32 0
#define FC_DT_F16 1
#define FC_DT_BF16 2

#define FC_K_MMA_PREFILL 0 /* tensor cores, many rows per block, one key stream */
#define FC_K_MMA_DECODE 1  /* tensor cores, 16 packed rows, four key streams */
#define FC_K_SIMT 2        /* float32 FMA, any head dim up to 256, any strides */
#define FC_K_COMBINE 3     /* split-KV merge */
#define FC_K_WGMMA_PREFILL 4 /* Hopper warpgroup MMAs, 64, 128 or 192 rows per block, one key stream (sm_90a) */
#define FC_K_WGMMA_PERSIST 5 /* the same, persistent and warp-specialised, for dense prefill (kernels/persistent_ws.cuh) */
#define FC_WS_ROWS 192       /* ... whose work items are 192 packed rows */

/* What the host must know of the kernels' geometry to plan and launch them, defined here
 * so that the plan never includes kernel templates. */
#define FC_MAX_SPLITS 128 /* split-KV partials a row may have; also the option's limit (host/plugin.cu) */
#define FC_COMBINE_ROWS 4 /* rows per block of the merge kernel (kernels/combine.cuh): one warp each */
#define FC_SIMT_BM 16     /* rows and keys per tile of the float32 kernel (kernels/mainloop_simt.cuh) */
#define FC_SIMT_BN 32

#ifdef __CUDACC__
/* Dynamic shared memory of the float32 kernel for head dims D and Dv (floats, then 4 ints). */
__host__ __device__ inline size_t fc_simt_smem(int d, int dv) {
    size_t floats = (size_t)FC_SIMT_BM * d + (size_t)FC_SIMT_BN * (d + 1) + (size_t)FC_SIMT_BN * dv +
                    (size_t)FC_SIMT_BM * FC_SIMT_BN + (size_t)FC_SIMT_BM * dv + 3 * FC_SIMT_BM;
    return floats * 4 + 16;
}
#endif

#define FC_MODS_SCORE 1   /* the score modifiers: softcap, ALiBi, synaptic */
#define FC_MODS_DROPOUT 2 /* Philox dropout */
#define FC_MODS_ALL (FC_MODS_SCORE | FC_MODS_DROPOUT)

typedef struct fc_kernel_desc {
    const void *fn;
    int dtype, kind;
    int dp;                  /* padded head dim of a tensor-core kernel (0 otherwise) */
    int mods;                /* FC_MODS_* it was compiled with (the SIMT kernel and the merge: all) */
    int threads;             /* block size */
    int block_m, block_n;    /* packed rows per block, keys per tile */
    size_t smem;             /* dynamic shared memory (the SIMT kernel's largest, at D = Dv = 256) */
} fc_kernel_desc;

/* The tables of each dtype: *count entries. */
const fc_kernel_desc *fc_kernels_f32(int *count);
const fc_kernel_desc *fc_kernels_f16(int *count);
const fc_kernel_desc *fc_kernels_bf16(int *count);

#endif
