/* flex-cuda: the Hopper main loop for float16 / bfloat16 prefill (sm_90a).  Same contract as
 * kernels/mainloop_mma.cuh's prefill kernel (same rows, tile walk, masks, modifiers, dropout and
 * epilogue: device/mask.cuh, device/frag.cuh, device/epilogue.cuh), different instructions:
 *
 *   - one to three warpgroups of 64 query rows each share a block of 64, 128 or 192 packed
 *     rows (one warpgroup: three blocks per SM, on 64-key tiles);
 *   - S = Q K^T and O += P V are warpgroup MMAs (wgmma m64nNk16): Q and K are read straight
 *     from shared memory through matrix descriptors, P from registers, V from shared memory
 *     as an MN-major operand, so no ldmatrix and one instruction per 64 x N x 16 product;
 *   - tiles sit in shared memory in the 128-byte swizzled layout wgmma reads without bank
 *     conflicts (device/wgmma_ptx.cuh), three stages deep, each K or V tile one TMA copy that one
 *     thread issues (device/tma.cuh; per-thread cp.async copies cost ~100 instructions per warp
 *     and tile at head dim 64), handed over through mbarriers (no block-wide barrier per tile);
 *     the block's Q rows likewise one TMA box where they are whole query positions of the
 *     group (host/plan.cu), else per-thread cp.async;
 *   - intra-warpgroup overlap (FlashAttention-3's): S of tile k is issued together with
 *     O += P V of tile k - 1, and the softmax of tile k runs while that product is still on
 *     the tensor cores.  O is rescaled by tile k's alpha once P(k-1) V(k-1) has landed; three
 *     stages hold the pending V, the current tile and the one being loaded;
 *   - the warpgroups issue their products whenever they are ready.  FlashAttention-3's
 *     ping-pong (warpgroups taking turns at the tensor cores through named barriers) was
 *     measured slower once the copies were TMA's (docs/perf-journal.md, session 4, "No
 *     ping-pong").
 *
 * Every warpgroup whose rows see some key computes every key tile the block visits (see the
 * loop for why), the others only pass the tiles on; a warp's 16 rows decide alone whether a
 * tile is full for them. */
#ifndef FC_ATTN_WGMMA_CUH
#define FC_ATTN_WGMMA_CUH

#include "device/block.cuh"
#include "device/epilogue.cuh"
#include "device/frag.cuh"
#include "device/mask.cuh"
#include "device/probe.cuh"
#include "device/ptx.cuh"
#include "device/tma.cuh"
#include "device/types.cuh"
#include "device/wg_tile.cuh"

template <class T, int DP, int BN, int NWG>
struct fc_wgmma_cfg {
    static_assert(DP == 64 || DP == 128, "head dims of the wgmma loop: 64 or 128 (padded)");
    static_assert(BN == 64 || BN == 128, "key tile: an N the wrappers have");
    static_assert(NWG >= 1 && NWG <= 3, "one to three math warpgroups");
    static_assert(FC_SPLIT_GRANULE % BN == 0, "a key tile never straddles two splits");
    static constexpr int WG_ROWS = 64, BM = WG_ROWS * NWG, THREADS = 128 * NWG;
    /* One warpgroup (64-row blocks, head dim 64): two blocks share an SM, so that one's start
     * and end overlap the other's main loop (short sequences); with 64-key tiles three. */
    static constexpr int MIN_BLOCKS = NWG == 1 ? (BN == 64 ? 3 : 2) : 1;
    /* Intra-warpgroup overlap (the softmax of tile k while P V of tile k - 1 runs) keeps P of
     * tile k - 1 live through the softmax: 32 registers more at head dim 64 on 128-key tiles.
     * Three warpgroups have 168 registers a thread and spill with it (176 bytes, ptxas); there
     * the other warpgroups' products fill the tensor cores during one's softmax instead.  One
     * warpgroup on 64-key tiles (P: 16 registers) fits it in 166 at three blocks per SM, and
     * gains (docs/perf-journal.md, session 5). */
    static constexpr bool OVERLAP = NWG <= 2;
    /* Stage and phase of the pipeline as loop-carried counters rather than k % 3 and
     * (k / 3) & 1: fewer instructions, a gain with three warpgroups and a loss with two at
     * head dim 128, which run at 255 registers (docs/perf-journal.md, session 3). */
    static constexpr bool STAGE_COUNTERS = !OVERLAP;
    /* The stage's descriptor word through a shuffle (fc_wg_tile::stage_lo), likewise only
     * without the overlap, where it gains; with the overlap it loses (docs/perf-journal.md). */
    static constexpr bool UNIFORM_STAGE = !OVERLAP;

    static constexpr int NT = BN / 8, DT = DP / 8, CHUNKS = DP / 8;
    static constexpr size_t Q_BYTES = (size_t)BM * DP * sizeof(T);
    static constexpr size_t TILE_BYTES = (size_t)BN * DP * sizeof(T);
    static constexpr int STAGES = 3;
    static constexpr size_t MAIN_BYTES = Q_BYTES + 2 * STAGES * TILE_BYTES; /* Q, then K0 V0 K1 V1 K2 V2 */
    static constexpr int OSTRIDE = DP + 4;
    static constexpr size_t EPI_BYTES = (size_t)BM * OSTRIDE * 4 + 3 * (size_t)BM * 4;
    /* After the tiles (and the epilogue's use of them): 2 x STAGES + 1 mbarriers, 2 ints of scratch. */
    static constexpr size_t BODY_BYTES = MAIN_BYTES > EPI_BYTES ? MAIN_BYTES : EPI_BYTES;
    static constexpr size_t AUX_BYTES = (2 * STAGES + 1) * 8 + 16;
    /* + 1024: the tiles need 1024-byte alignment, the dynamic buffer guarantees 16. */
    static constexpr size_t SMEM = BODY_BYTES + AUX_BYTES + 1024;
};

/* fc_frag_finish (device/frag.cuh) for a warpgroup of the wgmma loop, through shared memory: its 64
 * rows, normalised in registers, go to `tile` (its own rows of the block's Q buffer, laid out as
 * Q: tile_rows rows, swizzled 16-byte chunks; no copy or product reads them any more) and then
 * to O as 16-byte pieces, consecutive threads writing consecutive pieces of a row, where
 * fc_frag_finish's 4-byte stores write 8 rows x 16 bytes per warp instruction: fewer store
 * instructions at the block's end (docs/perf-journal.md, session 6).  The caller checks
 * fc_staged_store_ok() and that every copy into the warpgroup's Q rows has landed. */
__device__ inline bool fc_staged_store_ok(const fc_params &p) { return fc_direct_store_ok(p) && fc_o_rows_16byte(p); }

template <class T, int DT, bool MODS>
__device__ inline void fc_frag_finish_staged(const fc_params &p, const fc_batch &bt, int head_block, int r0, int wg,
                                             int rl, int qc, const float (&o)[DT][4], const float (&m_run)[2],
                                             const float (&l_run)[2], unsigned char *tile, int tile_rows) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int row = rl + 8 * h;
        const fc_row_end end = fc_frag_row_end<MODS>(p, bt, head_block, r0 + row, qc, m_run[h], l_run[h]);
#pragma unroll
        for (int dt = 0; dt < DT; ++dt) /* conflict-free: the 8 rows of a warp's store sit in 8 swizzle slots */
            *reinterpret_cast<uint32_t *>(tile + fc_swz_offset(row, dt, tile_rows) + 4 * qc) =
                end.empty ? 0u : fc_pack2<T>(o[dt][2 * h] * end.inv, o[dt][2 * h + 1] * end.inv);
    }
    asm volatile("bar.sync %0, 128;" ::"r"(1 + wg) : "memory"); /* the warpgroup's rows are staged */
    for (int idx = threadIdx.x % 128; idx < 64 * DT; idx += 128) {
        const int row = wg * 64 + idx / DT, ch = idx % DT, r = r0 + row;
        if (!fc_row_in_problem(p, r) || ch * 8 >= p.Dv) continue; /* not a row or column of the problem */
        int i, hq;
        fc_row_coords(p, bt, head_block, r, i, hq);
        *reinterpret_cast<uint4 *>(static_cast<T *>(p.o) + bt.b * p.os[0] + hq * p.os[1] + (int64_t)i * p.os[2] + ch * 8) =
            *reinterpret_cast<const uint4 *>(tile + fc_swz_offset(row, ch, tile_rows));
    }
}

/* MODS: the score modifiers (fc_frag_modify) are compiled in; DROPOUT: Philox dropout too (one
 * Philox4x32-10 per score: its own instances, so that modifier-only problems do not carry its
 * registers and code). */
template <class T, int DP, int BN, int NWG, bool MODS, bool DROPOUT>
__global__ void __launch_bounds__(fc_wgmma_cfg<T, DP, BN, NWG>::THREADS, fc_wgmma_cfg<T, DP, BN, NWG>::MIN_BLOCKS)
    fc_attn_wgmma(const fc_params p, const __grid_constant__ CUtensorMap tm_k, const __grid_constant__ CUtensorMap tm_v,
                  const __grid_constant__ CUtensorMap tm_q) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && defined(__CUDA_ARCH_FEAT_SM90_ALL)
    using C = fc_wgmma_cfg<T, DP, BN, NWG>;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    unsigned char *smem = smem_raw + ((1024 - (fc_smem_addr(smem_raw) & 1023)) & 1023);

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    /* Through a shuffle from lane 0 so that the compiler knows it is warp-uniform: the
     * descriptors derived from it then stay in uniform registers. */
    const int wg = __shfl_sync(0xffffffffu, warp / 4, 0);
    const int g = lane / 4, qc = lane % 4;
    const int wr0 = wg * C::WG_ROWS + (warp % 4) * 16; /* this warp's first row in the block */

    const uint32_t q_addr = fc_smem_addr(smem);
    const uint32_t kv_addr = q_addr + (uint32_t)C::Q_BYTES; /* stage s: K at + 2s tiles, V after it */
    uint64_t *full_bar = reinterpret_cast<uint64_t *>(smem + C::BODY_BYTES), *empty_bar = full_bar + C::STAGES;
    uint64_t *q_bar = empty_bar + C::STAGES;
    int *scratch = reinterpret_cast<int *>(q_bar + 1);
    /* Stage handshakes instead of a block barrier per tile, so that the warpgroups need not
     * run in step: full[s] completes when the loader's copies into stage s have landed (one
     * arrival armed with the bytes of two TMA tiles, or the loader warp's cp.async arrivals),
     * empty[s] when every thread is done reading it; q once Q has landed (one arrival armed with
     * Q's bytes when a TMA box copies it, else every thread's cp.async arrival). */
    if (threadIdx.x == 0) {
        for (int st = 0; st < C::STAGES; ++st) {
            fc_mbar_init(&full_bar[st], 1);
            fc_mbar_init(&empty_bar[st], C::THREADS);
        }
        fc_mbar_init(q_bar, p.q_tma ? 1 : C::THREADS);
        fc_tma_prefetch(&tm_k);
        fc_tma_prefetch(&tm_v);
        if (p.q_tma) fc_tma_prefetch(&tm_q);
    }
    __syncthreads();
    fc_probe(p, FC_PROBE_ENTRY);

    /* One thread's TMA copies, each armed on its barrier with its bytes: K/V tile t of
     * (batch b, head hkv) into a stage, and the block's Q rows from packed row r0. */
    auto tma_kv = [&](int stage, int t, int hkv, int b) {
        uint64_t *bar = &full_bar[stage];
        unsigned char *kdst = smem + C::Q_BYTES + stage * 2 * C::TILE_BYTES, *vdst = kdst + C::TILE_BYTES;
        fc_mbar_arrive_expect_tx(bar, 2 * (uint32_t)C::TILE_BYTES);
#pragma unroll
        for (int panel = 0; panel < DP / 64; ++panel) {
            const uint32_t off = panel * BN * FC_WG_PANEL_ROW_BYTES;
            fc_tma_load_4d(kdst + off, &tm_k, bar, panel * 64, t * BN, hkv, b);
            fc_tma_load_4d(vdst + off, &tm_v, bar, panel * 64, t * BN, hkv, b);
        }
    };
    auto tma_q = [&](int r0, int hb, int b) {
        fc_mbar_arrive_expect_tx(q_bar, (uint32_t)C::Q_BYTES);
#pragma unroll
        for (int panel = 0; panel < DP / 64; ++panel)
            fc_tma_load_4d(smem + panel * C::BM * FC_WG_PANEL_ROW_BYTES, &tm_q, q_bar, panel * 64, hb * p.pack,
                           fc_div_pack(p, r0), b);
    };
    /* Where the host knows that every walk starts at tile 0 (first_tile0: one split, pack ==
     * group, so batch = blockIdx.z and K/V head = blockIdx.y), that tile and Q are copied before
     * any other set-up; else once the walk is known (below). */
    if (p.first_tile0 && threadIdx.x == 0) {
        if (p.q_tma) tma_q(fc_block_mtile(p) * C::BM, blockIdx.y, blockIdx.z);
        tma_kv(0, 0, blockIdx.y, blockIdx.z);
    }

    const fc_block blk = fc_block_at(p, C::BM);
    const int hb = blk.hb, b = blk.b, split = blk.split, r0 = blk.r0, hkv = blk.hkv;
    const int key_begin = blk.key_begin, key_end = blk.key_end;
    const fc_batch bt = blk.bt;

    /* K/V tiles: warp 0 loads (lane 0 issues the TMA copies; the warp waits for the stage to
     * be free).  The tile that holds the end of a ragged batch's keys is the exception: keys
     * from kv_len[b] to Tk are inside the tensor map, may hold anything (a cache's unwritten
     * tail, NaN) and P = 0 does not cancel NaN in V, so the warp copies that tile with
     * cp.async, zero-filling those rows. */
    const bool ragged_end = p.kv_len != nullptr && bt.kv_len < p.Tk;
    auto load_kv = [&](int stage, int t) {
        if (!(ragged_end && (t + 1) * BN > bt.kv_len)) {
            if (lane == 0) tma_kv(stage, t, hkv, b);
            return;
        }
        uint64_t *bar = &full_bar[stage];
        unsigned char *kdst = smem + C::Q_BYTES + stage * 2 * C::TILE_BYTES, *vdst = kdst + C::TILE_BYTES;
        const T *kbase = static_cast<const T *>(p.k) + b * p.ks[0] + hkv * p.ks[1];
        const T *vbase = static_cast<const T *>(p.v) + b * p.vs[0] + hkv * p.vs[1];
        constexpr int ROWS_PER_PASS = 32 / C::CHUNKS;
        const int ch = lane % C::CHUNKS;
        const bool kcol = ch * 8 < p.D, vcol = ch * 8 < p.Dv;
        for (int r = lane / C::CHUNKS; r < BN; r += ROWS_PER_PASS) {
            const int j = t * BN + r;
            const bool in = j < bt.kv_len;
            const uint32_t off = fc_swz_offset(r, ch, BN);
            fc_cp_async16(kdst + off, in && kcol ? kbase + (int64_t)j * p.ks[2] + ch * 8 : kbase, in && kcol);
            fc_cp_async16(vdst + off, in && vcol ? vbase + (int64_t)j * p.vs[2] + ch * 8 : vbase, in && vcol);
        }
        fc_mbar_arrive_cp_async_inc(bar);
        __syncwarp();
        if (lane == 0) fc_mbar_arrive(bar); /* after every lane's arrival was counted */
    };

    const fc_range brange = fc_rows_range(p, bt, r0, C::BM, key_begin, key_end);
    fc_walker<BN, fc_sync_block> walker;
    walker.range = brange;
    walker.step = 1;
    walker.t_end = (brange.hi + BN - 1) / BN;
    fc_doc_bounds(p, bt, hb, r0, C::BM, scratch, walker.doc_min, walker.doc_max);

    /* Otherwise the first K/V tile and Q are copied as soon as the walk is known, still before
     * the rest of the set-up (rows, ranges, descriptors: hundreds of instructions a warp),
     * which then hides their latency: one block per SM leaves nothing else to hide it at short
     * walks.  H100, T1024 D64 on 192-row blocks (device/probe.cuh): the first copy used to leave
     * ~4,600 cycles after a block's start and land ~1,700 later; now ~2,000, and Q and the
     * tile land ~800 after the set-up. */
    int cls;
    int t = walker.next(p, bt, brange.lo / BN, threadIdx.x, C::THREADS, cls);
    if (warp == 0 && !p.first_tile0) {
        if (p.q_tma && lane == 0) tma_q(r0, hb, b); /* even when the block sees no key: the end stages O there */
        if (t < walker.t_end) load_kv(0, t);
    }
    if (!p.q_tma) {
        fc_copy_q<T>(p, blk, C::BM, C::CHUNKS, [&](int rl, int ch) { return smem + fc_swz_offset(rl, ch, C::BM); });
        fc_mbar_arrive_cp_async(q_bar);
    }
    fc_probe(p, FC_PROBE_ISSUED);

    fc_row rows[2];
    int klo[2], khi[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        rows[r] = fc_make_row(p, bt, hb, r0 + wr0 + g + 8 * r);
        fc_row_keys(p, bt, rows[r], klo[r], khi[r]);
    }
    const fc_range wrange = fc_rows_range(p, bt, r0 + wr0, 16, key_begin, key_end);
    const float sm_scale = MODS ? FC_LOG2E : p.scale * FC_LOG2E;

    float o[C::DT][4];
#pragma unroll
    for (int dt = 0; dt < C::DT; ++dt) o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.0f;
    float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.0f, 0.0f};

    /* The products on a stage (device/wg_tile.cuh): this warpgroup's Q rows, stage 0's K and V. */
    const fc_wg_tile<T, DP, BN, C::BM, C::UNIFORM_STAGE> mma(q_addr + wg * C::WG_ROWS * FC_WG_PANEL_ROW_BYTES, kv_addr);
    /* P of the previous iteration's tile, waiting for its product with that tile's V. */
    uint32_t pa[BN / 16][4];
    int pend_stage = 0;
    auto hold_pv = [&]() { mma.hold_pv(o, pa); };

    /* Iteration k's tile k (stage k % STAGES, phase (k / STAGES) & 1; see STAGE_COUNTERS)
     * must have landed; then tile k + 1 is copied into the stage of tile k - 2 (phase one
     * round earlier) once every thread has released that. */
    int cls_next, t_next, stage = 0, phase = 0, stage_next, phase_next;
    auto next_tile = [&](int k) {
        if constexpr (!C::STAGE_COUNTERS) {
            stage = k % C::STAGES;
            phase = (k / C::STAGES) & 1;
        }
        fc_mbar_wait(&full_bar[stage], phase);
        fc_fence_proxy_async(); /* the landed copies, visible to wgmma */
        stage_next = stage == C::STAGES - 1 ? 0 : stage + 1;
        phase_next = stage == C::STAGES - 1 ? phase ^ 1 : phase;
        t_next = walker.next(p, bt, t + 1, threadIdx.x, C::THREADS, cls_next);
        if (t_next < walker.t_end && warp == 0) {
            if (k >= 2) fc_mbar_wait(&empty_bar[stage_next], phase_next ^ 1);
            load_kv(stage_next, t_next);
        }
    };
    auto advance = [&]() {
        t = t_next;
        cls = cls_next;
        stage = stage_next;
        phase = phase_next;
    };
    /* Mask, modifiers, online softmax: S of tile t becomes P; returns each row's alpha. */
    auto softmax = [&](float (&s)[C::NT][4], float (&alpha)[2]) {
        const int n0 = t * BN;
        const bool full = cls == FC_TILE_FULL || (!p.doc_k && n0 >= wrange.full_lo && n0 + BN <= wrange.full_hi);
        fc_frag_scores<C::NT, MODS>(s, p, bt, rows, klo, khi, n0, qc, !full);
        fc_frag_softmax<C::NT>(s, m_run, l_run, alpha, sm_scale);
    };
    auto make_p = [&](float (&s)[C::NT][4]) {
        if (DROPOUT && p.has_dropout) fc_frag_dropout<C::NT>(s, p, bt, rows, t * BN, qc);
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk) fc_frag_pack_p<T, C::NT>(pa[kk], s, kk);
    };

    /* No branch may sit between a wgmma's issue and its wait, or ptxas serialises every wgmma
     * of the kernel (C7520: it cannot prove such a branch warpgroup-uniform).  So the first
     * tile is peeled off and the loop body is straight-line; the loop only decides whether
     * there is another tile, and a warpgroup computes every tile the block visits (rows that
     * see none of a tile are masked like any partial tile: P = 0).
     *
     * The exception is a warpgroup whose rows see no key of the walk at all (all padding:
     * the last block of T = 1024 on 192-row blocks has 64 valid rows; or nothing visible): it
     * would only multiply masked tiles, so it takes the other branch, a loop without
     * products that passes each tile on, and leaves the tensor cores to the others.  Its O
     * stays 0, its max -inf and its sum 0, as after fully masked tiles. */
    const fc_range wg_range = fc_rows_range(p, bt, r0 + wg * C::WG_ROWS, C::WG_ROWS, key_begin, key_end);
    const bool drain = __shfl_sync(0xffffffffu, wg_range.hi <= wg_range.lo ? 1 : 0, 0) != 0;
    fc_probe(p, FC_PROBE_SET_UP);
    if (t < walker.t_end && drain) {
        for (int k = 0; t < walker.t_end; ++k) {
            next_tile(k);
            fc_mbar_arrive(&empty_bar[stage]);
            advance();
        }
    } else if (t < walker.t_end) {
        fc_mbar_wait(q_bar, 0);
        next_tile(0); /* its proxy fence covers Q's copies too */
        {
            float s[C::NT][4], alpha[2];
            fc_probe(p, FC_PROBE_FIRST_S);
            fc_wg_fence();
            mma.issue_s(s, 0);
            fc_wg_wait<0>();
            fc_wg_hold<C::NT>(s);
            softmax(s, alpha); /* o is still 0: no rescale */
            make_p(s);
        }
        pend_stage = 0;
        advance();
        for (int k = 1; t < walker.t_end; ++k) {
            next_tile(k);
            float s[C::NT][4], alpha[2];
            hold_pv();
            fc_wg_fence();
            mma.issue_s(s, stage);
            mma.issue_pv(o, pa, pend_stage);
            /* Not with modifiers: their kernels sit at 255 registers, and P held through the
             * softmax added to their spill (ptxas, head dim 128: 136 against 120 bytes). */
            if constexpr (C::OVERLAP && !MODS) {
                fc_wg_wait<1>(); /* S has landed; P V may still run during the softmax */
                fc_wg_hold<C::NT>(s);
                softmax(s, alpha);
                fc_wg_wait<0>();
                hold_pv();
            } else {
                fc_wg_wait<0>();
                fc_wg_hold<C::NT>(s);
                hold_pv();
                softmax(s, alpha);
            }
            fc_mbar_arrive(&empty_bar[pend_stage]); /* tile k - 1 is read: its V by this P V */
            fc_frag_rescale<C::DT, false>(o, alpha);
            make_p(s);
            pend_stage = stage;
            advance();
        }
        mma.last_pv(o, pa, pend_stage);
    }
    fc_probe(p, FC_PROBE_LOOP_END);
    fc_cp_async_wait<0>(); /* nothing in flight (Q's cp.async copies when no tile was visited) before the end */
    if (fc_staged_store_ok(p)) { /* uniform; only warpgroup-wide steps follow */
        /* O is staged in this warpgroup's Q rows: a warpgroup that skipped the products (or a
         * block that walked no tile) may not have seen Q land, from TMA or from other
         * threads' cp.async. */
        fc_mbar_wait(q_bar, 0);
        fc_frag_finish_staged<T, C::DT, MODS>(p, bt, hb, r0, wg, wr0 + g, qc, o, m_run, l_run, smem, C::BM);
        fc_probe(p, FC_PROBE_EXIT);
        return;
    }
    __syncthreads(); /* the epilogue reuses the tile buffers: every copy landed and was read */

    fc_stream_state st;
    st.streams = 1;
    st.rows = C::BM;
    st.ostride = C::OSTRIDE;
    st.o = reinterpret_cast<float *>(smem);
    st.m = st.o + (size_t)C::BM * C::OSTRIDE;
    st.l = st.m + C::BM;
    st.fac = st.l + C::BM;
    fc_frag_store<C::DT, MODS>(st, 0, wr0 + g, qc, o, m_run, l_run, p.scale);
    __syncthreads();
    fc_epilogue<T>(p, bt, hb, r0, split, st);
    fc_probe(p, FC_PROBE_EXIT);
#endif
}

#endif
