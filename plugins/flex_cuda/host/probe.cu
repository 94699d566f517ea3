/* flex-cuda: the host half of the block probe (device/probe.cuh); empty unless -DFC_BLOCK_PROBE. */
#include "host/backend.h"

#ifdef FC_BLOCK_PROBE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/probe.cuh"

static unsigned long long *probe_buffer;

unsigned long long *fc_probe_prepare(const fc_plan *plan, cudaStream_t stream) {
    const size_t bytes = (size_t)FC_PROBE_MAX_BLOCKS * FC_PROBE_SLOTS * 8;
    if (plan->kernel->kind != FC_K_WGMMA_PREFILL || !getenv("FC_PROBE")) return NULL;
    if (!probe_buffer && cudaMalloc((void **)&probe_buffer, bytes) != cudaSuccess) return NULL;
    cudaMemsetAsync(probe_buffer, 0, bytes, stream);
    return probe_buffer;
}

static int by_entry(const void *a, const void *b) {
    unsigned long long x = ((const unsigned long long *)a)[FC_PROBE_ENTRY], y = ((const unsigned long long *)b)[FC_PROBE_ENTRY];
    return x < y ? -1 : x > y;
}

/* Means over blocks of each step, in cycles; per SM, the gaps between one block's exit and
 * the next one's entry, and the fraction of the SM's span some block was running. */
void fc_probe_report(const fc_plan *plan, cudaStream_t stream) {
    size_t n = (size_t)plan->grid.x * plan->grid.y * plan->grid.z;
    if (n > FC_PROBE_MAX_BLOCKS) n = FC_PROBE_MAX_BLOCKS;
    unsigned long long *all = (unsigned long long *)calloc(n * FC_PROBE_SLOTS, 8);
    unsigned long long *sm_blocks = (unsigned long long *)calloc(n * FC_PROBE_SLOTS, 8);
    if (!all || !sm_blocks || cudaStreamSynchronize(stream) != cudaSuccess ||
        cudaMemcpy(all, probe_buffer, n * FC_PROBE_SLOTS * 8, cudaMemcpyDeviceToHost) != cudaSuccess) {
        free(all);
        free(sm_blocks);
        return;
    }
    double step[FC_PROBE_EXIT] = {0}, gaps = 0, busy = 0, span = 0;
    int blocks = 0, gap_count = 0, sms = 0;
    for (unsigned sm = 0; sm < 1024; ++sm) {
        size_t m = 0;
        for (size_t i = 0; i < n; ++i) {
            const unsigned long long *d = all + i * FC_PROBE_SLOTS;
            if (d[FC_PROBE_EXIT] && d[FC_PROBE_SM] == sm) memcpy(sm_blocks + FC_PROBE_SLOTS * m++, d, FC_PROBE_SLOTS * 8);
        }
        if (!m) continue;
        qsort(sm_blocks, m, FC_PROBE_SLOTS * 8, by_entry);
        ++sms;
        unsigned long long first = sm_blocks[FC_PROBE_ENTRY], run_start = first, run_end = 0, covered = 0;
        for (size_t i = 0; i < m; ++i) {
            const unsigned long long *d = sm_blocks + i * FC_PROBE_SLOTS;
            if (d[FC_PROBE_FIRST_S]) { /* blocks that computed (not those whose rows see no key) */
                for (int s = 0; s < FC_PROBE_EXIT; ++s) step[s] += (double)(d[s + 1] - d[s]);
                ++blocks;
            }
            if (i && d[FC_PROBE_ENTRY] > run_end) {
                gaps += (double)(d[FC_PROBE_ENTRY] - run_end);
                ++gap_count;
                covered += run_end - run_start;
                run_start = d[FC_PROBE_ENTRY];
            }
            if (d[FC_PROBE_EXIT] > run_end) run_end = d[FC_PROBE_EXIT];
        }
        covered += run_end - run_start;
        busy += (double)covered;
        span += (double)(run_end - first);
    }
    if (blocks)
        fprintf(stderr,
                "probe: grid %u x %u x %u, %d threads, %d blocks: cycles per block: issue %.0f, set-up %.0f, wait for "
                "Q and tile %.0f, loop %.0f, end %.0f; gaps between blocks %.0f (%d); SMs busy %.3f of their span\n",
                plan->grid.x, plan->grid.y, plan->grid.z, plan->kernel->threads, blocks, step[0] / blocks,
                step[1] / blocks, step[2] / blocks, step[3] / blocks, step[4] / blocks,
                gap_count ? gaps / gap_count : 0.0, gap_count, span > 0 ? busy / span : 0.0);
    free(all);
    free(sm_blocks);
}
#endif
