/* Config and backend plumbing shared by the tools: load a --config or the embedded default,
 * find a backend by name, open a backend entry. */
#ifndef ATTN_TOOLS_CONFIG_H
#define ATTN_TOOLS_CONFIG_H

#include <attn/host/attn_config.h>
#include <attn/host/attn_host.h>

/* Loads `path`, or the default config compiled into libattn when path is NULL.  A config that
 * names no golden or no baseline entry gets the default config's (attn_config.h): the tools
 * always have both. */
attn_status attn_tool_config_load(const char *path, attn_config **out, attn_error *err);

/* The backend entry called `name`, or NULL with err naming the known ones. */
const attn_backend_spec *attn_tool_config_find(const attn_config *config, const char *name, attn_error *err);

/* Opens the backend of `spec` with its options, under its name. */
attn_status attn_tool_backend_open(const attn_backend_spec *spec, attn_backend **out, attn_error *err);

/* 1 when the backend runs the golden entry's plugin (the float64 oracle, not a performance
 * target: attnbench times it only when named). */
int attn_tool_runs_golden_plugin(const attn_config *config, const attn_backend_spec *spec);

/* 1 when a backend declined the problem (ATTN_E_UNSUPPORTED or ATTN_E_NOT_APPLICABLE, with
 * its reason) rather than failing on it. */
static inline int attn_tool_refused(attn_status st) { return st == ATTN_E_UNSUPPORTED || st == ATTN_E_NOT_APPLICABLE; }

#endif
