/* flex-cuda: the plugin's C entry point and its ABI table.  CUDA C++ behind one exported C
 * symbol (attn_plugin_query); the CUDA runtime is linked statically, so the .so needs only
 * the driver.
 *
 * Devices and streams: the device comes from the option `device` (default 0) and is made
 * current at every entry point; a run goes to attn_problem.stream when the caller gives one,
 * else to the instance's own non-blocking stream.  run() only enqueues; synchronize() waits
 * for the stream of the last run and reports any length the kernels had to clamp.
 * Every CUDA call is checked; failures come back as statuses with the CUDA error text. */
#include <attn/plugin/attn_plugin.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/backend.h"

#define FC_VERSION "0.1.0"

void fc_log(const fc_backend *self, int32_t level, const char *format, ...) {
    if (!self->host || !self->host->log) return;
    char text[320];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    self->host->log(self->host->host_context, level, "flex-cuda", text);
}

attn_status fc_cuda_error(cudaError_t e, const char *what, char *msg, uint32_t msg_cap) {
    snprintf(msg, msg_cap, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
    cudaGetLastError(); /* a failed allocation leaves a non-sticky error behind: clear it */
    return e == cudaErrorMemoryAllocation ? ATTN_E_NOMEM : ATTN_E_DEVICE;
}

#define FC_TRY(call, what)                                                          \
    do {                                                                            \
        cudaError_t fc_e_ = (call);                                                 \
        if (fc_e_ != cudaSuccess) return fc_cuda_error(fc_e_, (what), msg, msg_cap); \
    } while (0)

static attn_status parse_int(const char *key, const char *value, long lo, long hi, int *out, char *msg,
                             uint32_t msg_cap) {
    char *end = NULL;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end || v < lo || v > hi) {
        snprintf(msg, msg_cap, "option %s: '%s' is not an integer in [%ld, %ld]", key, value, lo, hi);
        return ATTN_E_INVALID;
    }
    *out = (int)v;
    return ATTN_OK;
}

/* An option of two values: *out = 1 for `one`, 0 for `zero`. */
static attn_status parse_pair(const char *key, const char *value, const char *one, const char *zero, int *out,
                              char *msg, uint32_t msg_cap) {
    if (strcmp(value, one) == 0)
        *out = 1;
    else if (strcmp(value, zero) == 0)
        *out = 0;
    else {
        snprintf(msg, msg_cap, "option %s: '%s' is not %s or %s", key, value, one, zero);
        return ATTN_E_INVALID;
    }
    return ATTN_OK;
}

static attn_status parse_options(fc_backend *self, const attn_option *options, uint32_t count, char *msg,
                                 uint32_t msg_cap) {
    for (uint32_t n = 0; n < count; ++n) {
        const char *key = options[n].key, *value = options[n].value;
        attn_status st = ATTN_OK;
        if (strcmp(key, "device") == 0) {
            st = parse_int(key, value, 0, 1023, &self->device, msg, msg_cap);
        } else if (strcmp(key, "splits") == 0) {
            if (strcmp(value, "auto") == 0)
                self->force_splits = 0;
            else
                st = parse_int(key, value, 1, 128, &self->force_splits, msg, msg_cap);
        } else if (strcmp(key, "tensor_cores") == 0) {
            st = parse_pair(key, value, "on", "off", &self->tensor_cores, msg, msg_cap);
        } else if (strcmp(key, "split_merge") == 0) {
            st = parse_pair(key, value, "kernel", "fused", &self->merge_kernel, msg, msg_cap);
        } else if (strcmp(key, "main_loop") == 0) {
            if (strcmp(value, "auto") == 0)
                self->main_loop = FC_LOOP_AUTO;
            else if (strcmp(value, "wgmma") == 0)
                self->main_loop = FC_LOOP_WGMMA;
            else if (strcmp(value, "mma") == 0)
                self->main_loop = FC_LOOP_MMA;
            else {
                snprintf(msg, msg_cap, "option main_loop: '%s' is not auto, wgmma or mma", value);
                st = ATTN_E_INVALID;
            }
        } else if (strcmp(key, "block_rows") == 0) {
            if (strcmp(value, "auto") == 0)
                self->block_rows = 0;
            else if (strcmp(value, "64") == 0 || strcmp(value, "128") == 0 || strcmp(value, "192") == 0)
                self->block_rows = atoi(value);
            else {
                snprintf(msg, msg_cap, "option block_rows: '%s' is not auto, 64, 128 or 192", value);
                st = ATTN_E_INVALID;
            }
        } else if (strcmp(key, "persistent") == 0) {
            self->persistent_blocks = 0;
            if (strcmp(value, "off") == 0)
                self->persistent = FC_PERSIST_OFF;
            else if (strcmp(value, "on") == 0)
                self->persistent = FC_PERSIST_ON;
            else {
                self->persistent = FC_PERSIST_ON;
                st = parse_int(key, value, 1, 4096, &self->persistent_blocks, msg, msg_cap);
                if (st != ATTN_OK)
                    snprintf(msg, msg_cap, "option persistent: '%s' is not on, off or a block count 1-4096", value);
            }
        } else {
            snprintf(msg, msg_cap,
                     "unknown option '%s' (known: device, splits, tensor_cores, split_merge, main_loop, block_rows, "
                     "persistent)",
                     key);
            st = ATTN_E_INVALID;
        }
        if (st != ATTN_OK) return st;
    }
    return ATTN_OK;
}

/* Shared-memory limits and occupancy of every kernel, once.  The first failure tells
 * whether this build has code for the device (it is built for sm_90a). */
static attn_status prepare_kernels(fc_backend *self, char *msg, uint32_t msg_cap) {
    self->kernels[FC_DT_F32] = fc_kernels_f32(&self->kernel_count[FC_DT_F32]);
    self->kernels[FC_DT_F16] = fc_kernels_f16(&self->kernel_count[FC_DT_F16]);
    self->kernels[FC_DT_BF16] = fc_kernels_bf16(&self->kernel_count[FC_DT_BF16]);
    for (int dt = 0; dt < 3; ++dt)
        for (int n = 0; n < self->kernel_count[dt] && n < FC_MAX_KERNELS; ++n) {
            const fc_kernel_desc *k = &self->kernels[dt][n];
            cudaFuncAttributes attr;
            cudaError_t e = cudaFuncGetAttributes(&attr, k->fn);
            if (e == cudaErrorInvalidDeviceFunction || e == cudaErrorNoKernelImageForDevice) {
                cudaDeviceProp prop;
                int major = 0, minor = 0;
                if (cudaGetDeviceProperties(&prop, self->device) == cudaSuccess) {
                    major = prop.major;
                    minor = prop.minor;
                }
                fc_cuda_error(e, "flex-cuda", msg, msg_cap);
                size_t used = strlen(msg);
                snprintf(msg + used, msg_cap - used, ": this build has no code for device %d (sm_%d%d); rebuild with "
                         "CMAKE_CUDA_ARCHITECTURES naming it", self->device, major, minor);
                return ATTN_E_UNAVAILABLE;
            }
            FC_TRY(e, "cudaFuncGetAttributes");
            if (k->smem > 48 * 1024)
                FC_TRY(cudaFuncSetAttribute(k->fn, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)k->smem),
                       "cudaFuncSetAttribute(max dynamic shared memory)");
            /* All of the SM's unified memory as shared memory: two prefill blocks of ~70-100 KB fit. */
            if (k->kind == FC_K_MMA_PREFILL || k->kind == FC_K_MMA_DECODE || k->kind == FC_K_WGMMA_PREFILL ||
                k->kind == FC_K_WGMMA_PERSIST)
                FC_TRY(cudaFuncSetAttribute(k->fn, cudaFuncAttributePreferredSharedMemoryCarveout,
                                            cudaSharedmemCarveoutMaxShared),
                       "cudaFuncSetAttribute(shared memory carveout)");
            int blocks = 0;
            FC_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, k->fn, k->threads, k->smem),
                   "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
            self->occupancy[dt][n] = blocks;
        }
    return ATTN_OK;
}

static void fc_destroy(void *backend);

static attn_status fc_create(const attn_host_services *host, const attn_option *options, uint32_t option_count,
                             void **out, char *msg, uint32_t msg_cap) {
    fc_backend *self = (fc_backend *)calloc(1, sizeof *self);
    if (!self) {
        snprintf(msg, msg_cap, "out of host memory");
        return ATTN_E_NOMEM;
    }
    self->host = host;
    self->tensor_cores = 1;
    attn_status st = parse_options(self, options, option_count, msg, msg_cap);
    if (st != ATTN_OK) {
        free(self);
        return st;
    }
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        if (e != cudaSuccess)
            snprintf(msg, msg_cap, "no CUDA device: cudaGetDeviceCount: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
        else
            snprintf(msg, msg_cap, "no CUDA device: cudaGetDeviceCount found none");
        cudaGetLastError();
        free(self);
        return ATTN_E_UNAVAILABLE;
    }
    if (self->device >= count) {
        snprintf(msg, msg_cap, "option device: CUDA device %d requested, this machine has %d", self->device, count);
        free(self);
        return ATTN_E_UNAVAILABLE;
    }
    st = ATTN_OK;
    e = cudaSetDevice(self->device);
    if (e != cudaSuccess) st = fc_cuda_error(e, "cudaSetDevice", msg, msg_cap);
    if (st == ATTN_OK && (e = cudaDeviceGetAttribute(&self->sm_count, cudaDevAttrMultiProcessorCount, self->device)))
        st = fc_cuda_error(e, "cudaDeviceGetAttribute(multiprocessors)", msg, msg_cap);
    int major = 0;
    if (st == ATTN_OK && (e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, self->device)))
        st = fc_cuda_error(e, "cudaDeviceGetAttribute(compute capability)", msg, msg_cap);
    char tma_why[160] = "";
#ifdef FC_HAVE_SM90A
    self->hopper = major == 9; /* the build's wgmma code is sm_90a: exactly Hopper */
    if (self->hopper && !(self->tma_encoder = fc_tma_encoder(tma_why, sizeof tma_why))) self->hopper = 0;
#else
    self->hopper = 0; /* built without sm_90a: the wgmma kernels have no code */
#endif
    if (st == ATTN_OK && self->main_loop == FC_LOOP_WGMMA && !self->hopper) {
        snprintf(msg, msg_cap,
                 "option main_loop: wgmma needs an sm_90 device, a build for sm_90a and a driver that encodes tensor "
                 "maps; device %d is sm_%d*%s%s",
                 self->device, major, major != 9 ? "" : tma_why[0] ? ", but " : " and this build has no sm_90a code",
                 major == 9 ? tma_why : "");
        st = ATTN_E_UNAVAILABLE;
    }
    if (st == ATTN_OK && major == 9 && !self->hopper && self->main_loop == FC_LOOP_AUTO)
        fc_log(self, ATTN_LOG_WARN, "device %d is sm_90 but the wgmma loop is off (%s): prefill runs the mma.sync loop",
               self->device, tma_why[0] ? tma_why : "this build has no sm_90a code");
    if (st == ATTN_OK && (e = cudaStreamCreateWithFlags(&self->stream, cudaStreamNonBlocking)))
        st = fc_cuda_error(e, "cudaStreamCreateWithFlags", msg, msg_cap);
    void *flag = NULL;
    if (st == ATTN_OK && (e = cudaHostAlloc(&flag, sizeof(int32_t), cudaHostAllocMapped)))
        st = fc_cuda_error(e, "cudaHostAlloc(error flag)", msg, msg_cap);
    if (st == ATTN_OK) {
        self->flag_host = (volatile int32_t *)flag;
        *self->flag_host = 0;
        if ((e = cudaHostGetDevicePointer((void **)&self->flag_device, flag, 0)))
            st = fc_cuda_error(e, "cudaHostGetDevicePointer(error flag)", msg, msg_cap);
    }
    if (st == ATTN_OK) st = prepare_kernels(self, msg, msg_cap);
    if (st != ATTN_OK) {
        /* The device is there but unusable (no code for it, no memory): a reason, not a crash. */
        if (st == ATTN_E_DEVICE || st == ATTN_E_NOMEM) st = ATTN_E_UNAVAILABLE;
        fc_destroy(self);
        return st;
    }
    *out = self;
    return ATTN_OK;
}

static void fc_destroy(void *backend) {
    fc_backend *self = (fc_backend *)backend;
    if (!self) return;
    if (cudaSetDevice(self->device) == cudaSuccess) {
        if (self->last_stream) cudaStreamSynchronize(self->last_stream);
        if (self->stream) {
            cudaStreamSynchronize(self->stream);
            cudaStreamDestroy(self->stream);
        }
        if (self->workspace) cudaFree(self->workspace);
        if (self->counters) cudaFree(self->counters);
        if (self->flag_host) cudaFreeHost((void *)self->flag_host);
    }
    cudaGetLastError();
    free(self);
}

static attn_status fc_device_of(void *backend, DLDevice *out, char *msg, uint32_t msg_cap) {
    (void)msg;
    (void)msg_cap;
    out->device_type = kDLCUDA;
    out->device_id = ((fc_backend *)backend)->device;
    return ATTN_OK;
}

static attn_status fc_check(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap) {
    fc_backend *self = (fc_backend *)backend;
    FC_TRY(cudaSetDevice(self->device), "cudaSetDevice");
    fc_plan plan;
    return fc_plan_problem(self, problem, &plan, msg, msg_cap);
}

/* A device buffer of at least `bytes`, grown by a quarter more than asked; `zero`: filled
 * with zeros, ahead of the next kernel on `stream`.  The old buffer may still be in use by
 * work queued on `stream`: wait for it before freeing. */
static attn_status grow_buffer(void **buffer, size_t *have, size_t bytes, int zero, cudaStream_t stream,
                               const char *what, char *msg, uint32_t msg_cap) {
    if (bytes <= *have) return ATTN_OK;
    if (*buffer) {
        FC_TRY(cudaStreamSynchronize(stream), "cudaStreamSynchronize(before growing a buffer)");
        cudaFree(*buffer);
        *buffer = NULL;
        *have = 0;
    }
    size_t grown = bytes + bytes / 4;
    void *mem = NULL;
    FC_TRY(cudaMalloc(&mem, grown), what);
    cudaError_t e = zero ? cudaMemsetAsync(mem, 0, grown, stream) : cudaSuccess;
    if (e != cudaSuccess) {
        cudaFree(mem);
        return fc_cuda_error(e, "cudaMemsetAsync(new buffer)", msg, msg_cap);
    }
    *buffer = mem;
    *have = grown;
    return ATTN_OK;
}

/* The split-KV workspace and, for the fused merge, its arrival counters (for the persistent
 * kernel its item counter), grown on demand.  Work still queued on another stream may use
 * them: wait for it first.  The counters are zeroed once per allocation (one cudaMemsetAsync
 * of 4 bytes a group); after that every launch leaves them zero, because the last block of
 * each group resets its own (the persistent kernel: the block that draws the last item). */
static attn_status ensure_workspace(fc_backend *self, const fc_plan *plan, cudaStream_t stream, char *msg,
                                    uint32_t msg_cap) {
    if (self->workspace_stream && self->workspace_stream != stream)
        FC_TRY(cudaStreamSynchronize(self->workspace_stream), "cudaStreamSynchronize(workspace)");
    self->workspace_stream = stream;
    attn_status st = grow_buffer(&self->workspace, &self->workspace_bytes, plan->workspace_bytes, 0, stream,
                                 "cudaMalloc(split-KV workspace)", msg, msg_cap);
    if (st == ATTN_OK)
        st = grow_buffer((void **)&self->counters, &self->counter_bytes, plan->counter_count * sizeof(unsigned int), 1,
                         stream, "cudaMalloc(split-merge counters)", msg, msg_cap);
    return st;
}

static attn_status fc_run(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap) {
    fc_backend *self = (fc_backend *)backend;
    FC_TRY(cudaSetDevice(self->device), "cudaSetDevice");
    fc_plan plan;
    attn_status st = fc_plan_problem(self, problem, &plan, msg, msg_cap);
    if (st != ATTN_OK) return st;
    if (plan.slower_path[0]) fc_log(self, ATTN_LOG_DEBUG, "%s", plan.slower_path);
    if (plan.kernel->kind == FC_K_WGMMA_PERSIST)
        fc_log(self, ATTN_LOG_DEBUG, "dense prefill on the persistent kernel: %d items of %d rows on %u blocks",
               (int)plan.params.items, plan.kernel->block_m, plan.grid.x);
    cudaStream_t stream = problem->stream ? (cudaStream_t)(uintptr_t)problem->stream : self->stream;
    self->last_stream = stream;
    if (plan.workspace_bytes || plan.counter_count) {
        st = ensure_workspace(self, &plan, stream, msg, msg_cap);
        if (st != ATTN_OK) return st;
        plan.params.part_o = (float *)self->workspace;
        plan.params.part_lse = plan.params.part_o + (size_t)plan.params.splits * (size_t)plan.rows * (size_t)plan.params.Dv;
        if (plan.counter_count) plan.params.counters = self->counters; /* else fc_combine merges */
    }
    return fc_launch(self, &plan, stream, msg, msg_cap);
}

static attn_status fc_alloc(void *backend, uint64_t bytes, void **out, char *msg, uint32_t msg_cap) {
    fc_backend *self = (fc_backend *)backend;
    FC_TRY(cudaSetDevice(self->device), "cudaSetDevice");
    char what[96];
    snprintf(what, sizeof what, "cudaMalloc of %llu bytes on device %d", (unsigned long long)bytes, self->device);
    FC_TRY(cudaMalloc(out, bytes ? (size_t)bytes : 256), what); /* cudaMalloc aligns to 256 bytes */
    return ATTN_OK;
}

static void fc_free(void *backend, void *ptr) {
    fc_backend *self = (fc_backend *)backend;
    if (cudaSetDevice(self->device) == cudaSuccess) cudaFree(ptr);
    cudaGetLastError();
}

/* Copies wait for the last run (its stream may not be ours), then go through our stream. */
static attn_status copy(fc_backend *self, void *dst, const void *src, uint64_t bytes, cudaMemcpyKind kind, char *msg,
                        uint32_t msg_cap) {
    FC_TRY(cudaSetDevice(self->device), "cudaSetDevice");
    if (self->last_stream && self->last_stream != self->stream)
        FC_TRY(cudaStreamSynchronize(self->last_stream), "cudaStreamSynchronize");
    if (bytes == 0) return ATTN_OK;
    FC_TRY(cudaMemcpyAsync(dst, src, (size_t)bytes, kind, self->stream), "cudaMemcpyAsync");
    FC_TRY(cudaStreamSynchronize(self->stream), "cudaStreamSynchronize");
    return ATTN_OK;
}

static attn_status fc_copy_to_device(void *backend, void *dst, const void *src, uint64_t bytes, char *msg,
                                     uint32_t msg_cap) {
    return copy((fc_backend *)backend, dst, src, bytes, cudaMemcpyHostToDevice, msg, msg_cap);
}

static attn_status fc_copy_to_host(void *backend, void *dst, const void *src, uint64_t bytes, char *msg,
                                   uint32_t msg_cap) {
    return copy((fc_backend *)backend, dst, src, bytes, cudaMemcpyDeviceToHost, msg, msg_cap);
}

static attn_status fc_synchronize(void *backend, char *msg, uint32_t msg_cap) {
    fc_backend *self = (fc_backend *)backend;
    FC_TRY(cudaSetDevice(self->device), "cudaSetDevice");
    FC_TRY(cudaStreamSynchronize(self->last_stream ? self->last_stream : self->stream), "cudaStreamSynchronize");
    if (*self->flag_host) {
        *self->flag_host = 0;
        snprintf(msg, msg_cap,
                 "a per-batch length on the device was out of range (q_len outside [0, Tq], kv_len outside [0, Tk] "
                 "or prefix_len negative); the kernels clamped it, so the result is not that problem's");
        return ATTN_E_INVALID;
    }
    return ATTN_OK;
}

/* ABI 1.1: what attninfo prints; check() stays the only capability answer. */
static attn_status fc_describe(void *backend, char *out, uint32_t out_cap) {
    fc_backend *self = (fc_backend *)backend;
    cudaDeviceProp prop;
    const char *name = cudaGetDeviceProperties(&prop, self->device) == cudaSuccess ? prop.name : "?";
    cudaGetLastError();
    snprintf(out, out_cap,
             "CUDA device %d (%s, %d SMs); float16/bfloat16 on tensor cores (prefill at head dims 64 and 128: %s; "
             "else mma.sync m16n8k16; float32 accumulation) when the views allow 16-byte copies (unit last stride, D and Dv multiples of 8), else "
             "float32 FMA; float32 always on float32 FMA (exact, no TF32); head dims up to 256; any strides; every "
             "row of SPEC.md (lengths, causal/bidirectional, windows, documents, prefix-LM, softcap, ALiBi, synaptic, "
             "Philox dropout, LSE); split-KV decode with GQA head packing; tensor cores %s, splits %s, split merge %s",
             self->device, name, self->sm_count,
             self->hopper && self->main_loop != FC_LOOP_MMA ? "wgmma m64nNk16" : "mma.sync m16n8k16",
             self->tensor_cores ? "on" : "off", self->force_splits ? "forced" : "auto",
             self->merge_kernel ? "kernel" : "fused");
    return ATTN_OK;
}

static const attn_plugin_api fc_api = {
    .struct_size = sizeof(attn_plugin_api),
    .abi_version = ATTN_ABI_VERSION,
    .name = "flex-cuda",
    .version = FC_VERSION,
    .description = "CUDA attention: tensor-core prefill with block-sparse tile skipping (Hopper wgmma fed by TMA "
                   "copies, mma.sync elsewhere), split-KV decode with GQA packing, an exact float32 path",
    .create = fc_create,
    .destroy = fc_destroy,
    .device_of = fc_device_of,
    .check = fc_check,
    .run = fc_run,
    .alloc = fc_alloc,
    .free = fc_free,
    .copy_to_device = fc_copy_to_device,
    .copy_to_host = fc_copy_to_host,
    .synchronize = fc_synchronize,
    .describe = fc_describe,
    /* ABI 1.2: no mask_mod / score_mod yet (libattn answers "not implemented" for us).  Listed
     * even so: C++ warns about a designated initializer list that leaves a member out. */
    .reads = 0,
};

ATTN_PLUGIN_ENTRY(fc_api)
