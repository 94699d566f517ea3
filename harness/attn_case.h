/* Problem instances: the masking/caching table (SPEC.md), case files, input generation,
 * execution on a backend through its device services, and the comparison rule. */
#ifndef ATTN_CASE_H
#define ATTN_CASE_H

#include <stddef.h>
#include <stdint.h>

#include "attn/host/attn_expr_parse.h"
#include "attn/host/attn_host.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ATTN_CASE_MAX_BATCH 16
#define ATTN_CASE_MAX_DOCS 16
#define ATTN_CASE_NAME_CAP 128
#define ATTN_CASE_EXPR_CAP 1024 /* mask_mod / score_mod text in a case (the language allows 4096) */

/* Element types of Q, K, V and O. */
#define ATTN_DTYPE_F32 0
#define ATTN_DTYPE_F16 1
#define ATTN_DTYPE_BF16 2
#define ATTN_DTYPE_COUNT 3
const char *attn_dtype_name(int32_t dtype);       /* "float32"; "unknown" past the last */
const char *attn_dtype_short_name(int32_t dtype); /* "f32", for labels; "?" past the last */
int32_t attn_dtype_from_name(const char *name);   /* either spelling; -1 when unknown */
size_t attn_dtype_size(int32_t dtype);
double attn_dtype_largest(int32_t dtype); /* its largest finite value */
/* Generated Q/K/V values stay within +-ATTN_INPUT_NORMAL_MAX times input_scale (instance.c). */
#define ATTN_INPUT_NORMAL_MAX 3.4641016151377544 /* 2 sqrt(3): four uniforms, centred and scaled */
DLDataType attn_dtype_dl(int32_t dtype); /* its DLPack dtype */

/* Memory layouts of Q, K, V, O (all are views with explicit strides). */
#define ATTN_LAYOUT_BHTD 0
#define ATTN_LAYOUT_BTHD 1
#define ATTN_LAYOUT_COUNT 2
const char *attn_layout_name(int32_t layout);    /* "bhtd"; "unknown" past the last */
int32_t attn_layout_from_name(const char *name); /* -1 when unknown */

/* Score modifiers (ATTN_MOD_* of attn_types.h) by name: case files, attnrun's options and labels. */
int32_t attn_modifier_count(void);
const char *attn_modifier_name(int32_t modifier);  /* "softcap"; "unknown" past the last */
int32_t attn_modifier_from_name(const char *name); /* -1 when unknown */
/* The case-file key of the field that attnrun's option for the modifier takes its value into
 * ("--softcap C" sets softcap), or NULL: the option is a switch ("--alibi"). */
const char *attn_modifier_parameter(int32_t modifier);

/* Auxiliary tensors of a case, read by its mask_mod / score_mod by name (SPEC.md "Expressions").
 * Their values are generated (fill) or written out in the case file (values). */
#define ATTN_CASE_MAX_AUX 4
#define ATTN_CASE_AUX_NAME_CAP 32
#define ATTN_CASE_AUX_VALUES_CAP 256   /* values written in a case file, per tensor */
#define ATTN_CASE_AUX_MAX_ELEMENTS (1 << 20)
#define ATTN_AUX_FILL_VALUES 0    /* `values`, row-major */
#define ATTN_AUX_FILL_NORMAL 1    /* float: normal(0, 1) times `scale`, from the case's data_seed */
#define ATTN_AUX_FILL_INDEX 2     /* int: the index along the last dimension, divided by `step` (floor) */
#define ATTN_AUX_FILL_BERNOULLI 3 /* bool: true with probability 1/2, from the case's data_seed */
typedef struct attn_case_aux {
    char name[ATTN_CASE_AUX_NAME_CAP];
    int32_t type; /* ATTN_EXPR_FLOAT (float32), ATTN_EXPR_INT (int32), ATTN_EXPR_BOOL (uint8) */
    int32_t rank; /* 0 to 4 */
    int64_t shape[4];
    int32_t fill;  /* ATTN_AUX_FILL_* */
    float scale;   /* NORMAL */
    int32_t step;  /* INDEX, >= 1 */
    int32_t value_count;
    float values[ATTN_CASE_AUX_VALUES_CAP]; /* VALUES (ints and bools exact in a float) */
} attn_case_aux;
int64_t attn_case_aux_elements(const attn_case_aux *a); /* the product of its shape */

/* Extra properties a row checks beyond the comparison with golden. */
#define ATTN_CHECK_LSE_MERGE 1u    /* two disjoint key halves merged through LSE equal the whole */
#define ATTN_CHECK_KEPT_FRACTION 2u /* the dropout kept fraction is within 0.01 of 1 - p */

/* One problem instance.  Every field but has_lengths, doc_count and has_prefix (which the lists
 * set) has a case-file key of the same name: case_fields.c describes each one, and a new field
 * needs its row there. */
typedef struct attn_case {
    char row[64];                   /* the table row it belongs to */
    char name[ATTN_CASE_NAME_CAP]; /* short label, made by attn_case_label when empty */
    int32_t dtype;
    int32_t layout;
    int64_t batch, q_heads, kv_heads, q_len, kv_len, head_dim, value_dim;
    int64_t kv_cache_len; /* > kv_len: K and V are views into a longer cache; 0 means kv_len */
    int32_t causal;
    int32_t window_left, window_right;
    int32_t has_lengths; /* q_lens / kv_lens below are used */
    int32_t q_lens[ATTN_CASE_MAX_BATCH];
    int32_t kv_lens[ATTN_CASE_MAX_BATCH];
    int32_t doc_count;                        /* 0: no document mask */
    int32_t doc_sizes[ATTN_CASE_MAX_DOCS];    /* consecutive key segments; the last runs to the end */
    int32_t has_prefix;
    int32_t prefix_lens[ATTN_CASE_MAX_BATCH];
    int32_t modifier;
    float softcap;
    float synaptic_lambda, synaptic_eps, synaptic_beta;
    double scale; /* 0: 1/sqrt(D) */
    float dropout_p;
    uint64_t dropout_seed;
    uint32_t dropout_offset;
    int32_t want_lse;
    float input_scale; /* Q and K are multiplied by it (large logits) */
    uint64_t data_seed;
    uint32_t checks; /* ATTN_CHECK_* */
    char mask_mod[ATTN_CASE_EXPR_CAP];  /* SPEC.md "Expressions"; empty: none */
    char score_mod[ATTN_CASE_EXPR_CAP]; /* empty: none; excludes modifier */
    int32_t aux_count;
    attn_case_aux aux[ATTN_CASE_MAX_AUX]; /* the tensors the expressions may read */
} attn_case;

/* A case with every field at its default (causal, no window, BHTD, float32, ...). */
void attn_case_defaults(attn_case *c);
/* A short human label: "bf16 B2 H8/2 T64x64 D64 ...". */
void attn_case_label(const attn_case *c, char *out, size_t cap);

/* ---- The built-in table ------------------------------------------------------------ */

typedef struct attn_row_info {
    const char *name;
    const char *exercises;
} attn_row_info;

/* The rows of SPEC.md's table, in order. */
uint32_t attn_catalogue_row_count(void);
const attn_row_info *attn_catalogue_row(uint32_t index);
/* All built-in instances.  Caller frees *out with free(). */
attn_status attn_catalogue_instances(attn_case **out, uint32_t *count, attn_error *err);

/* ---- Case files (YAML) -------------------------------------------------------------- */

/* cases:
 *   - row: My row           # a row of the table, or a new one
 *     dtype: bfloat16
 *     batch: 2 ...          # any attn_case field; lists for q_lens, kv_lens, doc_sizes, prefix_lens
 * Caller frees *out with free(). */
attn_status attn_casefile_parse(const char *text, size_t length, const char *source, attn_case **out,
                                uint32_t *count, attn_error *err);
attn_status attn_casefile_load(const char *path, attn_case **out, uint32_t *count, attn_error *err);

/* Checks a case's fields for consistency (sizes positive, lengths within bounds, ...). */
attn_status attn_case_validate(const attn_case *c, attn_error *err);

/* ---- Host tensors of an instance ----------------------------------------------------- */

/* Inputs and outputs of one instance on the host, contiguous in the canonical BHTD layout.
 * Q/K/V/O are stored as float32 after rounding to the case's dtype, so every consumer sees
 * exactly the values the backend sees. */
typedef struct attn_instance {
    attn_case c;
    float *q, *k, *v;   /* [B,Hq,Tq,D], [B,Hkv,Tk,D], [B,Hkv,Tk,Dv] */
    int32_t *q_lens, *kv_lens, *prefix_lens; /* [B] each; NULL when absent */
    int32_t *doc_q, *doc_k;                  /* [B,Tq], [B,Tk]; NULL when absent */
    float *alibi_slopes;                     /* [Hq] */
    float *synaptic_w;                       /* [B,Hq,Tk] */
    attn_expr *mask_mod, *score_mod;         /* parsed from the case; NULL when absent */
    void *aux[ATTN_CASE_MAX_AUX];            /* c.aux's values: float32, int32 or uint8 */
} attn_instance;

attn_status attn_instance_make(const attn_case *c, attn_instance *out, attn_error *err);
/* The problem's scalar fields (mask flags, windows, modifier, scale, dropout) from the case:
 * what every problem made of an instance shares, whatever its tensors. */
void attn_case_problem_scalars(const attn_case *c, attn_problem *p);
void attn_instance_free(attn_instance *inst);

/* The result of one backend on one instance, on the host, canonical layout. */
typedef struct attn_result {
    float *o;   /* [B,Hq,Tq,Dv], values of the case dtype widened to float32 */
    float *lse; /* [B,Hq,Tq] or NULL */
} attn_result;
void attn_result_free(attn_result *r);

/* Options of one execution. */
typedef struct attn_exec_options {
    /* Only keys [key_begin, key_end) of the cache are given to the backend (the LSE-merge
     * check runs the two halves of a bidirectional problem this way); both 0: all keys. */
    int64_t key_begin, key_end;
    int32_t force_lse; /* ask for LSE even when the case does not */
    int32_t canonical; /* contiguous BHTD tensors, no cache view: how golden is computed */
} attn_exec_options;

/* Lays the instance out as the case says (layout, cache view), copies it to the backend's
 * device, checks and runs it, and copies the results back.  A refusal comes back as
 * ATTN_E_UNSUPPORTED / ATTN_E_NOT_APPLICABLE with the backend's reason. */
attn_status attn_instance_execute(attn_backend *backend, const attn_instance *inst, const attn_exec_options *options,
                                  attn_result *out, attn_error *err);

/* As execute, but leaves the problem on the device, checks it once and times `repeats` runs
 * after `warmup` runs.  times_ms[repeats] gets what a loop's steady state pays per call: the
 * plugin's run and synchronize (attn_backend_run_prevalidated).  call_ms[repeats], when not
 * NULL, gets a second series of whole attn_backend_run calls (validation as well). */
attn_status attn_instance_time(attn_backend *backend, const attn_instance *inst, int32_t warmup, int32_t repeats,
                               double *times_ms, double *call_ms, attn_error *err);

/* ---- Comparison ------------------------------------------------------------------- */

/* How far each element of O and each LSE of an instance may be from golden (SPEC.md
 * "Tolerance: what PASS means"), derived from the reference's float64 softmax
 * (harness/tolerance.c).  Rows with no visible key must be exactly 0, LSE -inf. */
typedef struct attn_tolerance {
    double *o;      /* [B,Hq,Tq,Dv] */
    double *lse;    /* [B,Hq,Tq] */
    uint8_t *empty; /* [B,Hq,Tq]: 1 where the row sees no key (padding, masks) */
    double max_o;   /* the loosest element's tolerance, for reports */
    double max_shift; /* the most softmax weight (of 2) that score rounding can move in a row */
} attn_tolerance;

/* Computes the tolerance of an instance.  ATTN_E_INVALID, naming the row, when its scores are
 * so large that no float32 result is determined (it cannot be judged). */
attn_status attn_tolerance_make(const attn_instance *inst, attn_tolerance *out, attn_error *err);
void attn_tolerance_free(attn_tolerance *t);

typedef struct attn_verdict {
    int32_t pass;
    double max_err_o, tol_o;     /* max|O - golden|, and the tolerance where err / tolerance is largest */
    double max_err_lse, tol_lse; /* LSE likewise, when compared (else 0) */
    double ratio;                /* the largest err / tolerance over O and LSE: PASS needs <= 1 */
    char detail[256];            /* why it failed, or empty */
} attn_verdict;

/* SPEC.md's rule: every element within its tolerance, for O and for LSE when both have it;
 * NaN/Inf fails; rows with no visible key must be exactly 0 with LSE -inf. */
void attn_compare(const attn_instance *inst, const attn_result *golden, const attn_tolerance *tolerance,
                  const attn_result *candidate, attn_verdict *out);
/* max|a - b| over O (finite values only; NaN mismatch counts as +inf). */
double attn_result_max_diff(const attn_instance *inst, const attn_result *a, const attn_result *b);

/* Merges two results over disjoint key sets through their LSEs (into out, allocated). */
attn_status attn_result_merge(const attn_instance *inst, const attn_result *a, const attn_result *b,
                              attn_result *out, attn_error *err);
/* Fraction of kept (b,h,i,j) entries among visible ones under the case's dropout. */
double attn_instance_kept_fraction(const attn_instance *inst);

#ifdef __cplusplus
}
#endif
#endif
