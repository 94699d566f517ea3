#include "case_args.h"

#include <stdio.h>
#include <string.h>

#include "args.h"
#include "case_fields.h"

/* How an option sets its field. */
typedef enum flag_form {
    FORM_VALUE,    /* --batch B: the value, read as the field's kind */
    FORM_SWITCH,   /* --causal, --bidirectional, --lse: the field becomes `value` */
    FORM_PAIR,     /* --window L,R: this field and the next row's */
    FORM_MODIFIER, /* --softcap C, --alibi: the modifier becomes `value`, its parameter field the value */
} flag_form;

typedef struct case_flag {
    const char *name; /* without "--" */
    flag_form form;
    int32_t value;
    uint32_t field;                   /* index of the field it sets */
    const attn_case_field *parameter; /* FORM_MODIFIER: the field its value goes to, or NULL */
} case_flag;

/* At most two options a field (--causal, --bidirectional), and one a modifier. */
#define FLAG_CAP (2 * ATTN_CASE_FIELD_CAP + 16)
static case_flag flags[FLAG_CAP];
static struct option options[FLAG_CAP + 1];
static int32_t flag_count = -1; /* -1: not made yet */

static void add_flag(const char *name, flag_form form, int32_t value, uint32_t field,
                     const attn_case_field *parameter) {
    if (flag_count >= FLAG_CAP) return; /* not reached: FLAG_CAP leaves room */
    int takes_value = form == FORM_VALUE || form == FORM_PAIR || (form == FORM_MODIFIER && parameter);
    flags[flag_count] = (case_flag){name, form, value, field, parameter};
    options[flag_count] =
        (struct option){name, takes_value ? required_argument : no_argument, 0, CASE_OPT_FIRST + flag_count};
    flag_count++;
}

/* The options in the order of the table: its fields' options, and one per score modifier. */
static void make_flags(void) {
    if (flag_count >= 0) return;
    flag_count = 0;
    for (uint32_t n = 0; n < attn_case_field_count(); ++n) {
        const attn_case_field *f = attn_case_field_at(n);
        if (f->kind == ATTN_FIELD_MODIFIER) {
            for (int32_t m = ATTN_MOD_NONE + 1; m < attn_modifier_count(); ++m) {
                const char *key = attn_modifier_parameter(m);
                int32_t parameter = key ? attn_case_field_index(key) : -1; /* -1: past the last, NULL */
                add_flag(attn_modifier_name(m), FORM_MODIFIER, m, n, attn_case_field_at((uint32_t)parameter));
            }
        } else if (f->flag) {
            flag_form form = f->kind == ATTN_FIELD_BOOL ? FORM_SWITCH : f->flag_pair ? FORM_PAIR : FORM_VALUE;
            add_flag(f->flag, form, 1, n, NULL);
            if (f->flag_off) add_flag(f->flag_off, FORM_SWITCH, 0, n, NULL);
        }
    }
    options[flag_count] = (struct option){0, 0, 0, 0};
}

const struct option *case_args_options(void) {
    make_flags();
    return options;
}

static int is_named(attn_field_kind kind) {
    return kind == ATTN_FIELD_DTYPE || kind == ATTN_FIELD_LAYOUT || kind == ATTN_FIELD_MODIFIER;
}

/* "--batch B", "--dtype float32|float16|bfloat16", "--alibi" (a switch: no value). */
static void flag_usage(const case_flag *flag, char *out, size_t cap) {
    const attn_case_field *f = flag->form == FORM_MODIFIER ? flag->parameter : attn_case_field_at(flag->field);
    char value[128] = "";
    int takes_value = flag->form != FORM_SWITCH && f;
    if (takes_value && is_named(f->kind)) attn_case_field_names_joined(f, "|", "|", value, sizeof value);
    else if (takes_value) snprintf(value, sizeof value, "%s", f->metavar);
    snprintf(out, cap, "--%s%s%s", flag->name, value[0] ? " " : "", value);
}

void case_args_print_help(FILE *out) {
    make_flags();
    for (int32_t first = 0, next; first < flag_count; first = next) {
        char line[256] = "";
        size_t used = 0;
        for (next = first; next < flag_count && flags[next].field == flags[first].field && used < sizeof line; ++next) {
            char usage[160];
            flag_usage(&flags[next], usage, sizeof usage);
            used += (size_t)snprintf(line + used, sizeof line - used, "%s%s", next > first ? " | " : "", usage);
        }
        const char *help = attn_case_field_at(flags[first].field)->help;
        if (used <= 34) fprintf(out, "  %-34s %s\n", line, help);
        else fprintf(out, "  %s\n  %-34s %s\n", line, "", help);
    }
}

int case_args_owns(int code) {
    make_flags();
    return code >= CASE_OPT_FIRST && code < CASE_OPT_FIRST + flag_count;
}

attn_status case_args_record(case_args *args, int code, const char *value, attn_error *err) {
    if (args->count >= CASE_ARGS_CAP)
        return attn_error_set(err, ATTN_E_INVALID, "more than %d case options", CASE_ARGS_CAP);
    args->codes[args->count] = code;
    args->values[args->count] = value;
    args->count++;
    return ATTN_OK;
}

/* What the options gave so far, checked once all are applied. */
typedef struct apply_state {
    uint8_t given[ATTN_CASE_FIELD_CAP];
    int32_t counts[ATTN_CASE_FIELD_CAP]; /* values of each list given */
    int32_t modifier_flag;               /* the first modifier option given, or -1 */
} apply_state;

/* The command line and case files share one limit table (case_fields.c): each option's value
 * is checked against its field's bounds, and attn_case_validate checks the case as a whole. */
static int64_t int_top(const attn_case_field *f) { return f->max > 0 ? (int64_t)f->max : INT32_MAX; }

/* One value of an option, into field f. */
static attn_status set_from_text(attn_case *c, const attn_case_field *f, const char *option, const char *text,
                                 apply_state *state, attn_error *err) {
    int32_t index = attn_case_field_index(f->key);
    int64_t i64;
    double real;
    uint64_t u64;
    attn_status st;
    state->given[index] = 1;
    switch (f->kind) {
    case ATTN_FIELD_DTYPE:
    case ATTN_FIELD_LAYOUT:
    case ATTN_FIELD_MODIFIER: {
        /* attnrun takes the short dtype names too (f32, bf16), as attnmatrix and attnbench do. */
        int32_t named =
            f->kind == ATTN_FIELD_DTYPE ? attn_dtype_from_name(text) : attn_case_field_value_from_name(f, text);
        if (named >= 0) {
            attn_case_field_set_int(c, f, named);
            return ATTN_OK;
        }
        char names[128];
        attn_case_field_names_joined(f, ", ", " or ", names, sizeof names);
        return attn_error_set(err, ATTN_E_INVALID, "%s: '%s' is not %s", option, text, names);
    }
    case ATTN_FIELD_INT64:
    case ATTN_FIELD_INT32:
        if ((st = attn_arg_i64(option, text, (int64_t)f->min, int_top(f), &i64, err)) == ATTN_OK)
            attn_case_field_set_int(c, f, i64);
        return st;
    case ATTN_FIELD_UINT32:
        if ((st = attn_arg_i64(option, text, (int64_t)f->min, int_top(f), &i64, err)) == ATTN_OK)
            attn_case_field_set_unsigned(c, f, (uint64_t)i64);
        return st;
    case ATTN_FIELD_UINT64:
        if ((st = attn_arg_u64(option, text, &u64, err)) == ATTN_OK) attn_case_field_set_unsigned(c, f, u64);
        return st;
    case ATTN_FIELD_FLOAT:
    case ATTN_FIELD_DOUBLE:
        if ((st = attn_arg_double(option, text, &real, err)) == ATTN_OK && (real < f->min || real > f->max))
            st = attn_error_set(err, ATTN_E_INVALID, "%s: %g is outside [%g, %g]", option, real, f->min, f->max);
        else if (st == ATTN_OK && !attn_case_field_holds_real(f, real))
            st = attn_error_set(err, ATTN_E_INVALID, "%s: %g is too close to 0 for a float32 field", option, real);
        if (st == ATTN_OK) attn_case_field_set_real(c, f, real);
        return st;
    case ATTN_FIELD_BATCH_LIST:
    case ATTN_FIELD_DOC_LIST:
        st = attn_arg_i32_list(option, text, (int32_t)f->min, INT32_MAX, attn_case_field_slot(c, f),
                               (int32_t)(f->size / sizeof(int32_t)), &state->counts[index], err);
        attn_case_field_list_given(c, f, state->counts[index]);
        return st;
    case ATTN_FIELD_TEXT:
        if (strlen(text) >= f->size)
            return attn_error_set(err, ATTN_E_INVALID, "%s: longer than %zu characters", option, f->size - 1);
        snprintf(attn_case_field_slot(c, f), f->size, "%s", text);
        return ATTN_OK;
    case ATTN_FIELD_BOOL:
    case ATTN_FIELD_CHECKS:
    case ATTN_FIELD_AUX: break;
    }
    return attn_error_set(err, ATTN_E_INTERNAL, "%s: a %s field takes no option value", option, f->key);
}

static attn_status set_pair(attn_case *c, uint32_t field, const char *option, const char *text, attn_error *err) {
    const attn_case_field *f = attn_case_field_at(field), *second = attn_case_field_at(field + 1);
    int32_t values[2], n;
    attn_status st = attn_arg_i32_list(option, text, (int32_t)f->min, INT32_MAX, values, 2, &n, err);
    /* --window is the one pair: its help says what -1 means. */
    if (st == ATTN_OK && n != 2)
        st = attn_error_set(err, ATTN_E_INVALID, "%s: expected %s (-1: unbounded)", option, f->metavar);
    if (st == ATTN_OK) attn_case_field_set_int(c, f, values[0]), attn_case_field_set_int(c, second, values[1]);
    return st;
}

/* SPEC.md allows at most one score modifier: a second one is a mistake, not an override. */
static attn_status set_modifier(attn_case *c, int32_t flag, apply_state *state, attn_error *err) {
    if (state->modifier_flag >= 0 && state->modifier_flag != flag)
        return attn_error_set(err, ATTN_E_INVALID, "--%s and --%s: at most one score modifier",
                              flags[state->modifier_flag].name, flags[flag].name);
    if (state->modifier_flag < 0) state->modifier_flag = flag;
    attn_case_field_set_int(c, attn_case_field_at(flags[flag].field), flags[flag].value);
    return ATTN_OK;
}

static attn_status apply_one(attn_case *c, int code, const char *value, apply_state *state, attn_error *err) {
    int32_t index = code - CASE_OPT_FIRST;
    if (index < 0 || index >= flag_count)
        return attn_error_set(err, ATTN_E_INTERNAL, "unknown case option code %d", code);
    const case_flag *flag = &flags[index];
    const attn_case_field *f = attn_case_field_at(flag->field);
    char option[64];
    snprintf(option, sizeof option, "--%s", flag->name);
    state->given[flag->field] = 1;
    attn_status st = ATTN_OK;
    switch (flag->form) {
    case FORM_VALUE: return set_from_text(c, f, option, value, state, err);
    case FORM_SWITCH: attn_case_field_set_int(c, f, flag->value); return ATTN_OK;
    case FORM_PAIR: return set_pair(c, flag->field, option, value, err);
    case FORM_MODIFIER:
        if (flag->parameter) st = set_from_text(c, flag->parameter, option, value, state, err);
        return st == ATTN_OK ? set_modifier(c, index, state, err) : st;
    }
    return st;
}

/* Each length list given must have one value per batch entry. */
static attn_status check_lists(const apply_state *state, int64_t batch, attn_error *err) {
    for (uint32_t n = 0; n < attn_case_field_count(); ++n) {
        const attn_case_field *f = attn_case_field_at(n);
        if (f->kind == ATTN_FIELD_BATCH_LIST && state->given[n] && state->counts[n] != batch)
            return attn_error_set(err, ATTN_E_INVALID, "--%s has %d values but the batch is %lld", f->flag,
                                  state->counts[n], (long long)batch);
    }
    return ATTN_OK;
}

attn_status case_args_apply(const case_args *args, attn_case *c, attn_error *err) {
    make_flags();
    apply_state state = {.modifier_flag = -1};
    int had_lengths = c->has_lengths;
    for (int32_t n = 0; n < args->count; ++n) {
        attn_status st = apply_one(c, args->codes[n], args->values[n], &state, err);
        if (st != ATTN_OK) return st;
    }
    /* "--head-dim 128" should not leave Dv at the default 64. */
    attn_case_fields_follow(c, state.given);
    attn_status st = check_lists(&state, c->batch, err);
    if (st != ATTN_OK) return st;
    /* One list given on a case without lengths: the other side is full length. */
    if (!had_lengths && c->has_lengths) {
        int q_given = state.given[attn_case_field_index("q_lens")];
        int kv_given = state.given[attn_case_field_index("kv_lens")];
        for (int64_t b = 0; b < c->batch; ++b) {
            if (!q_given) c->q_lens[b] = (int32_t)c->q_len;
            if (!kv_given) c->kv_lens[b] = (int32_t)c->kv_len;
        }
    }
    /* The base case's name described the case before these options changed it. */
    if (args->count) c->name[0] = '\0';
    return ATTN_OK;
}
