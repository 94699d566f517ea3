/* flex-cuda: the persistent, warp-specialised Hopper main loop for dense prefill (sm_90a).
 *
 * Why it exists: on short sequences the wgmma loop (kernels/mainloop_wgmma.cuh) spends a fifth of each
 * block outside its main loop.  H100, T1024 D64 bidirectional, 192-row blocks, one per SM
 * (device/probe.cuh): ~3,500 cycles of set-up before the first product, ~2,000 of end and ~800
 * between one block's exit and the next one's start, against ~24,500 of loop; with one block
 * per SM nothing hides them.  Here a block stays on its SM and walks a sequence of work items
 * (query tiles of one (batch, head)); one producer warpgroup, holding few registers
 * (setmaxnreg), copies Q and the K/V tiles of the items ahead of the math warpgroups, bounded
 * only by the free stages and the two Q buffers, so the next item's Q and first tiles have
 * landed when the math warpgroups finish the current one.  FlashAttention-3's structure.
 *
 * Only at head dim 64 (192-row items on three math warpgroups; at head dim 128 two Q buffers
 * leave room for two K/V stages only, and that measured slower than the grid launch) and
 * for problems the host marks dense (kernels/params.h: no lengths, windows, documents, prefix, one
 * split; causal with Tk >= Tq), without modifiers or dropout, Q copied as one TMA box and O
 * stored through shared memory (host/plan.cu checks all of it).  The math is the wgmma loop's:
 * the same descriptors, products, masks (device/frag.cuh) and staged store, without the
 * intra-warpgroup overlap (three math warpgroups at 160 registers have no room for it). */
#ifndef FC_ATTN_WS_CUH
#define FC_ATTN_WS_CUH

#include "kernels/mainloop_wgmma.cuh"
#include "kernels/kernel_table.h"

template <class T, int DP>
struct fc_ws_cfg {
    static_assert(DP == 64, "head dim 64 (padded): the kernel where the grid launch loses most");
    static constexpr int NWG = 3, BN = 128, WG_ROWS = 64, BM = WG_ROWS * NWG;
    static_assert(BM == FC_WS_ROWS, "the plan's height for this kernel (kernels/kernel_table.h)");
    static constexpr int MATH_THREADS = 128 * NWG, THREADS = MATH_THREADS + 128;
    /* Registers after setmaxnreg: the block starts with 65536 / 512 = 128 each; the producer
     * keeps 32 and the math warpgroups take the rest: 128 x 32 + 384 x 160 = 65536. */
    static constexpr int NT = BN / 8, DT = DP / 8;
    /* Two Q buffers of 24 KB (the next item's Q lands while this one's is read), four K/V
     * stages of 32 KB. */
    static constexpr int STAGES = 4, Q_SLOTS = 2;
    static constexpr size_t Q_BYTES = (size_t)BM * DP * sizeof(T);
    static constexpr size_t TILE_BYTES = (size_t)BN * DP * sizeof(T);
    static constexpr size_t BODY_BYTES = Q_SLOTS * Q_BYTES + 2 * STAGES * TILE_BYTES; /* Q0 Q1, then K0 V0 K1 V1 ... */
    /* After the tiles: the barriers (full, empty, q_full, q_empty), then each Q buffer's item. */
    static constexpr size_t AUX_BYTES = (2 * STAGES + 2 * Q_SLOTS) * 8 + Q_SLOTS * 4;
    static constexpr size_t SMEM = BODY_BYTES + AUX_BYTES + 1024; /* + 1024: tiles are 1024-byte aligned */
    static_assert(SMEM <= 227 * 1024, "an H100 block has 227 KB of shared memory");
};

/* The producer gives registers back, the math warpgroups take them (fc_ws_cfg). */
__device__ inline void fc_setmaxnreg_dec32() { asm volatile("setmaxnreg.dec.sync.aligned.u32 32;\n" ::: "memory"); }
__device__ inline void fc_setmaxnreg_inc160() { asm volatile("setmaxnreg.inc.sync.aligned.u32 160;\n" ::: "memory"); }

/* A work item: query tile `mtile` (rows [r0, r0 + BM) of the packed rows) of head block hb
 * (= the K/V head: pack == group) of batch b.  Under causality the tiles end at the last row
 * (r0 = mtile * BM - p.row_shift, the first tile starting below row 0), so that the one tile
 * with padding is the lightest, not the heaviest: at T1024 on 192-row tiles its 64 rows would
 * otherwise walk all 8 key tiles on one warpgroup.  Items are numbered with the query tile fastest
 * (so that the blocks working at one moment share their heads' K/V in L2), heaviest first
 * under causality, and handed out in that order: block c starts with item c, then draws the
 * next from a counter once it has issued the last copy of its current one, so that blocks
 * that drew light items take more (a fixed share per block measured slower: with 132 a
 * multiple of the tile count, a block meets the same tile every round). */
struct fc_ws_item {
    int r0, hb, b;
};

__device__ inline fc_ws_item fc_ws_item_at(const fc_params &p, int item, int block_rows) {
    const int x = item % p.m_tiles, head = item / p.m_tiles;
    fc_ws_item it;
    it.hb = head % p.head_blocks;
    it.b = head / p.head_blocks;
    it.r0 = (p.causal ? p.m_tiles - 1 - x : x) * block_rows - p.row_shift;
    return it;
}

/* Query position of packed row r, also for the rows below 0 of a first causal tile (r is then
 * a multiple of pack: the host keeps row_shift one): where the Q box starts, zero-filled below 0. */
__device__ inline int fc_ws_position(const fc_params &p, int r) { return r >= 0 ? fc_div_pack(p, r) : -fc_div_pack(p, -r); }

/* fc_rows_range for the rows of [r, r + rows) that are not below row 0. */
__device__ inline fc_range fc_ws_rows_range(const fc_params &p, const fc_batch &bt, int r, int rows) {
    const int lo = r > 0 ? r : 0;
    return fc_rows_range(p, bt, lo, r + rows - lo, 0, p.Tk);
}

/* The item after a block's first: gridDim.x + the counter's next value, or p.items and beyond
 * when none is left.  Each block draws until it gets none, so the draws are p.items in all and
 * the one that returns p.items - 1 is the launch's last: it resets the counter for the next
 * launch (they run in stream order; host/plugin.cu keeps an instance's runs on one stream at a
 * time). */
__device__ inline int fc_ws_draw(const fc_params &p) {
    const int d = (int)atomicAdd(p.counters, 1u);
    if (d == p.items - 1) atomicExch(p.counters, 0u);
    return (int)gridDim.x + d;
}

/* Key tiles of an item's walk: [0, this).  Dense rows see keys [0, fc_dense_key_end(i)), and
 * that end grows with i, so the item's last row decides. */
__device__ inline int fc_ws_tiles(const fc_params &p, int r0, int block_rows, int bn) {
    const int total = p.pack * p.Tq, r_end = r0 + block_rows < total ? r0 + block_rows : total;
    return (fc_dense_key_end(p, fc_div_pack(p, r_end - 1)) + bn - 1) / bn;
}

template <class T, int DP>
__global__ void __launch_bounds__(fc_ws_cfg<T, DP>::THREADS, 1)
    fc_attn_ws(const fc_params p, const __grid_constant__ CUtensorMap tm_k, const __grid_constant__ CUtensorMap tm_v,
               const __grid_constant__ CUtensorMap tm_q) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && defined(__CUDA_ARCH_FEAT_SM90_ALL)
    using C = fc_ws_cfg<T, DP>;
    constexpr int BN = C::BN;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    unsigned char *smem = smem_raw + ((1024 - (fc_smem_addr(smem_raw) & 1023)) & 1023);
    unsigned char *kv_smem = smem + C::Q_SLOTS * C::Q_BYTES; /* stage s: K at + 2s tiles, V after it */
    uint64_t *full_bar = reinterpret_cast<uint64_t *>(smem + C::BODY_BYTES), *empty_bar = full_bar + C::STAGES;
    uint64_t *q_full = empty_bar + C::STAGES, *q_empty = q_full + C::Q_SLOTS;
    volatile int *slot_item = reinterpret_cast<volatile int *>(q_empty + C::Q_SLOTS); /* -1: no more items */

    /* full[s] / q_full[q]: the producer's copies into the stage / Q buffer have landed (one
     * arrival armed with their bytes); empty[s] / q_empty[q]: every math thread is done with it. */
    if (threadIdx.x == 0) {
        for (int st = 0; st < C::STAGES; ++st) {
            fc_mbar_init(&full_bar[st], 1);
            fc_mbar_init(&empty_bar[st], C::MATH_THREADS);
        }
        for (int q = 0; q < C::Q_SLOTS; ++q) {
            fc_mbar_init(&q_full[q], 1);
            fc_mbar_init(&q_empty[q], C::MATH_THREADS);
        }
        fc_tma_prefetch(&tm_k);
        fc_tma_prefetch(&tm_v);
        fc_tma_prefetch(&tm_q);
    }
    __syncthreads(); /* the block's last block-wide barrier: the producer's idle warps leave below */

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int wg = __shfl_sync(0xffffffffu, warp / 4, 0); /* 0: producer; 1..NWG: math */

    if (wg == 0) {
        fc_setmaxnreg_dec32();
        if (threadIdx.x != 0) return;
        /* The producer: for each item, Q into the next buffer once the math warpgroups have
         * released it (two items back), then every K/V tile of its walk into the ring; the
         * item's number goes with its Q (written before the arrival that completes q_full). */
        int stage = 0, phase = 0, uses = 0;
        for (int n = 0;; ++n) {
            const int item = n == 0 ? (int)blockIdx.x : fc_ws_draw(p);
            const int slot = n & 1;
            if (n >= C::Q_SLOTS) fc_mbar_wait(&q_empty[slot], ((n >> 1) & 1) ^ 1);
            if (item >= p.items) {
                slot_item[slot] = -1;
                fc_mbar_arrive(&q_full[slot]);
                return;
            }
            slot_item[slot] = item;
            const fc_ws_item it = fc_ws_item_at(p, item, C::BM);
            fc_mbar_arrive_expect_tx(&q_full[slot], (uint32_t)C::Q_BYTES);
            fc_tma_load_4d(smem + slot * C::Q_BYTES, &tm_q, &q_full[slot], 0, it.hb * p.pack, fc_ws_position(p, it.r0), it.b);
            const int tiles = fc_ws_tiles(p, it.r0, C::BM, BN);
            for (int t = 0; t < tiles; ++t) {
                if (uses >= C::STAGES) fc_mbar_wait(&empty_bar[stage], phase ^ 1);
                uint64_t *bar = &full_bar[stage];
                unsigned char *kdst = kv_smem + stage * 2 * C::TILE_BYTES, *vdst = kdst + C::TILE_BYTES;
                fc_mbar_arrive_expect_tx(bar, 2 * (uint32_t)C::TILE_BYTES);
                fc_tma_load_4d(kdst, &tm_k, bar, 0, t * BN, it.hb, it.b);
                fc_tma_load_4d(vdst, &tm_v, bar, 0, t * BN, it.hb, it.b);
                ++uses;
                phase ^= stage == C::STAGES - 1;
                stage = stage == C::STAGES - 1 ? 0 : stage + 1;
            }
        }
    }

    fc_setmaxnreg_inc160();
    const int mw = wg - 1; /* math warpgroup 0..NWG-1: rows [64 mw, 64 mw + 64) of an item */
    const int g = lane / 4, qc = lane % 4;
    const int wr0 = mw * C::WG_ROWS + (warp % 4) * 16; /* this warp's first row in the item */
    const float sm_scale = p.scale * FC_LOG2E;

    const uint32_t q_rows = fc_smem_addr(smem) + mw * C::WG_ROWS * FC_WG_PANEL_ROW_BYTES, kv_addr = fc_smem_addr(kv_smem);

    int stage = 0, phase = 0; /* the ring, as the producer fills it */
    for (int n = 0;; ++n) {
        const int slot = n & 1, q_phase = (n >> 1) & 1;
        fc_mbar_wait(&q_full[slot], q_phase); /* the item's Q has landed, or there is none */
        const int item = slot_item[slot];
        if (item < 0) return;
        const fc_ws_item it = fc_ws_item_at(p, item, C::BM);
        const int tiles = fc_ws_tiles(p, it.r0, C::BM, BN);
        const fc_batch bt = fc_load_batch(p, it.b);
        fc_row rows[2];
        int klo[2], khi[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            rows[r] = fc_make_row(p, bt, it.hb, it.r0 + wr0 + g + 8 * r);
            fc_row_keys(p, bt, rows[r], klo[r], khi[r]);
        }
        const fc_range wrange = fc_ws_rows_range(p, bt, it.r0 + wr0, 16);
        const fc_range wg_range = fc_ws_rows_range(p, bt, it.r0 + mw * C::WG_ROWS, C::WG_ROWS);

        float o[C::DT][4];
#pragma unroll
        for (int dt = 0; dt < C::DT; ++dt) o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.0f;
        float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.0f, 0.0f};

        /* The products on a stage (device/wg_tile.cuh), reading this item's Q buffer. */
        const fc_wg_tile<T, DP, BN, C::BM, true> mma(q_rows + slot * (uint32_t)C::Q_BYTES, kv_addr);
        uint32_t pa[BN / 16][4]; /* P of the previous tile, waiting for its product with that tile's V */
        int pend_stage = 0;
        auto hold_pv = [&]() { mma.hold_pv(o, pa); };
        /* Tile t's scores -> P (unnormalised) and each row's alpha. */
        auto softmax_p = [&](float (&s)[C::NT][4], float (&alpha)[2], int t) {
            const int n0 = t * BN;
            const bool full = n0 >= wrange.full_lo && n0 + BN <= wrange.full_hi;
            fc_frag_scores<C::NT, false>(s, p, bt, rows, klo, khi, n0, qc, !full);
            fc_frag_softmax<C::NT>(s, m_run, l_run, alpha, sm_scale);
        };
        auto wait_tile = [&]() {
            fc_mbar_wait(&full_bar[stage], phase);
        };
        auto advance = [&]() {
            phase ^= stage == C::STAGES - 1;
            stage = stage == C::STAGES - 1 ? 0 : stage + 1;
        };

        /* As in fc_attn_wgmma: no branch between a wgmma's issue and its wait (the first tile
         * is peeled), and a warpgroup whose rows are all padding (the last query tile of T =
         * 1024 on 192-row items has 64 rows) only passes the tiles on. */
        const bool drain = __shfl_sync(0xffffffffu, wg_range.hi <= wg_range.lo ? 1 : 0, 0) != 0;
        if (drain) {
            for (int t = 0; t < tiles; ++t) {
                wait_tile();
                fc_mbar_arrive(&empty_bar[stage]);
                advance();
            }
        } else {
            wait_tile();
            {
                float s[C::NT][4], alpha[2];
                fc_wg_fence();
                mma.issue_s(s, stage);
                fc_wg_wait<0>();
                fc_wg_hold<C::NT>(s);
                softmax_p(s, alpha, 0); /* o is still 0: no rescale */
#pragma unroll
                for (int kk = 0; kk < BN / 16; ++kk) fc_frag_pack_p<T, C::NT>(pa[kk], s, kk);
            }
            pend_stage = stage;
            advance();
            for (int t = 1; t < tiles; ++t) {
                wait_tile();
                float s[C::NT][4], alpha[2];
                hold_pv();
                fc_wg_fence();
                mma.issue_s(s, stage);
                mma.issue_pv(o, pa, pend_stage);
                fc_wg_wait<0>();
                fc_wg_hold<C::NT>(s);
                hold_pv();
                softmax_p(s, alpha, t);
                fc_mbar_arrive(&empty_bar[pend_stage]); /* tile t - 1 is read: its V by this P V */
                fc_frag_rescale<C::DT, false>(o, alpha);
#pragma unroll
                for (int kk = 0; kk < BN / 16; ++kk) fc_frag_pack_p<T, C::NT>(pa[kk], s, kk);
                pend_stage = stage;
                advance();
            }
            mma.last_pv(o, pa, pend_stage);
            fc_mbar_arrive(&empty_bar[pend_stage]);
        }
        /* O through this warpgroup's rows of the item's Q buffer, then the buffer goes back
         * to the producer. */
        fc_frag_finish_staged<T, C::DT, false>(p, bt, it.hb, it.r0, mw, wr0 + g, qc, o, m_run, l_run,
                                              smem + slot * C::Q_BYTES, C::BM);
        fc_fence_proxy_async(); /* these generic writes and reads before the producer's next TMA copy there */
        fc_mbar_arrive(&q_empty[slot]);
    }
#endif
}

#endif
