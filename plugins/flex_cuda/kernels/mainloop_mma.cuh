/* flex-cuda: the tensor-core kernel (float16 / bfloat16), FlashAttention-2 style: one block
 * holds a tile of packed query rows in shared memory, streams key/value tiles through a
 * two-stage cp.async pipeline, computes S = Q K^T and O += P V with mma.sync m16n8k16
 * (float32 accumulation) and keeps an online softmax per row.
 *
 * Work is laid out as WM x WN warps.  The WM warps of one "stream" own 16 * MT rows each
 * (MT m16 tiles: independent work for the tensor pipe, and each K/V fragment loaded from
 * shared memory feeds MT mma instructions) and share the stream's key tiles; WN streams walk interleaved key tiles of the same rows and
 * are merged at the end (fc_epilogue).  Prefill uses WM = 4, WN = 1, MT = 2 (MT = 1 at head dim
 * 256): 128 rows, one stream.  Decode uses WM = 1, WN = 4, MT = 1: 16 rows (the packed query heads of a GQA group) and
 * four warps splitting the keys, so that a block reads each K/V byte once and the four
 * warps keep enough loads in flight.
 *
 * Which tiles are visited and which need per-element rules is device/mask.cuh's business; this
 * file only knows the fragment layout of mma.sync: thread (g = lane / 4, c = lane % 4) holds
 * rows g and g + 8, columns 2c and 2c + 1 of each 8-column tile. */
#ifndef FC_ATTN_MMA_CUH
#define FC_ATTN_MMA_CUH

#include <type_traits>

#include "device/block.cuh"
#include "device/epilogue.cuh"
#include "device/frag.cuh"
#include "device/mask.cuh"
#include "device/ptx.cuh"
#include "device/types.cuh"

template <class T, int DP, int WM, int WN, int BN, int MT>
struct fc_mma_cfg {
    static_assert(DP % 32 == 0 && BN % 16 == 0, "tile shapes");
    static_assert(WM == 1 || WN == 1, "a stream is either the whole block or one warp");
    static constexpr int WROWS = 16 * MT; /* rows of one warp: MT m16 tiles */
    static constexpr int BM = WROWS * WM;
    static constexpr int THREADS = 32 * WM * WN;
    static constexpr int STREAM_THREADS = 32 * WM;
    static constexpr int LD = DP + 8; /* +16 bytes per row: ldmatrix rows fall in distinct banks */
    static constexpr int NT = BN / 8; /* 8-key column tiles of S */
    static constexpr int DT = DP / 8; /* 8-dim column tiles of O */
    static constexpr int CHUNKS = DP / 8; /* 16-byte chunks per row */
    static constexpr size_t Q_BYTES = (size_t)BM * LD * sizeof(T);
    static constexpr size_t TILE_ELEMS = (size_t)BN * LD;
    static constexpr size_t MAIN_BYTES = Q_BYTES + (size_t)WN * 4 * TILE_ELEMS * sizeof(T);
    static constexpr int OSTRIDE = DP + 4;
    static constexpr size_t EPI_BYTES = (size_t)WN * BM * OSTRIDE * 4 + 3 * (size_t)WN * BM * 4;
    static constexpr size_t SMEM = (MAIN_BYTES > EPI_BYTES ? MAIN_BYTES : EPI_BYTES) + 16;
};

/* MODS: the score modifier and dropout are compiled in.  Without them (the common case) the
 * main loop carries no Philox or modifier code and needs fewer registers. */
template <class T, int DP, int WM, int WN, int BN, int MT, bool MODS>
__global__ void __launch_bounds__(32 * WM * WN, 1) fc_attn_mma(const fc_params p) {
    using C = fc_mma_cfg<T, DP, WM, WN, BN, MT>;
    using Sync = typename std::conditional<WN == 1, fc_sync_block, fc_sync_warp>::type;
    extern __shared__ __align__(16) unsigned char smem[];

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int wm = warp % WM, wn = warp / WM;
    const int tid_s = wm * 32 + lane; /* index within the stream */
    const int g = lane / 4, qc = lane % 4;

    T *Qs = reinterpret_cast<T *>(smem);
    /* This stream's stages: K of stage s at kv + 2s tiles, V right after it. */
    T *kv = reinterpret_cast<T *>(smem + C::Q_BYTES) + (size_t)wn * 4 * C::TILE_ELEMS;
    int *scratch = reinterpret_cast<int *>(smem + C::SMEM - 16);

    const int wr0 = wm * C::WROWS; /* this warp's first row in the block */
    const fc_block blk = fc_block_at(p, C::BM);
    const int hb = blk.hb, b = blk.b, split = blk.split, r0 = blk.r0, hkv = blk.hkv;
    const int key_begin = blk.key_begin, key_end = blk.key_end;
    const fc_batch bt = blk.bt;
    fc_copy_q<T>(p, blk, C::BM, C::CHUNKS, [&](int rl, int ch) { return Qs + rl * C::LD + ch * 8; });

    const T *kbase = static_cast<const T *>(p.k) + b * p.ks[0] + hkv * p.ks[1];
    const T *vbase = static_cast<const T *>(p.v) + b * p.vs[0] + hkv * p.vs[1];
    /* K/V tile copies.  When the stream's threads cover whole rows (every shape but head dim
     * 96), each thread copies the same 16-byte column of rows kr0, kr0 + R, ...: its pointers
     * are computed once and advance by a stride, a few instructions per copy instead of a
     * 64-bit index computation each. */
    constexpr bool REGULAR = C::STREAM_THREADS % C::CHUNKS == 0 && BN % (C::STREAM_THREADS / C::CHUNKS) == 0;
    constexpr int ROWS_PER_PASS = REGULAR ? C::STREAM_THREADS / C::CHUNKS : 1;
    const int ch0 = tid_s % C::CHUNKS, kr0 = tid_s / C::CHUNKS;
    const bool kcol = ch0 * 8 < p.D, vcol = ch0 * 8 < p.Dv;
    const T *kthr = kbase + (int64_t)kr0 * p.ks[2] + ch0 * 8, *vthr = vbase + (int64_t)kr0 * p.vs[2] + ch0 * 8;
    auto load_kv = [&](int stage, int t) {
        if constexpr (REGULAR) {
            const T *kp = kthr + (int64_t)t * BN * p.ks[2], *vp = vthr + (int64_t)t * BN * p.vs[2];
            T *dst = kv + stage * 2 * C::TILE_ELEMS + kr0 * C::LD + ch0 * 8;
            int j = t * BN + kr0;
#pragma unroll
            for (int pass = 0; pass < BN / ROWS_PER_PASS; ++pass) {
                bool in = j < bt.kv_len;
                fc_cp_async16(dst, in && kcol ? kp : kbase, in && kcol);
                fc_cp_async16(dst + C::TILE_ELEMS, in && vcol ? vp : vbase, in && vcol);
                kp += ROWS_PER_PASS * p.ks[2];
                vp += ROWS_PER_PASS * p.vs[2];
                dst += ROWS_PER_PASS * C::LD;
                j += ROWS_PER_PASS;
            }
        } else {
            for (int idx = tid_s; idx < BN * C::CHUNKS; idx += C::STREAM_THREADS) {
                int kr = idx / C::CHUNKS, ch = idx - kr * C::CHUNKS, j = t * BN + kr;
                bool in = j < bt.kv_len;
                bool okk = in && ch * 8 < p.D, okv = in && ch * 8 < p.Dv;
                T *kdst = kv + stage * 2 * C::TILE_ELEMS + kr * C::LD + ch * 8;
                fc_cp_async16(kdst, okk ? kbase + (int64_t)j * p.ks[2] + ch * 8 : kbase, okk);
                fc_cp_async16(kdst + C::TILE_ELEMS, okv ? vbase + (int64_t)j * p.vs[2] + ch * 8 : vbase, okv);
            }
        }
    };

    const fc_range brange = fc_rows_range(p, bt, r0, C::BM, key_begin, key_end);
    fc_walker<BN, Sync> walker;
    walker.range = brange;
    walker.step = WN;
    walker.t_end = (brange.hi + BN - 1) / BN;
    fc_doc_bounds(p, bt, hb, r0, C::BM, scratch, walker.doc_min, walker.doc_max);

    fc_row rows[MT][2];
    int klo[MT][2], khi[MT][2]; /* each row's visible key range, documents aside (empty for padding rows) */
#pragma unroll
    for (int u = 0; u < MT; ++u)
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            rows[u][r] = fc_make_row(p, bt, hb, r0 + wr0 + u * 16 + g + 8 * r);
            fc_row_keys(p, bt, rows[u][r], klo[u][r], khi[u][r]);
        }
    const fc_range wrange = fc_rows_range(p, bt, r0 + wr0, C::WROWS, key_begin, key_end);
    /* Softmax in base 2: p = 2^((s - m) * sm_scale).  Without MODS, s and m are unscaled. */
    const float sm_scale = MODS ? FC_LOG2E : p.scale * FC_LOG2E;

    float o[MT][C::DT][4];
    float m_run[MT][2], l_run[MT][2];
#pragma unroll
    for (int u = 0; u < MT; ++u) {
#pragma unroll
        for (int dt = 0; dt < C::DT; ++dt) o[u][dt][0] = o[u][dt][1] = o[u][dt][2] = o[u][dt][3] = 0.0f;
        m_run[u][0] = m_run[u][1] = -INFINITY;
        l_run[u][0] = l_run[u][1] = 0.0f;
    }

    int cls;
    int t = walker.next(p, bt, brange.lo / BN + wn, tid_s, C::STREAM_THREADS, cls);
    if (t < walker.t_end) load_kv(0, t);
    fc_cp_async_commit();
    fc_cp_async_wait<0>();
    __syncthreads(); /* Q (loaded by every warp) and the first tiles are in place */

    int stage = 0;
    while (t < walker.t_end) {
        int cls_next;
        int t_next = walker.next(p, bt, t + WN, tid_s, C::STREAM_THREADS, cls_next);
        if (t_next < walker.t_end) load_kv(stage ^ 1, t_next);
        fc_cp_async_commit();
        fc_cp_async_wait<1>();
        Sync::sync();

        const int n0 = t * BN;
        /* This warp's rows may see none of the tile, or all of it though the block's other rows do not. */
        if (n0 < wrange.hi && n0 + BN > wrange.lo) {
            bool full = cls == FC_TILE_FULL || (!p.doc_k && n0 >= wrange.full_lo && n0 + BN <= wrange.full_hi);
            const T *Kt = kv + stage * 2 * C::TILE_ELEMS, *Vt = Kt + C::TILE_ELEMS;

            float s[MT][C::NT][4];
#pragma unroll
            for (int u = 0; u < MT; ++u)
#pragma unroll
                for (int nt = 0; nt < C::NT; ++nt) s[u][nt][0] = s[u][nt][1] = s[u][nt][2] = s[u][nt][3] = 0.0f;
#pragma unroll
            for (int ks = 0; ks < DP / 16; ++ks) {
                uint32_t a[MT][4];
#pragma unroll
                for (int u = 0; u < MT; ++u)
                    fc_ldmatrix_x4(a[u], Qs + (wr0 + u * 16 + (lane % 16)) * C::LD + ks * 16 + (lane / 16) * 8);
#pragma unroll
                for (int np = 0; np < BN / 16; ++np) {
                    uint32_t kb[4];
                    fc_ldmatrix_x4(kb, Kt + (np * 16 + (lane % 8) + (lane / 16) * 8) * C::LD + ks * 16 + ((lane / 8) % 2) * 8);
#pragma unroll
                    for (int u = 0; u < MT; ++u) {
                        fc_mma<T>(s[u][2 * np], a[u], kb[0], kb[1]);
                        fc_mma<T>(s[u][2 * np + 1], a[u], kb[2], kb[3]);
                    }
                }
            }

#pragma unroll
            for (int u = 0; u < MT; ++u) {
                fc_frag_scores<C::NT, MODS>(s[u], p, bt, rows[u], klo[u], khi[u], n0, qc, !full);

                float alpha[2];
                fc_frag_softmax<C::NT>(s[u], m_run[u], l_run[u], alpha, sm_scale);
                fc_frag_rescale<C::DT>(o[u], alpha);
                /* LSE is taken before dropout: l above saw every kept and dropped entry. */
                if (MODS && p.has_dropout) fc_frag_dropout<C::NT>(s[u], p, bt, rows[u], n0, qc);
            }

            /* O += P V: two adjacent 8-key column tiles of S form the A fragment of one 16-key step. */
#pragma unroll
            for (int kk = 0; kk < BN / 16; ++kk) {
                uint32_t a[MT][4];
#pragma unroll
                for (int u = 0; u < MT; ++u) fc_frag_pack_p<T, C::NT>(a[u], s[u], kk);
#pragma unroll
                for (int dp = 0; dp < DP / 16; ++dp) {
                    uint32_t vb[4];
                    fc_ldmatrix_x4_trans(vb, Vt + (kk * 16 + (lane % 8) + ((lane / 8) % 2) * 8) * C::LD + dp * 16 + (lane / 16) * 8);
#pragma unroll
                    for (int u = 0; u < MT; ++u) {
                        fc_mma<T>(o[u][2 * dp], a[u], vb[0], vb[1]);
                        fc_mma<T>(o[u][2 * dp + 1], a[u], vb[2], vb[3]);
                    }
                }
            }
        }
        Sync::sync(); /* everyone is done with this stage before the next prefetch overwrites it */
        t = t_next;
        cls = cls_next;
        stage ^= 1;
    }
    if (WN == 1 && fc_direct_store_ok(p)) { /* one stream, one split: no merge through shared memory */
#pragma unroll
        for (int u = 0; u < MT; ++u) fc_frag_finish<T, C::DT, MODS>(p, bt, hb, r0 + wr0 + u * 16 + g, qc, o[u], m_run[u], l_run[u]);
        return;
    }
    fc_cp_async_wait<0>();
    __syncthreads(); /* the epilogue reuses the tile buffers */

    fc_stream_state st;
    st.streams = WN;
    st.rows = C::BM;
    st.ostride = C::OSTRIDE;
    st.o = reinterpret_cast<float *>(smem);
    st.m = st.o + (size_t)WN * C::BM * C::OSTRIDE;
    st.l = st.m + WN * C::BM;
    st.fac = st.l + WN * C::BM;
#pragma unroll
    for (int u = 0; u < MT; ++u)
        fc_frag_store<C::DT, MODS>(st, wn, wr0 + u * 16 + g, qc, o[u], m_run[u], l_run[u], p.scale);
    __syncthreads();
    fc_epilogue<T>(p, bt, hb, r0, split, st);
}

#endif
