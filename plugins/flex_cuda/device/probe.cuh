/* flex-cuda: a compile-time probe of where a wgmma block's time goes (-DFC_BLOCK_PROBE; off in
 * every normal build, where fc_probe() is empty).  Thread 0 of each block writes clock64() at
 * the stamps below, and the SM it ran on, to params.probe[block][FC_PROBE_SLOTS]; with the
 * environment variable FC_PROBE set, fc_launch() synchronises after each launch and prints the
 * means per block (host/probe.cu).  Session 6 found the set-up cost this way
 * (docs/perf-journal.md). */
#ifndef FC_PROBE_CUH
#define FC_PROBE_CUH

#include "kernels/params.h"

enum {
    FC_PROBE_ENTRY,      /* after the barriers' initialisation */
    FC_PROBE_ISSUED,     /* the first K/V tile and Q issued */
    FC_PROBE_SET_UP,     /* rows, ranges and descriptors computed */
    FC_PROBE_FIRST_S,    /* Q and the first tile landed: the first product issued */
    FC_PROBE_LOOP_END,   /* the last product retired */
    FC_PROBE_EXIT,       /* O and LSE stored */
    FC_PROBE_SM,         /* %smid, not a time */
    FC_PROBE_SLOTS = 8,
    FC_PROBE_MAX_BLOCKS = 65536
};

__device__ inline void fc_probe(const fc_params &p, int slot) {
#ifdef FC_BLOCK_PROBE
    const long long block = blockIdx.x + (long long)gridDim.x * (blockIdx.y + (long long)gridDim.y * blockIdx.z);
    if (threadIdx.x != 0 || !p.probe || block >= FC_PROBE_MAX_BLOCKS) return;
    volatile unsigned long long *d = p.probe + block * FC_PROBE_SLOTS;
    d[slot] = clock64(); /* straight to memory: no register holds a stamp through the loop */
    if (slot == FC_PROBE_EXIT) {
        unsigned sm;
        asm volatile("mov.u32 %0, %%smid;" : "=r"(sm));
        d[FC_PROBE_SM] = sm;
    }
#else
    (void)p;
    (void)slot;
#endif
}

#endif
