/* Plugin discovery: where a config's `plugin:` value points.  Deterministic and
 * documented in attn_host.h; every candidate tried is named when nothing is found. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attn/attn_host.h"
#include "internal.h"

#ifndef ATTN_INSTALL_PLUGIN_DIR
#define ATTN_INSTALL_PLUGIN_DIR "/usr/local/lib/attn/plugins"
#endif

void attn_dirname(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(out, cap, ".");
        return;
    }
    size_t n = (size_t)(slash - path);
    if (n == 0) n = 1; /* "/x" -> "/" */
    if (n >= cap) n = cap - 1;
    memcpy(out, path, n);
    out[n] = '\0';
}

/* A regular file (or a link to one): a folder named like a plugin must not shadow it. */
static int is_file(const char *path) {
    struct stat info;
    return stat(path, &info) == 0 && S_ISREG(info.st_mode);
}

/* Tries the file names a bare plugin name may have in one directory. */
static int try_directory(const char *dir, const char *name, char *out, size_t cap, char *tried, size_t tried_cap) {
    const char *const patterns[] = {"%s/%s", "%s/lib%s.so", "%s/%s.so"};
    for (size_t n = 0; n < sizeof patterns / sizeof patterns[0]; ++n) {
        char candidate[PATH_MAX];
        snprintf(candidate, sizeof candidate, patterns[n], dir, name);
        if (is_file(candidate)) {
            snprintf(out, cap, "%s", candidate);
            return 1;
        }
    }
    size_t used = strlen(tried);
    snprintf(tried + used, tried_cap - used, "%s%s", used ? ", " : "", dir);
    return 0;
}

static int executable_plugin_dir(char *out, size_t cap) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 0;
    exe[n] = '\0';
    char dir[PATH_MAX];
    attn_dirname(exe, dir, sizeof dir);
    int written = snprintf(out, cap, "%s/../plugins", dir);
    return written > 0 && (size_t)written < cap;
}

attn_status attn_plugin_resolve(const char *plugin, const char *config_dir, char *out_path, size_t out_cap, attn_error *err) {
    if (!plugin || !plugin[0]) return attn_error_set(err, ATTN_E_CONFIG, "empty plugin name");
    if (strchr(plugin, '/')) {
        if (plugin[0] == '/' || !config_dir)
            snprintf(out_path, out_cap, "%s", plugin);
        else
            snprintf(out_path, out_cap, "%s/%s", config_dir, plugin);
        if (!is_file(out_path)) return attn_error_set(err, ATTN_E_LOAD, "plugin file %s does not exist", out_path);
        return ATTN_OK;
    }
    char tried[2048] = "";
    const char *env = getenv("ATTN_PLUGIN_PATH");
    if (env && env[0]) {
        char *copy = strdup(env);
        if (!copy) return attn_error_set(err, ATTN_E_NOMEM, "out of memory");
        char *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
            if (try_directory(dir, plugin, out_path, out_cap, tried, sizeof tried)) {
                free(copy);
                return ATTN_OK;
            }
        }
        free(copy);
    }
    char build_dir[PATH_MAX];
    if (executable_plugin_dir(build_dir, sizeof build_dir) &&
        try_directory(build_dir, plugin, out_path, out_cap, tried, sizeof tried))
        return ATTN_OK;
    if (try_directory(ATTN_INSTALL_PLUGIN_DIR, plugin, out_path, out_cap, tried, sizeof tried)) return ATTN_OK;
    return attn_error_set(err, ATTN_E_LOAD, "plugin '%s' not found; looked for %s, lib%s.so and %s.so in: %s", plugin, plugin,
                          plugin, plugin, tried);
}
