/* Fixed-width types, status codes and enumerations shared by the host and plugins.
 *
 * Only fixed-width integers cross the plugin boundary: C enums and bool have no pinned
 * size across compilers, so every "enum" here is a set of #defines over int32_t. */
#ifndef ATTN_TYPES_H
#define ATTN_TYPES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version: major in the high 16 bits, minor in the low 16 bits.  A minor bump only
 * appends fields and table entries; a major bump breaks layout.  The host offers its
 * newest version, the plugin answers with the version it speaks, and the host refuses
 * anything with a different major or below its floor. */
#define ATTN_ABI_MAJOR 1
#define ATTN_ABI_MINOR 2 /* 1.1 appended attn_plugin_api.describe; 1.2 attn_problem.mask_mod, score_mod, aux */
#define ATTN_ABI_MAKE(major, minor) ((uint32_t)(((uint32_t)(major) << 16) | ((uint32_t)(minor)&0xffffu)))
#define ATTN_ABI_VERSION ATTN_ABI_MAKE(ATTN_ABI_MAJOR, ATTN_ABI_MINOR)
#define ATTN_ABI_VERSION_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define ATTN_ABI_VERSION_MINOR_OF(v) ((uint32_t)(v)&0xffffu)
/* The oldest plugin ABI this host still loads. */
#define ATTN_ABI_FLOOR ATTN_ABI_MAKE(1, 0)

typedef int32_t attn_status;
#define ATTN_OK 0
#define ATTN_E_INVALID 1        /* the problem or an argument is malformed */
#define ATTN_E_UNSUPPORTED 2    /* well-formed, but this backend cannot compute it (reason given) */
#define ATTN_E_NOT_APPLICABLE 3 /* the feature has no meaning for this backend (reason given) */
#define ATTN_E_UNAVAILABLE 4    /* the backend cannot run on this machine (no device, ...) */
#define ATTN_E_NOMEM 5
#define ATTN_E_DEVICE 6         /* a device call failed (the device's error text is given) */
#define ATTN_E_LOAD 7           /* dlopen / dlsym failed */
#define ATTN_E_ABI 8            /* ABI version negotiation failed */
#define ATTN_E_CONFIG 9         /* config or case file is malformed */
#define ATTN_E_IO 10            /* a file could not be read or written */
#define ATTN_E_INTERNAL 11      /* a bug: please report */

/* Score modifiers (SPEC.md, "Scores"). */
#define ATTN_MOD_NONE 0
#define ATTN_MOD_SOFTCAP 1
#define ATTN_MOD_ALIBI 2
#define ATTN_MOD_SYNAPTIC 3

/* Log levels of the host's log service. */
#define ATTN_LOG_ERROR 0
#define ATTN_LOG_WARN 1
#define ATTN_LOG_INFO 2
#define ATTN_LOG_DEBUG 3

/* Every message buffer a plugin writes into is at least this large. */
#define ATTN_MSG_CAP 512

#ifdef __cplusplus
}
#endif
#endif
