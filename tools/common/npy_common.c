/* What the .npy reader and writer share: the type table, shapes and element order. */
#include "npy_internal.h"

#include <stdio.h>
#include <stdlib.h>

const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

const npy_type_info npy_types[ATTN_NPY_TYPE_COUNT] = {
    [ATTN_NPY_F4] = {"<f4", 4}, [ATTN_NPY_F2] = {"<f2", 2}, [ATTN_NPY_F8] = {"<f8", 8},
    [ATTN_NPY_I4] = {"<i4", 4}, [ATTN_NPY_BF16] = {"<u2", 2},
};

const char *attn_npy_descr(int32_t type) {
    return type >= 0 && type < ATTN_NPY_TYPE_COUNT ? npy_types[type].descr : NULL;
}

void attn_npy_free(attn_npy_array *array) {
    if (!array) return;
    free(array->data);
    array->data = NULL;
}

/* ---- Shapes ------------------------------------------------------------------------ */

void npy_shape_text(int32_t ndim, const int64_t *shape, char *out, size_t cap) {
    size_t used = (size_t)snprintf(out, cap, "(");
    for (int32_t d = 0; d < ndim && used < cap; ++d)
        used += (size_t)snprintf(out + used, cap - used, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (used < cap) snprintf(out + used, cap - used, ndim == 1 ? ",)" : ")");
}

int npy_shape_sizes(int32_t ndim, const int64_t *shape, uint32_t elem_size, int64_t *count, int64_t *bytes) {
    int64_t n = 1;
    for (int32_t d = 0; d < ndim; ++d)
        if (__builtin_mul_overflow(n, shape[d], &n)) return 0;
    if (__builtin_mul_overflow(n, (int64_t)elem_size, bytes)) return 0;
    *count = n;
    return 1;
}

void npy_walk_order(int32_t ndim, const int64_t *shape, int64_t count, int32_t fortran, npy_order_visit_fn visit,
                       void *ctx) {
    if (!fortran || ndim < 2) {
        for (int64_t n = 0; n < count; ++n) visit(ctx, n, n);
        return;
    }
    int64_t c_stride[ATTN_NPY_MAX_DIMS], idx[ATTN_NPY_MAX_DIMS] = {0};
    c_stride[ndim - 1] = 1;
    for (int32_t d = ndim - 1; d > 0; --d) c_stride[d - 1] = c_stride[d] * shape[d];
    int64_t c_index = 0;
    for (int64_t n = 0; n < count; ++n) {
        visit(ctx, n, c_index);
        /* Odometer with axis 0 fastest; count > 0 means no extent is zero. */
        for (int32_t d = 0; d < ndim; ++d) {
            if (++idx[d] < shape[d]) {
                c_index += c_stride[d];
                break;
            }
            c_index -= (shape[d] - 1) * c_stride[d];
            idx[d] = 0;
        }
    }
}
