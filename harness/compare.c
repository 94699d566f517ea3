/* The comparison rule of SPEC.md ("Tolerance: what PASS means"), pairwise differences and
 * the LSE merge of two disjoint key sets. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn_case.h"

/* Unit roundoff of each dtype (2^-mantissa bits). */
static double dtype_epsilon(int32_t dtype) {
    switch (dtype) {
    case ATTN_DTYPE_F16: return 0x1.0p-10;
    case ATTN_DTYPE_BF16: return 0x1.0p-7;
    default: return 0x1.0p-23;
    }
}

/* Two 16-bit results that are each correctly rounded can differ by one unit in the last
 * place of the largest value; float32 results also carry the accumulation order of a long
 * row, hence 4 units.  Anything beyond that must come from the baseline term. */
double attn_dtype_floor(int32_t dtype, double magnitude) {
    double units = dtype == ATTN_DTYPE_F32 ? 4.0 : 1.0;
    return units * dtype_epsilon(dtype) * (magnitude > 1.0 ? magnitude : 1.0);
}

/* LSE is float32 whatever the dtype, and is compared in absolute terms. */
static double lse_floor(double magnitude) { return 8.0 * 0x1.0p-23 * (magnitude > 1.0 ? magnitude : 1.0); }

static int64_t row_count(const attn_case *c) { return c->batch * c->q_heads * c->q_len; }

void attn_compare(const attn_instance *inst, const attn_result *golden, const attn_result *baseline,
                  const attn_result *candidate, attn_verdict *out) {
    const attn_case *c = &inst->c;
    memset(out, 0, sizeof *out);
    out->pass = 1;
    int64_t rows = row_count(c), dv = c->value_dim;
    double magnitude = 0.0, baseline_err = 0.0, lse_magnitude = 0.0, baseline_lse_err = 0.0;
    for (int64_t n = 0; n < rows * dv; ++n) {
        if (isfinite(golden->o[n]) && fabs(golden->o[n]) > magnitude) magnitude = fabs(golden->o[n]);
        double d = fabs((double)baseline->o[n] - (double)golden->o[n]);
        if (isfinite(d) && d > baseline_err) baseline_err = d; /* a baseline that overflowed sets no tolerance */
    }
    out->tol_o = 2.0 * baseline_err + attn_dtype_floor(c->dtype, magnitude);
    int compare_lse = candidate->lse && golden->lse && baseline->lse;
    if (compare_lse) {
        for (int64_t r = 0; r < rows; ++r) {
            if (!isfinite(golden->lse[r])) continue;
            if (fabs(golden->lse[r]) > lse_magnitude) lse_magnitude = fabs(golden->lse[r]);
            double d = fabs((double)baseline->lse[r] - (double)golden->lse[r]);
            if (isfinite(d) && d > baseline_lse_err) baseline_lse_err = d;
        }
        out->tol_lse = 2.0 * baseline_lse_err + lse_floor(lse_magnitude);
    }
    for (int64_t r = 0; r < rows; ++r) {
        int64_t b = r / (c->q_heads * c->q_len), i = r % c->q_len;
        /* golden marks empty rows (padding, no visible key) with LSE -inf and O exactly 0. */
        int empty = golden->lse ? golden->lse[r] == -INFINITY : 0;
        for (int64_t e = 0; e < dv; ++e) {
            double x = candidate->o[r * dv + e], g = golden->o[r * dv + e];
            if (!isfinite(x)) {
                if (out->pass)
                    snprintf(out->detail, sizeof out->detail, "O[b=%lld, row %lld, e=%lld] is %g", (long long)b, (long long)i,
                             (long long)e, x);
                out->pass = 0;
                out->max_err_o = INFINITY;
                continue;
            }
            if (empty && x != 0.0) {
                if (out->pass)
                    snprintf(out->detail, sizeof out->detail, "row %lld of batch %lld has no visible key but O = %g, not 0",
                             (long long)i, (long long)b, x);
                out->pass = 0;
            }
            double d = fabs(x - g);
            if (d > out->max_err_o) out->max_err_o = d;
        }
        if (compare_lse) {
            double x = candidate->lse[r], g = golden->lse[r];
            double d = (x == g) ? 0.0 : fabs(x - g); /* -inf == -inf is a match */
            if (isnan(x) || (isinf(x) != isinf(g)) || (isinf(x) && x != g)) d = INFINITY;
            if (d > out->max_err_lse) out->max_err_lse = d;
            if (!(d <= out->tol_lse) && out->pass) {
                snprintf(out->detail, sizeof out->detail, "LSE[b=%lld, row %lld] = %g, golden %g", (long long)b, (long long)i, x, g);
                out->pass = 0;
            }
        }
    }
    if (!(out->max_err_o <= out->tol_o) && out->pass) {
        snprintf(out->detail, sizeof out->detail, "max|O - golden| = %.3g exceeds tolerance %.3g", out->max_err_o, out->tol_o);
        out->pass = 0;
    }
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
