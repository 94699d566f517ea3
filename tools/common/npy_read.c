/* The .npy reader (see npy.h, and NumPy's format.py for the format).
 *
 * Layout of a file: "\x93NUMPY", major, minor, header length (2 bytes little-endian in
 * 1.0, 4 bytes in 2.0 and 3.0), then a Python dict literal
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and a newline so that the data starts 64-byte aligned, then the data.
 * 3.0 only differs in allowing UTF-8 in the header, which this reader never needs. */
#include "npy_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <attn/plugin/attn_dtype.h>

/* attn_read_regular_file: the file reading of the config and case-file readers, so that all three
 * refuse a directory or a FIFO in the same words. */
#include "internal/files.h"

static uint16_t le16(const unsigned char *b) { return (uint16_t)(b[0] | (b[1] << 8)); }
static uint32_t le32(const unsigned char *b) {
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}
static uint64_t le64(const unsigned char *b) { return (uint64_t)le32(b) | ((uint64_t)le32(b + 4) << 32); }

static float decode_element(int32_t type, const unsigned char *b) {
    switch (type) {
    case ATTN_NPY_F4: return attn_bits_f32(le32(b));
    case ATTN_NPY_F2: return attn_f16_to_f32(le16(b));
    case ATTN_NPY_BF16: return attn_bf16_to_f32(le16(b));
    case ATTN_NPY_I4: return (float)(int32_t)le32(b);
    default: {
        uint64_t u = le64(b);
        double d;
        memcpy(&d, &u, sizeof d);
        /* Out-of-range double -> float is undefined in C; IEEE rounding makes it inf from
         * FLT_MAX + half an ulp up (a tie rounds to the even neighbour, 2^128). */
        if (isfinite(d) && fabs(d) >= 0x1.ffffffp127) return d > 0 ? INFINITY : -INFINITY;
        return (float)d;
    }
    }
}

typedef struct decode_ctx {
    const unsigned char *data;
    int32_t type;
    uint32_t size;
    float *out;
} decode_ctx;

static void decode_visit(void *ctx, int64_t file_index, int64_t c_index) {
    decode_ctx *d = ctx;
    d->out[c_index] = decode_element(d->type, d->data + file_index * (int64_t)d->size);
}

attn_status attn_npy_parse(const void *bytes, size_t length, const char *source, attn_npy_array *out,
                           attn_error *err) {
    const unsigned char *b = bytes;
    memset(out, 0, sizeof *out);
    if (length == 0) return attn_error_set(err, ATTN_E_INVALID, "%s: empty file", source);
    size_t magic_len = length < sizeof npy_magic ? length : sizeof npy_magic;
    if (memcmp(b, npy_magic, magic_len) != 0)
        return attn_error_set(err, ATTN_E_INVALID, "%s: not an .npy file (bad magic)", source);
    if (length < 8) return attn_error_set(err, ATTN_E_INVALID, "%s: truncated header (%zu bytes)", source, length);
    uint32_t major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return attn_error_set(err, ATTN_E_INVALID, "%s: unsupported format version %u.%u (known: 1.0, 2.0, 3.0)",
                              source, major, minor);
    size_t preamble = major == 1 ? 10 : 12;
    if (length < preamble)
        return attn_error_set(err, ATTN_E_INVALID, "%s: truncated header (%zu bytes)", source, length);
    uint64_t header_len = major == 1 ? le16(b + 8) : le32(b + 8);
    if (header_len > length - preamble)
        return attn_error_set(err, ATTN_E_INVALID, "%s: truncated header (says %llu bytes, file has %zu after the preamble)",
                              source, (unsigned long long)header_len, length - preamble);
    attn_status st = npy_parse_header((const char *)b + preamble, (size_t)header_len, source, out, err);
    if (st != ATTN_OK) return st;
    out->version = (int32_t)major;

    uint32_t elem_size = npy_types[out->type].size;
    int64_t data_bytes;
    if (!npy_shape_sizes(out->ndim, out->shape, elem_size, &out->count, &data_bytes)) {
        char text[256];
        npy_shape_text(out->ndim, out->shape, text, sizeof text);
        return attn_error_set(err, ATTN_E_INVALID, "%s: byte size of shape %s overflows 64 bits", source, text);
    }
    uint64_t available = length - preamble - header_len;
    if ((uint64_t)data_bytes > available)
        return attn_error_set(err, ATTN_E_INVALID,
                              "%s: file shorter than the header says (%llu data bytes, shape needs %lld)", source,
                              (unsigned long long)available, (long long)data_bytes);
    if ((uint64_t)data_bytes < available)
        return attn_error_set(err, ATTN_E_INVALID, "%s: %llu trailing bytes after the data", source,
                              (unsigned long long)(available - (uint64_t)data_bytes));

    /* The size is bounded by the file's own length here, so this cannot be made huge. */
    out->data = malloc(out->count > 0 ? (size_t)out->count * sizeof(float) : 1);
    if (!out->data) return attn_error_set(err, ATTN_E_NOMEM, "%s: out of memory for %lld elements", source,
                                          (long long)out->count);
    decode_ctx ctx = {b + preamble + header_len, out->type, elem_size, out->data};
    npy_walk_order(out->ndim, out->shape, out->count, out->fortran_order, decode_visit, &ctx);
    return ATTN_OK;
}

attn_status attn_npy_read(const char *path, attn_npy_array *out, attn_error *err) {
    memset(out, 0, sizeof *out);
    char *bytes = NULL;
    size_t length = 0;
    /* A regular file only (a FIFO would wait for a writer, /dev/zero never end), of any size:
     * the header says how large it must be, and attn_npy_parse holds it to that. */
    attn_status st = attn_read_regular_file(path, ATTN_FILE_ANY_SIZE, &bytes, &length, err);
    if (st != ATTN_OK) return st;
    st = attn_npy_parse(bytes, length, path, out, err);
    free(bytes);
    return st;
}

attn_status attn_npy_expect_shape(const attn_npy_array *array, const char *what, int32_t ndim,
                                  const int64_t *shape, attn_error *err) {
    int same = array->ndim == ndim;
    for (int32_t d = 0; same && d < ndim; ++d) same = array->shape[d] == shape[d];
    if (same) return ATTN_OK;
    char have[256], want[256];
    npy_shape_text(array->ndim, array->shape, have, sizeof have);
    npy_shape_text(ndim, shape, want, sizeof want);
    return attn_error_set(err, ATTN_E_INVALID, "%s: shape mismatch: file has %s, the problem expects %s", what, have,
                          want);
}
