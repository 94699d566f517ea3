/* The YAML config (format in attn_config.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn/host/attn_config.h"
#include "internal/files.h"
#include "internal/yaml_doc.h"

static const char *const top_keys[] = {"golden", "baseline", "backends", "priority", NULL};
static const char *const backend_keys[] = {"name", "plugin", "options", "optional", NULL};

static void spec_free(attn_backend_spec *spec) {
    free(spec->name);
    free(spec->plugin);
    free(spec->plugin_path);
    free(spec->resolve_error);
    for (uint32_t o = 0; o < spec->option_count; ++o) {
        free((char *)spec->options[o].key);
        free((char *)spec->options[o].value);
    }
    free(spec->options);
}

void attn_config_free(attn_config *config) {
    if (!config) return;
    for (uint32_t n = 0; n < config->backend_count; ++n) spec_free(&config->backends[n]);
    free(config->backends);
    for (uint32_t n = 0; n < config->priority_count; ++n) free(config->priority[n]);
    free(config->priority);
    attn_backend_spec *roles[2] = {config->golden, config->baseline};
    for (int n = 0; n < 2; ++n) {
        if (roles[n]) spec_free(roles[n]);
        free(roles[n]);
    }
    free(config->source);
    free(config);
}

static attn_status parse_options(attn_yaml *y, yaml_node_t *node, attn_backend_spec *spec, attn_error *err) {
    attn_status st = attn_yaml_expect_mapping(y, node, "options", err);
    if (st != ATTN_OK) return st;
    size_t count = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    spec->options = calloc(count ? count : 1, sizeof *spec->options);
    if (!spec->options) return attn_error_set(err, ATTN_E_NOMEM, "out of memory");
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; ++pair) {
        yaml_node_t *key = attn_yaml_get(y, pair->key), *value = attn_yaml_get(y, pair->value);
        const char *key_text, *value_text;
        st = attn_yaml_string(y, key, "options", &key_text, err);
        if (st == ATTN_OK) st = attn_yaml_string(y, value, key_text, &value_text, err);
        if (st != ATTN_OK) return st;
        attn_option *opt = &spec->options[spec->option_count];
        opt->key = strdup(key_text);
        opt->value = strdup(value_text);
        spec->option_count++; /* counted before the check so that free() releases both */
        if (!opt->key || !opt->value) return attn_error_set(err, ATTN_E_NOMEM, "out of memory");
    }
    return ATTN_OK;
}

/* One backend entry.  `default_name` names an entry that gives none (the golden and baseline
 * entries); NULL makes the name required (the backends list). */
static attn_status parse_backend(attn_yaml *y, yaml_node_t *node, const char *config_dir, const char *default_name,
                                 attn_backend_spec *spec, attn_error *err) {
    attn_status st = attn_yaml_expect_mapping(y, node, "a backend entry", err);
    if (st != ATTN_OK) return st;
    spec->line = (int32_t)node->start_mark.line + 1;
    yaml_node_t *plugin_node = NULL;
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; ++pair) {
        yaml_node_t *key = attn_yaml_get(y, pair->key), *value = attn_yaml_get(y, pair->value);
        const char *k = (const char *)key->data.scalar.value, *text;
        if (!strcmp(k, "name") || !strcmp(k, "plugin")) {
            st = attn_yaml_string(y, value, k, &text, err);
            if (st != ATTN_OK) return st;
            if (!text[0]) return attn_yaml_fail(y, value, k, err, "must not be empty");
            char **slot = !strcmp(k, "name") ? &spec->name : &spec->plugin;
            *slot = strdup(text);
            if (!*slot) return attn_error_set(err, ATTN_E_NOMEM, "out of memory");
            if (!strcmp(k, "plugin")) plugin_node = value;
        } else if (!strcmp(k, "options")) {
            st = parse_options(y, value, spec, err);
            if (st != ATTN_OK) return st;
        } else if (!strcmp(k, "optional")) {
            st = attn_yaml_bool(y, value, k, &spec->optional, err);
            if (st != ATTN_OK) return st;
        } else {
            return attn_yaml_unknown_key(y, key, backend_keys, err);
        }
    }
    if (!spec->name && default_name && !(spec->name = strdup(default_name)))
        return attn_error_set(err, ATTN_E_NOMEM, "out of memory");
    if (!spec->name) return attn_yaml_fail(y, node, "name", err, "missing: every backend needs a name");
    if (!spec->plugin) return attn_yaml_fail(y, node, "plugin", err, "missing: backend '%s' names no plugin file", spec->name);
    char path[PATH_MAX];
    attn_error resolve_err;
    if (attn_plugin_resolve(spec->plugin, config_dir, path, sizeof path, &resolve_err) != ATTN_OK) {
        if (!spec->optional)
            return attn_yaml_fail(y, plugin_node, "plugin", err, "backend '%s': %s", spec->name, resolve_err.message);
        /* An optional backend whose plugin was not built (no CUDA, no oneDNN) is kept, to be shown as SKIP. */
        spec->resolve_error = strdup(resolve_err.message);
        return spec->resolve_error ? ATTN_OK : attn_error_set(err, ATTN_E_NOMEM, "out of memory");
    }
    spec->plugin_path = strdup(path);
    if (!spec->plugin_path) return attn_error_set(err, ATTN_E_NOMEM, "out of memory");
    return ATTN_OK;
}

/* `priority: [a, b, ...]`: the order attn_select tries backends in; every name must be a
 * configured backend, once. */
static attn_status parse_priority(attn_yaml *y, yaml_node_t *node, attn_config *config, attn_error *err) {
    if (node->type != YAML_SEQUENCE_NODE || node->data.sequence.items.top == node->data.sequence.items.start)
        return attn_yaml_fail(y, node, "priority", err, "expected a non-empty list of backend names");
    size_t count = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    config->priority = calloc(count, sizeof *config->priority);
    if (!config->priority) return attn_error_set(err, ATTN_E_NOMEM, "out of memory");
    for (yaml_node_item_t *item = node->data.sequence.items.start; item < node->data.sequence.items.top; ++item) {
        yaml_node_t *entry = attn_yaml_get(y, *item);
        const char *name;
        attn_status st = attn_yaml_string(y, entry, "priority", &name, err);
        if (st != ATTN_OK) return st;
        int known = 0;
        for (uint32_t n = 0; n < config->backend_count; ++n) known |= !strcmp(config->backends[n].name, name);
        if (!known) return attn_yaml_fail(y, entry, "priority", err, "'%s' is not one of the configured backends", name);
        for (uint32_t n = 0; n < config->priority_count; ++n)
            if (!strcmp(config->priority[n], name))
                return attn_yaml_fail(y, entry, "priority", err, "'%s' is listed twice", name);
        if (!(config->priority[config->priority_count] = strdup(name)))
            return attn_error_set(err, ATTN_E_NOMEM, "out of memory");
        config->priority_count++;
    }
    return ATTN_OK;
}

/* `golden:` / `baseline:`: the backend entry that plays that role for the tools (the matrix,
 * attnrun --check).  libattn attaches no meaning to either; a host program may ignore them. */
static attn_status parse_role(attn_yaml *y, yaml_node_t *node, const char *role, const char *config_dir,
                              attn_backend_spec **out, attn_error *err) {
    if (!(*out = calloc(1, sizeof **out))) return attn_error_set(err, ATTN_E_NOMEM, "out of memory");
    return parse_backend(y, node, config_dir, role, *out, err);
}

static attn_status parse_config(attn_yaml *y, const char *config_dir, attn_config *config, attn_error *err) {
    yaml_node_t *root = attn_yaml_root(y);
    attn_status st = attn_yaml_expect_mapping(y, root, "the config", err);
    if (st != ATTN_OK) return st;
    yaml_node_t *backends = NULL, *golden = NULL, *baseline = NULL, *priority = NULL;
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; ++pair) {
        yaml_node_t *key = attn_yaml_get(y, pair->key);
        const char *k = (const char *)key->data.scalar.value;
        if (!strcmp(k, "backends")) backends = attn_yaml_get(y, pair->value);
        else if (!strcmp(k, "golden")) golden = attn_yaml_get(y, pair->value);
        else if (!strcmp(k, "baseline")) baseline = attn_yaml_get(y, pair->value);
        else if (!strcmp(k, "reference"))
            return attn_yaml_fail(y, key, "reference", err,
                                  "replaced by two backend entries, 'golden' and 'baseline' (README, \"The config\"); "
                                  "leave both out to use the default config's");
        else if (!strcmp(k, "priority")) priority = attn_yaml_get(y, pair->value);
        else return attn_yaml_unknown_key(y, key, top_keys, err);
    }
    if (!backends) return attn_yaml_fail(y, root, "backends", err, "missing: the config names no backends");
    if (backends->type != YAML_SEQUENCE_NODE || backends->data.sequence.items.top == backends->data.sequence.items.start)
        return attn_yaml_fail(y, backends, "backends", err, "expected a non-empty list of backend entries");
    size_t count = (size_t)(backends->data.sequence.items.top - backends->data.sequence.items.start);
    if (count > ATTN_CONFIG_MAX_BACKENDS)
        return attn_yaml_fail(y, backends, "backends", err, "%zu entries, more than the limit of %d", count,
                              ATTN_CONFIG_MAX_BACKENDS);
    config->backends = calloc(count, sizeof *config->backends);
    if (!config->backends) return attn_error_set(err, ATTN_E_NOMEM, "out of memory");
    for (yaml_node_item_t *item = backends->data.sequence.items.start; item < backends->data.sequence.items.top; ++item) {
        attn_backend_spec *spec = &config->backends[config->backend_count++];
        st = parse_backend(y, attn_yaml_get(y, *item), config_dir, NULL, spec, err);
        if (st != ATTN_OK) return st;
        for (uint32_t other = 0; other + 1 < config->backend_count; ++other)
            if (!strcmp(config->backends[other].name, spec->name))
                return attn_yaml_fail(y, attn_yaml_get(y, *item), "name", err, "backend '%s' is named twice (first at line %d)",
                                      spec->name, config->backends[other].line);
    }
    if (golden && (st = parse_role(y, golden, "golden", config_dir, &config->golden, err)) != ATTN_OK) return st;
    if (baseline && (st = parse_role(y, baseline, "baseline", config_dir, &config->baseline, err)) != ATTN_OK) return st;
    return priority ? parse_priority(y, priority, config, err) : ATTN_OK;
}

attn_status attn_config_parse(const char *text, size_t length, const char *source, const char *config_dir,
                              attn_config **out, attn_error *err) {
    *out = NULL;
    attn_config *config = calloc(1, sizeof *config);
    if (!config || !(config->source = strdup(source))) {
        free(config);
        return attn_error_set(err, ATTN_E_NOMEM, "out of memory");
    }
    attn_yaml y;
    attn_status st = attn_yaml_load(&y, text, length, config->source, err);
    if (st == ATTN_OK) {
        st = parse_config(&y, config_dir, config, err);
        attn_yaml_free(&y);
    }
    if (st != ATTN_OK) {
        attn_config_free(config);
        return st;
    }
    *out = config;
    return ATTN_OK;
}

attn_status attn_config_load(const char *path, attn_config **out, attn_error *err) {
    *out = NULL;
    char *text;
    size_t length;
    attn_status st = attn_read_file(path, &text, &length, err);
    if (st != ATTN_OK) return st;
    char dir[PATH_MAX];
    attn_dirname(path, dir, sizeof dir);
    st = attn_config_parse(text, length, path, dir, out, err);
    free(text);
    return st;
}
