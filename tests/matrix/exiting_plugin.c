/* The reference, except that run() calls exit(0): the process would end with status 0 and a
 * half-written table, a silent success, without the tools' exit guard (tools/common/exit_guard.h). */
#include <stdlib.h>

#include "../plugins/sdpa_ref_inside.h"

static attn_status exiting_run(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap) {
    (void)backend;
    (void)problem;
    (void)msg;
    (void)msg_cap;
    exit(0);
}

static const attn_plugin_api exiting_api =
    SDPA_REF_TEST_TABLE(ATTN_ABI_VERSION, "exits", "the reference, but run() calls exit(0)", ref_check, exiting_run);

ATTN_PLUGIN_ENTRY(exiting_api)
