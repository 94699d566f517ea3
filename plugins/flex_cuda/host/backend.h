/* flex-cuda: the backend instance and the host-side pieces the plugin files share. */
#ifndef FC_BACKEND_H
#define FC_BACKEND_H

#include <attn/plugin/attn_plugin.h>
#include <cuda_runtime.h>

#include "kernels/kernel_table.h"
#include "kernels/params.h"
#include "host/tma_maps.h"

#define FC_MAX_KERNELS 40

/* Which tensor-core main loop prefill uses (option main_loop). */
#define FC_LOOP_AUTO 0  /* wgmma on sm_90 where it has the head dim, else mma.sync */
#define FC_LOOP_WGMMA 1 /* as auto, but refuse to create on a device without wgmma */
#define FC_LOOP_MMA 2   /* always mma.sync (the Ampere-style loop; tests compare the two) */

/* Whether dense prefill takes the persistent kernel (option persistent). */
#define FC_PERSIST_ON 0 /* wherever it can run (host/plan.cu) */
#define FC_PERSIST_OFF 1

typedef struct fc_backend {
    const attn_host_services *host; /* the host's log service (may be NULL) */
    int device; /* every entry point makes it current first: nothing relies on the caller's */
    int sm_count;
    cudaStream_t stream;      /* ours, for copies and for problems that bring no stream */
    cudaStream_t last_stream; /* where the last run went: synchronize() waits on it */
    void *workspace;          /* split-KV partials, grown on demand */
    size_t workspace_bytes;
    cudaStream_t workspace_stream; /* the stream whose work may still use the workspace and counters */
    unsigned int *counters;        /* the fused split merge's arrival counters or the persistent kernel's item
                                    * counter; zeroed once when allocated, left zero by every launch */
    size_t counter_bytes;
    volatile int32_t *flag_host;   /* host-mapped: kernels raise it on out-of-range lengths */
    int32_t *flag_device;
    int force_splits;  /* option splits: 0 = auto */
    int tensor_cores;  /* option tensor_cores: 0 sends 16-bit problems to the exact kernel too */
    int main_loop;     /* option main_loop: FC_LOOP_* */
    int hopper;        /* the device is sm_90 and the driver encodes tensor maps: the wgmma main loop can run */
    void *tma_encoder; /* the driver's cuTensorMapEncodeTiled (host/tma_maps.h) */
    int merge_kernel;  /* option split_merge=kernel: merge splits in fc_combine, not in the last block */
    int block_rows;    /* option block_rows: the wgmma loop's block height where it has that one (0 = auto) */
    int persistent;        /* option persistent: FC_PERSIST_* */
    int persistent_blocks; /* its blocks: 0 = one per SM, else this many (tests: many items per block) */
    const fc_kernel_desc *kernels[3];
    int kernel_count[3];
    int occupancy[3][FC_MAX_KERNELS]; /* resident blocks per SM, by table entry (0: unknown) */
} fc_backend;

/* What run() launches for one problem. */
typedef struct fc_plan {
    const fc_kernel_desc *kernel, *combine;
    dim3 grid;
    size_t smem;
    fc_params params;
    fc_tma_maps tma;        /* the wgmma loop's K, V and Q copies */
    size_t workspace_bytes; /* 0: one split, no workspace */
    size_t counter_count;   /* splits merged in the last block: one counter per (b, head block, m tile); the
                             * persistent kernel: 1; else 0 */
    int64_t rows;           /* B * Hq * Tq */
    char slower_path[256];  /* why the problem takes a slower kernel than its shape would get; "" if not */
} fc_plan;

/* The refusal rules and the launch plan of a problem: check() and run() both come here, so
 * they never disagree.  Pointers in plan->params are set except the workspace's. */
attn_status fc_plan_problem(fc_backend *self, const attn_problem *p, fc_plan *plan, char *msg, uint32_t msg_cap);

/* Enqueues the plan on `stream` (workspace pointers filled in by the caller). */
attn_status fc_launch(fc_backend *self, const fc_plan *plan, cudaStream_t stream, char *msg, uint32_t msg_cap);

#ifdef FC_BLOCK_PROBE
/* device/probe.cuh's buffer for a launch of the plan (NULL unless a wgmma launch and FC_PROBE is
 * set in the environment), and its summary on stderr after the launch. */
unsigned long long *fc_probe_prepare(const fc_plan *plan, cudaStream_t stream);
void fc_probe_report(const fc_plan *plan, cudaStream_t stream);
#endif

/* One line through the host's log service (formatted as printf). */
void fc_log(const fc_backend *self, int32_t level, const char *format, ...) __attribute__((format(printf, 3, 4)));

/* Writes "<what>: <CUDA error text> (<name>)" and returns ATTN_E_NOMEM for allocation
 * failures, ATTN_E_DEVICE otherwise.  Clears the runtime's last error. */
attn_status fc_cuda_error(cudaError_t e, const char *what, char *msg, uint32_t msg_cap);

#endif
