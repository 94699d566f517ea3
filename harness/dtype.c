/* Names, sizes and ranges of the element types of Q, K, V and O: case files, attnrun and the labels spell
 * a dtype from these two tables. */
#include <string.h>

#include "attn_case.h"

static const char *const long_names[ATTN_DTYPE_COUNT] = {"float32", "float16", "bfloat16"};
static const char *const short_names[ATTN_DTYPE_COUNT] = {"f32", "f16", "bf16"};

const char *attn_dtype_name(int32_t dtype) {
    return dtype >= 0 && dtype < ATTN_DTYPE_COUNT ? long_names[dtype] : "unknown";
}

const char *attn_dtype_short_name(int32_t dtype) {
    return dtype >= 0 && dtype < ATTN_DTYPE_COUNT ? short_names[dtype] : "?";
}

int32_t attn_dtype_from_name(const char *name) {
    for (int32_t d = 0; d < ATTN_DTYPE_COUNT; ++d)
        if (!strcmp(name, long_names[d]) || !strcmp(name, short_names[d])) return d;
    return -1;
}

size_t attn_dtype_size(int32_t dtype) { return dtype == ATTN_DTYPE_F32 ? 4 : 2; }

double attn_dtype_largest(int32_t dtype) {
    switch (dtype) {
    case ATTN_DTYPE_F16: return 65504.0;
    case ATTN_DTYPE_BF16: return 0x1.fep127; /* 3.3895e38 */
    default: return 0x1.fffffep127;          /* FLT_MAX */
    }
}

DLDataType attn_dtype_dl(int32_t dtype) {
    DLDataType t = {dtype == ATTN_DTYPE_BF16 ? kDLBfloat : kDLFloat, dtype == ATTN_DTYPE_F32 ? 32 : 16, 1};
    return t;
}
