/* attn_plugin_resolve: where a config's `plugin:` value points (attn_host.h).  Bare names
 * are searched in $ATTN_PLUGIN_PATH, then <exe>/../plugins, then the install folder; names
 * with a '/' are paths relative to the config's folder.  Resolution only looks for a file,
 * so probe files here are empty files with plugin names. */
#include <attn/host/attn_host.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "test_support.h"

#define PROBE_DIR_A TEST_BINARY_DIR "/resolve_a"
#define PROBE_DIR_B TEST_BINARY_DIR "/resolve_b"

static void touch(const char *path) {
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fclose(file);
}

static int setup(void **state) {
    (void)state;
    mkdir(PROBE_DIR_A, 0755);
    mkdir(PROBE_DIR_B, 0755);
    touch(PROBE_DIR_A "/libattn_probe.so");
    touch(PROBE_DIR_B "/libattn_probe.so");
    touch(PROBE_DIR_B "/attn_only_in_b.so");
    /* Same file name as a test plugin that <exe>/../plugins also holds: the search path wins. */
    touch(PROBE_DIR_B "/libattn_fake_abi_old.so");
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unsetenv("ATTN_PLUGIN_PATH");
    return 0;
}

/* Resolves and compares canonical paths (the resolver may keep "..", "./" or "//"). */
static void assert_resolves(const char *plugin, const char *config_dir, const char *expected) {
    char out[PATH_MAX], got_real[PATH_MAX], expected_real[PATH_MAX];
    attn_error err = {0};
    attn_status st = attn_plugin_resolve(plugin, config_dir, out, sizeof out, &err);
    if (st != ATTN_OK) print_error("resolving %s: %s\n", plugin, err.message);
    assert_int_equal(st, ATTN_OK);
    assert_non_null(realpath(out, got_real));
    assert_non_null(realpath(expected, expected_real));
    if (strcmp(got_real, expected_real) != 0) print_error("%s resolved to %s, expected %s\n", plugin, out, expected);
    assert_string_equal(got_real, expected_real);
}

static void test_bare_name_from_search_path(void **state) {
    (void)state;
    setenv("ATTN_PLUGIN_PATH", TEST_BINARY_DIR "/no-such-dir:" PROBE_DIR_A ":" PROBE_DIR_B, 1);
    assert_resolves("attn_probe", NULL, PROBE_DIR_A "/libattn_probe.so");   /* first directory wins */
    assert_resolves("libattn_probe.so", NULL, PROBE_DIR_A "/libattn_probe.so"); /* the file name itself */
    assert_resolves("attn_only_in_b", NULL, PROBE_DIR_B "/attn_only_in_b.so");  /* NAME.so */
    assert_resolves("attn_fake_abi_old", NULL, PROBE_DIR_B "/libattn_fake_abi_old.so");
}

/* With no search path, a bare name is found next to the executable: this test runs from
 * build/tests/loader, and its ../plugins is where the test plugins are built. */
static void test_bare_name_next_to_executable(void **state) {
    (void)state;
    unsetenv("ATTN_PLUGIN_PATH");
    assert_resolves("attn_fake_abi_old", NULL, FAKE_ABI_OLD_PATH);
}

static void test_relative_path_against_config_dir(void **state) {
    (void)state;
    setenv("ATTN_PLUGIN_PATH", PROBE_DIR_A, 1); /* must not be consulted for a path */
    assert_resolves("resolve_b/libattn_probe.so", TEST_BINARY_DIR, PROBE_DIR_B "/libattn_probe.so");
    assert_resolves("./resolve_b/attn_only_in_b.so", TEST_BINARY_DIR, PROBE_DIR_B "/attn_only_in_b.so");
    assert_resolves("../loader/resolve_a/libattn_probe.so", TEST_BINARY_DIR, PROBE_DIR_A "/libattn_probe.so");
    /* An absolute path ignores the config's folder. */
    assert_resolves(PROBE_DIR_B "/libattn_probe.so", "/nonexistent", PROBE_DIR_B "/libattn_probe.so");
}

static void test_missing_relative_path(void **state) {
    (void)state;
    char out[PATH_MAX];
    attn_error err = {0};
    attn_status st = attn_plugin_resolve("resolve_b/libattn_nothing.so", TEST_BINARY_DIR, out, sizeof out, &err);
    assert_int_not_equal(st, ATTN_OK);
    assert_contains(err.message, TEST_BINARY_DIR "/resolve_b/libattn_nothing.so");
}

static void test_missing_bare_name_lists_directories(void **state) {
    (void)state;
    setenv("ATTN_PLUGIN_PATH", PROBE_DIR_A ":" PROBE_DIR_B, 1);
    char out[PATH_MAX];
    attn_error err = {0};
    attn_status st = attn_plugin_resolve("attn_nothing_here", NULL, out, sizeof out, &err);
    assert_int_not_equal(st, ATTN_OK);
    assert_int_equal(err.status, st);
    assert_contains(err.message, "attn_nothing_here");
    assert_contains(err.message, PROBE_DIR_A);
    assert_contains(err.message, PROBE_DIR_B);
    assert_contains(err.message, "../plugins");          /* next to the executable */
    assert_contains(err.message, ATTN_INSTALL_PLUGIN_DIR); /* installed */
}

/* attn_plugin_search_dirs: the order resolution and attninfo share. */
typedef struct visited {
    char dirs[8][PATH_MAX];
    char origins[8][64];
    int count;
} visited;

static void remember(const char *dir, const char *origin, void *context) {
    visited *v = context;
    if (v->count >= 8) return;
    snprintf(v->dirs[v->count], sizeof v->dirs[0], "%s", dir);
    snprintf(v->origins[v->count], sizeof v->origins[0], "%s", origin);
    v->count++;
}

static void test_search_dirs_in_order(void **state) {
    (void)state;
    setenv("ATTN_PLUGIN_PATH", PROBE_DIR_A "::" PROBE_DIR_B, 1); /* an empty entry is skipped */
    visited v = {0};
    attn_plugin_search_dirs(remember, &v);
    assert_true(v.count >= 4);
    assert_string_equal(v.dirs[0], PROBE_DIR_A);
    assert_string_equal(v.origins[0], "ATTN_PLUGIN_PATH");
    assert_string_equal(v.dirs[1], PROBE_DIR_B);
    assert_string_equal(v.origins[2], "next to the executable");
    assert_contains(v.dirs[2], "/../plugins");
    /* libattn of the build tree lives in <build>/core: its plugin folder is <build>/core/attn/plugins. */
    assert_string_equal(v.origins[3], "next to libattn");
    assert_contains(v.dirs[3], "/core/attn/plugins");
    assert_string_equal(v.origins[v.count - 1], "install prefix");
    assert_string_equal(v.dirs[v.count - 1], ATTN_INSTALL_PLUGIN_DIR);
}

#define CASE(fn) cmocka_unit_test_teardown(fn, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        CASE(test_bare_name_from_search_path),      CASE(test_bare_name_next_to_executable),
        CASE(test_relative_path_against_config_dir), CASE(test_missing_relative_path),
        CASE(test_missing_bare_name_lists_directories), CASE(test_search_dirs_in_order),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
