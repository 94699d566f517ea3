/* The PASS rule itself (SPEC.md "Tolerance: what PASS means", harness/compare.c), given a
 * per-element tolerance (harness/tolerance.c derives it; test_tolerance.c tests that):
 *
 *   pass  <=>  for every element n of O: O[n] finite and |O[n] - golden[n]| <= tol.o[n];
 *              every row r with tol.empty[r] (no visible key): O exactly 0 in the whole row;
 *              when candidate and golden both carry LSE: |LSE[r] - golden[r]| <= tol.lse[r]
 *              for rows that see keys (a non-finite LSE fails), LSE exactly -inf for empty rows.
 *
 * The verdict reports ratio = the largest err / tol over O and LSE (0 / 0 counts 0, err > 0
 * with tol 0 is +inf), max_err_o / max_err_lse, tol_o / tol_lse = the tolerance of the element
 * where err / tol is largest (the largest tolerance when every error is 0), and detail = the
 * first failure in row-major order (a row's O elements, then its LSE), empty on PASS.
 *
 * The tolerances here are built by hand (attn_tolerance_make is not called), so each test
 * chooses exactly the bound it sits on.  Every expected number is worked out by hand in a
 * comment and written as a literal (hex floats where the value is a sum of powers of two, so
 * it is exact); nothing is computed with the code under test.  All differences are chosen so
 * that float32 storage and the double arithmetic of compare.c represent them exactly, so the
 * boundary cases sit exactly on the tolerance. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attn_case.h"
#include "test_support.h"

/* The usual small instance: B 1, Hq 1, Tq ROWS, Dv DV, so a result is ROWS * DV floats of O
 * (row-major: element 2 is row 1, e 0) and ROWS floats of LSE.  attn_compare only reads the
 * case's sizes, but the instance is made for real so the case is a valid one. */
enum { ROWS = 2, DV = 2 };

static void make_instance_sized(attn_instance *inst, int64_t batch, int64_t heads, int64_t q_len, int64_t kv_len,
                                int64_t dv, int32_t want_lse) {
    attn_case c;
    attn_case_defaults(&c);
    c.dtype = ATTN_DTYPE_F32;
    c.batch = batch;
    c.q_heads = c.kv_heads = heads;
    c.q_len = q_len;
    c.kv_len = kv_len;
    c.head_dim = 2;
    c.value_dim = dv;
    c.causal = 0;
    c.want_lse = want_lse;
    attn_error err = {0};
    if (attn_instance_make(&c, inst, &err) != ATTN_OK) fail_msg("instance: %s", err.message);
}

static void make_instance(attn_instance *inst, int64_t q_len, int64_t kv_len, int32_t want_lse) {
    make_instance_sized(inst, 1, 1, q_len, kv_len, DV, want_lse);
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

/* A tolerance made by hand, in malloc'd arrays as attn_tolerance_make gives them (so
 * attn_tolerance_free releases it). */
static attn_tolerance hand_tolerance(const double *o, const double *lse, const uint8_t *empty, int64_t rows, int64_t dv) {
    attn_tolerance t;
    memset(&t, 0, sizeof t);
    t.o = malloc(sizeof(double) * (size_t)(rows * dv));
    t.lse = malloc(sizeof(double) * (size_t)rows);
    t.empty = malloc((size_t)rows);
    if (!t.o || !t.lse || !t.empty) fail_msg("out of memory");
    memcpy(t.o, o, sizeof(double) * (size_t)(rows * dv));
    memcpy(t.lse, lse, sizeof(double) * (size_t)rows);
    memcpy(t.empty, empty, (size_t)rows);
    return t;
}

static void assert_pass(const attn_verdict *v) {
    if (!v->pass) fail_msg("expected PASS, got FAIL: %s", v->detail);
    assert_string_equal(v->detail, "");
}

static void assert_fail(const attn_verdict *v, const char *why) {
    if (v->pass) fail_msg("expected FAIL (%s), got PASS", why);
    assert_contains(v->detail, why);
}

static void assert_plus_inf(double x) {
    if (!(isinf(x) && x > 0)) fail_msg("expected +inf, got %g", x);
}

/* ---- 1. The bound is inclusive, and one float32 ulp beyond it fails ---------------- */

/* golden O = {1, 0.5, -0.25, 0.75}, tol.o = 2^-20 everywhere.
 *   element 0: 1 + 2^-20 (0x1.00001p+0) is off by exactly 2^-20: ratio 1, PASS.
 *              the next float32 up, 1 + 2^-20 + 2^-23 (0x1.000012p+0), is off by
 *              0x1.2p-20 = 1.0728836059570312e-06: ratio 9/8 = 1.125, FAIL, and the detail
 *              prints it as "= 1.00000107, golden 1: |diff| 1.07e-06 exceeds its tolerance
 *              9.54e-07" (2^-20 = 9.5367431640625e-07).
 *   element 2 (row 1, e 0), below golden where the float32 spacing is 2^-25:
 *              -0.25 - 2^-20 (-0x1.00004p-2) passes with ratio 1;
 *              -0.25 - 2^-20 - 2^-25 (-0x1.000042p-2), off by 0x1.08p-20, ratio
 *              33/32 = 1.03125, fails. */
static void test_bound_is_inclusive(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ROWS, ROWS, 0);
    const double tol_o[ROWS * DV] = {0x1p-20, 0x1p-20, 0x1p-20, 0x1p-20}, tol_lse[ROWS] = {0, 0};
    const uint8_t empty[ROWS] = {0, 0};
    attn_tolerance tol = hand_tolerance(tol_o, tol_lse, empty, ROWS, DV);
    buffers golden = {{1.0f, 0.5f, -0.25f, 0.75f}, {0}};
    attn_result g = view(&golden, 0);
    attn_verdict v;

    buffers at_tol = golden;
    at_tol.o[0] = 0x1.00001p+0f;
    attn_result c = view(&at_tol, 0);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_pass(&v);
    assert_close(v.ratio, 1.0, 0);
    assert_close(v.max_err_o, 0x1p-20, 0);
    assert_close(v.tol_o, 0x1p-20, 0);
    assert_close(v.max_err_lse, 0, 0); /* no LSE anywhere: not compared */
    assert_close(v.tol_lse, 0, 0);

    buffers beyond = golden;
    beyond.o[0] = 0x1.000012p+0f;
    c = view(&beyond, 0);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "O[b=0, h=0, row 0, e=0] = 1.00000107, golden 1: |diff| 1.07e-06 exceeds its tolerance 9.54e-07");
    assert_close(v.ratio, 1.125, 0);
    assert_close(v.max_err_o, 0x1.2p-20, 0);
    assert_close(v.tol_o, 0x1p-20, 0);

    buffers below = golden;
    below.o[2] = -0x1.00004p-2f;
    c = view(&below, 0);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_pass(&v);
    assert_close(v.ratio, 1.0, 0);

    below.o[2] = -0x1.000042p-2f;
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "O[b=0, h=0, row 1, e=0]");
    assert_close(v.ratio, 1.03125, 0);
    assert_close(v.max_err_o, 0x1.08p-20, 0);
    attn_tolerance_free(&tol);
    attn_instance_free(&inst);
}

/* ---- 2. The tolerance is per element ---------------------------------------------- */

/* tol.o = {2^-20, 2^-10, 2^-20, 0}, golden O = {1, 0.5, -0.25, 0.75}.
 *   candidate = golden: PASS, ratio 0, and tol_o reports the loosest tolerance, 2^-10.
 *   an error of 2^-12 on element 1 (0.5 + 2^-12 = 0x1.002p-1): ratio 2^-12 / 2^-10 = 0.25,
 *     PASS, tol_o 2^-10.
 *   the same error of 2^-12 on element 0 (1 + 2^-12 = 0x1.001p+0): ratio 2^-12 / 2^-20 = 256,
 *     FAIL naming element 0, tol_o 2^-20.
 *   one float32 ulp on element 3, whose tolerance is 0 (0.75 + 2^-24 = 0x1.800002p-1): ratio
 *     +inf, FAIL naming row 1, e 1; with element 3 exact, 0 / 0 counts 0 (the PASS above).
 *   errors 2^-11 on element 1 (ratio 0.5) and 3 * 2^-22 on element 2 (-0.25 - 3 * 2^-22 =
 *     -0x1.00003p-2, ratio 0.75): PASS with ratio 0.75, max_err_o 2^-11 (element 1's) but
 *     tol_o 2^-20, the tolerance of element 2 where err / tol is largest. */
static void test_per_element_tolerance(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ROWS, ROWS, 0);
    const double tol_o[ROWS * DV] = {0x1p-20, 0x1p-10, 0x1p-20, 0}, tol_lse[ROWS] = {0, 0};
    const uint8_t empty[ROWS] = {0, 0};
    attn_tolerance tol = hand_tolerance(tol_o, tol_lse, empty, ROWS, DV);
    buffers golden = {{1.0f, 0.5f, -0.25f, 0.75f}, {0}};
    attn_result g = view(&golden, 0);
    attn_verdict v;

    buffers same = golden;
    attn_result c = view(&same, 0);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_pass(&v);
    assert_close(v.ratio, 0, 0);
    assert_close(v.max_err_o, 0, 0);
    assert_close(v.tol_o, 0x1p-10, 0);

    buffers loose = golden;
    loose.o[1] = 0x1.002p-1f;
    c = view(&loose, 0);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_pass(&v);
    assert_close(v.ratio, 0.25, 0);
    assert_close(v.max_err_o, 0x1p-12, 0);
    assert_close(v.tol_o, 0x1p-10, 0);

    buffers tight = golden;
    tight.o[0] = 0x1.001p+0f;
    c = view(&tight, 0);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "O[b=0, h=0, row 0, e=0]");
    assert_close(v.ratio, 256, 0);
    assert_close(v.max_err_o, 0x1p-12, 0);
    assert_close(v.tol_o, 0x1p-20, 0);

    buffers zero_tol = golden;
    zero_tol.o[3] = 0x1.800002p-1f;
    c = view(&zero_tol, 0);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "O[b=0, h=0, row 1, e=1]");
    assert_plus_inf(v.ratio);
    assert_close(v.max_err_o, 0x1p-24, 0);
    assert_close(v.tol_o, 0, 0);

    buffers two = golden;
    two.o[1] = 0x1.004p-1f; /* 0.5 + 2^-11 */
    two.o[2] = -0x1.00003p-2f;
    c = view(&two, 0);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_pass(&v);
    assert_close(v.ratio, 0.75, 0);
    assert_close(v.max_err_o, 0x1p-11, 0);
    assert_close(v.tol_o, 0x1p-20, 0);
    attn_tolerance_free(&tol);
    attn_instance_free(&inst);
}

/* ---- 3. NaN and Inf ----------------------------------------------------------------- */

/* A non-finite O fails whatever the tolerance, with max_err_o and ratio +inf and a detail
 * naming the element: "O[b=0, h=0, row R, e=E] is nan|inf|-inf".  tol.o is 1 everywhere,
 * so only the non-finite rule can fail these. */
static void test_nonfinite_output_fails(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ROWS, ROWS, 0);
    const double tol_o[ROWS * DV] = {1, 1, 1, 1}, tol_lse[ROWS] = {0, 0};
    const uint8_t empty[ROWS] = {0, 0};
    attn_tolerance tol = hand_tolerance(tol_o, tol_lse, empty, ROWS, DV);
    buffers golden = {{1.0f, 0.5f, -0.25f, 0.75f}, {0}};
    attn_result g = view(&golden, 0);
    attn_verdict v;

    buffers with_nan = golden;
    with_nan.o[2] = NAN; /* row 1, e 0 */
    attn_result c = view(&with_nan, 0);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "O[b=0, h=0, row 1, e=0] is nan");
    assert_plus_inf(v.max_err_o);
    assert_plus_inf(v.ratio);

    buffers with_inf = golden;
    with_inf.o[1] = INFINITY; /* row 0, e 1 */
    c = view(&with_inf, 0);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "O[b=0, h=0, row 0, e=1] is inf");
    assert_plus_inf(v.max_err_o);
    assert_plus_inf(v.ratio);

    buffers with_minus_inf = golden;
    with_minus_inf.o[3] = -INFINITY; /* row 1, e 1: the last element */
    c = view(&with_minus_inf, 0);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "O[b=0, h=0, row 1, e=1] is -inf");
    assert_plus_inf(v.ratio);
    attn_tolerance_free(&tol);
    attn_instance_free(&inst);
}

/* ---- 4. Empty rows ------------------------------------------------------------------ */

/* Row 0 sees keys (golden O {0.5, -0.5}, LSE 0.25); row 1 is marked empty (golden O {0, 0},
 * LSE -inf).  The hand tolerance gives the empty row a deliberately loose tol.o of 1 (the
 * real one is 0), so only the exact-zero rule, driven by tol.empty, can fail it:
 *   candidate = golden: PASS, max_err_lse 0 (-inf against -inf is a match, not inf - inf).
 *   1e-30 in row 1, e 1: FAIL "row 1 of batch 0, head 0 has no visible key but O = 1e-30",
 *     with LSE compared or not (the tolerance marks the row, not golden's LSE).
 *   a finite LSE (0) in the empty row: FAIL "LSE[b=0, h=0, row 1]", max_err_lse +inf; so
 *     does a NaN LSE there.  tol.lse of the empty row is 0: ratio +inf. */
static void test_empty_rows(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ROWS, ROWS, 1);
    const double tol_o[ROWS * DV] = {0x1p-20, 0x1p-20, 1, 1}, tol_lse[ROWS] = {0x1p-20, 0};
    const uint8_t empty[ROWS] = {0, 1};
    attn_tolerance tol = hand_tolerance(tol_o, tol_lse, empty, ROWS, DV);
    buffers golden = {{0.5f, -0.5f, 0.0f, 0.0f}, {0.25f, -INFINITY}};
    attn_result g = view(&golden, 1);
    attn_verdict v;

    buffers exact = golden;
    attn_result c = view(&exact, 1);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_pass(&v);
    assert_close(v.max_err_o, 0, 0);
    assert_close(v.max_err_lse, 0, 0);
    assert_close(v.ratio, 0, 0);

    buffers tiny = golden;
    tiny.o[3] = 1e-30f; /* row 1, e 1 */
    c = view(&tiny, 1);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "row 1 of batch 0, head 0 has no visible key but O = 1e-30");
    c = view(&tiny, 0);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "row 1 of batch 0, head 0 has no visible key but O = 1e-30");

    buffers finite_lse = golden;
    finite_lse.lse[1] = 0.0f;
    c = view(&finite_lse, 1);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "LSE[b=0, h=0, row 1]");
    assert_plus_inf(v.max_err_lse);
    assert_plus_inf(v.ratio);

    finite_lse.lse[1] = NAN;
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "LSE[b=0, h=0, row 1]");
    assert_plus_inf(v.max_err_lse);
    attn_tolerance_free(&tol);
    attn_instance_free(&inst);
}

/* The detail names batch, head and row of the failing element.  B 2, H 2, Tq 2, Dv 1: row
 * index r = (b * 2 + h) * 2 + i and element n = r.  All tol.o 2^-20, row 5 (b 1, h 0, i 1)
 * off by 1: "O[b=1, h=0, row 1, e=0]"; row 6 (b 1, h 1, i 0) marked empty and given 0.5:
 * "row 0 of batch 1, head 1 has no visible key". */
static void test_detail_names_batch_and_head(void **state) {
    (void)state;
    attn_instance inst;
    make_instance_sized(&inst, 2, 2, 2, 2, 1, 0);
    const double tol_o[8] = {0x1p-20, 0x1p-20, 0x1p-20, 0x1p-20, 0x1p-20, 0x1p-20, 0, 0x1p-20}, tol_lse[8] = {0};
    const uint8_t empty[8] = {0, 0, 0, 0, 0, 0, 1, 0};
    attn_tolerance tol = hand_tolerance(tol_o, tol_lse, empty, 8, 1);
    float golden_o[8] = {1, 2, 3, 4, 5, 6, 0, 8}, cand_o[8];
    attn_result g = {golden_o, NULL}, c = {cand_o, NULL};
    attn_verdict v;

    memcpy(cand_o, golden_o, sizeof cand_o);
    cand_o[5] = 7.0f;
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "O[b=1, h=0, row 1, e=0]");

    memcpy(cand_o, golden_o, sizeof cand_o);
    cand_o[6] = 0.5f;
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "row 0 of batch 1, head 1 has no visible key but O = 0.5");
    attn_tolerance_free(&tol);
    attn_instance_free(&inst);
}

/* ---- 5. LSE ------------------------------------------------------------------------- */

/* golden LSE {2, -1}, tol.lse {2^-18, 2^-20}, O equal to golden with tol.o 2^-20.
 *   2 + 2^-18 (0x1.00002p+1) is off by exactly 2^-18: PASS, ratio 1, tol_lse 2^-18.
 *   the next float32 up (0x1.000022p+1, off by 2^-18 + 2^-22 = 0x1.1p-18, ratio 17/16 =
 *     1.0625): FAIL, detail "LSE[b=0, h=0, row 0] = 2.00000405, golden 2 (tolerance 3.81e-06)".
 *   a non-finite LSE in a row that sees keys (+inf, -inf, NaN): FAIL, max_err_lse +inf. */
static void test_lse_bound(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ROWS, ROWS, 1);
    const double tol_o[ROWS * DV] = {0x1p-20, 0x1p-20, 0x1p-20, 0x1p-20}, tol_lse[ROWS] = {0x1p-18, 0x1p-20};
    const uint8_t empty[ROWS] = {0, 0};
    attn_tolerance tol = hand_tolerance(tol_o, tol_lse, empty, ROWS, DV);
    buffers golden = {{1.0f, 0.5f, -0.25f, 0.75f}, {2.0f, -1.0f}};
    attn_result g = view(&golden, 1);
    attn_verdict v;

    buffers at_tol = golden;
    at_tol.lse[0] = 0x1.00002p+1f;
    attn_result c = view(&at_tol, 1);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_pass(&v);
    assert_close(v.ratio, 1.0, 0);
    assert_close(v.max_err_lse, 0x1p-18, 0);
    assert_close(v.tol_lse, 0x1p-18, 0);

    buffers beyond = golden;
    beyond.lse[0] = 0x1.000022p+1f;
    c = view(&beyond, 1);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "LSE[b=0, h=0, row 0] = 2.00000405, golden 2 (tolerance 3.81e-06)");
    assert_close(v.ratio, 1.0625, 0);
    assert_close(v.max_err_lse, 0x1.1p-18, 0);
    assert_close(v.tol_lse, 0x1p-18, 0);

    const float nonfinite[3] = {INFINITY, -INFINITY, NAN};
    for (int k = 0; k < 3; ++k) {
        buffers bad = golden;
        bad.lse[1] = nonfinite[k];
        c = view(&bad, 1);
        attn_compare(&inst, &g, &tol, &c, &v);
        assert_fail(&v, "LSE[b=0, h=0, row 1]");
        assert_plus_inf(v.max_err_lse);
        assert_plus_inf(v.ratio);
    }
    attn_tolerance_free(&tol);
    attn_instance_free(&inst);
}

/* LSE is compared only when both candidate and golden carry it, whatever the case's want_lse
 * (the instance here has want_lse 0: what the results carry decides).  Same tolerance as
 * above; LSE 5 instead of -1 in row 1 (an error of 6, ratio 6 * 2^20) on the side that has it:
 *   candidate without LSE, golden with: PASS, tol_lse and max_err_lse 0.
 *   candidate with the wrong LSE, golden without: PASS likewise.
 *   both: FAIL (the control, so the two PASSes above are not vacuous). */
static void test_lse_only_when_both_have_it(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ROWS, ROWS, 0);
    const double tol_o[ROWS * DV] = {0x1p-20, 0x1p-20, 0x1p-20, 0x1p-20}, tol_lse[ROWS] = {0x1p-18, 0x1p-20};
    const uint8_t empty[ROWS] = {0, 0};
    attn_tolerance tol = hand_tolerance(tol_o, tol_lse, empty, ROWS, DV);
    buffers golden = {{1.0f, 0.5f, -0.25f, 0.75f}, {2.0f, -1.0f}};
    buffers wrong = golden;
    wrong.lse[1] = 5.0f;
    attn_verdict v;

    attn_result g = view(&golden, 1), c = view(&wrong, 0);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_pass(&v);
    assert_close(v.tol_lse, 0, 0);
    assert_close(v.max_err_lse, 0, 0);

    g = view(&golden, 0);
    c = view(&wrong, 1);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_pass(&v);
    assert_close(v.tol_lse, 0, 0);
    assert_close(v.max_err_lse, 0, 0);

    g = view(&golden, 1);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "LSE[b=0, h=0, row 1]");
    assert_close(v.max_err_lse, 6, 0);
    assert_close(v.ratio, 6 * 0x1p20, 0);
    attn_tolerance_free(&tol);
    attn_instance_free(&inst);
}

/* ratio is the largest err / tol over O and LSE together; tol_o and tol_lse each follow their
 * own largest ratio.  tol.o 2^-20 everywhere, tol.lse {2^-18, 2^-20}; golden as above.
 *   O element 0 off by 2^-21 (1 + 2^-21 = 0x1.000008p+0): O ratio 0.5.
 *   LSE row 1 off by 3 * 2^-22 (-1 - 3 * 2^-22 = -0x1.00000cp+0): LSE ratio 0.75, while
 *   row 0's tolerance 2^-18 is the larger one: tol_lse 2^-20.  ratio 0.75 (the LSE's).
 *   With the LSE exact instead, ratio 0.5 (the O's), and tol_lse = the loosest, 2^-18. */
static void test_ratio_over_o_and_lse(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ROWS, ROWS, 1);
    const double tol_o[ROWS * DV] = {0x1p-20, 0x1p-20, 0x1p-20, 0x1p-20}, tol_lse[ROWS] = {0x1p-18, 0x1p-20};
    const uint8_t empty[ROWS] = {0, 0};
    attn_tolerance tol = hand_tolerance(tol_o, tol_lse, empty, ROWS, DV);
    buffers golden = {{1.0f, 0.5f, -0.25f, 0.75f}, {2.0f, -1.0f}};
    attn_result g = view(&golden, 1);
    attn_verdict v;

    buffers both = golden;
    both.o[0] = 0x1.000008p+0f;
    both.lse[1] = -0x1.00000cp+0f;
    attn_result c = view(&both, 1);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_pass(&v);
    assert_close(v.ratio, 0.75, 0);
    assert_close(v.max_err_o, 0x1p-21, 0);
    assert_close(v.tol_o, 0x1p-20, 0);
    assert_close(v.max_err_lse, 0x1.8p-21, 0);
    assert_close(v.tol_lse, 0x1p-20, 0);

    both.lse[1] = -1.0f;
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_pass(&v);
    assert_close(v.ratio, 0.5, 0);
    assert_close(v.max_err_lse, 0, 0);
    assert_close(v.tol_lse, 0x1p-18, 0);
    attn_tolerance_free(&tol);
    attn_instance_free(&inst);
}

/* The detail is the FIRST failure in row-major order (row 0's O, row 0's LSE, row 1's O, ...),
 * whatever comes after it and however bad.  tol.o 2^-20, tol.lse 2^-20 everywhere:
 *   row 0 e 1 off by 1 and a NaN in row 1 e 0: detail names row 0, e 1 (not the NaN, though
 *     the ratio is +inf from it).
 *   row 0 e 0 and row 0 e 1 both off by 1: detail names e 0.
 *   row 0's LSE off by 1 and row 1 e 0 off by 1: detail names LSE row 0. */
static void test_detail_is_first_failure(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ROWS, ROWS, 1);
    const double tol_o[ROWS * DV] = {0x1p-20, 0x1p-20, 0x1p-20, 0x1p-20}, tol_lse[ROWS] = {0x1p-20, 0x1p-20};
    const uint8_t empty[ROWS] = {0, 0};
    attn_tolerance tol = hand_tolerance(tol_o, tol_lse, empty, ROWS, DV);
    buffers golden = {{1.0f, 0.5f, -0.25f, 0.75f}, {2.0f, -1.0f}};
    attn_result g = view(&golden, 1);
    attn_verdict v;

    buffers a = golden;
    a.o[1] = 1.5f;
    a.o[2] = NAN;
    attn_result c = view(&a, 1);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "O[b=0, h=0, row 0, e=1] = 1.5");
    assert_plus_inf(v.ratio);

    buffers b = golden;
    b.o[0] = 2.0f;
    b.o[1] = 1.5f;
    c = view(&b, 1);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "O[b=0, h=0, row 0, e=0] = 2");

    buffers d = golden;
    d.lse[0] = 3.0f;
    d.o[2] = 0.75f;
    c = view(&d, 1);
    attn_compare(&inst, &g, &tol, &c, &v);
    assert_fail(&v, "LSE[b=0, h=0, row 0] = 3");
    attn_tolerance_free(&tol);
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
    make_instance(&inst, 3, 2, 1);
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
    make_instance(&inst, ROWS, ROWS, 0);
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
        cmocka_unit_test(test_bound_is_inclusive),
        cmocka_unit_test(test_per_element_tolerance),
        cmocka_unit_test(test_nonfinite_output_fails),
        cmocka_unit_test(test_empty_rows),
        cmocka_unit_test(test_detail_names_batch_and_head),
        cmocka_unit_test(test_lse_bound),
        cmocka_unit_test(test_lse_only_when_both_have_it),
        cmocka_unit_test(test_ratio_over_o_and_lse),
        cmocka_unit_test(test_detail_is_first_failure),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_max_diff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
