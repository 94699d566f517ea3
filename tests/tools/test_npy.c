/* The .npy reader and writer of tools/common: round trips over every type, format
 * version and order; NumPy's exact header bytes; and corrupted files, each of which must
 * give its own error and never a crash (run under ASan, out-of-bounds reads would show). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy.h"
#include "test_support.h"

static char temp_dir[64];

static int make_temp_dir(void **state) {
    (void)state;
    snprintf(temp_dir, sizeof temp_dir, "/tmp/attn_npy_XXXXXX");
    return mkdtemp(temp_dir) ? 0 : -1;
}

static int remove_temp_dir(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", temp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void temp_path(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", temp_dir, name); }

static unsigned char *read_bytes(const char *path, size_t *length) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(1 << 16);
    *length = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

/* Values every type holds exactly: small halves (float16, bfloat16) and integers (int32). */
static float exact_value(int32_t type, int64_t n) {
    return type == ATTN_NPY_I4 ? (float)(n * 7 - 40) : (float)(n % 23 - 11) * 0.5f;
}

static void round_trip(int32_t type, int32_t version, int32_t fortran, int32_t ndim, const int64_t *shape) {
    int64_t count = 1;
    for (int32_t d = 0; d < ndim; ++d) count *= shape[d];
    float *values = malloc(sizeof(float) * (size_t)(count ? count : 1));
    for (int64_t n = 0; n < count; ++n) values[n] = exact_value(type, n);

    char path[128];
    temp_path(path, sizeof path, "round_trip.npy");
    attn_npy_write_options options = {type, version, fortran};
    attn_error err = {0};
    attn_status st = attn_npy_write(path, values, ndim, shape, &options, &err);
    if (st != ATTN_OK) fail_msg("write: %s", err.message);

    attn_npy_array array;
    st = attn_npy_read(path, &array, &err);
    if (st != ATTN_OK) fail_msg("read: %s", err.message);
    assert_int_equal(array.ndim, ndim);
    for (int32_t d = 0; d < ndim; ++d) assert_int_equal(array.shape[d], shape[d]);
    assert_int_equal(array.count, count);
    assert_int_equal(array.type, type);
    assert_int_equal(array.version, version ? version : 1);
    assert_int_equal(array.fortran_order, fortran);
    for (int64_t n = 0; n < count; ++n)
        if (array.data[n] != values[n])
            fail_msg("type %d v%d fortran %d: element %lld is %g, wrote %g", type, version, fortran, (long long)n,
                     (double)array.data[n], (double)values[n]);
    attn_npy_free(&array);
    free(values);

    /* NumPy aligns the data to 64 bytes and ends the header with a newline. */
    size_t length;
    unsigned char *bytes = read_bytes(path, &length);
    size_t preamble = (version == 0 || version == 1) ? 10 : 12;
    size_t header_len = (size_t)(bytes[8] | bytes[9] << 8);
    if (preamble == 12) header_len |= (size_t)bytes[10] << 16 | (size_t)bytes[11] << 24;
    assert_int_equal((preamble + header_len) % 64, 0);
    assert_int_equal(bytes[preamble + header_len - 1], '\n');
    free(bytes);
}

static void test_round_trip_all(void **state) {
    (void)state;
    const int64_t shape3[3] = {2, 3, 4}, shape2[2] = {5, 1}, shape1[1] = {7}, empty[2] = {3, 0};
    for (int32_t type = 0; type < ATTN_NPY_TYPE_COUNT; ++type)
        for (int32_t version = 0; version <= 3; ++version)
            for (int32_t fortran = 0; fortran <= 1; ++fortran) {
                round_trip(type, version, fortran, 3, shape3);
                round_trip(type, version, fortran, 2, shape2);
                round_trip(type, version, fortran, 1, shape1);
                round_trip(type, version, fortran, 2, empty);
                round_trip(type, version, fortran, 0, NULL);
            }
}

/* The bytes np.save writes for np.zeros((2, 3), '<f4') (NumPy >= 1.9: 64-byte alignment). */
static void test_header_matches_numpy(void **state) {
    (void)state;
    char path[128];
    temp_path(path, sizeof path, "numpy_header.npy");
    float zeros[6] = {0};
    int64_t shape[2] = {2, 3};
    attn_error err = {0};
    assert_int_equal(attn_npy_write(path, zeros, 2, shape, NULL, &err), ATTN_OK);
    char expected[128];
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    memcpy(expected, "\x93NUMPY\x01\x00\x76\x00", 10);
    memset(expected + 10, ' ', sizeof expected - 10);
    memcpy(expected + 10, dict, strlen(dict));
    expected[127] = '\n';
    size_t length;
    unsigned char *bytes = read_bytes(path, &length);
    assert_int_equal(length, 128 + 24);
    assert_memory_equal(bytes, expected, 128);
    free(bytes);
}

/* A file assembled by hand: the test of the parser does not lean on our own writer. */
static size_t build(unsigned char *out, int major, const char *dict, const void *data, size_t data_len) {
    size_t preamble = major == 1 ? 10 : 12, dict_len = strlen(dict);
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = 0;
    out[8] = (unsigned char)(dict_len & 0xff);
    out[9] = (unsigned char)(dict_len >> 8);
    if (major != 1) out[10] = out[11] = 0;
    memcpy(out + preamble, dict, dict_len);
    memcpy(out + preamble + dict_len, data, data_len);
    return preamble + dict_len + data_len;
}

/* Fortran order from an independent layout: column-major [[1, 2, 3], [4, 5, 6]] is stored
 * 1 4 2 5 3 6; format 2.0, double quotes and no trailing comma, all of which NumPy accepts. */
static void test_fortran_hand_made(void **state) {
    (void)state;
    const float stored[6] = {1, 4, 2, 5, 3, 6};
    unsigned char file[256];
    size_t n = build(file, 2, "{\"descr\": \"<f4\", \"shape\": (2, 3), \"fortran_order\": True}\n", stored, sizeof stored);
    attn_npy_array array;
    attn_error err = {0};
    attn_status st = attn_npy_parse(file, n, "hand.npy", &array, &err);
    if (st != ATTN_OK) fail_msg("%s", err.message);
    for (int k = 0; k < 6; ++k) assert_true(array.data[k] == (float)(k + 1));
    attn_npy_free(&array);
}

typedef struct corrupt_case {
    const char *name;
    int major;
    const char *dict;
    size_t data_len;
    const char *expected;
} corrupt_case;

static const corrupt_case corrupt_cases[] = {
    {"unsupported descr", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16,
     "unsupported descr '<c8'"},
    {"big-endian", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, "unsupported descr '>f4'"},
    {"structured", 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, "structured dtypes"},
    {"missing shape", 1, "{'descr': '<f4', 'fortran_order': False, }", 8, "no key 'shape'"},
    {"unknown key", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", 8,
     "unknown key 'extra'"},
    {"duplicate key", 1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8,
     "duplicate key 'descr'"},
    {"bad bool", 1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", 8, "fortran_order is not True or False"},
    {"negative extent", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 8,
     "shape holds something other than non-negative integers"},
    {"unterminated", 1, "{'descr': '<f4", 0, "unterminated string"},
    {"short data", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20,
     "file shorter than the header says (20 data bytes, shape needs 24)"},
    {"trailing data", 2, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", 12, "4 trailing bytes"},
    {"size overflow", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }", 0,
     "overflows 64 bits"},
    {"byte overflow", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }", 0,
     "overflows 64 bits"},
    {"extent overflow", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 0,
     "shape extent overflows 64 bits"},
    {"too many dims", 1,
     "{'descr': '<f4', 'fortran_order': False, 'shape': "
     "(1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1), }",
     4, "too many dimensions"},
    {"text after dict", 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (), } x", 4, "text after the closing"},
    {"not a dict", 1, "descr: <f4", 0, "does not start with '{'"},
};

static void expect_parse_error(const unsigned char *bytes, size_t length, const char *name, const char *expected) {
    attn_npy_array array;
    attn_error err = {0};
    attn_status st = attn_npy_parse(bytes, length, "bad.npy", &array, &err);
    if (st == ATTN_OK) fail_msg("%s: parsed, expected an error with \"%s\"", name, expected);
    assert_contains(err.message, expected);
    assert_contains(err.message, "bad.npy"); /* every error names the file */
    assert_null(array.data);
}

static void test_corrupt_headers(void **state) {
    (void)state;
    static unsigned char zeros[64];
    unsigned char file[512];
    for (size_t k = 0; k < sizeof corrupt_cases / sizeof corrupt_cases[0]; ++k) {
        const corrupt_case *cc = &corrupt_cases[k];
        size_t n = build(file, cc->major, cc->dict, zeros, cc->data_len);
        expect_parse_error(file, n, cc->name, cc->expected);
    }
}

static void test_corrupt_preamble(void **state) {
    (void)state;
    unsigned char file[256];
    float data[2] = {1, 2};
    size_t n = build(file, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data, sizeof data);
    expect_parse_error(file, 0, "empty", "empty file");
    expect_parse_error(file, 7, "seven bytes", "truncated header (7 bytes)");
    expect_parse_error(file, 9, "nine bytes", "truncated header (9 bytes)");
    expect_parse_error(file, 40, "cut header", "truncated header (says");

    unsigned char copy[256];
    memcpy(copy, file, n);
    copy[0] = 0x92;
    expect_parse_error(copy, n, "bad magic", "not an .npy file (bad magic)");
    memcpy(copy, file, n);
    copy[6] = 4;
    expect_parse_error(copy, n, "version 4", "unsupported format version 4.0");
    memcpy(copy, file, n);
    copy[7] = 1;
    expect_parse_error(copy, n, "version 1.1", "unsupported format version 1.1");
    /* Format 2.0's 4-byte length claiming 4 GiB. */
    n = build(copy, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data, sizeof data);
    copy[11] = 0xff;
    expect_parse_error(copy, n, "huge v2 length", "truncated header (says");
}

static void test_read_missing_file(void **state) {
    (void)state;
    attn_npy_array array;
    attn_error err = {0};
    assert_int_not_equal(attn_npy_read("/nonexistent/dir/x.npy", &array, &err), ATTN_OK);
    assert_contains(err.message, "cannot open /nonexistent/dir/x.npy: ");
}

/* Not a regular file: refused before a byte is read, so a FIFO cannot hang the reader (opening
 * it would wait for a writer) and /dev/zero cannot fill memory. */
static void expect_not_regular(const char *path, const char *kind) {
    attn_npy_array array;
    attn_error err = {0};
    assert_int_equal(attn_npy_read(path, &array, &err), ATTN_E_IO);
    char want[256];
    snprintf(want, sizeof want, "cannot read %s: it is %s, not a regular file", path, kind);
    assert_contains(err.message, want);
    assert_null(array.data);
}

static void test_read_not_regular(void **state) {
    (void)state;
    expect_not_regular(temp_dir, "a directory");
    expect_not_regular("/dev/zero", "a character device");
    char fifo[128];
    temp_path(fifo, sizeof fifo, "fifo.npy");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    expect_not_regular(fifo, "a FIFO (named pipe)");
}

static void test_expect_shape(void **state) {
    (void)state;
    attn_npy_array array = {.ndim = 3, .shape = {1, 4, 64}};
    int64_t want[4] = {1, 4, 64, 64};
    attn_error err = {0};
    assert_int_equal(attn_npy_expect_shape(&array, "k.npy", 4, want, &err), ATTN_E_INVALID);
    assert_contains(err.message, "k.npy: shape mismatch: file has (1, 4, 64), the problem expects (1, 4, 64, 64)");
    assert_int_equal(attn_npy_expect_shape(&array, "k.npy", 3, want, &err), ATTN_OK);
}

static void test_write_int32_range(void **state) {
    (void)state;
    char path[128];
    temp_path(path, sizeof path, "range.npy");
    float values[2] = {1.0f, 3e9f};
    int64_t shape[1] = {2};
    attn_npy_write_options options = {.type = ATTN_NPY_I4};
    attn_error err = {0};
    assert_int_equal(attn_npy_write(path, values, 1, shape, &options, &err), ATTN_E_INVALID);
    assert_contains(err.message, "does not fit '<i4'");
}

/* Every prefix and many byte flips of a valid file: an error or an array, never a crash. */
static void test_mutations_never_crash(void **state) {
    (void)state;
    unsigned char file[256], copy[256];
    float data[6] = {1, 2, 3, 4, 5, 6};
    size_t n = build(file, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data, sizeof data);
    attn_npy_array array;
    attn_error err;
    for (size_t cut = 0; cut <= n; ++cut) {
        if (attn_npy_parse(file, cut, "prefix.npy", &array, &err) == ATTN_OK) attn_npy_free(&array);
    }
    uint64_t rng = 12345;
    for (int iter = 0; iter < 20000; ++iter) {
        memcpy(copy, file, n);
        for (int flips = 0; flips < 3; ++flips) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            copy[(rng >> 33) % n] = (unsigned char)(rng >> 20);
        }
        if (attn_npy_parse(copy, n, "mutant.npy", &array, &err) == ATTN_OK) attn_npy_free(&array);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_all),     cmocka_unit_test(test_header_matches_numpy),
        cmocka_unit_test(test_fortran_hand_made),  cmocka_unit_test(test_corrupt_headers),
        cmocka_unit_test(test_corrupt_preamble),   cmocka_unit_test(test_read_missing_file),
        cmocka_unit_test(test_read_not_regular),
        cmocka_unit_test(test_expect_shape),       cmocka_unit_test(test_write_int32_range),
        cmocka_unit_test(test_mutations_never_crash),
    };
    return cmocka_run_group_tests(tests, make_temp_dir, remove_temp_dir);
}
