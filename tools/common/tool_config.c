#include "tool_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static attn_status load_default(attn_config **out, attn_error *err) {
    const char *text = attn_default_config_text();
    /* No config_dir: the default's plugins are bare names, found by the search path. */
    return attn_config_parse(text, strlen(text), "<embedded default>", NULL, out, err);
}

attn_status attn_tool_config_load(const char *path, attn_config **out, attn_error *err) {
    attn_status st = path ? attn_config_load(path, out, err) : load_default(out, err);
    if (st != ATTN_OK || ((*out)->golden && (*out)->baseline)) return st;
    attn_config *fallback;
    st = load_default(&fallback, err);
    if (st != ATTN_OK) {
        attn_config_free(*out);
        *out = NULL;
        return st;
    }
    /* The roles move over, so each is freed once, by the config that holds it. */
    attn_backend_spec **roles[2] = {&(*out)->golden, &(*out)->baseline};
    attn_backend_spec **defaults[2] = {&fallback->golden, &fallback->baseline};
    for (int n = 0; n < 2; ++n)
        if (!*roles[n]) {
            *roles[n] = *defaults[n];
            *defaults[n] = NULL;
        }
    attn_config_free(fallback);
    if ((*out)->golden && (*out)->baseline) return ATTN_OK;
    attn_config_free(*out);
    *out = NULL;
    return attn_error_set(err, ATTN_E_CONFIG, "the embedded default config names no golden or no baseline entry");
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

attn_status attn_tool_backend_open(const attn_backend_spec *spec, attn_backend **out, attn_error *err) {
    if (!spec->plugin_path)
        return attn_error_set(err, ATTN_E_LOAD, "backend %s: plugin '%s' not found: %s", spec->name, spec->plugin,
                              spec->resolve_error ? spec->resolve_error : "no resolved path");
    return attn_backend_open(spec->name, spec->plugin_path, spec->options, spec->option_count, out, err);
}

int attn_tool_runs_golden_plugin(const attn_config *config, const attn_backend_spec *spec) {
    return config->golden && config->golden->plugin_path && spec->plugin_path &&
           strcmp(config->golden->plugin_path, spec->plugin_path) == 0;
}
