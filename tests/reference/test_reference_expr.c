/* ABI 1.2's mask_mod and score_mod, through libattn into sdpa-ref (SPEC.md "Expressions"):
 *   - the built-ins written as expressions give the built-ins' results bit for bit (causal,
 *     softcap, ALiBi, a relative-bias table that is ALiBi where it reaches);
 *   - a score of -inf hides its key exactly as a mask does; a row the mask empties is O = 0,
 *     LSE = -inf;
 *   - expressions are evaluated only where SPEC's rules leave the pair visible, and an error
 *     that reaches a visible pair's result fails the run with the pair named (synaptic-manual's
 *     too: the matrix checks its results, tests/matrix/check_expressions.sh);
 *   - validation refuses what a backend must never see (a missing or mistyped aux tensor, a
 *     hand-built tree the parser would not build, score_mod beside a modifier), and libattn
 *     refuses for a plugin that does not read the fields ("not implemented"). */
#include <attn/host/attn_expr_parse.h>
#include <attn/host/attn_host.h>
#include <math.h>

#include "small_problem.h"
#include "test_support.h"

static attn_backend *open_plugin(const char *name, const char *path) {
    attn_backend *backend = NULL;
    attn_error err;
    if (attn_backend_open(name, path, NULL, 0, &backend, &err) != ATTN_OK) fail_msg("cannot open %s: %s", name, err.message);
    return backend;
}

/* B2 H4/2 T6x9 D8, values that make every key matter; bidirectional unless the test says. */
static void filled(small_problem *s) {
    small_init(s, 2, 4, 2, 6, 9, 8, 8);
    s->p.causal = 0;
    s->p.scale = 0.0; /* 1/sqrt(D) */
    for (int64_t n = 0; n < 2 * 4 * 6 * 8; ++n) s->q[n] = (float)((n * 7 % 11) - 5) / 4.0f;
    for (int64_t n = 0; n < 2 * 2 * 9 * 8; ++n) {
        s->k[n] = (float)((n * 5 % 13) - 6) / 4.0f;
        s->v[n] = (float)((n * 3 % 7) - 3) / 2.0f;
    }
}

static attn_expr *parse(const char *text, attn_expr_kind kind, const attn_expr_aux *declared, uint32_t count) {
    attn_expr *e = NULL;
    attn_error err;
    if (attn_expr_parse(text, kind, declared, count, &e, &err) != ATTN_OK) fail_msg("parse \"%s\": %s", text, err.message);
    return e;
}

static attn_status run_status_on(const char *name, const char *path, small_problem *s, attn_error *err) {
    attn_backend *backend = open_plugin(name, path);
    attn_status st = attn_backend_run(backend, &s->p, err);
    attn_backend_close(backend);
    return st;
}

static attn_status run_status(small_problem *s, attn_error *err) { return run_status_on("sdpa-ref", ATTN_SDPA_REF_PATH, s, err); }

static void run_ok(small_problem *s) {
    attn_error err;
    if (run_status(s, &err) != ATTN_OK) fail_msg("run: %s", err.message);
}

static size_t o_count(const small_problem *s) { return (size_t)(s->b * s->hq * s->tq * s->dv); }
static size_t lse_count(const small_problem *s) { return (size_t)(s->b * s->hq * s->tq); }

/* Runs a (the built-in form) and b (the expression form) and compares O and LSE bit for bit. */
static void assert_same_results(small_problem *a, small_problem *b) {
    run_ok(a);
    run_ok(b);
    assert_memory_equal(a->o, b->o, o_count(a) * sizeof(float));
    assert_memory_equal(a->lse, b->lse, lse_count(a) * sizeof(float));
}

static void causal_as_mask_mod(void **state) {
    (void)state;
    small_problem builtin, expr;
    filled(&builtin);
    filled(&expr);
    builtin.p.causal = 1;
    attn_expr *e = parse("kv_idx <= q_idx", ATTN_EXPR_MASK, NULL, 0);
    expr.p.mask_mod = e;
    assert_same_results(&builtin, &expr);
    attn_expr_free(e);
    small_free(&builtin);
    small_free(&expr);
}

static void softcap_as_score_mod(void **state) {
    (void)state;
    small_problem builtin, expr;
    filled(&builtin);
    filled(&expr);
    builtin.p.modifier = ATTN_MOD_SOFTCAP;
    builtin.p.softcap = 2.5f; /* small enough that tanh bends the scores */
    attn_expr *e = parse("2.5 * tanh(score / 2.5)", ATTN_EXPR_SCORE, NULL, 0);
    expr.p.score_mod = e;
    assert_same_results(&builtin, &expr);
    attn_expr_free(e);
    small_free(&builtin);
    small_free(&expr);
}

/* ALiBi from an aux tensor of slopes, and a relative-bias table [Hq][9] that equals it on every
 * distance a 9-key row has. */
static void alibi_and_bias_table_as_score_mod(void **state) {
    (void)state;
    small_problem builtin, expr;
    filled(&builtin);
    filled(&expr);
    builtin.p.causal = expr.p.causal = 1;
    float slopes[4] = {0.5f, 0.25f, 0.125f, 0.0625f}, table[4][9];
    for (int h = 0; h < 4; ++h)
        for (int d = 0; d < 9; ++d) table[h][d] = -slopes[h] * (float)d; /* exact in float32 */
    int64_t slope_shape[1], slope_strides[1], table_shape[2], table_strides[2];
    contiguous_tensor(&builtin.p.alibi_slopes, slopes, 1, (int64_t[]){4}, kDLFloat, 32, slope_shape, slope_strides);
    builtin.p.modifier = ATTN_MOD_ALIBI;

    DLTensor aux[2];
    const char *names[2] = {"slope", "rel_bias"};
    contiguous_tensor(&aux[0], slopes, 1, (int64_t[]){4}, kDLFloat, 32, slope_shape, slope_strides);
    contiguous_tensor(&aux[1], table, 2, (int64_t[]){4, 9}, kDLFloat, 32, table_shape, table_strides);
    attn_expr_aux declared[2] = {{"slope", ATTN_EXPR_FLOAT, 1}, {"rel_bias", ATTN_EXPR_FLOAT, 2}};
    expr.p.aux = aux;
    expr.p.aux_names = names;
    expr.p.aux_count = 2;

    attn_expr *alibi = parse("score - slope[h] * abs(q_idx - kv_idx)", ATTN_EXPR_SCORE, declared, 2);
    expr.p.score_mod = alibi;
    assert_same_results(&builtin, &expr);
    /* the table: the same numbers reached another way (score + (-slope * d) rounds like
     * score - slope * d, both exact products) */
    attn_expr *bias = parse("score + rel_bias[h][clamp(q_idx - kv_idx, 0, 8)]", ATTN_EXPR_SCORE, declared, 2);
    expr.p.score_mod = bias;
    assert_same_results(&builtin, &expr);
    attn_expr_free(alibi);
    attn_expr_free(bias);
    small_free(&builtin);
    small_free(&expr);
}

/* score_mod's -inf hides a key as mask_mod does; a mask that empties rows gives O = 0, LSE -inf. */
static void minus_infinity_is_a_mask_and_empty_rows_are_zero(void **state) {
    (void)state;
    small_problem masked, scored;
    filled(&masked);
    filled(&scored);
    attn_expr *mask = parse("kv_idx % 3 != 1 && q_idx != 4", ATTN_EXPR_MASK, NULL, 0);
    attn_expr *score = parse("where(kv_idx % 3 != 1 && q_idx != 4, score, log(0.0))", ATTN_EXPR_SCORE, NULL, 0);
    masked.p.mask_mod = mask;
    scored.p.score_mod = score;
    assert_same_results(&masked, &scored);
    /* q_idx 4 is row i = 1 (bottom-right: pos = Tk - Tq + i = 3 + i): every key hidden */
    for (int64_t b = 0; b < 2; ++b)
        for (int64_t h = 0; h < 4; ++h) {
            for (int64_t e = 0; e < 8; ++e) assert_true(SO(&masked, b, h, 1, e) == 0.0f);
            assert_true(isinf(SL(&masked, b, h, 1)) && SL(&masked, b, h, 1) < 0);
            assert_true(SO(&masked, b, h, 0, 0) != 0.0f || SO(&masked, b, h, 0, 1) != 0.0f);
        }
    attn_expr_free(mask);
    attn_expr_free(score);
    small_free(&masked);
    small_free(&scored);
}

/* 10 // (q_idx - kv_idx + 1) divides by zero at kv_idx = q_idx + 1, which causality hides:
 * never evaluated there.  Bidirectional, it is reached, and the run fails naming the pair. */
static void evaluated_only_where_visible_and_errors_fail_the_run(void **state) {
    (void)state;
    small_problem s;
    filled(&s);
    s.p.causal = 1;
    attn_expr *e = parse("10 // (q_idx - kv_idx + 1) >= 0", ATTN_EXPR_MASK, NULL, 0);
    s.p.mask_mod = e;
    run_ok(&s);
    s.p.causal = 0;
    attn_error err;
    assert_int_equal(run_status(&s, &err), ATTN_E_INVALID);
    assert_contains(err.message, "mask_mod: division by zero at b 0, h 0, q_idx 3, kv_idx 4");
    assert_int_equal(run_status_on("synaptic-manual", SYNAPTIC_MANUAL_PATH, &s, &err), ATTN_E_INVALID);
    assert_contains(err.message, "synaptic-manual: run: mask_mod: division by zero at b 0, h 0, q_idx 3, kv_idx 4");
    attn_expr_free(e);
    /* guarded by &&: no error */
    e = parse("q_idx - kv_idx + 1 != 0 && 10 // (q_idx - kv_idx + 1) >= 0", ATTN_EXPR_MASK, NULL, 0);
    s.p.mask_mod = e;
    run_ok(&s);
    attn_expr_free(e);
    small_free(&s);
}

static void assert_invalid(small_problem *s, const char *needle) {
    attn_error err;
    assert_int_equal(attn_problem_validate(&s->p, &err), ATTN_E_INVALID);
    assert_contains(err.message, needle);
}

static void validation_of_aux_and_expressions(void **state) {
    (void)state;
    small_problem s;
    filled(&s);
    int32_t keep_i32[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    uint8_t keep[9] = {1, 0, 1, 0, 1, 0, 1, 0, 1};
    int64_t shape[2][2], strides[2][2];
    DLTensor aux[2];
    const char *names[2] = {"keep", "keep"};
    contiguous_tensor(&aux[0], keep, 1, (int64_t[]){9}, kDLUInt, 8, shape[0], strides[0]);
    attn_expr_aux declared = {"keep", ATTN_EXPR_BOOL, 1};
    attn_expr *e = parse("keep[kv_idx]", ATTN_EXPR_MASK, &declared, 1);
    s.p.mask_mod = e;
    assert_invalid(&s, "mask_mod reads aux 'keep', which the problem does not give");
    s.p.aux = aux;
    s.p.aux_names = names;
    s.p.aux_count = 1;
    attn_error err;
    assert_int_equal(attn_problem_validate(&s.p, &err), ATTN_OK);
    run_ok(&s);
    for (int64_t e_ = 0; e_ < 8; ++e_) assert_true(isfinite(SO(&s, 1, 3, 5, e_)));
    /* the wrong element type, the wrong rank */
    contiguous_tensor(&aux[0], keep_i32, 1, (int64_t[]){9}, kDLInt, 32, shape[0], strides[0]);
    assert_invalid(&s, "mask_mod reads aux 'keep' as a bool: it must be uint8, it is int32");
    contiguous_tensor(&aux[0], keep, 2, (int64_t[]){3, 3}, kDLUInt, 8, shape[0], strides[0]);
    assert_invalid(&s, "mask_mod reads aux 'keep' with 1 indices, the tensor has rank 2");
    contiguous_tensor(&aux[0], keep, 1, (int64_t[]){9}, kDLUInt, 8, shape[0], strides[0]);
    /* a name twice; an aux over the output */
    aux[1] = aux[0];
    s.p.aux_count = 2;
    assert_invalid(&s, "aux 'keep' is given twice");
    names[1] = "o_view";
    contiguous_tensor(&aux[1], s.o, 1, (int64_t[]){4}, kDLFloat, 32, shape[1], strides[1]);
    assert_invalid(&s, "aux 'o_view' aliases an output");
    s.p.aux_count = ATTN_PROBLEM_MAX_AUX + 1;
    assert_invalid(&s, "more than 16 auxiliary tensors");
    s.p.aux_count = 1;
    /* score_mod beside a built-in modifier */
    attn_expr *score = parse("score * 0.5", ATTN_EXPR_SCORE, NULL, 0);
    s.p.score_mod = score;
    s.p.modifier = ATTN_MOD_SOFTCAP;
    s.p.softcap = 5.0f;
    assert_invalid(&s, "score_mod and modifier 1 are both set");
    s.p.modifier = ATTN_MOD_NONE;
    assert_int_equal(attn_problem_validate(&s.p, &err), ATTN_OK);
    /* a mask where a score belongs */
    s.p.score_mod = e;
    assert_invalid(&s, "score_mod: the expression is a bool, a score_mod must be a float");
    attn_expr_free(score);
    attn_expr_free(e);
    small_free(&s);
}

/* Trees a caller built by hand that the parser never would. */
static void hand_built_trees_are_verified(void **state) {
    (void)state;
    small_problem s;
    filled(&s);
    attn_expr_node nodes[3];
    memset(nodes, 0, sizeof nodes);
    nodes[0].op = ATTN_EXPR_OP_VAR, nodes[0].type = ATTN_EXPR_INT, nodes[0].value.var = ATTN_EXPR_VAR_KV_IDX;
    nodes[1].op = ATTN_EXPR_OP_VAR, nodes[1].type = ATTN_EXPR_INT, nodes[1].value.var = ATTN_EXPR_VAR_Q_IDX;
    nodes[2].op = ATTN_EXPR_OP_LE, nodes[2].type = ATTN_EXPR_BOOL, nodes[2].arity = 2;
    nodes[2].args[0] = 0, nodes[2].args[1] = 1;
    attn_expr e = {sizeof(attn_expr), 3, nodes, "kv_idx <= q_idx", 0, NULL};
    s.p.mask_mod = &e;
    attn_error err;
    assert_int_equal(attn_problem_validate(&s.p, &err), ATTN_OK);
    nodes[2].args[1] = 2; /* its own operand */
    assert_invalid(&s, "mask_mod: node 2 (op 37) is an operand that is not an earlier node");
    nodes[2].args[1] = 1, nodes[1].type = ATTN_EXPR_FLOAT; /* a float q_idx */
    assert_invalid(&s, "node 1 (op 3) is an index variable typed other than int");
    nodes[1].type = ATTN_EXPR_INT, nodes[1].value.var = ATTN_EXPR_VAR_SCORE; /* score in a mask */
    assert_invalid(&s, "'score' outside a score_mod");
    nodes[1].value.var = ATTN_EXPR_VAR_Q_IDX, nodes[2].arity = 3;
    assert_invalid(&s, "node 2 (op 37) is an unknown operator or a wrong arity");
    nodes[2].arity = 2;
    e.node_count = 0;
    assert_invalid(&s, "mask_mod: 0 nodes");
    small_free(&s);
}

/* libattn refuses, for a plugin that does not read the fields, with a reason that says so. */
static void plugins_that_do_not_read_the_fields(void **state) {
    (void)state;
    small_problem s;
    filled(&s);
    attn_expr *e = parse("kv_idx <= q_idx", ATTN_EXPR_MASK, NULL, 0);
    s.p.mask_mod = e;
    attn_error err;
    attn_backend *old = open_plugin("compat-1.0", COMPAT_V1_0_PATH);
    assert_int_equal(attn_backend_check(old, &s.p, &err), ATTN_E_UNSUPPORTED);
    assert_contains(err.message, "compat-1.0: not implemented: the problem sets mask_mod (ABI 1.2) and the plugin speaks ABI 1.0");
    assert_int_equal(attn_backend_run(old, &s.p, &err), ATTN_E_UNSUPPORTED);
    attn_backend_close(old);
    attn_backend *current = open_plugin("topleft", WRONG_TOPLEFT_PATH);
    assert_int_equal(attn_backend_run(current, &s.p, &err), ATTN_E_UNSUPPORTED);
    assert_contains(err.message, "topleft: not implemented: the problem sets mask_mod, which this plugin does not read");
    s.p.mask_mod = NULL; /* without it, both compute */
    assert_int_equal(attn_backend_run(current, &s.p, &err), ATTN_OK);
    attn_backend_close(current);
    attn_expr_free(e);
    small_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(causal_as_mask_mod),
        cmocka_unit_test(softcap_as_score_mod),
        cmocka_unit_test(alibi_and_bias_table_as_score_mod),
        cmocka_unit_test(minus_infinity_is_a_mask_and_empty_rows_are_zero),
        cmocka_unit_test(evaluated_only_where_visible_and_errors_fail_the_run),
        cmocka_unit_test(validation_of_aux_and_expressions),
        cmocka_unit_test(hand_built_trees_are_verified),
        cmocka_unit_test(plugins_that_do_not_read_the_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
