/* flex-cuda: the split-KV merge, in one place for both of its callers: the last block of a
 * (batch, head block, m tile) in device/epilogue.cuh (the default, no second launch) and the
 * fc_combine kernel (kernels/combine.cuh, option split_merge=kernel).
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

#include "kernels/kernel_table.h" /* FC_MAX_SPLITS */
#include "kernels/params.h"
#include "device/types.cuh"

/* Dims e .. e + 3 of a partial row, through L2; zero past Dv.  `vec` (Dv % 4 == 0, so the
 * row starts on 16 bytes: the workspace comes from cudaMalloc) takes one 16-byte load. */
__device__ inline float4 fc_merge_load4(const float *src, int e, int dv, bool vec) {
    if (vec) return e < dv ? __ldcg(reinterpret_cast<const float4 *>(src + e)) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    float4 r;
    r.x = e < dv ? __ldcg(src + e) : 0.0f;
    r.y = e + 1 < dv ? __ldcg(src + e + 1) : 0.0f;
    r.z = e + 2 < dv ? __ldcg(src + e + 2) : 0.0f;
    r.w = e + 3 < dv ? __ldcg(src + e + 3) : 0.0f;
    return r;
}

/* What the merge of one row reads: the partials of flat row `row` of `rows`. */
struct fc_merge_src {
    const float *part_o, *part_lse;
    int64_t rows, row;
    int splits, dv;
};

/* The merge of one row with CC chunks of 128 dims (lane: dims 128 c + 4 lane .. + 3) and U
 * splits loaded together.  The tail of a split decode waits on this: U * CC 16-byte loads
 * per lane are in flight at once, so a row costs about S / U round trips to L2, not S.
 * Not inlined, on purpose: inlined into the attention kernels, its loads were scheduled with
 * every register the main loop leaves free (decode D128: 159 -> 237 registers, past the 170
 * that three blocks per SM allow).  As a call, with U * CC = 8 (CC = 1) or 4 (CC = 2), no
 * decode kernel needs more registers than before it (ptxas -v; D64: 118 -> 120, the same
 * 4 blocks per SM); U * CC = 8 at CC = 2 cost D64 decode one block per SM. */
template <class T, int CC, int U>
__device__ __noinline__ void fc_merge_row_chunks(const fc_merge_src src, T *o, int64_t o_stride, float *lse_out) {
    constexpr int K = FC_MAX_SPLITS / 32;
    static_assert(K == 4 && 32 % U == 0, "the weight select below and the chunking assume these");
    const int lane = threadIdx.x % 32;
    const int64_t rows = src.rows, row = src.row;
    const int S = src.splits, Dv = src.dv;
    /* lse[k]: split lane + 32 k (-inf past S), all loads issued together. */
    float lse[K];
#pragma unroll
    for (int k = 0; k < K; ++k) {
        int s = lane + 32 * k;
        lse[k] = s < S ? __ldcg(src.part_lse + s * rows + row) : -INFINITY;
    }
    float M = -INFINITY;
#pragma unroll
    for (int k = 0; k < K; ++k) M = fmaxf(M, lse[k]);
    for (int o = 16; o > 0; o >>= 1) M = fmaxf(M, __shfl_xor_sync(0xffffffffu, M, o));
    float L = 0.0f;
    if (M != -INFINITY) {
#pragma unroll
        for (int k = 0; k < K; ++k) L += expf(lse[k] - M); /* 0 past S */
    }
    for (int o = 16; o > 0; o >>= 1) L += __shfl_xor_sync(0xffffffffu, L, o);
    const bool empty = !(L > 0.0f);
    float w[K]; /* the weight of split lane + 32 k, held by that lane; 0 past S */
#pragma unroll
    for (int k = 0; k < K; ++k) w[k] = empty ? 0.0f : expf(lse[k] - M) / L;

    const bool vec = (Dv & 3) == 0;
    float4 acc[CC];
#pragma unroll
    for (int c = 0; c < CC; ++c) acc[c] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll 1
    for (int k = 0; k < K && 32 * k < S; ++k) {
        const float wk = k == 0 ? w[0] : k == 1 ? w[1] : k == 2 ? w[2] : w[3]; /* registers, not a local array */
#pragma unroll 1 /* one chunk at a time: its U loads per lane are the ones in flight */
        for (int s0 = 0; s0 < 32 && 32 * k + s0 < S; s0 += U) {
            float ws[U];
            float4 v[U][CC];
#pragma unroll
            for (int u = 0; u < U; ++u) {
                ws[u] = __shfl_sync(0xffffffffu, wk, s0 + u); /* warp-uniform; 0 for an empty split or past S */
                const float *part = src.part_o + ((int64_t)(32 * k + s0 + u) * rows + row) * Dv;
#pragma unroll
                for (int c = 0; c < CC; ++c)
                    v[u][c] = ws[u] != 0.0f ? fc_merge_load4(part, 128 * c + 4 * lane, Dv, vec)
                                            : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            }
            /* Summed in split order, skipping empty splits, whatever the loads' order. */
#pragma unroll
            for (int u = 0; u < U; ++u)
                if (ws[u] != 0.0f)
#pragma unroll
                    for (int c = 0; c < CC; ++c) {
                        acc[c].x += ws[u] * v[u][c].x;
                        acc[c].y += ws[u] * v[u][c].y;
                        acc[c].z += ws[u] * v[u][c].z;
                        acc[c].w += ws[u] * v[u][c].w;
                    }
        }
    }
#pragma unroll
    for (int c = 0; c < CC; ++c) {
        const int e = 128 * c + 4 * lane;
        const float a[4] = {acc[c].x, acc[c].y, acc[c].z, acc[c].w};
#pragma unroll
        for (int j = 0; j < 4; ++j)
            if (e + j < Dv) o[(int64_t)(e + j) * o_stride] = fc_from_float<T>(a[j]);
    }
    if (lane == 0 && lse_out) *lse_out = empty ? -INFINITY : M + logf(L);
}

/* One warp merges flat row `row` = (b * Hq + hq) * Tq + i and writes its O and LSE.  All 32
 * lanes must call it together: the weights travel between lanes by shuffle, so it needs no
 * shared memory and runs inside any kernel's epilogue.  Dv <= 256 (the plan refuses more):
 * one or two chunks of 128 dims. */
template <class T>
__device__ inline void fc_merge_row(const fc_params &p, int64_t row, int b, int hq, int i) {
    const fc_merge_src src = {p.part_o, p.part_lse, (int64_t)p.B * p.Hq * p.Tq, row, p.splits, p.Dv};
    T *o = static_cast<T *>(p.o) + b * p.os[0] + hq * p.os[1] + (int64_t)i * p.os[2];
    float *lse = p.lse ? p.lse + b * p.lses[0] + hq * p.lses[1] + (int64_t)i * p.lses[2] : nullptr;
    if (p.Dv <= 128)
        fc_merge_row_chunks<T, 1, 8>(src, o, p.os[3], lse);
    else
        fc_merge_row_chunks<T, 2, 2>(src, o, p.os[3], lse);
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
