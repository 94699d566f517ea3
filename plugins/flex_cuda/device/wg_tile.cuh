/* flex-cuda: one warpgroup's two products on a K/V stage, S = Q K^T and O += P V, as both Hopper
 * main loops issue them (the grid launch, kernels/mainloop_wgmma.cuh, and the persistent kernel,
 * kernels/persistent_ws.cuh).  Shared memory holds the block's Q rows (Q_ROWS of them, 64-column panels)
 * and the stages one after the other, each a K tile then a V tile of BN keys, all in the
 * 128-byte swizzled layout (device/wgmma_ptx.cuh).
 *
 * Descriptors: Q's rows of this warpgroup (K-major, 8-row groups 1024 bytes apart); K of a
 * stage likewise; V of a stage MN-major (8-key groups 1024 apart, 64-dim panels one panel
 * apart).  Within a 64-column panel a 16-wide k step moves the start by 32 bytes: the hardware
 * applies the swizzle to the final address.  Only the low words move (fc_wg_desc_lo). */
#ifndef FC_WG_TILE_CUH
#define FC_WG_TILE_CUH

#include "device/wgmma_ptx.cuh"

template <class T, int DP, int BN, int Q_ROWS, bool UNIFORM_STAGE>
struct fc_wg_tile {
    using MMA_S = fc_wgmma<T, BN>;
    using MMA_O = fc_wgmma<T, DP>;
    static constexpr int NT = BN / 8, DT = DP / 8;
    static constexpr uint32_t TILE_BYTES = (uint32_t)(BN * DP * sizeof(T));
    static constexpr uint32_t HI = fc_wg_desc_hi(1024);

    uint32_t q_lo, k_lo, v_lo; /* low words: this warpgroup's Q rows, stage 0's K and V */

    /* q_rows: the shared address of this warpgroup's first Q row; kv: stage 0's K tile.
     * q_lo comes through a shuffle from lane 0 so that the compiler knows it is warp-uniform
     * and keeps the descriptors built from it in uniform registers. */
    __device__ fc_wg_tile(uint32_t q_rows, uint32_t kv)
        : q_lo(__shfl_sync(0xffffffffu, fc_wg_desc_lo(q_rows, 0), 0)), k_lo(fc_wg_desc_lo(kv, 0)),
          v_lo(fc_wg_desc_lo(kv + TILE_BYTES, BN * FC_WG_PANEL_ROW_BYTES)) {}

    /* A stage's first descriptor word; with UNIFORM_STAGE through a shuffle from lane 0: the
     * stage is a loop-carried value the compiler cannot prove warp-uniform, and without it
     * every descriptor word was built in vector registers and moved to uniform ones (ncu: ~90
     * instructions per warp and tile).  Whether it pays is a per-kernel choice (fc_wgmma_cfg). */
    __device__ static uint32_t stage_lo(uint32_t lo, int stage) {
        const uint32_t w = lo + ((stage * 2 * TILE_BYTES) >> 4);
        return UNIFORM_STAGE ? __shfl_sync(0xffffffffu, w, 0) : w;
    }
    __device__ uint64_t q_desc(int ks) const {
        return fc_wg_desc(q_lo + (((ks / 4) * Q_ROWS * FC_WG_PANEL_ROW_BYTES + (ks % 4) * 32) >> 4), HI);
    }
    __device__ static uint64_t k_desc(uint32_t k_stage_lo, int ks) {
        return fc_wg_desc(k_stage_lo + (((ks / 4) * BN * FC_WG_PANEL_ROW_BYTES + (ks % 4) * 32) >> 4), HI);
    }
    __device__ static uint64_t v_desc(uint32_t v_stage_lo, int kk) {
        return fc_wg_desc(v_stage_lo + ((kk * 16 * FC_WG_PANEL_ROW_BYTES) >> 4), HI);
    }

    /* S = Q K^T of a stage's K tile, committed as one group. */
    __device__ void issue_s(float (&s)[NT][4], int stage) const {
        const uint32_t k_stage_lo = stage_lo(k_lo, stage);
#pragma unroll
        for (int ks = 0; ks < DP / 16; ++ks) {
            if (ks == 0)
                MMA_S::ss0(s, q_desc(ks), k_desc(k_stage_lo, ks));
            else
                MMA_S::ss(s, q_desc(ks), k_desc(k_stage_lo, ks), 1);
        }
        fc_wg_commit();
    }
    /* O += P V of a stage's V tile, P in registers, committed as one group. */
    __device__ void issue_pv(float (&o)[DT][4], const uint32_t (&pa)[BN / 16][4], int stage) const {
        const uint32_t v_stage_lo = stage_lo(v_lo, stage);
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk) MMA_O::rs(o, pa[kk], v_desc(v_stage_lo, kk));
        fc_wg_commit();
    }
    /* The walk's last O += P V, issued and waited for. */
    __device__ void last_pv(float (&o)[DT][4], uint32_t (&pa)[BN / 16][4], int stage) const {
        hold_pv(o, pa);
        fc_wg_fence();
        issue_pv(o, pa, stage);
        fc_wg_wait<0>();
        hold_pv(o, pa);
    }
    /* Before a fence (the registers wgmma reads are written) and after the wait that retired
     * a P V (its registers are free): the compiler may move neither across. */
    __device__ static void hold_pv(float (&o)[DT][4], uint32_t (&pa)[BN / 16][4]) {
        fc_wg_hold<DT>(o);
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk) fc_wg_hold_regs(pa[kk]);
    }
};

#endif
