/* The comparison rule of SPEC.md ("Tolerance: what PASS means") against the tolerance of
 * tolerance.c, pairwise differences and the LSE merge of two disjoint key sets. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn_case.h"

static int64_t row_count(const attn_case *c) { return c->batch * c->q_heads * c->q_len; }

/* Records the first failure's detail: later ones do not overwrite it. */
#define FAIL_WITH(...)                                                          \
    do {                                                                        \
        if (out->pass) snprintf(out->detail, sizeof out->detail, __VA_ARGS__); \
        out->pass = 0;                                                          \
    } while (0)

/* err / tol, with 0 / 0 = 0 (an exact match where nothing may differ). */
static double ratio_of(double err, double tol) { return err == 0.0 ? 0.0 : tol > 0.0 ? err / tol : INFINITY; }

void attn_compare(const attn_instance *inst, const attn_result *golden, const attn_tolerance *tolerance,
                  const attn_result *candidate, attn_verdict *out) {
    const attn_case *c = &inst->c;
    memset(out, 0, sizeof *out);
    out->pass = 1;
    int64_t rows = row_count(c), dv = c->value_dim;
    int compare_lse = candidate->lse && golden->lse;
    double worst_o = 0.0, worst_lse = 0.0;
    for (int64_t r = 0; r < rows; ++r) {
        long long b = r / (c->q_heads * c->q_len), h = (r / c->q_len) % c->q_heads, i = r % c->q_len;
        for (int64_t e = 0; e < dv; ++e) {
            int64_t n = r * dv + e;
            double x = candidate->o[n], d = fabs(x - (double)golden->o[n]);
            if (!isfinite(x)) {
                FAIL_WITH("O[b=%lld, h=%lld, row %lld, e=%lld] is %g", b, h, i, (long long)e, x);
                d = INFINITY;
            } else if (tolerance->empty[r] && x != 0.0) {
                FAIL_WITH("row %lld of batch %lld, head %lld has no visible key but O = %g, not 0", i, b, h, x);
            }
            if (d > out->max_err_o) out->max_err_o = d;
            double q = ratio_of(d, tolerance->o[n]);
            if (q > worst_o || (worst_o == 0.0 && tolerance->o[n] > out->tol_o)) {
                worst_o = q > worst_o ? q : worst_o; /* tol_o: where err / tol is largest, or the loosest if all match */
                out->tol_o = tolerance->o[n];
            }
            if (q > 1.0 && isfinite(x))
                FAIL_WITH("O[b=%lld, h=%lld, row %lld, e=%lld] = %.9g, golden %.9g: |diff| %.3g exceeds its tolerance %.3g", b,
                          h, i, (long long)e, x, (double)golden->o[n], d, tolerance->o[n]);
        }
        if (!compare_lse) continue;
        double x = candidate->lse[r], g = golden->lse[r];
        double d = tolerance->empty[r] ? (x == -INFINITY ? 0.0 : INFINITY) : isfinite(x) ? fabs(x - g) : INFINITY;
        if (d > out->max_err_lse) out->max_err_lse = d;
        double q = ratio_of(d, tolerance->lse[r]);
        if (q > worst_lse || (worst_lse == 0.0 && tolerance->lse[r] > out->tol_lse)) {
            worst_lse = q > worst_lse ? q : worst_lse;
            out->tol_lse = tolerance->lse[r];
        }
        if (q > 1.0) FAIL_WITH("LSE[b=%lld, h=%lld, row %lld] = %.9g, golden %.9g (tolerance %.3g)", b, h, i, x, g, tolerance->lse[r]);
    }
    out->ratio = worst_o > worst_lse ? worst_o : worst_lse;
}

double attn_result_max_diff(const attn_instance *inst, const attn_result *a, const attn_result *b) {
    int64_t count = row_count(&inst->c) * inst->c.value_dim;
    double worst = 0.0;
    for (int64_t n = 0; n < count; ++n) {
        double x = a->o[n], y = b->o[n];
        double d = (x == y) ? 0.0 : fabs(x - y);
        if (isnan(d)) d = INFINITY;
        if (d > worst) worst = d;
    }
    return worst;
}

attn_status attn_result_merge(const attn_instance *inst, const attn_result *a, const attn_result *b, attn_result *out,
                              attn_error *err) {
    int64_t rows = row_count(&inst->c), dv = inst->c.value_dim;
    memset(out, 0, sizeof *out);
    if (!a->lse || !b->lse) return attn_error_set(err, ATTN_E_INVALID, "merging needs the LSE of both halves");
    out->o = malloc(sizeof(float) * (size_t)(rows * dv + 1));
    out->lse = malloc(sizeof(float) * (size_t)(rows + 1));
    if (!out->o || !out->lse) {
        attn_result_free(out);
        return attn_error_set(err, ATTN_E_NOMEM, "out of host memory");
    }
    for (int64_t r = 0; r < rows; ++r) {
        double la = a->lse[r], lb = b->lse[r];
        double m = la > lb ? la : lb;
        double lse = m == -INFINITY ? -INFINITY : m + log(exp(la - m) + exp(lb - m));
        double wa = lse == -INFINITY ? 0.0 : exp(la - lse), wb = lse == -INFINITY ? 0.0 : exp(lb - lse);
        out->lse[r] = (float)lse;
        for (int64_t e = 0; e < dv; ++e)
            out->o[r * dv + e] = (float)(wa * a->o[r * dv + e] + wb * b->o[r * dv + e]);
    }
    return ATTN_OK;
}
