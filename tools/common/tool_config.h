/* Config and backend plumbing shared by the tools: load a --config or the embedded
 * default, find a backend by name, open it with one option overridden. */
#ifndef ATTN_TOOLS_CONFIG_H
#define ATTN_TOOLS_CONFIG_H

#include <attn/host/attn_config.h>
#include <attn/host/attn_host.h>

/* Loads `path`, or the default config compiled into libattn when path is NULL. */
attn_status attn_tool_config_load(const char *path, attn_config **out, attn_error *err);

/* The backend entry called `name`, or NULL with err naming the known ones. */
const attn_backend_spec *attn_tool_config_find(const attn_config *config, const char *name, attn_error *err);

/* Opens the backend of `spec`.  When mode is not NULL, the option "mode" is set to it
 * (replacing the config's), and the display name becomes "name[mode]": how the tools get
 * the reference's golden and baseline from one config entry. */
attn_status attn_tool_backend_open(const attn_backend_spec *spec, const char *mode, attn_backend **out,
                                   attn_error *err);

#endif
