/* Backend selection (attn_select.h): first capable candidate in priority order, or the pinned
 * one; every rejection keeps its reason.  The candidates are real plugins:
 *   picky      tests/plugins fake in mode HEAD_DIM_64: accepts D <= 64, refuses larger with a reason
 *   nothing    a fake that refuses every problem
 *   reference  sdpa-ref, which accepts every valid problem
 * and the `priority` key of the config gives the order. */
#include <attn/host/attn_config.h>
#include <attn/host/attn_select.h>
#include <stdio.h>
#include <stdlib.h>

#include "../reference/small_problem.h"
#include "test_support.h"

typedef struct fixture {
    attn_backend *picky, *nothing, *reference;
} fixture;

static attn_backend *open_ok(const char *name, const char *path) {
    attn_backend *backend = NULL;
    attn_error err = {0};
    attn_status st = attn_backend_open(name, path, NULL, 0, &backend, &err);
    if (st != ATTN_OK) print_error("%s\n", err.message);
    assert_int_equal(st, ATTN_OK);
    return backend;
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->picky = open_ok("picky", FAKE_HEAD_DIM_64_PATH);
    f->nothing = open_ok("nothing", FAKE_CREATE_OPTION_PATH);
    f->reference = open_ok("reference", SDPA_REF_PATH);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    attn_backend_close(f->picky);
    attn_backend_close(f->nothing);
    attn_backend_close(f->reference);
    free(f);
    return 0;
}

/* The report as attn_selection_report_print writes it. */
static char *printed(const attn_selection_report *report) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    attn_selection_report_print(report, out);
    fclose(out);
    return text;
}

static void test_first_capable_wins(void **state) {
    fixture *f = *state;
    attn_backend *candidates[] = {f->picky, f->reference};
    small_problem s;
    small_init(&s, 1, 2, 1, 3, 7, 32, 32);
    attn_backend *chosen = NULL;
    attn_selection_report report;
    attn_error err = {0};
    assert_int_equal(attn_select(candidates, 2, NULL, &s.p, &chosen, &report, &err), ATTN_OK);
    assert_ptr_equal(chosen, f->picky);
    assert_int_equal(report.chosen, 0);
    assert_int_equal(report.count, 2);
    assert_true(report.entries[0].tried);
    assert_false(report.entries[1].tried); /* never asked: the first one accepted */
    assert_contains(report.entries[1].reason, "'picky' accepted first");
    attn_selection_report_free(&report);
    small_free(&s);
}

static void test_rejection_falls_through_with_reason(void **state) {
    fixture *f = *state;
    attn_backend *candidates[] = {f->picky, f->nothing, f->reference};
    small_problem s;
    small_init(&s, 1, 2, 1, 3, 7, 128, 128);
    attn_backend *chosen = NULL;
    attn_selection_report report;
    attn_error err = {0};
    assert_int_equal(attn_select(candidates, 3, NULL, &s.p, &chosen, &report, &err), ATTN_OK);
    assert_ptr_equal(chosen, f->reference);
    assert_int_equal(report.chosen, 2);
    assert_int_equal(report.entries[0].status, ATTN_E_UNSUPPORTED);
    assert_contains(report.entries[0].reason, "head dim 128 > 64");
    assert_contains(report.entries[1].reason, "computes nothing");
    char *text = printed(&report);
    assert_contains(text, "refused  picky: picky: check: head dim 128 > 64");
    assert_contains(text, "refused  nothing:");
    assert_contains(text, "chosen   reference");
    free(text);
    attn_selection_report_free(&report);
    small_free(&s);
}

static void test_nobody_accepts(void **state) {
    fixture *f = *state;
    attn_backend *candidates[] = {f->picky, f->nothing};
    small_problem s;
    small_init(&s, 1, 2, 1, 3, 7, 128, 128);
    attn_backend *chosen = (attn_backend *)1;
    attn_error err = {0};
    /* No report wanted: the error alone carries every reason. */
    assert_int_equal(attn_select(candidates, 2, NULL, &s.p, &chosen, NULL, &err), ATTN_E_UNSUPPORTED);
    assert_null(chosen);
    assert_contains(err.message, "no backend accepts the problem");
    assert_contains(err.message, "head dim 128 > 64");
    assert_contains(err.message, "computes nothing");
    small_free(&s);
}

static void test_pin_by_display_or_plugin_name(void **state) {
    fixture *f = *state;
    attn_backend *candidates[] = {f->picky, f->nothing, f->reference};
    small_problem s;
    small_init(&s, 1, 2, 1, 3, 7, 32, 32);
    attn_backend *chosen = NULL;
    attn_selection_report report;
    attn_error err = {0};
    /* "sdpa-ref" is the plugin's own name; the display name is "reference". */
    assert_int_equal(attn_select(candidates, 3, "sdpa-ref", &s.p, &chosen, &report, &err), ATTN_OK);
    assert_ptr_equal(chosen, f->reference);
    assert_false(report.entries[0].tried); /* picky would accept, but the pin rules */
    assert_contains(report.entries[0].reason, "pinned to 'sdpa-ref'");
    attn_selection_report_free(&report);
    assert_int_equal(attn_select(candidates, 3, "reference", &s.p, &chosen, NULL, &err), ATTN_OK);
    assert_ptr_equal(chosen, f->reference);
    small_free(&s);
}

/* A pinned backend that refuses is the answer: no silent fallback. */
static void test_pinned_refusal_does_not_fall_back(void **state) {
    fixture *f = *state;
    attn_backend *candidates[] = {f->picky, f->reference};
    small_problem s;
    small_init(&s, 1, 2, 1, 3, 7, 128, 128);
    attn_backend *chosen = NULL;
    attn_selection_report report;
    attn_error err = {0};
    assert_int_equal(attn_select(candidates, 2, "picky", &s.p, &chosen, &report, &err), ATTN_E_UNSUPPORTED);
    assert_null(chosen);
    assert_int_equal(report.chosen, -1);
    assert_contains(err.message, "pinned backend refuses the problem");
    assert_contains(err.message, "head dim 128 > 64");
    assert_false(report.entries[1].tried);
    attn_selection_report_free(&report);
    small_free(&s);
}

static void test_unknown_pin(void **state) {
    fixture *f = *state;
    attn_backend *candidates[] = {f->picky, f->reference};
    small_problem s;
    small_init(&s, 1, 2, 1, 3, 7, 32, 32);
    attn_backend *chosen = NULL;
    attn_error err = {0};
    assert_int_equal(attn_select(candidates, 2, "flex-cuda", &s.p, &chosen, NULL, &err), ATTN_E_CONFIG);
    assert_null(chosen);
    assert_contains(err.message, "'flex-cuda'");
    assert_contains(err.message, "picky, reference");
    small_free(&s);
}

/* An invalid problem is nobody's to refuse: validation answers before any plugin is asked. */
static void test_invalid_problem(void **state) {
    fixture *f = *state;
    attn_backend *candidates[] = {f->reference};
    small_problem s;
    small_init(&s, 1, 3, 2, 3, 7, 32, 32); /* Hq % Hkv != 0 */
    attn_backend *chosen = NULL;
    attn_selection_report report;
    attn_error err = {0};
    assert_int_equal(attn_select(candidates, 1, NULL, &s.p, &chosen, &report, &err), ATTN_E_INVALID);
    assert_null(chosen);
    assert_false(report.entries[0].tried);
    attn_selection_report_free(&report);
    small_free(&s);
}

/* Parses a config naming the three plugins, with `priority_line` appended. */
static attn_status parse(const char *priority_line, attn_config **config, attn_error *err) {
    char text[4096];
    snprintf(text, sizeof text,
             "backends:\n"
             "  - {name: reference, plugin: %s}\n"
             "  - {name: picky, plugin: %s}\n"
             "  - {name: nothing, plugin: %s}\n"
             "%s",
             SDPA_REF_PATH, FAKE_HEAD_DIM_64_PATH, FAKE_CREATE_OPTION_PATH, priority_line);
    return attn_config_parse(text, strlen(text), "select.yaml", NULL, config, err);
}

static void test_config_priority(void **state) {
    (void)state;
    attn_config *config = NULL;
    attn_error err = {0};
    uint32_t order[8];
    attn_status st = parse("priority: [picky, reference]\n", &config, &err);
    if (st != ATTN_OK) print_error("%s\n", err.message);
    assert_int_equal(st, ATTN_OK);
    assert_int_equal(config->priority_count, 2);
    assert_int_equal(attn_config_selection_order(config, order, 8), 2);
    assert_int_equal(order[0], 1); /* picky */
    assert_int_equal(order[1], 0); /* reference; `nothing` is not a candidate */
    attn_config_free(config);

    assert_int_equal(parse("", &config, &err), ATTN_OK);
    assert_int_equal(attn_config_selection_order(config, order, 8), 3); /* config order */
    assert_int_equal(order[0], 0);
    assert_int_equal(order[2], 2);
    attn_config_free(config);
}

static void test_config_priority_errors(void **state) {
    (void)state;
    attn_config *config = NULL;
    attn_error err = {0};
    assert_int_equal(parse("priority: [picky, flex-cuda]\n", &config, &err), ATTN_E_CONFIG);
    assert_null(config);
    assert_contains(err.message, "select.yaml:5:");
    assert_contains(err.message, "'flex-cuda' is not one of the configured backends");
    assert_int_equal(parse("priority: [picky, picky]\n", &config, &err), ATTN_E_CONFIG);
    assert_contains(err.message, "listed twice");
    assert_int_equal(parse("priority: []\n", &config, &err), ATTN_E_CONFIG);
    assert_contains(err.message, "non-empty list");
    assert_int_equal(parse("priorty: [picky]\n", &config, &err), ATTN_E_CONFIG);
    assert_contains(err.message, "did you mean 'priority'");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_capable_wins),        cmocka_unit_test(test_rejection_falls_through_with_reason),
        cmocka_unit_test(test_nobody_accepts),            cmocka_unit_test(test_pin_by_display_or_plugin_name),
        cmocka_unit_test(test_pinned_refusal_does_not_fall_back), cmocka_unit_test(test_unknown_pin),
        cmocka_unit_test(test_invalid_problem),           cmocka_unit_test(test_config_priority),
        cmocka_unit_test(test_config_priority_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
