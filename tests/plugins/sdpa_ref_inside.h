/* The reference's source compiled into a test plugin, so that a test plugin which must
 * compute correctly (an ABI 1.0 table, a backend that crashes on purpose on some problems)
 * reuses ref_create, ref_run, ... instead of a second implementation.
 *
 * The reference's own entry point is renamed and made static: the test plugin exports its
 * own attn_plugin_query, and still exactly one symbol. */
#ifndef ATTN_TEST_SDPA_REF_INSIDE_H
#define ATTN_TEST_SDPA_REF_INSIDE_H

#include <attn/plugin/attn_plugin.h>

#undef ATTN_PLUGIN_EXPORT
#define ATTN_PLUGIN_EXPORT static __attribute__((unused))
#define attn_plugin_query sdpa_ref_inner_query
#include "../../plugins/sdpa_ref/sdpa_ref.c"
#undef attn_plugin_query
#undef ATTN_PLUGIN_EXPORT
#define ATTN_PLUGIN_EXPORT __attribute__((visibility("default")))

/* The reference's table as a test plugin presents it: its own ABI stamp, name and description,
 * and its own check() and run() around the reference's. */
#define SDPA_REF_TEST_TABLE(abi, plugin_name, text, check_fn, run_fn) \
    SDPA_REF_TEST_TABLE_READING(abi, plugin_name, text, check_fn, run_fn, 0)
/* The same, with the appended problem fields it reads (ATTN_READS_*, ABI 1.2): only for a
 * plugin whose run reaches the reference's own reading of them. */
#define SDPA_REF_TEST_TABLE_READING(abi, plugin_name, text, check_fn, run_fn, read_bits)                         \
    {.struct_size = sizeof(attn_plugin_api), .abi_version = (abi), .name = (plugin_name), .version = "1.0.0",       \
     .description = (text), .create = ref_create, .destroy = ref_destroy, .device_of = cpu_device_of,              \
     .check = (check_fn), .run = (run_fn), ATTN_CPU_DEVICE_SERVICES, .reads = (read_bits)}

#endif
