/* Running an instance on a backend: lay the host tensors out as the case says (layout,
 * KV-cache view), move them through the plugin's own device services, check, run, and
 * bring O and LSE back in the canonical layout.
 *
 * Poison: the cache tail beyond the view, the keys of a ragged batch past kv_len[b] (inside
 * the view), O and LSE are filled with NaN before the run, so a backend that reads outside its
 * view, lets an invisible key reach O (0 * NaN) or leaves an output element unwritten fails. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attn/plugin/attn_access.h"
#include "attn_case.h"

#define MAX_BUFFERS 20

/* One problem staged on a backend's device, with everything that must be freed. */
typedef struct staged {
    attn_backend *backend;
    attn_problem problem;
    int64_t shapes[12 + ATTN_CASE_MAX_AUX][4], strides[12 + ATTN_CASE_MAX_AUX][4]; /* slots 12.. for aux */
    DLTensor aux[ATTN_CASE_MAX_AUX];
    const char *aux_names[ATTN_CASE_MAX_AUX];
    void *device[MAX_BUFFERS];
    int32_t device_count;
    void *o_host, *lse_host; /* host staging of the outputs */
    uint64_t o_bytes, lse_bytes;
    int64_t o_strides[4];
    int64_t key_count; /* keys in the view */
} staged;

static void staged_free(staged *s) {
    for (int32_t n = 0; n < s->device_count; ++n) attn_backend_free(s->backend, s->device[n]);
    free(s->o_host);
    free(s->lse_host);
    s->device_count = 0;
    s->o_host = s->lse_host = NULL;
}

/* Allocates `bytes` on the device, copies host data there, returns the device pointer. */
static attn_status upload(staged *s, const void *host, uint64_t bytes, void **out, attn_error *err) {
    if (s->device_count >= MAX_BUFFERS) return attn_error_set(err, ATTN_E_INTERNAL, "too many staged buffers");
    attn_status st = attn_backend_alloc(s->backend, bytes, out, err);
    if (st != ATTN_OK) return st;
    s->device[s->device_count++] = *out;
    return host ? attn_backend_to_device(s->backend, *out, host, bytes, err) : ATTN_OK;
}

static void set_tensor(DLTensor *t, void *data, DLDevice device, DLDataType dtype, int32_t ndim, int64_t *shape,
                       int64_t *strides) {
    t->data = data;
    t->device = device;
    t->ndim = ndim;
    t->dtype = dtype;
    t->shape = shape;
    t->strides = strides;
    t->byte_offset = 0;
}

/* Strides of a [B, H, T, D] tensor stored as BHTD or BTHD with T_alloc rows per head. */
static void layout_strides(int32_t layout, int64_t heads, int64_t t_alloc, int64_t dim, int64_t *strides) {
    if (layout == ATTN_LAYOUT_BTHD) {
        strides[0] = t_alloc * heads * dim;
        strides[1] = dim;
        strides[2] = heads * dim;
    } else {
        strides[0] = heads * t_alloc * dim;
        strides[1] = t_alloc * dim;
        strides[2] = dim;
    }
    strides[3] = 1;
}

/* Writes canonical float data [B,H,T,D] (rows t of `src` from t_begin) into a dtype buffer laid
 * out with `strides`, rounding to the dtype.  The buffer was poisoned beforehand.  Rows
 * t_begin + t at or past lens[b] (when lens is given: the keys of a ragged batch that are
 * never visible, like a cache's unwritten tail, or the query rows past q_len[b], whose O is 0
 * and LSE -inf whatever they hold) are written as NaN too. */
static void scatter(const float *src, int64_t batch, int64_t heads, int64_t t_src, int64_t t_begin, int64_t t_count,
                    int64_t dim, const int32_t *lens, DLDataType dtype, void *dst, const int64_t *strides) {
    int64_t shape[4] = {batch, heads, t_count, dim};
    DLTensor view = {dst, {kDLCPU, 0}, 4, dtype, shape, (int64_t *)strides, 0};
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t h = 0; h < heads; ++h)
            for (int64_t t = 0; t < t_count; ++t)
                for (int64_t d = 0; d < dim; ++d) {
                    int64_t idx[4] = {b, h, t, d};
                    int hidden = lens && t_begin + t >= lens[b];
                    attn_store_float(&view, idx, hidden ? NAN : src[((b * heads + h) * t_src + t_begin + t) * dim + d]);
                }
}

static void fill_nan(void *buffer, uint64_t count, DLDataType dtype) {
    for (uint64_t n = 0; n < count; ++n) {
        if (dtype.bits == 32)
            ((float *)buffer)[n] = NAN;
        else
            ((uint16_t *)buffer)[n] = dtype.code == kDLBfloat ? 0x7fc0 : 0x7e00;
    }
}

/* A [B,H,T_alloc,D] buffer of the case's dtype in the case's layout, holding rows
 * [t_begin, t_begin + t_count) of src at the start of each head (NaN from lens[b] on, see
 * scatter), NaN after. */
static attn_status stage_main(staged *s, const attn_case *c, int32_t layout, const float *src, const int32_t *lens,
                              int64_t heads, int64_t t_src, int64_t t_begin, int64_t t_count, int64_t t_alloc, int64_t dim,
                              int slot, DLTensor *tensor, DLDevice device, attn_error *err) {
    DLDataType dtype = attn_dtype_dl(c->dtype);
    uint64_t count = (uint64_t)(c->batch * heads * t_alloc * dim);
    uint64_t bytes = count * (dtype.bits / 8);
    void *host = malloc(bytes ? bytes : 1);
    if (!host) return attn_error_set(err, ATTN_E_NOMEM, "out of host memory staging %llu bytes", (unsigned long long)bytes);
    fill_nan(host, count, dtype);
    layout_strides(layout, heads, t_alloc, dim, s->strides[slot]);
    if (src) scatter(src, c->batch, heads, t_src, t_begin, t_count, dim, lens, dtype, host, s->strides[slot]);
    void *data;
    attn_status st = upload(s, host, bytes, &data, err);
    free(host);
    if (st != ATTN_OK) return st;
    s->shapes[slot][0] = c->batch;
    s->shapes[slot][1] = heads;
    s->shapes[slot][2] = t_count;
    s->shapes[slot][3] = dim;
    set_tensor(tensor, data, device, dtype, 4, s->shapes[slot], s->strides[slot]);
    return ATTN_OK;
}

/* A contiguous tensor of any element size (int32, float32, uint8). */
static attn_status stage_aux(staged *s, const void *src, DLDataType dtype, int32_t ndim, const int64_t *shape, int slot,
                             DLTensor *tensor, DLDevice device, attn_error *err) {
    uint64_t count = 1;
    for (int32_t d = ndim - 1; d >= 0; --d) {
        s->shapes[slot][d] = shape[d];
        s->strides[slot][d] = (int64_t)count;
        count *= (uint64_t)shape[d];
    }
    void *data;
    attn_status st = upload(s, src, count * (uint64_t)(dtype.bits / 8), &data, err);
    if (st != ATTN_OK) return st;
    set_tensor(tensor, data, device, dtype, ndim, s->shapes[slot], s->strides[slot]);
    return ATTN_OK;
}

static attn_status stage(staged *s, attn_backend *backend, const attn_instance *inst, const attn_exec_options *options,
                         attn_error *err) {
    memset(s, 0, sizeof *s);
    s->backend = backend;
    const attn_case *c = &inst->c;
    DLDevice device;
    attn_status st = attn_backend_device(backend, &device, err);
    if (st != ATTN_OK) return st;
    int canonical = options && options->canonical;
    int32_t layout = canonical ? ATTN_LAYOUT_BHTD : c->layout;
    int64_t key_begin = 0, key_end = c->kv_len;
    if (options && (options->key_begin || options->key_end)) {
        key_begin = options->key_begin;
        key_end = options->key_end;
        if (key_begin < 0 || key_end > c->kv_len || key_begin > key_end)
            return attn_error_set(err, ATTN_E_INVALID, "key range [%lld, %lld) outside [0, %lld)", (long long)key_begin,
                                  (long long)key_end, (long long)c->kv_len);
    }
    s->key_count = key_end - key_begin;
    if (s->key_count != c->kv_len && (inst->kv_lens || inst->doc_k || inst->synaptic_w))
        return attn_error_set(err, ATTN_E_INVALID, "a key sub-range cannot be taken with lengths, documents or synaptic weights");
    int64_t cache = canonical ? s->key_count : (c->kv_cache_len > s->key_count ? c->kv_cache_len : s->key_count);

    attn_problem *p = &s->problem;
    p->struct_size = sizeof *p;
    DLDataType i32 = {kDLInt, 32, 1}, f32 = {kDLFloat, 32, 1};
    if ((st = stage_main(s, c, layout, inst->q, inst->q_lens, c->q_heads, c->q_len, 0, c->q_len, c->q_len, c->head_dim, 0, &p->q, device, err)) ||
        (st = stage_main(s, c, layout, inst->k, inst->kv_lens, c->kv_heads, c->kv_len, key_begin, s->key_count, cache, c->head_dim, 1, &p->k, device, err)) ||
        (st = stage_main(s, c, layout, inst->v, inst->kv_lens, c->kv_heads, c->kv_len, key_begin, s->key_count, cache, c->value_dim, 2, &p->v, device, err)) ||
        (st = stage_main(s, c, layout, NULL, NULL, c->q_heads, c->q_len, 0, c->q_len, c->q_len, c->value_dim, 3, &p->o, device, err)))
        return st;
    memcpy(s->o_strides, s->strides[3], sizeof s->o_strides);
    s->o_bytes = (uint64_t)(c->batch * c->q_heads * c->q_len * c->value_dim) * attn_dtype_size(c->dtype);

    int64_t batch_shape[1] = {c->batch}, lse_shape[3] = {c->batch, c->q_heads, c->q_len};
    if (c->want_lse || (options && options->force_lse)) {
        uint64_t count = (uint64_t)(c->batch * c->q_heads * c->q_len);
        float *poison = malloc(sizeof(float) * (count ? count : 1));
        if (!poison) return attn_error_set(err, ATTN_E_NOMEM, "out of host memory");
        for (uint64_t n = 0; n < count; ++n) poison[n] = NAN;
        st = stage_aux(s, poison, f32, 3, lse_shape, 4, &p->lse, device, err);
        free(poison);
        if (st != ATTN_OK) return st;
        s->lse_bytes = count * 4;
    }
    if (inst->q_lens && ((st = stage_aux(s, inst->q_lens, i32, 1, batch_shape, 5, &p->q_len, device, err)) ||
                         (st = stage_aux(s, inst->kv_lens, i32, 1, batch_shape, 6, &p->kv_len, device, err))))
        return st;
    if (inst->doc_q) {
        int64_t dq[2] = {c->batch, c->q_len}, dk[2] = {c->batch, c->kv_len};
        if ((st = stage_aux(s, inst->doc_q, i32, 2, dq, 7, &p->doc_q, device, err)) ||
            (st = stage_aux(s, inst->doc_k, i32, 2, dk, 8, &p->doc_k, device, err)))
            return st;
    }
    if (inst->prefix_lens && (st = stage_aux(s, inst->prefix_lens, i32, 1, batch_shape, 9, &p->prefix_len, device, err)))
        return st;
    int64_t heads_shape[1] = {c->q_heads}, w_shape[3] = {c->batch, c->q_heads, c->kv_len};
    if (inst->alibi_slopes && (st = stage_aux(s, inst->alibi_slopes, f32, 1, heads_shape, 10, &p->alibi_slopes, device, err)))
        return st;
    if (inst->synaptic_w && (st = stage_aux(s, inst->synaptic_w, f32, 3, w_shape, 11, &p->synaptic_w, device, err)))
        return st;

    attn_case_problem_scalars(c, p);
    p->mask_mod = inst->mask_mod; /* host memory: the expression is not data a kernel reads in place */
    p->score_mod = inst->score_mod;
    for (int32_t k = 0; k < c->aux_count; ++k) {
        const attn_case_aux *a = &c->aux[k];
        DLDataType dtype = a->type == ATTN_EXPR_FLOAT ? f32 : a->type == ATTN_EXPR_INT ? i32 : (DLDataType){kDLUInt, 8, 1};
        if ((st = stage_aux(s, inst->aux[k], dtype, a->rank, a->shape, 12 + k, &s->aux[k], device, err)) != ATTN_OK)
            return st;
        s->aux_names[k] = a->name;
    }
    p->aux = c->aux_count ? s->aux : NULL;
    p->aux_names = c->aux_count ? s->aux_names : NULL;
    p->aux_count = (uint32_t)c->aux_count;
    return attn_problem_validate_lengths(p, inst->q_lens, inst->kv_lens, inst->prefix_lens, err);
}

/* Copies O (and LSE) back and converts them to canonical float32. */
static attn_status collect(staged *s, const attn_instance *inst, attn_result *out, attn_error *err) {
    const attn_case *c = &inst->c;
    attn_problem *p = &s->problem;
    s->o_host = malloc(s->o_bytes ? s->o_bytes : 1);
    uint64_t count = (uint64_t)(c->batch * c->q_heads * c->q_len);
    out->o = malloc(sizeof(float) * (count * (uint64_t)c->value_dim + 1));
    if (!s->o_host || !out->o) return attn_error_set(err, ATTN_E_NOMEM, "out of host memory");
    attn_status st = attn_backend_to_host(s->backend, s->o_host, p->o.data, s->o_bytes, err);
    if (st != ATTN_OK) return st;
    DLTensor host_o = p->o;
    host_o.data = s->o_host;
    for (int64_t b = 0, n = 0; b < c->batch; ++b)
        for (int64_t h = 0; h < c->q_heads; ++h)
            for (int64_t i = 0; i < c->q_len; ++i)
                for (int64_t e = 0; e < c->value_dim; ++e, ++n) {
                    int64_t idx[4] = {b, h, i, e};
                    out->o[n] = attn_load_float(&host_o, idx);
                }
    if (s->lse_bytes) {
        out->lse = malloc(s->lse_bytes);
        if (!out->lse) return attn_error_set(err, ATTN_E_NOMEM, "out of host memory");
        return attn_backend_to_host(s->backend, out->lse, p->lse.data, s->lse_bytes, err);
    }
    return ATTN_OK;
}

attn_status attn_instance_execute(attn_backend *backend, const attn_instance *inst, const attn_exec_options *options,
                                  attn_result *out, attn_error *err) {
    memset(out, 0, sizeof *out);
    staged s;
    attn_status st = stage(&s, backend, inst, options, err);
    if (st == ATTN_OK) st = attn_backend_run(backend, &s.problem, err);
    if (st == ATTN_OK) st = collect(&s, inst, out, err);
    staged_free(&s);
    if (st != ATTN_OK) attn_result_free(out);
    return st;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

attn_status attn_instance_time(attn_backend *backend, const attn_instance *inst, int32_t warmup, int32_t repeats,
                               double *times_ms, double *call_ms, attn_error *err) {
    staged s;
    attn_status st = stage(&s, backend, inst, NULL, err);
    if (st == ATTN_OK) st = attn_backend_check(backend, &s.problem, err);
    for (int32_t n = 0; st == ATTN_OK && n < warmup + repeats; ++n) {
        double start = now_ms();
        st = attn_backend_run_prevalidated(backend, &s.problem, err); /* synchronises before returning */
        if (st == ATTN_OK && n >= warmup) times_ms[n - warmup] = now_ms() - start;
    }
    for (int32_t n = 0; call_ms && st == ATTN_OK && n < repeats; ++n) {
        double start = now_ms();
        st = attn_backend_run(backend, &s.problem, err);
        if (st == ATTN_OK) call_ms[n] = now_ms() - start;
    }
    staged_free(&s);
    return st;
}
