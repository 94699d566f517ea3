/* The plugin ABI: what a backend .so exports and what the host hands it.
 *
 * A plugin exports exactly one symbol, ATTN_PLUGIN_ENTRY_SYMBOL, of type
 * attn_plugin_entry_fn.  Everything else travels in tables.  Plugins never link libattn:
 * the host's services (logging) come in attn_host_services, and the shared math
 * (visibility, modifiers, Philox dropout, dtype conversion) is header-only in
 * attn_rules.h, attn_philox.h and attn_dtype.h.
 *
 * Versioning, one rule (docs/PLUGINS.md "Versions" spells it out and tests/abi proves it):
 *   - The host calls the entry with the newest ABI version it speaks.  A plugin refuses an
 *     offer of another major with ATTN_E_ABI, naming both versions (ATTN_PLUGIN_ENTRY does).
 *   - The table's abi_version is the version of the headers the plugin was compiled with
 *     (ATTN_ABI_VERSION), older or newer than the offer: it describes the table's own layout.
 *     The host refuses another major or a version below ATTN_ABI_FLOOR, naming both, and reads
 *     an entry appended after 1.0 only through ATTN_PLUGIN_API_HAS below.
 *   - The plugin learns what the host speaks from the offer, and reads every attn_problem
 *     field appended after 1.0 only through ATTN_PROBLEM_HAS (attn_problem.h).
 * Tables and structs start with their size and only grow at the end; a table entry beyond
 * struct_size, or NULL, means "not implemented".  ABI 1.1 appended describe(), 1.2 `reads`
 * (which appended problem fields the plugin reads); a 1.0 plugin (a shorter table) loads
 * unchanged.
 *
 * Threading: the host never calls into one backend instance from two threads at once, but
 * may use different instances from different threads, so state shared between instances
 * must be immutable or locked.  docs/PLUGINS.md spells out the whole contract.
 *
 * Errors: every fallible function returns an attn_status and, on failure, writes a
 * NUL-terminated explanation into the caller's buffer `msg` of `msg_cap` bytes (always at
 * least ATTN_MSG_CAP).  The host copies it; the plugin keeps no pointer to it.  Nothing
 * throws, longjmps, exits or aborts across this boundary. */
#ifndef ATTN_PLUGIN_H
#define ATTN_PLUGIN_H

#include <dlpack/dlpack.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

    /* ---- ABI 1.1 ---- */

    /* Optional.  A human-readable summary of what this instance computes (dtypes, head dims,
     * features, limits), for tools to print (attninfo, attnmatrix --list).  Writes NUL-terminated
     * text of at most out_cap bytes (out_cap >= ATTN_MSG_CAP) into `out`, a buffer the host
     * owns; on failure writes the reason there instead.  It documents; it never decides:
     * check() stays the only capability answer. */
    attn_status (*describe)(void *backend, char *out, uint32_t out_cap);

    /* ---- ABI 1.2 ---- */

    /* The attn_problem fields appended after 1.1 that this plugin reads: ATTN_READS_* bits.
     * libattn refuses on the plugin's behalf (ATTN_E_UNSUPPORTED, "not implemented") a problem
     * that sets a field outside them, so that a plugin recompiled against newer headers never
     * computes as if a field it does not read were off.  Set a bit only where check() and run()
     * read the field and refuse, with a reason, what they cannot compute.  0: none. */
    uint64_t reads;

    /* New entries are only ever appended here, under a "---- ABI 1.N ----" mark. */
} attn_plugin_api;

/* attn_plugin_api.reads (ABI 1.2). */
#define ATTN_READS_MASK_MOD ((uint64_t)1 << 0)  /* attn_problem.mask_mod (and the aux it names) */
#define ATTN_READS_SCORE_MOD ((uint64_t)1 << 1) /* attn_problem.score_mod (and the aux it names) */

/* 1 when table `api` provides `entry`, an entry added in ABI 1.`since_minor`: the plugin speaks
 * that minor or a newer one, its struct_size reaches past the entry, and the entry is not NULL.
 * A host tests every entry added after 1.0 this way before calling it, so a plugin built
 * against an older header (a shorter table) or one that leaves the entry NULL reads as "not
 * implemented".  `api` must already have passed negotiation (same major). */
#define ATTN_PLUGIN_API_HAS(api, entry, since_minor)                                            \
    (ATTN_ABI_VERSION_MINOR_OF((api)->abi_version) >= (uint32_t)(since_minor) &&                \
     (api)->struct_size >= offsetof(attn_plugin_api, entry) + sizeof((api)->entry) &&           \
     (api)->entry != NULL)

/* The single exported entry point.  `host_abi_version` is the host's newest version.
 * On success *out_api points to the plugin's static table. */
typedef attn_status (*attn_plugin_entry_fn)(uint32_t host_abi_version, const attn_host_services *host,
                                            const attn_plugin_api **out_api, char *msg, uint32_t msg_cap);

#define ATTN_PLUGIN_EXPORT __attribute__((visibility("default")))

/* The entry point's whole job for a plugin whose table is a static object: refuse an offer of
 * another major, naming both versions, and otherwise hand back the table. */
static inline attn_status attn_plugin_answer_offer(const attn_plugin_api *table, uint32_t host_abi_version,
                                                   const attn_plugin_api **out_api, char *msg, uint32_t msg_cap) {
    if (ATTN_ABI_VERSION_MAJOR_OF(host_abi_version) != ATTN_ABI_VERSION_MAJOR_OF(table->abi_version)) {
        snprintf(msg, msg_cap, "%s speaks ABI %u.%u; the host offers %u.%u", table->name,
                 ATTN_ABI_VERSION_MAJOR_OF(table->abi_version), ATTN_ABI_VERSION_MINOR_OF(table->abi_version),
                 ATTN_ABI_VERSION_MAJOR_OF(host_abi_version), ATTN_ABI_VERSION_MINOR_OF(host_abi_version));
        return ATTN_E_ABI;
    }
    *out_api = table;
    return ATTN_OK;
}

#ifdef __cplusplus
#define ATTN_PLUGIN_EXTERN_C extern "C"
#else
#define ATTN_PLUGIN_EXTERN_C
#endif

/* Defines the plugin's one exported symbol over its static table (ggml's GGML_BACKEND_DL_IMPL
 * is the precedent).  After the table, at file scope:
 *     static const attn_plugin_api my_api = {.struct_size = sizeof(attn_plugin_api), ...};
 *     ATTN_PLUGIN_ENTRY(my_api)
 * A plugin that must do more in its entry (probe a device, use the host's services early)
 * writes attn_plugin_query itself and ends with attn_plugin_answer_offer. */
#define ATTN_PLUGIN_ENTRY(table)                                                                                   \
    ATTN_PLUGIN_EXTERN_C ATTN_PLUGIN_EXPORT attn_status attn_plugin_query(                                         \
        uint32_t host_abi_version, const attn_host_services *host, const attn_plugin_api **out_api, char *msg,       \
        uint32_t msg_cap) {                                                                                        \
        (void)host;                                                                                                \
        return attn_plugin_answer_offer(&(table), host_abi_version, out_api, msg, msg_cap);                       \
    }

#ifdef __cplusplus
}
#endif
#endif
