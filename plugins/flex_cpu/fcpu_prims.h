/* oneDNN matmul primitives of flex-cpu, created once per shape and kept for the backend's
 * life.  Creation (descriptor, implementation choice, JIT) costs ~0.2 ms, so run() asks for
 * every shape it will need before its parallel loop and the loop only executes.
 *
 * Two products per key tile:
 *   QK: S[M, N] (f32)  = Qp[M, D] . K^T, with K^T either K's rows read as [D, N] with strides
 *       (1, ldb) (oneDNN transposes them into its own buffer on every call) or a K^T that
 *       flex-cpu transposed once per head, [D, N] with strides (ldb, 1)
 *   PV: O[M, Dv] (f32) += P[M, N] . V[N, Dv], V with strides (ldb, 1); the += is oneDNN's
 *       sum post-op, so the running output never leaves the primitive's accumulator pass.
 * Qp, S, P and O are packed (leading dimension = their column count). */
#ifndef FCPU_PRIMS_H
#define FCPU_PRIMS_H

#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define FCPU_OP_QK 0
#define FCPU_OP_PV 1

/* Compute dtypes of the tile products (operands; accumulation is always f32). */
#define FCPU_CDT_F32 0
#define FCPU_CDT_BF16 1

typedef struct fcpu_prim_key {
    int32_t op, cdt;
    int64_t m, n, k; /* QK: m, n = keys, k = D.  PV: m, n = Dv, k = keys */
    int64_t ldb;     /* row stride of K, K^T (QK) or V (PV) in elements */
    int32_t k_transposed; /* QK: 1 when B is flex-cpu's K^T [D, N], 0 when it is K's rows */
} fcpu_prim_key;

typedef struct fcpu_prim {
    fcpu_prim_key key;
    dnnl_primitive_t prim;
    dnnl_memory_desc_t src_md, wei_md, dst_md, scratch_md;
    size_t scratch_bytes;
    char impl[64]; /* oneDNN's implementation name, e.g. "brg:avx512_core" */
} fcpu_prim;

typedef struct fcpu_prim_cache {
    dnnl_engine_t engine;
    pthread_mutex_t lock;
    fcpu_prim **entries;
    size_t count, cap;
    uint64_t created; /* primitives created over the cache's life: the tests read it */
    /* Called after each creation (logging); may be NULL. */
    void (*on_create)(void *ctx, const fcpu_prim *p, uint64_t serial);
    void *on_create_ctx;
} fcpu_prim_cache;

/* 0 on success, else a oneDNN status with msg filled. */
int fcpu_prim_cache_init(fcpu_prim_cache *cache, char *msg, size_t msg_cap);
void fcpu_prim_cache_destroy(fcpu_prim_cache *cache);

/* The primitive of key, created on first use.  Thread-safe (one lock; meant for the
 * planning phase, not the hot loop).  NULL on failure with msg filled. */
const fcpu_prim *fcpu_prim_get(fcpu_prim_cache *cache, const fcpu_prim_key *key, char *msg, size_t msg_cap);

/* Drops every cached primitive (bounds memory when shapes keep changing).  Not while a run
 * uses them: run() holds the backend's run lock around planning and execution. */
void fcpu_prim_cache_clear(fcpu_prim_cache *cache);

/* Per-thread execution handles of one primitive: memory objects whose data handles are
 * swapped before each execution (memory objects are not thread-safe; primitives are). */
typedef struct fcpu_exec {
    const fcpu_prim *p;
    dnnl_memory_t src, wei, dst, scratch;
} fcpu_exec;

int fcpu_exec_init(fcpu_exec *e, const fcpu_prim *p, dnnl_engine_t engine, void *scratch_buf);
void fcpu_exec_destroy(fcpu_exec *e);
/* Executes on the calling thread.  0 or a oneDNN status. */
int fcpu_exec_run(fcpu_exec *e, dnnl_stream_t stream, const void *src, const void *wei, void *dst);

/* oneDNN's status as text, for messages. */
const char *fcpu_dnnl_status_text(dnnl_status_t st);

#endif
