/* naive-cpu: a complete attention plugin for libattn, written to be copied.
 *
 * It computes all of docs/SPEC.md (every mask, modifier, dropout, LSE, empty rows) on the
 * CPU, one query row at a time, accumulating in float32.  It is slow and obviously right:
 * start from it, keep its structure (options, one capability function shared by check() and
 * run(), device services, describe()), and replace compute_row() with your kernel.
 *
 * The rules it follows (docs/PLUGINS.md has the whole contract):
 *   - Exactly one exported symbol, attn_plugin_query.  Build with -fvisibility=hidden; every
 *     other function here is static.  Never link libattn: the host hands us what we need.
 *   - Nothing crosses the boundary but fixed-width integers, pointers and the structs of
 *     include/attn/.  Errors are a status plus a message written into the host's buffer.
 *   - Never abort(), exit() or let anything escape: a plugin that crashes takes the host down.
 *   - The shared math (visibility, modifiers, Philox dropout, dtype conversion) comes from the
 *     header-only attn_rules.h, attn_philox.h and attn_access.h, so this backend drops the same
 *     entries and masks the same keys as every other. */
#include <attn/plugin/attn_access.h> /* strided element access and dtype rounding for CPU tensors */
#include <attn/plugin/attn_philox.h> /* SPEC.md's reproducible dropout */
#include <attn/plugin/attn_plugin.h> /* the ABI: the table we return and the types it uses */
#include <attn/plugin/attn_rules.h>  /* SPEC.md's visibility rules and score modifiers */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Instance state ------------------------------------------------------------------ */

/* One backend instance per config entry.  The host never calls into one instance from two
 * threads at once, but may drive two instances concurrently: keep state here, not in globals. */
typedef struct naive_cpu {
    int64_t max_head_dim; /* option max_head_dim: a limit to show how refusals work; 0: none */
} naive_cpu;

/* Config options arrive as text ("max_head_dim: 256").  An unknown key is refused by name,
 * so a typo in a config is an error, not a silently ignored setting. */
static attn_status naive_create(const attn_host_services *host, const attn_option *options, uint32_t option_count,
                                void **out_backend, char *msg, uint32_t msg_cap) {
    (void)host; /* host->log(host->host_context, ATTN_LOG_INFO, "naive-cpu", "...") would log */
    naive_cpu config = {0};
    for (uint32_t n = 0; n < option_count; ++n) {
        const attn_option *option = &options[n]; /* borrowed for this call only: copy what you keep */
        if (strcmp(option->key, "max_head_dim") == 0) {
            char *end = NULL;
            long long value = strtoll(option->value, &end, 10);
            if (!end || end == option->value || *end || value < 0) {
                snprintf(msg, msg_cap, "option max_head_dim: '%s' is not a non-negative integer", option->value);
                return ATTN_E_INVALID;
            }
            config.max_head_dim = value;
        } else {
            snprintf(msg, msg_cap, "unknown option '%s' (known: max_head_dim)", option->key);
            return ATTN_E_INVALID;
        }
    }
    naive_cpu *self = malloc(sizeof *self);
    if (!self) {
        snprintf(msg, msg_cap, "out of memory");
        return ATTN_E_NOMEM;
    }
    *self = config;
    *out_backend = self; /* ours; the host hands it back to every call and to destroy() */
    return ATTN_OK;
}

static void naive_destroy(void *backend) { free(backend); }

/* ---- Capabilities ------------------------------------------------------------------------ */

/* The one place that decides what this backend computes.  check() answers with it and run()
 * refuses through it, so the two never disagree.  Every refusal carries a reason a person can
 * act on; ATTN_E_NOT_APPLICABLE is for features that mean nothing to a backend.  The host has
 * already validated the problem (shapes, strides, dtypes, aliasing) before we see it. */
/* Every field of attn_problem read here is ABI 1.0's, which every host hands over.  A field a
 * later minor appends is read only where ATTN_PROBLEM_HAS(p, field) says this host's problem
 * has it, and treated as off otherwise (docs/PLUGINS.md, "The problem grows the same way"). */
static attn_status capability(const naive_cpu *self, const attn_problem *p, char *msg, uint32_t msg_cap) {
    int64_t head_dim = p->q.shape[3];
    if (self->max_head_dim > 0 && head_dim > self->max_head_dim) {
        snprintf(msg, msg_cap, "head dim %lld > max_head_dim %lld", (long long)head_dim, (long long)self->max_head_dim);
        return ATTN_E_UNSUPPORTED;
    }
    if (p->q.device.device_type != kDLCPU) {
        snprintf(msg, msg_cap, "tensors must be on the CPU (device type %d given)", (int)p->q.device.device_type);
        return ATTN_E_UNSUPPORTED;
    }
    return ATTN_OK;
}

static attn_status naive_check(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap) {
    return capability(backend, problem, msg, msg_cap);
}

/* ABI 1.1: a summary for people (attninfo, attnmatrix --list).  It documents; check() decides. */
static attn_status naive_describe(void *backend, char *out, uint32_t out_cap) {
    const naive_cpu *self = backend;
    char limit[64] = "any head dim";
    if (self->max_head_dim > 0) snprintf(limit, sizeof limit, "head dim <= %lld", (long long)self->max_head_dim);
    snprintf(out, out_cap,
             "dtypes float32 float16 bfloat16 (LSE float32); %s; any strides; every SPEC.md feature "
             "(masks, lengths, documents, prefix-LM, softcap, ALiBi, synaptic, dropout, LSE); "
             "float32 accumulation, one query row at a time, one thread",
             limit);
    return ATTN_OK;
}

/* ---- The computation ---------------------------------------------------------------------- */

/* Per-batch integer of an optional [B] tensor, or the fallback when the tensor is absent.
 * Lengths live on our device, which for a CPU backend is host memory we can read. */
static int64_t per_batch(const DLTensor *t, int64_t b, int64_t fallback) {
    if (!attn_tensor_present(t)) return fallback;
    int64_t idx[1] = {b};
    return attn_load_i32(t, idx);
}

/* The score modifier's parameter for (b, h, j): softcap c, ALiBi slope, or synaptic weight. */
static float modifier_param(const attn_problem *p, int64_t b, int64_t h, int64_t j) {
    if (p->modifier == ATTN_MOD_SOFTCAP) return p->softcap;
    if (p->modifier == ATTN_MOD_ALIBI) {
        int64_t idx[1] = {h};
        return attn_load_float(&p->alibi_slopes, idx);
    }
    if (p->modifier == ATTN_MOD_SYNAPTIC) {
        int64_t idx[3] = {b, h, j};
        return attn_load_float(&p->synaptic_w, idx);
    }
    return 0.0f;
}

/* Scratch for one row: scores and visibility of every key, and one row of Q, K, V, O. */
typedef struct scratch {
    float *scores, *q, *k, *v, *acc;
    unsigned char *visible;
} scratch;

/* One query row (b, h, i): O[b,h,i,:] and LSE[b,h,i].  This is the function to replace. */
static void compute_row(const attn_problem *p, const attn_row_mask *row, int64_t b, int64_t h, int64_t i, scratch *s) {
    int64_t heads = p->q.shape[1], head_dim = p->q.shape[3], value_dim = p->v.shape[3];
    int64_t kv_head = h / (heads / p->k.shape[1]); /* GQA/MQA: query head h reads K/V head h / group */
    float scale = p->scale != 0.0 ? (float)p->scale : 1.0f / sqrtf((float)head_dim);
    int64_t qi[4] = {b, h, i, 0};
    attn_load_floats(&p->q, qi, head_dim, s->q);

    /* Scores of the keys the rules let this row see.  attn_row_key_range narrows the loop to
     * what lengths, causality and windows allow; attn_key_visible applies every rule. */
    int64_t lo, hi;
    attn_row_key_range(row, &lo, &hi);
    float max_score = -INFINITY;
    for (int64_t j = lo; j < hi; ++j) {
        int32_t doc_k = 0;
        if (row->has_docs) {
            int64_t di[2] = {b, j};
            doc_k = attn_load_i32(&p->doc_k, di);
        }
        s->visible[j] = (unsigned char)attn_key_visible(row, j, doc_k);
        if (!s->visible[j]) continue;
        int64_t ki[4] = {b, kv_head, j, 0};
        attn_load_floats(&p->k, ki, head_dim, s->k);
        float dot = 0.0f;
        for (int64_t e = 0; e < head_dim; ++e) dot += s->q[e] * s->k[e];
        float distance = fabsf((float)(row->pos - j));
        float score = attn_modify_scoref(p->modifier, dot * scale, modifier_param(p, b, h, j), distance, (float)row->kv_len,
                                         p->synaptic_lambda, p->synaptic_eps, p->synaptic_beta);
        s->scores[j] = score;
        if (score > max_score) max_score = score; /* masked keys never reach the max */
    }

    for (int64_t e = 0; e < value_dim; ++e) s->acc[e] = 0.0f;
    float lse = -INFINITY; /* a row with no visible key: O = 0 exactly, LSE = -inf */
    if (max_score > -INFINITY) {
        float sum = 0.0f;
        for (int64_t j = lo; j < hi; ++j)
            if (s->visible[j]) sum += expf(s->scores[j] - max_score);
        lse = max_score + logf(sum); /* after the modifier, before dropout (SPEC.md) */
        uint32_t threshold = attn_dropout_threshold(p->dropout_p);
        float keep_scale = 1.0f / (1.0f - p->dropout_p);
        for (int64_t j = lo; j < hi; ++j) {
            if (!s->visible[j]) continue;
            float weight = expf(s->scores[j] - max_score) / sum;
            /* Dropout: a pure function of (seed, offset, b, h, pos, j), so every backend drops
             * the same entries.  p == 0 means no Philox work at all. */
            if (p->dropout_p > 0.0f)
                weight = attn_dropout_keep(p->dropout_seed, p->dropout_offset, b, h, heads, row->pos, j, threshold)
                             ? weight * keep_scale
                             : 0.0f;
            if (weight == 0.0f) continue;
            int64_t vi[4] = {b, kv_head, j, 0};
            attn_load_floats(&p->v, vi, value_dim, s->v);
            for (int64_t e = 0; e < value_dim; ++e) s->acc[e] += weight * s->v[e];
        }
    }
    for (int64_t e = 0; e < value_dim; ++e) {
        int64_t oi[4] = {b, h, i, e};
        attn_store_float(&p->o, oi, s->acc[e]); /* rounds to O's dtype */
    }
    if (attn_tensor_present(&p->lse)) { /* LSE is optional and always float32 */
        int64_t li[3] = {b, h, i};
        *(float *)attn_elem_ptr(&p->lse, li) = lse;
    }
}

/* The query rows of batch b: the mask facts of each row, then compute_row; padding rows
 * (i >= q_len[b]) are written as empty rows. */
static void compute_batch(const attn_problem *p, int64_t b, scratch *s) {
    int64_t heads = p->q.shape[1], q_rows = p->q.shape[2];
    int64_t q_len = per_batch(&p->q_len, b, q_rows), kv_len = per_batch(&p->kv_len, b, p->k.shape[2]);
    attn_row_mask row = {0};
    row.kv_len = kv_len;
    row.prefix_len = per_batch(&p->prefix_len, b, 0);
    row.causal = p->causal;
    row.window_left = p->window_left;
    row.window_right = p->window_right;
    row.has_docs = attn_tensor_present(&p->doc_q);
    for (int64_t i = 0; i < q_rows; ++i) {
        row.pos = attn_query_pos(i, q_len, kv_len); /* bottom-right alignment */
        if (row.has_docs) {
            int64_t di[2] = {b, i};
            row.doc_q = attn_load_i32(&p->doc_q, di);
        }
        attn_row_mask this_row = row;
        if (i >= q_len) this_row.kv_len = 0; /* a padding row sees no key */
        for (int64_t h = 0; h < heads; ++h) compute_row(p, &this_row, b, h, i, s);
    }
}

static attn_status naive_run(void *backend, const attn_problem *p, char *msg, uint32_t msg_cap) {
    attn_status st = capability(backend, p, msg, msg_cap); /* the same answer check() gave */
    if (st != ATTN_OK) return st;
    int64_t batch = p->q.shape[0], q_rows = p->q.shape[2], keys = p->k.shape[2];
    /* Length values live on the device, so bounding them is the backend's job. */
    for (int64_t b = 0; b < batch; ++b) {
        int64_t q_len = per_batch(&p->q_len, b, q_rows), kv_len = per_batch(&p->kv_len, b, keys);
        if (q_len < 0 || q_len > q_rows || kv_len < 0 || kv_len > keys) {
            snprintf(msg, msg_cap, "batch %lld: q_len %lld / kv_len %lld outside [0, %lld] / [0, %lld]", (long long)b,
                     (long long)q_len, (long long)kv_len, (long long)q_rows, (long long)keys);
            return ATTN_E_INVALID;
        }
    }
    int64_t head_dim = p->q.shape[3], value_dim = p->v.shape[3];
    size_t key_slots = (size_t)(keys > 0 ? keys : 1);
    scratch s;
    s.scores = malloc(sizeof(float) * key_slots);
    s.visible = malloc(key_slots);
    s.q = malloc(sizeof(float) * (size_t)(2 * head_dim + 2 * value_dim));
    if (!s.scores || !s.visible || !s.q) {
        free(s.scores);
        free(s.visible);
        free(s.q);
        snprintf(msg, msg_cap, "out of memory for a row of %lld keys", (long long)keys);
        return ATTN_E_NOMEM;
    }
    s.k = s.q + head_dim;
    s.v = s.k + head_dim;
    s.acc = s.v + value_dim;
    for (int64_t b = 0; b < batch; ++b) compute_batch(p, b, &s);
    free(s.scores);
    free(s.visible);
    free(s.q);
    return ATTN_OK;
}

/* ---- Device services: how the host moves data to and from our device ----------------- */
/* A GPU plugin allocates and copies with its runtime here; a CPU one uses host memory. */

static attn_status naive_device_of(void *backend, DLDevice *out_device, char *msg, uint32_t msg_cap) {
    (void)backend;
    (void)msg;
    (void)msg_cap;
    out_device->device_type = kDLCPU;
    out_device->device_id = 0;
    return ATTN_OK;
}

static attn_status naive_alloc(void *backend, uint64_t bytes, void **out_ptr, char *msg, uint32_t msg_cap) {
    (void)backend;
    /* The ABI promises 256-byte alignment; aligned_alloc wants a multiple of it, and a
     * zero-byte tensor still gets a pointer. */
    uint64_t rounded = (bytes + 255u) / 256u * 256u;
    if (rounded == 0) rounded = 256;
    if (rounded < bytes || rounded > (uint64_t)SIZE_MAX) {
        snprintf(msg, msg_cap, "cannot allocate %llu bytes: the size overflows", (unsigned long long)bytes);
        return ATTN_E_NOMEM;
    }
    *out_ptr = aligned_alloc(256, (size_t)rounded);
    if (!*out_ptr) {
        snprintf(msg, msg_cap, "out of host memory allocating %llu bytes", (unsigned long long)bytes);
        return ATTN_E_NOMEM;
    }
    return ATTN_OK;
}

static void naive_free(void *backend, void *ptr) {
    (void)backend;
    free(ptr);
}

static attn_status naive_copy(void *backend, void *dst, const void *src, uint64_t bytes, char *msg, uint32_t msg_cap) {
    (void)backend;
    (void)msg;
    (void)msg_cap;
    if (bytes) memcpy(dst, src, (size_t)bytes);
    return ATTN_OK;
}

/* run() is synchronous here; an asynchronous backend waits for its stream. */
static attn_status naive_synchronize(void *backend, char *msg, uint32_t msg_cap) {
    (void)backend;
    (void)msg;
    (void)msg_cap;
    return ATTN_OK;
}

/* ---- The table and the entry point ---------------------------------------------------- */

/* Designated initializers: entries that later ABI minors append stay NULL ("not
 * implemented") and the file keeps compiling warning-free against newer headers. */
static const attn_plugin_api naive_cpu_api = {
    .struct_size = sizeof(attn_plugin_api), /* the table as these headers define it */
    .abi_version = ATTN_ABI_VERSION,        /* the version these headers speak */
    .name = "naive-cpu",
    .version = "1.0.0",
    .description = "template plugin: every SPEC.md feature on the CPU, float32, one query row at a time",
    .create = naive_create,
    .destroy = naive_destroy,
    .device_of = naive_device_of,
    .check = naive_check,
    .run = naive_run,
    .alloc = naive_alloc,
    .free = naive_free,
    .copy_to_device = naive_copy,
    .copy_to_host = naive_copy,
    .synchronize = naive_synchronize,
    .describe = naive_describe, /* ABI 1.1 */
    /* ABI 1.2: .reads = ATTN_READS_MASK_MOD | ATTN_READS_SCORE_MOD once check() and run() read
     * mask_mod and score_mod (plugins/common/cpu_expr.h shows how on the CPU).  Left 0, libattn
     * answers problems that set them with "not implemented" on this plugin's behalf. */
};

/* The one exported symbol, attn_plugin_query.  The host offers its newest ABI version; the
 * macro refuses an offer of another major, naming both versions, and otherwise hands back the
 * table above, whose abi_version is that of the headers we were compiled with (docs/PLUGINS.md,
 * "Versions").  A plugin that needs the host's services or a device probe before answering
 * writes attn_plugin_query itself and ends with attn_plugin_answer_offer(). */
ATTN_PLUGIN_ENTRY(naive_cpu_api)
