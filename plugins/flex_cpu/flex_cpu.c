/* flex-cpu: tiled attention on the CPU over oneDNN matmul primitives, with an online
 * softmax and FlexAttention's block mask (empty key tiles skipped, full ones unmasked).
 *
 * The pieces: fcpu_plan (geometry, lengths, work items, primitives resolved up front),
 * fcpu_tiles (the block mask), fcpu_prims (oneDNN primitive cache), fcpu_softmax (the online
 * softmax of a tile), fcpu_native (the tile products of items of few rows), fcpu_attend (one
 * thread's work), fcpu_io (dtype conversion).  This file is the plugin table, the options and
 * the parallel loop.
 *
 * Options: plugins/flex_cpu/README.md (parse_options below is their one definition). */
#define _GNU_SOURCE /* dladdr */
#include <attn/plugin/attn_philox.h>
#include <attn/plugin/attn_plugin.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cpu_device.h"
#include "fcpu_attend.h"
#include "fcpu_plan.h"
#include "fcpu_prims.h"

typedef struct flex_cpu {
    const attn_host_services *host;
    fcpu_tunables tun;
    int32_t threads; /* 0: omp_get_max_threads() at each run */
    int32_t bf16_native;
    char amx_reason[160]; /* fcpu_amx_available's answer, for the log and describe */
    int32_t amx_off;      /* the option said off */
    fcpu_prim_cache cache;
    char *prep;       /* the prepared K^T and V of the last runs (fcpu_plan.h), reused */
    int64_t prep_cap; /* its bytes */
    pthread_mutex_t run_lock; /* one run at a time: runs share the cache and its primitives */
} flex_cpu;

#define FCPU_CACHE_LIMIT 512 /* primitives kept before the cache is flushed */
#define FCPU_PREP_KEEP (256ll << 20) /* prepared-K/V buffers up to this size stay between runs */

static void fcpu_log(const flex_cpu *self, int32_t level, const char *text) {
    if (self->host && self->host->log) self->host->log(self->host->host_context, level, "flex-cpu", text);
}

static void on_prim_created(void *ctx, const fcpu_prim *p, uint64_t serial) {
    char text[256];
    snprintf(text, sizeof text, "created matmul primitive #%llu: %s %s M=%lld N=%lld K=%lld ldb=%lld (%s)",
             (unsigned long long)serial, p->key.op == FCPU_OP_QK ? "Q.K^T" : "P.V", p->key.cdt == FCPU_CDT_BF16 ? "bf16" : "f32",
             (long long)p->key.m, (long long)p->key.n, (long long)p->key.k, (long long)p->key.ldb, p->impl);
    fcpu_log(ctx, ATTN_LOG_DEBUG, text);
}

/* A whole decimal integer in [lo, hi]. */
static int parse_int(const char *text, long lo, long hi, long *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

/* An option that names one of n choices: *out = values[i] where value is names[i]; else
 * the message lists them ("option K: 'x' is not a, b or c") and 0 comes back. */
static int parse_choice(const char *key, const char *value, const char *const *names, const int32_t *values, int n,
                        int32_t *out, char *msg, uint32_t msg_cap) {
    for (int i = 0; i < n; ++i)
        if (strcmp(value, names[i]) == 0) {
            *out = values[i];
            return 1;
        }
    int used = snprintf(msg, msg_cap, "option %s: '%s' is not ", key, value);
    for (int i = 0; i < n && used >= 0 && (uint32_t)used < msg_cap; ++i)
        used += snprintf(msg + used, msg_cap - (uint32_t)used, "%s%s", names[i], i + 2 < n ? ", " : i + 1 < n ? " or " : "");
    return 0;
}

static attn_status parse_options(flex_cpu *self, const attn_option *options, uint32_t count, char *msg, uint32_t msg_cap) {
    int cpu_bf16 = (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
    self->bf16_native = cpu_bf16;
    const int32_t amx_hw = fcpu_amx_available(self->amx_reason, sizeof self->amx_reason) ? FCPU_AMX_HW : FCPU_AMX_NONE;
    self->tun.amx = amx_hw; /* auto */
    for (uint32_t n = 0; n < count; ++n) {
        const char *key = options[n].key, *value = options[n].value;
        long v;
        if (strcmp(key, "threads") == 0) {
            if (!parse_int(value, 1, 4096, &v)) {
                snprintf(msg, msg_cap, "option threads: '%s' is not an integer in [1, 4096]", value);
                return ATTN_E_INVALID;
            }
            self->threads = (int32_t)v;
        } else if (strcmp(key, "q_tile") == 0) {
            if (!parse_int(value, 1, 4096, &v)) {
                snprintf(msg, msg_cap, "option q_tile: '%s' is not an integer in [1, 4096]", value);
                return ATTN_E_INVALID;
            }
            self->tun.q_tile = v;
        } else if (strcmp(key, "kv_tile") == 0) {
            if (!parse_int(value, FCPU_GRAN, 8192, &v) || v % FCPU_GRAN != 0) {
                snprintf(msg, msg_cap, "option kv_tile: '%s' is not a multiple of %d in [%d, 8192]", value, FCPU_GRAN,
                         FCPU_GRAN);
                return ATTN_E_INVALID;
            }
            self->tun.kv_tile = v;
        } else if (strcmp(key, "edge_tile") == 0) {
            if (!parse_int(value, FCPU_GRAN, 8192, &v) || v % FCPU_GRAN != 0) {
                snprintf(msg, msg_cap, "option edge_tile: '%s' is not a multiple of %d in [%d, 8192]", value, FCPU_GRAN,
                         FCPU_GRAN);
                return ATTN_E_INVALID;
            }
            self->tun.edge_tile = self->tun.edge_tile_amx = v;
        } else if (strcmp(key, "bf16") == 0) {
            static const char *const names[] = {"auto", "native", "f32"};
            const int32_t values[] = {cpu_bf16, 1, 0};
            if (!parse_choice(key, value, names, values, 3, &self->bf16_native, msg, msg_cap)) return ATTN_E_INVALID;
        } else if (strcmp(key, "split") == 0) {
            static const char *const names[] = {"on", "off"};
            static const int32_t values[] = {1, 0};
            if (!parse_choice(key, value, names, values, 2, &self->tun.split, msg, msg_cap)) return ATTN_E_INVALID;
        } else if (strcmp(key, "small_m") == 0) {
            static const char *const names[] = {"native", "onednn"};
            static const int32_t values[] = {FCPU_SMALL_M_NATIVE, FCPU_SMALL_M_ONEDNN};
            if (!parse_choice(key, value, names, values, 2, &self->tun.small_m, msg, msg_cap)) return ATTN_E_INVALID;
        } else if (strcmp(key, "amx") == 0) {
            static const char *const names[] = {"auto", "off", "emulate"};
            const int32_t values[] = {amx_hw, FCPU_AMX_NONE, FCPU_AMX_EMU};
            if (!parse_choice(key, value, names, values, 3, &self->tun.amx, msg, msg_cap)) return ATTN_E_INVALID;
            self->amx_off = strcmp(value, "off") == 0;
        } else {
            snprintf(msg, msg_cap,
                     "unknown option '%s' (known: threads, q_tile, kv_tile, edge_tile, bf16, split, small_m, amx)", key);
            return ATTN_E_INVALID;
        }
    }
    return ATTN_OK;
}

/* oneDNN and its OpenMP runtime (libgomp) come in with this plugin and outlive a run: libgomp
 * keeps its worker threads parked inside its own code, and those threads keep the dynamic
 * thread-local blocks oneDNN gave them.  Two consequences:
 *  - the libraries must not be unmapped under those threads when the host dlcloses the
 *    plugin: both are pinned for the life of the process (RTLD_NODELETE on the already
 *    loaded objects, found by the address of one of their functions);
 *  - LeakSanitizer's exit scan (GCC 12, glibc 2.36) crashes on the dynamic thread-local
 *    blocks of such parked workers when oneDNN was dlopened: when the last instance goes, the
 *    calling thread's worker pool is released (omp_pause_resource_all), as a process that
 *    is done with flex-cpu would want anyway.  Only the caller's own pool is affected, and
 *    OpenMP starts new workers for the next parallel region. */
static void pin_library_of(void *function) {
    Dl_info info;
    if (!dladdr(function, &info) || !info.dli_fname) return;
    void *handle = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    if (handle) dlclose(handle); /* drops this reference only: NODELETE stays */
}

static void pin_runtimes(void) {
    pin_library_of((void *)(uintptr_t)&omp_get_max_threads);
    pin_library_of((void *)(uintptr_t)&dnnl_version);
}

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static int live_instances; /* shared by the instances, hence locked */

static void instance_born(void) {
    pthread_mutex_lock(&live_lock);
    live_instances++;
    pthread_mutex_unlock(&live_lock);
}

static void instance_gone(void) {
    pthread_mutex_lock(&live_lock);
    int last = --live_instances == 0;
    pthread_mutex_unlock(&live_lock);
    if (last && !omp_in_parallel()) omp_pause_resource_all(omp_pause_soft);
}

static const char *small_m_name(int32_t small_m) { return small_m == FCPU_SMALL_M_NATIVE ? "native" : "onednn"; }

/* What the option amx came to, with the CPU's answer. */
static void amx_text(const flex_cpu *self, char *out, size_t cap) {
    if (self->tun.amx == FCPU_AMX_HW)
        snprintf(out, cap, "tile instructions (%s)", self->amx_reason);
    else if (self->tun.amx == FCPU_AMX_EMU)
        snprintf(out, cap, "emulated (test mode; this CPU: %s)", self->amx_reason);
    else if (self->amx_off)
        snprintf(out, cap, "off (option; this CPU: %s)", self->amx_reason);
    else
        snprintf(out, cap, "not used: %s", self->amx_reason);
}

static attn_status fcpu_create(const attn_host_services *host, const attn_option *options, uint32_t option_count,
                             void **out, char *msg, uint32_t msg_cap) {
    pin_runtimes();
    flex_cpu *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(msg, msg_cap, "out of memory");
        return ATTN_E_NOMEM;
    }
    self->host = host;
    /* The same defaults serve the AMX kernel (fcpu_amx.h): they are multiples of 32, so its
     * 2 x 2 blocks of 16 x 16 tiles are whole and P.V needs no re-laid copy of P; and a
     * tile's S [256 x 512] float32 (512 KiB), P, O and K/V packs (about 1.2 MiB in all) stay
     * in the Xeon's 2 MiB L2.  Smaller tiles would add per-tile work (O loaded and stored
     * around every P.V block, rescaled by the softmax) without a cache level to gain. */
    self->tun.q_tile = 256;
    self->tun.kv_tile = 512;
    self->tun.edge_tile = 64;
    self->tun.edge_tile_amx = 256;
    self->tun.split = 1;
    self->tun.small_m = FCPU_SMALL_M_NATIVE;
    attn_status st = parse_options(self, options, option_count, msg, msg_cap);
    if (st != ATTN_OK) {
        free(self);
        return st;
    }
    if (fcpu_prim_cache_init(&self->cache, msg, msg_cap) != 0) {
        free(self);
        return ATTN_E_UNAVAILABLE;
    }
    instance_born();
    self->cache.on_create = on_prim_created;
    self->cache.on_create_ctx = self;
    pthread_mutex_init(&self->run_lock, NULL);
    const dnnl_version_t *ver = dnnl_version();
    char text[400], amx[200];
    amx_text(self, amx, sizeof amx);
    snprintf(text, sizeof text,
             "oneDNN %d.%d.%d, bfloat16 %s, threads %d, q_tile %lld, kv_tile %lld, edge_tile %lld (AMX %lld), small_m %s, "
             "amx %s",
             ver->major, ver->minor, ver->patch, self->bf16_native ? "native (AVX512-BF16)" : "widened to float32",
             self->threads ? self->threads : omp_get_max_threads(), (long long)self->tun.q_tile,
             (long long)self->tun.kv_tile, (long long)self->tun.edge_tile, (long long)self->tun.edge_tile_amx,
             small_m_name(self->tun.small_m), amx);
    fcpu_log(self, ATTN_LOG_DEBUG, text);
    *out = self;
    return ATTN_OK;
}

static void fcpu_destroy(void *backend) {
    flex_cpu *self = backend;
    if (!self) return;
    fcpu_prim_cache_destroy(&self->cache);
    free(self->prep);
    pthread_mutex_destroy(&self->run_lock);
    free(self);
    instance_gone();
}

/* Every valid problem of SPEC.md is computed: all dtypes (float16 widened to float32 for
 * the matmuls), layouts, lengths, masks, modifiers, dropout and LSE.  run() calls this too,
 * so the two never disagree. */
static attn_status fcpu_check(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap) {
    (void)backend;
    (void)problem;
    (void)msg;
    (void)msg_cap;
    return ATTN_OK;
}

static fcpu_softmax_problem softmax_problem(const attn_problem *p, const fcpu_plan *pl) {
    fcpu_softmax_problem sp;
    memset(&sp, 0, sizeof sp);
    sp.scale = (float)(p->scale != 0.0 ? p->scale : 1.0 / sqrt((double)pl->D));
    sp.modifier = p->modifier;
    sp.softcap = p->softcap;
    sp.lambda = p->synaptic_lambda;
    sp.eps = p->synaptic_eps;
    sp.beta = p->synaptic_beta;
    if (p->modifier == ATTN_MOD_ALIBI) {
        sp.alibi = (const float *)((const char *)p->alibi_slopes.data + p->alibi_slopes.byte_offset);
        sp.alibi_stride = p->alibi_slopes.strides[0];
    }
    if (p->modifier == ATTN_MOD_SYNAPTIC) {
        sp.syn_w = (const float *)((const char *)p->synaptic_w.data + p->synaptic_w.byte_offset);
        sp.syn_sb = p->synaptic_w.strides[0];
        sp.syn_sh = p->synaptic_w.strides[1];
        sp.syn_sj = p->synaptic_w.strides[2];
    }
    sp.dropout = p->dropout_p > 0.0f;
    sp.drop_threshold = attn_dropout_threshold(p->dropout_p);
    sp.drop_scale = (float)(1.0 / (1.0 - (double)p->dropout_p));
    sp.seed = p->dropout_seed;
    sp.offset = p->dropout_offset;
    sp.hq = pl->Hq;
    sp.p_bf16 = pl->cdt == FCPU_CDT_BF16;
    return sp;
}

/* The parallel loop: items (largest first, dynamic), then merges of split items, then the
 * padding rows.  A failing thread records the first error; the others finish their share. */
static attn_status run_plan(flex_cpu *self, const attn_problem *p, const fcpu_plan *pl, char *msg, uint32_t msg_cap) {
    float *partial = NULL;
    if (pl->n_pieces) {
        partial = malloc(sizeof(float) * (size_t)(pl->n_pieces * fcpu_partial_floats(pl)));
        if (!partial) {
            snprintf(msg, msg_cap, "out of memory for %lld split pieces", (long long)pl->n_pieces);
            return ATTN_E_NOMEM;
        }
    }
    const fcpu_softmax_problem sp = softmax_problem(p, pl);
    int failed = 0;
    uint64_t tiles[3] = {0, 0, 0};
#pragma omp parallel num_threads(pl->threads)
    {
        fcpu_thread th;
        char tmsg[ATTN_MSG_CAP];
        int rc = fcpu_thread_init(&th, pl, self->cache.engine, tmsg, sizeof tmsg);
#pragma omp for schedule(dynamic, 1)
        for (int64_t u = 0; u < pl->prep_heads * pl->prep_parts; ++u) {
            if (rc != 0) continue;
            int64_t n = u / pl->prep_parts;
            int64_t b = 0, k = n; /* the n-th prepared head: batches in order, Hkv heads each */
            while (pl->prep_off[b] < 0 || k >= pl->Hkv) {
                if (pl->prep_off[b] >= 0) k -= pl->Hkv;
                b++;
            }
            fcpu_prepare_head(pl, &th, b, k, u % pl->prep_parts);
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t n = 0; n < pl->n_items; ++n) {
            if (rc == 0 && !__atomic_load_n(&failed, __ATOMIC_RELAXED))
                rc = fcpu_attend_item(pl, p, &sp, &th, &pl->items[n], partial, tmsg, sizeof tmsg);
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t n = 0; n < pl->n_merges; ++n)
            if (rc == 0) fcpu_merge_item(pl, &pl->merges[n], partial, &th);
#pragma omp for schedule(static)
        for (int64_t bh = 0; bh < pl->B * pl->Hq; ++bh) fcpu_write_padding(pl, bh / pl->Hq, bh % pl->Hq);
        /* The first failing thread reports.  No named critical section: it would export a
         * lock symbol from the plugin, which must export its entry point only. */
        int expected = 0;
        if (rc != 0 && __atomic_compare_exchange_n(&failed, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            snprintf(msg, msg_cap, "%s", tmsg);
        for (int c = 0; c < 3; ++c) __atomic_fetch_add(&tiles[c], th.tiles_seen[c], __ATOMIC_RELAXED);
        fcpu_thread_free(&th, pl);
    }
    free(partial);
    if (failed) return ATTN_E_INTERNAL;
    int64_t amx_items = 0;
    for (int64_t n = 0; n < pl->n_items; ++n) amx_items += fcpu_item_amx(pl, &pl->items[n]);
    char text[300];
    snprintf(text, sizeof text,
             "run: %lld items (%lld split pieces, %lld on %s), %lld prepared heads, %d threads, key tiles empty %llu "
             "full %llu partial %llu",
             (long long)pl->n_items, (long long)pl->n_pieces, (long long)amx_items,
             pl->amx == FCPU_AMX_EMU ? "emulated AMX" : "AMX", (long long)pl->prep_heads, pl->threads,
             (unsigned long long)tiles[0], (unsigned long long)tiles[1], (unsigned long long)tiles[2]);
    fcpu_log(self, ATTN_LOG_DEBUG, text);
    return ATTN_OK;
}

static attn_status fcpu_run(void *backend, const attn_problem *p, char *msg, uint32_t msg_cap) {
    flex_cpu *self = backend;
    attn_status st = fcpu_check(backend, p, msg, msg_cap);
    if (st != ATTN_OK) return st;
    pthread_mutex_lock(&self->run_lock);
    if (self->cache.count > FCPU_CACHE_LIMIT) fcpu_prim_cache_clear(&self->cache);
    fcpu_plan pl;
    int32_t threads = self->threads ? self->threads : omp_get_max_threads();
    st = fcpu_plan_build(&pl, p, &self->tun, self->bf16_native, threads, &self->cache, msg, msg_cap);
    if (st == ATTN_OK && pl.prep_bytes > self->prep_cap) {
        free(self->prep);
        self->prep_cap = (pl.prep_bytes + 4095) / 4096 * 4096;
        self->prep = aligned_alloc(4096, (size_t)self->prep_cap);
        if (!self->prep) {
            self->prep_cap = 0;
            snprintf(msg, msg_cap, "out of memory for the prepared K^T and V (%lld bytes)", (long long)pl.prep_bytes);
            st = ATTN_E_NOMEM;
        }
    }
    pl.prep = self->prep;
    if (st == ATTN_OK) st = run_plan(self, p, &pl, msg, msg_cap);
    if (self->prep_cap > FCPU_PREP_KEEP) { /* a large one goes back to the system */
        free(self->prep);
        self->prep = NULL;
        self->prep_cap = 0;
    }
    fcpu_plan_free(&pl);
    pthread_mutex_unlock(&self->run_lock);
    return st;
}

#if ATTN_ABI_MINOR >= 1
/* ABI 1.1: what tools print about this instance. */
static attn_status fcpu_describe(void *backend, char *out, uint32_t out_cap) {
    const flex_cpu *self = backend;
    char amx[200];
    amx_text(self, amx, sizeof amx);
    snprintf(out, out_cap,
             "oneDNN %d.%d matmul tiles (Q.K^T, P.V) with an online float32 softmax and a block mask (empty key "
             "tiles skipped, full ones unmasked); dtypes float32, bfloat16 (%s), float16 (tiles widened to float32); "
             "any head dims and strides; every SPEC.md feature; GQA heads share K/V tiles; items of <= %d rows by "
             "%s; bfloat16 prefill tiles on AMX: %s; q_tile %lld, kv_tile %lld, edge_tile %lld (AMX %lld), threads %d",
             dnnl_version()->major, dnnl_version()->minor, self->bf16_native ? "AVX512-BF16 matmuls" : "widened to float32",
             FCPU_NATIVE_MAX_M, self->tun.small_m == FCPU_SMALL_M_NATIVE ? "flex-cpu's streaming loops" : "oneDNN", amx,
             (long long)self->tun.q_tile, (long long)self->tun.kv_tile, (long long)self->tun.edge_tile,
             (long long)self->tun.edge_tile_amx, self->threads ? self->threads : omp_get_max_threads());
    return ATTN_OK;
}
#endif

static const attn_plugin_api flex_cpu_api = {
    .struct_size = sizeof(attn_plugin_api),
    .abi_version = ATTN_ABI_VERSION,
    .name = "flex-cpu",
    .version = "0.1.0",
    .description = "tiled attention with an online softmax and FlexAttention's block mask over oneDNN matmul "
                   "primitives (CPU)",
    .create = fcpu_create,
    .destroy = fcpu_destroy,
    .device_of = cpu_device_of,
    .check = fcpu_check,
    .run = fcpu_run,
    ATTN_CPU_DEVICE_SERVICES,
    .describe = fcpu_describe,
};

ATTN_PLUGIN_ENTRY(flex_cpu_api)
