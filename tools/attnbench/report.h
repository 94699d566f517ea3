/* attnbench output: a text table or JSON, one row per (case, backend), streamed as the
 * rows come so that a long run shows progress. */
#ifndef ATTNBENCH_REPORT_H
#define ATTNBENCH_REPORT_H

#include <stdio.h>

#define REPORT_TABLE 0
#define REPORT_JSON 1

typedef struct bench_row {
    const char *backend, *case_name;
    const char *status; /* NULL: timed; else "UNSUPPORTED", "UNAVAILABLE" or "ERROR" */
    const char *reason;
    double ms_median, ms_min, ms_max, tflops, gbps; /* run + synchronize: the steady state */
    double ms_call_median; /* the whole attn_backend_run call: validation as well */
} bench_row;

typedef struct bench_report {
    FILE *out;
    int format;
    int rows;
} bench_report;

void report_begin(bench_report *r, FILE *out, int format);
void report_row(bench_report *r, const bench_row *row);
void report_end(bench_report *r);

#endif
