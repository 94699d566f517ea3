/* attn_tool_escape (tools/common/text_escape.c): text from plugins and files cannot forge a
 * table row or send control codes to the terminal. */
#include "test_support.h"
#include "text_escape.h"

static void test_controls_are_shown_not_sent(void **state) {
    (void)state;
    char out[64];
    assert_string_equal(attn_tool_escape("a\nb\r\x1b[2Jc\x7f", 0, out, sizeof out), "a\\x0ab\\x0d\\x1b[2Jc\\x7f");
    assert_string_equal(attn_tool_escape("plain | text", 0, out, sizeof out), "plain | text");
}

static void test_pipes_in_a_table_cell(void **state) {
    (void)state;
    char out[64];
    assert_string_equal(attn_tool_escape("evil| PASS |", 1, out, sizeof out), "evil\\| PASS \\|");
}

static void test_cut_to_fit_never_half_an_escape(void **state) {
    (void)state;
    char out[6];
    assert_string_equal(attn_tool_escape("ab\ncd", 0, out, sizeof out), "ab"); /* "\x0a" needs 4 more */
    assert_string_equal(attn_tool_escape("abcdefgh", 0, out, sizeof out), "abcde");
    assert_string_equal(attn_tool_escape(NULL, 1, out, sizeof out), "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_controls_are_shown_not_sent),
        cmocka_unit_test(test_pipes_in_a_table_cell),
        cmocka_unit_test(test_cut_to_fit_never_half_an_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
