#include "presets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct shape {
    const char *label;
    int64_t batch, q_heads, kv_heads, q_len, kv_len, head_dim;
    int32_t causal;
} shape;

/* Prefill at 16k tokens per batch (B*T = 16384) and a model width of 2048 (H = 2048 / D),
 * the sizes of FlashAttention's own benchmark, so numbers can be set side by side. */
static const shape prefill_shapes[] = {
    {"prefill T1024 D64 causal", 16, 32, 32, 1024, 1024, 64, 1},
    {"prefill T1024 D64 bidir", 16, 32, 32, 1024, 1024, 64, 0},
    {"prefill T1024 D128 causal", 16, 16, 16, 1024, 1024, 128, 1},
    {"prefill T1024 D128 bidir", 16, 16, 16, 1024, 1024, 128, 0},
    {"prefill T4096 D64 causal", 4, 32, 32, 4096, 4096, 64, 1},
    {"prefill T4096 D64 bidir", 4, 32, 32, 4096, 4096, 64, 0},
    {"prefill T4096 D128 causal", 4, 16, 16, 4096, 4096, 128, 1},
    {"prefill T4096 D128 bidir", 4, 16, 16, 4096, 4096, 128, 0},
    {"prefill T16384 D64 causal", 1, 32, 32, 16384, 16384, 64, 1},
    {"prefill T16384 D64 bidir", 1, 32, 32, 16384, 16384, 64, 0},
    {"prefill T16384 D128 causal", 1, 16, 16, 16384, 16384, 128, 1},
    {"prefill T16384 D128 bidir", 1, 16, 16, 16384, 16384, 128, 0},
    {"prefill GQA 16/4 T4096 D128 causal", 4, 16, 4, 4096, 4096, 128, 1},
};

/* Decoding against a KV cache: bandwidth-bound, so GB/s is the number to read. */
static const shape decode_shapes[] = {
    {"decode GQA 32/8 Tk8192", 8, 32, 8, 1, 8192, 128, 1},
    {"decode MHA 32/32 Tk8192", 8, 32, 32, 1, 8192, 128, 1},
    {"decode GQA 32/8 Tk131072", 1, 32, 8, 1, 131072, 128, 1},
    {"chunk decode 32/8 Tq128 Tk8192", 8, 32, 8, 128, 8192, 128, 1},
};

/* Small enough for the CPU reference in CI. */
static const shape tiny_shapes[] = {
    {"tiny prefill T64 D32 causal", 1, 2, 2, 64, 64, 32, 1},
    {"tiny decode GQA 4/2 Tk128", 2, 4, 2, 1, 128, 32, 1},
};

static attn_status append(const shape *shapes, size_t n, attn_case **cases, uint32_t *count, attn_error *err) {
    attn_case *grown = realloc(*cases, (*count + n) * sizeof **cases);
    if (!grown) return attn_error_set(err, ATTN_E_NOMEM, "out of memory");
    *cases = grown;
    for (size_t s = 0; s < n; ++s) {
        attn_case *c = &grown[(*count)++];
        attn_case_defaults(c);
        snprintf(c->row, sizeof c->row, "attnbench");
        snprintf(c->name, sizeof c->name, "%s", shapes[s].label);
        c->dtype = ATTN_DTYPE_BF16;
        c->batch = shapes[s].batch;
        c->q_heads = shapes[s].q_heads;
        c->kv_heads = shapes[s].kv_heads;
        c->q_len = shapes[s].q_len;
        c->kv_len = shapes[s].kv_len;
        c->head_dim = c->value_dim = shapes[s].head_dim;
        c->causal = shapes[s].causal;
    }
    return ATTN_OK;
}

#define APPEND(list) append(list, sizeof list / sizeof list[0], cases, count, err)

attn_status bench_preset(const char *name, attn_case **cases, uint32_t *count, attn_error *err) {
    if (strcmp(name, "prefill") == 0) return APPEND(prefill_shapes);
    if (strcmp(name, "decode") == 0) return APPEND(decode_shapes);
    if (strcmp(name, "tiny") == 0) return APPEND(tiny_shapes);
    if (strcmp(name, "all") == 0) {
        attn_status st = APPEND(prefill_shapes);
        return st == ATTN_OK ? APPEND(decode_shapes) : st;
    }
    return attn_error_set(err, ATTN_E_INVALID, "--preset: '%s' is not prefill, decode, all or tiny", name);
}
