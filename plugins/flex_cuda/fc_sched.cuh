/* flex-cuda: the block scheduler of a persistent launch (the wgmma loop's).
 *
 * A persistent launch has fewer CTAs than blocks (fc_params.sched set): CTA c starts on block
 * c and each further block it takes comes from a counter in device memory, so CTAs that drew
 * light blocks (causal, the padded last tile) take more of them, as the hardware's own
 * scheduling of a grid does.  What the launch gains: a CTA knows its next block during the
 * current one, so the main loop copies that block's query rows and first key tile while it
 * still computes (fc_attn_wgmma.cuh); a fresh CTA starts with both to wait for.
 *
 * Thread 0 draws the next block a tile before the current block's last (the atomic's latency
 * hides behind that tile) and publishes it to every thread through a shared slot and a pair
 * of mbarriers (full: thread 0 wrote it; empty: every thread is done with it).  The draw
 * that returns blocks - 1 is the launch's last (every CTA draws once per block it computes,
 * blocks - gridDim.x successful draws and one past the end each): it resets the counter, so
 * the next launch starts from zero without a memset. */
#ifndef FC_SCHED_CUH
#define FC_SCHED_CUH

#include "fc_params.h"
#include "fc_wgmma_ptx.cuh"

struct fc_sched {
    uint64_t *full, *empty; /* two of each: the slots' handshakes (shared memory) */
    int *slot;              /* two: the next block, for blocks of even and odd count (shared memory) */
    unsigned int pending;   /* thread 0: the drawn counter value not yet published */

    /* Thread 0, once. */
    __device__ void init(int threads) {
        for (int s = 0; s < 2; ++s) {
            fc_mbar_init(&full[s], 1);
            fc_mbar_init(&empty[s], threads);
        }
    }

    /* Thread 0, once per block (with a scheduler), late in it: as the hardware gives the next
     * block to the CTA that finishes first, not to one that just started (drawing at the start
     * of a block made causal launches 7-12% slower: a CTA starting a heavy block reserved
     * another heavy one behind it). */
    __device__ void draw(const fc_params &p) { pending = atomicAdd(p.sched, 1u); }

    /* Thread 0, after draw(): the block after the current one (it = the CTA's count of blocks so
     * far) for every thread.  Two slots, so that publishing waits only for threads still in the
     * block before the current one. */
    __device__ void publish(const fc_params &p, int it) {
        const int s = it & 1;
        fc_mbar_wait(&empty[s], ((it >> 1) & 1) ^ 1); /* every thread released block it - 2's slot */
        if (pending == (unsigned int)p.blocks - 1u) atomicExch(p.sched, 0u); /* the launch's last draw */
        slot[s] = (int)pending + (int)gridDim.x;
        fc_mbar_arrive(&full[s]);
    }

    /* The block after the current one; p.blocks or more when there is none (always so without
     * a scheduler).  Waits for publish(). */
    __device__ int next(const fc_params &p, int it) const {
        if (!p.sched) return p.blocks;
        fc_mbar_wait(&full[it & 1], (it >> 1) & 1);
        return *(volatile int *)&slot[it & 1];
    }

    /* Every thread, once done with next(it). */
    __device__ void release(const fc_params &p, int it) {
        if (p.sched) fc_mbar_arrive(&empty[it & 1]);
    }
};

#endif
