/* flex-cuda: the exact kernel: float32 FMA throughout, no tensor cores.  It is the float32
 * path (TF32 would miss SPEC.md's float32 tolerance by two orders of magnitude) and the
 * fallback for 16-bit problems the tensor-core kernel does not take (odd head dims,
 * strided last dimensions, misaligned views).
 *
 * A block of 4 warps holds 16 packed query rows (4 per warp) in shared memory and walks
 * 32-key tiles (the same fc_walker as the tensor-core kernel).  For a tile, lane j scores
 * key j against the warp's 4 rows, the warp reduces max and sum across lanes, and each lane
 * accumulates the output dims lane, lane + 32, ... (Dv <= 256). */
#ifndef FC_ATTN_SIMT_CUH
#define FC_ATTN_SIMT_CUH

#include "device/epilogue.cuh"
#include "device/mask.cuh"
#include "device/types.cuh"

#include "kernels/kernel_table.h" /* FC_SIMT_BM, FC_SIMT_BN, fc_simt_smem */

#define FC_SIMT_THREADS 128
#define FC_SIMT_RPW 4     /* rows per warp */
#define FC_SIMT_MAX_DV 256 /* 8 output dims per lane */

__device__ inline float fc_warp_max(float x) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
    return x;
}
__device__ inline float fc_warp_sum(float x) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}

template <class T>
__global__ void __launch_bounds__(FC_SIMT_THREADS) fc_attn_simt(const fc_params p) {
    extern __shared__ __align__(16) unsigned char smem[];
    const int D = p.D, Dv = p.Dv, KLD = D + 1; /* +1: lane j reads row j of K without bank conflicts */
    float *Qs = reinterpret_cast<float *>(smem);
    float *Ks = Qs + FC_SIMT_BM * D;
    float *Vs = Ks + FC_SIMT_BN * KLD;
    float *Ps = Vs + FC_SIMT_BN * Dv;
    float *Eo = Ps + FC_SIMT_BM * FC_SIMT_BN;
    float *Em = Eo + FC_SIMT_BM * Dv;
    float *El = Em + FC_SIMT_BM;
    float *Ef = El + FC_SIMT_BM;
    int *scratch = reinterpret_cast<int *>(Ef + FC_SIMT_BM);

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int mt = p.causal ? (int)gridDim.x - 1 - (int)blockIdx.x : (int)blockIdx.x;
    const int hb = blockIdx.y;
    const int b = blockIdx.z / p.splits, split = blockIdx.z % p.splits;
    const int r0 = mt * FC_SIMT_BM;
    const fc_batch bt = fc_load_batch(p, b);
    const int hkv = (hb * p.pack) / p.group;
    const int key_begin = split * p.split_keys;
    const int key_end = p.Tk - key_begin < p.split_keys ? p.Tk : key_begin + p.split_keys;

    const T *q = static_cast<const T *>(p.q);
    for (int idx = threadIdx.x; idx < FC_SIMT_BM * D; idx += FC_SIMT_THREADS) {
        int rl = idx / D, d = idx - rl * D, i, hq;
        bool ok = fc_row_coords(p, bt, hb, r0 + rl, i, hq);
        Qs[idx] = ok ? fc_to_float(q[b * p.qs[0] + hq * p.qs[1] + (int64_t)i * p.qs[2] + d * p.qs[3]]) : 0.0f;
    }
    const T *kbase = static_cast<const T *>(p.k) + b * p.ks[0] + hkv * p.ks[1];
    const T *vbase = static_cast<const T *>(p.v) + b * p.vs[0] + hkv * p.vs[1];

    const fc_range brange = fc_rows_range(p, bt, r0, FC_SIMT_BM, key_begin, key_end);
    fc_walker<FC_SIMT_BN, fc_sync_block> walker;
    walker.range = brange;
    walker.step = 1;
    walker.t_end = (brange.hi + FC_SIMT_BN - 1) / FC_SIMT_BN;
    fc_doc_bounds(p, bt, hb, r0, FC_SIMT_BM, scratch, walker.doc_min, walker.doc_max);

    const int wr0 = warp * FC_SIMT_RPW;
    fc_row rows[FC_SIMT_RPW];
#pragma unroll
    for (int rr = 0; rr < FC_SIMT_RPW; ++rr) rows[rr] = fc_make_row(p, bt, hb, r0 + wr0 + rr);
    const fc_range wrange = fc_rows_range(p, bt, r0 + wr0, FC_SIMT_RPW, key_begin, key_end);

    float m_run[FC_SIMT_RPW], l_run[FC_SIMT_RPW], acc[FC_SIMT_RPW][FC_SIMT_MAX_DV / 32];
#pragma unroll
    for (int rr = 0; rr < FC_SIMT_RPW; ++rr) {
        m_run[rr] = -INFINITY;
        l_run[rr] = 0.0f;
#pragma unroll
        for (int c = 0; c < FC_SIMT_MAX_DV / 32; ++c) acc[rr][c] = 0.0f;
    }

    int cls;
    int t = walker.next(p, bt, brange.lo / FC_SIMT_BN, threadIdx.x, FC_SIMT_THREADS, cls);
    while (t < walker.t_end) {
        const int n0 = t * FC_SIMT_BN;
        __syncthreads(); /* the previous tile (and Q, the first time) is consumed / written */
        for (int idx = threadIdx.x; idx < FC_SIMT_BN * D; idx += FC_SIMT_THREADS) {
            int kr = idx / D, d = idx - kr * D, j = n0 + kr;
            Ks[kr * KLD + d] = j < bt.kv_len ? fc_to_float(kbase[(int64_t)j * p.ks[2] + d * p.ks[3]]) : 0.0f;
        }
        for (int idx = threadIdx.x; idx < FC_SIMT_BN * Dv; idx += FC_SIMT_THREADS) {
            int kr = idx / Dv, d = idx - kr * Dv, j = n0 + kr;
            Vs[idx] = j < bt.kv_len ? fc_to_float(vbase[(int64_t)j * p.vs[2] + d * p.vs[3]]) : 0.0f;
        }
        __syncthreads();

        if (n0 < wrange.hi && n0 + FC_SIMT_BN > wrange.lo) {
            const bool full = cls == FC_TILE_FULL || (!p.doc_k && n0 >= wrange.full_lo && n0 + FC_SIMT_BN <= wrange.full_hi);
            const int j = n0 + lane;
            float s[FC_SIMT_RPW] = {};
            for (int d = 0; d < D; ++d) {
                float kd = Ks[lane * KLD + d];
#pragma unroll
                for (int rr = 0; rr < FC_SIMT_RPW; ++rr) s[rr] = fmaf(Qs[(wr0 + rr) * D + d], kd, s[rr]);
            }
#pragma unroll
            for (int rr = 0; rr < FC_SIMT_RPW; ++rr) {
                float x = s[rr] * p.scale;
                if (p.modifier != ATTN_MOD_NONE) x = fc_modify(p, bt, rows[rr], j, x);
                if (!full && !fc_visible(p, bt, rows[rr], j)) x = -INFINITY;
                float m_new = fmaxf(m_run[rr], fc_warp_max(x));
                float m_use = m_new == -INFINITY ? 0.0f : m_new;
                float pj = expf(x - m_use);
                float alpha = expf(m_run[rr] - m_use);
                m_run[rr] = m_new;
                l_run[rr] = l_run[rr] * alpha + fc_warp_sum(pj);
                if (p.has_dropout) pj *= fc_dropout(p, bt, rows[rr], j);
                Ps[(wr0 + rr) * FC_SIMT_BN + lane] = pj;
#pragma unroll
                for (int c = 0; c < FC_SIMT_MAX_DV / 32; ++c) acc[rr][c] *= alpha;
            }
            __syncwarp();
            for (int jj = 0; jj < FC_SIMT_BN; ++jj) {
                float pr[FC_SIMT_RPW];
#pragma unroll
                for (int rr = 0; rr < FC_SIMT_RPW; ++rr) pr[rr] = Ps[(wr0 + rr) * FC_SIMT_BN + jj];
#pragma unroll
                for (int c = 0; c < FC_SIMT_MAX_DV / 32; ++c) {
                    int e = lane + 32 * c;
                    if (e < Dv) {
                        float v = Vs[jj * Dv + e];
#pragma unroll
                        for (int rr = 0; rr < FC_SIMT_RPW; ++rr) acc[rr][c] = fmaf(pr[rr], v, acc[rr][c]);
                    }
                }
            }
            __syncwarp();
        }
        int cls_next;
        t = walker.next(p, bt, t + 1, threadIdx.x, FC_SIMT_THREADS, cls_next);
        cls = cls_next;
    }
    __syncthreads();
#pragma unroll
    for (int rr = 0; rr < FC_SIMT_RPW; ++rr) {
#pragma unroll
        for (int c = 0; c < FC_SIMT_MAX_DV / 32; ++c)
            if (lane + 32 * c < Dv) Eo[(wr0 + rr) * Dv + lane + 32 * c] = acc[rr][c];
        if (lane == 0) {
            Em[wr0 + rr] = m_run[rr];
            El[wr0 + rr] = l_run[rr];
        }
    }
    __syncthreads();
    fc_stream_state st;
    st.o = Eo;
    st.m = Em;
    st.l = El;
    st.fac = Ef;
    st.streams = 1;
    st.rows = FC_SIMT_BM;
    st.ostride = Dv;
    fc_epilogue<T>(p, bt, hb, r0, split, st);
}

#endif
