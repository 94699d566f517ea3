/* The PASS rule itself (SPEC.md "Tolerance: what PASS means", harness/compare.c):
 *
 *   pass  <=>  max|O - golden| <= 2 * max|baseline - golden| + floor(dtype)   (same for LSE
 *              where the candidate carries one), no NaN/Inf in O, and rows that golden marks
 *              empty (LSE -inf) exactly 0 with LSE -inf.
 *
 * Every expected number below is worked out by hand in a comment and written as a literal
 * (hex floats where the value is a sum of powers of two, so it is exact); nothing is
 * computed with the code under test.  All differences are chosen so that float32 storage
 * and the double arithmetic of compare.c represent them exactly, so the boundary cases sit
 * exactly on the tolerance. */
#include <math.h>
#include <stdlib.h>

#include "attn_case.h"
#include "test_support.h"

/* The usual small instance: B 1, Hq 1, Tq ROWS, Dv DV, so a result is ROWS * DV floats of O
 * (row-major: element 2 is row 1, e 0) and ROWS floats of LSE.  attn_compare only reads the
 * case's sizes and dtype, but the instance is made for real so the case is a valid one. */
enum { ROWS = 2, DV = 2 };

static void make_instance(attn_instance *inst, int32_t dtype, int64_t q_len, int64_t kv_len, int32_t want_lse) {
    attn_case c;
    attn_case_defaults(&c);
    c.dtype = dtype;
    c.batch = 1;
    c.q_heads = c.kv_heads = 1;
    c.q_len = q_len;
    c.kv_len = kv_len;
    c.head_dim = 2;
    c.value_dim = DV;
    c.causal = 0;
    c.want_lse = want_lse;
    attn_error err = {0};
    if (attn_instance_make(&c, inst, &err) != ATTN_OK) fail_msg("instance: %s", err.message);
}

/* Host buffers of one result, and the attn_result that views them (LSE or not). */
typedef struct buffers {
    float o[ROWS * DV];
    float lse[ROWS];
} buffers;

static attn_result view(buffers *b, int with_lse) {
    attn_result r = {b->o, with_lse ? b->lse : NULL};
    return r;
}

static void assert_pass(const attn_verdict *v) {
    if (!v->pass) fail_msg("expected PASS, got FAIL: %s", v->detail);
    assert_string_equal(v->detail, "");
}

static void assert_fail(const attn_verdict *v, const char *why) {
    if (v->pass) fail_msg("expected FAIL (%s), got PASS", why);
    assert_contains(v->detail, why);
}

/* ---- 1. The floor ------------------------------------------------------------------- */

/* compare.c: floor = units * eps(dtype) * max(magnitude, 1), with units 4 for float32 and
 * 1 for the 16-bit types, eps 2^-23 (float32), 2^-10 (float16), 2^-7 (bfloat16).
 *   float32:  4 * 2^-23 = 2^-21 at 1;  3 * 2^-21 = 1.5 * 2^-20 at 3
 *   float16:  2^-10 at 1;             3 * 2^-10 = 1.5 * 2^-9 at 3
 *   bfloat16: 2^-7 at 1;              3 * 2^-7 = 1.5 * 2^-6 at 3
 * Below 1 the magnitude counts as 1 (0.25 gives the same floor as 1). */
static void test_dtype_floor(void **state) {
    (void)state;
    assert_close(attn_dtype_floor(ATTN_DTYPE_F32, 1.0), 0x1p-21, 0);   /* 4.76837158203125e-07 */
    assert_close(attn_dtype_floor(ATTN_DTYPE_F32, 3.0), 0x1.8p-20, 0); /* 1.430511474609375e-06 */
    assert_close(attn_dtype_floor(ATTN_DTYPE_F32, 0.25), 0x1p-21, 0);
    assert_close(attn_dtype_floor(ATTN_DTYPE_F16, 1.0), 0x1p-10, 0);   /* 0.0009765625 */
    assert_close(attn_dtype_floor(ATTN_DTYPE_F16, 3.0), 0x1.8p-9, 0);  /* 0.0029296875 */
    assert_close(attn_dtype_floor(ATTN_DTYPE_F16, 0.25), 0x1p-10, 0);
    assert_close(attn_dtype_floor(ATTN_DTYPE_BF16, 1.0), 0x1p-7, 0);   /* 0.0078125 */
    assert_close(attn_dtype_floor(ATTN_DTYPE_BF16, 3.0), 0x1.8p-6, 0); /* 0.0234375 */
    assert_close(attn_dtype_floor(ATTN_DTYPE_BF16, 0.25), 0x1p-7, 0);
}

/* ---- 2. The tolerance formula ------------------------------------------------------- */

/* float32.  golden O = {1, 0.5, -0.25, 0.75}: largest |golden| 1, floor 2^-21.
 * baseline differs by 2^-11 at element 0 and 2^-10 at element 2: e = max = 2^-10.
 * tol = 2e + floor = 2^-9 + 2^-21 = 0x1.001p-9 (0.001953601837158203125).
 * A candidate off by exactly tol at element 0 (1 + 2^-9 + 2^-21 = 0x1.008008p+0) passes;
 * the next float32 up (+2^-23: 0x1.00800ap+0, error tol + 2^-23 = 0x1.0014p-9) fails. */
static void test_tolerance_formula(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ATTN_DTYPE_F32, ROWS, ROWS, 0);
    buffers golden = {{1.0f, 0.5f, -0.25f, 0.75f}, {0}};
    buffers baseline = {{0x1.002p+0f /* 1 + 2^-11 */, 0.5f, -0x1.01p-2f /* -0.25 - 2^-10 */, 0.75f}, {0}};
    buffers at_tol = golden, beyond = golden;
    at_tol.o[0] = 0x1.008008p+0f;
    beyond.o[0] = 0x1.00800ap+0f;
    attn_result g = view(&golden, 0), b = view(&baseline, 0), c1 = view(&at_tol, 0), c2 = view(&beyond, 0);
    attn_verdict v;

    attn_compare(&inst, &g, &b, &c1, &v);
    assert_pass(&v);
    assert_close(v.tol_o, 0x1.001p-9, 0);
    assert_close(v.max_err_o, 0x1.001p-9, 0);
    assert_close(v.tol_lse, 0, 0); /* no LSE anywhere: not compared */
    assert_close(v.max_err_lse, 0, 0);

    attn_compare(&inst, &g, &b, &c2, &v);
    assert_fail(&v, "exceeds tolerance");
    assert_close(v.tol_o, 0x1.001p-9, 0);
    assert_close(v.max_err_o, 0x1.0014p-9, 0);
    attn_instance_free(&inst);
}

/* The floor follows the largest |golden| of the instance, not the element compared.
 * bfloat16, golden O = {3, -1, 0.5, 2}, baseline = golden (e = 0):
 * tol = floor = 3 * 2^-7 = 0.0234375.  An error of exactly that on the element -1
 * (-1.0234375 = -0x1.06p+0) passes; one float32 further (-0x1.060002p+0, error
 * 0.0234375 + 2^-23) fails. */
static void test_floor_follows_largest_golden(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ATTN_DTYPE_BF16, ROWS, ROWS, 0);
    buffers golden = {{3.0f, -1.0f, 0.5f, 2.0f}, {0}};
    buffers at_tol = golden, beyond = golden;
    at_tol.o[1] = -0x1.06p+0f;
    beyond.o[1] = -0x1.060002p+0f;
    attn_result g = view(&golden, 0), c1 = view(&at_tol, 0), c2 = view(&beyond, 0);
    attn_verdict v;

    attn_compare(&inst, &g, &g, &c1, &v);
    assert_pass(&v);
    assert_close(v.tol_o, 0.0234375, 0);
    assert_close(v.max_err_o, 0.0234375, 0);

    attn_compare(&inst, &g, &g, &c2, &v);
    assert_fail(&v, "exceeds tolerance");
    assert_close(v.max_err_o, 0x1.8p-6 + 0x1p-23, 0);
    attn_instance_free(&inst);
}

/* A baseline that overflowed (Inf) must not open the tolerance to +inf: compare.c skips
 * non-finite baseline differences.  Same golden as the formula test, baseline off by 2^-10
 * at element 0 and +Inf at element 3: tol = 2 * 2^-10 + 2^-21 = 0x1.001p-9, finite, and a
 * candidate off by 1 fails. */
static void test_nonfinite_baseline_sets_no_tolerance(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ATTN_DTYPE_F32, ROWS, ROWS, 0);
    buffers golden = {{1.0f, 0.5f, -0.25f, 0.75f}, {0}};
    buffers baseline = {{0x1.004p+0f /* 1 + 2^-10 */, 0.5f, -0.25f, INFINITY}, {0}};
    buffers candidate = golden;
    candidate.o[1] = 1.5f;
    attn_result g = view(&golden, 0), b = view(&baseline, 0), c = view(&candidate, 0);
    attn_verdict v;
    attn_compare(&inst, &g, &b, &c, &v);
    assert_close(v.tol_o, 0x1.001p-9, 0);
    assert_fail(&v, "exceeds tolerance");
    assert_close(v.max_err_o, 1.0, 0);
    attn_instance_free(&inst);
}

/* ---- 3. NaN and Inf ----------------------------------------------------------------- */

/* A non-finite O fails whatever the tolerance, with max_err_o +inf and a detail naming
 * the element: "O[b=0, row R, e=E] is nan|inf".  The baseline is made far off (tol about
 * 2) so only the non-finite rule can fail these. */
static void test_nonfinite_output_fails(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ATTN_DTYPE_F32, ROWS, ROWS, 0);
    buffers golden = {{1.0f, 0.5f, -0.25f, 0.75f}, {0}};
    buffers baseline = {{2.0f, 0.5f, -0.25f, 0.75f}, {0}}; /* e = 1: tol = 2 + 2^-21 */
    attn_result g = view(&golden, 0), b = view(&baseline, 0);
    attn_verdict v;

    buffers with_nan = golden;
    with_nan.o[2] = NAN; /* row 1, e 0 */
    attn_result c = view(&with_nan, 0);
    attn_compare(&inst, &g, &b, &c, &v);
    assert_fail(&v, "O[b=0, row 1, e=0] is nan");
    assert_true(isinf(v.max_err_o) && v.max_err_o > 0);

    buffers with_inf = golden;
    with_inf.o[1] = INFINITY; /* row 0, e 1 */
    c = view(&with_inf, 0);
    attn_compare(&inst, &g, &b, &c, &v);
    assert_fail(&v, "O[b=0, row 0, e=1] is inf");
    assert_true(isinf(v.max_err_o) && v.max_err_o > 0);

    buffers with_minus_inf = golden;
    with_minus_inf.o[3] = -INFINITY;
    c = view(&with_minus_inf, 0);
    attn_compare(&inst, &g, &b, &c, &v);
    assert_fail(&v, "is -inf");
    attn_instance_free(&inst);
}

/* ---- 4. Empty rows ------------------------------------------------------------------ */

/* golden: row 0 sees keys (O {0.5, -0.5}, LSE 0.25); row 1 has no visible key (O {0, 0},
 * LSE -inf).  baseline = golden, so tol_o = floor = 2^-21 and tol_lse = 8 * 2^-23 * 1.
 * An O of 1e-30 in the empty row is far inside the tolerance: only the exact-zero rule can
 * fail it, and it must do so whether or not the candidate returned LSE (golden's LSE is what
 * marks the row).  A finite LSE there is an infinite LSE error. */
static void test_empty_rows(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ATTN_DTYPE_F32, ROWS, ROWS, 1);
    buffers golden = {{0.5f, -0.5f, 0.0f, 0.0f}, {0.25f, -INFINITY}};
    attn_result g = view(&golden, 1);
    attn_verdict v;

    buffers exact = golden;
    attn_result c = view(&exact, 1);
    attn_compare(&inst, &g, &g, &c, &v);
    assert_pass(&v);
    assert_close(v.max_err_o, 0, 0);
    assert_close(v.max_err_lse, 0, 0); /* -inf against -inf is a match, not inf - inf */

    buffers tiny = golden;
    tiny.o[3] = 1e-30f; /* row 1, e 1 */
    c = view(&tiny, 1);
    attn_compare(&inst, &g, &g, &c, &v);
    assert_fail(&v, "no visible key");
    assert_true(v.max_err_o <= v.tol_o); /* the tolerance alone would have let it through */
    c = view(&tiny, 0);
    attn_compare(&inst, &g, &g, &c, &v);
    assert_fail(&v, "no visible key");

    buffers finite_lse = golden;
    finite_lse.lse[1] = 0.0f;
    c = view(&finite_lse, 1);
    attn_compare(&inst, &g, &g, &c, &v);
    assert_fail(&v, "LSE[b=0, row 1]");
    assert_true(isinf(v.max_err_lse) && v.max_err_lse > 0);
    attn_instance_free(&inst);
}

/* ---- 5. LSE ------------------------------------------------------------------------- */

/* Asked for (want_lse, so execution returns LSE): golden LSE {2, -1}, baseline off by 2^-20
 * at row 0: e = 2^-20.  The LSE floor in compare.c is 8 float32 units of the largest
 * |golden LSE| (2): 8 * 2^-23 * 2 = 2^-19.  tol_lse = 2 * 2^-20 + 2^-19 = 2^-18
 * (3.814697265625e-06).  LSE 2 + 2^-18 (0x1.00002p+1) passes; the next float32 up
 * (0x1.000022p+1, error 2^-18 + 2^-22 = 0x1.1p-18) fails.  O equals golden throughout. */
static void test_lse_when_asked(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ATTN_DTYPE_F32, ROWS, ROWS, 1);
    buffers golden = {{1.0f, 0.5f, -0.25f, 0.75f}, {2.0f, -1.0f}};
    buffers baseline = golden;
    baseline.lse[0] = 0x1.000008p+1f; /* 2 + 2^-20 */
    buffers at_tol = golden, beyond = golden;
    at_tol.lse[0] = 0x1.00002p+1f;
    beyond.lse[0] = 0x1.000022p+1f;
    attn_result g = view(&golden, 1), b = view(&baseline, 1), c1 = view(&at_tol, 1), c2 = view(&beyond, 1);
    attn_verdict v;

    attn_compare(&inst, &g, &b, &c1, &v);
    assert_pass(&v);
    assert_close(v.tol_lse, 0x1p-18, 0);
    assert_close(v.max_err_lse, 0x1p-18, 0);

    attn_compare(&inst, &g, &b, &c2, &v);
    assert_fail(&v, "LSE[b=0, row 0]");
    assert_close(v.tol_lse, 0x1p-18, 0);
    assert_close(v.max_err_lse, 0x1.1p-18, 0);
    attn_instance_free(&inst);
}

/* Not asked for: execution gives the candidate no LSE (attnmatrix still computes golden and
 * baseline with one).  Nothing about LSE is compared, even with a baseline LSE far off. */
static void test_lse_ignored_when_not_asked(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ATTN_DTYPE_F32, ROWS, ROWS, 0);
    buffers golden = {{1.0f, 0.5f, -0.25f, 0.75f}, {2.0f, -1.0f}};
    buffers baseline = golden;
    baseline.lse[1] = 5.0f;
    buffers candidate = golden;
    attn_result g = view(&golden, 1), b = view(&baseline, 1), c = view(&candidate, 0);
    attn_verdict v;
    attn_compare(&inst, &g, &b, &c, &v);
    assert_pass(&v);
    assert_close(v.tol_lse, 0, 0);
    assert_close(v.max_err_lse, 0, 0);
    attn_instance_free(&inst);
}

/* ---- 6. The LSE merge --------------------------------------------------------------- */

/* Three rows, two keys split into halves {key 0} and {key 1}, V0 = {1, 2}, V1 = {5, -2}.
 *  row 0: scores 0 and ln 3.  Each half of one key gives O = its V and LSE = its score.
 *         Whole: LSE = ln(e^0 + e^ln3) = ln 4 = 1.3862943611198906, weights 1/4 and 3/4,
 *         O = 1/4 {1, 2} + 3/4 {5, -2} = {4, -1}.  ln 3 is stored as a float32 (off by at
 *         most 2^-24), which moves the weights by at most 3/16 of that and O by at most
 *         4 * 3/16 * 2^-24 < 5e-8; with float32 rounding of the result, well inside 1e-6.
 *  row 1: no visible key in the first half (O {0, 0}, LSE -inf); second half O {7, -3},
 *         LSE 0.5.  Merged must equal the second half exactly: weight exp(-inf) = 0 and 1.
 *  row 2: no visible key in either half: O exactly 0, LSE -inf, no NaN from -inf - -inf. */
static void test_merge(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ATTN_DTYPE_F32, 3, 2, 1);
    float first_o[6] = {1.0f, 2.0f, 0.0f, 0.0f, 0.0f, 0.0f}, first_lse[3] = {0.0f, -INFINITY, -INFINITY};
    float second_o[6] = {5.0f, -2.0f, 7.0f, -3.0f, 0.0f, 0.0f}, second_lse[3] = {1.0986122886681098f, 0.5f, -INFINITY};
    attn_result first = {first_o, first_lse}, second = {second_o, second_lse}, merged;
    attn_error err = {0};
    assert_int_equal(attn_result_merge(&inst, &first, &second, &merged, &err), ATTN_OK);

    assert_close(merged.o[0], 4.0, 1e-6);
    assert_close(merged.o[1], -1.0, 1e-6);
    assert_close(merged.lse[0], 1.3862943611198906, 1e-6);

    assert_close(merged.o[2], 7.0, 0);
    assert_close(merged.o[3], -3.0, 0);
    assert_close(merged.lse[1], 0.5, 0);

    assert_false(isnan(merged.o[4]) || isnan(merged.o[5]));
    assert_close(merged.o[4], 0.0, 0);
    assert_close(merged.o[5], 0.0, 0);
    assert_true(isinf(merged.lse[2]) && merged.lse[2] < 0);
    attn_result_free(&merged);

    /* Merging needs both LSEs. */
    attn_result no_lse = {second_o, NULL};
    assert_int_equal(attn_result_merge(&inst, &first, &no_lse, &merged, &err), ATTN_E_INVALID);
    assert_contains(err.message, "LSE");
    attn_instance_free(&inst);
}

/* ---- 7. Pairwise difference --------------------------------------------------------- */

/* a = {1, 2, 3, 4}, b = {1, 2.5, 3, 3.75}: differences 0, 0.5, 0, 0.25, max 0.5.
 * A NaN on one side only (either side) is +inf, never a silent 0 or NaN. */
static void test_max_diff(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ATTN_DTYPE_F32, ROWS, ROWS, 0);
    buffers a = {{1.0f, 2.0f, 3.0f, 4.0f}, {0}}, b = {{1.0f, 2.5f, 3.0f, 3.75f}, {0}};
    attn_result ra = view(&a, 0), rb = view(&b, 0);
    assert_close(attn_result_max_diff(&inst, &ra, &rb), 0.5, 0);
    assert_close(attn_result_max_diff(&inst, &rb, &ra), 0.5, 0);
    assert_close(attn_result_max_diff(&inst, &ra, &ra), 0, 0);

    a.o[3] = NAN; /* the last element: a loop stopping one short would miss it */
    double d = attn_result_max_diff(&inst, &ra, &rb);
    assert_true(isinf(d) && d > 0);
    d = attn_result_max_diff(&inst, &rb, &ra);
    assert_true(isinf(d) && d > 0);
    attn_instance_free(&inst);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dtype_floor),
        cmocka_unit_test(test_tolerance_formula),
        cmocka_unit_test(test_floor_follows_largest_golden),
        cmocka_unit_test(test_nonfinite_baseline_sets_no_tolerance),
        cmocka_unit_test(test_nonfinite_output_fails),
        cmocka_unit_test(test_empty_rows),
        cmocka_unit_test(test_lse_when_asked),
        cmocka_unit_test(test_lse_ignored_when_not_asked),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_max_diff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
