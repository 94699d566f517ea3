#include "fcpu_prims.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fcpu_dnnl_status_text(dnnl_status_t st) {
    switch (st) {
    case dnnl_success: return "success";
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "unimplemented";
    case dnnl_iterator_ends: return "iterator ends";
    case dnnl_runtime_error: return "runtime error";
    case dnnl_not_required: return "not required";
    default: return "unknown status";
    }
}

int fcpu_prim_cache_init(fcpu_prim_cache *cache, char *msg, size_t msg_cap) {
    memset(cache, 0, sizeof *cache);
    dnnl_status_t st = dnnl_engine_create(&cache->engine, dnnl_cpu, 0);
    if (st != dnnl_success) {
        snprintf(msg, msg_cap, "oneDNN CPU engine: %s", fcpu_dnnl_status_text(st));
        return (int)st;
    }
    pthread_mutex_init(&cache->lock, NULL);
    return 0;
}

static void prim_free(fcpu_prim *p) {
    if (!p) return;
    if (p->prim) dnnl_primitive_destroy(p->prim);
    free(p);
}

void fcpu_prim_cache_clear(fcpu_prim_cache *cache) {
    pthread_mutex_lock(&cache->lock);
    for (size_t n = 0; n < cache->count; ++n) prim_free(cache->entries[n]);
    cache->count = 0;
    pthread_mutex_unlock(&cache->lock);
}

void fcpu_prim_cache_destroy(fcpu_prim_cache *cache) {
    if (!cache->engine) return;
    fcpu_prim_cache_clear(cache);
    free(cache->entries);
    pthread_mutex_destroy(&cache->lock);
    dnnl_engine_destroy(cache->engine);
    memset(cache, 0, sizeof *cache);
}

static int key_equal(const fcpu_prim_key *a, const fcpu_prim_key *b) {
    return a->op == b->op && a->cdt == b->cdt && a->m == b->m && a->n == b->n && a->k == b->k && a->ldb == b->ldb &&
           a->k_transposed == b->k_transposed;
}

/* Builds the descriptor and primitive for one key. */
static dnnl_status_t prim_create(dnnl_engine_t engine, const fcpu_prim_key *key, fcpu_prim *p) {
    dnnl_data_type_t dt = key->cdt == FCPU_CDT_BF16 ? dnnl_bf16 : dnnl_f32;
    dnnl_dims_t src_dims = {key->m, key->k}, wei_dims = {key->k, key->n}, dst_dims = {key->m, key->n};
    dnnl_dims_t src_strides = {key->k, 1}, dst_strides = {key->n, 1};
    dnnl_dims_t wei_strides_qk = {1, key->ldb}; /* K^T as K's rows: [N, D] with row stride ldb */
    dnnl_dims_t wei_strides_plain = {key->ldb, 1}; /* flex-cpu's K^T [D, N], or V [N, Dv] */
    dnnl_status_t st = dnnl_memory_desc_init_by_strides(&p->src_md, 2, src_dims, dt, src_strides);
    if (st == dnnl_success)
        st = dnnl_memory_desc_init_by_strides(&p->wei_md, 2, wei_dims, dt,
                                              key->op == FCPU_OP_QK && !key->k_transposed ? wei_strides_qk
                                                                                        : wei_strides_plain);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_strides(&p->dst_md, 2, dst_dims, dnnl_f32, dst_strides);
    if (st != dnnl_success) return st;

    dnnl_matmul_desc_t desc;
    st = dnnl_matmul_desc_init(&desc, &p->src_md, &p->wei_md, NULL, &p->dst_md);
    if (st != dnnl_success) return st;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t post_ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    st = dnnl_primitive_attr_create(&attr);
    /* Each thread brings its own scratchpad: nothing is shared between concurrent executions. */
    if (st == dnnl_success) st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success && key->op == FCPU_OP_PV) {
        st = dnnl_post_ops_create(&post_ops);
        if (st == dnnl_success) st = dnnl_post_ops_append_sum(post_ops, 1.0f);
        if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(attr, post_ops);
    }
    if (st == dnnl_success) st = dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL);
    if (st == dnnl_success) {
        const char *impl = "?";
        if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success) impl = "?";
        snprintf(p->impl, sizeof p->impl, "%s", impl);
        const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        if (smd) {
            p->scratch_md = *smd;
            p->scratch_bytes = dnnl_memory_desc_get_size(smd);
        }
        st = dnnl_primitive_create(&p->prim, pd);
    }
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (post_ops) dnnl_post_ops_destroy(post_ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

const fcpu_prim *fcpu_prim_get(fcpu_prim_cache *cache, const fcpu_prim_key *key, char *msg, size_t msg_cap) {
    pthread_mutex_lock(&cache->lock);
    for (size_t n = 0; n < cache->count; ++n) {
        if (key_equal(&cache->entries[n]->key, key)) {
            fcpu_prim *found = cache->entries[n];
            pthread_mutex_unlock(&cache->lock);
            return found;
        }
    }
    fcpu_prim *p = NULL;
    if (cache->count == cache->cap) {
        size_t cap = cache->cap ? cache->cap * 2 : 32;
        fcpu_prim **grown = realloc(cache->entries, cap * sizeof *grown);
        if (!grown) goto nomem;
        cache->entries = grown;
        cache->cap = cap;
    }
    p = calloc(1, sizeof *p);
    if (!p) goto nomem;
    p->key = *key;
    dnnl_status_t st = prim_create(cache->engine, key, p);
    if (st != dnnl_success) {
        snprintf(msg, msg_cap, "oneDNN matmul %s %s M=%lld N=%lld K=%lld ldb=%lld: %s",
                 key->op == FCPU_OP_PV ? "P.V" : key->k_transposed ? "Q.(K^T)" : "Q.K^T",
                 key->cdt == FCPU_CDT_BF16 ? "bf16" : "f32", (long long)key->m, (long long)key->n, (long long)key->k,
                 (long long)key->ldb, fcpu_dnnl_status_text(st));
        prim_free(p);
        pthread_mutex_unlock(&cache->lock);
        return NULL;
    }
    cache->entries[cache->count++] = p;
    uint64_t serial = ++cache->created;
    if (cache->on_create) cache->on_create(cache->on_create_ctx, p, serial);
    pthread_mutex_unlock(&cache->lock);
    return p;
nomem:
    free(p);
    pthread_mutex_unlock(&cache->lock);
    snprintf(msg, msg_cap, "out of memory for the primitive cache");
    return NULL;
}

int fcpu_exec_init(fcpu_exec *e, const fcpu_prim *p, dnnl_engine_t engine, void *scratch_buf) {
    memset(e, 0, sizeof *e);
    e->p = p;
    /* Handles start empty: fcpu_exec_run sets them before every execution. */
    dnnl_status_t st = dnnl_memory_create(&e->src, &p->src_md, engine, DNNL_MEMORY_NONE);
    if (st == dnnl_success) st = dnnl_memory_create(&e->wei, &p->wei_md, engine, DNNL_MEMORY_NONE);
    if (st == dnnl_success) st = dnnl_memory_create(&e->dst, &p->dst_md, engine, DNNL_MEMORY_NONE);
    if (st == dnnl_success && p->scratch_bytes)
        st = dnnl_memory_create(&e->scratch, &p->scratch_md, engine, scratch_buf);
    if (st != dnnl_success) fcpu_exec_destroy(e);
    return (int)st;
}

void fcpu_exec_destroy(fcpu_exec *e) {
    if (e->src) dnnl_memory_destroy(e->src);
    if (e->wei) dnnl_memory_destroy(e->wei);
    if (e->dst) dnnl_memory_destroy(e->dst);
    if (e->scratch) dnnl_memory_destroy(e->scratch);
    memset(e, 0, sizeof *e);
}

int fcpu_exec_run(fcpu_exec *e, dnnl_stream_t stream, const void *src, const void *wei, void *dst) {
    /* oneDNN's handles are non-const; it only reads src and weights. */
    dnnl_status_t st = dnnl_memory_set_data_handle(e->src, (void *)(uintptr_t)src);
    if (st == dnnl_success) st = dnnl_memory_set_data_handle(e->wei, (void *)(uintptr_t)wei);
    if (st == dnnl_success) st = dnnl_memory_set_data_handle(e->dst, dst);
    if (st != dnnl_success) return (int)st;
    dnnl_exec_arg_t args[4] = {
        {DNNL_ARG_SRC, e->src}, {DNNL_ARG_WEIGHTS, e->wei}, {DNNL_ARG_DST, e->dst}, {DNNL_ARG_SCRATCHPAD, e->scratch}};
    return (int)dnnl_primitive_execute(e->p->prim, stream, e->scratch ? 4 : 3, args);
}
