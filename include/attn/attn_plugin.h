/* The plugin ABI: what a backend .so exports and what the host hands it.
 *
 * A plugin exports exactly one symbol, ATTN_PLUGIN_ENTRY_SYMBOL, of type
 * attn_plugin_entry_fn.  Everything else travels in tables.  Plugins never link libattn:
 * the host's services (logging) come in attn_host_services, and the shared math
 * (visibility, modifiers, Philox dropout, dtype conversion) is header-only in
 * attn_rules.h, attn_philox.h and attn_dtype.h.
 *
 * Versioning (the Vulkan loader's way): the host calls the entry with the newest ABI
 * version it speaks; the plugin answers with a table whose abi_version is the version the
 * plugin speaks (<= the host's offer within the same major).  The host refuses a table
 * whose major differs from its own or whose version is below ATTN_ABI_FLOOR, naming both
 * versions.  Tables and structs start with their size and only grow at the end; a table
 * entry beyond struct_size, or NULL, means "not implemented".
 *
 * Errors: every fallible function returns an attn_status and, on failure, writes a
 * NUL-terminated explanation into the caller's buffer `msg` of `msg_cap` bytes (always at
 * least ATTN_MSG_CAP).  The host copies it; the plugin keeps no pointer to it.  Nothing
 * throws, longjmps, exits or aborts across this boundary. */
#ifndef ATTN_PLUGIN_H
#define ATTN_PLUGIN_H

#include <dlpack/dlpack.h>
#include <stdint.h>

#include "attn_problem.h"
#include "attn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ATTN_PLUGIN_ENTRY_SYMBOL "attn_plugin_query"

/* Services the host offers to plugins.  Borrowed: valid from the entry call until the
 * plugin's last backend is destroyed. */
typedef struct attn_host_services {
    uint32_t struct_size;
    uint32_t abi_version; /* the host's newest ABI version */
    void *host_context;   /* pass back as the first argument of every service */
    /* Thread-safe.  `message` is copied by the host. */
    void (*log)(void *host_context, int32_t level, const char *plugin_name, const char *message);
} attn_host_services;

/* One key/value option from the config ("threads: 4").  Strings borrowed for the call. */
typedef struct attn_option {
    const char *key;
    const char *value;
} attn_option;

/* The function table of one plugin.  Owned by the plugin, static, valid until dlclose.
 * `backend` below is the opaque instance made by create(). */
typedef struct attn_plugin_api {
    uint32_t struct_size;
    uint32_t abi_version; /* the version this plugin speaks; see the header comment */
    const char *name;     /* short identifier, e.g. "sdpa-ref"; static */
    const char *version;  /* the plugin's own version text; static */
    const char *description;

    /* ---- ABI 1.0 ---- */

    /* Makes a backend instance from config options.  Unknown option keys must be
     * refused with ATTN_E_INVALID naming the key.  ATTN_E_UNAVAILABLE says that the
     * backend cannot run on this machine (no GPU, ...): the matrix shows SKIP. */
    attn_status (*create)(const attn_host_services *host, const attn_option *options,
                          uint32_t option_count, void **out_backend, char *msg, uint32_t msg_cap);
    void (*destroy)(void *backend);

    /* The device its tensors must live on. */
    attn_status (*device_of)(void *backend, DLDevice *out_device, char *msg, uint32_t msg_cap);

    /* Capability check: ATTN_OK, or ATTN_E_UNSUPPORTED / ATTN_E_NOT_APPLICABLE with the
     * reason.  Must be the same code path as run()'s own refusal, so they never disagree.
     * The host has already validated the problem (shapes, strides, dtypes, aliasing). */
    attn_status (*check)(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap);

    /* Computes the problem.  May be asynchronous on a device stream; synchronize() waits. */
    attn_status (*run)(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap);

    /* Device services, so one host runner drives CPU and GPU backends alike.
     * alloc returns memory aligned to at least 256 bytes. */
    attn_status (*alloc)(void *backend, uint64_t bytes, void **out_ptr, char *msg, uint32_t msg_cap);
    void (*free)(void *backend, void *ptr);
    attn_status (*copy_to_device)(void *backend, void *device_dst, const void *host_src, uint64_t bytes,
                                  char *msg, uint32_t msg_cap);
    attn_status (*copy_to_host)(void *backend, void *host_dst, const void *device_src, uint64_t bytes,
                                char *msg, uint32_t msg_cap);
    attn_status (*synchronize)(void *backend, char *msg, uint32_t msg_cap);
} attn_plugin_api;

/* The single exported entry point.  `host_abi_version` is the host's newest version.
 * On success *out_api points to the plugin's static table. */
typedef attn_status (*attn_plugin_entry_fn)(uint32_t host_abi_version, const attn_host_services *host,
                                            const attn_plugin_api **out_api, char *msg, uint32_t msg_cap);

#if defined(_WIN32)
#define ATTN_PLUGIN_EXPORT __declspec(dllexport)
#else
#define ATTN_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
}
#endif
#endif
