/* A plugin that misbehaves in exactly one way, chosen at compile time with FAKE_MODE, so
 * that the loader test can check each failure of attn_backend_open on a real .so.
 *
 *   FAKE_NO_ENTRY           exports a symbol, but not attn_plugin_query
 *   FAKE_ABI_OLD            answers a table stamped ABI 0.9 (below the host's floor)
 *   FAKE_ABI_NEW            answers a table stamped ABI 2.0 (a major the host does not speak)
 *   FAKE_ENTRY_ERROR        the entry refuses with ATTN_E_UNAVAILABLE and a reason
 *   FAKE_CREATE_OPTION      create() refuses any option other than `threads`
 *   FAKE_CREATE_UNAVAILABLE create() answers ATTN_E_UNAVAILABLE "no device"
 *   FAKE_NULL_RUN           the table leaves the required entry `run` NULL
 *   FAKE_DESCRIBE_V10       stamped ABI 1.0 but its table is today's, describe() set: the host
 *                           must not call an entry of a minor the plugin does not claim
 *   FAKE_ABI_NEWER_MINOR    stamped ABI 1.7, a minor newer than the host's: loads, and the
 *                           host reads only the entries it knows
 *   FAKE_HEAD_DIM_64        check() accepts head dims up to 64 and refuses larger ones with a
 *                           reason (the selection tests' picky backend)
 *   FAKE_UNTERMINATED_MSG   create() (given an unknown option), check() and run() refuse with a
 *                           message that fills the whole buffer and has no NUL: the host must
 *                           read no further than the buffer
 *   FAKE_SCRIBBLE_ARRAYS    check() and run() accept, after writing garbage into every entry of
 *                           q's and o's shape and strides: the caller's arrays must not change
 *   FAKE_SYNC_FAILS         run() accepts, synchronize() fails: shows which calls wait
 *
 * Everything it is not testing is well-formed (cpu_device.h services, a real create). */
#include <attn/plugin/attn_plugin.h>
#include <stdio.h>
#include <string.h>

#include "../../plugins/common/cpu_device.h"

#define FAKE_NO_ENTRY 1
#define FAKE_ABI_OLD 2
#define FAKE_ABI_NEW 3
#define FAKE_ENTRY_ERROR 4
#define FAKE_CREATE_OPTION 5
#define FAKE_CREATE_UNAVAILABLE 6
#define FAKE_NULL_RUN 7
#define FAKE_DESCRIBE_V10 8
#define FAKE_ABI_NEWER_MINOR 9
#define FAKE_HEAD_DIM_64 10
#define FAKE_UNTERMINATED_MSG 11
#define FAKE_SCRIBBLE_ARRAYS 12
#define FAKE_SYNC_FAILS 13

#ifndef FAKE_MODE
#error "FAKE_MODE must be set to one of the FAKE_* values"
#endif

#if FAKE_MODE == FAKE_UNTERMINATED_MSG
/* Every byte of the buffer written, the last one too: a plugin that forgot the terminator. */
static attn_status refuse_unterminated(char *msg, uint32_t msg_cap) {
    memset(msg, 'x', msg_cap);
    return ATTN_E_UNSUPPORTED;
}
#endif

#if FAKE_MODE == FAKE_SCRIBBLE_ARRAYS
/* The problem is const, but its DLTensors' shape and strides are plain int64_t pointers: a
 * careless plugin can write through them (here, on purpose, into every entry). */
static void scribble(const DLTensor *tensor) {
    for (int32_t d = 0; d < tensor->ndim; ++d) {
        tensor->shape[d] = -1 - d;
        tensor->strides[d] = INT64_MIN + d;
    }
}
#endif

static attn_status fake_create(const attn_host_services *host, const attn_option *options, uint32_t option_count,
                               void **out, char *msg, uint32_t msg_cap) {
    (void)host;
#if FAKE_MODE == FAKE_CREATE_UNAVAILABLE
    (void)options;
    (void)option_count;
    (void)out;
    snprintf(msg, msg_cap, "no device");
    return ATTN_E_UNAVAILABLE;
#else
    static int fake_instance; /* the fake has no state; any non-NULL pointer will do */
    for (uint32_t n = 0; n < option_count; ++n) {
        if (strcmp(options[n].key, "threads") != 0) {
#if FAKE_MODE == FAKE_UNTERMINATED_MSG
            return refuse_unterminated(msg, msg_cap);
#endif
            snprintf(msg, msg_cap, "unknown option '%s' (known: threads)", options[n].key);
            return ATTN_E_INVALID;
        }
    }
    *out = &fake_instance;
    return ATTN_OK;
#endif
}

static void fake_destroy(void *backend) { (void)backend; }

static attn_status fake_check(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap) {
    (void)backend;
#if FAKE_MODE == FAKE_HEAD_DIM_64
    if (problem->q.shape[3] <= 64) return ATTN_OK;
    snprintf(msg, msg_cap, "head dim %lld > 64", (long long)problem->q.shape[3]);
    return ATTN_E_UNSUPPORTED;
#elif FAKE_MODE == FAKE_UNTERMINATED_MSG
    (void)problem;
    return refuse_unterminated(msg, msg_cap);
#elif FAKE_MODE == FAKE_SCRIBBLE_ARRAYS
    (void)msg;
    (void)msg_cap;
    scribble(&problem->q);
    scribble(&problem->o);
    return ATTN_OK;
#elif FAKE_MODE == FAKE_SYNC_FAILS
    (void)problem;
    (void)msg;
    (void)msg_cap;
    return ATTN_OK; /* accepts, computes nothing: only the waiting is under test */
#else
    (void)problem;
    snprintf(msg, msg_cap, "the fake plugin computes nothing");
    return ATTN_E_UNSUPPORTED;
#endif
}

#if FAKE_MODE != FAKE_NULL_RUN
static attn_status fake_run(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap) {
    return fake_check(backend, problem, msg, msg_cap);
}
#define FAKE_RUN fake_run
#else
#define FAKE_RUN NULL
#endif

#if FAKE_MODE == FAKE_ABI_OLD
#define FAKE_ABI ATTN_ABI_MAKE(0, 9)
#elif FAKE_MODE == FAKE_ABI_NEW
#define FAKE_ABI ATTN_ABI_MAKE(2, 0)
#elif FAKE_MODE == FAKE_DESCRIBE_V10
#define FAKE_ABI ATTN_ABI_MAKE(1, 0)
#elif FAKE_MODE == FAKE_ABI_NEWER_MINOR
#define FAKE_ABI ATTN_ABI_MAKE(1, 7)
#else
#define FAKE_ABI ATTN_ABI_VERSION
#endif

#if FAKE_MODE == FAKE_DESCRIBE_V10 || FAKE_MODE == FAKE_ABI_NEWER_MINOR
static attn_status fake_describe(void *backend, char *out, uint32_t out_cap) {
    (void)backend;
    snprintf(out, out_cap, "fake: describes itself");
    return ATTN_OK;
}
#define FAKE_DESCRIBE fake_describe
#else
#define FAKE_DESCRIBE NULL /* an ABI 1.1 table that does not implement describe() */
#endif

#if FAKE_MODE == FAKE_SYNC_FAILS
static attn_status fake_synchronize(void *backend, char *msg, uint32_t msg_cap) {
    (void)backend;
    (void)&cpu_synchronize; /* replaced by this one */
    snprintf(msg, msg_cap, "synchronize was called");
    return ATTN_E_DEVICE;
}
#define FAKE_SERVICES                                                                                            \
    .alloc = cpu_alloc, .free = cpu_free, .copy_to_device = cpu_copy, .copy_to_host = cpu_copy,                   \
    .synchronize = fake_synchronize
#else
#define FAKE_SERVICES ATTN_CPU_DEVICE_SERVICES
#endif

static const attn_plugin_api fake_api = {
    sizeof(attn_plugin_api),
    FAKE_ABI,
    "fake",
    "0.0.0",
    "a test plugin that fails one way on purpose",
    fake_create,
    fake_destroy,
    cpu_device_of,
    fake_check,
    FAKE_RUN,
    FAKE_SERVICES,
    FAKE_DESCRIBE,
};

#if FAKE_MODE == FAKE_NO_ENTRY
/* A well-formed shared object that exports something, but not the entry point. */
ATTN_PLUGIN_EXPORT const attn_plugin_api *fake_plugin_table(void) { return &fake_api; }
#else
ATTN_PLUGIN_EXPORT attn_status attn_plugin_query(uint32_t host_abi_version, const attn_host_services *host,
                                                 const attn_plugin_api **out_api, char *msg, uint32_t msg_cap) {
    (void)host_abi_version;
    (void)host;
#if FAKE_MODE == FAKE_ENTRY_ERROR
    (void)out_api;
    (void)&fake_api; /* the table exists but is never handed out */
    snprintf(msg, msg_cap, "fake: the licence server is unreachable");
    return ATTN_E_UNAVAILABLE;
#else
    (void)msg;
    (void)msg_cap;
    *out_api = &fake_api;
    return ATTN_OK;
#endif
}
#endif
