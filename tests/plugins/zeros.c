/* zeros: a deliberately wrong backend that answers every problem with O = 0 (its LSE is the
 * reference's, so only O is wrong).  The tolerance of SPEC.md must never accept it for a row
 * that sees a key, however large the inputs (issue 20, item 13: at input_scale 1e19 the old
 * rule's tolerance grew past |O| and this backend PASSed).  tests/matrix/check_zeros.sh runs it. */
#include <attn/plugin/attn_access.h>

#include "sdpa_ref_inside.h"

static attn_status zeros_run(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap) {
    attn_status st = ref_run(backend, problem, msg, msg_cap);
    if (st != ATTN_OK) return st;
    const DLTensor *o = &problem->o;
    for (int64_t b = 0; b < o->shape[0]; ++b)
        for (int64_t h = 0; h < o->shape[1]; ++h)
            for (int64_t i = 0; i < o->shape[2]; ++i)
                for (int64_t e = 0; e < o->shape[3]; ++e) {
                    int64_t idx[4] = {b, h, i, e};
                    attn_store_float(o, idx, 0.0f); /* the bug under test */
                }
    return ATTN_OK;
}

/* It reads mask_mod and score_mod as the reference does (the LSE is the reference's), so that
 * the expression rows are judged on it too. */
static const attn_plugin_api zeros_api = SDPA_REF_TEST_TABLE_READING(
    ATTN_ABI_VERSION, "zeros", "the reference's LSE, but O all zeros (deliberately wrong)", ref_check, zeros_run,
    ATTN_READS_MASK_MOD | ATTN_READS_SCORE_MOD);

ATTN_PLUGIN_ENTRY(zeros_api)
