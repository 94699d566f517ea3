/* The output guard (output_guard.h).  A Python module that forgets to write O (writes into a
 * copy: np.array(...) instead of np.from_dlpack, `o = result` instead of `o[...] = result`)
 * returns None like a correct one.  Filling O and LSE with a marked NaN before run() and counting
 * what is left after turns that into "wrote nothing" instead of a FAIL that looks like a wrong
 * answer.  A computed NaN carries the default payload, never this one. */
#include "output_guard.h"

#include <string.h>

#define GUARD_F32 UINT32_C(0x7fc1a7e5)
#define GUARD_F16 UINT16_C(0x7e5b)
#define GUARD_BF16 UINT16_C(0x7fe5)

static int element_bytes(const DLTensor *t) {
    if (t->dtype.lanes != 1) return 0;
    if ((t->dtype.code == kDLFloat || t->dtype.code == kDLBfloat) && (t->dtype.bits == 16 || t->dtype.bits == 32))
        return t->dtype.bits / 8;
    return 0;
}

/* Calls visit(element pointer) over every element of a tensor of at most 4 dimensions. */
#define FOR_EACH_ELEMENT(t, ptr, body)                                                                        \
    do {                                                                                                      \
        int64_t dims[4] = {1, 1, 1, 1}, steps[4] = {0, 0, 0, 0};                                              \
        int nd = (t)->ndim;                                                                                   \
        for (int d = 0; d < nd && d < 4; ++d) {                                                               \
            dims[4 - nd + d] = (t)->shape[d];                                                                 \
            steps[4 - nd + d] = (t)->strides[d];                                                              \
        }                                                                                                     \
        int64_t size = element_bytes(t);                                                                      \
        char *base = (char *)(t)->data + (t)->byte_offset;                                                    \
        for (int64_t a = 0; a < dims[0]; ++a)                                                                 \
            for (int64_t b = 0; b < dims[1]; ++b)                                                             \
                for (int64_t c = 0; c < dims[2]; ++c)                                                         \
                    for (int64_t e = 0; e < dims[3]; ++e) {                                                   \
                        char *ptr = base + (a * steps[0] + b * steps[1] + c * steps[2] + e * steps[3]) * size; \
                        body;                                                                                 \
                    }                                                                                         \
    } while (0)

void output_guard_fill(const DLTensor *t) {
    if (!attn_tensor_present(t) || !element_bytes(t) || t->ndim > 4) return;
    uint32_t f32 = GUARD_F32;
    uint16_t f16 = t->dtype.code == kDLBfloat ? GUARD_BF16 : GUARD_F16;
    FOR_EACH_ELEMENT(t, p, if (size == 4) memcpy(p, &f32, 4); else memcpy(p, &f16, 2));
}

uint64_t output_guard_untouched(const DLTensor *t, uint64_t *total) {
    *total = 0;
    if (!attn_tensor_present(t) || !element_bytes(t) || t->ndim > 4) return 0;
    uint64_t left = 0, count = 0;
    uint32_t f32 = GUARD_F32;
    uint16_t f16 = t->dtype.code == kDLBfloat ? GUARD_BF16 : GUARD_F16;
    FOR_EACH_ELEMENT(t, p, {
        ++count;
        if (size == 4 ? memcmp(p, &f32, 4) == 0 : memcmp(p, &f16, 2) == 0) ++left;
    });
    *total = count;
    return left;
}
