/* Philox4x32-10 and the dropout decision of SPEC.md ("Dropout, reproducible across
 * backends").  Every backend compiles attn_philox.h, so a wrong word here would make all of
 * them agree with each other and still disagree with PyTorch/Random123. */
#include <attn/plugin/attn_philox.h>
#include <math.h>

#include "test_support.h"

static void check_words(const uint32_t counter[4], const uint32_t key[2], const uint32_t expected[4]) {
    uint32_t out[4];
    attn_philox4x32_10(counter, key, out);
    for (int n = 0; n < 4; ++n) {
        if (out[n] != expected[n]) print_error("word %d: 0x%08x, expected 0x%08x\n", n, out[n], expected[n]);
        assert_int_equal(out[n], expected[n]);
    }
}

/* The two known answers SPEC.md quotes (Random123's kat_vectors). */
static void test_known_answer_zero(void **state) {
    (void)state;
    const uint32_t counter[4] = {0, 0, 0, 0}, key[2] = {0, 0};
    const uint32_t expected[4] = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
    check_words(counter, key, expected);
}

static void test_known_answer_ones(void **state) {
    (void)state;
    const uint32_t counter[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    const uint32_t key[2] = {0xffffffffu, 0xffffffffu};
    const uint32_t expected[4] = {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu};
    check_words(counter, key, expected);
}

/* threshold = floor(p * 2^32), saturated to 2^32 - 1. */
static void test_threshold(void **state) {
    (void)state;
    assert_int_equal(attn_dropout_threshold(0.0f), 0u);
    assert_int_equal(attn_dropout_threshold(0.5f), 0x80000000u);
    assert_int_equal(attn_dropout_threshold(0.25f), 0x40000000u);
    /* floor, not round: 1e-10 * 2^32 = 0.43 */
    assert_int_equal(attn_dropout_threshold(1e-10f), 0u);
    assert_int_equal(attn_dropout_threshold(ldexpf(1.0f, -32)), 1u);
    /* The largest float below 1 is 1 - 2^-24: floor gives 2^32 - 2^8 exactly, not a rounded
     * or wrapped value.  No float p < 1 reaches 2^32 - 1, so saturation only shows at p >= 1,
     * which validation refuses but the function must still not wrap to 0 for. */
    assert_int_equal(attn_dropout_threshold(nextafterf(1.0f, 0.0f)), 0xffffff00u);
    assert_int_equal(attn_dropout_threshold(1.0f), 0xffffffffu);
    assert_int_equal(attn_dropout_threshold(2.0f), 0xffffffffu);
}

/* The decision is Philox on counter (j, pos, h + Hq*b, offset), key (seed lo, seed hi),
 * first word compared with the threshold. */
static int manual_keep(uint64_t seed, uint32_t offset, uint32_t b, uint32_t h, uint32_t hq, uint32_t pos, uint32_t j,
                       uint32_t threshold, uint32_t *first_word) {
    const uint32_t counter[4] = {j, pos, h + hq * b, offset};
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t out[4];
    attn_philox4x32_10(counter, key, out);
    *first_word = out[0];
    return out[0] >= threshold;
}

static void test_keep_matches_manual(void **state) {
    (void)state;
    const uint64_t seeds[] = {0, 42, 0x0123456789abcdefull, 0xffffffffffffffffull};
    const uint32_t threshold = attn_dropout_threshold(0.3f);
    int kept = 0, total = 0;
    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; ++s)
        for (int64_t b = 0; b < 3; ++b)
            for (int64_t h = 0; h < 4; ++h)
                for (int64_t pos = -3; pos < 7; ++pos) /* negative pos wraps modulo 2^32 */
                    for (int64_t j = 0; j < 9; ++j) {
                        uint32_t word;
                        int expected = manual_keep(seeds[s], 7u, (uint32_t)b, (uint32_t)h, 4u, (uint32_t)pos,
                                                   (uint32_t)j, threshold, &word);
                        int got = attn_dropout_keep(seeds[s], 7u, b, h, 4, pos, j, threshold);
                        if (got != expected)
                            print_error("seed %llx b %lld h %lld pos %lld j %lld: keep %d, expected %d\n",
                                        (unsigned long long)seeds[s], (long long)b, (long long)h, (long long)pos,
                                        (long long)j, got, expected);
                        assert_int_equal(got, expected);
                        kept += got;
                        ++total;
                    }
    /* A sanity check that the words are spread out: about 70% kept. */
    assert_in_range((unsigned)(kept * 100 / total), 65, 75);
}

/* pos = -1 must be the counter word 0xffffffff, not a clamp to 0. */
static void test_negative_pos_wraps(void **state) {
    (void)state;
    uint32_t word_wrapped, word_zero;
    (void)manual_keep(99, 0, 1, 2, 8, 0xffffffffu, 5, 0, &word_wrapped);
    (void)manual_keep(99, 0, 1, 2, 8, 0u, 5, 0, &word_zero);
    assert_int_not_equal(word_wrapped, word_zero);
    /* Keep is ">= threshold": the first word itself is kept, one more is dropped. */
    assert_int_equal(attn_dropout_keep(99, 0, 1, 2, 8, -1, 5, word_wrapped), 1);
    assert_true(word_wrapped != 0xffffffffu);
    assert_int_equal(attn_dropout_keep(99, 0, 1, 2, 8, -1, 5, word_wrapped + 1u), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer_zero), cmocka_unit_test(test_known_answer_ones),
        cmocka_unit_test(test_threshold),         cmocka_unit_test(test_keep_matches_manual),
        cmocka_unit_test(test_negative_pos_wraps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
