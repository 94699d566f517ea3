/* libFuzzer target: the case-file parser, and instance generation for cases it accepts
 * when they are small (generation is where a bad size would turn into a bad allocation). */
#include "attn_case.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    attn_case *cases = NULL;
    uint32_t count = 0;
    attn_error err;
    if (attn_casefile_parse((const char *)data, size, "<fuzz>", &cases, &count, &err) != ATTN_OK) return 0;
    for (uint32_t n = 0; n < count; ++n) {
        const attn_case *c = &cases[n];
        int64_t cache = c->kv_cache_len > c->kv_len ? c->kv_cache_len : c->kv_len;
        int64_t dim = c->head_dim > c->value_dim ? c->head_dim : c->value_dim;
        if (c->batch * c->q_heads * (c->q_len + cache) * dim > (1 << 16)) continue; /* keep each run fast */
        attn_instance inst;
        if (attn_instance_make(c, &inst, &err) == ATTN_OK) {
            (void)attn_instance_kept_fraction(&inst);
            attn_instance_free(&inst);
        }
    }
    free(cases);
    return 0;
}
