/* attn_problem_validate: every malformed problem is refused with ATTN_E_INVALID and a
 * message that says what is wrong, before any plugin sees it (attn_host.h, DESIGN.md 4-6).
 * Each test starts from one valid problem over small host buffers and breaks one thing. */
#include <attn/host/attn_host.h>
#include <float.h>
#include <stdlib.h>

#include "test_support.h"

/* B 1, Hq 2, Hkv 1, Tq 3, Tk 4, D 2, Dv 2, float32, contiguous BHTD. */
enum { B = 1, HQ = 2, HKV = 1, TQ = 3, TK = 4, D = 2, DV = 2 };

typedef struct fixture {
    attn_problem problem;
    float q[B * HQ * TQ * D], k[B * HKV * TK * D], v[B * HKV * TK * DV], o[B * HQ * TQ * DV], lse[B * HQ * TQ];
    float slopes[HQ];
    int32_t doc_q[B * TQ], doc_k[B * TK];
    int64_t q_shape[4], k_shape[4], v_shape[4], o_shape[4], lse_shape[3], slope_shape[1], doc_q_shape[2],
        doc_k_shape[2];
    int64_t q_strides[4], k_strides[4], v_strides[4], o_strides[4], lse_strides[3], slope_strides[1],
        doc_q_strides[2], doc_k_strides[2];
} fixture;

/* Contiguous strides for a shape. */
static void contiguous(const int64_t *shape, int32_t ndim, int64_t *strides) {
    int64_t step = 1;
    for (int32_t d = ndim - 1; d >= 0; --d) {
        strides[d] = step;
        step *= shape[d];
    }
}

static DLTensor tensor(void *data, int32_t ndim, int64_t *shape, int64_t *strides, uint8_t code, uint8_t bits,
                       const int64_t *dims) {
    for (int32_t d = 0; d < ndim; ++d) shape[d] = dims[d];
    contiguous(shape, ndim, strides);
    DLTensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.device.device_type = kDLCPU;
    t.ndim = ndim;
    t.dtype.code = code;
    t.dtype.bits = bits;
    t.dtype.lanes = 1;
    t.shape = shape;
    t.strides = strides;
    return t;
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    attn_problem *p = &f->problem;
    p->struct_size = sizeof *p;
    const int64_t q_dims[4] = {B, HQ, TQ, D}, k_dims[4] = {B, HKV, TK, D}, v_dims[4] = {B, HKV, TK, DV},
                  o_dims[4] = {B, HQ, TQ, DV}, lse_dims[3] = {B, HQ, TQ}, slope_dims[1] = {HQ},
                  doc_q_dims[2] = {B, TQ}, doc_k_dims[2] = {B, TK};
    p->q = tensor(f->q, 4, f->q_shape, f->q_strides, kDLFloat, 32, q_dims);
    p->k = tensor(f->k, 4, f->k_shape, f->k_strides, kDLFloat, 32, k_dims);
    p->v = tensor(f->v, 4, f->v_shape, f->v_strides, kDLFloat, 32, v_dims);
    p->o = tensor(f->o, 4, f->o_shape, f->o_strides, kDLFloat, 32, o_dims);
    p->lse = tensor(f->lse, 3, f->lse_shape, f->lse_strides, kDLFloat, 32, lse_dims);
    /* Prepared but absent (data NULL) until a test turns them on. */
    p->alibi_slopes = tensor(NULL, 1, f->slope_shape, f->slope_strides, kDLFloat, 32, slope_dims);
    p->doc_q = tensor(NULL, 2, f->doc_q_shape, f->doc_q_strides, kDLInt, 32, doc_q_dims);
    p->doc_k = tensor(NULL, 2, f->doc_k_shape, f->doc_k_strides, kDLInt, 32, doc_k_dims);
    p->causal = 1;
    p->window_left = p->window_right = -1;
    p->modifier = ATTN_MOD_NONE;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    free(*state);
    return 0;
}

/* Validation fails with ATTN_E_INVALID and a message holding every substring given. */
#define assert_invalid(problem, ...) assert_invalid_at((problem), __FILE__, __LINE__, __VA_ARGS__, NULL)

static void assert_invalid_at(const attn_problem *problem, const char *file, int line, ...) {
    attn_error err;
    memset(&err, 0, sizeof err);
    attn_status st = attn_problem_validate(problem, &err);
    if (st != ATTN_E_INVALID) {
        print_error("%s:%d: status %d (%s), expected ATTN_E_INVALID; message \"%s\"\n", file, line, st,
                    attn_status_name(st), err.message);
        _fail(file, line);
    }
    assert_int_equal(err.status, ATTN_E_INVALID);
    va_list args;
    va_start(args, line);
    for (const char *needle = va_arg(args, const char *); needle; needle = va_arg(args, const char *))
        assert_contains_at(err.message, needle, file, line);
    va_end(args);
}

static attn_problem *problem_of(void **state) { return &((fixture *)*state)->problem; }

static void test_valid(void **state) {
    attn_error err = {0};
    attn_status st = attn_problem_validate(problem_of(state), &err);
    if (st != ATTN_OK) print_error("valid problem refused: %s\n", err.message);
    assert_int_equal(st, ATTN_OK);
    /* The optional pieces, all present and well-formed, are still valid. */
    fixture *f = *state;
    f->problem.alibi_slopes.data = f->slopes;
    f->problem.modifier = ATTN_MOD_ALIBI;
    f->problem.doc_q.data = f->doc_q;
    f->problem.doc_k.data = f->doc_k;
    f->problem.dropout_p = 0.5f;
    st = attn_problem_validate(&f->problem, &err);
    if (st != ATTN_OK) print_error("valid problem refused: %s\n", err.message);
    assert_int_equal(st, ATTN_OK);
}

static void test_null_q(void **state) {
    problem_of(state)->q.data = NULL;
    assert_invalid(problem_of(state), "q", "NULL");
}

static void test_rank3_q(void **state) {
    problem_of(state)->q.ndim = 3;
    assert_invalid(problem_of(state), "q", "rank 3");
}

static void test_mismatched_dtype(void **state) {
    problem_of(state)->k.dtype.bits = 16; /* float16 k with float32 q */
    assert_invalid(problem_of(state), "k", "float16", "float32");
}

static void test_int_dtype(void **state) {
    attn_problem *p = problem_of(state);
    p->q.dtype.code = kDLInt;
    assert_invalid(p, "q", "int32");
}

static void test_heads_not_divisible(void **state) {
    fixture *f = *state;
    /* Hq 3 over Hkv 2: shapes stay self-consistent so only the divisibility is wrong. */
    f->q_shape[1] = 3;
    f->o_shape[1] = 3;
    f->lse_shape[1] = 3;
    f->k_shape[1] = 2;
    f->v_shape[1] = 2;
    assert_invalid(&f->problem, "Hq", "Hkv");
}

static void test_negative_stride(void **state) {
    fixture *f = *state;
    f->k_strides[2] = -2;
    assert_invalid(&f->problem, "k", "negative");
}

static void test_stride_overflow(void **state) {
    fixture *f = *state;
    f->v_strides[2] = INT64_MAX / 2; /* (Tk - 1) * stride overflows 64 bits */
    assert_invalid(&f->problem, "v", "overflow");
}

/* Element offsets that fit in 64 bits while the byte size (4 bytes each) does not. */
static void test_byte_size_overflow(void **state) {
    fixture *f = *state;
    f->q_shape[0] = (int64_t)1 << 61;
    f->q_strides[0] = 1;
    assert_invalid(&f->problem, "q", "byte extent overflows 64 bits");
}

/* A shape whose element count alone overflows. */
static void test_shape_overflow(void **state) {
    fixture *f = *state;
    f->q_shape[0] = (int64_t)1 << 62;
    f->q_strides[0] = 16;
    assert_invalid(&f->problem, "q", "overflow 64 bits");
}

static void test_o_aliases_q(void **state) {
    fixture *f = *state;
    f->problem.o.data = f->q;
    assert_invalid(&f->problem, "o", "q", "alias");
}

static void test_lse_aliases_k(void **state) {
    fixture *f = *state;
    f->problem.lse.data = f->k;
    assert_invalid(&f->problem, "lse", "k", "alias");
}

static void test_lse_dtype(void **state) {
    problem_of(state)->lse.dtype.bits = 16;
    assert_invalid(problem_of(state), "lse", "float32");
}

static void test_dropout_one(void **state) {
    problem_of(state)->dropout_p = 1.0f;
    assert_invalid(problem_of(state), "dropout");
}

static void test_dropout_negative(void **state) {
    problem_of(state)->dropout_p = -0.1f;
    assert_invalid(problem_of(state), "dropout");
}

static void test_dropout_nan(void **state) {
    problem_of(state)->dropout_p = NAN;
    assert_invalid(problem_of(state), "dropout");
}

static void test_softcap_zero(void **state) {
    attn_problem *p = problem_of(state);
    p->modifier = ATTN_MOD_SOFTCAP;
    p->softcap = 0.0f;
    assert_invalid(p, "softcap");
}

static void test_alibi_without_slopes(void **state) {
    problem_of(state)->modifier = ATTN_MOD_ALIBI;
    assert_invalid(problem_of(state), "alibi");
}

static void test_unknown_modifier(void **state) {
    problem_of(state)->modifier = 7;
    assert_invalid(problem_of(state), "modifier", "7");
}

static void test_window_left_minus_two(void **state) {
    problem_of(state)->window_left = -2;
    assert_invalid(problem_of(state), "window", "-2");
}

static void test_doc_q_without_doc_k(void **state) {
    fixture *f = *state;
    f->problem.doc_q.data = f->doc_q;
    assert_invalid(&f->problem, "doc_q", "doc_k");
}

static void test_struct_size_too_small(void **state) {
    problem_of(state)->struct_size = 16;
    assert_invalid(problem_of(state), "struct_size");
}

static void test_lengths(void **state) {
    attn_problem *p = problem_of(state);
    attn_error err = {0};
    const int32_t q_ok[B] = {TQ}, kv_ok[B] = {0}, q_long[B] = {TQ + 1}, kv_negative[B] = {-1};
    assert_int_equal(attn_problem_validate_lengths(p, q_ok, kv_ok, NULL, &err), ATTN_OK);
    assert_int_equal(attn_problem_validate_lengths(p, NULL, NULL, NULL, &err), ATTN_OK);
    assert_int_equal(attn_problem_validate_lengths(p, q_long, NULL, NULL, &err), ATTN_E_INVALID);
    assert_contains(err.message, "q_len");
    assert_contains(err.message, "4"); /* the offending value */
    assert_int_equal(attn_problem_validate_lengths(p, NULL, kv_negative, NULL, &err), ATTN_E_INVALID);
    assert_contains(err.message, "kv_len");
    assert_contains(err.message, "-1");
}

#define CASE(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        CASE(test_valid),           CASE(test_null_q),          CASE(test_rank3_q),
        CASE(test_mismatched_dtype), CASE(test_int_dtype),      CASE(test_heads_not_divisible),
        CASE(test_negative_stride), CASE(test_stride_overflow), CASE(test_byte_size_overflow),
        CASE(test_shape_overflow), CASE(test_o_aliases_q),
        CASE(test_lse_aliases_k),   CASE(test_lse_dtype),       CASE(test_dropout_one),
        CASE(test_dropout_negative), CASE(test_dropout_nan),    CASE(test_softcap_zero),
        CASE(test_alibi_without_slopes), CASE(test_unknown_modifier), CASE(test_window_left_minus_two),
        CASE(test_doc_q_without_doc_k), CASE(test_struct_size_too_small), CASE(test_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
