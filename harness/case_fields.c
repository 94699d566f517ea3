/* The one table of attn_case's fields (case_fields.h says who reads it). */
#include "case_fields.h"

#include <stdio.h>
#include <string.h>

#define MEMBER(m) .key = #m, .offset = offsetof(attn_case, m), .size = sizeof(((attn_case *)0)->m)
#define RANGE(lo, hi) .min = (lo), .max = (hi)
#define OPTION(name, value, text) .flag = (name), .metavar = (value), .help = (text)
#define LIST_MARKER(m) .list_marker = offsetof(attn_case, m)
#define INT32_TOP 2147483647.0
#define SIZE_TOP 65536 /* heads and head dimensions: far above any model, far below overflow */
#define REAL_TOP 1e30

static const attn_case_field fields[] = {
    {MEMBER(row), .kind = ATTN_FIELD_TEXT, .initial_text = "Custom", .help = "the table row it belongs to"},
    {MEMBER(name), .kind = ATTN_FIELD_TEXT, .help = "short label, made from the fields when empty"},
    {MEMBER(dtype), .kind = ATTN_FIELD_DTYPE, .initial = ATTN_DTYPE_F32,
     OPTION("dtype", NULL, "element type of Q, K, V, O")},
    {MEMBER(layout), .kind = ATTN_FIELD_LAYOUT, .initial = ATTN_LAYOUT_BHTD,
     OPTION("layout", NULL, "memory layout of Q, K, V, O")},
    {MEMBER(batch), .kind = ATTN_FIELD_INT64, RANGE(1, ATTN_CASE_MAX_BATCH), .initial = 1,
     OPTION("batch", "B", "batch size")},
    {MEMBER(q_heads), .kind = ATTN_FIELD_INT64, RANGE(1, SIZE_TOP), .initial = 4,
     OPTION("q-heads", "Hq", "query heads")},
    {MEMBER(kv_heads), .kind = ATTN_FIELD_INT64, RANGE(1, SIZE_TOP), .initial = 4,
     OPTION("kv-heads", "Hkv", "key/value heads (Hq a multiple of them: MHA, GQA, MQA)")},
    {MEMBER(q_len), .kind = ATTN_FIELD_INT64, RANGE(0, INT32_TOP), .initial = 64, OPTION("q-len", "Tq", "queries")},
    {MEMBER(kv_len), .kind = ATTN_FIELD_INT64, RANGE(0, INT32_TOP), .initial = 64, OPTION("kv-len", "Tk", "keys")},
    {MEMBER(head_dim), .kind = ATTN_FIELD_INT64, RANGE(1, SIZE_TOP), .initial = 64,
     OPTION("head-dim", "D", "head dimension of Q and K")},
    {MEMBER(value_dim), .kind = ATTN_FIELD_INT64, RANGE(1, SIZE_TOP), .initial = 64, .follows = "head_dim",
     OPTION("value-dim", "Dv", "head dimension of V and O (Dv follows D unless given)")},
    {MEMBER(kv_cache_len), .kind = ATTN_FIELD_INT64, RANGE(0, INT32_TOP),
     OPTION("kv-cache-len", "N", "K/V are views into a cache N keys long (0: Tk)")},
    {MEMBER(causal), .kind = ATTN_FIELD_BOOL, .initial = 1, .flag_off = "bidirectional",
     OPTION("causal", NULL, "causal (the default, bottom-right aligned) or not")},
    {MEMBER(window_left), .kind = ATTN_FIELD_INT32, RANGE(-1, INT32_TOP), .initial = -1, .flag_pair = 1,
     OPTION("window", "L,R", "keys seen left and right of the diagonal (-1: unbounded)")},
    {MEMBER(window_right), .kind = ATTN_FIELD_INT32, RANGE(-1, INT32_TOP), .initial = -1},
    {MEMBER(q_lens), .kind = ATTN_FIELD_BATCH_LIST, RANGE(0, INT32_TOP), LIST_MARKER(has_lengths),
     OPTION("q-lens", "a,b,...", "per-batch query lengths (one value per batch entry)")},
    {MEMBER(kv_lens), .kind = ATTN_FIELD_BATCH_LIST, RANGE(0, INT32_TOP), LIST_MARKER(has_lengths),
     OPTION("kv-lens", "a,b,...", "per-batch key lengths (one value per batch entry)")},
    {MEMBER(doc_sizes), .kind = ATTN_FIELD_DOC_LIST, RANGE(1, INT32_TOP), LIST_MARKER(doc_count),
     OPTION("docs", "s1,s2,...", "document sizes (packed sequences); the last runs to the end")},
    {MEMBER(prefix_lens), .kind = ATTN_FIELD_BATCH_LIST, RANGE(0, INT32_TOP), LIST_MARKER(has_prefix),
     OPTION("prefix-lens", "a,b,...", "prefix-LM prefix per batch entry")},
    {MEMBER(modifier), .kind = ATTN_FIELD_MODIFIER, .initial = ATTN_MOD_NONE, .help = "score modifier (one at most)"},
    {MEMBER(softcap), .kind = ATTN_FIELD_FLOAT, RANGE(1e-30, REAL_TOP), .initial = 30, .metavar = "C"},
    {MEMBER(synaptic_lambda), .kind = ATTN_FIELD_FLOAT, RANGE(-REAL_TOP, REAL_TOP), .initial = 1},
    {MEMBER(synaptic_eps), .kind = ATTN_FIELD_FLOAT, RANGE(1e-30, REAL_TOP), .initial = 1e-6},
    {MEMBER(synaptic_beta), .kind = ATTN_FIELD_FLOAT, RANGE(-REAL_TOP, REAL_TOP), .initial = 0.1},
    {MEMBER(scale), .kind = ATTN_FIELD_DOUBLE, RANGE(0, REAL_TOP), OPTION("scale", "S", "score scale (0: 1/sqrt(D))")},
    /* [0, 1]: attn_case_validate refuses 1 with the reason. */
    {MEMBER(dropout_p), .kind = ATTN_FIELD_FLOAT, RANGE(0, 1), OPTION("dropout", "P", "attention dropout probability")},
    {MEMBER(dropout_seed), .kind = ATTN_FIELD_UINT64, .initial = 0x5eed, OPTION("dropout-seed", "S", "dropout's seed")},
    {MEMBER(dropout_offset), .kind = ATTN_FIELD_UINT32, RANGE(0, 4294967295.0),
     OPTION("dropout-offset", "O", "dropout's offset")},
    {MEMBER(want_lse), .kind = ATTN_FIELD_BOOL, OPTION("lse", NULL, "also compute the log-sum-exp of each row")},
    {MEMBER(input_scale), .kind = ATTN_FIELD_FLOAT, RANGE(1e-30, REAL_TOP), .initial = 1,
     OPTION("input-scale", "X", "Q and K are multiplied by X (large logits)")},
    {MEMBER(data_seed), .kind = ATTN_FIELD_UINT64, .initial = 1, OPTION("seed", "N", "seed of the generated inputs")},
    {MEMBER(checks), .kind = ATTN_FIELD_CHECKS, .help = "extra properties the row checks"},
    {MEMBER(mask_mod), .kind = ATTN_FIELD_TEXT,
     OPTION("mask-mod", "EXPR", "a mask expression over b, h, q_idx, kv_idx (SPEC.md \"Expressions\")")},
    {MEMBER(score_mod), .kind = ATTN_FIELD_TEXT,
     OPTION("score-mod", "EXPR", "a score expression over score, b, h, q_idx, kv_idx (SPEC.md \"Expressions\")")},
    {MEMBER(aux), .kind = ATTN_FIELD_AUX, .help = "tensors the expressions read by name: {dtype, shape, fill or values}"},
};
#define FIELD_COUNT (sizeof fields / sizeof fields[0])
_Static_assert(FIELD_COUNT <= ATTN_CASE_FIELD_CAP, "raise ATTN_CASE_FIELD_CAP");

/* CHECKS by name: bit n is 1u << n. */
static const char *const check_names[] = {"lse_merge", "kept_fraction"};
#define CHECK_COUNT (int32_t)(sizeof check_names / sizeof check_names[0])
_Static_assert(ATTN_CHECK_LSE_MERGE == 1u << 0 && ATTN_CHECK_KEPT_FRACTION == 1u << 1, "check_names is in bit order");

uint32_t attn_case_field_count(void) { return FIELD_COUNT; }

const attn_case_field *attn_case_field_at(uint32_t index) { return index < FIELD_COUNT ? &fields[index] : NULL; }

int32_t attn_case_field_index(const char *key) {
    for (uint32_t n = 0; n < FIELD_COUNT; ++n)
        if (!strcmp(fields[n].key, key)) return (int32_t)n;
    return -1;
}

void *attn_case_field_slot(attn_case *c, const attn_case_field *f) { return (char *)c + f->offset; }

void attn_case_field_set_int(attn_case *c, const attn_case_field *f, int64_t value) {
    if (f->size == sizeof(int64_t)) *(int64_t *)attn_case_field_slot(c, f) = value;
    else *(int32_t *)attn_case_field_slot(c, f) = (int32_t)value;
}

void attn_case_field_set_real(attn_case *c, const attn_case_field *f, double value) {
    if (f->size == sizeof(double)) *(double *)attn_case_field_slot(c, f) = value;
    else *(float *)attn_case_field_slot(c, f) = (float)value;
}

int attn_case_field_holds_real(const attn_case_field *f, double value) {
    return f->size == sizeof(double) || value == 0.0 || (float)value != 0.0f;
}

void attn_case_field_set_unsigned(attn_case *c, const attn_case_field *f, uint64_t value) {
    if (f->size == sizeof(uint64_t)) *(uint64_t *)attn_case_field_slot(c, f) = value;
    else *(uint32_t *)attn_case_field_slot(c, f) = (uint32_t)value;
}

void attn_case_field_set_initial(attn_case *c, const attn_case_field *f) {
    switch (f->kind) {
    case ATTN_FIELD_TEXT:
        if (f->initial_text) snprintf(attn_case_field_slot(c, f), f->size, "%s", f->initial_text);
        return;
    case ATTN_FIELD_INT64:
    case ATTN_FIELD_INT32:
    case ATTN_FIELD_BOOL:
    case ATTN_FIELD_DTYPE:
    case ATTN_FIELD_LAYOUT:
    case ATTN_FIELD_MODIFIER: attn_case_field_set_int(c, f, (int64_t)f->initial); return;
    case ATTN_FIELD_FLOAT:
    case ATTN_FIELD_DOUBLE: attn_case_field_set_real(c, f, f->initial); return;
    case ATTN_FIELD_UINT64:
    case ATTN_FIELD_UINT32: attn_case_field_set_unsigned(c, f, (uint64_t)f->initial); return;
    case ATTN_FIELD_BATCH_LIST:
    case ATTN_FIELD_DOC_LIST:
    case ATTN_FIELD_CHECKS:
    case ATTN_FIELD_AUX: return; /* empty */
    }
}

void attn_case_field_list_given(attn_case *c, const attn_case_field *f, int32_t count) {
    *(int32_t *)((char *)c + f->list_marker) = f->kind == ATTN_FIELD_DOC_LIST ? count : 1;
}

void attn_case_fields_follow(attn_case *c, const uint8_t given[ATTN_CASE_FIELD_CAP]) {
    for (uint32_t n = 0; n < FIELD_COUNT; ++n) {
        int32_t leader = fields[n].follows ? attn_case_field_index(fields[n].follows) : -1;
        if (leader >= 0 && given[leader] && !given[n])
            memcpy(attn_case_field_slot(c, &fields[n]), attn_case_field_slot(c, &fields[leader]), fields[n].size);
    }
}

const char *attn_case_field_value_name(const attn_case_field *f, int32_t value) {
    if (value < 0) return NULL;
    switch (f->kind) {
    case ATTN_FIELD_DTYPE: return value < ATTN_DTYPE_COUNT ? attn_dtype_name(value) : NULL;
    case ATTN_FIELD_LAYOUT: return value < ATTN_LAYOUT_COUNT ? attn_layout_name(value) : NULL;
    case ATTN_FIELD_MODIFIER: return value < attn_modifier_count() ? attn_modifier_name(value) : NULL;
    case ATTN_FIELD_CHECKS: return value < CHECK_COUNT ? check_names[value] : NULL;
    default: return NULL;
    }
}

int32_t attn_case_field_value_from_name(const attn_case_field *f, const char *name) {
    const char *known;
    for (int32_t v = 0; (known = attn_case_field_value_name(f, v)) != NULL; ++v)
        if (!strcmp(name, known)) return v;
    return -1;
}

void attn_case_field_names_joined(const attn_case_field *f, const char *separator, const char *last_separator,
                                  char *out, size_t cap) {
    size_t used = 0;
    out[0] = '\0';
    const char *name;
    for (int32_t v = 0; (name = attn_case_field_value_name(f, v)) != NULL && used < cap; ++v) {
        const char *before = v == 0 ? "" : attn_case_field_value_name(f, v + 1) ? separator : last_separator;
        used += (size_t)snprintf(out + used, cap - used, "%s%s", before, name);
    }
}
