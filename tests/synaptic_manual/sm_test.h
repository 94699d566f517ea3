/* What the synaptic-manual tests share: opening the plugin (SM_PLUGIN_PATH, a compile
 * definition) with options, running a hand-built problem, and reproducible inputs.
 * Problems are tests/reference/small_problem.h's float32 BHTD tensors. */
#ifndef SM_TEST_H
#define SM_TEST_H

#include <attn/host/attn_host.h>
#include <math.h>
#include <stdint.h>

#include "small_problem.h"
#include "test_support.h"

/* Opens synaptic-manual with `count` options ({key, value} pairs); fails the test on error. */
static inline attn_backend *sm_open(const attn_option *options, uint32_t count) {
    attn_backend *backend = NULL;
    attn_error err;
    if (attn_backend_open("synaptic-manual", SM_PLUGIN_PATH, options, count, &backend, &err) != ATTN_OK)
        fail_msg("cannot open synaptic-manual: %s", err.message);
    return backend;
}

static inline void sm_run(attn_backend *backend, const attn_problem *p) {
    attn_error err;
    if (attn_backend_run(backend, p, &err) != ATTN_OK) fail_msg("run: %s", err.message);
}

/* Uniform in [-1, 1) from a fixed LCG: the same inputs on every run. */
static inline void sm_fill(float *x, size_t count, uint64_t seed) {
    for (size_t n = 0; n < count; ++n) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[n] = (float)((seed >> 40) * (1.0 / 8388608.0)) - 1.0f;
    }
}

/* Random Q, K, V for a small_problem. */
static inline void sm_fill_problem(small_problem *s, uint64_t seed) {
    sm_fill(s->q, (size_t)(s->b * s->hq * s->tq * s->d), seed);
    sm_fill(s->k, (size_t)(s->b * s->hkv * s->tk * s->d), seed + 1);
    sm_fill(s->v, (size_t)(s->b * s->hkv * s->tk * s->dv), seed + 2);
}

#endif
