/* A third-party backend gone wrong, for attnmatrix --isolate: it computes exactly what the
 * reference computes (sdpa_ref_inside.h), except on problems whose head dim is a trigger:
 *
 *   MISBEHAVE_CRASH  run() dereferences NULL when D == 24 (a segfault)
 *   MISBEHAVE_HANG   run() never returns when D == 40
 *
 * Everything else must still PASS, so the test sees that only the bad cells are lost. */
#include <unistd.h>

#include "sdpa_ref_inside.h"

#define MISBEHAVE_CRASH 1
#define MISBEHAVE_HANG 2
#ifndef MISBEHAVE_MODE
#error "MISBEHAVE_MODE must be MISBEHAVE_CRASH or MISBEHAVE_HANG"
#endif

static attn_status misbehave_run(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap) {
    int64_t head_dim = problem->q.shape[3];
#if MISBEHAVE_MODE == MISBEHAVE_CRASH
    if (head_dim == 24) {
        volatile int *volatile nowhere = NULL; /* volatile twice: neither the load nor the store may go */
        *nowhere = 1;                          /* the bug under test */
    }
#else
    if (head_dim == 40)
        for (;;) sleep(1); /* the bug under test */
#endif
    return ref_run(backend, problem, msg, msg_cap);
}

static const attn_plugin_api misbehave_api = {
    sizeof(attn_plugin_api),
    ATTN_ABI_VERSION,
#if MISBEHAVE_MODE == MISBEHAVE_CRASH
    "crasher",
#else
    "hanger",
#endif
    "0.0.0",
    "the reference, except that it crashes (D == 24) or hangs (D == 40) on purpose",
    ref_create,
    ref_destroy,
    cpu_device_of,
    ref_check,
    misbehave_run,
    ATTN_CPU_DEVICE_SERVICES,
    NULL, /* describe */
};

ATTN_PLUGIN_EXPORT attn_status attn_plugin_query(uint32_t host_abi_version, const attn_host_services *host,
                                                 const attn_plugin_api **out_api, char *msg, uint32_t msg_cap) {
    (void)host_abi_version;
    (void)host;
    (void)msg;
    (void)msg_cap;
    *out_api = &misbehave_api;
    return ATTN_OK;
}
