/* The YAML config: which backends, from which plugin files, with which options.
 *
 *   golden: {plugin: attn_sdpa_ref, options: {mode: golden}}        # optional; see below
 *   baseline: {plugin: attn_sdpa_ref, options: {mode: baseline}}
 *   backends:
 *     - name: sdpa-ref             # display name, unique
 *       plugin: attn_sdpa_ref      # bare name (searched) or path (relative to this file)
 *       options: {threads: 2}      # optional; scalar values, handed to the plugin as text
 *       optional: true             # optional; a plugin file that was not built is SKIP, not an error
 *   priority: [flex-cuda, sdpa-ref]  # optional; the order attn_select tries backends in
 *                                    # (attn_select.h); backends left out are not candidates
 *
 * golden and baseline are backend entries (as in the list; the name defaults to the role) that
 * the tools judge every backend against (SPEC.md, "Tolerance"); they are not columns and not
 * candidates.  libattn gives them no meaning: a config for a model runtime leaves them out,
 * and the tools then take the default config's.
 *
 * Errors name the file, line, column and key. */
#ifndef ATTN_CONFIG_H
#define ATTN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "attn_host.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct attn_backend_spec {
    char *name;
    char *plugin;      /* as written */
    char *plugin_path;   /* resolved file, or NULL when an optional plugin was not found */
    char *resolve_error; /* why an optional plugin was not found */
    int32_t optional;
    attn_option *options;
    uint32_t option_count;
    int32_t line; /* 1-based line of the entry, for messages */
} attn_backend_spec;

/* A config lists at most this many backends (a runtime picks among a handful; attnmatrix
 * shows 16): the name checks compare every pair, and stay instant within it. */
#define ATTN_CONFIG_MAX_BACKENDS 256

typedef struct attn_config {
    char *source; /* file name or "<embedded default>" */
    attn_backend_spec *backends;
    uint32_t backend_count;
    char **priority; /* backend names of the `priority` list, or NULL */
    uint32_t priority_count;
    attn_backend_spec *golden;   /* the `golden:` entry, or NULL */
    attn_backend_spec *baseline; /* the `baseline:` entry, or NULL */
} attn_config;

/* Parses config text.  `source` names it in messages; `config_dir` anchors relative plugin
 * paths.  Plugin names are resolved here; a name that cannot be resolved is an error. */
ATTN_API attn_status attn_config_parse(const char *text, size_t length, const char *source, const char *config_dir,
                              attn_config **out, attn_error *err);
ATTN_API attn_status attn_config_load(const char *path, attn_config **out, attn_error *err);
ATTN_API void attn_config_free(attn_config *config);

/* The configs/default.yaml compiled into libattn. */
ATTN_API const char *attn_default_config_text(void);

#ifdef __cplusplus
}
#endif
#endif
