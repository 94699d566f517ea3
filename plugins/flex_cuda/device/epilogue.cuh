/* flex-cuda: the end of every attention kernel.  Each stream of work (a warp or a group of
 * warps that walked its own key tiles) leaves, per packed row, its running max m, its sum l
 * and its unnormalised output in shared memory; this merges the streams through their
 * maxima, normalises, and writes O and LSE (one split) or the float32 partials of its split
 * (several splits).  With several splits and p.counters set, the last block of the group to
 * finish merges every split's partials into O and LSE (device/merge.cuh); without counters the
 * fc_combine kernel does it after this launch.  Rows with no visible key get O = 0 and
 * LSE = -inf, padding rows too, whatever the streams computed for them. */
#ifndef FC_EPILOGUE_CUH
#define FC_EPILOGUE_CUH

#include <math.h>

#include "device/mask.cuh"
#include "device/merge.cuh"
#include "device/types.cuh"

struct fc_stream_state {
    float *o;     /* [streams][rows][ostride] unnormalised outputs */
    float *m, *l; /* [streams][rows] */
    float *fac;   /* [streams][rows] scratch */
    int streams, rows, ostride;
};

/* Collective over the block, reached by every thread (the fused merge counts arrivals with
 * a barrier); the caller has synchronised after filling `st`. */
template <class T>
__device__ void fc_epilogue(const fc_params &p, const fc_batch &bt, int head_block, int r0, int split,
                            const fc_stream_state &st) {
    const int total_rows = p.pack * p.Tq;
    const int64_t flat_rows = (int64_t)p.B * p.Hq * p.Tq;
    for (int t = threadIdx.x; t < st.rows; t += blockDim.x) {
        int r = r0 + t;
        if (r >= total_rows) continue;
        fc_row row = fc_make_row(p, bt, head_block, r);
        float M = -INFINITY;
        for (int w = 0; w < st.streams; ++w) M = fmaxf(M, st.m[w * st.rows + t]);
        float L = 0.0f;
        if (row.valid && M != -INFINITY)
            for (int w = 0; w < st.streams; ++w) L += st.l[w * st.rows + t] * expf(st.m[w * st.rows + t] - M);
        bool empty = !(L > 0.0f);
        for (int w = 0; w < st.streams; ++w)
            st.fac[w * st.rows + t] = empty ? 0.0f : expf(st.m[w * st.rows + t] - M) / L;
        float lse = empty ? -INFINITY : M + logf(L);
        int64_t flat = ((int64_t)bt.b * p.Hq + row.hq) * p.Tq + row.i;
        if (p.splits > 1)
            p.part_lse[(int64_t)split * flat_rows + flat] = lse;
        else if (p.lse)
            p.lse[bt.b * p.lses[0] + row.hq * p.lses[1] + row.i * p.lses[2]] = lse;
    }
    __syncthreads();
    const int dv = p.Dv;
    for (int idx = threadIdx.x; idx < st.rows * dv; idx += blockDim.x) {
        int t = idx / dv, e = idx - t * dv, r = r0 + t;
        if (r >= total_rows) continue;
        float acc = 0.0f;
        for (int w = 0; w < st.streams; ++w) {
            float f = st.fac[w * st.rows + t];
            if (f != 0.0f) acc += st.o[(w * st.rows + t) * st.ostride + e] * f; /* padding rows may hold anything */
        }
        int i = fc_div_pack(p, r), hq = head_block * p.pack + r - i * p.pack;
        if (p.splits > 1) {
            int64_t flat = ((int64_t)bt.b * p.Hq + hq) * p.Tq + i;
            p.part_o[((int64_t)split * flat_rows + flat) * dv + e] = acc;
        } else {
            T *o = (T *)p.o;
            o[bt.b * p.os[0] + hq * p.os[1] + i * p.os[2] + e * p.os[3]] = fc_from_float<T>(acc);
        }
    }
    if (p.splits == 1 || !p.counters) return;

    /* The group is this block's (batch, head block, m tile): the blocks that differ only in
     * split.  Its last block merges the group's rows, one warp a row. */
    const int64_t group = ((int64_t)bt.b * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
    if (!fc_arrive_last(p, group)) return;
    const int warps = blockDim.x / 32, warp = threadIdx.x / 32;
    for (int t = warp; t < st.rows; t += warps) {
        int r = r0 + t;
        if (r >= total_rows) break; /* warp-uniform; rows only grow with t */
        int i = fc_div_pack(p, r), hq = head_block * p.pack + r - i * p.pack;
        fc_merge_row<T>(p, ((int64_t)bt.b * p.Hq + hq) * p.Tq + i, bt.b, hq, i);
    }
}

#endif
