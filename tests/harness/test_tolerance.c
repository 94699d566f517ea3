/* The per-element tolerance of SPEC.md ("Tolerance: what PASS means", harness/tolerance.c).
 * For every row that sees keys, in float64, with u32 = 2^-24, C_DOT = C_EXP = C_MOD = C_ACC = 4,
 * u(dtype) = 2^-24 f32, 2^-11 f16, 2^-8 bf16, eps = 2 u(dtype), tiny = 2^-149 f32, 2^-24 f16,
 * 2^-133 bf16:
 *
 *   per visible key j: s_j the score, x_j = scale q.k_j, a_j = scale sum_e |q_e k_je|, G = 1
 *     (1 + |lambda| for synaptic), m = max_j s_j, n = the number of visible keys,
 *     delta_j = u32 (C_DOT sqrt(D) G a_j + C_MOD |s_j - x_j| + C_EXP (|s_j| + |m|)),
 *     p_j = exp(s_j - lse), d_j the dropout factor, A = sum p_j e^delta_j, B = sum p_j e^-delta_j,
 *     moved_j = max(p_j e^dj / (p_j e^dj + sum_{k!=j} p_k e^-dk) - p_j,
 *                   p_j - p_j e^-dj / (p_j e^-dj + sum_{k!=j} p_k e^dk), 0)   (dj = delta_j),
 *   O_e     = sum_j p_j d_j v_je,
 *   tol_o_e = (sum_j moved_j |d_j v_je - O_e| + (u(dtype) R + C_ACC sqrt(n) u32) sum_j p_j d_j |v_je|)
 *             (1 + eps) + eps |O_e| + tiny,                      R = 2 with dropout, else 1,
 *   tol_lse = max(log A, -log B) + C_ACC sqrt(n) u32 + 2 u32 |lse|.
 * Rows with no visible key: empty = 1 and tolerance 0.  An instance where some row's
 * sum_j moved_j exceeds 0.5, or whose |Q.K| passes 2^64, cannot be judged and is refused
 * (ATTN_E_INVALID, naming batch, head and row); max_shift is the largest sum_j moved_j of a
 * row and max_o the largest tol_o.
 *
 * Sections 1-6 build instances small enough to work by hand (attn_case_defaults plus explicit
 * fields, Q/K/V overwritten after attn_instance_make: they are canonical [B,H,T,D] float
 * arrays); the expected values are worked out in comments and written as literals, never
 * computed with the code under test.  Section 7 is a property over the built-in catalogue. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <attn/plugin/attn_philox.h>
#include <attn/plugin/attn_rules.h>

#include "attn_case.h"
#include "test_support.h"

static const int32_t dtypes[3] = {ATTN_DTYPE_F32, ATTN_DTYPE_F16, ATTN_DTYPE_BF16};

/* B 1, Hq = Hkv = 1, bidirectional, the given sizes. */
static void make_instance(attn_instance *inst, int32_t dtype, int64_t q_len, int64_t kv_len, int64_t d, int64_t dv,
                          double scale) {
    attn_case c;
    attn_case_defaults(&c);
    c.dtype = dtype;
    c.batch = 1;
    c.q_heads = c.kv_heads = 1;
    c.q_len = q_len;
    c.kv_len = kv_len;
    c.head_dim = d;
    c.value_dim = dv;
    c.causal = 0;
    c.scale = scale;
    attn_error err = {0};
    if (attn_instance_make(&c, inst, &err) != ATTN_OK) fail_msg("instance: %s", err.message);
}

static void set_floats(float *dst, const float *src, size_t count) { memcpy(dst, src, sizeof(float) * count); }

static void make_tolerance(const attn_instance *inst, attn_tolerance *tol) {
    attn_error err = {0};
    attn_status st = attn_tolerance_make(inst, tol, &err);
    if (st != ATTN_OK) fail_msg("tolerance of %s: status %d, %s", inst->c.name, (int)st, err.message);
}

/* |actual - expected| <= rel |expected|. */
#define assert_rel(actual, expected, rel) assert_close((actual), (expected), (rel) * fabs((double)(expected)))

/* ---- 1. One visible key ------------------------------------------------------------- */

/* Tq 1, Tk 1, D 2, Dv 3, scale 0.5: q = {1, 2}, k = {3, -1}, v = {0.5, -3, 0}.
 * One key: p = 1, O = v exactly, so d v - O = 0 and the moved term contributes nothing:
 *   tol_o_e = (u + 4 sqrt(1) u32) |v_e| (1 + eps) + eps |v_e| + tiny
 *     float32  (u 2^-24, eps 2^-23, tiny 2^-149): |v| (7 2^-24 + 5 2^-47) + 2^-149
 *              v 0.5: 0x1.c000028p-23 (2.0861627447743558e-07); v 3: 0x1.500001ep-20
 *              (1.2516976468646135e-06); v 0: tiny alone, 2^-149.
 *     float16  (u 2^-11, eps 2^-10, tiny 2^-24): (2^-11 + 2^-22) |v| (1 + 2^-10) + 2^-10 |v| + 2^-24
 *              v 0.5: 0x1.803804p-11 (0.00073283922392874956); v 3: 0x1.2025030p-8
 *              (0.0043967373203486204); v 0: 2^-24.
 *     bfloat16 (u 2^-8, eps 2^-7, tiny 2^-133): (2^-8 + 2^-22) |v| (1 + 2^-7) + 2^-7 |v| + 2^-133
 *              v 0.5: 0x1.810204p-8 (0.0058747539296746254); v 3: 0x1.20c183p-5
 *              (0.035248523578047752); v 0: 2^-133.
 *   (The tiny term is below double's resolution next to the others; v = 0 pins it.)
 * LSE, the same for every dtype: s = x = 0.5 (1*3 - 2*1), a = 0.5 (3 + 2) = 2.5, m = s,
 *   delta = u32 (4 sqrt(2) 2.5 + 0 + 4 (0.5 + 0.5)) = u32 (10 sqrt(2) + 4), A = e^delta,
 *   B = e^-delta, lse = 0.5:  tol_lse = delta + 4 u32 + 2 u32 0.5 = u32 (10 sqrt(2) + 9)
 *   = 1.3793787731963963e-06. */
static void test_single_key(void **state) {
    (void)state;
    const double expected_o[3][3] = {{0x1.c000028p-23, 0x1.500001ep-20, 0x1p-149},
                                     {0x1.803804p-11, 0x1.2025030p-8, 0x1p-24},
                                     {0x1.810204p-8, 0x1.20c183p-5, 0x1p-133}};
    for (int t = 0; t < 3; ++t) {
        attn_instance inst;
        make_instance(&inst, dtypes[t], 1, 1, 2, 3, 0.5);
        set_floats(inst.q, (const float[]){1, 2}, 2);
        set_floats(inst.k, (const float[]){3, -1}, 2);
        set_floats(inst.v, (const float[]){0.5f, -3, 0}, 3);
        attn_tolerance tol;
        make_tolerance(&inst, &tol);
        print_message("%s: tol_o %.17g %.17g %.17g, tol_lse %.17g\n", inst.c.name, tol.o[0], tol.o[1], tol.o[2], tol.lse[0]);
        assert_int_equal(tol.empty[0], 0);
        for (int e = 0; e < 3; ++e) assert_rel(tol.o[e], expected_o[t][e], 1e-15);
        assert_rel(tol.lse[0], 1.3793787731963963e-06, 1e-12);
        assert_rel(tol.max_o, expected_o[t][1], 1e-15);
        attn_tolerance_free(&tol);
        attn_instance_free(&inst);
    }
}

/* Dropout rounds P twice (R = 2) and weighs V by d = 1 / (1 - p).  The single key of the test
 * above under dropout_p = 2^-20 (the seed's draw keeps the key, checked below with the shared
 * Philox rule; a dropped key would leave O = 0 and tol_o = tiny):
 *   d = 1 / (1 - 2^-20) = 1.0000009536752259, O = d v,
 *   tol_o_e = (2 u + 4 u32) d |v_e| (1 + eps) + eps d |v_e| + tiny
 *     float32:  v 0.5: 2.3841882779175719e-07, v 3: 1.4305129667505431e-06, v 0: 2^-149
 *     float16:  v 0.5: 0.00097721919939985978, v 3: 0.0058630171731752813,  v 0: 2^-24
 *     bfloat16: v 0.5: 0.007843145198543261,   v 3: 0.047058871191259566,   v 0: 2^-133
 *   (R = 1 would give 0.5 (7 u32 + ...) = 2.086e-07 for float32: 13% less.)
 *   tol_lse does not see dropout: 1.3793787731963963e-06 as above. */
static void test_single_key_dropout(void **state) {
    (void)state;
    const double expected_o[3][3] = {{2.3841882779175719e-07, 1.4305129667505431e-06, 0x1p-149},
                                     {0.00097721919939985978, 0.0058630171731752813, 0x1p-24},
                                     {0.007843145198543261, 0.047058871191259566, 0x1p-133}};
    for (int t = 0; t < 3; ++t) {
        attn_case c;
        attn_case_defaults(&c);
        c.dtype = dtypes[t];
        c.q_heads = c.kv_heads = 1;
        c.q_len = c.kv_len = 1;
        c.head_dim = 2;
        c.value_dim = 3;
        c.causal = 0;
        c.scale = 0.5;
        c.dropout_p = 0x1p-20f;
        attn_instance inst;
        attn_error err = {0};
        if (attn_instance_make(&c, &inst, &err) != ATTN_OK) fail_msg("instance: %s", err.message);
        assert_true(attn_dropout_keep(c.dropout_seed, c.dropout_offset, 0, 0, 1, 0, 0, attn_dropout_threshold(c.dropout_p)));
        set_floats(inst.q, (const float[]){1, 2}, 2);
        set_floats(inst.k, (const float[]){3, -1}, 2);
        set_floats(inst.v, (const float[]){0.5f, -3, 0}, 3);
        attn_tolerance tol;
        make_tolerance(&inst, &tol);
        print_message("%s: tol_o %.17g %.17g %.17g\n", inst.c.name, tol.o[0], tol.o[1], tol.o[2]);
        for (int e = 0; e < 3; ++e) assert_rel(tol.o[e], expected_o[t][e], 1e-15);
        assert_rel(tol.lse[0], 1.3793787731963963e-06, 1e-12);
        attn_tolerance_free(&tol);
        attn_instance_free(&inst);
    }
}

/* The modifier's terms of delta: G = 1 + |lambda| on the dot product's condition and C_MOD
 * |s - x|.  The single key of test_single_key (x = 0.5, a = 2.5, D 2) under the synaptic
 * modifier with its weight set to w = 1, lambda = -2, eps = 1e-6f (9.999999974752427e-07),
 * beta 0.1 (distance 0: no beta term):
 *   s = x + lambda ln(w sigmoid(x) + eps) = 0.5 - 2 ln(0.62245933120185459 + eps)
 *     = 1.448150755301483, G = 3,
 *   delta = u32 (4 sqrt(2) 3 2.5 + 4 |s - x| + 4 (|s| + |s|)) = 3.4453997573143631e-06,
 *   tol_lse = delta + 4 u32 + 2 u32 |s| = 3.8564513591178423e-06.
 *   (G = 1 - |lambda| or lambda itself would give a negative or smaller a-term; without the
 *   C_MOD term tol_lse would be 3.63e-06.) */
static void test_synaptic_gain(void **state) {
    (void)state;
    attn_case c;
    attn_case_defaults(&c);
    c.q_heads = c.kv_heads = 1;
    c.q_len = c.kv_len = 1;
    c.head_dim = 2;
    c.value_dim = 2;
    c.causal = 0;
    c.scale = 0.5;
    c.modifier = ATTN_MOD_SYNAPTIC;
    c.synaptic_lambda = -2.0f;
    c.synaptic_eps = 1e-6f;
    c.synaptic_beta = 0.1f;
    attn_instance inst;
    attn_error err = {0};
    if (attn_instance_make(&c, &inst, &err) != ATTN_OK) fail_msg("instance: %s", err.message);
    set_floats(inst.q, (const float[]){1, 2}, 2);
    set_floats(inst.k, (const float[]){3, -1}, 2);
    inst.synaptic_w[0] = 1.0f;
    attn_tolerance tol;
    make_tolerance(&inst, &tol);
    print_message("synaptic: tol_lse %.17g\n", tol.lse[0]);
    assert_rel(tol.lse[0], 3.8564513591178423e-06, 1e-12);
    attn_tolerance_free(&tol);
    attn_instance_free(&inst);
}

/* ---- 2. Two keys with equal scores, no score error --------------------------------- */

/* Tq 1, Tk 2, D 2, Dv 2, q = 0: every score 0, a_j = 0, m = 0, so delta_j = 0, A = B = 1 and
 * nothing moves (moved = 0, max_shift exactly 0).  k1 = {1, 2}, k2 = {-3, 0.5} (irrelevant),
 * v1 = {1, 2}, v2 = {3, -2}: p = 1/2 each, O = {2, 0}, sum p |v| = {2, 2}, n = 2:
 *   tol_o_0 = (u + 4 sqrt(2) u32) 2 (1 + eps) + eps 2 + tiny
 *   tol_o_1 = (u + 4 sqrt(2) u32) 2 (1 + eps) + tiny        (O_1 = 0, but the sums still err)
 *     float32:  1.0319775394262369e-06, 7.9355896032467441e-07
 *     float16:  0.002931375787081864,   0.00097825078708186383
 *     bfloat16: 0.023499214774182237,   0.0078742147741822383
 *   tol_lse = 0 + 4 sqrt(2) u32 + 2 u32 ln 2 = 4.1980437103583041e-07 (lse = ln 2). */
static void test_equal_scores(void **state) {
    (void)state;
    const double expected_o[3][2] = {{1.0319775394262369e-06, 7.9355896032467441e-07},
                                     {0.002931375787081864, 0.00097825078708186383},
                                     {0.023499214774182237, 0.0078742147741822383}};
    for (int t = 0; t < 3; ++t) {
        attn_instance inst;
        make_instance(&inst, dtypes[t], 1, 2, 2, 2, 0);
        set_floats(inst.q, (const float[]){0, 0}, 2);
        set_floats(inst.k, (const float[]){1, 2, -3, 0.5f}, 4);
        set_floats(inst.v, (const float[]){1, 2, 3, -2}, 4);
        attn_tolerance tol;
        make_tolerance(&inst, &tol);
        print_message("%s: tol_o %.17g %.17g, tol_lse %.17g\n", inst.c.name, tol.o[0], tol.o[1], tol.lse[0]);
        assert_int_equal(tol.empty[0], 0);
        assert_rel(tol.o[0], expected_o[t][0], 1e-15);
        assert_rel(tol.o[1], expected_o[t][1], 1e-15);
        assert_rel(tol.lse[0], 4.1980437103583041e-07, 1e-12);
        assert_close(tol.max_shift, 0, 0);
        assert_rel(tol.max_o, expected_o[t][0], 1e-15);
        attn_tolerance_free(&tol);
        attn_instance_free(&inst);
    }
}

/* ---- 3. Two keys whose scores move ------------------------------------------------- */

/* float32, Tq 1, Tk 2, D 2, Dv 3, scale 1.  Small scores but products that nearly cancel, so
 * that a_j (the dot product's condition) makes delta ~5e-3: the moved term is then large
 * enough to be checked to 1e-12 (at unit a_j it is ~1e-7 and p' - p keeps only ~10 digits in
 * double), and lse ~1.3 keeps the p_j exact to double precision (near scores of 1000 they
 * are off by ~1e-14 and tol_lse by ~2e-11 relative):
 *   q = {256, 256}, k1 = {32, -(32 - 2^-8)}: s1 = x1 = 8192 - 8191 = 1, a1 = 16383;
 *                   k2 = {32, -32}:          s2 = x2 = 0,              a2 = 16384;  m = 1.
 *   delta1 = u32 (4 sqrt(2) 16383 + 4 (1 + 1)) = 0.0055244113903900188
 *   delta2 = u32 (4 sqrt(2) 16384 + 4 (0 + 1)) = 0.0055245101465990045
 *   lse = ln(1 + e) = 1.3132616875182228; p1 = e / (1 + e) = 0.7310585786300049,
 *   p2 = 1 / (1 + e) = 0.2689414213699951.
 *   A = p1 e^delta1 + p2 e^delta2 = 1.0055397257966461, log A = 0.0055244379500261906;
 *   B = p1 e^-delta1 + p2 e^-delta2 = 0.99449079369563909, -log B = 0.0055244379500242738.
 *   tol_lse = log A + 4 sqrt(2) u32 + 2 u32 1.3132616875182228 = 0.0055249316778070417.
 * moved_j, as tolerance.c's header comment states it: p'_j ranges over
 *   [p_j e^-dj / (p_j e^-dj + sum_{k!=j} p_k e^dk),  p_j e^dj / (p_j e^dj + sum_{k!=j} p_k e^-dk)]:
 *   key 1 up   p1 e^d1 / (p1 e^d1 + p2 e^-d2) - p1 = 0.0021667960624645946
 *   key 1 down p1 - p1 e^-d1 / (p1 e^-d1 + p2 e^d2) = 0.0021778877018131257
 *   moved1 = moved2 = 0.0021778877018131257 (with two keys one's rise is the other's fall),
 *   max_shift = 0.0043557754036262514.
 * v1 = {1, 0, 0.5}, v2 = {-1, 2, 0.5}: O = {p1 - p2, 2 p2, 0.5} =
 *   {0.46211715726000974, 0.53788284273999021, 0.5}; |v1 - O| = {2 p2, 2 p2, 0},
 *   |v2 - O| = {2 p1, 2 p1, 0}; sums = u32 (1 + 4 sqrt(2)); sum p |v| = {1, 2 p2, 0.5}.
 *   tol_o = (moved1 2 p2 + moved2 2 p1 + sums sum p |v|)(1 + 2^-23) + 2^-23 |O| + 2^-149 =
 *   {0.0043562277910133111, 0.0043560534643814182, 2.5799438485655923e-07}.
 *   Element 2 has v1 = v2 = O: no moved term, only the sums and rounding terms.  In double
 *   O_2 = 0.5 (p1 + p2) is 0.5 only to ~1e-16, and moved times that residue is ~1e-12 of
 *   this small tolerance: element 2 is checked to 1e-11.
 * This is the rule of tolerance.c's header comment and of docs/SPEC.md.  The earlier rule
 * moved_j = min(p_j max(e^dj / B - 1, 1 - e^-dj / A), max(p_j, 1 - p_j)) (own term left in
 * the normaliser) is looser by 2x here: moved = {0.0081221436378638, 0.0029879965173286163},
 * tol_o = {0.0087380155926328404, 0.0087378412660009466, 2.5799438485655923e-07}, max_shift
 * 0.011110140155192415 (tol_lse the same); this test fails on it. */
static void test_two_keys_moving(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ATTN_DTYPE_F32, 1, 2, 2, 3, 1.0);
    set_floats(inst.q, (const float[]){256, 256}, 2);
    set_floats(inst.k, (const float[]){32, -31.99609375f, 32, -32}, 4);
    set_floats(inst.v, (const float[]){1, 0, 0.5f, -1, 2, 0.5f}, 6);
    attn_tolerance tol;
    make_tolerance(&inst, &tol);
    print_message("tol_o %.17g %.17g %.17g, tol_lse %.17g, max_shift %.17g\n", tol.o[0], tol.o[1], tol.o[2], tol.lse[0],
                  tol.max_shift);
    assert_int_equal(tol.empty[0], 0);
    assert_rel(tol.o[0], 0.0043562277910133111, 1e-12);
    assert_rel(tol.o[1], 0.0043560534643814182, 1e-12);
    assert_rel(tol.o[2], 2.5799438485655923e-07, 1e-11);
    assert_rel(tol.lse[0], 0.0055249316778070417, 1e-12);
    assert_rel(tol.max_shift, 0.0043557754036262514, 1e-12);
    assert_rel(tol.max_o, 0.0043562277910133111, 1e-12);
    attn_tolerance_free(&tol);
    attn_instance_free(&inst);
}

/* ---- 4. Rows with no visible key ---------------------------------------------------- */

/* Causal, B 2, H 1, Tq 3, Tk 2, D 2, Dv 2, per-batch lengths q {3, 1}, kv {2, 0}.  Queries are
 * bottom-right aligned, pos = kv_len - q_len + i:
 *   batch 0: pos -1, 0, 1: row 0 sees no key (causal), rows 1 and 2 see keys 0 and 0..1;
 *   batch 1: row 0 has kv_len 0, rows 1 and 2 are padding (i >= q_len 1).
 * Row index (b Hq + h) Tq + i: empty = {1, 0, 0, 1, 1, 1}, with tol_o and tol_lse exactly 0
 * there and positive elsewhere (at least tiny).
 * attn_compare with that tolerance: golden 1 / LSE 0.5 in the rows that see keys, 0 / -inf in
 * the others.  Candidate = golden passes; 1e-30 in row 0 (b 0, i 0), -1e-30 in the padding
 * row b 1, i 2, or a finite LSE in row b 1, i 0 fails: exact zeros and -inf are demanded. */
static void test_empty_rows(void **state) {
    (void)state;
    attn_case c;
    attn_case_defaults(&c);
    c.batch = 2;
    c.q_heads = c.kv_heads = 1;
    c.q_len = 3;
    c.kv_len = 2;
    c.head_dim = c.value_dim = 2;
    c.causal = 1;
    c.has_lengths = 1;
    c.q_lens[0] = 3;
    c.q_lens[1] = 1;
    c.kv_lens[0] = 2;
    c.kv_lens[1] = 0;
    c.want_lse = 1;
    attn_instance inst;
    attn_error err = {0};
    if (attn_instance_make(&c, &inst, &err) != ATTN_OK) fail_msg("instance: %s", err.message);
    attn_tolerance tol;
    make_tolerance(&inst, &tol);
    const uint8_t expected_empty[6] = {1, 0, 0, 1, 1, 1};
    for (int r = 0; r < 6; ++r) {
        if (tol.empty[r] != expected_empty[r]) fail_msg("row %d: empty %d, expected %d", r, tol.empty[r], expected_empty[r]);
        for (int e = 0; e < 2; ++e) {
            if (expected_empty[r]) assert_close(tol.o[r * 2 + e], 0, 0);
            else assert_true(tol.o[r * 2 + e] > 0);
        }
        if (expected_empty[r]) assert_close(tol.lse[r], 0, 0);
        else assert_true(tol.lse[r] > 0);
    }

    float golden_o[12], golden_lse[6], cand_o[12], cand_lse[6];
    for (int r = 0; r < 6; ++r) {
        golden_lse[r] = expected_empty[r] ? -INFINITY : 0.5f;
        golden_o[2 * r] = golden_o[2 * r + 1] = expected_empty[r] ? 0.0f : 1.0f;
    }
    attn_result g = {golden_o, golden_lse}, cand = {cand_o, cand_lse};
    attn_verdict v;
    memcpy(cand_o, golden_o, sizeof cand_o);
    memcpy(cand_lse, golden_lse, sizeof cand_lse);
    attn_compare(&inst, &g, &tol, &cand, &v);
    if (!v.pass) fail_msg("expected PASS: %s", v.detail);

    cand_o[0] = 1e-30f;
    attn_compare(&inst, &g, &tol, &cand, &v);
    assert_false(v.pass);
    assert_contains(v.detail, "row 0 of batch 0, head 0 has no visible key but O = 1e-30");
    cand_o[0] = 0.0f;

    cand_o[11] = -1e-30f;
    attn_compare(&inst, &g, &tol, &cand, &v);
    assert_false(v.pass);
    assert_contains(v.detail, "row 2 of batch 1, head 0 has no visible key but O = -1e-30");
    cand_o[11] = 0.0f;

    cand_lse[3] = 0.0f;
    attn_compare(&inst, &g, &tol, &cand, &v);
    assert_false(v.pass);
    assert_contains(v.detail, "LSE[b=1, h=0, row 0]");
    attn_tolerance_free(&tol);
    attn_instance_free(&inst);
}

/* A window that misses every key: bidirectional, window 0 / 0, Tq 2, Tk 1: pos = -1, 0.
 * Row 0 (pos -1) may only see key -1: empty, tolerance 0.  Row 1 sees key 0. */
static void test_window_empties_row(void **state) {
    (void)state;
    attn_case c;
    attn_case_defaults(&c);
    c.q_heads = c.kv_heads = 1;
    c.q_len = 2;
    c.kv_len = 1;
    c.head_dim = c.value_dim = 2;
    c.causal = 0;
    c.window_left = c.window_right = 0;
    attn_instance inst;
    attn_error err = {0};
    if (attn_instance_make(&c, &inst, &err) != ATTN_OK) fail_msg("instance: %s", err.message);
    attn_tolerance tol;
    make_tolerance(&inst, &tol);
    assert_int_equal(tol.empty[0], 1);
    assert_int_equal(tol.empty[1], 0);
    assert_close(tol.o[0], 0, 0);
    assert_close(tol.o[1], 0, 0);
    assert_close(tol.lse[0], 0, 0);
    assert_true(tol.o[2] > 0 && tol.o[3] > 0 && tol.lse[1] > 0);
    attn_tolerance_free(&tol);
    attn_instance_free(&inst);
}

/* No keys at all (kv_len 0): every row is empty, tolerance 0. */
static void test_no_keys_at_all(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ATTN_DTYPE_F32, 2, 0, 2, 2, 0);
    attn_tolerance tol;
    make_tolerance(&inst, &tol);
    for (int r = 0; r < 2; ++r) {
        assert_int_equal(tol.empty[r], 1);
        assert_close(tol.lse[r], 0, 0);
        assert_close(tol.o[2 * r], 0, 0);
        assert_close(tol.o[2 * r + 1], 0, 0);
    }
    assert_close(tol.max_o, 0, 0);
    attn_tolerance_free(&tol);
    attn_instance_free(&inst);
}

/* ---- 5. Instances that cannot be judged --------------------------------------------- */

/* input_scale 1e12 with the default D 64 (scores ~1e24): refused, ATTN_E_INVALID, naming the
 * first row (batch 0, head 0, row 0); the tolerance comes back freed (NULL arrays).  (Row 0 of
 * this causal case sees one key, which cannot move: the refusal comes from |Q.K| > 2^64, the
 * second rule of SPEC.md; test_refuses_tie_of_large_scores has the moved-weight rule.)  The
 * message gives the reason; attnmatrix prefixes "it cannot be judged". */
static void test_refuses_huge_scores(void **state) {
    (void)state;
    attn_case c;
    attn_case_defaults(&c);
    c.input_scale = 1e12f;
    attn_instance inst;
    attn_error err = {0};
    if (attn_instance_make(&c, &inst, &err) != ATTN_OK) fail_msg("instance: %s", err.message);
    attn_tolerance tol;
    attn_status st = attn_tolerance_make(&inst, &tol, &err);
    print_message("input_scale 1e12: status %d, %s\n", (int)st, err.message);
    assert_int_equal(st, ATTN_E_INVALID);
    assert_contains(err.message, "batch 0, head 0, row 0");
    assert_contains(err.message, "judged");
    assert_contains(err.message, "lower input_scale");
    assert_null(tol.o);
    assert_null(tol.lse);
    assert_null(tol.empty);
    attn_instance_free(&inst);
}

/* A tie of two large scores, refused by the moved-weight rule alone (|Q.K| = 1e6 is nowhere
 * near overflowing anything): Tq 1, Tk 2, D 2, scale 1, q = k1 = k2 = {1000, 0}: s = a = 1e6,
 * m = 1e6, delta = u32 1e6 (4 sqrt(2) + 8) = 0.81401 for both keys, p = 1/2 each.  Each key
 * can move by 1/(1 + e^-2 delta) - 1/2 = tanh(delta) / 2, so sum_j moved_j = tanh(0.81401) =
 * 0.6718 > 0.5: refused (the looser rule of the brief gives min(e^2delta - 1, 1) = 1, also
 * refused).  The message names batch 0, head 0, row 0 and the scores, "1e+06". */
static void test_refuses_tie_of_large_scores(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ATTN_DTYPE_F32, 1, 2, 2, 2, 1.0);
    set_floats(inst.q, (const float[]){1000, 0}, 2);
    set_floats(inst.k, (const float[]){1000, 0, 1000, 0}, 4);
    set_floats(inst.v, (const float[]){1, 0, 0, 1}, 4);
    attn_tolerance tol;
    attn_error err = {0};
    attn_status st = attn_tolerance_make(&inst, &tol, &err);
    print_message("tie at 1e6: status %d, %s\n", (int)st, err.message);
    assert_int_equal(st, ATTN_E_INVALID);
    assert_contains(err.message, "batch 0, head 0, row 0");
    assert_contains(err.message, "scores reach 1e+06");
    assert_contains(err.message, "judged");
    assert_null(tol.o);
    attn_instance_free(&inst);
}

/* The same tie at scores of 1e4 (q = k1 = k2 = {100, 0}): delta = u32 1e4 (4 sqrt(2) + 8) =
 * (40000 sqrt(2) + 80000) 2^-24 = 0.0081401194629027729 for both keys, and sum_j moved_j =
 * tanh(delta) = 0.0081399396753709576: accepted with that max_shift.  (The brief's looser
 * rule would give 2 (1/2)(e^2delta - 1) = 0.016413484121352382.)  Checked to 1e-9: p' - p
 * of p = 1/2 keeps ~12 digits in double here. */
static void test_accepts_tie_of_moderate_scores(void **state) {
    (void)state;
    attn_instance inst;
    make_instance(&inst, ATTN_DTYPE_F32, 1, 2, 2, 2, 1.0);
    set_floats(inst.q, (const float[]){100, 0}, 2);
    set_floats(inst.k, (const float[]){100, 0, 100, 0}, 4);
    set_floats(inst.v, (const float[]){1, 0, 0, 1}, 4);
    attn_tolerance tol;
    make_tolerance(&inst, &tol);
    print_message("tie at 1e4: max_shift %.17g\n", tol.max_shift);
    assert_rel(tol.max_shift, 0.0081399396753709576, 1e-9);
    attn_tolerance_free(&tol);
    attn_instance_free(&inst);
}

/* A moderate scale (input_scale 10, the default 1 x 4 x 64 x 64 x 64 causal case, scores of
 * ~100) is judged: ATTN_OK, max_shift <= 0.5. */
static void test_accepts_moderate_scale(void **state) {
    (void)state;
    attn_case c;
    attn_case_defaults(&c);
    c.input_scale = 10.0f;
    attn_instance inst;
    attn_error err = {0};
    if (attn_instance_make(&c, &inst, &err) != ATTN_OK) fail_msg("instance: %s", err.message);
    attn_tolerance tol;
    make_tolerance(&inst, &tol);
    print_message("input_scale 10: max_o %.3g, max_shift %.3g\n", tol.max_o, tol.max_shift);
    assert_true(tol.max_shift <= 0.5);
    attn_tolerance_free(&tol);
    attn_instance_free(&inst);
}

/* ---- 6. Larger scores, looser tolerance --------------------------------------------- */

/* The default case (float32, 1 x 4 x 64 x 64 x 64, causal), data_seed 7, at input_scale 1
 * and 30: the same normal draws, Q and K 30 times larger, scores 900 times.  Score rounding
 * grows with the scores, so max_o and max_shift grow. */
static void test_monotone_in_scale(void **state) {
    (void)state;
    double max_o[2], max_shift[2];
    const float scales[2] = {1.0f, 30.0f};
    for (int n = 0; n < 2; ++n) {
        attn_case c;
        attn_case_defaults(&c);
        c.data_seed = 7;
        c.input_scale = scales[n];
        attn_instance inst;
        attn_error err = {0};
        if (attn_instance_make(&c, &inst, &err) != ATTN_OK) fail_msg("instance: %s", err.message);
        attn_tolerance tol;
        make_tolerance(&inst, &tol);
        max_o[n] = tol.max_o;
        max_shift[n] = tol.max_shift;
        attn_tolerance_free(&tol);
        attn_instance_free(&inst);
    }
    print_message("max_o %.3g -> %.3g, max_shift %.3g -> %.3g\n", max_o[0], max_o[1], max_shift[0], max_shift[1]);
    assert_true(max_o[1] > max_o[0]);
    assert_true(max_shift[1] > max_shift[0]);
}

/* ---- 7. Property: an all-zeros output fails every catalogue instance ---------------- */

/* The row's O in float64, written here from SPEC.md's rules (visibility, modifiers and the
 * dropout draw through the public headers attn_rules.h / attn_philox.h, which every backend
 * shares), independently of tolerance.c and sdpa_ref.  Returns the number of visible keys. */
static int64_t reference_row(const attn_instance *inst, int64_t b, int64_t h, int64_t i, double *o, double *score,
                             uint8_t *visible) {
    const attn_case *c = &inst->c;
    int64_t tq = c->q_len, tk = c->kv_len, d = c->head_dim, dv = c->value_dim;
    for (int64_t e = 0; e < dv; ++e) o[e] = 0.0;
    int64_t q_len = inst->q_lens ? inst->q_lens[b] : tq, kv_len = inst->kv_lens ? inst->kv_lens[b] : tk;
    if (i >= q_len) return 0;
    attn_row_mask row = {attn_query_pos(i, q_len, kv_len), kv_len, inst->prefix_lens ? inst->prefix_lens[b] : 0,
                         c->causal, c->window_left, c->window_right, inst->doc_q != NULL,
                         inst->doc_q ? inst->doc_q[b * tq + i] : 0};
    int64_t kv_head = h / (c->q_heads / c->kv_heads);
    const float *q = inst->q + ((b * c->q_heads + h) * tq + i) * d;
    double scale = c->scale != 0.0 ? c->scale : 1.0 / sqrt((double)d), m = -INFINITY;
    int64_t n = 0;
    for (int64_t j = 0; j < tk; ++j) {
        visible[j] = (uint8_t)attn_key_visible(&row, j, inst->doc_k ? inst->doc_k[b * tk + j] : 0);
        if (!visible[j]) continue;
        const float *k = inst->k + ((b * c->kv_heads + kv_head) * tk + j) * d;
        double dot = 0.0;
        for (int64_t e = 0; e < d; ++e) dot += (double)q[e] * (double)k[e];
        double param = c->modifier == ATTN_MOD_SOFTCAP    ? (double)c->softcap
                       : c->modifier == ATTN_MOD_ALIBI    ? (double)inst->alibi_slopes[h]
                       : c->modifier == ATTN_MOD_SYNAPTIC ? (double)inst->synaptic_w[(b * c->q_heads + h) * tk + j]
                                                          : 0.0;
        score[j] = attn_modify_score(c->modifier, scale * dot, param, fabs((double)(row.pos - j)), (double)kv_len,
                                     c->synaptic_lambda, c->synaptic_eps, c->synaptic_beta);
        if (score[j] > m) m = score[j];
        ++n;
    }
    if (n == 0) return 0;
    double sum = 0.0;
    for (int64_t j = 0; j < tk; ++j)
        if (visible[j]) sum += exp(score[j] - m);
    uint32_t threshold = attn_dropout_threshold(c->dropout_p);
    for (int64_t j = 0; j < tk; ++j) {
        if (!visible[j]) continue;
        double p = exp(score[j] - m) / sum;
        if (c->dropout_p > 0.0f)
            p *= attn_dropout_keep(c->dropout_seed, c->dropout_offset, b, h, c->q_heads, row.pos, j, threshold)
                     ? 1.0 / (1.0 - (double)c->dropout_p)
                     : 0.0;
        const float *v = inst->v + ((b * c->kv_heads + kv_head) * tk + j) * dv;
        for (int64_t e = 0; e < dv; ++e) o[e] += p * (double)v[e];
    }
    return n;
}

/* For every catalogue instance with at most 2e6 (query, key) pairs (all of them today; the
 * limit keeps the test to seconds if bigger rows are added), the tolerance is made (no
 * catalogue instance may be refused) and:
 *   - tol.empty is 1 exactly where the row sees no key (by the rules above), with tol_o = 0
 *     and tol_lse = 0 there;
 *   - every row that sees keys and whose O is not all zero (dropout can drop every key) has
 *     an element with |O_e| > tol_o_e: an all-zeros row would fail it.  The smallest such
 *     max_e |O_e| / tol_o_e over the catalogue is printed as the margin;
 *   - attn_compare of an all-zeros candidate against golden = O (float32) FAILs the instance
 *     whenever any row sees keys, and an exact copy of golden PASSes. */
static void test_catalogue_rejects_zeros(void **state) {
    (void)state;
    attn_case *cases;
    uint32_t count;
    attn_error err = {0};
    assert_int_equal(attn_catalogue_instances(&cases, &count, &err), ATTN_OK);
    uint32_t checked = 0, skipped = 0;
    double worst_margin = INFINITY, most_shift = 0.0;
    char worst_name[ATTN_CASE_NAME_CAP] = "", shift_name[ATTN_CASE_NAME_CAP] = "";
    for (uint32_t n = 0; n < count; ++n) {
        const attn_case *c = &cases[n];
        if ((double)c->kv_len * (double)c->q_len * (double)c->batch * (double)c->q_heads > 2e6) {
            ++skipped;
            continue;
        }
        attn_instance inst;
        if (attn_instance_make(c, &inst, &err) != ATTN_OK) fail_msg("instance %s: %s", c->name, err.message);
        attn_tolerance tol;
        attn_status st = attn_tolerance_make(&inst, &tol, &err);
        if (st != ATTN_OK) fail_msg("catalogue instance %s [%s] refused: %s", c->name, c->row, err.message);
        if (tol.max_shift > most_shift) {
            most_shift = tol.max_shift;
            snprintf(shift_name, sizeof shift_name, "%s", c->name);
        }
        int64_t rows = c->batch * c->q_heads * c->q_len, dv = c->value_dim, tk = c->kv_len;
        float *golden = malloc(sizeof(float) * (size_t)(rows * dv + 1)), *zeros = calloc((size_t)(rows * dv + 1), sizeof(float));
        double *o = malloc(sizeof(double) * (size_t)(dv + 1)), *score = malloc(sizeof(double) * (size_t)(tk + 1));
        uint8_t *visible = malloc((size_t)(tk + 1));
        if (!golden || !zeros || !o || !score || !visible) fail_msg("out of memory");
        int64_t seeing = 0;
        for (int64_t r = 0; r < rows; ++r) {
            int64_t b = r / (c->q_heads * c->q_len), h = (r / c->q_len) % c->q_heads, i = r % c->q_len;
            int64_t keys = reference_row(&inst, b, h, i, o, score, visible);
            if ((keys == 0) != (tol.empty[r] == 1))
                fail_msg("%s [%s]: row %lld (b %lld, h %lld, i %lld) sees %lld keys but empty = %d", c->name, c->row,
                         (long long)r, (long long)b, (long long)h, (long long)i, (long long)keys, tol.empty[r]);
            double margin = 0.0, largest = 0.0;
            for (int64_t e = 0; e < dv; ++e) {
                golden[r * dv + e] = (float)o[e];
                double t = tol.o[r * dv + e];
                if (keys == 0 && t != 0.0) fail_msg("%s: empty row %lld has tol_o %g", c->name, (long long)r, t);
                largest = fmax(largest, fabs(o[e]));
                if (keys > 0) margin = fmax(margin, fabs(o[e]) / t);
            }
            if (keys == 0) {
                if (tol.lse[r] != 0.0) fail_msg("%s: empty row %lld has tol_lse %g", c->name, (long long)r, tol.lse[r]);
                continue;
            }
            ++seeing;
            if (largest == 0.0) continue; /* every visible key dropped: 0 is the right answer */
            if (!(margin > 1.0))
                fail_msg("%s [%s]: row %lld (b %lld, h %lld, i %lld): an all-zeros row passes, max |O_e| / tol_o_e = %g",
                         c->name, c->row, (long long)r, (long long)b, (long long)h, (long long)i, margin);
            if (margin < worst_margin) {
                worst_margin = margin;
                snprintf(worst_name, sizeof worst_name, "%s", c->name);
            }
        }
        attn_result g = {golden, NULL}, z = {zeros, NULL};
        attn_verdict v;
        attn_compare(&inst, &g, &tol, &g, &v);
        if (!v.pass) fail_msg("%s: golden against itself: %s", c->name, v.detail);
        attn_compare(&inst, &g, &tol, &z, &v);
        if (seeing > 0 && v.pass) fail_msg("%s [%s]: an all-zeros output passes", c->name, c->row);
        free(golden);
        free(zeros);
        free(o);
        free(score);
        free(visible);
        attn_tolerance_free(&tol);
        attn_instance_free(&inst);
        ++checked;
    }
    free(cases);
    print_message("%u catalogue instances checked, %u skipped; smallest margin max|O|/tol %.3g (%s); largest max_shift "
                  "%.3g (%s)\n",
                  checked, skipped, worst_margin, worst_name, most_shift, shift_name);
    assert_true(checked > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_key),
        cmocka_unit_test(test_single_key_dropout),
        cmocka_unit_test(test_synaptic_gain),
        cmocka_unit_test(test_equal_scores),
        cmocka_unit_test(test_two_keys_moving),
        cmocka_unit_test(test_empty_rows),
        cmocka_unit_test(test_window_empties_row),
        cmocka_unit_test(test_no_keys_at_all),
        cmocka_unit_test(test_refuses_huge_scores),
        cmocka_unit_test(test_refuses_tie_of_large_scores),
        cmocka_unit_test(test_accepts_tie_of_moderate_scores),
        cmocka_unit_test(test_accepts_moderate_scale),
        cmocka_unit_test(test_monotone_in_scale),
        cmocka_unit_test(test_catalogue_rejects_zeros),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
