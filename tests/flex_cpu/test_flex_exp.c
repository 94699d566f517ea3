/* The exp of flex-cpu's softmax (fcpu_softmax.c), a polynomial of its own so that the row
 * loops vectorise: within 2 float32 units of exp over the range softmax uses (x <= 0), in
 * the scalar form and in the vector kernel the CPU picked, exactly 0 for -inf (a masked
 * score), and 1 at 0 (the row's maximum). */
#include <float.h>
#include <stdlib.h>

#include "fcpu_softmax.h"
#include "test_support.h"

#define COUNT (87 * 1024 + 5) /* not a multiple of 16: the vector loop's tail runs too */

static double units_off(double got, double x) {
    double want = exp(x);
    return fabs(got - want) / (want * FLT_EPSILON);
}

static void accuracy(void **state) {
    (void)state;
    float *x = malloc(sizeof(float) * COUNT), *y = malloc(sizeof(float) * COUNT);
    assert_non_null(x);
    assert_non_null(y);
    for (int n = 0; n < COUNT; ++n) x[n] = -87.0f + 87.0f * (float)n / (float)(COUNT - 1);
    double sum = fcpu_exp_row(x, COUNT, 0.0f, y), want_sum = 0.0, worst_scalar = 0.0, worst_vector = 0.0;
    for (int n = 0; n < COUNT; ++n) {
        double s = units_off(fcpu_exp_nonpositive(x[n]), (double)x[n]), v = units_off(y[n], (double)x[n]);
        worst_scalar = s > worst_scalar ? s : worst_scalar;
        worst_vector = v > worst_vector ? v : worst_vector;
        want_sum += exp((double)x[n]);
    }
    print_message("worst error: scalar %.2f, vector %.2f float32 units\n", worst_scalar, worst_vector);
    assert_true(worst_scalar <= 2.0);
    assert_true(worst_vector <= 2.0);
    assert_close(sum, want_sum, want_sum * 1e-5);
    free(x);
    free(y);
}

static void special_values(void **state) {
    (void)state;
    assert_true(fcpu_exp_nonpositive(0.0f) == 1.0f);
    assert_true(fcpu_exp_nonpositive(-INFINITY) == 0.0f);
    assert_true(fcpu_exp_nonpositive(-1e4f) == 0.0f);
    assert_true(fcpu_exp_nonpositive(-88.0f) == 0.0f); /* flushed: exp(-88) = 6e-39 is subnormal */
    assert_true(fcpu_exp_nonpositive(-86.9f) > 0.0f);
    float s[32], out[32];
    for (int n = 0; n < 32; ++n) s[n] = n % 2 ? -INFINITY : 3.0f; /* masked and maximal scores */
    float sum = fcpu_exp_row(s, 32, 3.0f, out);
    for (int n = 0; n < 32; ++n) assert_true(out[n] == (n % 2 ? 0.0f : 1.0f));
    assert_true(sum == 16.0f);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(accuracy), cmocka_unit_test(special_values)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
