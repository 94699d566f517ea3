/* The .npy writer: format 1.0 as np.save writes it (64-byte aligned data), or 2.0 / 3.0
 * on request; C or Fortran order. */
#include "npy_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <attn/plugin/attn_dtype.h>

static void put_le(unsigned char *b, uint64_t v, uint32_t bytes) {
    for (uint32_t n = 0; n < bytes; ++n) b[n] = (unsigned char)(v >> (8 * n));
}

typedef struct encode_ctx {
    const float *values;
    int32_t type;
    uint32_t size;
    unsigned char *out;
    int64_t bad_index; /* first int32 value out of range, or -1 */
} encode_ctx;

static void encode_visit(void *ctx, int64_t file_index, int64_t c_index) {
    encode_ctx *e = ctx;
    float x = e->values[c_index];
    unsigned char *b = e->out + file_index * (int64_t)e->size;
    switch (e->type) {
    case ATTN_NPY_F4: put_le(b, attn_f32_bits(x), 4); break;
    case ATTN_NPY_F2: put_le(b, attn_f32_to_f16(x), 2); break;
    case ATTN_NPY_BF16: put_le(b, attn_f32_to_bf16(x), 2); break;
    case ATTN_NPY_I4:
        /* 2^31 is exactly representable; everything in [-2^31, 2^31) fits. */
        if (!(x >= -2147483648.0f && x < 2147483648.0f)) {
            if (e->bad_index < 0) e->bad_index = c_index;
            x = 0.0f;
        }
        put_le(b, (uint32_t)(int32_t)lrintf(x), 4);
        break;
    default: {
        double d = x;
        uint64_t u;
        memcpy(&u, &d, sizeof u);
        put_le(b, u, 8);
    }
    }
}

/* The padded header text and its preamble, as NumPy writes them. */
static attn_status build_header(const char *path, int32_t type, int32_t fortran, int32_t ndim, const int64_t *shape,
                                int32_t version, unsigned char *out, size_t cap, size_t *out_len, attn_error *err) {
    char shape_str[ATTN_NPY_MAX_DIMS * 24 + 8];
    npy_shape_text(ndim, shape, shape_str, sizeof shape_str);
    char dict[sizeof shape_str + 96];
    int dict_len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }",
                            npy_types[type].descr, fortran ? "True" : "False", shape_str);
    if (version == 0) version = 1; /* the dict is at most ~900 bytes: 1.0 always fits */
    size_t preamble = version == 1 ? 10 : 12;
    size_t total = preamble + (size_t)dict_len + 1;
    total = (total + 63) / 64 * 64;
    if (total > cap) return attn_error_set(err, ATTN_E_INTERNAL, "%s: header too long", path);
    memcpy(out, npy_magic, sizeof npy_magic);
    out[6] = (unsigned char)version;
    out[7] = 0;
    put_le(out + 8, total - preamble, version == 1 ? 2 : 4);
    memcpy(out + preamble, dict, (size_t)dict_len);
    memset(out + preamble + dict_len, ' ', total - preamble - (size_t)dict_len - 1);
    out[total - 1] = '\n';
    *out_len = total;
    return ATTN_OK;
}

attn_status attn_npy_write(const char *path, const float *values, int32_t ndim, const int64_t *shape,
                           const attn_npy_write_options *options, attn_error *err) {
    attn_npy_write_options opts = {0};
    if (options) opts = *options;
    if (opts.type < 0 || opts.type >= ATTN_NPY_TYPE_COUNT)
        return attn_error_set(err, ATTN_E_INVALID, "%s: unknown element type %d", path, opts.type);
    if (opts.version < 0 || opts.version > 3)
        return attn_error_set(err, ATTN_E_INVALID, "%s: format version %d is not 1, 2 or 3", path, opts.version);
    if (ndim < 0 || ndim > ATTN_NPY_MAX_DIMS)
        return attn_error_set(err, ATTN_E_INVALID, "%s: %d dimensions (0 to %d allowed)", path, ndim, ATTN_NPY_MAX_DIMS);
    for (int32_t d = 0; d < ndim; ++d)
        if (shape[d] < 0)
            return attn_error_set(err, ATTN_E_INVALID, "%s: negative extent %lld", path, (long long)shape[d]);
    int64_t count, data_bytes;
    if (!npy_shape_sizes(ndim, shape, npy_types[opts.type].size, &count, &data_bytes) || (uint64_t)data_bytes > SIZE_MAX)
        return attn_error_set(err, ATTN_E_INVALID, "%s: byte size overflows 64 bits", path);

    unsigned char header[1024];
    size_t header_len = 0; /* build_header sets it on success; GCC -O2 cannot tell */
    attn_status st = build_header(path, opts.type, opts.fortran_order, ndim, shape, opts.version, header,
                                  sizeof header, &header_len, err);
    if (st != ATTN_OK) return st;

    unsigned char *data = malloc(data_bytes > 0 ? (size_t)data_bytes : 1);
    if (!data) return attn_error_set(err, ATTN_E_NOMEM, "%s: out of memory for %lld bytes", path, (long long)data_bytes);
    encode_ctx ctx = {values, opts.type, npy_types[opts.type].size, data, -1};
    npy_walk_order(ndim, shape, count, opts.fortran_order, encode_visit, &ctx);
    if (ctx.bad_index >= 0) {
        free(data);
        return attn_error_set(err, ATTN_E_INVALID, "%s: value %g at index %lld does not fit '<i4'", path,
                              (double)values[ctx.bad_index], (long long)ctx.bad_index);
    }

    FILE *f = fopen(path, "wb");
    if (!f) {
        free(data);
        return attn_error_set(err, ATTN_E_IO, "%s: cannot open for writing: %s", path, strerror(errno));
    }
    int ok = fwrite(header, 1, header_len, f) == header_len && fwrite(data, 1, (size_t)data_bytes, f) == (size_t)data_bytes;
    int saved_errno = errno;
    free(data);
    if (fclose(f) != 0 && ok) {
        ok = 0;
        saved_errno = errno;
    }
    if (!ok) return attn_error_set(err, ATTN_E_IO, "%s: write failed: %s", path, strerror(saved_errno));
    return ATTN_OK;
}
