/* flex-cuda: where a block of the attention kernels sits in the problem, and the copy of its
 * query rows that every tensor-core main loop starts with. */
#ifndef FC_BLOCK_CUH
#define FC_BLOCK_CUH

#include "fc_mask.cuh"
#include "fc_ptx.cuh"

/* Block (x, y, z) = (query tile, head block, batch * splits + split); packed rows
 * [r0, r0 + block rows) of head block hb read K/V head hkv, keys [key_begin, key_end). */
struct fc_block {
    int hb, b, split, r0, hkv, key_begin, key_end;
    fc_batch bt;
};

/* Block (x, y, z) of a grid with tiles_m query tiles. */
__device__ inline fc_block fc_block_make(const fc_params &p, int block_rows, int x, int y, int z, int tiles_m) {
    fc_block k;
    /* Heaviest query tiles first under causality: they have the most key tiles. */
    const int mtile = p.causal ? tiles_m - 1 - x : x;
    k.hb = y;
    k.b = z / p.splits;
    k.split = z % p.splits;
    k.r0 = mtile * block_rows;
    k.bt = fc_load_batch(p, k.b);
    k.hkv = (k.hb * p.pack) / p.group;
    k.key_begin = k.split * p.split_keys;
    k.key_end = p.Tk - k.key_begin < p.split_keys ? p.Tk : k.key_begin + p.split_keys;
    return k;
}

/* The block of this CTA in a three-dimensional grid. */
__device__ inline fc_block fc_block_at(const fc_params &p, int block_rows) {
    return fc_block_make(p, block_rows, blockIdx.x, blockIdx.y, blockIdx.z, gridDim.x);
}

/* Block n of the numbering in fc_params (tiles_m, tiles_h): query tiles fastest, so that
 * consecutive blocks share a head's K and V in L2 as a three-dimensional grid's do. */
__device__ inline fc_block fc_block_numbered(const fc_params &p, int block_rows, int n) {
    const int x = n % p.tiles_m, yz = n / p.tiles_m;
    return fc_block_make(p, block_rows, x, yz % p.tiles_h, yz / p.tiles_h, p.tiles_m);
}

/* Query rows [row0, row0 + rows) of the block in 16-byte cp.async pieces, zero-filled outside
 * the problem's rows and beyond D, copied by threads tid = 0 .. nthreads - 1; dst(row, chunk)
 * is the shared-memory destination of a piece (row counted from the block's first). */
template <class T, class Dst>
__device__ inline void fc_copy_q_rows(const fc_params &p, const fc_block &k, int row0, int rows, int chunks, int tid,
                                      int nthreads, Dst dst) {
    const T *q = static_cast<const T *>(p.q);
    for (int idx = tid; idx < rows * chunks; idx += nthreads) {
        int rl = row0 + idx / chunks, ch = idx % chunks, i, hq;
        bool ok = fc_row_coords(p, k.bt, k.hb, k.r0 + rl, i, hq) && ch * 8 < p.D;
        const T *src = ok ? q + k.b * p.qs[0] + hq * p.qs[1] + (int64_t)i * p.qs[2] + ch * 8 : q;
        fc_cp_async16(dst(rl, ch), src, ok);
    }
}

/* All the block's query rows, copied by the whole CTA. */
template <class T, class Dst>
__device__ inline void fc_copy_q(const fc_params &p, const fc_block &k, int rows, int chunks, Dst dst) {
    fc_copy_q_rows<T>(p, k, 0, rows, chunks, threadIdx.x, blockDim.x, dst);
}

#endif
