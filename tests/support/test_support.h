/* Small assertions the cmocka tests share: cmocka has no "string contains", and a failed
 * message check is only useful when it prints the whole message it looked at. */
#ifndef ATTN_TEST_SUPPORT_H
#define ATTN_TEST_SUPPORT_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* Fails (printing both strings) unless `needle` occurs in `haystack`. */
#define assert_contains(haystack, needle) assert_contains_at((haystack), (needle), __FILE__, __LINE__)

static inline void assert_contains_at(const char *haystack, const char *needle, const char *file, int line) {
    if (haystack && needle && strstr(haystack, needle)) return;
    print_error("%s:%d: expected \"%s\" in \"%s\"\n", file, line, needle ? needle : "(null)",
                haystack ? haystack : "(null)");
    _fail(file, line);
}

/* |actual - expected| <= tolerance, printed with full precision on failure. */
#define assert_close(actual, expected, tolerance) \
    assert_close_at((double)(actual), (double)(expected), (double)(tolerance), __FILE__, __LINE__)

static inline void assert_close_at(double actual, double expected, double tolerance, const char *file, int line) {
    if (fabs(actual - expected) <= tolerance) return;
    print_error("%s:%d: %.10g is not within %.3g of %.10g\n", file, line, actual, tolerance, expected);
    _fail(file, line);
}

#endif
