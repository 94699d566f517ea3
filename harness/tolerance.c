/* The tolerance of SPEC.md ("Tolerance: what PASS means"): for every element of O and every
 * LSE, how far a correct kernel that accumulates in float32 may land from the float64
 * reference.  It is derived, not sampled: the reference's own softmax in float64 says how much
 * each score's rounding can move the output (a row whose top scores are far apart hardly
 * moves; near-ties with scores of 1e4 move a lot), so the bound is tight where the problem is
 * well conditioned and wide only where no float32 kernel can do better.
 *
 * A kernel's error has four sources, each bounded per key j of a row:
 *   scores    |ds_j| <= delta_j = u32 (C_DOT sqrt(D) G a_j + C_EXP (|s_j| + |m|) + C_MOD |s_j - x_j|),
 *             a_j = scale sum_e |q_e k_je| (the dot product's condition), s_j the final score,
 *             x_j the scaled dot product before the modifier, m the row's largest score, and
 *             G >= |ds/dx| of the modifier (1 + |lambda| for synaptic, else 1).  A softmax whose
 *             scores move by at most delta_j moves each weight p_j to some p'_j between
 *             p_j e^-dj / (p_j e^-dj + A_j) and p_j e^dj / (p_j e^dj + B_j), A_j and B_j the sums
 *             of p_k e^dk and p_k e^-dk over the other keys (exact, not first order: a key that
 *             holds all the weight cannot move); since the weights still sum to 1, O moves by at
 *             most sum_j |p'_j - p_j| |d_j v_j - O| per element (d_j the dropout factor).
 *   P         rounded to the dtype before P.V, and again after the dropout scale where there is
 *             dropout: u(dtype) R sum_j p_j d_j |v_j|, R the number of roundings (1 or 2).
 *   sums      P.V and the normaliser summed in float32 over n keys: C_ACC sqrt(n) u32 sum_j p_j d_j |v_j|.
 *   rounding  O itself rounded to the dtype, by golden and by the kernel: eps(dtype) |O|.
 * sqrt(D) and sqrt(n) rather than D and n: rounding errors of long sums add like a random walk
 * in every kernel measured (docs/SPEC.md gives the measurements that set the C_ constants);
 * the worst case, D u32, would make a float32 tolerance of unit inputs ten times looser than
 * the errors kernels make, and hide real bugs. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attn_case.h"
#include "sdpa_ref/reference_rows.h"

#define U32 0x1.0p-24 /* unit roundoff of float32 */
#define C_DOT 4.0
#define C_EXP 4.0
#define C_MOD 4.0
#define C_ACC 4.0

/* A row whose scores are so large that their float32 rounding may move more than this share
 * of the softmax weight (sum_j |p'_j - p_j| <= 2) has no determined float32 answer: any
 * output near the values' hull would pass, an all-zeros row included.  Such an instance is
 * refused as one that cannot be judged, never judged leniently.  Scores of 1e4 (the Large
 * logits row) move at most a few percent. */
#define SHIFT_LIMIT 0.5

/* Q.K past this magnitude is refused too: float32 kernels overflow on the way there (their
 * range ends at 2^128 and scores are scaled, shifted and exponentiated), whatever the softmax. */
#define DOT_LIMIT 0x1.0p64

/* Unit roundoff of P's dtype, and one unit in the last place at 1.0 of O's. */
static double dtype_unit(int32_t dtype) {
    switch (dtype) {
    case ATTN_DTYPE_F16: return 0x1.0p-11;
    case ATTN_DTYPE_BF16: return 0x1.0p-8;
    default: return U32;
    }
}

/* The spacing of the dtype's smallest values: below it no two kernels need agree. */
static double dtype_tiny(int32_t dtype) {
    switch (dtype) {
    case ATTN_DTYPE_F16: return 0x1.0p-24;
    case ATTN_DTYPE_BF16: return 0x1.0p-133;
    default: return 0x1.0p-149;
    }
}

void attn_tolerance_free(attn_tolerance *t) {
    free(t->o);
    free(t->lse);
    free(t->empty);
    memset(t, 0, sizeof *t);
}

/* Per-key scratch of one row. */
typedef struct row_scratch {
    double *score, *delta, *prob, *drop; /* s_j, delta_j, p_j, d_j */
    unsigned char *visible;
    double *o; /* the row's O in float64 */
} row_scratch;

/* Host tensors over the instance's canonical float32 arrays, as sdpa-ref would be given them. */
typedef struct host_problem {
    attn_problem p;
    int64_t shapes[10 + ATTN_CASE_MAX_AUX][4], strides[10 + ATTN_CASE_MAX_AUX][4]; /* slots 10.. for aux */
    DLTensor aux[ATTN_CASE_MAX_AUX];
    const char *aux_names[ATTN_CASE_MAX_AUX];
} host_problem;

static void host_tensor(host_problem *h, int slot, DLTensor *t, const void *data, DLDataType dtype, int32_t ndim,
                        const int64_t *shape) {
    int64_t stride = 1;
    for (int32_t d = ndim - 1; d >= 0; --d) {
        h->shapes[slot][d] = shape[d];
        h->strides[slot][d] = stride;
        stride *= shape[d];
    }
    *t = (DLTensor){(void *)data, {kDLCPU, 0}, ndim, dtype, h->shapes[slot], h->strides[slot], 0};
}

static void make_host_problem(const attn_instance *inst, host_problem *h) {
    const attn_case *c = &inst->c;
    memset(h, 0, sizeof *h);
    attn_problem *p = &h->p;
    p->struct_size = sizeof *p;
    DLDataType f32 = {kDLFloat, 32, 1}, i32 = {kDLInt, 32, 1};
    int64_t q[4] = {c->batch, c->q_heads, c->q_len, c->head_dim}, k[4] = {c->batch, c->kv_heads, c->kv_len, c->head_dim};
    int64_t v[4] = {c->batch, c->kv_heads, c->kv_len, c->value_dim}, batch[1] = {c->batch};
    int64_t dq[2] = {c->batch, c->q_len}, dk[2] = {c->batch, c->kv_len}, heads[1] = {c->q_heads};
    int64_t w[3] = {c->batch, c->q_heads, c->kv_len};
    host_tensor(h, 0, &p->q, inst->q, f32, 4, q);
    host_tensor(h, 1, &p->k, inst->k, f32, 4, k);
    host_tensor(h, 2, &p->v, inst->v, f32, 4, v);
    if (inst->q_lens) {
        host_tensor(h, 3, &p->q_len, inst->q_lens, i32, 1, batch);
        host_tensor(h, 4, &p->kv_len, inst->kv_lens, i32, 1, batch);
    }
    if (inst->prefix_lens) host_tensor(h, 5, &p->prefix_len, inst->prefix_lens, i32, 1, batch);
    if (inst->doc_q) {
        host_tensor(h, 6, &p->doc_q, inst->doc_q, i32, 2, dq);
        host_tensor(h, 7, &p->doc_k, inst->doc_k, i32, 2, dk);
    }
    if (inst->alibi_slopes) host_tensor(h, 8, &p->alibi_slopes, inst->alibi_slopes, f32, 1, heads);
    if (inst->synaptic_w) host_tensor(h, 9, &p->synaptic_w, inst->synaptic_w, f32, 3, w);
    attn_case_problem_scalars(c, p);
    p->mask_mod = inst->mask_mod;
    p->score_mod = inst->score_mod;
    for (int32_t k = 0; k < c->aux_count; ++k) {
        const attn_case_aux *a = &c->aux[k];
        DLDataType dtype = a->type == ATTN_EXPR_FLOAT ? f32 : a->type == ATTN_EXPR_INT ? i32 : (DLDataType){kDLUInt, 8, 1};
        host_tensor(h, 10 + k, &h->aux[k], inst->aux[k], dtype, a->rank, a->shape);
        h->aux_names[k] = a->name;
    }
    p->aux = h->aux;
    p->aux_names = h->aux_names;
    p->aux_count = (uint32_t)c->aux_count;
}

/* The keys the current row sees, their scores and score bounds delta_j (all but the C_EXP
 * term, which needs the row's largest score); returns how many keys are visible.  *dot gets
 * the largest sum_e |q_e k_je|, scaled or not, whichever is larger. */
static int64_t row_scores(ref_rows *r, row_scratch *s, double *m, double *dot) {
    double gain = r->p->modifier == ATTN_MOD_SYNAPTIC ? 1.0 + fabs((double)r->p->synaptic_lambda) : 1.0;
    int64_t n = 0;
    *m = -INFINITY;
    *dot = 0.0;
    for (int64_t j = 0; j < r->tk; ++j) {
        s->visible[j] = (unsigned char)ref_rows_key_visible(r, j);
        if (!s->visible[j]) continue;
        double x, a;
        s->score[j] = ref_rows_score(r, j, &x, &a);
        if (s->score[j] == -INFINITY) { /* score_mod hid it */
            s->visible[j] = 0;
            continue;
        }
        *dot = fmax(*dot, fmax(a, a / r->scale));
        double dot_error = U32 * C_DOT * sqrt((double)r->d) * gain * a;
        s->delta[j] = dot_error + U32 * C_MOD * fabs(s->score[j] - x);
        if (r->score_mod.e) /* the dot product's error as it comes out of score_mod (measured both sides) */
            s->delta[j] = fmax(fabs(ref_rows_score_mod_at(r, j, x + dot_error) - s->score[j]),
                               fabs(ref_rows_score_mod_at(r, j, x - dot_error) - s->score[j])) +
                          U32 * C_MOD * fabs(s->score[j] - x);
        if (s->score[j] > *m) *m = s->score[j];
        ++n;
    }
    return n;
}

/* The tolerance of one row that is not padding: tol_o[dv] and *tol_lse.  Returns the bound
 * on how much softmax weight the scores' rounding can move (0 to 2); the row's largest |score|
 * goes to *top and its largest |Q.K| to *dot. */
static double row_tolerance(ref_rows *r, row_scratch *s, int32_t dtype, double *tol_o, double *tol_lse, double *top,
                            double *dot) {
    double m;
    int64_t n = row_scores(r, s, &m, dot);
    for (int64_t e = 0; e < r->dv; ++e) s->o[e] = tol_o[e] = 0.0;
    *tol_lse = 0.0;
    *top = 0.0;
    if (n == 0) return 0.0; /* no visible key: O must be exactly 0 and LSE -inf (attn_compare) */
    double sum = 0.0;
    for (int64_t j = 0; j < r->tk; ++j)
        if (s->visible[j]) sum += exp(s->score[j] - m);
    double lse = m + log(sum), most = 0.0, least = INFINITY;
    for (int64_t j = 0; j < r->tk; ++j) {
        if (!s->visible[j]) continue;
        *top = fmax(*top, fabs(s->score[j]));
        s->delta[j] += U32 * C_EXP * (fabs(s->score[j]) + fabs(m));
        most = fmax(most, s->delta[j]);
        least = fmin(least, s->delta[j]);
        s->prob[j] = exp(s->score[j] - lse);
        s->drop[j] = ref_rows_dropout(r, j);
    }
    /* A = sum p e^delta and B = sum p e^-delta, scaled by e^-most and e^least so that neither
     * overflows nor underflows however large the scores (their logs bound LSE's move). */
    double a_scaled = 0.0, b_scaled = 0.0;
    for (int64_t j = 0; j < r->tk; ++j) {
        if (!s->visible[j]) continue;
        a_scaled += s->prob[j] * exp(s->delta[j] - most);
        b_scaled += s->prob[j] * exp(least - s->delta[j]);
    }
    /* O in float64, and the P and sums terms: (u(dtype) R + C_ACC sqrt(n) u32) sum_j p_j d_j |v_j|. */
    double roundings = r->p->dropout_p > 0.0f ? 2.0 : 1.0;
    double sums = dtype_unit(dtype) * roundings + C_ACC * sqrt((double)n) * U32;
    for (int64_t j = 0; j < r->tk; ++j) {
        double weight = s->visible[j] ? s->prob[j] * s->drop[j] : 0.0;
        if (weight == 0.0) continue;
        const float *v = ref_rows_load_value(r, j);
        for (int64_t e = 0; e < r->dv; ++e) {
            s->o[e] += weight * (double)v[e];
            tol_o[e] += sums * weight * fabs((double)v[e]);
        }
    }
    /* The score term: sum_j |p'_j - p_j| |d_j v_j - O|. */
    double shift = 0.0;
    for (int64_t j = 0; j < r->tk; ++j) {
        if (!s->visible[j]) continue;
        /* The extremes of p'_j = p_j e^dj / sum_k p_k e^dk over |d| <= delta: key j up and all
         * others down, or the reverse.  Exact for each key (its own term in the sum counts,
         * so a key that already holds all the weight cannot move), though not all keys reach
         * their extremes at once. */
        double p = s->prob[j], d = s->delta[j];
        /* sum over the other keys of p_k e^-dk, times e^-dj; and of p_k e^dk, times e^dj (inf is right) */
        double others_down = fmax(b_scaled - p * exp(least - d), 0.0) * exp(-least - d);
        double rest_up = fmax(a_scaled - p * exp(d - most), 0.0);
        double others_up = rest_up > 0.0 ? rest_up * exp(most + d) : 0.0;
        double up = p / (p + others_down) - p, down = p - p / (p + others_up);
        double moved = fmax(fmax(up, down), 0.0);
        shift += moved;
        if (moved == 0.0) continue;
        const float *v = ref_rows_load_value(r, j);
        for (int64_t e = 0; e < r->dv; ++e) tol_o[e] += moved * fabs(s->drop[j] * (double)v[e] - s->o[e]);
    }
    double eps = 2.0 * dtype_unit(dtype), tiny = dtype_tiny(dtype);
    for (int64_t e = 0; e < r->dv; ++e) tol_o[e] = tol_o[e] * (1.0 + eps) + eps * fabs(s->o[e]) + tiny;
    /* LSE moves by log A at most up and -log B down; its sum and its own float32 rounding add. */
    double log_a = most + log(a_scaled), log_b = log(b_scaled) - least;
    *tol_lse = fmax(log_a, -log_b) + C_ACC * sqrt((double)n) * U32 + 2.0 * U32 * fabs(lse);
    return fmin(shift, 2.0);
}

attn_status attn_tolerance_make(const attn_instance *inst, attn_tolerance *out, attn_error *err) {
    const attn_case *c = &inst->c;
    memset(out, 0, sizeof *out);
    int64_t rows = c->batch * c->q_heads * c->q_len, dv = c->value_dim, tk = c->kv_len;
    host_problem h;
    make_host_problem(inst, &h);
    ref_rows r;
    char msg[ATTN_ERROR_CAP];
    attn_status st = ref_rows_init(&r, &h.p, msg, sizeof msg);
    if (st != ATTN_OK) return attn_error_set(err, st, "%s: tolerance: %s", c->name, msg);
    size_t keys = (size_t)(tk > 0 ? tk : 1);
    row_scratch s = {malloc(sizeof(double) * keys), malloc(sizeof(double) * keys), malloc(sizeof(double) * keys),
                     malloc(sizeof(double) * keys), malloc(keys), malloc(sizeof(double) * (size_t)(dv > 0 ? dv : 1))};
    out->o = malloc(sizeof(double) * (size_t)(rows * dv + 1));
    out->lse = malloc(sizeof(double) * (size_t)(rows + 1));
    out->empty = malloc((size_t)(rows + 1));
    st = ATTN_OK;
    if (!s.score || !s.delta || !s.prob || !s.drop || !s.visible || !s.o || !out->o || !out->lse || !out->empty)
        st = attn_error_set(err, ATTN_E_NOMEM, "%s: out of host memory for the tolerance", c->name);
    for (int64_t row = 0; st == ATTN_OK && row < rows; ++row) {
        int64_t b = row / (c->q_heads * c->q_len), h_ = (row / c->q_len) % c->q_heads, i = row % c->q_len;
        if (!ref_rows_begin(&r, b, h_, i)) { /* a padding row: exactly 0 */
            for (int64_t e = 0; e < dv; ++e) out->o[row * dv + e] = 0.0;
            out->lse[row] = 0.0;
            out->empty[row] = 1;
            continue;
        }
        double top, dot;
        double shift = row_tolerance(&r, &s, c->dtype, &out->o[row * dv], &out->lse[row], &top, &dot);
        if (shift > out->max_shift) out->max_shift = shift;
        if (!(dot <= DOT_LIMIT)) {
            st = attn_error_set(err, ATTN_E_INVALID,
                                "Q.K reaches %.3g (batch %lld, head %lld, row %lld), past 2^64: float32 kernels overflow "
                                "there, so none can be judged; lower input_scale",
                                dot, (long long)b, (long long)h_, (long long)i);
            break;
        }
        if (!(shift <= SHIFT_LIMIT)) {
            st = attn_error_set(err, ATTN_E_INVALID,
                                "scores reach %.3g (batch %lld, head %lld, row %lld), where their float32 rounding can "
                                "move %.0f%% of the softmax weight: no float32 result is determined, so none can be "
                                "judged; lower input_scale",
                                top, (long long)b, (long long)h_, (long long)i, 50.0 * shift);
            break;
        }
        if (r.expr_error.status != ATTN_EXPR_OK) {
            char why[ATTN_ERROR_CAP];
            cpu_expr_error_message(&r.expr_error, why, sizeof why);
            st = attn_error_set(err, ATTN_E_INVALID, "%s: %s", c->name, why);
            break;
        }
        out->empty[row] = 1;
        for (int64_t j = 0; j < tk && out->empty[row]; ++j) out->empty[row] = !s.visible[j];
        for (int64_t e = 0; e < dv; ++e) out->max_o = fmax(out->max_o, out->o[row * dv + e]);
    }
    free(s.score);
    free(s.delta);
    free(s.prob);
    free(s.drop);
    free(s.visible);
    free(s.o);
    ref_rows_free(&r);
    if (st != ATTN_OK) attn_tolerance_free(out);
    return st;
}
