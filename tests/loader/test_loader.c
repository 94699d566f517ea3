/* attn_backend_open on real files that fail in one way each: the status must say what
 * class of failure it is and the message must name the file and the reason in full
 * (DESIGN.md lesson 7: the dlerror() text, the missing symbol, both ABI versions).  Files
 * broken on purpose (a truncated or patched copy of a real plugin) are written at test time.
 * Then plugins that misbehave once loaded: a message without its NUL, a problem's shape and
 * strides written over. */
#include <attn/host/attn_host.h>
#include <dlfcn.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../reference/small_problem.h"
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
    attn_error err;
    const char *message = open_fails(path, NULL, 0, ATTN_E_LOAD, &err);
    assert_contains(message, "not an ELF file");
    remove(path);
}

/* Writes the first `limit` bytes of the file at `from` (all of it when limit is 0) to `to`,
 * then `patch_bytes` bytes of `patch` at `patch_at` (none when patch_bytes is 0). */
static void write_copy(const char *from, const char *to, long limit, long patch_at, const void *patch,
                       size_t patch_bytes) {
    FILE *in = fopen(from, "rb");
    assert_non_null(in);
    FILE *out = fopen(to, "wb");
    assert_non_null(out);
    char block[4096];
    long copied = 0;
    for (size_t got; (limit == 0 || copied < limit) && (got = fread(block, 1, sizeof block, in)) > 0;) {
        size_t keep = limit && (long)got > limit - copied ? (size_t)(limit - copied) : got;
        assert_int_equal(fwrite(block, 1, keep, out), keep);
        copied += (long)keep;
    }
    if (patch_bytes) {
        assert_int_equal(fseek(out, patch_at, SEEK_SET), 0);
        assert_int_equal(fwrite(patch, 1, patch_bytes, out), patch_bytes);
    }
    fclose(in);
    fclose(out);
}

/* A copy cut short (`head -c 3000`) maps, and then used to kill the process with SIGBUS inside
 * dlopen when the loader touched a page past the file's end. */
static void test_truncated_plugin(void **state) {
    (void)state;
    const char *path = TEST_BINARY_DIR "/elf_check_truncated.so";
    write_copy(SDPA_REF_PATH, path, 3000, 0, NULL, 0);
    attn_error err;
    const char *message = open_fails(path, NULL, 0, ATTN_E_LOAD, &err);
    assert_contains(message, "truncated shared object: segment ");
    assert_contains(message, " ends at byte ");
    assert_contains(message, "the file has 3000 bytes");
    remove(path);

    /* Cut inside the ELF header, and inside the program header table. */
    write_copy(SDPA_REF_PATH, path, 40, 0, NULL, 0);
    message = open_fails(path, NULL, 0, ATTN_E_LOAD, &err);
    assert_contains(message, "truncated shared object: the ELF header ends at byte");
    write_copy(SDPA_REF_PATH, path, (long)sizeof(Elf64_Ehdr) + 10, 0, NULL, 0);
    message = open_fails(path, NULL, 0, ATTN_E_LOAD, &err);
    assert_contains(message, "truncated shared object: the program header table ends at byte");
    remove(path);
}

/* Whole copies with one header field changed: each names what this host cannot load. */
static void test_foreign_elf(void **state) {
    (void)state;
    const char *path = TEST_BINARY_DIR "/elf_check_foreign.so";
#if defined(__aarch64__)
    const uint16_t foreign = EM_X86_64;
    const char *foreign_text = "built for x86-64";
#else
    const uint16_t foreign = EM_AARCH64;
    const char *foreign_text = "built for aarch64";
#endif
    const uint16_t executable = ET_EXEC;
    const unsigned char class32 = ELFCLASS32, big_endian = ELFDATA2MSB;
    const struct {
        long at;
        const void *bytes;
        size_t size;
        const char *expected;
    } patches[] = {
        {offsetof(Elf64_Ehdr, e_machine), &foreign, sizeof foreign, foreign_text},
        {offsetof(Elf64_Ehdr, e_type), &executable, sizeof executable, "is not a shared object (ET_DYN"},
        {EI_CLASS, &class32, 1, "ELF class 1 (32-bit), this host loads class 2 (64-bit)"},
        {EI_DATA, &big_endian, 1, "ELF data encoding 2 (big-endian), this host loads 1 (little-endian)"},
    };
    for (size_t n = 0; n < sizeof patches / sizeof patches[0]; ++n) {
        write_copy(SDPA_REF_PATH, path, 0, patches[n].at, patches[n].bytes, patches[n].size);
        attn_error err;
        assert_contains(open_fails(path, NULL, 0, ATTN_E_LOAD, &err), patches[n].expected);
    }
    remove(path);
}

/* A directory or a FIFO where a plugin file is expected: named for what it is, and the FIFO
 * is never opened (reading one would wait for a writer forever). */
static void test_not_a_regular_file(void **state) {
    (void)state;
    attn_error err;
    assert_contains(open_fails(TEST_BINARY_DIR, NULL, 0, ATTN_E_LOAD, &err), "a directory, not a shared object file");
    const char *fifo = TEST_BINARY_DIR "/elf_check_fifo.so";
    remove(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *message = open_fails(fifo, NULL, 0, ATTN_E_LOAD, &err);
    assert_contains(message, "a FIFO");
    assert_contains(message, "not a shared object file");
    remove(fifo);
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

static attn_backend *open_plugin(const char *path, const attn_option *options, uint32_t option_count) {
    attn_backend *backend = NULL;
    attn_error err = {0};
    attn_status st = attn_backend_open("misbehaving", path, options, option_count, &backend, &err);
    if (st != ATTN_OK) print_error("%s\n", err.message);
    assert_int_equal(st, ATTN_OK);
    return backend;
}

/* The host's message: the prefix, then exactly the ATTN_MSG_CAP - 1 bytes of the plugin's buffer
 * that come before the terminator the host puts in its last byte (ASan: no read past it). */
static void assert_unterminated_message(const attn_error *err, attn_status status, const char *prefix) {
    char expected[ATTN_ERROR_CAP];
    int length = snprintf(expected, sizeof expected, "%s", prefix);
    memset(expected + length, 'x', ATTN_MSG_CAP - 1);
    expected[length + ATTN_MSG_CAP - 1] = '\0';
    assert_int_equal(err->status, status);
    assert_string_equal(err->message, expected);
}

static void test_unterminated_plugin_message(void **state) {
    (void)state;
    small_problem s;
    small_init(&s, 1, 1, 1, 2, 2, 4, 4);
    attn_backend *backend = open_plugin(FAKE_UNTERMINATED_MSG_PATH, NULL, 0);
    attn_error err = {0};
    assert_int_equal(attn_backend_check(backend, &s.p, &err), ATTN_E_UNSUPPORTED);
    assert_unterminated_message(&err, ATTN_E_UNSUPPORTED, "misbehaving: check: ");
    assert_int_equal(attn_backend_run(backend, &s.p, &err), ATTN_E_UNSUPPORTED);
    assert_unterminated_message(&err, ATTN_E_UNSUPPORTED, "misbehaving: run: ");
    assert_int_equal(attn_backend_run_prevalidated(backend, &s.p, &err), ATTN_E_UNSUPPORTED);
    assert_unterminated_message(&err, ATTN_E_UNSUPPORTED, "misbehaving: run: ");
    attn_backend_close(backend);
    small_free(&s);

    /* create()'s refusal, on the open path. */
    const attn_option options[1] = {{"colour", "blue"}};
    assert_int_equal(attn_backend_open("misbehaving", FAKE_UNTERMINATED_MSG_PATH, options, 1, &backend, &err),
                     ATTN_E_UNSUPPORTED);
    char prefix[ATTN_ERROR_CAP];
    snprintf(prefix, sizeof prefix, "misbehaving (%s): ", FAKE_UNTERMINATED_MSG_PATH);
    assert_unterminated_message(&err, ATTN_E_UNSUPPORTED, prefix);
}

/* A plugin writes garbage through q's and o's shape and strides (the struct is const, the
 * arrays behind its pointers are not): it writes into the host's copies, so the caller's arrays
 * hold what they held, and the caller can go on using them. */
static void test_plugin_cannot_change_callers_arrays(void **state) {
    (void)state;
    small_problem s;
    small_init(&s, 1, 2, 1, 3, 5, 4, 4);
    small_problem before = s;
    attn_backend *backend = open_plugin(FAKE_SCRIBBLE_ARRAYS_PATH, NULL, 0);
    attn_error err = {0};
    assert_int_equal(attn_backend_check(backend, &s.p, &err), ATTN_OK);
    assert_int_equal(attn_backend_run(backend, &s.p, &err), ATTN_OK);
    assert_int_equal(attn_backend_run_prevalidated(backend, &s.p, &err), ATTN_OK);
    assert_memory_equal(s.shapes, before.shapes, sizeof s.shapes);
    assert_memory_equal(s.strides, before.strides, sizeof s.strides);
    assert_memory_equal(&s.p, &before.p, sizeof s.p);
    attn_backend_close(backend);

    /* What a caller does next with those arrays: a run of the reference on the same problem. */
    backend = open_plugin(SDPA_REF_PATH, NULL, 0);
    attn_status st = attn_backend_run(backend, &s.p, &err);
    if (st != ATTN_OK) print_error("%s\n", err.message);
    assert_int_equal(st, ATTN_OK);
    attn_backend_close(backend);
    small_free(&s);
}

/* attn_backend_enqueue starts a run without waiting for it: it validates like attn_backend_run,
 * hands the plugin's refusal back the same way, and never calls synchronize (the fake's
 * synchronize fails, so attn_backend_run, which waits, reports it and enqueue does not). */
static void test_enqueue_does_not_wait(void **state) {
    (void)state;
    small_problem s;
    small_init(&s, 1, 2, 1, 3, 5, 4, 4);
    attn_backend *backend = open_plugin(FAKE_SYNC_FAILS_PATH, NULL, 0);
    attn_error err = {0};
    assert_int_equal(attn_backend_enqueue(backend, &s.p, &err), ATTN_OK);
    assert_int_equal(attn_backend_run(backend, &s.p, &err), ATTN_E_DEVICE);
    assert_contains(err.message, "synchronize was called");
    assert_int_equal(attn_backend_synchronize(backend, &err), ATTN_E_DEVICE);
    int64_t kept = s.p.o.strides[2];
    s.p.o.strides[2] = 0; /* O's rows on one another: validation refuses it before the plugin runs */
    assert_int_equal(attn_backend_enqueue(backend, &s.p, &err), ATTN_E_INVALID);
    s.p.o.strides[2] = kept;
    attn_backend_close(backend);

    /* On the reference, what enqueue computes is what run computes. */
    for (int64_t n = 0; n < 2 * 3 * 4; ++n) s.q[n] = (float)(n % 7) - 3.0f;
    for (int64_t n = 0; n < 5 * 4; ++n) s.k[n] = s.v[n] = (float)(n % 5) - 2.0f;
    backend = open_plugin(SDPA_REF_PATH, NULL, 0);
    assert_int_equal(attn_backend_enqueue(backend, &s.p, &err), ATTN_OK);
    assert_int_equal(attn_backend_synchronize(backend, &err), ATTN_OK);
    size_t bytes = sizeof(float) * 2 * 3 * 4; /* O: B 1, Hq 2, Tq 3, Dv 4 */
    void *first = malloc(bytes);
    assert_non_null(first);
    memcpy(first, s.p.o.data, bytes);
    assert_int_equal(attn_backend_run(backend, &s.p, &err), ATTN_OK);
    assert_memory_equal(first, s.p.o.data, bytes);
    free(first);
    attn_backend_close(backend);
    small_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_file),          cmocka_unit_test(test_not_an_elf),
        cmocka_unit_test(test_no_entry_symbol),       cmocka_unit_test(test_abi_too_old),
        cmocka_unit_test(test_abi_too_new),           cmocka_unit_test(test_entry_error),
        cmocka_unit_test(test_create_refuses_option), cmocka_unit_test(test_create_accepts_known_option),
        cmocka_unit_test(test_create_unavailable),    cmocka_unit_test(test_null_required_entry),
        cmocka_unit_test(test_sdpa_ref_loads),        cmocka_unit_test(test_sdpa_ref_refuses_unknown_option),
        cmocka_unit_test(test_truncated_plugin),      cmocka_unit_test(test_foreign_elf),
        cmocka_unit_test(test_not_a_regular_file),    cmocka_unit_test(test_unterminated_plugin_message),
        cmocka_unit_test(test_plugin_cannot_change_callers_arrays),
        cmocka_unit_test(test_enqueue_does_not_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
