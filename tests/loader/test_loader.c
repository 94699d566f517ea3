/* attn_backend_open on real files that fail in one way each: the status must say what
 * class of failure it is and the message must name the file and the reason in full
 * (DESIGN.md lesson 7: the dlerror() text, the missing symbol, both ABI versions). */
#include <attn/host/attn_host.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_support.h"

/* Opens path expecting `status`; the message must name the file.  Returns the message. */
static const char *open_fails(const char *path, const attn_option *options, uint32_t option_count,
                              attn_status status, attn_error *err) {
    attn_backend *backend = (attn_backend *)1; /* must be reset to NULL on failure */
    memset(err, 0, sizeof *err);
    attn_status st = attn_backend_open("under-test", path, options, option_count, &backend, err);
    if (st != status)
        print_error("%s: status %d (%s), expected %d (%s); message \"%s\"\n", path, st, attn_status_name(st), status,
                    attn_status_name(status), err->message);
    assert_int_equal(st, status);
    assert_int_equal(err->status, status);
    assert_null(backend);
    assert_contains(err->message, path);
    return err->message;
}

/* The dlerror() text dlopen gives for path, so the test does not hard-code glibc's words. */
static void dlopen_error(const char *path, char *out, size_t cap) {
    dlerror();
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    assert_null(handle);
    const char *why = dlerror();
    assert_non_null(why);
    snprintf(out, cap, "%s", why);
}

static void test_missing_file(void **state) {
    (void)state;
    const char *path = TEST_BINARY_DIR "/no-such-dir/libattn_nothing.so";
    char why[1024];
    dlopen_error(path, why, sizeof why);
    attn_error err;
    const char *message = open_fails(path, NULL, 0, ATTN_E_LOAD, &err);
    assert_contains(message, why);
}

static void test_not_an_elf(void **state) {
    (void)state;
    /* Written at test time: a text file with a .so name. */
    const char *path = TEST_BINARY_DIR "/not_a_plugin.so";
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs("this is a text file, not a shared object\n", file);
    fclose(file);
    char why[1024];
    dlopen_error(path, why, sizeof why);
    attn_error err;
    const char *message = open_fails(path, NULL, 0, ATTN_E_LOAD, &err);
    assert_contains(message, why);
    remove(path);
}

static void test_no_entry_symbol(void **state) {
    (void)state;
    attn_error err;
    const char *message = open_fails(FAKE_NO_ENTRY_PATH, NULL, 0, ATTN_E_LOAD, &err);
    assert_contains(message, "attn_plugin_query");
}

static void test_abi_too_old(void **state) {
    (void)state;
    attn_error err;
    const char *message = open_fails(FAKE_ABI_OLD_PATH, NULL, 0, ATTN_E_ABI, &err);
    assert_contains(message, "0.9"); /* the plugin's */
    assert_contains(message, "1.0"); /* the host's */
}

static void test_abi_too_new(void **state) {
    (void)state;
    attn_error err;
    const char *message = open_fails(FAKE_ABI_NEW_PATH, NULL, 0, ATTN_E_ABI, &err);
    assert_contains(message, "2.0");
    assert_contains(message, "1.0");
}

/* The entry's own status comes through (UNAVAILABLE lets the matrix show SKIP), with its reason. */
static void test_entry_error(void **state) {
    (void)state;
    attn_error err;
    const char *message = open_fails(FAKE_ENTRY_ERROR_PATH, NULL, 0, ATTN_E_UNAVAILABLE, &err);
    assert_contains(message, "the licence server is unreachable");
}

static void test_create_refuses_option(void **state) {
    (void)state;
    const attn_option options[2] = {{"threads", "2"}, {"colour", "blue"}};
    attn_error err;
    const char *message = open_fails(FAKE_CREATE_OPTION_PATH, options, 2, ATTN_E_INVALID, &err);
    assert_contains(message, "colour");
}

static void test_create_accepts_known_option(void **state) {
    (void)state;
    const attn_option options[1] = {{"threads", "2"}};
    attn_backend *backend = NULL;
    attn_error err = {0};
    attn_status st = attn_backend_open("fake", FAKE_CREATE_OPTION_PATH, options, 1, &backend, &err);
    if (st != ATTN_OK) print_error("%s\n", err.message);
    assert_int_equal(st, ATTN_OK);
    assert_non_null(backend);
    attn_backend_close(backend);
}

static void test_create_unavailable(void **state) {
    (void)state;
    attn_error err;
    const char *message = open_fails(FAKE_CREATE_UNAVAILABLE_PATH, NULL, 0, ATTN_E_UNAVAILABLE, &err);
    assert_contains(message, "no device");
}

static void test_null_required_entry(void **state) {
    (void)state;
    attn_error err;
    const char *message = open_fails(FAKE_NULL_RUN_PATH, NULL, 0, ATTN_E_ABI, &err);
    assert_contains(message, "'run'");
}

/* The reference loads; its table names it; the display name is the caller's. */
static void test_sdpa_ref_loads(void **state) {
    (void)state;
    attn_backend *backend = NULL;
    attn_error err = {0};
    attn_status st = attn_backend_open("my-reference", SDPA_REF_PATH, NULL, 0, &backend, &err);
    if (st != ATTN_OK) print_error("%s\n", err.message);
    assert_int_equal(st, ATTN_OK);
    assert_string_equal(attn_backend_api(backend)->name, "sdpa-ref");
    assert_string_equal(attn_backend_name(backend), "my-reference");
    assert_int_equal(attn_backend_abi_version(backend), ATTN_ABI_VERSION);
    DLDevice device;
    assert_int_equal(attn_backend_device(backend, &device, &err), ATTN_OK);
    assert_int_equal(device.device_type, kDLCPU);
    attn_backend_close(backend);
}

static void test_sdpa_ref_refuses_unknown_option(void **state) {
    (void)state;
    const attn_option options[1] = {{"tile_size", "64"}};
    attn_error err;
    const char *message = open_fails(SDPA_REF_PATH, options, 1, ATTN_E_INVALID, &err);
    assert_contains(message, "tile_size");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_file),          cmocka_unit_test(test_not_an_elf),
        cmocka_unit_test(test_no_entry_symbol),       cmocka_unit_test(test_abi_too_old),
        cmocka_unit_test(test_abi_too_new),           cmocka_unit_test(test_entry_error),
        cmocka_unit_test(test_create_refuses_option), cmocka_unit_test(test_create_accepts_known_option),
        cmocka_unit_test(test_create_unavailable),    cmocka_unit_test(test_null_required_entry),
        cmocka_unit_test(test_sdpa_ref_loads),        cmocka_unit_test(test_sdpa_ref_refuses_unknown_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
