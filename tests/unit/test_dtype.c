/* float16 / bfloat16 conversions of attn_dtype.h: round to nearest even, NaN kept NaN.
 * The host rounds inputs with these and every CPU backend stores outputs with them, so a
 * rounding bug would move golden and candidates together and hide itself. */
#include <attn/plugin/attn_dtype.h>
#include <float.h>
#include <math.h>

#include "test_support.h"

/* 2^e exactly. */
static float pow2(int e) { return ldexpf(1.0f, e); }

#define assert_f16(value, bits) assert_bits_at("f16", attn_f32_to_f16(value), (bits), (value), __FILE__, __LINE__)
#define assert_bf16(value, bits) assert_bits_at("bf16", attn_f32_to_bf16(value), (bits), (value), __FILE__, __LINE__)

static void assert_bits_at(const char *what, uint16_t got, uint16_t expected, float input, const char *file, int line) {
    if (got == expected) return;
    print_error("%s:%d: %s(%a = 0x%08x) = 0x%04x, expected 0x%04x\n", file, line, what, (double)input,
                attn_f32_bits(input), got, expected);
    _fail(file, line);
}

static void test_f16_chosen_values(void **state) {
    (void)state;
    assert_f16(1.0f, 0x3c00);
    assert_f16(-2.0f, 0xc000);
    /* Ties between neighbours go to the even mantissa. */
    assert_f16(1.0f + pow2(-11), 0x3c00);               /* between 0x3c00 and 0x3c01 */
    assert_f16(1.0f + 3.0f * pow2(-11), 0x3c02);        /* between 0x3c01 and 0x3c02 */
    assert_f16(1.0f + pow2(-11) + pow2(-20), 0x3c01);   /* just above a tie rounds up */
    assert_f16(1.0f + 3.0f * pow2(-11) - pow2(-20), 0x3c01);
    /* Largest finite is 65504; 65520 is the tie with the next power and rounds to inf. */
    assert_f16(65504.0f, 0x7bff);
    assert_f16(nextafterf(65520.0f, 0.0f), 0x7bff);
    assert_f16(65520.0f, 0x7c00);
    assert_f16(-65520.0f, 0xfc00);
    assert_f16(1e10f, 0x7c00);
    assert_f16(FLT_MAX, 0x7c00);
    assert_f16(INFINITY, 0x7c00);
    assert_f16(-INFINITY, 0xfc00);
    /* Subnormals: unit 2^-24. */
    assert_f16(pow2(-24), 0x0001);
    assert_f16(pow2(-25), 0x0000);                      /* tie with 0: even */
    assert_f16(pow2(-25) + pow2(-40), 0x0001);
    assert_f16(3.0f * pow2(-25), 0x0002);               /* tie between 1 and 2 units */
    assert_f16(1023.0f * pow2(-24), 0x03ff);            /* largest subnormal */
    assert_f16(1023.5f * pow2(-24), 0x0400);            /* tie: rounds up into the normals */
    assert_f16(pow2(-14), 0x0400);                      /* smallest normal */
    assert_f16(-pow2(-24), 0x8001);
    assert_f16(FLT_MIN, 0x0000);                        /* far below: zero */
    assert_f16(-pow2(-26), 0x8000);                     /* a negative underflow keeps its sign */
    /* Signed zero. */
    assert_f16(0.0f, 0x0000);
    assert_f16(-0.0f, 0x8000);
    assert_true(signbit(attn_f16_to_f32(0x8000)));
    /* NaN stays NaN, whatever its payload and sign. */
    assert_true(isnan(attn_f16_to_f32(attn_f32_to_f16(NAN))));
    assert_true(isnan(attn_f16_to_f32(attn_f32_to_f16(attn_bits_f32(0x7f800001u)))));
    assert_true(isnan(attn_f16_to_f32(attn_f32_to_f16(attn_bits_f32(0xffc00000u)))));
    assert_true(isnan(attn_f16_to_f32(0x7c01)));
    assert_true(isinf(attn_f16_to_f32(0x7c00)));
}

static void test_bf16_chosen_values(void **state) {
    (void)state;
    assert_bf16(1.0f, 0x3f80);
    assert_bf16(-1.0f, 0xbf80);
    assert_bf16(1.0f + pow2(-8), 0x3f80);               /* tie: even */
    assert_bf16(1.0f + 3.0f * pow2(-8), 0x3f82);        /* tie: even, upwards */
    assert_bf16(1.0f + pow2(-8) + pow2(-20), 0x3f81);
    /* FLT_MAX lies above the midpoint between bf16's largest finite and inf. */
    assert_bf16(FLT_MAX, 0x7f80);
    assert_bf16(attn_bits_f32(0x7f7f7fffu), 0x7f7f);
    assert_bf16(INFINITY, 0x7f80);
    assert_bf16(-INFINITY, 0xff80);
    /* float32 subnormals round like everything else. */
    assert_bf16(attn_bits_f32(0x00000001u), 0x0000);
    assert_bf16(attn_bits_f32(0x00008000u), 0x0000);    /* tie with 0 */
    assert_bf16(attn_bits_f32(0x00018000u), 0x0002);    /* tie between 1 and 2 */
    assert_bf16(attn_bits_f32(0x00008001u), 0x0001);
    assert_bf16(-0.0f, 0x8000);
    assert_true(signbit(attn_bf16_to_f32(0x8000)));
    /* A NaN whose payload sits only in the low 16 bits must not truncate to inf. */
    assert_true(isnan(attn_bf16_to_f32(attn_f32_to_bf16(attn_bits_f32(0x7f800001u)))));
    assert_true(isnan(attn_bf16_to_f32(attn_f32_to_bf16(attn_bits_f32(0xff800001u)))));
    assert_true(isnan(attn_bf16_to_f32(attn_f32_to_bf16(NAN))));
    /* and NaN never rounds up into the sign bit or to inf. */
    assert_true(isnan(attn_bf16_to_f32(attn_f32_to_bf16(attn_bits_f32(0x7fffffffu)))));
}

static int f16_is_nan(uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0; }
static int bf16_is_nan(uint16_t h) { return (h & 0x7f80u) == 0x7f80u && (h & 0x7fu) != 0; }

/* Every pattern survives the round trip through float (NaNs stay NaN). */
static void test_f16_round_trip_exhaustive(void **state) {
    (void)state;
    for (uint32_t bits = 0; bits <= 0xffffu; ++bits) {
        float wide = attn_f16_to_f32((uint16_t)bits);
        if (f16_is_nan((uint16_t)bits)) {
            assert_true(isnan(wide));
            assert_true(f16_is_nan(attn_f32_to_f16(wide)));
            continue;
        }
        assert_f16(wide, (uint16_t)bits);
    }
}

static void test_bf16_round_trip_exhaustive(void **state) {
    (void)state;
    for (uint32_t bits = 0; bits <= 0xffffu; ++bits) {
        float wide = attn_bf16_to_f32((uint16_t)bits);
        if (bf16_is_nan((uint16_t)bits)) {
            assert_true(isnan(wide));
            assert_true(bf16_is_nan(attn_f32_to_bf16(wide)));
            continue;
        }
        assert_bf16(wide, (uint16_t)bits);
    }
}

/* Exhaustive rounding: for every pair of neighbouring positive values (a, b) of the narrow
 * type, the midpoint goes to the even one and the floats just either side of it go to the
 * nearer one.  Midpoints are exact in float32 (one extra bit).  Negatives mirror through
 * the sign bit.  The last pair is (largest finite, inf), whose midpoint is the overflow
 * threshold. */
static void test_f16_midpoints_exhaustive(void **state) {
    (void)state;
    for (uint32_t bits = 0; bits < 0x7c00u; ++bits) {
        float a = attn_f16_to_f32((uint16_t)bits);
        float b = bits + 1 == 0x7c00u ? 65536.0f : attn_f16_to_f32((uint16_t)(bits + 1));
        float mid = a + (b - a) / 2.0f;
        uint16_t even = (bits & 1u) ? (uint16_t)(bits + 1) : (uint16_t)bits;
        assert_f16(mid, even);
        assert_f16(nextafterf(mid, 0.0f), (uint16_t)bits);
        assert_f16(nextafterf(mid, INFINITY), (uint16_t)(bits + 1));
        assert_f16(-mid, (uint16_t)(even | 0x8000u));
        assert_f16(-nextafterf(mid, 0.0f), (uint16_t)(bits | 0x8000u));
    }
}

static void test_bf16_midpoints_exhaustive(void **state) {
    (void)state;
    for (uint32_t bits = 0; bits < 0x7f80u; ++bits) {
        float a = attn_bf16_to_f32((uint16_t)bits);
        /* The midpoint's bit pattern is exact: a's bits with the next bit below bf16's mantissa set. */
        float mid = attn_bits_f32(((uint32_t)bits << 16) | 0x8000u);
        uint16_t even = (bits & 1u) ? (uint16_t)(bits + 1) : (uint16_t)bits;
        assert_bf16(mid, even);
        assert_bf16(nextafterf(mid, 0.0f), (uint16_t)bits);
        assert_bf16(nextafterf(mid, INFINITY), (uint16_t)(bits + 1));
        assert_bf16(-mid, (uint16_t)(even | 0x8000u));
        assert_true(a <= mid);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_chosen_values),         cmocka_unit_test(test_bf16_chosen_values),
        cmocka_unit_test(test_f16_round_trip_exhaustive), cmocka_unit_test(test_bf16_round_trip_exhaustive),
        cmocka_unit_test(test_f16_midpoints_exhaustive),  cmocka_unit_test(test_bf16_midpoints_exhaustive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
