/* flex-cuda: from an attn_problem to a launch plan.  Everything here runs on the host and
 * reads only shapes, strides and scalars: length values live on the device and are the
 * kernels' to bound (device/mask.cuh clamps them and raises the error flag).
 *
 * Choices, in order:
 *   kernel   float32 -> the exact SIMT kernel.  float16 / bfloat16 -> tensor cores when the
 *            views allow 16-byte copies (unit last stride, rows 16-byte aligned, D and Dv
 *            multiples of 8), else the SIMT kernel as well.
 *   packing  the query heads of a GQA group share a block (pack = Hq / Hkv): K and V are
 *            read once per group.  When a group's rows (pack * Tq) fit 16, the decode
 *            kernel (four warps splitting the keys) takes them.
 *   splits   when the blocks of a problem would not fill the GPU (decode, long context),
 *            the keys are split across blocks and the partials merged through their LSE:
 *            by the last block of each group to finish (default), or by the fc_combine
 *            kernel launched after it (option split_merge=kernel). */
#include <attn/plugin/attn_philox.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "host/backend.h"

static const void *tensor_ptr(const DLTensor *t) {
    return t->data ? (const void *)((const char *)t->data + t->byte_offset) : NULL;
}

static int dtype_index(DLDataType t) {
    if (t.code == kDLFloat && t.bits == 32) return FC_DT_F32;
    if (t.code == kDLFloat && t.bits == 16) return FC_DT_F16;
    return FC_DT_BF16;
}

/* The tensor-core kernel copies rows in 16-byte pieces. */
static int mma_views_ok(const attn_problem *p) {
    const DLTensor *main[3] = {&p->q, &p->k, &p->v};
    if (p->q.shape[3] % 8 || p->v.shape[3] % 8) return 0;
    for (int n = 0; n < 3; ++n) {
        const DLTensor *t = main[n];
        if (t->strides[3] != 1) return 0;
        for (int d = 0; d < 3; ++d)
            if (t->strides[d] % 8) return 0;
        if ((uintptr_t)tensor_ptr(t) % 16) return 0;
    }
    return p->o.strides[3] == 1 || p->o.shape[3] == 1;
}

/* Padding rows a block height adds to a problem's rows (per head block). */
static int64_t padding_rows(int64_t rows, int block_m) { return (rows + block_m - 1) / block_m * block_m - rows; }

/* Keys up to which a block's mean walk counts as short (4 tiles of 128; causal blocks walk
 * half the keys on average): there its start (Q and the first tile, with one block per SM
 * nothing hides them) and its end weigh a third of its time, and the wgmma loop's 64-row
 * blocks, three per SM, overlap one block's start and end with the others' main loops.
 * The threshold is measured (docs/perf-journal.md, sessions 4 and 5). */
#define FC_SHORT_WALK_KEYS 512

/* The kernel of a kind, dtype, padded head dim and modifier set.  Where there are several
 * block heights (the wgmma loop at head dim 64 has 64-, 128- and 192-row blocks): over short
 * walks the 64-row one (above); otherwise the tallest whose padding stays within 1/8 of the
 * rows (packed rows per head block), else the one with the least padding.  Option
 * block_rows picks the height where there is a kernel of it (tests, A/B timing).  Taller
 * blocks read each K/V tile for more rows (docs/perf-journal.md, session 4). */
static const fc_kernel_desc *find_kernel(fc_backend *self, int dtype, int kind, int dp, int need_mods, int64_t rows,
                                         int64_t keys, int causal, int rows_wanted, int *occupancy) {
    const int64_t mean_walk = causal ? keys / 2 : keys;
    /* The kernels with the fewest features beyond the problem's (FC_MODS_*): a modifier
     * without dropout takes a kernel without the dropout code where there is one. */
    int mods = -1;
    for (int n = 0; n < self->kernel_count[dtype]; ++n) {
        const fc_kernel_desc *k = &self->kernels[dtype][n];
        if (k->kind == kind && k->dp == dp && (k->mods & need_mods) == need_mods && (mods < 0 || k->mods < mods))
            mods = k->mods;
    }
    const int wanted = rows_wanted ? rows_wanted : mean_walk <= FC_SHORT_WALK_KEYS ? 64 : 0;
    const fc_kernel_desc *best = NULL;
    for (int n = 0; n < self->kernel_count[dtype]; ++n) {
        const fc_kernel_desc *k = &self->kernels[dtype][n];
        if (k->kind != kind || k->dp != dp || k->mods != mods) continue;
        if (wanted && k->block_m == wanted) {
            *occupancy = self->occupancy[dtype][n];
            return k;
        }
        int better = !best;
        if (best) {
            int64_t pad = padding_rows(rows, k->block_m), best_pad = padding_rows(rows, best->block_m);
            int fits = pad * 8 <= rows, best_fits = best_pad * 8 <= rows;
            better = fits ? (!best_fits || k->block_m > best->block_m) : (!best_fits && pad < best_pad);
        }
        if (better) {
            best = k;
            *occupancy = self->occupancy[dtype][n];
        }
    }
    return best;
}

/* Every block's walk starts at key tile 0, whatever the split count: no lengths, prefix, left
 * window or documents, and causal only with Tk >= Tq (kernels/params.h, first_tile0). */
static int walks_from_tile0(const fc_params *k) {
    return k->pack == k->group && !k->q_len && !k->kv_len && !k->prefix_len && k->window_left < 0 && !k->doc_q &&
           k->Tq > 0 && k->Tk > 0 && (!k->causal || k->Tk >= k->Tq);
}

/* The problem's shape allows the persistent kernel, whatever its split count and Q map: the
 * option is on, every row sees keys [0, end) (dense, kernels/params.h, but for the splits), and
 * O's rows take 16-byte stores.  Both checks below start from it. */
static int persistent_shape_ok(const fc_backend *self, const fc_params *k) {
    return self->persistent != FC_PERSIST_OFF && walks_from_tile0(k) && k->window_right < 0 && fc_o_rows_16byte(*k);
}

/* Whether the plan should take 192-row blocks for the persistent kernel, which hides each
 * block's start and end behind the next item's copies: then even short walks, where the grid
 * launch prefers 64-row blocks (FC_SHORT_WALK_KEYS), run faster on it (docs/perf-journal.md,
 * session 7).  Only where it will run (persistent_kernel below: dense, Q as one box, O staged,
 * one split, i.e. enough items to fill the GPU) and where its padding stays within 1/8 of the
 * rows. */
static int prefer_persistent(const fc_backend *self, const fc_params *k, int dp, int mods) {
    if (dp != 64 || mods || !persistent_shape_ok(self, k)) return 0;
    const int64_t rows = (int64_t)k->pack * k->Tq, items = (rows + FC_WS_ROWS - 1) / FC_WS_ROWS * (k->Hq / k->pack) * k->B;
    return FC_WS_ROWS % k->pack == 0 && padding_rows(rows, FC_WS_ROWS) * 8 <= rows && items >= self->sm_count;
}

/* The persistent kernel (kernels/persistent_ws.cuh) that replaces `grid_kernel` for this
 * problem, or NULL.  It runs only dense problems (first_tile0 and dense, kernels/params.h)
 * without modifiers, with Q as one TMA box and O stored as 16-byte pieces, at the wgmma loop's
 * head dim and height.  Option persistent=on (the default) takes it wherever it runs: head dim
 * 64 at 192-row blocks, faster than the grid launch on every anchor shape it runs
 * (docs/perf-journal.md, session 7). */
static const fc_kernel_desc *persistent_kernel(const fc_backend *self, int dtype, const fc_kernel_desc *grid_kernel,
                                               const fc_params *k) {
    if (grid_kernel->kind != FC_K_WGMMA_PREFILL || grid_kernel->mods != 0 || k->splits != 1 || !k->q_tma ||
        !persistent_shape_ok(self, k))
        return NULL;
    for (int n = 0; n < self->kernel_count[dtype]; ++n) {
        const fc_kernel_desc *c = &self->kernels[dtype][n];
        if (c->kind == FC_K_WGMMA_PERSIST && c->dp == grid_kernel->dp && c->block_m == grid_kernel->block_m) return c;
    }
    return NULL;
}

static void copy_strides(const DLTensor *t, int64_t *out, int n) {
    for (int d = 0; d < n; ++d) out[d] = t->strides[d];
}

/* The multiplier and shift of fc_div_pack (device/mask.cuh), exact for every r < 2^31 (the plan
 * refuses Hq * Tq at 2^31 - 256 and beyond). */
static void set_pack_divisor(fc_params *k) {
    uint32_t d = (uint32_t)k->pack, shift = 0;
    while (((uint64_t)1 << shift) < d) ++shift;
    k->pack_shift = shift;
    k->pack_mul = (uint32_t)((((uint64_t)1 << 32) * (((uint64_t)1 << shift) - d)) / d + 1);
}

static void fill_params(const attn_problem *p, fc_params *k) {
    memset(k, 0, sizeof *k);
    k->q = tensor_ptr(&p->q);
    k->k = tensor_ptr(&p->k);
    k->v = tensor_ptr(&p->v);
    k->o = (void *)tensor_ptr(&p->o);
    copy_strides(&p->q, k->qs, 4);
    copy_strides(&p->k, k->ks, 4);
    copy_strides(&p->v, k->vs, 4);
    copy_strides(&p->o, k->os, 4);
    if (attn_tensor_present(&p->lse)) {
        k->lse = (float *)tensor_ptr(&p->lse);
        copy_strides(&p->lse, k->lses, 3);
    }
    if (attn_tensor_present(&p->q_len)) {
        k->q_len = (const int32_t *)tensor_ptr(&p->q_len);
        k->q_len_s = p->q_len.strides[0];
    }
    if (attn_tensor_present(&p->kv_len)) {
        k->kv_len = (const int32_t *)tensor_ptr(&p->kv_len);
        k->kv_len_s = p->kv_len.strides[0];
    }
    if (attn_tensor_present(&p->prefix_len)) {
        k->prefix_len = (const int32_t *)tensor_ptr(&p->prefix_len);
        k->prefix_len_s = p->prefix_len.strides[0];
    }
    if (attn_tensor_present(&p->doc_q)) { /* validation guarantees doc_k comes with it */
        k->doc_q = (const int32_t *)tensor_ptr(&p->doc_q);
        k->doc_k = (const int32_t *)tensor_ptr(&p->doc_k);
        copy_strides(&p->doc_q, k->doc_qs, 2);
        copy_strides(&p->doc_k, k->doc_ks, 2);
    }
    k->modifier = p->modifier;
    k->softcap = p->softcap;
    k->syn_lambda = p->synaptic_lambda;
    k->syn_eps = p->synaptic_eps;
    k->syn_beta = p->synaptic_beta;
    if (p->modifier == ATTN_MOD_ALIBI) {
        k->alibi = (const float *)tensor_ptr(&p->alibi_slopes);
        k->alibi_s = p->alibi_slopes.strides[0];
    }
    if (p->modifier == ATTN_MOD_SYNAPTIC) {
        k->syn_w = (const float *)tensor_ptr(&p->synaptic_w);
        copy_strides(&p->synaptic_w, k->syn_ws, 3);
    }
    k->B = (int32_t)p->q.shape[0];
    k->Hq = (int32_t)p->q.shape[1];
    k->Tq = (int32_t)p->q.shape[2];
    k->D = (int32_t)p->q.shape[3];
    k->Hkv = (int32_t)p->k.shape[1];
    k->Tk = (int32_t)p->k.shape[2];
    k->Dv = (int32_t)p->v.shape[3];
    k->group = k->Hq / k->Hkv;
    k->pack = k->group;
    set_pack_divisor(k);
    k->causal = p->causal;
    k->window_left = p->window_left;
    k->window_right = p->window_right;
    k->scale = (float)(p->scale != 0.0 ? p->scale : 1.0 / sqrt((double)k->D));
    k->has_dropout = p->dropout_p > 0.0f;
    k->drop_threshold = attn_dropout_threshold(p->dropout_p);
    k->drop_scale = (float)(1.0 / (1.0 - (double)p->dropout_p));
    k->drop_seed = p->dropout_seed;
    k->drop_offset = p->dropout_offset;
}

/* Split count: enough blocks to fill every resident slot once, keeping each split at least
 * `min_keys` long; then rounded so that split boundaries fall on FC_SPLIT_GRANULE. */
static void choose_splits(const fc_backend *self, int64_t base_blocks, int occupancy, int min_keys, int64_t tk,
                          int64_t batch, int32_t *splits, int32_t *split_keys) {
    int64_t n = 1;
    if (self->force_splits > 0) {
        n = self->force_splits;
    } else {
        int64_t slots = (int64_t)self->sm_count * (occupancy > 0 ? occupancy : 1);
        if (base_blocks < slots) n = slots / (base_blocks > 0 ? base_blocks : 1);
        int64_t by_keys = tk / min_keys;
        if (n > by_keys) n = by_keys;
    }
    if (n > FC_MAX_SPLITS) n = FC_MAX_SPLITS;
    if (batch > 0 && n > 65535 / batch) n = 65535 / batch;
    if (n < 1) n = 1;
    int64_t keys = (tk + n - 1) / n;
    keys = (keys + FC_SPLIT_GRANULE - 1) / FC_SPLIT_GRANULE * FC_SPLIT_GRANULE;
    if (keys < FC_SPLIT_GRANULE) keys = FC_SPLIT_GRANULE;
    n = (tk + keys - 1) / keys;
    *splits = (int32_t)(n < 1 ? 1 : n);
    *split_keys = (int32_t)keys;
}

/* Refusals that hold whatever the kernel: the device, head dims, the kernels' 32-bit indexing. */
static attn_status refuse_beyond_limits(const fc_backend *self, const attn_problem *p, char *msg, uint32_t msg_cap) {
    if (p->q.device.device_type != kDLCUDA || p->q.device.device_id != self->device) {
        snprintf(msg, msg_cap, "tensors are on device (type %d, id %d); this flex-cuda instance computes on CUDA device %d",
                 (int)p->q.device.device_type, p->q.device.device_id, self->device);
        return ATTN_E_UNSUPPORTED;
    }
    int64_t batch = p->q.shape[0], hq = p->q.shape[1], tq = p->q.shape[2], d = p->q.shape[3];
    int64_t tk = p->k.shape[2], dv = p->v.shape[3];
    if (d > 256 || dv > 256) {
        snprintf(msg, msg_cap,
                 "head dims above 256 (D %lld, Dv %lld) are not implemented: a block keeps its rows of O on chip",
                 (long long)d, (long long)dv);
        return ATTN_E_UNSUPPORTED;
    }
    const int64_t big = 0x7fffffffLL;
    if (hq * tq > big - 256 || tk > big - 256 || batch > 65535 || hq > 65535) {
        snprintf(msg, msg_cap,
                 "sizes beyond the 32-bit indexing of the kernels (B %lld, Hq %lld, Tq %lld, Tk %lld; limits: B and Hq "
                 "65535, Hq * Tq and Tk below 2^31 - 256)",
                 (long long)batch, (long long)hq, (long long)tq, (long long)tk);
        return ATTN_E_UNSUPPORTED;
    }
    return ATTN_OK;
}

/* What a 16-bit problem asks of a tensor-core kernel. */
typedef struct tensor_core_shape {
    int dtype;
    int dp;     /* padded head dim: 64, 96, 128 or 256 */
    int mods;   /* FC_MODS_* the problem needs */
    int decode; /* a group's rows fit the 16-row decode kernel */
} tensor_core_shape;

static tensor_core_shape tensor_core_shape_of(const attn_problem *p, const fc_params *k, int dtype) {
    int64_t d = p->q.shape[3], dv = p->v.shape[3], widest = d > dv ? d : dv;
    tensor_core_shape shape;
    shape.dtype = dtype;
    shape.dp = widest <= 64 ? 64 : widest <= 96 ? 96 : widest <= 128 ? 128 : 256;
    shape.decode = k->pack * p->q.shape[2] <= 16;
    shape.mods = (p->modifier != ATTN_MOD_NONE ? FC_MODS_SCORE : 0) | (p->dropout_p > 0.0f ? FC_MODS_DROPOUT : 0);
    return shape;
}

/* The choosers, in the order of the README's Paths table; each returns NULL where its path does
 * not take the problem, and the next one is asked.  The persistent kernel (the table's first
 * row) is chosen in two steps: prefer_persistent picks the wgmma loop's block height for it
 * here, persistent_kernel swaps it in once the splits are known. */

/* Hopper prefill (kernels/mainloop_wgmma.cuh): K/V as TMA boxes, Q too where the block's rows
 * are whole query positions of the group (else cp.async).  A view no tensor map describes
 * falls through to mma.sync, and run() logs why (plan->slower_path, debug level). */
static const fc_kernel_desc *choose_wgmma(fc_backend *self, const attn_problem *p, const tensor_core_shape *shape,
                                          fc_plan *plan, int *occupancy) {
    if (shape->decode || !self->hopper || self->main_loop == FC_LOOP_MMA) return NULL;
    fc_params *k = &plan->params;
    int rows_wanted = self->block_rows;
    if (!rows_wanted && prefer_persistent(self, k, shape->dp, shape->mods)) rows_wanted = FC_WS_ROWS;
    const fc_kernel_desc *kernel = find_kernel(self, shape->dtype, FC_K_WGMMA_PREFILL, shape->dp, shape->mods,
                                               k->pack * p->q.shape[2], p->k.shape[2], p->causal, rows_wanted,
                                               occupancy); /* head dims 64, 128 */
    char why[128];
    if (kernel && !fc_tma_kv_maps(self->tma_encoder, &p->k, &p->v, kernel->block_n, &plan->tma, why, sizeof why)) {
        snprintf(plan->slower_path, sizeof plan->slower_path,
                 "prefill on the mma.sync loop, not wgmma: no tensor map describes the view (%.120s)", why);
        return NULL;
    }
    if (kernel && kernel->block_m % k->pack == 0)
        k->q_tma =
            fc_tma_q_map(self->tma_encoder, &p->q, k->pack, kernel->block_m / k->pack, &plan->tma.q, why, sizeof why);
    return kernel;
}

/* mma.sync (kernels/mainloop_mma.cuh): prefill blocks of many rows, or the decode kernel's 16
 * packed rows with four warps splitting the keys. */
static const fc_kernel_desc *choose_mma(fc_backend *self, const attn_problem *p, const fc_params *k,
                                        const tensor_core_shape *shape, int *occupancy) {
    return find_kernel(self, shape->dtype, shape->decode ? FC_K_MMA_DECODE : FC_K_MMA_PREFILL, shape->dp, shape->mods,
                       k->pack * p->q.shape[2], p->k.shape[2], p->causal, self->block_rows, occupancy);
}

/* The exact float32 kernel (kernels/mainloop_simt.cuh): float32, and any 16-bit view the
 * tensor-core kernels cannot copy.  Its shared memory depends on the head dims, so does its
 * occupancy. */
static const fc_kernel_desc *choose_simt(fc_backend *self, const attn_problem *p, int dtype, fc_plan *plan,
                                         int *occupancy) {
    const fc_kernel_desc *kernel = find_kernel(self, dtype, FC_K_SIMT, 0, FC_MODS_ALL, plan->params.pack * p->q.shape[2],
                                               p->k.shape[2], p->causal, 0, occupancy);
    plan->smem = fc_simt_smem((int)p->q.shape[3], (int)p->v.shape[3]);
    int blocks = 0;
    if (kernel && cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel->fn, kernel->threads, plan->smem) == cudaSuccess)
        *occupancy = blocks;
    else
        cudaGetLastError();
    return kernel;
}

/* Swaps in the persistent kernel where it runs (persistent_kernel): one block per SM (or the
 * option's count) drawing the problem's work items from a counter. */
static void adopt_persistent(fc_backend *self, const attn_problem *p, const fc_kernel_desc *persistent, int64_t m_tiles,
                             int64_t head_blocks, fc_plan *plan) {
    fc_params *k = &plan->params;
    plan->kernel = persistent;
    plan->smem = persistent->smem;
    k->m_tiles = (int32_t)m_tiles;
    k->head_blocks = (int32_t)head_blocks;
    k->items = (int32_t)(m_tiles * head_blocks * p->q.shape[0]);
    /* Causal tiles end at the last row (fc_ws_item_at); a multiple of pack, as the block
     * height and the rows are. */
    k->row_shift = p->causal ? (int32_t)(m_tiles * persistent->block_m - k->pack * p->q.shape[2]) : 0;
    int64_t blocks = self->persistent_blocks ? self->persistent_blocks : self->sm_count;
    plan->grid = dim3((unsigned)(blocks < k->items ? blocks : k->items));
    plan->counter_count = 1; /* the item counter (fc_ws_draw) */
}

attn_status fc_plan_problem(fc_backend *self, const attn_problem *p, fc_plan *plan, char *msg, uint32_t msg_cap) {
    *plan = fc_plan();
    attn_status st = refuse_beyond_limits(self, p, msg, msg_cap);
    if (st != ATTN_OK) return st;
    int64_t batch = p->q.shape[0], hq = p->q.shape[1], tq = p->q.shape[2], tk = p->k.shape[2], dv = p->v.shape[3];
    fill_params(p, &plan->params);
    fc_params *k = &plan->params;
    plan->rows = batch * hq * tq;

    int dtype = dtype_index(p->q.dtype);
    int occupancy = 0;
    const fc_kernel_desc *kernel = NULL;
    int min_split_keys = 256;
    if (dtype != FC_DT_F32 && self->tensor_cores && mma_views_ok(p)) {
        tensor_core_shape shape = tensor_core_shape_of(p, k, dtype);
        kernel = choose_wgmma(self, p, &shape, plan, &occupancy);
        if (!kernel) kernel = choose_mma(self, p, k, &shape, &occupancy);
        if (!shape.decode) min_split_keys = 128;
        plan->smem = kernel ? kernel->smem : 0;
    }
    if (!kernel) kernel = choose_simt(self, p, dtype, plan, &occupancy);
    int combine_occupancy;
    plan->combine = find_kernel(self, dtype, FC_K_COMBINE, 0, FC_MODS_ALL, 1, 1, 0, 0, &combine_occupancy);
    if (!kernel || !plan->combine) {
        snprintf(msg, msg_cap, "internal: no kernel compiled for this dtype");
        return ATTN_E_INTERNAL;
    }
    plan->kernel = kernel;

    int64_t m_tiles = (k->pack * tq + kernel->block_m - 1) / kernel->block_m;
    int64_t head_blocks = hq / k->pack;
    choose_splits(self, m_tiles * head_blocks * batch, occupancy, min_split_keys, tk, batch, &k->splits, &k->split_keys);
    plan->grid = dim3((unsigned)(m_tiles > 0 ? m_tiles : 1), (unsigned)head_blocks, (unsigned)(batch * k->splits));
    k->first_tile0 = k->splits == 1 && walks_from_tile0(k);
    k->dense = k->first_tile0 && k->window_right < 0;
    const fc_kernel_desc *persistent = persistent_kernel(self, dtype, kernel, k);
    if (persistent) adopt_persistent(self, p, persistent, m_tiles, head_blocks, plan);
    if (k->splits > 1) {
        plan->workspace_bytes = (size_t)k->splits * (size_t)plan->rows * ((size_t)dv + 1) * sizeof(float);
        if (!self->merge_kernel) plan->counter_count = (size_t)plan->grid.x * plan->grid.y * (size_t)batch;
    }
    k->error_flag = self->flag_device;
    return ATTN_OK;
}

attn_status fc_launch(fc_backend *self, const fc_plan *plan, cudaStream_t stream, char *msg, uint32_t msg_cap) {
    (void)self;
    if (plan->rows == 0) return ATTN_OK; /* no query row: nothing to write */
    fc_params params = plan->params;
#ifdef FC_BLOCK_PROBE
    params.probe = fc_probe_prepare(plan, stream);
#endif
    fc_tma_maps maps = plan->tma;
    void *args[4] = {&params, &maps.k, &maps.v, &maps.q}; /* the wgmma loop takes the maps as well */
    cudaError_t e = cudaLaunchKernel(plan->kernel->fn, plan->grid, dim3((unsigned)plan->kernel->threads), args,
                                     plan->smem, stream);
    if (e == cudaSuccess) e = cudaGetLastError();
    if (e != cudaSuccess) return fc_cuda_error(e, "attention kernel launch", msg, msg_cap);
    if (params.splits > 1 && !params.counters) { /* else the last block of each group merged */
        int64_t blocks = (plan->rows + FC_COMBINE_ROWS - 1) / FC_COMBINE_ROWS;
        e = cudaLaunchKernel(plan->combine->fn, dim3((unsigned)blocks), dim3((unsigned)plan->combine->threads), args, 0,
                             stream);
        if (e == cudaSuccess) e = cudaGetLastError();
        if (e != cudaSuccess) return fc_cuda_error(e, "split-KV merge launch", msg, msg_cap);
    }
#ifdef FC_BLOCK_PROBE
    if (params.probe) fc_probe_report(plan, stream);
#endif
    return ATTN_OK;
}
