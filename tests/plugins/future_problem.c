/* A plugin built ahead of its headers: it knows a field that a later ABI minor appends to
 * attn_problem (logit_temperature here, zero meaning off), and stamps its table with that minor.
 * It follows the growth rule: it reads the field only where ATTN_STRUCT_HAS says the host's
 * problem reaches it.  Under today's host the field is absent and it computes the reference;
 * without the guard it would read past the host's struct (ASan) or use whatever lies there.
 *
 * It also asserts, for tests/abi, that the host hands it a problem of the host's own size:
 * this plugin and the test host are compiled with the same headers, so sizeof(attn_problem)
 * is the host's size. */
#include "sdpa_ref_inside.h"

/* attn_problem as the next minor would define it: today's fields, then the appended one. */
typedef struct future_problem {
    attn_problem current;
    /* ---- ABI 1.(ATTN_ABI_MINOR + 1) ---- */
    float logit_temperature; /* 0: off */
} future_problem;

static attn_status future_capability(const attn_problem *problem, char *msg, uint32_t msg_cap) {
    if (problem->struct_size != sizeof(attn_problem)) {
        snprintf(msg, msg_cap, "the host handed struct_size %u, not its own %zu", problem->struct_size,
                 sizeof(attn_problem));
        return ATTN_E_INVALID;
    }
    if (ATTN_STRUCT_HAS(future_problem, problem, logit_temperature)) {
        const future_problem *future = (const future_problem *)(const void *)problem;
        if (future->logit_temperature != 0.0f) {
            snprintf(msg, msg_cap, "logit_temperature %g is set", (double)future->logit_temperature);
            return ATTN_E_UNSUPPORTED;
        }
    }
    return ATTN_OK;
}

static attn_status future_check(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap) {
    attn_status st = future_capability(problem, msg, msg_cap);
    return st == ATTN_OK ? ref_check(backend, problem, msg, msg_cap) : st;
}

static attn_status future_run(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap) {
    attn_status st = future_capability(problem, msg, msg_cap);
    return st == ATTN_OK ? ref_run(backend, problem, msg, msg_cap) : st;
}

static const attn_plugin_api future_api =
    SDPA_REF_TEST_TABLE(ATTN_ABI_MAKE(ATTN_ABI_MAJOR, ATTN_ABI_MINOR + 1), "future-problem",
                        "the reference behind a table of the next ABI minor that knows an appended problem field",
                        future_check, future_run);

ATTN_PLUGIN_ENTRY(future_api)
