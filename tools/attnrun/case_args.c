#include "case_args.h"

#include <stdio.h>
#include <string.h>

#include "args.h"

enum {
    OPT_DTYPE = CASE_OPT_FIRST, OPT_BATCH, OPT_Q_HEADS, OPT_KV_HEADS, OPT_Q_LEN, OPT_KV_LEN, OPT_HEAD_DIM,
    OPT_VALUE_DIM, OPT_LAYOUT, OPT_KV_CACHE_LEN, OPT_CAUSAL, OPT_BIDIRECTIONAL, OPT_WINDOW, OPT_Q_LENS, OPT_KV_LENS,
    OPT_DOCS, OPT_PREFIX_LENS, OPT_SOFTCAP, OPT_ALIBI, OPT_SYNAPTIC, OPT_DROPOUT, OPT_DROPOUT_SEED,
    OPT_DROPOUT_OFFSET, OPT_LSE, OPT_SCALE, OPT_INPUT_SCALE, OPT_SEED, OPT_END
};

const struct option case_long_options[] = {
    {"dtype", required_argument, 0, OPT_DTYPE},
    {"batch", required_argument, 0, OPT_BATCH},
    {"q-heads", required_argument, 0, OPT_Q_HEADS},
    {"kv-heads", required_argument, 0, OPT_KV_HEADS},
    {"q-len", required_argument, 0, OPT_Q_LEN},
    {"kv-len", required_argument, 0, OPT_KV_LEN},
    {"head-dim", required_argument, 0, OPT_HEAD_DIM},
    {"value-dim", required_argument, 0, OPT_VALUE_DIM},
    {"layout", required_argument, 0, OPT_LAYOUT},
    {"kv-cache-len", required_argument, 0, OPT_KV_CACHE_LEN},
    {"causal", no_argument, 0, OPT_CAUSAL},
    {"bidirectional", no_argument, 0, OPT_BIDIRECTIONAL},
    {"window", required_argument, 0, OPT_WINDOW},
    {"q-lens", required_argument, 0, OPT_Q_LENS},
    {"kv-lens", required_argument, 0, OPT_KV_LENS},
    {"docs", required_argument, 0, OPT_DOCS},
    {"prefix-lens", required_argument, 0, OPT_PREFIX_LENS},
    {"softcap", required_argument, 0, OPT_SOFTCAP},
    {"alibi", no_argument, 0, OPT_ALIBI},
    {"synaptic", no_argument, 0, OPT_SYNAPTIC},
    {"dropout", required_argument, 0, OPT_DROPOUT},
    {"dropout-seed", required_argument, 0, OPT_DROPOUT_SEED},
    {"dropout-offset", required_argument, 0, OPT_DROPOUT_OFFSET},
    {"lse", no_argument, 0, OPT_LSE},
    {"scale", required_argument, 0, OPT_SCALE},
    {"input-scale", required_argument, 0, OPT_INPUT_SCALE},
    {"seed", required_argument, 0, OPT_SEED},
    {0, 0, 0, 0},
};

int case_args_owns(int code) { return code >= CASE_OPT_FIRST && code < OPT_END; }

attn_status case_args_record(case_args *args, int code, const char *value, attn_error *err) {
    if (args->count >= CASE_ARGS_CAP) return attn_error_set(err, ATTN_E_INVALID, "more than %d case options", CASE_ARGS_CAP);
    args->codes[args->count] = code;
    args->values[args->count] = value;
    args->count++;
    return ATTN_OK;
}

static const char *option_name(int code) {
    for (const struct option *o = case_long_options; o->name; ++o)
        if (o->val == code) return o->name;
    return "?";
}

/* What the list options gave, checked against the final batch once all are applied. */
typedef struct list_state {
    int32_t q_lens, kv_lens, prefix_lens; /* value counts; 0 when not given */
    int head_dim_given, value_dim_given;
    const char *modifier_option; /* the first of --softcap, --alibi, --synaptic given */
} list_state;

/* SPEC.md allows at most one score modifier: a second one is a mistake, not an override. */
static attn_status set_modifier(attn_case *c, int32_t modifier, const char *option, list_state *lists,
                                attn_error *err) {
    if (lists->modifier_option && strcmp(lists->modifier_option, option) != 0)
        return attn_error_set(err, ATTN_E_INVALID, "%s and %s: at most one score modifier", lists->modifier_option,
                              option);
    lists->modifier_option = option;
    c->modifier = modifier;
    return ATTN_OK;
}

static attn_status apply_one(attn_case *c, int code, const char *value, list_state *lists, attn_error *err) {
    static char names[OPT_END - CASE_OPT_FIRST][40]; /* stable, so list_state may keep one */
    char *option = names[code - CASE_OPT_FIRST];
    snprintf(option, sizeof names[0], "--%s", option_name(code));
    int64_t i64;
    double real;
    uint64_t u64;
    attn_status st = ATTN_OK;
    int64_t *dim = NULL;
    int64_t dim_min = 1;
    switch (code) {
    case OPT_DTYPE:
        if ((c->dtype = attn_dtype_from_name(value)) < 0)
            return attn_error_set(err, ATTN_E_INVALID, "%s: '%s' is not float32, float16 or bfloat16", option, value);
        return ATTN_OK;
    case OPT_LAYOUT:
        if (strcmp(value, "bhtd") == 0) c->layout = ATTN_LAYOUT_BHTD;
        else if (strcmp(value, "bthd") == 0) c->layout = ATTN_LAYOUT_BTHD;
        else return attn_error_set(err, ATTN_E_INVALID, "%s: '%s' is not bhtd or bthd", option, value);
        return ATTN_OK;
    case OPT_BATCH: dim = &c->batch; break;
    case OPT_Q_HEADS: dim = &c->q_heads; break;
    case OPT_KV_HEADS: dim = &c->kv_heads; break;
    case OPT_Q_LEN: dim = &c->q_len, dim_min = 0; break;
    case OPT_KV_LEN: dim = &c->kv_len, dim_min = 0; break;
    case OPT_HEAD_DIM: dim = &c->head_dim, lists->head_dim_given = 1; break;
    case OPT_VALUE_DIM: dim = &c->value_dim, lists->value_dim_given = 1; break;
    case OPT_KV_CACHE_LEN: dim = &c->kv_cache_len, dim_min = 0; break;
    case OPT_CAUSAL: c->causal = 1; return ATTN_OK;
    case OPT_BIDIRECTIONAL: c->causal = 0; return ATTN_OK;
    case OPT_WINDOW: {
        int32_t sides[2], n;
        st = attn_arg_i32_list(option, value, -1, INT32_MAX, sides, 2, &n, err);
        if (st == ATTN_OK && n != 2) st = attn_error_set(err, ATTN_E_INVALID, "%s: expected L,R (-1: unbounded)", option);
        if (st == ATTN_OK) c->window_left = sides[0], c->window_right = sides[1];
        return st;
    }
    case OPT_Q_LENS:
        st = attn_arg_i32_list(option, value, 0, INT32_MAX, c->q_lens, ATTN_CASE_MAX_BATCH, &lists->q_lens, err);
        c->has_lengths = 1;
        return st;
    case OPT_KV_LENS:
        st = attn_arg_i32_list(option, value, 0, INT32_MAX, c->kv_lens, ATTN_CASE_MAX_BATCH, &lists->kv_lens, err);
        c->has_lengths = 1;
        return st;
    case OPT_PREFIX_LENS:
        st = attn_arg_i32_list(option, value, 0, INT32_MAX, c->prefix_lens, ATTN_CASE_MAX_BATCH, &lists->prefix_lens,
                               err);
        c->has_prefix = 1;
        return st;
    case OPT_DOCS:
        return attn_arg_i32_list(option, value, 1, INT32_MAX, c->doc_sizes, ATTN_CASE_MAX_DOCS, &c->doc_count, err);
    case OPT_SOFTCAP:
        if ((st = attn_arg_double(option, value, &real, err)) != ATTN_OK) return st;
        c->softcap = (float)real;
        return set_modifier(c, ATTN_MOD_SOFTCAP, option, lists, err);
    case OPT_ALIBI: return set_modifier(c, ATTN_MOD_ALIBI, option, lists, err);
    case OPT_SYNAPTIC: return set_modifier(c, ATTN_MOD_SYNAPTIC, option, lists, err);
    case OPT_DROPOUT:
        if ((st = attn_arg_double(option, value, &real, err)) == ATTN_OK) c->dropout_p = (float)real;
        return st;
    case OPT_DROPOUT_SEED:
        if ((st = attn_arg_u64(option, value, &u64, err)) == ATTN_OK) c->dropout_seed = u64;
        return st;
    case OPT_DROPOUT_OFFSET:
        if ((st = attn_arg_i64(option, value, 0, UINT32_MAX, &i64, err)) == ATTN_OK) c->dropout_offset = (uint32_t)i64;
        return st;
    case OPT_LSE: c->want_lse = 1; return ATTN_OK;
    case OPT_SCALE:
        if ((st = attn_arg_double(option, value, &real, err)) == ATTN_OK) c->scale = real;
        return st;
    case OPT_INPUT_SCALE:
        if ((st = attn_arg_double(option, value, &real, err)) == ATTN_OK) c->input_scale = (float)real;
        return st;
    case OPT_SEED:
        if ((st = attn_arg_u64(option, value, &u64, err)) == ATTN_OK) c->data_seed = u64;
        return st;
    default:
        return attn_error_set(err, ATTN_E_INTERNAL, "unknown case option code %d", code);
    }
    if ((st = attn_arg_i64(option, value, dim_min, INT32_MAX, &i64, err)) == ATTN_OK) *dim = i64;
    return st;
}

static attn_status check_list(const char *option, int32_t given, int64_t batch, attn_error *err) {
    if (given && given != batch)
        return attn_error_set(err, ATTN_E_INVALID, "--%s has %d values but the batch is %lld", option, given,
                              (long long)batch);
    return ATTN_OK;
}

attn_status case_args_apply(const case_args *args, attn_case *c, attn_error *err) {
    list_state lists = {0};
    int had_lengths = c->has_lengths;
    for (int32_t n = 0; n < args->count; ++n) {
        attn_status st = apply_one(c, args->codes[n], args->values[n], &lists, err);
        if (st != ATTN_OK) return st;
    }
    /* Dv follows D unless given: "--head-dim 128" should not leave Dv at the default 64. */
    if (lists.head_dim_given && !lists.value_dim_given) c->value_dim = c->head_dim;
    attn_status st = check_list("q-lens", lists.q_lens, c->batch, err);
    if (st == ATTN_OK) st = check_list("kv-lens", lists.kv_lens, c->batch, err);
    if (st == ATTN_OK) st = check_list("prefix-lens", lists.prefix_lens, c->batch, err);
    if (st != ATTN_OK) return st;
    /* One list given on a case without lengths: the other side is full length. */
    if (!had_lengths && c->has_lengths) {
        for (int64_t b = 0; b < c->batch; ++b) {
            if (!lists.q_lens) c->q_lens[b] = (int32_t)c->q_len;
            if (!lists.kv_lens) c->kv_lens[b] = (int32_t)c->kv_len;
        }
    }
    /* The base case's name described the case before these options changed it. */
    if (args->count) c->name[0] = '\0';
    return ATTN_OK;
}
