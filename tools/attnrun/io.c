#include "io.h"

#include <stdio.h>
#include <string.h>

#include <attn/plugin/attn_access.h>

#include "npy.h"

/* DLPack (code, bits) of a case dtype, as attn_round_to wants them. */
static void dtype_code_bits(int32_t dtype, uint8_t *code, uint8_t *bits) {
    *code = dtype == ATTN_DTYPE_BF16 ? kDLBfloat : kDLFloat;
    *bits = dtype == ATTN_DTYPE_F32 ? 32 : 16;
}

attn_status attnrun_load_input(attn_instance *inst, char which, const char *path, attn_error *err) {
    const attn_case *c = &inst->c;
    int64_t heads = which == 'q' ? c->q_heads : c->kv_heads;
    int64_t len = which == 'q' ? c->q_len : c->kv_len;
    int64_t dim = which == 'v' ? c->value_dim : c->head_dim;
    int64_t shape[4] = {c->batch, heads, len, dim};
    float *target = which == 'q' ? inst->q : which == 'k' ? inst->k : inst->v;

    attn_npy_array array;
    attn_status st = attn_npy_read(path, &array, err);
    if (st != ATTN_OK) return st;
    char what[1100];
    snprintf(what, sizeof what, "%s (--%c, canonical [B, %s, %s, %s])", path, which, which == 'q' ? "Hq" : "Hkv",
             which == 'q' ? "Tq" : "Tk", which == 'v' ? "Dv" : "D");
    st = attn_npy_expect_shape(&array, what, 4, shape, err);
    if (st == ATTN_OK) {
        uint8_t code, bits;
        dtype_code_bits(c->dtype, &code, &bits);
        /* The instance's buffers stay the core's: we overwrite them, same element count. */
        for (int64_t n = 0; n < array.count; ++n) target[n] = attn_round_to(code, bits, array.data[n]);
    }
    attn_npy_free(&array);
    return st;
}

attn_status attnrun_write_outputs(const attn_instance *inst, const attn_result *result, const char *o_path,
                                  const char *lse_path, attn_error *err) {
    const attn_case *c = &inst->c;
    if (o_path) {
        int64_t shape[4] = {c->batch, c->q_heads, c->q_len, c->value_dim};
        attn_status st = attn_npy_write(o_path, result->o, 4, shape, NULL, err);
        if (st != ATTN_OK) return st;
    }
    if (lse_path) {
        if (!result->lse) return attn_error_set(err, ATTN_E_INTERNAL, "%s: the backend returned no LSE", lse_path);
        int64_t shape[3] = {c->batch, c->q_heads, c->q_len};
        return attn_npy_write(lse_path, result->lse, 3, shape, NULL, err);
    }
    return ATTN_OK;
}
