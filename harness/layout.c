/* Names of the memory layouts of Q, K, V and O, as case files and attnrun spell them. */
#include <string.h>

#include "attn_case.h"

static const char *const names[ATTN_LAYOUT_COUNT] = {[ATTN_LAYOUT_BHTD] = "bhtd", [ATTN_LAYOUT_BTHD] = "bthd"};

const char *attn_layout_name(int32_t layout) {
    return layout >= 0 && layout < ATTN_LAYOUT_COUNT ? names[layout] : "unknown";
}

int32_t attn_layout_from_name(const char *name) {
    for (int32_t l = 0; l < ATTN_LAYOUT_COUNT; ++l)
        if (!strcmp(name, names[l])) return l;
    return -1;
}
