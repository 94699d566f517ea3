/* The rule that turns a row's instance outcomes into one cell (tools/attnmatrix/cell_verdict.c):
 * what PASS, PARTIAL, UNSUPPORTED, N/A, FAIL, SKIP, CRASH and TIMEOUT mean in the table. */
#include "matrix.h"
#include "test_support.h"

/* The verdict of a cell with `pass` passes, `fail` failures, `unsupported` and `na` refusals. */
static enum cell_status verdict(uint32_t pass, uint32_t fail, uint32_t unsupported, uint32_t na) {
    uint32_t counts[OUT_COUNT] = {0};
    counts[OUT_PASS] = pass;
    counts[OUT_FAIL] = fail;
    counts[OUT_UNSUPPORTED] = unsupported;
    counts[OUT_NOT_APPLICABLE] = na;
    return cell_verdict(counts);
}

static void test_pass_needs_every_instance(void **state) {
    (void)state;
    assert_int_equal(verdict(12, 0, 0, 0), CELL_PASS);
    assert_int_equal(verdict(11, 1, 0, 0), CELL_FAIL); /* one failure fails the cell */
    assert_int_equal(verdict(0, 0, 0, 0), CELL_EMPTY);
}

static void test_refusals_beside_passes_are_partial(void **state) {
    (void)state;
    assert_int_equal(verdict(3, 0, 9, 0), CELL_PARTIAL);
    assert_int_equal(verdict(3, 0, 0, 9), CELL_PARTIAL);
    assert_int_equal(verdict(3, 0, 4, 5), CELL_PARTIAL);
    assert_int_equal(verdict(3, 1, 4, 0), CELL_FAIL); /* a failure outranks refusals */
}

static void test_refusals_alone(void **state) {
    (void)state;
    assert_int_equal(verdict(0, 0, 12, 0), CELL_UNSUPPORTED);
    assert_int_equal(verdict(0, 0, 0, 12), CELL_NA);
    assert_int_equal(verdict(0, 0, 1, 11), CELL_UNSUPPORTED); /* N/A only when every instance is */
}

static void test_skip_crash_timeout(void **state) {
    (void)state;
    uint32_t counts[OUT_COUNT] = {0};
    counts[OUT_SKIP] = 12;
    assert_int_equal(cell_verdict(counts), CELL_SKIP);
    memset(counts, 0, sizeof counts);
    counts[OUT_PASS] = 5;
    counts[OUT_CRASH] = 1;
    counts[OUT_TIMEOUT] = 1;
    assert_int_equal(cell_verdict(counts), CELL_CRASH);
    counts[OUT_CRASH] = 0;
    assert_int_equal(cell_verdict(counts), CELL_TIMEOUT);
    counts[OUT_FAIL] = 1; /* a hang is worse news than a wrong value: TIMEOUT still */
    assert_int_equal(cell_verdict(counts), CELL_TIMEOUT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass_needs_every_instance),
        cmocka_unit_test(test_refusals_beside_passes_are_partial),
        cmocka_unit_test(test_refusals_alone),
        cmocka_unit_test(test_skip_crash_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
