/* attnmatrix: every backend of a config over the masking/caching table, cross-checked.
 * Exit status: 0 nothing failed, 1 some cell FAIL, 2 bad usage or config. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend_report.h"
#include "exit_guard.h"
#include "matrix.h"
#include "tool_config.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: attnmatrix [options]\n"
            "Runs every backend of a config over the masking/caching table of SPEC.md and\n"
            "cross-checks every pair against the float64 reference.\n\n"
            "  --config FILE     backends to run (default: the embedded configs/default.yaml)\n"
            "  --cases FILE      add the cases of a YAML case file (rows of their own or of the table)\n"
            "  --no-builtin      run only the cases of --cases\n"
            "  --rows TEXT       only rows whose name contains TEXT\n"
            "  --dtype NAME      only float32, float16 or bfloat16 instances\n"
            "  --seeds N         run every instance N times, each with inputs drawn from another seed\n"
            "                    (default 1): how a kernel's margin holds over many draws\n"
            "  --first-draw K    begin at draw K (default 0): runs over draws K.. and 0.. together\n"
            "                    cover what one run over both would, split over processes\n"
            "  --format FORMAT   table (default) or json\n"
            "  --pairs           also print the pairwise max differences of every row\n"
            "  --explain         also print per-cell counts and errors\n"
            "  --isolate         run each backend, golden and baseline in a worker process of its own:\n"
            "                    a plugin that crashes or hangs shows CRASH or TIMEOUT (a reference:\n"
            "                    FAIL in its instance's row, \"golden crashed: ...\") and the table\n"
            "                    still prints; whatever the plugin forked is killed with its worker\n"
            "  --timeout SECONDS under --isolate, per execution (default 120; 0: no limit)\n"
            "  --list            list the configured backends (ABI version, device, capabilities) and exit\n"
            "  --quiet           no progress on stderr\n"
            "  --help            this text\n\n"
            "Exit status: 0 when no cell failed, 1 on a FAIL, CRASH or TIMEOUT, 2 on bad usage or config.\n");
}

typedef struct cli {
    const char *config_path, *cases_path, *row_filter, *format;
    int32_t dtype;
    uint32_t seeds, first_draw;
    int pairs, explain, quiet, list, no_builtin, isolate;
    double timeout_s;
} cli;

static int parse_cli(int argc, char **argv, cli *opts) {
    static const struct option long_options[] = {
        {"config", required_argument, 0, 'c'}, {"cases", required_argument, 0, 'k'}, {"rows", required_argument, 0, 'r'},
        {"dtype", required_argument, 0, 'd'},  {"format", required_argument, 0, 'f'}, {"pairs", no_argument, 0, 'p'},
        {"explain", no_argument, 0, 'e'},      {"quiet", no_argument, 0, 'q'},       {"list", no_argument, 0, 'l'},
        {"no-builtin", no_argument, 0, 'n'},   {"help", no_argument, 0, 'h'},        {"isolate", no_argument, 0, 'i'},
        {"timeout", required_argument, 0, 't'}, {"seeds", required_argument, 0, 's'},
        {"first-draw", required_argument, 0, 'w'}, {0, 0, 0, 0}};
    memset(opts, 0, sizeof *opts);
    opts->format = "table";
    opts->dtype = -1;
    opts->timeout_s = 120.0;
    opts->seeds = 1;
    int timeout_given = 0;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (ch) {
        case 'c': opts->config_path = optarg; break;
        case 'k': opts->cases_path = optarg; break;
        case 'r': opts->row_filter = optarg; break;
        case 'd':
            opts->dtype = attn_dtype_from_name(optarg);
            if (opts->dtype < 0) {
                fprintf(stderr, "attnmatrix: --dtype '%s' is not float32, float16 or bfloat16\n", optarg);
                return 2;
            }
            break;
        case 'f': opts->format = optarg; break;
        case 'p': opts->pairs = 1; break;
        case 'e': opts->explain = 1; break;
        case 'q': opts->quiet = 1; break;
        case 'l': opts->list = 1; break;
        case 'n': opts->no_builtin = 1; break;
        case 'i': opts->isolate = 1; break;
        case 't': {
            char *end = NULL;
            opts->timeout_s = strtod(optarg, &end);
            if (!end || end == optarg || *end || !(opts->timeout_s >= 0.0) || opts->timeout_s > 1e6) {
                fprintf(stderr, "attnmatrix: --timeout '%s' is not a number of seconds (0 to 1e6)\n", optarg);
                return 2;
            }
            timeout_given = 1;
            break;
        }
        case 's':
        case 'w': {
            char *end = NULL;
            long value = strtol(optarg, &end, 10);
            long lowest = ch == 's' ? 1 : 0;
            if (!end || end == optarg || *end || value < lowest || value > 100000) {
                fprintf(stderr, "attnmatrix: %s '%s' is not a whole number from %ld to 100000\n",
                        ch == 's' ? "--seeds" : "--first-draw", optarg, lowest);
                return 2;
            }
            *(ch == 's' ? &opts->seeds : &opts->first_draw) = (uint32_t)value;
            break;
        }
        case 'h': usage(stdout); exit(0);
        default:
            fprintf(stderr, "attnmatrix: unknown or incomplete option '%s' (see --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "attnmatrix: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    if (strcmp(opts->format, "table") && strcmp(opts->format, "json")) {
        fprintf(stderr, "attnmatrix: --format '%s' is not table or json\n", opts->format);
        return 2;
    }
    if (opts->no_builtin && !opts->cases_path) {
        fprintf(stderr, "attnmatrix: --no-builtin needs --cases FILE\n");
        return 2;
    }
    if (timeout_given && !opts->isolate) {
        fprintf(stderr, "attnmatrix: --timeout needs --isolate (only a worker process can be stopped)\n");
        return 2;
    }
    return 0;
}

/* The built-in catalogue followed by the case file's cases. */
static attn_status gather_cases(const cli *opts, attn_case **out, uint32_t *count, attn_error *err) {
    attn_case *builtin = NULL, *extra = NULL;
    uint32_t builtin_count = 0, extra_count = 0;
    attn_status st = opts->no_builtin ? ATTN_OK : attn_catalogue_instances(&builtin, &builtin_count, err);
    if (st == ATTN_OK && opts->cases_path) st = attn_casefile_load(opts->cases_path, &extra, &extra_count, err);
    if (st == ATTN_OK) {
        *out = realloc(builtin, sizeof **out * (builtin_count + extra_count + 1));
        if (!*out) st = attn_error_set(err, ATTN_E_NOMEM, "out of memory");
        else {
            if (extra_count) memcpy(*out + builtin_count, extra, sizeof *extra * extra_count);
            *count = builtin_count + extra_count;
            builtin = NULL;
        }
    }
    free(builtin);
    free(extra);
    return st;
}

/* --rows / --dtype that select nothing are a usage error that names the rows there are, not an
 * empty table that exits 0. */
static attn_status check_selection(const cli *opts, const attn_case *cases, uint32_t count, attn_error *err) {
    char rows[2048] = "";
    size_t used = 0;
    for (uint32_t n = 0; n < count; ++n) {
        if (matrix_selects(&cases[n], opts->row_filter, opts->dtype)) return ATTN_OK;
        int listed = 0; /* rows come in runs: the catalogue's instances are grouped by row */
        for (uint32_t m = 0; m < n && !listed; ++m) listed = !strcmp(cases[m].row, cases[n].row);
        if (!listed && used < sizeof rows)
            used += (size_t)snprintf(rows + used, sizeof rows - used, "%s'%s'", used ? ", " : "", cases[n].row);
    }
    return attn_error_set(err, ATTN_E_CONFIG, "--rows '%s'%s%s selects no instance; the rows are: %s",
                          opts->row_filter ? opts->row_filter : "", opts->dtype >= 0 ? " with --dtype " : "",
                          opts->dtype >= 0 ? attn_dtype_name(opts->dtype) : "", count ? rows : "none");
}

/* --list: each configured backend in attninfo's words (backend_report.h), or why it is skipped. */
static void list_backends(const matrix *m) {
    for (uint32_t n = 0; n < m->backend_count; ++n) {
        const matrix_backend *mb = &m->backends[n];
        if (!attn_tool_print_backend_entry(stdout, mb->spec, "")) continue;
        if (mb->backend)
            attn_tool_print_backend(stdout, mb->backend, "  ");
        else /* matrix_open skips a found plugin only when it is unavailable here, and fails on any other error */
            attn_tool_print_open_failure(stdout, ATTN_E_UNAVAILABLE, mb->skip_reason, "  ");
    }
}

int main(int argc, char **argv) {
    cli opts;
    int rc = parse_cli(argc, argv, &opts);
    if (rc) return rc;
    attn_tool_exit_guard_arm("attnmatrix");
    attn_error err = {0};
    attn_config *config = NULL;
    attn_case *cases = NULL;
    uint32_t case_count = 0;
    matrix m;
    memset(&m, 0, sizeof m);
    m.progress = !opts.quiet && isatty(STDERR_FILENO);
    m.isolate = opts.isolate && !opts.list; /* --list opens the backends here to ask them */
    m.timeout_s = opts.timeout_s;

    attn_status st = attn_tool_config_load(opts.config_path, &config, &err);
    if (st == ATTN_OK && !opts.list) st = gather_cases(&opts, &cases, &case_count, &err);
    if (st == ATTN_OK && !opts.list) st = check_selection(&opts, cases, case_count, &err);
    if (st == ATTN_OK) st = matrix_open(&m, config, &err);
    if (st == ATTN_OK && opts.list) {
        list_backends(&m);
        rc = 0;
    } else if (st == ATTN_OK) {
        st = matrix_run(&m, cases, case_count, opts.row_filter, opts.dtype, opts.first_draw, opts.seeds, &err);
        if (st == ATTN_OK) {
            if (!strcmp(opts.format, "json")) {
                matrix_print_json(&m, stdout);
            } else {
                matrix_print_table(&m, stdout, opts.explain);
                if (opts.pairs) matrix_print_pairs(&m, stdout);
            }
            rc = matrix_has_failure(&m) ? 1 : 0;
        }
    }
    if (st != ATTN_OK) {
        fprintf(stderr, "attnmatrix: %s\n", err.message);
        rc = 2;
    }
    matrix_close(&m);
    free(cases);
    attn_config_free(config);
    attn_tool_exit_guard_disarm();
    return rc;
}
