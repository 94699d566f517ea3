/* The masking/caching table of SPEC.md: its rows and the instances that exercise each.
 *
 * Sizes are small on purpose: the float64 reference runs every instance twice (golden and
 * baseline) besides its own column, on two CPU cores in CI.  Each instance still crosses
 * the boundaries that break kernels: ragged and zero lengths, cache views with a poisoned
 * tail, BTHD strides, odd sizes, GQA/MQA head mapping. */
#include <stdlib.h>
#include <string.h>

#include "attn_case.h"

static const attn_row_info rows[] = {
    {"Causal full-seq", "Tq == Tk, causal, no cache"},
    {"KV decode (Tq==1)", "one query against a cached prefix, K/V as strided views of a longer cache buffer"},
    {"KV chunk decode (Tk>Tq>1)", "several queries against a cached prefix, bottom-right causal"},
    {"MHA", "Hkv == Hq"},
    {"GQA", "1 < Hkv < Hq"},
    {"MQA", "Hkv == 1"},
    {"Padding mask (ragged batches)", "per-batch q_len / kv_len, zero lengths included"},
    {"Bidirectional attention", "no causal rule"},
    {"Attention dropout", "p > 0, Philox, and the kept fraction within 0.01 of 1 - p"},
    {"Sliding window", "w_left / w_right, with and without causal"},
    {"Softcap", "tanh capping"},
    {"ALiBi", "per-head slopes"},
    {"Document mask", "packed sequences with doc ids, causal inside each document"},
    {"Prefix-LM", "bidirectional prefix, causal after"},
    {"Synaptic augmentation", "the synaptic modifier"},
    {"LSE output", "LSE compared as well as O; two disjoint halves merged through LSE equal the whole"},
    {"Empty rows", "rows with no visible key give O = 0, LSE = -inf"},
    {"Odd sizes", "Tq, Tk, D that are not multiples of any tile (113 x 203, D = 80)"},
    {"Large logits", "scores reaching 1e4 in magnitude: no overflow, no lost rows"},
    {"Long context decode", "Tk = 128k with Tq = 1"},
};

uint32_t attn_catalogue_row_count(void) { return (uint32_t)(sizeof rows / sizeof rows[0]); }
const attn_row_info *attn_catalogue_row(uint32_t index) { return index < attn_catalogue_row_count() ? &rows[index] : NULL; }

typedef struct builder {
    attn_case *cases;
    uint32_t count, cap;
    int failed;
} builder;

static attn_case shape(const char *row, int64_t batch, int64_t q_heads, int64_t kv_heads, int64_t q_len, int64_t kv_len,
                       int64_t head_dim) {
    attn_case c;
    attn_case_defaults(&c);
    strncpy(c.row, row, sizeof c.row - 1);
    c.batch = batch;
    c.q_heads = q_heads;
    c.kv_heads = kv_heads;
    c.q_len = q_len;
    c.kv_len = kv_len;
    c.head_dim = c.value_dim = head_dim;
    return c;
}

static void set_lengths(attn_case *c, const int32_t *q_lens, const int32_t *kv_lens) {
    c->has_lengths = 1;
    memcpy(c->q_lens, q_lens, sizeof(int32_t) * (size_t)c->batch);
    memcpy(c->kv_lens, kv_lens, sizeof(int32_t) * (size_t)c->batch);
}

/* Adds the case once per dtype, each with its own data seed. */
static void add(builder *b, attn_case c) {
    for (int32_t dtype = 0; dtype < ATTN_DTYPE_COUNT; ++dtype) {
        if (b->count == b->cap) {
            uint32_t cap = b->cap ? b->cap * 2 : 64;
            attn_case *grown = realloc(b->cases, sizeof *grown * cap);
            if (!grown) {
                b->failed = 1;
                return;
            }
            b->cases = grown;
            b->cap = cap;
        }
        c.dtype = dtype;
        c.data_seed = 1000u + b->count;
        c.name[0] = '\0';
        attn_case_label(&c, c.name, sizeof c.name);
        b->cases[b->count++] = c;
    }
}

static void causal_full_seq(builder *b) {
    const char *row = rows[0].name;
    add(b, shape(row, 2, 4, 4, 128, 128, 64));
    attn_case c = shape(row, 1, 8, 2, 96, 96, 128);
    c.layout = ATTN_LAYOUT_BTHD;
    add(b, c);
}

static void kv_decode(builder *b) {
    const char *row = rows[1].name;
    attn_case c = shape(row, 2, 8, 2, 1, 200, 64);
    c.kv_cache_len = 256;
    add(b, c);
    c = shape(row, 3, 4, 4, 1, 96, 64);
    c.kv_cache_len = 128;
    c.layout = ATTN_LAYOUT_BTHD;
    set_lengths(&c, (const int32_t[]){1, 1, 1}, (const int32_t[]){96, 13, 60}); /* a batch of caches at different fill */
    add(b, c);
}

static void chunk_decode(builder *b) {
    const char *row = rows[2].name;
    attn_case c = shape(row, 2, 8, 2, 16, 160, 64);
    c.kv_cache_len = 192;
    add(b, c);
    c = shape(row, 1, 4, 4, 33, 100, 64);
    c.layout = ATTN_LAYOUT_BTHD;
    add(b, c);
}

/* The head-layout rows: full sequence, chunk decode and decode for one head mapping. */
static void head_layout(builder *b, const char *row, int64_t q_heads, int64_t kv_heads) {
    add(b, shape(row, 2, q_heads, kv_heads, 64, 64, 64));
    attn_case c = shape(row, 2, q_heads, kv_heads, 8, 72, 64);
    c.kv_cache_len = 80;
    add(b, c);
    c = shape(row, 2, q_heads, kv_heads, 1, 90, 32);
    add(b, c);
}

static void padding(builder *b) {
    const char *row = rows[6].name;
    attn_case c = shape(row, 4, 4, 2, 48, 64, 64);
    set_lengths(&c, (const int32_t[]){48, 10, 0, 1}, (const int32_t[]){64, 30, 0, 17});
    add(b, c);
    c.causal = 0;
    set_lengths(&c, (const int32_t[]){20, 48, 7, 0}, (const int32_t[]){64, 5, 0, 33});
    add(b, c);
}

static void bidirectional(builder *b) {
    const char *row = rows[7].name;
    attn_case c = shape(row, 2, 4, 4, 64, 64, 64);
    c.causal = 0;
    add(b, c);
    c = shape(row, 2, 8, 2, 16, 80, 64);
    c.causal = 0;
    add(b, c);
}

static void dropout(builder *b) {
    const char *row = rows[8].name;
    attn_case c = shape(row, 2, 4, 2, 64, 64, 64);
    c.dropout_p = 0.1f;
    add(b, c);
    c = shape(row, 2, 4, 2, 8, 96, 64); /* chunk decode: the counter uses the absolute position */
    c.dropout_p = 0.5f;
    c.dropout_seed = 0x123456789abcdefULL;
    c.dropout_offset = 7;
    add(b, c);
    c = shape(row, 1, 2, 2, 4, 4096, 32); /* 32768 visible entries: the kept fraction is measured */
    c.causal = 0;
    c.dropout_p = 0.3f;
    c.checks = ATTN_CHECK_KEPT_FRACTION;
    add(b, c);
}

static void sliding_window(builder *b) {
    const char *row = rows[9].name;
    attn_case c = shape(row, 2, 4, 2, 64, 64, 64);
    c.window_left = 16;
    add(b, c);
    c.causal = 0;
    c.window_left = 8;
    c.window_right = 8;
    add(b, c);
    c = shape(row, 2, 4, 2, 16, 96, 64);
    c.window_left = 20;
    c.window_right = 0;
    add(b, c);
}

static void softcap(builder *b) {
    const char *row = rows[10].name;
    attn_case c = shape(row, 2, 4, 2, 64, 64, 64);
    c.modifier = ATTN_MOD_SOFTCAP;
    c.softcap = 5.0f;
    c.input_scale = 3.0f; /* scores of size ~9: the cap bites */
    add(b, c);
    c = shape(row, 2, 4, 2, 1, 100, 64);
    c.modifier = ATTN_MOD_SOFTCAP;
    c.softcap = 5.0f;
    c.input_scale = 3.0f;
    add(b, c);
}

static void alibi(builder *b) {
    const char *row = rows[11].name;
    attn_case c = shape(row, 2, 8, 2, 64, 64, 64);
    c.modifier = ATTN_MOD_ALIBI;
    add(b, c);
    c = shape(row, 2, 8, 2, 12, 80, 64);
    c.modifier = ATTN_MOD_ALIBI;
    add(b, c);
}

static void documents(builder *b) {
    const char *row = rows[12].name;
    attn_case c = shape(row, 2, 4, 2, 96, 96, 64);
    c.doc_count = 3;
    memcpy(c.doc_sizes, (const int32_t[]){30, 40, 26}, 3 * sizeof(int32_t));
    add(b, c);
    c.causal = 0;
    c.doc_count = 4;
    memcpy(c.doc_sizes, (const int32_t[]){1, 50, 20, 25}, 4 * sizeof(int32_t));
    add(b, c);
}

static void prefix_lm(builder *b) {
    const char *row = rows[13].name;
    attn_case c = shape(row, 2, 4, 2, 64, 64, 64);
    c.has_prefix = 1;
    c.prefix_lens[0] = 20;
    c.prefix_lens[1] = 0;
    add(b, c);
    c = shape(row, 2, 4, 2, 16, 64, 64); /* chunk whose prefix reaches past the queries' positions */
    c.has_prefix = 1;
    c.prefix_lens[0] = 64;
    c.prefix_lens[1] = 55;
    add(b, c);
}

static void synaptic(builder *b) {
    const char *row = rows[14].name;
    attn_case c = shape(row, 2, 4, 2, 64, 64, 64);
    c.modifier = ATTN_MOD_SYNAPTIC;
    add(b, c);
    c = shape(row, 2, 4, 2, 1, 128, 64);
    c.modifier = ATTN_MOD_SYNAPTIC;
    set_lengths(&c, (const int32_t[]){1, 1}, (const int32_t[]){128, 40});
    add(b, c);
    c = shape(row, 1, 4, 1, 16, 80, 64);
    c.modifier = ATTN_MOD_SYNAPTIC;
    c.dropout_p = 0.2f;
    add(b, c);
}

static void lse_output(builder *b) {
    const char *row = rows[15].name;
    attn_case c = shape(row, 2, 4, 2, 64, 64, 64);
    c.want_lse = 1;
    add(b, c);
    c = shape(row, 2, 4, 2, 48, 96, 64);
    c.causal = 0;
    c.want_lse = 1;
    c.checks = ATTN_CHECK_LSE_MERGE;
    add(b, c);
}

static void empty_rows(builder *b) {
    const char *row = rows[16].name;
    attn_case c = shape(row, 2, 4, 2, 16, 16, 64);
    c.want_lse = 1;
    set_lengths(&c, (const int32_t[]){16, 8}, (const int32_t[]){0, 4}); /* an empty cache; queries before key 0 */
    add(b, c);
    c = shape(row, 1, 4, 4, 12, 12, 64);
    c.want_lse = 1;
    c.causal = 0;
    c.window_left = 0;
    c.window_right = 0;
    set_lengths(&c, (const int32_t[]){12}, (const int32_t[]){6}); /* windows that miss every key */
    add(b, c);
}

static void odd_sizes(builder *b) {
    const char *row = rows[17].name;
    add(b, shape(row, 1, 3, 1, 113, 203, 80));
    attn_case c = shape(row, 1, 2, 2, 113, 113, 80);
    c.value_dim = 48;
    c.layout = ATTN_LAYOUT_BTHD;
    add(b, c);
}

static void large_logits(builder *b) {
    const char *row = rows[18].name;
    attn_case c = shape(row, 1, 4, 2, 64, 64, 64);
    c.input_scale = 50.0f; /* scale * q.k has a standard deviation of 2500: maxima near 1e4 */
    c.want_lse = 1;
    add(b, c);
}

static void long_context(builder *b) {
    const char *row = rows[19].name;
    add(b, shape(row, 1, 8, 2, 1, 131072, 64));
}

attn_status attn_catalogue_instances(attn_case **out, uint32_t *count, attn_error *err) {
    builder b = {0};
    causal_full_seq(&b);
    kv_decode(&b);
    chunk_decode(&b);
    head_layout(&b, rows[3].name, 4, 4);
    head_layout(&b, rows[4].name, 8, 2);
    head_layout(&b, rows[5].name, 4, 1);
    padding(&b);
    bidirectional(&b);
    dropout(&b);
    sliding_window(&b);
    softcap(&b);
    alibi(&b);
    documents(&b);
    prefix_lm(&b);
    synaptic(&b);
    lse_output(&b);
    empty_rows(&b);
    odd_sizes(&b);
    large_logits(&b);
    long_context(&b);
    if (b.failed) {
        free(b.cases);
        return attn_error_set(err, ATTN_E_NOMEM, "out of memory building the catalogue");
    }
    for (uint32_t n = 0; n < b.count; ++n) {
        attn_error why;
        if (attn_case_validate(&b.cases[n], &why) != ATTN_OK) {
            free(b.cases);
            return attn_error_set(err, ATTN_E_INTERNAL, "built-in case %s is invalid: %s", b.cases[n].name, why.message);
        }
    }
    *out = b.cases;
    *count = b.count;
    return ATTN_OK;
}
