#include "tool_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

attn_status attn_tool_config_load(const char *path, attn_config **out, attn_error *err) {
    if (path) return attn_config_load(path, out, err);
    const char *text = attn_default_config_text();
    /* No config_dir: the default's plugins are bare names, found by the search path. */
    return attn_config_parse(text, strlen(text), "<embedded default>", NULL, out, err);
}

const attn_backend_spec *attn_tool_config_find(const attn_config *config, const char *name, attn_error *err) {
    char known[512] = "";
    size_t used = 0;
    for (uint32_t n = 0; n < config->backend_count; ++n) {
        if (strcmp(config->backends[n].name, name) == 0) return &config->backends[n];
        if (used < sizeof known)
            used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", n ? ", " : "",
                                     config->backends[n].name);
    }
    attn_error_set(err, ATTN_E_CONFIG, "%s: no backend named '%s' (known: %s)", config->source, name,
                   config->backend_count ? known : "none");
    return NULL;
}

attn_status attn_tool_backend_open(const attn_backend_spec *spec, const char *mode, attn_backend **out,
                                   attn_error *err) {
    if (!spec->plugin_path)
        return attn_error_set(err, ATTN_E_LOAD, "backend %s: plugin '%s' not found: %s", spec->name, spec->plugin,
                              spec->resolve_error ? spec->resolve_error : "no resolved path");
    if (!mode) return attn_backend_open(spec->name, spec->plugin_path, spec->options, spec->option_count, out, err);

    attn_option *options = calloc(spec->option_count + 1, sizeof *options);
    if (!options) return attn_error_set(err, ATTN_E_NOMEM, "out of memory");
    uint32_t count = 0;
    for (uint32_t n = 0; n < spec->option_count; ++n)
        if (strcmp(spec->options[n].key, "mode") != 0) options[count++] = spec->options[n];
    options[count++] = (attn_option){"mode", mode};
    char name[256];
    snprintf(name, sizeof name, "%s[%s]", spec->name, mode);
    attn_status st = attn_backend_open(name, spec->plugin_path, options, count, out, err);
    free(options);
    return st;
}
