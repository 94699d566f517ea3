/* attnbench: times backends over a list of shapes (warm-up, repeats, median/min/max via
 * attn_instance_time, which times on the backend's own device through its services) and
 * reports TFLOP/s over the visible pairs and GB/s over the least traffic (work.c).
 *
 * Exit status: 0 done (refusals are rows, not errors), 1 some backend failed on a shape,
 * 2 bad usage, config or shapes. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn_case.h"
#include <attn/host/attn_config.h>

#include "args.h"
#include "presets.h"
#include "report.h"
#include "exit_guard.h"
#include "tool_config.h"
#include "work.h"

static const char usage_text[] =
    "usage: attnbench [--config FILE] [--backend NAME]... [--shapes FILE | --preset NAME] [--dtype DTYPE]\n"
    "                 [--warmup N] [--repeats N] [--format table|json]\n"
    "\n"
    "Times each backend on each shape and prints median/min/max milliseconds of the steady\n"
    "state (the plugin's run and synchronize: validated and checked once, as a loop pays),\n"
    "TFLOP/s (2 * visible pairs * Hq * (D + Dv)) and GB/s (Q, O, LSE, and K/V once per kv head)\n"
    "from that median, then the median of whole attn_backend_run calls (validation as well).\n"
    "  --config FILE      the backend config (default: the one built into libattn)\n"
    "  --backend NAME     a backend of the config; repeatable.  Default: every backend but those\n"
    "                     running the config's golden plugin (the oracle), timed only when named\n"
    "  --shapes FILE      a case file (YAML) of shapes to time\n"
    "  --preset NAME      built-in shapes: prefill, decode, all (default) or tiny (for CI)\n"
    "  --dtype DTYPE      float32, float16 or bfloat16 for every shape (presets: bfloat16)\n"
    "  --warmup N         untimed runs first (default 3)\n"
    "  --repeats N        timed runs (default 10)\n"
    "  --format F         table (default) or json: {\"results\": [{\"backend\", \"case\", \"status\": \"ok\",\n"
    "                     \"ms_median\", \"ms_min\", \"ms_max\", \"tflops\", \"gbps\"}, ...]}; a row that was\n"
    "                     not timed has \"status\" UNSUPPORTED, UNAVAILABLE or ERROR and a \"reason\"\n"
    "A backend that refuses a shape gets the row 'UNSUPPORTED: reason'.\n"
    "Exit status: 0 done, 1 a backend failed on a shape, 2 bad usage, config or shapes.\n";

#define MAX_BACKENDS 32
#define EXIT_FAIL 1
#define EXIT_USAGE 2

enum { OPT_CONFIG = 1, OPT_BACKEND, OPT_SHAPES, OPT_PRESET, OPT_DTYPE, OPT_WARMUP, OPT_REPEATS, OPT_FORMAT, OPT_HELP };

static const struct option long_options[] = {
    {"config", required_argument, 0, OPT_CONFIG},   {"backend", required_argument, 0, OPT_BACKEND},
    {"shapes", required_argument, 0, OPT_SHAPES},   {"preset", required_argument, 0, OPT_PRESET},
    {"dtype", required_argument, 0, OPT_DTYPE},     {"warmup", required_argument, 0, OPT_WARMUP},
    {"repeats", required_argument, 0, OPT_REPEATS}, {"format", required_argument, 0, OPT_FORMAT},
    {"help", no_argument, 0, OPT_HELP},             {0, 0, 0, 0},
};

typedef struct bench_args {
    const char *config, *shapes, *preset;
    const char *backends[MAX_BACKENDS];
    int32_t backend_count;
    int32_t dtype; /* -1: as the shapes say */
    int64_t warmup, repeats;
    int format;
} bench_args;

/* One backend to time: opened, or the reason it could not be. */
typedef struct bench_backend {
    const char *name;
    attn_backend *backend;
    char unavailable[ATTN_ERROR_CAP];
} bench_backend;

static int usage_error(const char *message) {
    fprintf(stderr, "attnbench: %s (see --help)\n", message);
    return EXIT_USAGE;
}

static int fail(int code, const attn_error *err) {
    fprintf(stderr, "attnbench: %s\n", err->message);
    return code;
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, bench_args *a, attn_error *err) {
    *a = (bench_args){.dtype = -1, .warmup = 3, .repeats = 10, .format = REPORT_TABLE};
    opterr = 0;
    int code;
    while ((code = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        attn_status st = ATTN_OK;
        switch (code) {
        case OPT_CONFIG: a->config = optarg; break;
        case OPT_SHAPES: a->shapes = optarg; break;
        case OPT_PRESET: a->preset = optarg; break;
        case OPT_BACKEND:
            if (a->backend_count == MAX_BACKENDS) return usage_error("too many --backend options");
            a->backends[a->backend_count++] = optarg;
            break;
        case OPT_DTYPE:
            if ((a->dtype = attn_dtype_from_name(optarg)) < 0)
                return usage_error("--dtype: not float32, float16 or bfloat16");
            break;
        case OPT_WARMUP: st = attn_arg_i64("--warmup", optarg, 0, 1000000, &a->warmup, err); break;
        case OPT_REPEATS: st = attn_arg_i64("--repeats", optarg, 1, 1000000, &a->repeats, err); break;
        case OPT_FORMAT:
            if (strcmp(optarg, "table") == 0) a->format = REPORT_TABLE;
            else if (strcmp(optarg, "json") == 0) a->format = REPORT_JSON;
            else return usage_error("--format: not table or json");
            break;
        case 'h':
        case OPT_HELP: fputs(usage_text, stdout); return 0;
        default: {
            /* getopt puts the wanted option's code in optopt when a value is missing. */
            int missing_value = optopt >= OPT_CONFIG && optopt <= OPT_HELP;
            char message[300];
            snprintf(message, sizeof message, missing_value ? "option %s needs a value" : "unknown option %s",
                     argv[optind - 1]);
            return usage_error(message);
        }
        }
        if (st != ATTN_OK) return fail(EXIT_USAGE, err);
    }
    if (optind < argc) {
        char message[300];
        snprintf(message, sizeof message, "unexpected argument '%s'", argv[optind]);
        return usage_error(message);
    }
    if (a->shapes && a->preset) return usage_error("--shapes and --preset both choose the shapes: give one");
    return -1;
}

/* The shapes to time, each validated, with --dtype applied. */
static attn_status load_shapes(const bench_args *a, attn_case **cases, uint32_t *count, attn_error *err) {
    *cases = NULL;
    *count = 0;
    attn_status st = a->shapes ? attn_casefile_load(a->shapes, cases, count, err)
                               : bench_preset(a->preset ? a->preset : "all", cases, count, err);
    for (uint32_t n = 0; st == ATTN_OK && n < *count; ++n) {
        attn_case *c = &(*cases)[n];
        char label[ATTN_CASE_NAME_CAP];
        attn_case_label(c, label, sizeof label);
        /* A generated label names the dtype: remake it.  A name given in the file stays. */
        int generated = !c->name[0] || strcmp(c->name, label) == 0;
        if (a->dtype >= 0) c->dtype = a->dtype;
        if ((st = attn_case_validate(c, err)) != ATTN_OK) break;
        if (generated) attn_case_label(c, c->name, sizeof c->name);
        else if (!a->shapes) /* preset labels leave the dtype out */
            snprintf(c->name + strlen(c->name), sizeof c->name - strlen(c->name), " %s", attn_dtype_name(c->dtype));
    }
    if (st == ATTN_OK && *count == 0) st = attn_error_set(err, ATTN_E_INVALID, "%s: no shapes", a->shapes);
    if (st != ATTN_OK) {
        free(*cases);
        *cases = NULL;
    }
    return st;
}

/* The backends to time: the named ones, or every one but those running the golden plugin. */
static int open_backends(const bench_args *a, const attn_config *config, bench_backend *out, int32_t *count,
                         attn_error *err) {
    const char *names[MAX_BACKENDS];
    int32_t n = 0;
    if (a->backend_count) {
        for (int32_t b = 0; b < a->backend_count; ++b) names[n++] = a->backends[b];
    } else {
        for (uint32_t b = 0; b < config->backend_count && n < MAX_BACKENDS; ++b)
            if (!attn_tool_runs_golden_plugin(config, &config->backends[b])) names[n++] = config->backends[b].name;
        if (n == 0) {
            attn_error_set(err, ATTN_E_CONFIG,
                           "%s: no backend to time besides those running the golden plugin (%s), which are timed "
                           "only when named (--backend NAME)",
                           config->source, config->golden->plugin);
            return fail(EXIT_USAGE, err);
        }
    }
    *count = 0;
    for (int32_t b = 0; b < n; ++b) {
        const attn_backend_spec *spec = attn_tool_config_find(config, names[b], err);
        if (!spec) return fail(EXIT_USAGE, err);
        bench_backend *slot = &out[(*count)++];
        *slot = (bench_backend){.name = spec->name};
        attn_status st = attn_tool_backend_open(spec, &slot->backend, err);
        /* No device on this machine is a row, not an error: the table shows every backend. */
        if (st == ATTN_E_UNAVAILABLE) snprintf(slot->unavailable, sizeof slot->unavailable, "%s", err->message);
        else if (st != ATTN_OK) return fail(EXIT_USAGE, err);
    }
    return -1;
}

static int compare_doubles(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Sorts times[count] and returns their median. */
static double sorted_median(double *times, int64_t count) {
    qsort(times, (size_t)count, sizeof *times, compare_doubles);
    return count % 2 ? times[count / 2] : 0.5 * (times[count / 2 - 1] + times[count / 2]);
}

/* Times one backend on one instance into row; returns 1 when it failed (not refused).
 * times holds two series of a->repeats: the steady-state runs, then the whole calls. */
static int time_one(const bench_args *a, bench_backend *bb, const attn_instance *inst, const bench_work *work,
                    double *times, bench_row *row, char *reason, size_t reason_cap) {
    *row = (bench_row){.backend = bb->name, .case_name = inst->c.name, .reason = reason};
    if (!bb->backend) {
        row->status = "UNAVAILABLE";
        snprintf(reason, reason_cap, "%s", bb->unavailable);
        return 0;
    }
    attn_error err = {0};
    int64_t r = a->repeats;
    attn_status st = attn_instance_time(bb->backend, inst, (int32_t)a->warmup, (int32_t)r, times, times + r, &err);
    if (st != ATTN_OK) {
        int refused = attn_tool_refused(st);
        row->status = refused ? "UNSUPPORTED" : "ERROR";
        snprintf(reason, reason_cap, "%s", err.message);
        return !refused;
    }
    row->ms_median = sorted_median(times, r);
    row->ms_min = times[0];
    row->ms_max = times[r - 1];
    row->ms_call_median = sorted_median(times + r, r);
    double seconds = row->ms_median * 1e-3;
    row->tflops = seconds > 0 ? work->flops / seconds * 1e-12 : 0.0;
    row->gbps = seconds > 0 ? work->bytes / seconds * 1e-9 : 0.0;
    return 0;
}

static int bench(const bench_args *a, attn_error *err) {
    attn_case *cases = NULL;
    uint32_t case_count = 0;
    if (load_shapes(a, &cases, &case_count, err) != ATTN_OK) return fail(EXIT_USAGE, err);
    attn_config *config = NULL;
    if (attn_tool_config_load(a->config, &config, err) != ATTN_OK) {
        free(cases);
        return fail(EXIT_USAGE, err);
    }
    bench_backend backends[MAX_BACKENDS];
    int32_t backend_count = 0;
    int code = open_backends(a, config, backends, &backend_count, err);
    double *times = malloc(sizeof *times * 2 * (size_t)a->repeats);
    if (code < 0 && !times) code = fail(EXIT_USAGE, &(attn_error){ATTN_E_NOMEM, "out of memory"});

    int failures = 0;
    if (code < 0) {
        bench_report report;
        report_begin(&report, stdout, a->format);
        /* Shapes outside, backends inside: each instance is generated once. */
        for (uint32_t s = 0; s < case_count; ++s) {
            attn_instance inst;
            bench_work work;
            char reason[ATTN_ERROR_CAP];
            bench_row row;
            attn_status st = attn_instance_make(&cases[s], &inst, err);
            int made = st == ATTN_OK; /* a failed make has already freed what it made */
            if (made) st = bench_count_work(&inst, &work, err);
            for (int32_t b = 0; b < backend_count; ++b) {
                if (st != ATTN_OK) {
                    row = (bench_row){.backend = backends[b].name, .case_name = cases[s].name, .status = "ERROR",
                                      .reason = err->message};
                    failures++;
                } else {
                    failures += time_one(a, &backends[b], &inst, &work, times, &row, reason, sizeof reason);
                }
                report_row(&report, &row);
            }
            if (made) attn_instance_free(&inst);
        }
        report_end(&report);
        code = failures ? EXIT_FAIL : 0;
    }
    for (int32_t b = 0; b < backend_count; ++b) attn_backend_close(backends[b].backend);
    free(times);
    attn_config_free(config);
    free(cases);
    return code;
}

int main(int argc, char **argv) {
    bench_args args;
    attn_error err = {0};
    int code = parse_args(argc, argv, &args, &err);
    if (code >= 0) return code;
    attn_tool_exit_guard_arm("attnbench");
    code = bench(&args, &err);
    attn_tool_exit_guard_disarm();
    return code;
}
