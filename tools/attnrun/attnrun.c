/* attnrun: one backend, one problem.  Inputs come from .npy files or are generated from a
 * seed; O and LSE go out as .npy.  For reproducing a mismatch from real tensors.
 *
 * Exit status: 0 done (and PASS with --check), 1 FAIL, or the backend refused or failed,
 * 2 bad usage, config or input. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn_case.h"
#include <attn/host/attn_config.h>

#include "args.h"
#include "case_args.h"
#include "io.h"
#include "exit_guard.h"
#include "tool_config.h"

/* The usage text around the case options, whose lines come from the table of case fields. */
static const char usage_head[] =
    "usage: attnrun [--config FILE] --backend NAME [case options] [--q q.npy --k k.npy --v v.npy]\n"
    "               [--out-o o.npy] [--out-lse lse.npy] [--check]\n"
    "\n"
    "Runs one backend on one problem instance.  The case is the defaults, or taken from\n"
    "  --case-file FILE [--case-index N]   a YAML case file (N from 0, default 0)\n"
    "  --row NAME [--instance N]          instance N of a row of the built-in table\n"
    "and then changed by the case options, in any order:\n";
static const char usage_tail[] =
    "Inputs (canonical [B,H,T,D] float32/float16/float64/int32, or uint16 bfloat16 bits;\n"
    "values are rounded to --dtype; files replace generated tensors):\n"
    "  --q FILE --k FILE --v FILE\n"
    "Outputs (float32 .npy): --out-o FILE [B,Hq,Tq,Dv], --out-lse FILE [B,Hq,Tq] (implies --lse)\n"
    "  --check      also run the config's golden and baseline entries and compare:\n"
    "               prints PASS or FAIL with the error and the tolerance\n"
    "  --config FILE  the backend config (default: the one built into libattn)\n"
    "Exit status: 0 ok, 1 FAIL or the backend refused or failed, 2 bad usage, config or input.\n";

static void print_usage(void) {
    fputs(usage_head, stdout);
    case_args_print_help(stdout);
    fputs(usage_tail, stdout);
}

enum {
    OPT_CONFIG = 1, OPT_BACKEND, OPT_Q, OPT_K, OPT_V, OPT_OUT_O, OPT_OUT_LSE, OPT_CHECK, OPT_CASE_FILE,
    OPT_CASE_INDEX, OPT_ROW, OPT_INSTANCE, OPT_HELP
};

static const struct option own_options[] = {
    {"config", required_argument, 0, OPT_CONFIG},   {"backend", required_argument, 0, OPT_BACKEND},
    {"q", required_argument, 0, OPT_Q},             {"k", required_argument, 0, OPT_K},
    {"v", required_argument, 0, OPT_V},             {"out-o", required_argument, 0, OPT_OUT_O},
    {"out-lse", required_argument, 0, OPT_OUT_LSE}, {"check", no_argument, 0, OPT_CHECK},
    {"case-file", required_argument, 0, OPT_CASE_FILE}, {"case-index", required_argument, 0, OPT_CASE_INDEX},
    {"row", required_argument, 0, OPT_ROW},         {"instance", required_argument, 0, OPT_INSTANCE},
    {"help", no_argument, 0, OPT_HELP},             {0, 0, 0, 0},
};

typedef struct run_args {
    const char *config, *backend, *q, *k, *v, *out_o, *out_lse, *case_file, *row;
    int64_t case_index, instance;
    int case_index_given, instance_given;
    int check;
    case_args case_opts;
} run_args;

#define EXIT_FAIL 1
#define EXIT_USAGE 2

static int usage_error(const char *message) {
    fprintf(stderr, "attnrun: %s (see --help)\n", message);
    return EXIT_USAGE;
}

static int fail(int code, const attn_error *err) {
    fprintf(stderr, "attnrun: %s\n", err->message);
    return code;
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, run_args *a, attn_error *err) {
    struct option table[128];
    size_t n = 0;
    for (const struct option *o = own_options; o->name; ++o) table[n++] = *o;
    for (const struct option *o = case_args_options(); o->name && n + 1 < sizeof table / sizeof table[0]; ++o)
        table[n++] = *o;
    table[n] = (struct option){0, 0, 0, 0};

    opterr = 0; /* our own one-line messages */
    int code;
    while ((code = getopt_long(argc, argv, "h", table, NULL)) != -1) {
        attn_status st = ATTN_OK;
        switch (code) {
        case OPT_CONFIG: a->config = optarg; break;
        case OPT_BACKEND: a->backend = optarg; break;
        case OPT_Q: a->q = optarg; break;
        case OPT_K: a->k = optarg; break;
        case OPT_V: a->v = optarg; break;
        case OPT_OUT_O: a->out_o = optarg; break;
        case OPT_OUT_LSE: a->out_lse = optarg; break;
        case OPT_CHECK: a->check = 1; break;
        case OPT_CASE_FILE: a->case_file = optarg; break;
        case OPT_ROW: a->row = optarg; break;
        case OPT_CASE_INDEX:
            a->case_index_given = 1;
            st = attn_arg_i64("--case-index", optarg, 0, INT32_MAX, &a->case_index, err);
            break;
        case OPT_INSTANCE:
            a->instance_given = 1;
            st = attn_arg_i64("--instance", optarg, 0, INT32_MAX, &a->instance, err);
            break;
        case 'h':
        case OPT_HELP: print_usage(); return 0;
        case '?': {
            /* getopt puts the wanted option's code in optopt when a value is missing. */
            int missing_value = (optopt >= OPT_CONFIG && optopt <= OPT_HELP) || case_args_owns(optopt);
            char message[300];
            snprintf(message, sizeof message, missing_value ? "option %s needs a value" : "unknown option %s",
                     argv[optind - 1]);
            return usage_error(message);
        }
        default:
            if (case_args_owns(code)) st = case_args_record(&a->case_opts, code, optarg, err);
            else return usage_error("internal: unhandled option");
        }
        if (st != ATTN_OK) return fail(EXIT_USAGE, err);
    }
    if (optind < argc) {
        char message[300];
        snprintf(message, sizeof message, "unexpected argument '%s'", argv[optind]);
        return usage_error(message);
    }
    if (!a->backend) return usage_error("--backend NAME is required");
    if (a->case_file && a->row) return usage_error("--case-file and --row both choose the case: give one");
    if (a->case_index_given && !a->case_file) return usage_error("--case-index needs --case-file");
    if (a->instance_given && !a->row) return usage_error("--instance needs --row");
    return -1;
}

/* The base case: instance N of a built-in row, case N of a case file, or the defaults. */
static attn_status choose_case(const run_args *a, attn_case *out, attn_error *err) {
    attn_case *cases = NULL;
    uint32_t count = 0;
    attn_status st;
    if (a->case_file) {
        if ((st = attn_casefile_load(a->case_file, &cases, &count, err)) != ATTN_OK) return st;
        if (a->case_index >= count)
            st = attn_error_set(err, ATTN_E_INVALID, "%s: --case-index %lld, but the file has %u cases", a->case_file,
                                (long long)a->case_index, count);
        else
            *out = cases[a->case_index];
        free(cases);
        return st;
    }
    if (a->row) {
        if ((st = attn_catalogue_instances(&cases, &count, err)) != ATTN_OK) return st;
        int64_t seen = 0;
        for (uint32_t n = 0; n < count; ++n) {
            if (strcmp(cases[n].row, a->row) != 0) continue;
            if (seen++ == a->instance) {
                *out = cases[n];
                free(cases);
                return ATTN_OK;
            }
        }
        free(cases);
        if (seen)
            return attn_error_set(err, ATTN_E_INVALID, "row '%s' has %lld instances; --instance %lld is out of range",
                                  a->row, (long long)seen, (long long)a->instance);
        char rows[1024] = "";
        size_t used = 0;
        for (uint32_t r = 0; r < attn_catalogue_row_count() && used < sizeof rows; ++r)
            used += (size_t)snprintf(rows + used, sizeof rows - used, "%s'%s'", r ? ", " : "",
                                     attn_catalogue_row(r)->name);
        return attn_error_set(err, ATTN_E_INVALID, "no row named '%s' (rows: %s)", a->row, rows);
    }
    attn_case_defaults(out);
    return ATTN_OK;
}

/* Runs one backend entry on the instance.  Golden and baseline run canonical (contiguous
 * BHTD, no cache view), as the matrix computes them, so a layout or cache-view bug in the
 * candidate cannot hide in them. */
static int execute_on(const attn_backend_spec *spec, int canonical, const attn_instance *inst, attn_result *out,
                      attn_error *err) {
    attn_backend *backend = NULL;
    attn_status st = attn_tool_backend_open(spec, &backend, err);
    if (st != ATTN_OK) return fail(st == ATTN_E_UNAVAILABLE ? EXIT_FAIL : EXIT_USAGE, err);
    attn_exec_options options = {0};
    options.canonical = canonical;
    /* Golden's LSE is compared whenever the candidate gives one: ask for it whatever the
     * instance wants, as attnmatrix does. */
    options.force_lse = canonical;
    st = attn_instance_execute(backend, inst, &options, out, err);
    if (st != ATTN_OK) {
        char name[300];
        snprintf(name, sizeof name, "%s", attn_backend_name(backend));
        attn_backend_close(backend);
        fprintf(stderr, "attnrun: %s %s: %s\n", name, attn_tool_refused(st) ? "refused the problem" : "failed",
                err->message);
        return EXIT_FAIL;
    }
    attn_backend_close(backend);
    return -1;
}

/* --check: the config's golden entry and SPEC.md's tolerance. */
static int check_against_reference(const attn_config *config, const char *backend, const attn_instance *inst,
                                   const attn_result *candidate, attn_error *err) {
    attn_result golden = {0};
    attn_tolerance tolerance = {0};
    int code = execute_on(config->golden, 1, inst, &golden, err);
    if (code < 0 && attn_tolerance_make(inst, &tolerance, err) != ATTN_OK) code = fail(EXIT_USAGE, err);
    if (code < 0) {
        attn_verdict verdict;
        attn_compare(inst, &golden, &tolerance, candidate, &verdict);
        printf("check %s against %s: %s  O max err %.3g, err/tolerance %.3g", backend, config->golden->name,
               verdict.pass ? "PASS" : "FAIL", verdict.max_err_o, verdict.ratio);
        if (inst->c.want_lse) printf("  LSE max err %.3g", verdict.max_err_lse);
        printf("%s%s\n", verdict.detail[0] ? "  " : "", verdict.detail);
        code = verdict.pass ? 0 : EXIT_FAIL;
    }
    attn_tolerance_free(&tolerance);
    attn_result_free(&golden);
    return code;
}

static int run(const run_args *a, attn_error *err) {
    attn_case c;
    if (choose_case(a, &c, err) != ATTN_OK) return fail(EXIT_USAGE, err);
    if (case_args_apply(&a->case_opts, &c, err) != ATTN_OK) return fail(EXIT_USAGE, err);
    if (a->out_lse) c.want_lse = 1;
    if (attn_case_validate(&c, err) != ATTN_OK) return fail(EXIT_USAGE, err);

    attn_config *config = NULL;
    if (attn_tool_config_load(a->config, &config, err) != ATTN_OK) return fail(EXIT_USAGE, err);
    int code = -1;
    const attn_backend_spec *spec = attn_tool_config_find(config, a->backend, err);
    attn_instance inst = {0};
    if (!spec) code = fail(EXIT_USAGE, err);
    else if (attn_instance_make(&c, &inst, err) != ATTN_OK) code = fail(EXIT_USAGE, err);
    const char *inputs[3] = {a->q, a->k, a->v};
    for (int n = 0; code < 0 && n < 3; ++n)
        if (inputs[n] && attnrun_load_input(&inst, "qkv"[n], inputs[n], err) != ATTN_OK) code = fail(EXIT_USAGE, err);

    attn_result result = {0};
    if (code < 0) code = execute_on(spec, 0, &inst, &result, err);
    if (code < 0) {
        printf("%s on %s: done\n", a->backend, inst.c.name);
        if (attnrun_write_outputs(&inst, &result, a->out_o, a->out_lse, err) != ATTN_OK) code = fail(EXIT_USAGE, err);
    }
    if (code < 0 && a->check) code = check_against_reference(config, a->backend, &inst, &result, err);
    attn_result_free(&result);
    attn_instance_free(&inst);
    attn_config_free(config);
    return code < 0 ? 0 : code;
}

int main(int argc, char **argv) {
    run_args args = {0};
    attn_error err = {0};
    int code = parse_args(argc, argv, &args, &err);
    if (code >= 0) return code;
    attn_tool_exit_guard_arm("attnrun");
    code = run(&args, &err);
    attn_tool_exit_guard_disarm();
    return code;
}
