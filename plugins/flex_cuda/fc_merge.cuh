/* flex-cuda: the split-KV merge, in one place for both of its callers: the last block of a
 * (batch, head block, m tile) in fc_epilogue.cuh (the default, no second launch) and the
 * fc_combine kernel (fc_combine.cuh, option split_merge=kernel).
 *
 * Two results over disjoint key sets merge exactly through their LSEs (SPEC.md): with
 * M = max_s lse_s and L = sum_s exp(lse_s - M), O = sum_s exp(lse_s - M) / L * O_s and
 * LSE = M + log L.  A row whose every split saw nothing gets O = 0 and LSE = -inf.
 *
 * Partials are read with ld.global.cg (L2, never L1): in the last-block merge they were
 * written by other blocks during this launch, and L1 is not coherent between SMs.  A line of
 * part_lse holds rows of several groups, so an L1 copy taken while merging one group could
 * be stale for the next group merged on the same SM. */
#ifndef FC_MERGE_CUH
#define FC_MERGE_CUH

#include <math.h>

#include "fc_params.h"
#include "fc_types.cuh"

#define FC_MAX_SPLITS 128 /* also the option's limit (fc_plugin.cu) */
#define FC_MERGE_MAX_DV 256 /* the plan refuses larger head dims */

/* One warp merges flat row `row` = (b * Hq + hq) * Tq + i and writes its O and LSE.  All 32
 * lanes must call it together: the weights travel between lanes by shuffle, so it needs no
 * shared memory and runs inside any kernel's epilogue. */
template <class T>
__device__ inline void fc_merge_row(const fc_params &p, int64_t row, int b, int hq, int i) {
    const int lane = threadIdx.x % 32;
    const int64_t rows = (int64_t)p.B * p.Hq * p.Tq;
    const int S = p.splits;
    float M = -INFINITY;
    for (int s = lane; s < S; s += 32) M = fmaxf(M, __ldcg(p.part_lse + s * rows + row));
    for (int o = 16; o > 0; o >>= 1) M = fmaxf(M, __shfl_xor_sync(0xffffffffu, M, o));
    float L = 0.0f;
    if (M != -INFINITY)
        for (int s = lane; s < S; s += 32) L += expf(__ldcg(p.part_lse + s * rows + row) - M);
    for (int o = 16; o > 0; o >>= 1) L += __shfl_xor_sync(0xffffffffu, L, o);
    const bool empty = !(L > 0.0f);
    /* The weight of split lane + 32 k, held by that lane. */
    float w_lane[FC_MAX_SPLITS / 32];
#pragma unroll
    for (int k = 0; k < FC_MAX_SPLITS / 32; ++k) {
        int s = lane + 32 * k;
        w_lane[k] = (empty || s >= S) ? 0.0f : expf(__ldcg(p.part_lse + s * rows + row) - M) / L;
    }

    /* Lane handles dims lane, lane + 32, ...; splits are summed in order s = 0, 1, ... */
    float acc[FC_MERGE_MAX_DV / 32];
#pragma unroll
    for (int c = 0; c < FC_MERGE_MAX_DV / 32; ++c) acc[c] = 0.0f;
#pragma unroll
    for (int k = 0; k < FC_MAX_SPLITS / 32; ++k) {
        if (32 * k >= S) break; /* warp-uniform */
        for (int sl = 0; sl < 32 && 32 * k + sl < S; ++sl) {
            const float w = __shfl_sync(0xffffffffu, w_lane[k], sl);
            if (w == 0.0f) continue; /* warp-uniform: an empty split contributes nothing */
            const float *src = p.part_o + ((32 * k + sl) * rows + row) * p.Dv;
#pragma unroll
            for (int c = 0; c < FC_MERGE_MAX_DV / 32; ++c) {
                int e = lane + 32 * c;
                if (e < p.Dv) acc[c] += w * __ldcg(src + e);
            }
        }
    }
    T *o = static_cast<T *>(p.o) + b * p.os[0] + hq * p.os[1] + (int64_t)i * p.os[2];
#pragma unroll
    for (int c = 0; c < FC_MERGE_MAX_DV / 32; ++c) {
        int e = lane + 32 * c;
        if (e < p.Dv) o[e * p.os[3]] = fc_from_float<T>(acc[c]);
    }
    if (lane == 0 && p.lse) p.lse[b * p.lses[0] + hq * p.lses[1] + (int64_t)i * p.lses[2]] = empty ? -INFINITY : M + logf(L);
}

/* Called by every thread of a block that has just written its partials (split > 0 or not):
 * counts the block in on its group's counter and answers, to every thread, whether it was
 * the last of the group's p.splits blocks.  The last one finds every other block's partials
 * visible and resets the counter, so the next launch starts from zero without a memset.
 *
 * Ordering: each thread fences its own partial stores (device scope); the barrier gathers
 * the block; thread 0 fences again (cumulative over what the barrier made it observe) and
 * only then increments.  The last block, having observed the count, fences before it loads
 * (acquire side) and loads through L2 (fc_merge_row). */
__device__ inline bool fc_arrive_last(const fc_params &p, int64_t group) {
    __threadfence();
    __syncthreads();
    int last = 0;
    if (threadIdx.x == 0) {
        __threadfence();
        unsigned int *counter = p.counters + group;
        last = atomicAdd(counter, 1u) == (unsigned int)(p.splits - 1);
        /* Every split has arrived: no block of this launch touches the counter again. */
        if (last) atomicExch(counter, 0u);
    }
    last = __syncthreads_or(last);
    if (last) __threadfence();
    return last != 0;
}

#endif
