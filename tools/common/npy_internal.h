/* Internals shared by the files of the .npy reader and writer (npy.h is the API). */
#ifndef ATTN_TOOLS_NPY_INTERNAL_H
#define ATTN_TOOLS_NPY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "npy.h"

extern const char npy_magic[6]; /* "\x93NUMPY" */

typedef struct npy_type_info {
    const char *descr;
    uint32_t size;
} npy_type_info;
extern const npy_type_info npy_types[ATTN_NPY_TYPE_COUNT];

/* "(2, 3)", "(3,)" or "()" into out; always NUL-terminated. */
void npy_shape_text(int32_t ndim, const int64_t *shape, char *out, size_t cap);
/* Element count and byte size of a shape; 0 when either overflows 64 bits. */
int npy_shape_sizes(int32_t ndim, const int64_t *shape, uint32_t elem_size, int64_t *count, int64_t *bytes);

/* Calls visit(file_index, c_index) for every element, file_index running in file order.
 * In C order both are equal; in Fortran order the first axis runs fastest in the file. */
typedef void (*npy_order_visit_fn)(void *ctx, int64_t file_index, int64_t c_index);
void npy_walk_order(int32_t ndim, const int64_t *shape, int64_t count, int32_t fortran, npy_order_visit_fn visit,
                    void *ctx);

/* The header dict (the text between the preamble and the data): sets out's descr type,
 * fortran_order, ndim and shape.  Exactly the keys descr, fortran_order and shape, in any order. */
attn_status npy_parse_header(const char *text, size_t length, const char *source, attn_npy_array *out,
                             attn_error *err);

#endif
