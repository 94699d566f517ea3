/* A plugin built against ABI 1.0: its table is a frozen copy of the 1.0 layout (no describe,
 * struct_size of 1.0), stamped 1.0, exactly what a plugin compiled with the 1.0 headers hands
 * a newer host.  The host must load it, run problems on it, and read no entry past its end.
 * The arithmetic is the reference's (sdpa_ref_inside.h). */
#include "sdpa_ref_inside.h"

/* attn_plugin_api as ABI 1.0 defined it, field for field.  Never edit: it is the past. */
typedef struct attn_plugin_api_1_0 {
    uint32_t struct_size;
    uint32_t abi_version;
    const char *name;
    const char *version;
    const char *description;
    attn_status (*create)(const attn_host_services *host, const attn_option *options, uint32_t option_count,
                          void **out_backend, char *msg, uint32_t msg_cap);
    void (*destroy)(void *backend);
    attn_status (*device_of)(void *backend, DLDevice *out_device, char *msg, uint32_t msg_cap);
    attn_status (*check)(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap);
    attn_status (*run)(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap);
    attn_status (*alloc)(void *backend, uint64_t bytes, void **out_ptr, char *msg, uint32_t msg_cap);
    void (*free)(void *backend, void *ptr);
    attn_status (*copy_to_device)(void *backend, void *device_dst, const void *host_src, uint64_t bytes, char *msg,
                                  uint32_t msg_cap);
    attn_status (*copy_to_host)(void *backend, void *host_dst, const void *device_src, uint64_t bytes, char *msg,
                                uint32_t msg_cap);
    attn_status (*synchronize)(void *backend, char *msg, uint32_t msg_cap);
} attn_plugin_api_1_0;

/* The 1.0 table is a prefix of every later one: the host reads it through its own type. */
_Static_assert(sizeof(attn_plugin_api_1_0) == offsetof(attn_plugin_api, describe),
               "ABI 1.0's table must be a prefix of the current one");

static const attn_plugin_api_1_0 compat_api = {
    sizeof(attn_plugin_api_1_0),
    ATTN_ABI_MAKE(1, 0),
    "compat-1.0",
    "1.0.0",
    "the reference behind a table built against ABI 1.0",
    ref_create,
    ref_destroy,
    cpu_device_of,
    ref_check,
    ref_run,
    ATTN_CPU_DEVICE_SERVICES,
};

ATTN_PLUGIN_EXPORT attn_status attn_plugin_query(uint32_t host_abi_version, const attn_host_services *host,
                                                 const attn_plugin_api **out_api, char *msg, uint32_t msg_cap) {
    (void)host;
    (void)msg;
    (void)msg_cap;
    (void)host_abi_version;
    /* Under ABI 1.0 the table was this type; today's host reads it as its own, which the
     * layout rule makes sound. */
    *out_api = (const attn_plugin_api *)(const void *)&compat_api;
    return ATTN_OK;
}
