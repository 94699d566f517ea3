/* The expression language of SPEC.md "Expressions": parse with libattn, evaluate with the
 * header-only evaluator every backend compiles, compare with values worked out by hand. */
#include <attn/host/attn_expr_parse.h>
#include <attn/plugin/attn_rules.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_support.h"

/* The aux tensors every test may name: rel_bias[h][d] = 1000 h + d, slope[h] = 0.25 (h + 1),
 * keep[j] = j is even, doc[j] = j / 3.  Allocated with exactly their elements, so a read
 * outside them is an ASan error. */
static const attn_expr_aux declared[] = {
    {"rel_bias", ATTN_EXPR_FLOAT, 2},
    {"slope", ATTN_EXPR_FLOAT, 1},
    {"keep", ATTN_EXPR_BOOL, 1},
    {"doc", ATTN_EXPR_INT, 1},
};
#define DECLARED_COUNT 4

typedef struct fixture {
    float *rel_bias, *slope;
    uint8_t *keep;
    int32_t *doc;
    int64_t rel_bias_shape[2], rel_bias_strides[2], slope_shape[1], slope_strides[1], keep_shape[1], keep_strides[1],
        doc_shape[1], doc_strides[1];
    attn_expr_tensor tensors[DECLARED_COUNT]; /* by declared index */
} fixture;

static fixture fx;

static int setup(void **state) {
    (void)state;
    memset(&fx, 0, sizeof fx);
    fx.rel_bias = malloc(4 * 128 * sizeof(float));
    fx.slope = malloc(4 * sizeof(float));
    fx.keep = malloc(8);
    fx.doc = malloc(8 * sizeof(int32_t));
    if (!fx.rel_bias || !fx.slope || !fx.keep || !fx.doc) return -1;
    for (int h = 0; h < 4; h++)
        for (int d = 0; d < 128; d++) fx.rel_bias[h * 128 + d] = (float)(1000 * h + d);
    for (int h = 0; h < 4; h++) fx.slope[h] = 0.25f * (float)(h + 1);
    for (int j = 0; j < 8; j++) fx.keep[j] = (uint8_t)(j % 2 == 0 ? 7 : 0); /* any nonzero is true */
    for (int j = 0; j < 8; j++) fx.doc[j] = j / 3;
    fx.rel_bias_shape[0] = 4, fx.rel_bias_shape[1] = 128, fx.rel_bias_strides[0] = 128, fx.rel_bias_strides[1] = 1;
    fx.slope_shape[0] = 4, fx.slope_strides[0] = 1;
    fx.keep_shape[0] = 8, fx.keep_strides[0] = 1;
    fx.doc_shape[0] = 8, fx.doc_strides[0] = 1;
    fx.tensors[0] = (attn_expr_tensor){fx.rel_bias, ATTN_EXPR_ELEM_F32, 2, fx.rel_bias_shape, fx.rel_bias_strides};
    fx.tensors[1] = (attn_expr_tensor){fx.slope, ATTN_EXPR_ELEM_F32, 1, fx.slope_shape, fx.slope_strides};
    fx.tensors[2] = (attn_expr_tensor){fx.keep, ATTN_EXPR_ELEM_BOOL_U8, 1, fx.keep_shape, fx.keep_strides};
    fx.tensors[3] = (attn_expr_tensor){fx.doc, ATTN_EXPR_ELEM_I32, 1, fx.doc_shape, fx.doc_strides};
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(fx.rel_bias);
    free(fx.slope);
    free(fx.keep);
    free(fx.doc);
    return 0;
}

/* A point: b = 1, h = 2, q_idx = 10, kv_idx = 3, score = 0.5. */
typedef struct point {
    int64_t b, h, q, kv;
    double score;
} point;
static const point P0 = {1, 2, 10, 3, 0.5};

static attn_expr *parse_ok(const char *text, attn_expr_kind kind) {
    attn_expr *e = NULL;
    attn_error err;
    err.message[0] = '\0';
    attn_status status = attn_expr_parse(text, kind, declared, DECLARED_COUNT, &e, &err);
    if (status != ATTN_OK) print_error("parsing \"%s\": %s\n", text, err.message);
    assert_int_equal(status, ATTN_OK);
    assert_non_null(e);
    assert_int_equal(e->struct_size, sizeof(attn_expr));
    return e;
}

/* Evaluates e at pt with the fixture's tensors, in the expression's aux order. */
static int eval_at(const attn_expr *e, point pt, attn_expr_value *out) {
    attn_expr_tensor aux[DECLARED_COUNT];
    for (uint32_t k = 0; k < e->aux_count; k++) {
        uint32_t d = 0;
        while (strcmp(declared[d].name, e->aux[k].name) != 0) d++;
        aux[k] = fx.tensors[d];
    }
    attn_expr_env env = {pt.b, pt.h, pt.q, pt.kv, pt.score, e->aux_count, aux};
    static attn_expr_scratch scratch;
    return attn_expr_eval(e, &env, &scratch, out);
}

static double score_at(const char *text, point pt) {
    attn_expr *e = parse_ok(text, ATTN_EXPR_SCORE);
    attn_expr_value v;
    int status = eval_at(e, pt, &v);
    attn_expr_free(e);
    if (status != ATTN_EXPR_OK) print_error("evaluating \"%s\": status %d\n", text, status);
    assert_int_equal(status, ATTN_EXPR_OK);
    return v.f;
}

static int mask_at(const char *text, point pt) {
    attn_expr *e = parse_ok(text, ATTN_EXPR_MASK);
    attn_expr_value v;
    int status = eval_at(e, pt, &v);
    attn_expr_free(e);
    if (status != ATTN_EXPR_OK) print_error("evaluating \"%s\": status %d\n", text, status);
    assert_int_equal(status, ATTN_EXPR_OK);
    return (int)v.i;
}

static int status_at(const char *text, attn_expr_kind kind, point pt) {
    attn_expr *e = parse_ok(text, kind);
    attn_expr_value v;
    int status = eval_at(e, pt, &v);
    attn_expr_free(e);
    return status;
}

#define assert_score(text, expected) assert_score_at((text), (expected), __FILE__, __LINE__)
static void assert_score_at(const char *text, double expected, const char *file, int line) {
    double got = score_at(text, P0);
    if (got == expected || (fabs(got - expected) <= 1e-12 * fabs(expected))) return;
    print_error("%s:%d: \"%s\" = %.17g, expected %.17g\n", file, line, text, got, expected);
    _fail(file, line);
}

#define assert_mask(text, expected) assert_mask_at((text), (expected), __FILE__, __LINE__)
static void assert_mask_at(const char *text, int expected, const char *file, int line) {
    int got = mask_at(text, P0);
    if (got == expected) return;
    print_error("%s:%d: \"%s\" = %d, expected %d\n", file, line, text, got, expected);
    _fail(file, line);
}

/* The exact message, so every column is pinned. */
#define assert_error(kind, text, message) assert_error_at((kind), (text), (message), __FILE__, __LINE__)
static void assert_error_at(attn_expr_kind kind, const char *text, const char *message, const char *file, int line) {
    attn_expr *e = (attn_expr *)(uintptr_t)1;
    attn_error err;
    err.message[0] = '\0';
    attn_status status = attn_expr_parse(text, kind, declared, DECLARED_COUNT, &e, &err);
    if (status == ATTN_E_INVALID && e == NULL && strcmp(err.message, message) == 0) return;
    print_error("%s:%d: \"%s\": status %d, message \"%s\", expected \"%s\"\n", file, line, text, status, err.message,
                message);
    if (status == ATTN_OK) attn_expr_free(e);
    _fail(file, line);
}

/* ---- operators and functions, values by hand ---------------------------------------- */

static void test_integer_arithmetic(void **state) {
    (void)state;
    assert_score("7 + 5", 12);
    assert_score("7 - 5", 2);
    assert_score("7 * 5", 35);
    assert_score("7 / 2", 3.5); /* '/' is always float */
    assert_score("7 // 2", 3);
    assert_score("-7 // 2", -4); /* floor, as Python */
    assert_score("7 // -2", -4);
    assert_score("-7 // -2", 3);
    assert_score("-6 // 3", -2);
    assert_score("7 % 2", 1);
    assert_score("-7 % 2", 1); /* the divisor's sign, as Python */
    assert_score("7 % -2", -1);
    assert_score("-7 % -2", -1);
    assert_score("6 % 3", 0);
    assert_score("-2 * 3", -6);
    assert_score("- -3", 3);
    assert_score("-(2 - 5)", 3);
    /* precedence and left associativity */
    assert_score("1 + 2 * 3", 7);
    assert_score("(1 + 2) * 3", 9);
    assert_score("10 - 4 - 3", 3);
    assert_score("2 * 3 % 4", 2);
    assert_score("17 // 4 * 4", 16);
    assert_score("q_idx - kv_idx * 2", 4);
    assert_score("b + h + q_idx + kv_idx", 16);
}

static void test_integer_wraps_without_undefined_behaviour(void **state) {
    (void)state;
    /* int64 arithmetic wraps modulo 2^64 (UBSan would flag a signed overflow in C) */
    assert_mask("9223372036854775807 + 1 < 0", 1);
    assert_mask("(-9223372036854775807 - 1) // -1 == -9223372036854775807 - 1", 1);
    assert_mask("(-9223372036854775807 - 1) % -1 == 0", 1);
    assert_mask("abs(-9223372036854775807 - 1) < 0", 1);
    assert_mask("-(-9223372036854775807 - 1) < 0", 1);
    assert_mask("3037000500 * 3037000500 < 0", 1);
}

static void test_float_arithmetic(void **state) {
    (void)state;
    assert_score("1.5 + 2", 3.5);
    assert_score(".5 * 4", 2);
    assert_score("1e-3 * 1000", 1);
    assert_score("2. / 4", 0.5);
    assert_score("1.5e2", 150);
    assert_score("2E+1", 20);
    assert_score("score * 2", 1.0);
    assert_score("score - 1", -0.5);
    assert_score("-score", -0.5);
    assert_score("q_idx / 4", 2.5);
}

static void test_comparisons_and_logic(void **state) {
    (void)state;
    assert_mask("q_idx < 11", 1);
    assert_mask("q_idx < 10", 0);
    assert_mask("q_idx <= 10", 1);
    assert_mask("q_idx > 10", 0);
    assert_mask("q_idx >= 10", 1);
    assert_mask("q_idx == 10", 1);
    assert_mask("q_idx != 10", 0);
    assert_mask("kv_idx < 3.5", 1); /* int against float compares as float */
    assert_mask("kv_idx == 3.0", 1);
    assert_mask("1 < 2 == 3 < 4", 1); /* bools compare with == */
    assert_mask("true == false", 0);
    assert_mask("true != false", 1);
    assert_mask("!(q_idx < 3)", 1);
    assert_mask("!true", 0);
    assert_mask("!!true", 1);
    assert_mask("true && false", 0);
    assert_mask("true && true", 1);
    assert_mask("false || true", 1);
    assert_mask("false || false", 0);
    /* && binds tighter than || */
    assert_mask("true || false && false", 1);
    assert_mask("(true || false) && false", 0);
}

static void test_functions(void **state) {
    (void)state;
    assert_score("min(3, 7)", 3);
    assert_score("max(3, 7)", 7);
    assert_score("min(3, 2.5)", 2.5);
    assert_score("max(-1, -1.5)", -1);
    assert_score("clamp(15, 0, 10)", 10);
    assert_score("clamp(-5, 0, 10)", 0);
    assert_score("clamp(5, 0, 10)", 5);
    assert_score("clamp(score, 0, 0.25)", 0.25);
    assert_score("abs(-4)", 4);
    assert_score("abs(-2.5)", 2.5);
    assert_score("abs(kv_idx - q_idx)", 7);
    assert_score("exp(0)", 1);
    assert_score("exp(1)", exp(1.0));
    assert_score("log(1)", 0);
    assert_score("log(8) / log(2)", log(8.0) / log(2.0));
    assert_score("tanh(0)", 0);
    assert_score("tanh(0.5)", tanh(0.5));
    assert_score("sqrt(16)", 4);
    assert_score("sqrt(2)", sqrt(2.0));
    assert_score("where(q_idx > kv_idx, 1, 2.5)", 1);
    assert_score("where(false, 1, 2.5)", 2.5);
    assert_mask("where(q_idx > 5, kv_idx < 4, false)", 1);
    assert_mask("true && where(true, false, true) || true", 1);
}

/* int meets float: a TO_FLOAT node over the int operand, children before parents */
static void test_type_promotion(void **state) {
    (void)state;
    attn_expr *e = parse_ok("q_idx + 0.5", ATTN_EXPR_SCORE);
    assert_int_equal(e->node_count, 4); /* VAR, FLOAT, TO_FLOAT(VAR), ADD */
    const attn_expr_node *root = &e->nodes[e->node_count - 1];
    assert_int_equal(root->op, ATTN_EXPR_OP_ADD);
    assert_int_equal(root->type, ATTN_EXPR_FLOAT);
    const attn_expr_node *left = &e->nodes[root->args[0]];
    assert_int_equal(left->op, ATTN_EXPR_OP_TO_FLOAT);
    assert_int_equal(e->nodes[left->args[0]].op, ATTN_EXPR_OP_VAR);
    for (uint32_t i = 0; i < e->node_count; i++)
        for (int a = 0; a < e->nodes[i].arity; a++) assert_true((uint32_t)e->nodes[i].args[a] < i);
    attn_expr_free(e);

    /* an int score_mod is promoted at the root; int op int stays int below it */
    e = parse_ok("q_idx - kv_idx", ATTN_EXPR_SCORE);
    assert_int_equal(e->nodes[e->node_count - 1].op, ATTN_EXPR_OP_TO_FLOAT);
    assert_int_equal(e->nodes[e->node_count - 2].type, ATTN_EXPR_INT);
    attn_expr_free(e);

    /* comparisons of numbers are bools; min of ints is an int */
    e = parse_ok("min(q_idx, 3) < 2.5", ATTN_EXPR_MASK);
    assert_int_equal(e->nodes[e->node_count - 1].type, ATTN_EXPR_BOOL);
    attn_expr_free(e);
    assert_mask("min(q_idx, 3) < 2.5", 0);
}

/* ---- the examples, and the built-ins written as expressions ------------------ */

static void test_sliding_window_with_sinks(void **state) {
    (void)state;
    const char *text = "kv_idx <= q_idx && (q_idx - kv_idx < 256 || kv_idx < 4)";
    point pt = P0;
    assert_int_equal(mask_at(text, pt), 1);
    pt.q = 300, pt.kv = 2; /* a sink token */
    assert_int_equal(mask_at(text, pt), 1);
    pt.kv = 10; /* 290 back: outside the window */
    assert_int_equal(mask_at(text, pt), 0);
    pt.kv = 100; /* 200 back */
    assert_int_equal(mask_at(text, pt), 1);
    pt.kv = 45; /* exactly 255 back */
    assert_int_equal(mask_at(text, pt), 1);
    pt.kv = 44; /* 256 back */
    assert_int_equal(mask_at(text, pt), 0);
    pt.q = 3, pt.kv = 5; /* the future */
    assert_int_equal(mask_at(text, pt), 0);
}

static void test_relative_bias_table(void **state) {
    (void)state;
    const char *text = "score + rel_bias[h][clamp(q_idx - kv_idx, 0, 127)]";
    attn_expr *e = parse_ok(text, ATTN_EXPR_SCORE);
    assert_int_equal(e->aux_count, 1);
    assert_string_equal(e->aux[0].name, "rel_bias");
    assert_ptr_not_equal(e->aux[0].name, declared[0].name); /* a copy */
    assert_int_equal(e->aux[0].rank, 2);
    assert_int_equal(e->aux[0].type, ATTN_EXPR_FLOAT);
    assert_string_equal(e->text, text);
    assert_ptr_not_equal(e->text, text);
    attn_expr_free(e);
    point pt = {0, 1, 10, 3, 0.5};
    assert_close(score_at(text, pt), 1007.5, 0);
    pt.q = 500, pt.kv = 0; /* clamped to 127 */
    assert_close(score_at(text, pt), 1127.5, 0);
    pt.q = 0, pt.kv = 5, pt.h = 3; /* clamped to 0 */
    assert_close(score_at(text, pt), 3000.5, 0);
}

static void test_softcap_equals_builtin(void **state) {
    (void)state;
    const double scores[] = {-1000, -100, -3, -0.25, 0, 0.7, 29.9, 45, 1e4};
    attn_expr *e = parse_ok("30 * tanh(score / 30)", ATTN_EXPR_SCORE);
    for (size_t k = 0; k < sizeof scores / sizeof scores[0]; k++) {
        point pt = P0;
        pt.score = scores[k];
        attn_expr_value v;
        assert_int_equal(eval_at(e, pt, &v), ATTN_EXPR_OK);
        double builtin = attn_modify_score(ATTN_MOD_SOFTCAP, scores[k], 30.0, 0, 0, 0, 0, 0);
        assert_close(v.f, builtin, 1e-12 * (1 + fabs(builtin)));
    }
    attn_expr_free(e);
}

static void test_alibi_equals_builtin(void **state) {
    (void)state;
    attn_expr *e = parse_ok("score - slope[h] * abs(q_idx - kv_idx)", ATTN_EXPR_SCORE);
    for (int64_t h = 0; h < 4; h++)
        for (int64_t kv = 0; kv < 40; kv += 7) {
            point pt = {0, h, 17, kv, 1.25};
            attn_expr_value v;
            assert_int_equal(eval_at(e, pt, &v), ATTN_EXPR_OK);
            double distance = fabs((double)(17 - kv));
            double builtin = attn_modify_score(ATTN_MOD_ALIBI, 1.25, fx.slope[h], distance, 0, 0, 0, 0);
            assert_close(v.f, builtin, 1e-12 * (1 + fabs(builtin)));
        }
    attn_expr_free(e);
}

/* aux tables hold only what is used, in first-use order; int and bool tensors read right */
static void test_aux_table_and_kinds(void **state) {
    (void)state;
    attn_expr *e = parse_ok("keep[kv_idx] && slope[h] > 0.5 && doc[kv_idx] == doc[q_idx % 8]", ATTN_EXPR_MASK);
    assert_int_equal(e->aux_count, 3);
    assert_string_equal(e->aux[0].name, "keep");
    assert_string_equal(e->aux[1].name, "slope");
    assert_string_equal(e->aux[2].name, "doc");
    attn_expr_free(e);
    point pt = P0; /* keep[3] is false */
    assert_int_equal(mask_at("keep[kv_idx]", pt), 0);
    pt.kv = 4;
    assert_int_equal(mask_at("keep[kv_idx]", pt), 1); /* stored as 7 */
    /* slope[2] = 0.75; doc[4] = 1, doc[10 % 8 = 2] = 0 */
    assert_int_equal(mask_at("keep[kv_idx] && slope[h] > 0.5 && doc[kv_idx] == doc[q_idx % 8]", pt), 0);
    pt.kv = 2;
    assert_int_equal(mask_at("keep[kv_idx] && slope[h] > 0.5 && doc[kv_idx] == doc[q_idx % 8]", pt), 1);
    /* rank-2 read through strides that are not contiguous: a transposed view of rel_bias */
    float data[6] = {0, 1, 2, 3, 4, 5}; /* [2][3] row-major; the view is [3][2] */
    int64_t shape[2] = {3, 2}, strides[2] = {1, 3};
    attn_expr_tensor view = {data, ATTN_EXPR_ELEM_F32, 2, shape, strides};
    e = parse_ok("rel_bias[2][1]", ATTN_EXPR_SCORE);
    attn_expr_env env = {0, 0, 0, 0, 0, 1, &view};
    static attn_expr_scratch scratch;
    attn_expr_value v;
    assert_int_equal(attn_expr_eval(e, &env, &scratch, &v), ATTN_EXPR_OK);
    assert_close(v.f, 5.0, 0); /* data[2 * 1 + 1 * 3] */
    attn_expr_free(e);
}

/* ---- run-time errors ---------------------------------------------------------------- */

static void test_index_out_of_range(void **state) {
    (void)state;
    point pt = P0;
    pt.h = 4; /* slope has 4 elements: ASan would see a read of slope[4] */
    assert_int_equal(status_at("score - slope[h]", ATTN_EXPR_SCORE, pt), ATTN_EXPR_E_INDEX);
    pt.h = -1;
    assert_int_equal(status_at("score - slope[h]", ATTN_EXPR_SCORE, pt), ATTN_EXPR_E_INDEX);
    pt.h = 3;
    assert_int_equal(status_at("score - slope[h]", ATTN_EXPR_SCORE, pt), ATTN_EXPR_OK);
    pt.q = 128; /* rel_bias is [4][128] */
    assert_int_equal(status_at("score + rel_bias[h][q_idx]", ATTN_EXPR_SCORE, pt), ATTN_EXPR_E_INDEX);
    pt.q = 127;
    assert_int_equal(status_at("score + rel_bias[h][q_idx]", ATTN_EXPR_SCORE, pt), ATTN_EXPR_OK);
    pt.kv = 8;
    assert_int_equal(status_at("keep[kv_idx]", ATTN_EXPR_MASK, pt), ATTN_EXPR_E_INDEX);
    /* an index past 2^62 must not overflow the offset computation either */
    assert_int_equal(status_at("doc[9223372036854775807]", ATTN_EXPR_SCORE, pt), ATTN_EXPR_E_INDEX);
}

static void test_environment_mismatch(void **state) {
    (void)state;
    attn_expr *e = parse_ok("score - slope[h]", ATTN_EXPR_SCORE);
    static attn_expr_scratch scratch;
    attn_expr_value v;
    attn_expr_env env = {0, 0, 0, 0, 0, 0, NULL}; /* no tensors given */
    assert_int_equal(attn_expr_eval(e, &env, &scratch, &v), ATTN_EXPR_E_ENV);
    attn_expr_tensor wrong = fx.tensors[3]; /* int32 where float32 is needed */
    env.aux_count = 1, env.aux = &wrong;
    assert_int_equal(attn_expr_eval(e, &env, &scratch, &v), ATTN_EXPR_E_ENV);
    wrong = fx.tensors[0]; /* rank 2 where rank 1 is needed */
    assert_int_equal(attn_expr_eval(e, &env, &scratch, &v), ATTN_EXPR_E_ENV);
    attn_expr_free(e);
}

static void test_division_by_zero_at_run_time(void **state) {
    (void)state;
    point pt = P0; /* kv_idx = 3, score = 0.5 */
    assert_int_equal(status_at("q_idx // (kv_idx - 3)", ATTN_EXPR_SCORE, pt), ATTN_EXPR_E_DIV_ZERO);
    assert_int_equal(status_at("q_idx % (kv_idx - 3)", ATTN_EXPR_SCORE, pt), ATTN_EXPR_E_DIV_ZERO);
    assert_int_equal(status_at("q_idx / (kv_idx - 3)", ATTN_EXPR_SCORE, pt), ATTN_EXPR_E_DIV_ZERO);
    assert_int_equal(status_at("1 / (score - 0.5)", ATTN_EXPR_SCORE, pt), ATTN_EXPR_E_DIV_ZERO);
    pt.kv = 4;
    assert_int_equal(status_at("q_idx // (kv_idx - 3)", ATTN_EXPR_SCORE, pt), ATTN_EXPR_OK);
}

/* An error is a value: it reaches the result only through what the result depends on, so a
 * guarded division or index (the way people write them) is no error where the guard holds. */
static void test_errors_only_where_used(void **state) {
    (void)state;
    point pt = P0; /* q_idx 10, kv_idx 3 */
    assert_int_equal(status_at("where(kv_idx == 3, 0, q_idx // (kv_idx - 3))", ATTN_EXPR_SCORE, pt), ATTN_EXPR_OK);
    assert_int_equal(status_at("where(kv_idx != 3, 0, q_idx // (kv_idx - 3))", ATTN_EXPR_SCORE, pt),
                     ATTN_EXPR_E_DIV_ZERO);
    assert_int_equal(status_at("where(q_idx // (kv_idx - 3) > 0, 1, 2)", ATTN_EXPR_SCORE, pt), ATTN_EXPR_E_DIV_ZERO);
    /* && and ||: a side that decides the result without an error decides it, from either side */
    assert_int_equal(status_at("kv_idx != 3 && q_idx % (kv_idx - 3) == 0", ATTN_EXPR_MASK, pt), ATTN_EXPR_OK);
    assert_int_equal(status_at("q_idx % (kv_idx - 3) == 0 && kv_idx != 3", ATTN_EXPR_MASK, pt), ATTN_EXPR_OK);
    assert_int_equal(status_at("kv_idx == 3 || q_idx % (kv_idx - 3) == 0", ATTN_EXPR_MASK, pt), ATTN_EXPR_OK);
    assert_int_equal(status_at("kv_idx == 3 && q_idx % (kv_idx - 3) == 0", ATTN_EXPR_MASK, pt), ATTN_EXPR_E_DIV_ZERO);
    assert_int_equal(status_at("kv_idx != 3 || q_idx % (kv_idx - 3) == 0", ATTN_EXPR_MASK, pt), ATTN_EXPR_E_DIV_ZERO);
    assert_int_equal(status_at("!(q_idx % (kv_idx - 3) == 0)", ATTN_EXPR_MASK, pt), ATTN_EXPR_E_DIV_ZERO);
    /* an index guarded by where: rel_bias is [4][128], q_idx 200 is out of its range */
    pt.q = 200;
    assert_int_equal(status_at("score + where(q_idx < 128, rel_bias[h][q_idx], 0.0)", ATTN_EXPR_SCORE, pt), ATTN_EXPR_OK);
    assert_true(score_at("score + where(q_idx < 128, rel_bias[h][q_idx], 0.0)", pt) == 0.5);
    assert_int_equal(status_at("score + where(q_idx < 256, rel_bias[h][q_idx], 0.0)", ATTN_EXPR_SCORE, pt),
                     ATTN_EXPR_E_INDEX);
    /* an index computed with an error reads nothing and passes the error on */
    assert_int_equal(status_at("score + rel_bias[h][q_idx // (kv_idx - 3)]", ATTN_EXPR_SCORE, pt), ATTN_EXPR_E_DIV_ZERO);
}

static void test_malformed_tree(void **state) {
    (void)state;
    /* what a damaged tree from across the ABI looks like: a child that is not before its parent */
    attn_expr_node nodes[2];
    memset(nodes, 0, sizeof nodes);
    nodes[0].op = ATTN_EXPR_OP_INT, nodes[0].type = ATTN_EXPR_INT;
    nodes[1].op = ATTN_EXPR_OP_NEG, nodes[1].type = ATTN_EXPR_INT, nodes[1].arity = 1, nodes[1].args[0] = 1;
    attn_expr e = {sizeof(attn_expr), 2, nodes, "", 0, NULL};
    attn_expr_env env = {0, 0, 0, 0, 0, 0, NULL};
    static attn_expr_scratch scratch;
    attn_expr_value v;
    assert_int_equal(attn_expr_eval(&e, &env, &scratch, &v), ATTN_EXPR_E_MALFORMED);
    nodes[1].args[0] = 0, nodes[1].op = 250; /* unknown op */
    assert_int_equal(attn_expr_eval(&e, &env, &scratch, &v), ATTN_EXPR_E_MALFORMED);
    nodes[1].op = ATTN_EXPR_OP_WHERE, nodes[1].arity = 1; /* too few children for its op: no read past them */
    assert_int_equal(attn_expr_eval(&e, &env, &scratch, &v), ATTN_EXPR_OK);
    e.node_count = 0;
    assert_int_equal(attn_expr_eval(&e, &env, &scratch, &v), ATTN_EXPR_E_MALFORMED);
}

/* ---- parse errors, each with its column ---------------------------------------------- */

static void test_syntax_errors(void **state) {
    (void)state;
    assert_error(ATTN_EXPR_MASK, "(q_idx - kv_idx +) < 3", "column 18: unexpected ')' (expected an expression)");
    assert_error(ATTN_EXPR_MASK, "q_idx < (kv_idx + 2))", "column 21: unexpected ')' (expected an operator or the end)");
    assert_error(ATTN_EXPR_MASK, "q_idx <", "column 8: unexpected end of text (expected an expression)");
    assert_error(ATTN_EXPR_MASK, "", "column 1: unexpected end of text (expected an expression)");
    assert_error(ATTN_EXPR_MASK, "(q_idx < 3", "column 11: unexpected end of text (expected ')')");
    assert_error(ATTN_EXPR_MASK, "q_idx # 2", "column 7: unexpected character '#'");
    assert_error(ATTN_EXPR_MASK, "q_idx < 3 & true", "column 11: unexpected character '&' (did you mean '&&'?)");
    assert_error(ATTN_EXPR_MASK, "q_idx = 3", "column 7: unexpected character '=' (did you mean '=='?)");
    assert_error(ATTN_EXPR_MASK, "q_idx < 3\x01", "column 10: unexpected byte 0x01");
    assert_error(ATTN_EXPR_MASK, "0 < q_idx < 5",
                 "column 11: comparisons do not chain: '<' after a comparison of the same kind "
                 "(write 'a < b && b < c' for 'a < b < c')");
    assert_error(ATTN_EXPR_MASK, "q_idx == kv_idx == true",
                 "column 17: comparisons do not chain: '==' after a comparison of the same kind "
                 "(write 'a < b && b < c' for 'a < b < c')");
    assert_error(ATTN_EXPR_MASK, "min(q_idx) < 2", "column 1: min() takes 2 arguments, got 1");
    assert_error(ATTN_EXPR_MASK, "abs(q_idx, 2) < 2", "column 1: abs() takes 1 argument, got more");
    assert_error(ATTN_EXPR_MASK, "min(q_idx 2) < 2", "column 11: unexpected '2' (expected ',' or ')')");
    assert_error(ATTN_EXPR_MASK, "abs < 2", "column 1: 'abs' is a function: call it as abs(...)");
    assert_error(ATTN_EXPR_MASK, "q_idx[0] < 2", "column 6: unexpected '[' (expected an operator or the end)");
    /* whitespace includes line breaks; columns count bytes from the start of the text */
    assert_mask("q_idx\n\t<\r\n11", 1);
}

static void test_name_errors(void **state) {
    (void)state;
    assert_error(ATTN_EXPR_MASK, "1 + q_id < kv_idx", "column 5: unknown name 'q_id' (did you mean 'q_idx'?)");
    assert_error(ATTN_EXPR_MASK, "clmap(q_idx, 0, 1) < 1", "column 1: unknown name 'clmap' (did you mean 'clamp'?)");
    assert_error(ATTN_EXPR_SCORE, "score * slpe[h]", "column 9: unknown name 'slpe' (did you mean 'slope'?)");
    assert_error(ATTN_EXPR_MASK, "zzzzzz < 1", "column 1: unknown name 'zzzzzz'");
    /* 'score' is not suggested where it is not defined */
    assert_error(ATTN_EXPR_MASK, "scor < 1", "column 1: unknown name 'scor'");
    assert_error(ATTN_EXPR_SCORE, "scor", "column 1: unknown name 'scor' (did you mean 'score'?)");
    assert_error(ATTN_EXPR_MASK, "q_idx < score", "column 9: 'score' is only defined in a score_mod");
}

static void test_type_errors(void **state) {
    (void)state;
    assert_error(ATTN_EXPR_SCORE, "h // 2.0", "column 3: '//' needs integers, got a float (use '/' for float division)");
    assert_error(ATTN_EXPR_SCORE, "score % 2", "column 7: '%' needs integers, got a float (use '/' for float division)");
    assert_error(ATTN_EXPR_SCORE, "true // 2", "column 6: '//' needs integers, got a bool (use '/' for float division)");
    assert_error(ATTN_EXPR_MASK, "q_idx && kv_idx", "column 7: '&&' needs bools, got an int");
    assert_error(ATTN_EXPR_MASK, "true || 1", "column 6: '||' needs bools, got an int");
    assert_error(ATTN_EXPR_MASK, "!q_idx", "column 1: '!' needs a bool, got an int");
    assert_error(ATTN_EXPR_SCORE, "-true", "column 1: '-' needs a number, got a bool");
    assert_error(ATTN_EXPR_SCORE, "score + true", "column 7: '+' needs numbers, got a bool");
    assert_error(ATTN_EXPR_MASK, "true < 1", "column 6: '<' needs numbers, got a bool");
    assert_error(ATTN_EXPR_MASK, "true == 1", "column 6: '==' compares a bool with an int");
    assert_error(ATTN_EXPR_MASK, "where(1, true, false)", "column 1: where's condition must be a bool, got an int");
    assert_error(ATTN_EXPR_SCORE, "where(true, 1, false)", "column 1: where's branches are an int and a bool");
    assert_error(ATTN_EXPR_SCORE, "exp(true)", "column 1: exp() needs numbers, got a bool");
    assert_error(ATTN_EXPR_SCORE, "score + rel_bias[h]", "column 9: 'rel_bias' has rank 2, indexed with 1 index");
    assert_error(ATTN_EXPR_SCORE, "score + slope[h][0]", "column 17: 'slope' has rank 1: too many indices");
    assert_error(ATTN_EXPR_SCORE, "score + slope[0.5]", "column 9: index 1 of 'slope' must be an int, got a float");
    assert_error(ATTN_EXPR_MASK, "q_idx + 1", "column 1: a mask_mod must be a bool, got an int");
    assert_error(ATTN_EXPR_SCORE, "q_idx < 1", "column 1: a score_mod must be a number, got a bool");
}

static void test_literal_and_constant_errors(void **state) {
    (void)state;
    assert_error(ATTN_EXPR_MASK, "q_idx < 9223372036854775808",
                 "column 9: integer literal '9223372036854775808' does not fit in 64 bits");
    assert_mask("q_idx < 9223372036854775807", 1);
    assert_error(ATTN_EXPR_SCORE, "score * 1e999", "column 9: float literal '1e999' is out of range");
    assert_error(ATTN_EXPR_MASK, "q_idx // 0 == 1", "column 7: '//' by the constant 0");
    assert_error(ATTN_EXPR_MASK, "q_idx % 0 == 1", "column 7: '%' by the constant 0");
    assert_error(ATTN_EXPR_SCORE, "score / 0", "column 7: '/' by the constant 0");
    assert_error(ATTN_EXPR_SCORE, "score / 0.0", "column 7: '/' by the constant 0");
}

static void test_bad_arguments(void **state) {
    (void)state;
    attn_expr *e = NULL;
    attn_error err;
    assert_int_equal(attn_expr_parse("true", 3, NULL, 0, &e, &err), ATTN_E_INVALID);
    assert_int_equal(attn_expr_parse(NULL, ATTN_EXPR_MASK, NULL, 0, &e, &err), ATTN_E_INVALID);
    assert_int_equal(attn_expr_parse("true", ATTN_EXPR_MASK, NULL, 1, &e, &err), ATTN_E_INVALID);
    /* a NULL err is allowed */
    assert_int_equal(attn_expr_parse("q_idx <", ATTN_EXPR_MASK, NULL, 0, &e, NULL), ATTN_E_INVALID);
    assert_null(e);
    attn_expr_aux bad[2] = {{"q_idx", ATTN_EXPR_FLOAT, 1}, {"x", ATTN_EXPR_FLOAT, 1}};
    assert_int_equal(attn_expr_parse("true", ATTN_EXPR_MASK, bad, 1, &e, &err), ATTN_E_INVALID);
    assert_string_equal(err.message, "aux tensor 0: 'q_idx' is a variable or function name");
    bad[0].name = "x";
    assert_int_equal(attn_expr_parse("true", ATTN_EXPR_MASK, bad, 2, &e, &err), ATTN_E_INVALID);
    assert_string_equal(err.message, "aux tensor 'x' is declared twice");
    bad[0].name = "2x";
    assert_int_equal(attn_expr_parse("true", ATTN_EXPR_MASK, bad, 1, &e, &err), ATTN_E_INVALID);
    assert_string_equal(err.message, "aux tensor 0: name '2x' is not an identifier");
    bad[0].name = "y", bad[0].rank = 5;
    assert_int_equal(attn_expr_parse("true", ATTN_EXPR_MASK, bad, 1, &e, &err), ATTN_E_INVALID);
    assert_string_equal(err.message, "aux tensor 'y': rank 5 is not in 0..4");
    bad[0].rank = 0, bad[0].type = 9;
    assert_int_equal(attn_expr_parse("true", ATTN_EXPR_MASK, bad, 1, &e, &err), ATTN_E_INVALID);
    /* rank 0: a scalar, named without indices */
    bad[0].type = ATTN_EXPR_FLOAT;
    assert_int_equal(attn_expr_parse("score * y", ATTN_EXPR_SCORE, bad, 1, &e, &err), ATTN_OK);
    float y = 3.0f;
    attn_expr_tensor t = {&y, ATTN_EXPR_ELEM_F32, 0, NULL, NULL};
    attn_expr_env env = {0, 0, 0, 0, 2.0, 1, &t};
    static attn_expr_scratch scratch;
    attn_expr_value v;
    assert_int_equal(attn_expr_eval(e, &env, &scratch, &v), ATTN_EXPR_OK);
    assert_close(v.f, 6.0, 0);
    attn_expr_free(e);
    attn_expr_free(NULL);
}

/* ---- limits against hostile input --------------------------------------------------- */

static char *repeat(const char *head, const char *unit, int count, const char *tail) {
    size_t size = strlen(head) + strlen(unit) * (size_t)count + strlen(tail) + 1;
    char *s = malloc(size);
    assert_non_null(s);
    strcpy(s, head);
    for (int k = 0; k < count; k++) strcat(s, unit);
    strcat(s, tail);
    return s;
}

static void test_text_limit(void **state) {
    (void)state;
    char *text = repeat("q_idx < 1", " ", ATTN_EXPR_MAX_TEXT - 9, "");
    assert_int_equal(strlen(text), 4096);
    assert_mask(text, 0);
    free(text);
    text = repeat("q_idx < 1", " ", ATTN_EXPR_MAX_TEXT - 8, "");
    assert_error(ATTN_EXPR_MASK, text, "expression longer than 4096 bytes");
    free(text);
}

static void test_node_limit(void **state) {
    (void)state;
    /* -q_idx (2 nodes) + 510 x "+ 1" (2 each) + "< 0" (2) = 1024 nodes */
    char *text = repeat("-q_idx", " + 1", 510, " < 0");
    attn_expr *e = parse_ok(text, ATTN_EXPR_MASK);
    assert_int_equal(e->node_count, 1024);
    attn_expr_free(e);
    free(text);
    text = repeat("- -q_idx", " + 1", 510, " < 0"); /* 1025 */
    attn_expr *none = NULL;
    attn_error err;
    assert_int_equal(attn_expr_parse(text, ATTN_EXPR_MASK, NULL, 0, &none, &err), ATTN_E_INVALID);
    assert_contains(err.message, "expression too large: more than 1024 nodes");
    free(text);
    /* a long run of prefix operators costs no recursion, and is bounded by the node limit */
    text = repeat("", "!", 1000, "true");
    assert_mask(text, 1);
    free(text);
    text = repeat("", "-", 4000, "1 < 0");
    assert_int_equal(attn_expr_parse(text, ATTN_EXPR_MASK, NULL, 0, &none, &err), ATTN_E_INVALID);
    assert_contains(err.message, "more than 1024 nodes");
    free(text);
}

static void test_depth_limit(void **state) {
    (void)state;
    char *open = repeat("", "(", 64, "q_idx");
    char *text = repeat(open, ")", 64, " < 11");
    assert_mask(text, 1);
    free(open);
    free(text);
    open = repeat("", "(", 65, "q_idx");
    text = repeat(open, ")", 65, " < 11");
    assert_error(ATTN_EXPR_MASK, text,
                 "column 65: nesting deeper than 64 levels (parentheses, calls and indexing together)");
    free(open);
    free(text);
    /* calls and indexing count together with parentheses: 32 abs( + 32 [ = 64 levels */
    open = repeat("", "abs(", 32, "");
    char *index = repeat(open, "doc[", 32, "0");
    char *closed = repeat(index, "]", 32, "");
    text = repeat(closed, ")", 32, " < 1");
    assert_mask(text, 1);
    free(text);
    text = repeat(closed, ")", 32, "");
    char *deeper = malloc(strlen(text) + 16);
    assert_non_null(deeper);
    sprintf(deeper, "(%s) < 1", text);
    /* "(" is level 1, the 32 abs( are 2 to 33, the 32nd doc[ is level 65: its '[' at byte 256 */
    assert_error(ATTN_EXPR_MASK, deeper,
                 "column 257: nesting deeper than 64 levels (parentheses, calls and indexing together)");
    free(deeper);
    free(text);
    free(open);
    free(index);
    free(closed);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integer_arithmetic),
        cmocka_unit_test(test_integer_wraps_without_undefined_behaviour),
        cmocka_unit_test(test_float_arithmetic),
        cmocka_unit_test(test_comparisons_and_logic),
        cmocka_unit_test(test_functions),
        cmocka_unit_test(test_type_promotion),
        cmocka_unit_test(test_sliding_window_with_sinks),
        cmocka_unit_test(test_relative_bias_table),
        cmocka_unit_test(test_softcap_equals_builtin),
        cmocka_unit_test(test_alibi_equals_builtin),
        cmocka_unit_test(test_aux_table_and_kinds),
        cmocka_unit_test(test_index_out_of_range),
        cmocka_unit_test(test_environment_mismatch),
        cmocka_unit_test(test_division_by_zero_at_run_time),
        cmocka_unit_test(test_errors_only_where_used),
        cmocka_unit_test(test_malformed_tree),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_name_errors),
        cmocka_unit_test(test_type_errors),
        cmocka_unit_test(test_literal_and_constant_errors),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_text_limit),
        cmocka_unit_test(test_node_limit),
        cmocka_unit_test(test_depth_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
