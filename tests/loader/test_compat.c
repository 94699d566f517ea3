/* ABI compatibility across minor versions (attn_plugin.h "Versioning"):
 *   - a plugin built against ABI 1.0 (a shorter table, stamped 1.0) loads and computes;
 *   - an entry added in 1.1 (describe) is read only when the plugin claims 1.1 or later, its
 *     struct_size covers the entry and the entry is not NULL; otherwise it is "not implemented";
 *   - a plugin of a newer minor loads; one of another major is refused naming both versions. */
#include "attn_case.h"
#include <attn/host/attn_host.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_support.h"

static attn_backend *open_ok(const char *name, const char *path) {
    attn_backend *backend = NULL;
    attn_error err = {0};
    attn_status st = attn_backend_open(name, path, NULL, 0, &backend, &err);
    if (st != ATTN_OK) print_error("%s: %s\n", path, err.message);
    assert_int_equal(st, ATTN_OK);
    assert_non_null(backend);
    return backend;
}

/* describe() must answer "not implemented", with a reason containing `why`. */
static void assert_no_describe(attn_backend *backend, const char *why) {
    char text[256] = "left alone?";
    attn_error err = {0};
    attn_status st = attn_backend_describe(backend, text, sizeof text, &err);
    assert_int_equal(st, ATTN_E_UNSUPPORTED);
    assert_int_equal(err.status, ATTN_E_UNSUPPORTED);
    assert_string_equal(text, "");
    assert_contains(err.message, "no describe()");
    assert_contains(err.message, why);
}

/* A small causal GQA problem with lengths and LSE, in bfloat16 BTHD views of a longer cache. */
static void small_case(attn_case *c) {
    attn_case_defaults(c);
    snprintf(c->row, sizeof c->row, "compat");
    c->dtype = ATTN_DTYPE_BF16;
    c->layout = ATTN_LAYOUT_BTHD;
    c->batch = 2;
    c->q_heads = 4;
    c->kv_heads = 2;
    c->q_len = 5;
    c->kv_len = 33;
    c->kv_cache_len = 40;
    c->head_dim = 16;
    c->value_dim = 16;
    c->want_lse = 1;
    c->data_seed = 7;
    attn_case_label(c, c->name, sizeof c->name);
}

static void test_v1_0_plugin_loads_and_computes(void **state) {
    (void)state;
    attn_backend *compat = open_ok("compat", COMPAT_V1_0_PATH);
    attn_backend *reference = open_ok("reference", SDPA_REF_PATH);
    assert_int_equal(attn_backend_abi_version(compat), ATTN_ABI_MAKE(1, 0));
    assert_string_equal(attn_backend_api(compat)->name, "compat-1.0");
    assert_no_describe(compat, "ABI 1.0");

    attn_case c;
    small_case(&c);
    attn_instance inst;
    attn_error err = {0};
    assert_int_equal(attn_instance_make(&c, &inst, &err), ATTN_OK);
    attn_result got, want;
    attn_status st = attn_instance_execute(compat, &inst, NULL, &got, &err);
    if (st != ATTN_OK) print_error("%s\n", err.message);
    assert_int_equal(st, ATTN_OK);
    assert_int_equal(attn_instance_execute(reference, &inst, NULL, &want, &err), ATTN_OK);
    /* Same arithmetic behind both tables: the results agree exactly, and are finite. */
    assert_non_null(got.lse);
    assert_true(attn_result_max_diff(&inst, &got, &want) == 0.0);
    attn_tolerance tolerance;
    assert_int_equal(attn_tolerance_make(&inst, &tolerance, &err), ATTN_OK);
    attn_verdict verdict;
    attn_compare(&inst, &want, &tolerance, &got, &verdict);
    if (!verdict.pass) print_error("%s\n", verdict.detail);
    assert_true(verdict.pass);
    attn_tolerance_free(&tolerance);
    attn_result_free(&got);
    attn_result_free(&want);
    attn_instance_free(&inst);
    attn_backend_close(compat);
    attn_backend_close(reference);
}

/* ABI 1.1 or later, but describe left NULL: not implemented, and said so. */
static void test_null_entry_is_not_implemented(void **state) {
    (void)state;
    attn_backend *backend = open_ok("fake", FAKE_CREATE_OPTION_PATH);
    assert_int_equal(attn_backend_abi_version(backend), ATTN_ABI_VERSION);
    assert_no_describe(backend, "NULL");
    attn_backend_close(backend);
}

/* Stamped 1.0 with a full table and describe set: a 1.0 plugin promised nothing about that
 * slot, so the host does not call it. */
static void test_entry_beyond_claimed_minor_is_ignored(void **state) {
    (void)state;
    attn_backend *backend = open_ok("fake", FAKE_DESCRIBE_V10_PATH);
    assert_no_describe(backend, "ABI 1.0");
    attn_backend_close(backend);
}

/* The struct_size rule on its own: a table claiming 1.1 whose size stops before describe. */
static void test_short_table_has_no_entry(void **state) {
    (void)state;
    attn_plugin_api table;
    memset(&table, 0, sizeof table);
    table.abi_version = ATTN_ABI_MAKE(1, 1);
    table.describe = (attn_status(*)(void *, char *, uint32_t))1; /* never called */
    table.struct_size = (uint32_t)offsetof(attn_plugin_api, describe);
    assert_false(ATTN_PLUGIN_API_HAS(&table, describe, 1));
    table.struct_size = (uint32_t)sizeof table;
    assert_true(ATTN_PLUGIN_API_HAS(&table, describe, 1));
    table.abi_version = ATTN_ABI_MAKE(1, 0);
    assert_false(ATTN_PLUGIN_API_HAS(&table, describe, 1));
    table.abi_version = ATTN_ABI_MAKE(1, 1);
    table.describe = NULL;
    assert_false(ATTN_PLUGIN_API_HAS(&table, describe, 1));
}

/* A plugin of a newer minor than the host's (built against a future 1.7 header) loads; the
 * host reads only what 1.1 defines. */
static void test_newer_minor_loads(void **state) {
    (void)state;
    attn_backend *backend = open_ok("fake", FAKE_ABI_NEWER_MINOR_PATH);
    assert_int_equal(attn_backend_abi_version(backend), ATTN_ABI_MAKE(1, 7));
    char text[256];
    attn_error err = {0};
    assert_int_equal(attn_backend_describe(backend, text, sizeof text, &err), ATTN_OK);
    assert_string_equal(text, "fake: describes itself");
    attn_backend_close(backend);
}

/* A plugin that needs ABI 2.0 is refused; the message names its version and the host's. */
static void test_newer_major_refused_naming_both(void **state) {
    (void)state;
    attn_backend *backend = NULL;
    attn_error err = {0};
    attn_status st = attn_backend_open("fake", FAKE_ABI_NEW_PATH, NULL, 0, &backend, &err);
    assert_int_equal(st, ATTN_E_ABI);
    assert_null(backend);
    char host[32];
    snprintf(host, sizeof host, "speaks %u.%u", ATTN_ABI_MAJOR, ATTN_ABI_MINOR);
    assert_contains(err.message, "plugin speaks ABI 2.0");
    assert_contains(err.message, host);
}

/* The reference implements 1.1: describe works, and a small buffer is cut, not overrun. */
static void test_reference_describes_itself(void **state) {
    (void)state;
    attn_backend *backend = open_ok("reference", SDPA_REF_PATH);
    char text[2048];
    attn_error err = {0};
    assert_int_equal(attn_backend_describe(backend, text, sizeof text, &err), ATTN_OK);
    assert_contains(text, "dtypes float32 float16 bfloat16");
    char small[8];
    assert_int_equal(attn_backend_describe(backend, small, sizeof small, &err), ATTN_OK);
    assert_int_equal(strlen(small), sizeof small - 1);
    attn_backend_close(backend);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_0_plugin_loads_and_computes), cmocka_unit_test(test_null_entry_is_not_implemented),
        cmocka_unit_test(test_entry_beyond_claimed_minor_is_ignored), cmocka_unit_test(test_short_table_has_no_entry),
        cmocka_unit_test(test_newer_minor_loads),                 cmocka_unit_test(test_newer_major_refused_naming_both),
        cmocka_unit_test(test_reference_describes_itself),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
