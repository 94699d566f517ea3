/* attninfo: which attention plugins this machine has, and why any of them does not load.
 *
 * Lists the backends of a config (--config, or the embedded default) and every plugin file in
 * the search path ($ATTN_PLUGIN_PATH, <exe>/../plugins, the installed plugin folder): its ABI
 * version, device and capabilities (describe(), ABI 1.1), or the loader's full reason for
 * refusing it.  --verbose also shows every folder and file considered.  Each plugin is asked in a
 * worker process of its own (probe.h): one that crashes, hangs or exits while it is opened is
 * listed as such and the listing goes on.
 * Exit status: 0 every candidate loaded (or is unavailable on this machine), 1 some candidate
 * failed to load, 2 bad usage or a broken config. */
#include <attn/host/attn_config.h>
#include <attn/host/attn_select.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend_report.h"
#include "exit_guard.h"
#include "probe.h"
#include "tool_config.h"

#define MAX_SEEN 256

typedef struct scan {
    int verbose;
    double timeout_s; /* per plugin probed; 0: no limit */
    int failures;
    uint32_t seen_count;
    char *seen[MAX_SEEN]; /* real paths already listed: one file found twice is listed once */
} scan;

static void usage(FILE *out) {
    fprintf(out,
            "usage: attninfo [--config FILE] [--verbose] [--timeout SECONDS]\n"
            "Lists the backends of a config and every plugin in the search path, with ABI version,\n"
            "device and capabilities, and every candidate that failed to load with the full reason.\n\n"
            "  --config FILE  the config to list (default: the embedded configs/default.yaml)\n"
            "  --verbose      also show every folder and file considered\n"
            "  --timeout SECONDS  how long one plugin may take to open and describe itself (default 30;\n"
            "                 0: no limit); each plugin is asked in a worker process of its own, so one\n"
            "                 that crashes, hangs or exits is listed as CRASHED, TIMED OUT or EXITED\n"
            "  --help         this text\n\n"
            "Search path: $ATTN_PLUGIN_PATH (':'-separated), <exe>/../plugins, the installed plugin folder.\n"
            "Exit status: 0 all loaded (or unavailable here), 1 some candidate failed to load, 2 bad usage or config.\n");
}

static int list_config(const attn_config *config, double timeout_s) {
    int failures = 0;
    printf("Backends of %s:\n", config->source);
    for (uint32_t n = 0; n < config->backend_count; ++n) {
        const attn_backend_spec *spec = &config->backends[n];
        if (attn_tool_print_backend_entry(stdout, spec, "  "))
            failures |=
                probe_candidate(spec->name, spec->plugin_path, spec->options, spec->option_count, "    ", timeout_s);
    }
    const attn_backend_spec *roles[2] = {config->golden, config->baseline};
    for (int n = 0; n < 2; ++n) /* attn_tool_config_load gives both */
        printf("%s: %s%s\n", n ? "Baseline" : "Golden", roles[n]->plugin_path ? roles[n]->plugin_path : roles[n]->plugin,
               roles[n]->plugin_path ? "" : " (NOT FOUND)");
    uint32_t order[64];
    uint32_t count = attn_config_selection_order(config, order, 64);
    printf("Selection order (%s):", config->priority_count ? "the config's priority" : "config order");
    for (uint32_t n = 0; n < count; ++n) printf("%s %s", n ? "," : "", config->backends[order[n]].name);
    printf("\n");
    return failures;
}

static int is_plugin_file_name(const char *name) {
    size_t length = strlen(name);
    return length > 3 && strcmp(name + length - 3, ".so") == 0;
}

static int already_seen(scan *s, const char *path) {
    char real[PATH_MAX];
    if (!realpath(path, real)) return 0;
    for (uint32_t n = 0; n < s->seen_count; ++n)
        if (strcmp(s->seen[n], real) == 0) return 1;
    if (s->seen_count < MAX_SEEN) s->seen[s->seen_count++] = strdup(real);
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every *.so of one search folder, in name order. */
static void visit_dir(const char *dir, const char *origin, void *context) {
    scan *s = context;
    DIR *handle = opendir(dir);
    if (!handle) {
        if (s->verbose) printf("  %s (%s): %s, skipped\n", dir, origin, strerror(errno));
        return;
    }
    char *names[512];
    uint32_t count = 0;
    for (struct dirent *entry; (entry = readdir(handle)) != NULL && count < 512;)
        if (entry->d_name[0] != '.') names[count++] = strdup(entry->d_name);
    closedir(handle);
    qsort(names, count, sizeof names[0], by_name);
    printf("  %s (%s)\n", dir, origin);
    for (uint32_t n = 0; n < count; ++n) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, names[n]);
        struct stat info;
        if (!names[n] || stat(path, &info) != 0 || !S_ISREG(info.st_mode) || !is_plugin_file_name(names[n])) {
            if (s->verbose) printf("    %s: skipped, not a .so file\n", names[n] ? names[n] : "?");
        } else if (already_seen(s, path)) {
            if (s->verbose) printf("    %s: skipped, already listed (the same file)\n", names[n]);
        } else {
            printf("    %s\n", names[n]);
            s->failures |= probe_candidate(NULL, path, NULL, 0, "      ", s->timeout_s);
        }
        free(names[n]);
    }
}

/* 1 when `text` is a number of seconds from 0 to 1e6. */
static int parse_timeout(const char *text, double *out) {
    char *end = NULL;
    double value = strtod(text, &end);
    if (!end || end == text || *end || !(value >= 0.0) || value > 1e6) return 0;
    *out = value;
    return 1;
}

int main(int argc, char **argv) {
    static const struct option long_options[] = {
        {"config", required_argument, 0, 'c'}, {"verbose", no_argument, 0, 'v'}, {"help", no_argument, 0, 'h'},
        {"timeout", required_argument, 0, 't'}, {0, 0, 0, 0}};
    const char *config_path = NULL;
    scan s;
    memset(&s, 0, sizeof s);
    s.timeout_s = 30.0;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (ch) {
        case 'c': config_path = optarg; break;
        case 'v': s.verbose = 1; break;
        case 'h': usage(stdout); return 0;
        case 't':
            if (!parse_timeout(optarg, &s.timeout_s)) {
                fprintf(stderr, "attninfo: --timeout '%s' is not a number of seconds (0 to 1e6)\n", optarg);
                return 2;
            }
            break;
        default:
            fprintf(stderr, "attninfo: unknown or incomplete option '%s' (see --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "attninfo: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    printf("libattn host ABI %u.%u (loads plugins of ABI %u.%u to %u.x)\n\n", ATTN_ABI_MAJOR, ATTN_ABI_MINOR,
           ATTN_ABI_VERSION_MAJOR_OF(ATTN_ABI_FLOOR), ATTN_ABI_VERSION_MINOR_OF(ATTN_ABI_FLOOR), ATTN_ABI_MAJOR);

    attn_tool_exit_guard_arm("attninfo");
    /* A broken config still leaves the search path worth listing: report it, go on, exit 2. */
    int config_broken = 0;
    attn_config *config = NULL;
    attn_error err = {0};
    if (attn_tool_config_load(config_path, &config, &err) == ATTN_OK) {
        s.failures |= list_config(config, s.timeout_s);
        attn_config_free(config);
    } else {
        fprintf(stderr, "attninfo: %s\n", err.message);
        printf("Config: BROKEN: %s\n", err.message);
        config_broken = 1;
    }
    printf("\nPlugins in the search path:\n");
    attn_plugin_search_dirs(visit_dir, &s);
    for (uint32_t n = 0; n < s.seen_count; ++n) free(s.seen[n]);
    attn_tool_exit_guard_disarm();
    return config_broken ? 2 : s.failures ? 1 : 0;
}
