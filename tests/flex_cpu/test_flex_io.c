/* flex-cpu's data movement (fcpu_io.c): the 16 x 16 transpose of the K^T preparation, on
 * strided rows, and the dtype conversions of loads and stores. */
#include <attn/plugin/attn_dtype.h>

#include "fcpu_io.h"
#include "fcpu_plan.h"
#include "test_support.h"

static void transpose_16x16(void **state) {
    (void)state;
    float src[16 * 20], dst[16 * 24];
    for (int n = 0; n < 16 * 20; ++n) src[n] = (float)n;
    for (int n = 0; n < 16 * 24; ++n) dst[n] = -1.0f;
    fcpu_transpose16_f32(src + 2, 20, dst + 1, 24); /* strided on both sides */
    for (int r = 0; r < 16; ++r)
        for (int c = 0; c < 16; ++c) assert_true(dst[1 + c * 24 + r] == src[2 + r * 20 + c]);
    assert_true(dst[0] == -1.0f && dst[17] == -1.0f); /* nothing outside the block written */
}

static void load_and_store_convert(void **state) {
    (void)state;
    const float values[4] = {1.0f, -2.5f, 65504.0f, 1e-3f};
    uint16_t half[8], bf[4];
    for (int n = 0; n < 4; ++n) half[2 * n] = attn_f32_to_f16(values[n]), bf[n] = attn_f32_to_bf16(values[n]);
    float out[4];
    fcpu_load_row((const char *)half, 2, 4, FCPU_DT_F16, FCPU_CDT_F32, out); /* element stride 2 */
    for (int n = 0; n < 4; ++n) assert_true(out[n] == attn_f16_to_f32(half[2 * n]));
    uint16_t same[4];
    fcpu_load_row((const char *)bf, 1, 4, FCPU_DT_BF16, FCPU_CDT_BF16, same);
    assert_memory_equal(same, bf, sizeof bf);
    uint16_t stored[4];
    fcpu_store_row(values, 2.0f, 4, FCPU_DT_BF16, (char *)stored, 1);
    for (int n = 0; n < 4; ++n) assert_true(stored[n] == attn_f32_to_bf16(values[n] * 2.0f));
    fcpu_store_row(NULL, 0.0f, 4, FCPU_DT_BF16, (char *)stored, 1); /* mul 0: exact zeros, src unread */
    for (int n = 0; n < 4; ++n) assert_int_equal(stored[n], 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(transpose_16x16), cmocka_unit_test(load_and_store_convert)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
