/* flex-cuda: where a block of the attention kernels sits in the problem, and the copy of its
 * query rows that every tensor-core main loop starts with. */
#ifndef FC_BLOCK_CUH
#define FC_BLOCK_CUH

#include "device/mask.cuh"
#include "device/ptx.cuh"

/* Block (x, y, z) = (query tile, head block, batch * splits + split); packed rows
 * [r0, r0 + block rows) of head block hb read K/V head hkv, keys [key_begin, key_end). */
struct fc_block {
    int hb, b, split, r0, hkv, key_begin, key_end;
    fc_batch bt;
};

/* The block's query tile: heaviest first under causality (they have the most key tiles). */
__device__ inline int fc_block_mtile(const fc_params &p) {
    return p.causal ? (int)gridDim.x - 1 - (int)blockIdx.x : (int)blockIdx.x;
}

__device__ inline fc_block fc_block_at(const fc_params &p, int block_rows) {
    fc_block k;
    const int mtile = fc_block_mtile(p);
    k.hb = blockIdx.y;
    /* Divisions by runtime values (~25 dependent instructions each) only where they divide:
     * a block's set-up is on its critical path at short sequences (device/probe.cuh). */
    k.b = p.splits == 1 ? (int)blockIdx.z : (int)blockIdx.z / p.splits;
    k.split = p.splits == 1 ? 0 : (int)blockIdx.z - k.b * p.splits;
    k.r0 = mtile * block_rows;
    k.bt = fc_load_batch(p, k.b);
    k.hkv = p.pack == p.group ? k.hb : (k.hb * p.pack) / p.group;
    k.key_begin = k.split * p.split_keys;
    k.key_end = p.Tk - k.key_begin < p.split_keys ? p.Tk : k.key_begin + p.split_keys;
    return k;
}

/* The block's query rows in 16-byte cp.async pieces, zero-filled outside the problem's rows
 * and beyond D; dst(row, chunk) is the shared-memory destination of a piece. */
template <class T, class Dst>
__device__ inline void fc_copy_q(const fc_params &p, const fc_block &k, int rows, int chunks, Dst dst) {
    const T *q = static_cast<const T *>(p.q);
    for (int idx = threadIdx.x; idx < rows * chunks; idx += blockDim.x) {
        int rl = idx / chunks, ch = idx - rl * chunks, i, hq;
        bool ok = fc_row_coords(p, k.bt, k.hb, k.r0 + rl, i, hq) && ch * 8 < p.D;
        const T *src = ok ? q + k.b * p.qs[0] + hq * p.qs[1] + (int64_t)i * p.qs[2] + ch * 8 : q;
        fc_cp_async16(dst(rl, ch), src, ok);
    }
}

#endif
