/* libFuzzer target: the .npy reader used by attnrun. */
#include <stddef.h>
#include <stdint.h>

#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    attn_npy_array array;
    attn_error err;
    if (attn_npy_parse(data, size, "<fuzz>", &array, &err) == ATTN_OK) attn_npy_free(&array);
    return 0;
}
