/* Plugin discovery: where a config's `plugin:` value points.  Deterministic and
 * documented in attn_host.h; every candidate tried is named when nothing is found. */
#define _GNU_SOURCE /* dladdr: where libattn itself was loaded from */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attn/host/attn_host.h"
#include "internal/files.h"

#ifndef ATTN_INSTALL_PLUGIN_DIR
#define ATTN_INSTALL_PLUGIN_DIR "/usr/local/lib/attn/plugins"
#endif

/* A regular file (or a link to one): a folder named like a plugin must not shadow it. */
static int is_file(const char *path) {
    struct stat info;
    return stat(path, &info) == 0 && S_ISREG(info.st_mode);
}

/* Tries the file names a bare plugin name may have in one directory. */
static int try_directory(const char *dir, const char *name, char *out, size_t cap) {
    const char *const patterns[] = {"%s/%s", "%s/lib%s.so", "%s/%s.so"};
    for (size_t n = 0; n < sizeof patterns / sizeof patterns[0]; ++n) {
        char candidate[PATH_MAX];
        snprintf(candidate, sizeof candidate, patterns[n], dir, name);
        if (is_file(candidate)) {
            snprintf(out, cap, "%s", candidate);
            return 1;
        }
    }
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

/* <folder of libattn.so>/attn/plugins: where `cmake --install` puts the shipped plugins,
 * whatever --prefix said, because libattn is installed into the same libdir. */
static int library_plugin_dir(char *out, size_t cap) {
    Dl_info info;
    if (!dladdr((void *)&attn_plugin_search_dirs, &info) || !info.dli_fname || !strchr(info.dli_fname, '/')) return 0;
    char dir[PATH_MAX], real[PATH_MAX];
    attn_dirname(info.dli_fname, dir, sizeof dir);
    /* Loaded through an $ORIGIN/../lib rpath, the name reads "<prefix>/bin/../lib": say it plainly. */
    int written = snprintf(out, cap, "%s/attn/plugins", realpath(dir, real) ? real : dir);
    return written > 0 && (size_t)written < cap;
}

/* Same folder, however spelled ("a/../b", links)? */
static int same_dir(const char *a, const char *b) {
    char real_a[PATH_MAX], real_b[PATH_MAX];
    if (!realpath(a, real_a) || !realpath(b, real_b)) return strcmp(a, b) == 0;
    return strcmp(real_a, real_b) == 0;
}

void attn_plugin_search_dirs(attn_search_dir_fn visit, void *context) {
    const char *env = getenv("ATTN_PLUGIN_PATH");
    if (env && env[0]) {
        const char *dir = env;
        while (*dir) {
            size_t n = strcspn(dir, ":");
            if (n > 0 && n < PATH_MAX) {
                char one[PATH_MAX];
                memcpy(one, dir, n);
                one[n] = '\0';
                visit(one, "ATTN_PLUGIN_PATH", context);
            }
            dir += n;
            if (*dir == ':') ++dir;
        }
    }
    char dir[PATH_MAX];
    if (executable_plugin_dir(dir, sizeof dir)) visit(dir, "next to the executable", context);
    int have_library_dir = library_plugin_dir(dir, sizeof dir);
    if (have_library_dir) visit(dir, "next to libattn", context);
    if (!have_library_dir || !same_dir(dir, ATTN_INSTALL_PLUGIN_DIR)) visit(ATTN_INSTALL_PLUGIN_DIR, "install prefix", context);
}

/* The state of one bare-name search through attn_plugin_search_dirs. */
typedef struct search {
    const char *name;
    char *out;
    size_t out_cap;
    int found;
    char tried[4096];
} search;

static void search_visit(const char *dir, const char *origin, void *context) {
    (void)origin;
    search *s = context;
    if (s->found) return;
    if (try_directory(dir, s->name, s->out, s->out_cap)) {
        s->found = 1;
        return;
    }
    size_t used = strlen(s->tried);
    if (used + 1 < sizeof s->tried) snprintf(s->tried + used, sizeof s->tried - used, "%s%s", used ? ", " : "", dir);
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
    search s = {plugin, out_path, out_cap, 0, ""};
    attn_plugin_search_dirs(search_visit, &s);
    if (s.found) return ATTN_OK;
    return attn_error_set(err, ATTN_E_LOAD, "plugin '%s' not found; looked for %s, lib%s.so and %s.so in: %s", plugin, plugin,
                          plugin, plugin, s.tried);
}
