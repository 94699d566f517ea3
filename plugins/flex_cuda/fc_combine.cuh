/* flex-cuda: merges the split-KV partials of every row through their LSEs (SPEC.md: two
 * results over disjoint key sets merge exactly that way): with M = max_s lse_s and
 * L = sum_s exp(lse_s - M), O = sum_s exp(lse_s - M) / L * O_s and LSE = M + log L.
 * A row whose every split saw nothing gets O = 0 and LSE = -inf. */
#ifndef FC_COMBINE_CUH
#define FC_COMBINE_CUH

#include <math.h>

#include "fc_params.h"
#include "fc_types.cuh"

#define FC_MAX_SPLITS 128
#define FC_COMBINE_ROWS 4 /* one warp per row */

template <class T>
__global__ void __launch_bounds__(32 * FC_COMBINE_ROWS) fc_combine(const fc_params p) {
    __shared__ float weights[FC_COMBINE_ROWS][FC_MAX_SPLITS];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t rows = (int64_t)p.B * p.Hq * p.Tq;
    const int64_t row = (int64_t)blockIdx.x * FC_COMBINE_ROWS + warp;
    if (row >= rows) return; /* the whole warp */
    const int S = p.splits;
    float M = -INFINITY;
    for (int s = lane; s < S; s += 32) M = fmaxf(M, p.part_lse[s * rows + row]);
    for (int o = 16; o > 0; o >>= 1) M = fmaxf(M, __shfl_xor_sync(0xffffffffu, M, o));
    float L = 0.0f;
    if (M != -INFINITY)
        for (int s = lane; s < S; s += 32) L += expf(p.part_lse[s * rows + row] - M);
    for (int o = 16; o > 0; o >>= 1) L += __shfl_xor_sync(0xffffffffu, L, o);
    const bool empty = !(L > 0.0f);
    for (int s = lane; s < S; s += 32) weights[warp][s] = empty ? 0.0f : expf(p.part_lse[s * rows + row] - M) / L;
    __syncwarp();

    const int i = (int)(row % p.Tq), hq = (int)((row / p.Tq) % p.Hq), b = (int)(row / ((int64_t)p.Tq * p.Hq));
    T *o = static_cast<T *>(p.o);
    for (int e = lane; e < p.Dv; e += 32) {
        float acc = 0.0f;
        for (int s = 0; s < S; ++s) {
            float w = weights[warp][s];
            if (w != 0.0f) acc += w * p.part_o[(s * rows + row) * p.Dv + e];
        }
        o[b * p.os[0] + hq * p.os[1] + (int64_t)i * p.os[2] + e * p.os[3]] = fc_from_float<T>(acc);
    }
    if (lane == 0 && p.lse) p.lse[b * p.lses[0] + hq * p.lses[1] + (int64_t)i * p.lses[2]] = empty ? -INFINITY : M + logf(L);
}

#endif
