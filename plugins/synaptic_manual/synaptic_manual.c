/* synaptic-manual: attention as an eager framework computes it, the `Synaptic (Manual)`
 * column of the original edge-case note.  Scores of a block of query rows against all keys
 * are materialised in float32, then modifier, mask, softmax, dropout (Philox, SPEC.md) and
 * P.V with P rounded to the dtype; inputs and outputs float32, float16 or bfloat16.
 *
 * Memory is bounded by the option `block_bytes` (default 64 MiB): the rows of one block
 * times Tk float32 scores, never B.H.Tq.Tk.  The block loop is in sm_block.c. */
#include <attn/plugin/attn_access.h>
#include <attn/plugin/attn_philox.h>
#include <attn/plugin/attn_plugin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cpu_device.h"
#include "../common/cpu_lengths.h"
#include "sm_block.h"

#define SM_DEFAULT_BLOCK_BYTES (64ull << 20)

typedef struct synaptic_manual {
    uint64_t block_bytes; /* scratch budget of one block of query rows */
} synaptic_manual;

/* "65536", "512K", "64M", "1G" (binary multiples).  0 on success, -1 when malformed. */
static int parse_bytes(const char *text, uint64_t *out) {
    char *end = NULL;
    if (!text || *text < '0' || *text > '9') return -1;
    unsigned long long value = strtoull(text, &end, 10);
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k') shift = 10;
    if (*end == 'M' || *end == 'm') shift = 20;
    if (*end == 'G' || *end == 'g') shift = 30;
    if (shift) ++end;
    if (*end != '\0' || value == 0 || value > (~0ull >> shift)) return -1;
    *out = (uint64_t)value << shift;
    return 0;
}

static attn_status sm_create(const attn_host_services *host, const attn_option *options, uint32_t option_count,
                             void **out, char *msg, uint32_t msg_cap) {
    (void)host;
    synaptic_manual self = {SM_DEFAULT_BLOCK_BYTES};
    for (uint32_t n = 0; n < option_count; ++n) {
        const attn_option *opt = &options[n];
        if (strcmp(opt->key, "block_bytes") == 0) {
            if (parse_bytes(opt->value, &self.block_bytes) != 0) {
                snprintf(msg, msg_cap, "option block_bytes: '%s' is not a positive byte count (e.g. 67108864 or 64M)",
                         opt->value);
                return ATTN_E_INVALID;
            }
        } else {
            snprintf(msg, msg_cap, "unknown option '%s' (known: block_bytes)", opt->key);
            return ATTN_E_INVALID;
        }
    }
    synaptic_manual *instance = malloc(sizeof *instance);
    if (!instance) {
        snprintf(msg, msg_cap, "out of memory");
        return ATTN_E_NOMEM;
    }
    *instance = self;
    *out = instance;
    return ATTN_OK;
}

static void sm_destroy(void *backend) { free(backend); }

/* Every row of SPEC.md is computed: nothing the host validated is refused.  run() reaches
 * the same answer through this function before it bound-checks the lengths. */
static attn_status sm_check(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap) {
    (void)backend;
    (void)problem;
    (void)msg;
    (void)msg_cap;
    return ATTN_OK;
}

static sm_call describe(const attn_problem *p) {
    sm_call c;
    memset(&c, 0, sizeof c);
    c.p = p;
    c.batch = p->q.shape[0];
    c.hq = p->q.shape[1];
    c.tq = p->q.shape[2];
    c.d = p->q.shape[3];
    c.hkv = p->k.shape[1];
    c.tk = p->k.shape[2];
    c.dv = p->v.shape[3];
    c.group = c.hq / c.hkv;
    /* As the baseline: the scale in double, then one float multiply per score. */
    c.scale = (float)(p->scale != 0.0 ? p->scale : 1.0 / sqrt((double)c.d));
    c.dropout = p->dropout_p > 0.0f;
    c.drop_threshold = attn_dropout_threshold(p->dropout_p);
    c.drop_scale = (float)(1.0 / (1.0 - (double)p->dropout_p));
    c.code = p->q.dtype.code;
    c.bits = p->q.dtype.bits;
    return c;
}

/* Rows per block: as many as the budget holds, at least one, at most Tq. */
static int64_t block_rows(const sm_call *c, uint64_t budget) {
    uint64_t one = sm_scratch_bytes(c, 1), fixed = sm_scratch_bytes(c, 0);
    uint64_t per_row = one - fixed;
    uint64_t rows = budget > fixed ? (budget - fixed) / per_row : 0;
    if (rows < 1) rows = 1;
    if (rows > (uint64_t)c->tq) rows = (uint64_t)c->tq;
    return (int64_t)rows;
}

static attn_status sm_run(void *backend, const attn_problem *p, char *msg, uint32_t msg_cap) {
    const synaptic_manual *self = backend;
    attn_status st = sm_check(backend, p, msg, msg_cap);
    if (st != ATTN_OK) return st;
    sm_call c = describe(p);
    st = cpu_check_lengths(p, msg, msg_cap);
    if (st != ATTN_OK) return st;
    if (c.batch == 0 || c.hq == 0 || c.tq == 0) return ATTN_OK;

    cpu_expr_error expr_error = {0};
    c.expr_error = &expr_error;
    if (cpu_expr_bind_problem(&c.mask_mod, &c.score_mod, p) && !(c.expr_scratch = malloc(sizeof *c.expr_scratch))) {
        snprintf(msg, msg_cap, "out of memory for the expressions' scratch");
        return ATTN_E_NOMEM;
    }
    int64_t rows = block_rows(&c, self->block_bytes);
    sm_scratch s;
    if (sm_scratch_alloc(&c, rows, &s) != 0) {
        free(c.expr_scratch);
        snprintf(msg, msg_cap, "out of memory for a block of %lld rows x %lld keys (%llu bytes)", (long long)rows,
                 (long long)c.tk, (unsigned long long)sm_scratch_bytes(&c, rows));
        return ATTN_E_NOMEM;
    }
    for (int64_t b = 0; b < c.batch; ++b) {
        int64_t q_len = cpu_per_batch(&p->q_len, b, c.tq), kv_len = cpu_per_batch(&p->kv_len, b, c.tk);
        int64_t prefix_len = cpu_per_batch(&p->prefix_len, b, 0);
        for (int64_t h = 0; h < c.hq; ++h)
            for (int64_t i0 = 0; i0 < c.tq; i0 += rows) {
                int64_t n = c.tq - i0 < rows ? c.tq - i0 : rows;
                sm_block_run(&c, &s, b, h, i0, n, q_len, kv_len, prefix_len);
            }
    }
    sm_scratch_free(&s);
    free(c.expr_scratch);
    /* An expression's error at a visible pair fails the call: O holds no answer then. */
    if (expr_error.status != ATTN_EXPR_OK) {
        cpu_expr_error_message(&expr_error, msg, msg_cap);
        return ATTN_E_INVALID;
    }
    return ATTN_OK;
}

/* ABI 1.1: what attninfo prints.  Every row of SPEC.md; the one knob is the block budget. */
static attn_status sm_describe(void *backend, char *out, uint32_t out_cap) {
    const synaptic_manual *self = backend;
    snprintf(out, out_cap,
             "dtypes float32 float16 bfloat16 (LSE float32); any head dim and value dim; any strides; "
             "features: causal, bidirectional, windows, lengths, documents, prefix-LM, softcap, ALiBi, synaptic, "
             "dropout (Philox), LSE, mask_mod and score_mod (interpreted); float32 scores materialised per block of query rows, P rounded to the dtype, "
             "float32 P.V; CPU, one thread; block_bytes %llu (scratch per block, never B.H.Tq.Tk)",
             (unsigned long long)self->block_bytes);
    return ATTN_OK;
}

static const attn_plugin_api synaptic_manual_api = {
    .struct_size = sizeof(attn_plugin_api),
    .abi_version = ATTN_ABI_VERSION,
    .name = "synaptic-manual",
    .version = "1.0.0",
    .description = "eager materialised attention on the CPU: float32 scores per block of query rows, P rounded to "
                   "the dtype (option block_bytes bounds the scratch)",
    .create = sm_create,
    .destroy = sm_destroy,
    .device_of = cpu_device_of,
    .check = sm_check,
    .run = sm_run,
    ATTN_CPU_DEVICE_SERVICES,
    .describe = sm_describe,
    .reads = ATTN_READS_MASK_MOD | ATTN_READS_SCORE_MOD, /* ABI 1.2: sm_block.c, as the eager baseline */
};

ATTN_PLUGIN_ENTRY(synaptic_manual_api)
