/* flex-cuda: the split-KV merge as a second kernel, one warp per row (option
 * split_merge=kernel; the default merges in the last block of each group, device/epilogue.cuh).
 * Kept so that the two paths can be compared: both run fc_merge_row. */
#ifndef FC_COMBINE_CUH
#define FC_COMBINE_CUH

#include "device/merge.cuh"
#include "kernels/kernel_table.h" /* FC_COMBINE_ROWS */

template <class T>
__global__ void __launch_bounds__(32 * FC_COMBINE_ROWS) fc_combine(const fc_params p) {
    const int warp = threadIdx.x / 32;
    const int64_t rows = (int64_t)p.B * p.Hq * p.Tq;
    const int64_t row = (int64_t)blockIdx.x * FC_COMBINE_ROWS + warp;
    if (row >= rows) return; /* the whole warp */
    const int i = (int)(row % p.Tq), hq = (int)((row / p.Tq) % p.Hq), b = (int)(row / ((int64_t)p.Tq * p.Hq));
    fc_merge_row<T>(p, row, b, hq, i);
}

#endif
