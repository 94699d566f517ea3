/* The presynaptic weight from state (SPEC.md "Scores") as callers use it: the per-key formula,
 * the tensor helper of plugins/synaptic_manual/presynaptic.h, and the augmentation as the
 * plugin applies it.  Expected values at a fresh key (c 0, cl 0.6, sn 0.7, rrp 6, amp 1,
 * ema_e 1): key factor w = 1.6162e-3 and augmentation log(w * sigmoid(0) + 1e-6) = -7.1196. */
#include <attn/plugin/attn_rules.h>

#include "presynaptic.h"
#include "sm_test.h"

#define FRESH_W 1.6162e-3
#define FRESH_AUGMENTATION -7.1196

static void fresh_key_values(void **state) {
    (void)state;
    float w = attn_presynaptic_weight(attn_presynaptic_fresh(), 1.0f);
    assert_close(w, FRESH_W, 5e-8); /* the value's own rounding, 4 digits */
    assert_close(synaptic_augmentation(w, 0.0f, 1.0f, 1e-6f), FRESH_AUGMENTATION, 5e-5);
    /* ema_e divides: twice the activity, half the weight. */
    assert_close(attn_presynaptic_weight(attn_presynaptic_fresh(), 2.0f), FRESH_W / 2.0, 5e-8);
}

/* A [2, 3, 5] float32 view with strides [15, 1, 3] (heads innermost): not contiguous, so the
 * helper must honour strides. */
static void strided_view(DLTensor *t, float *data, int64_t *shape, int64_t *strides) {
    memset(t, 0, sizeof *t);
    t->data = data;
    t->device.device_type = kDLCPU;
    t->ndim = 3;
    t->dtype.code = kDLFloat;
    t->dtype.bits = 32;
    t->dtype.lanes = 1;
    t->shape = shape;
    t->strides = strides;
}

static void tensor_helper_matches_formula(void **state) {
    (void)state;
    int64_t shape[3] = {2, 3, 5}, strided[3] = {15, 1, 3}, dense[3] = {15, 5, 1};
    float c[30], cl[30], sn[30], rrp[30], amp[30], w[30];
    DLTensor tc, tcl, tsn, trrp, tamp, tw;
    strided_view(&tc, c, shape, strided);
    strided_view(&tcl, cl, shape, strided);
    strided_view(&tsn, sn, shape, strided);
    strided_view(&trrp, rrp, shape, strided);
    strided_view(&tamp, amp, shape, strided);
    strided_view(&tw, w, shape, dense);
    attn_presynaptic_state fresh = attn_presynaptic_fresh();
    for (int n = 0; n < 30; ++n) { /* batch 0 fresh; batch 1 a spread of states, clamp included */
        int fresh_key = n < 15;
        c[n] = fresh_key ? fresh.c : -0.5f + 0.1f * (float)(n - 15);
        cl[n] = fresh_key ? fresh.cl : 0.05f * (float)(n - 15);
        sn[n] = fresh_key ? fresh.sn : (n == 29 ? 50.0f : 0.7f); /* mix would exceed 0.999 */
        rrp[n] = fresh_key ? fresh.rrp : 1.0f + (float)(n % 4);
        amp[n] = fresh_key ? fresh.amp : 0.5f + 0.25f * (float)(n % 3);
    }
    synaptic_presynaptic_state st = {&tc, &tcl, &tsn, &trrp, &tamp, 1.5f};
    assert_int_equal(synaptic_presynaptic_weights(&st, &tw), 0);
    for (int64_t b = 0; b < 2; ++b)
        for (int64_t h = 0; h < 3; ++h)
            for (int64_t j = 0; j < 5; ++j) {
                int64_t at = b * strided[0] + h * strided[1] + j * strided[2];
                attn_presynaptic_state key = {c[at], cl[at], sn[at], rrp[at], amp[at]};
                float expected = attn_presynaptic_weight(key, 1.5f);
                assert_true(w[b * 15 + h * 5 + j] == expected);
                if (b == 0) assert_close(expected * 1.5f, FRESH_W, 5e-8);
            }
    /* The clamp: sn 50 makes p * gate * sn large; mix stops at 0.999. */
    assert_close(w[1 * 15 + 2 * 5 + 4], 0.999 * rrp[29] * amp[29] / 1.5, 1e-6);

    /* A state tensor of another shape is refused and nothing is written. */
    int64_t other[3] = {2, 3, 4};
    tsn.shape = other;
    w[0] = -1.0f;
    assert_int_equal(synaptic_presynaptic_weights(&st, &tw), -1);
    assert_true(w[0] == -1.0f);
}

/* One key at score 0 and distance 0 with a fresh weight: the row's LSE is the augmentation.
 * A second key one position away adds the distance barrier beta * 1 / kv_len. */
static void plugin_applies_augmentation(void **state) {
    (void)state;
    float w_fresh = attn_presynaptic_weight(attn_presynaptic_fresh(), 1.0f);
    for (int64_t tk = 1; tk <= 2; ++tk) {
        small_problem s;
        small_init(&s, 1, 1, 1, 1, tk, 4, 1); /* decode: the query sits at position tk - 1 */
        float w[2] = {w_fresh, w_fresh};
        int64_t w_shape[3] = {1, 1, tk}, w_strides[3] = {tk, tk, 1};
        strided_view(&s.p.synaptic_w, w, w_shape, w_strides);
        s.p.modifier = ATTN_MOD_SYNAPTIC;
        for (int64_t j = 0; j < tk; ++j) SV(&s, 0, 0, j, 0) = 3.0f;
        attn_backend *backend = sm_open(NULL, 0);
        sm_run(backend, &s.p);
        attn_backend_close(backend);
        double expected = FRESH_AUGMENTATION;
        if (tk == 2) {
            double near = log(w_fresh * 0.5 + 1e-6), far = near - 0.1 * 1.0 / 2.0;
            expected = log(exp(near) + exp(far));
        }
        assert_close(SL(&s, 0, 0, 0), expected, 5e-5);
        assert_close(SO(&s, 0, 0, 0, 0), 3.0, 1e-6);
        small_free(&s);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fresh_key_values),
        cmocka_unit_test(tensor_helper_matches_formula),
        cmocka_unit_test(plugin_applies_augmentation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
