/* NumPy .npy files for the tools: read (format 1.0, 2.0, 3.0; C or Fortran order) and
 * write (1.0 unless the header needs more), always through float32 in memory.
 *
 * Element types (little-endian only, because every machine we target is):
 *   '<f4' float32   '<f2' float16   '<f8' float64 (rounded to float32 on load)
 *   '<i4' int32 (converted to float32 on load: exact up to 2^24)
 *   '<u2' bfloat16 as raw bits.  NumPy has no bfloat16; ml_dtypes saves it under a void
 *         descr that other readers cannot interpret, so we store its bits as uint16:
 *         `np.save(f, x.view(np.uint16))` from a bfloat16 array, `.view(ml_dtypes.bfloat16)`
 *         after np.load to get it back.
 *
 * The reader trusts nothing in the file: every length is bounded before use, so any byte
 * string gives either an array or an error naming the file and the problem. */
#ifndef ATTN_TOOLS_NPY_H
#define ATTN_TOOLS_NPY_H

#include <stddef.h>
#include <stdint.h>

#include <attn/host/attn_host.h>

#define ATTN_NPY_MAX_DIMS 32 /* NumPy's own limit before 2.0 */

/* Element types of a file. */
#define ATTN_NPY_F4 0
#define ATTN_NPY_F2 1
#define ATTN_NPY_F8 2
#define ATTN_NPY_I4 3
#define ATTN_NPY_BF16 4 /* stored as '<u2' */
#define ATTN_NPY_TYPE_COUNT 5

/* The descr written for a type ("<f4", ...), or NULL when out of range. */
const char *attn_npy_descr(int32_t type);

/* An array in memory: C order, float32.  `data` is owned (free with attn_npy_free). */
typedef struct attn_npy_array {
    int32_t ndim;
    int64_t shape[ATTN_NPY_MAX_DIMS];
    int64_t count;  /* product of shape (1 for a 0-d array) */
    int32_t type;   /* what the file stored (ATTN_NPY_*) */
    int32_t fortran_order;
    int32_t version; /* major format version of the file */
    float *data;
} attn_npy_array;

/* Parses an .npy file held in memory.  `source` names it in messages.  This is the whole
 * reader; attn_npy_read only adds the file I/O (and is what a fuzzer should not need): a regular
 * file, read whole; a directory, device or FIFO is refused before a byte is read. */
attn_status attn_npy_parse(const void *bytes, size_t length, const char *source, attn_npy_array *out,
                           attn_error *err);
attn_status attn_npy_read(const char *path, attn_npy_array *out, attn_error *err);
void attn_npy_free(attn_npy_array *array);

/* Checks the array's shape against the expected one; the error names `what` and both shapes. */
attn_status attn_npy_expect_shape(const attn_npy_array *array, const char *what, int32_t ndim,
                                  const int64_t *shape, attn_error *err);

/* Options of a write.  Zero-initialised means float32, format 1.0 (or 2.0 when the header
 * does not fit 1.0), C order. */
typedef struct attn_npy_write_options {
    int32_t type;          /* ATTN_NPY_*; values are rounded to it (int32: to nearest, range-checked) */
    int32_t version;       /* 0: automatic; 1, 2 or 3 to force one */
    int32_t fortran_order; /* write the data transposed, with fortran_order True */
} attn_npy_write_options;

/* Writes `values` (C order, product(shape) elements) to path.  options may be NULL. */
attn_status attn_npy_write(const char *path, const float *values, int32_t ndim, const int64_t *shape,
                           const attn_npy_write_options *options, attn_error *err);

#endif
