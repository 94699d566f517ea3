#include "report.h"

#include "json_out.h"

void report_begin(bench_report *r, FILE *out, int format) {
    r->out = out;
    r->format = format;
    r->rows = 0;
    if (format == REPORT_JSON) {
        fputs("{\"results\": [", out);
    } else {
        fprintf(out, "%-20s %-40s %10s %10s %10s %9s %9s %10s\n", "backend", "case", "ms median", "ms min", "ms max",
                "TFLOP/s", "GB/s", "call ms");
    }
    fflush(out);
}

static void json_row(FILE *out, const bench_row *row) {
    fputs("{\"backend\": ", out);
    json_string(out, row->backend);
    fputs(", \"case\": ", out);
    json_string(out, row->case_name);
    if (row->status) {
        fputs(", \"status\": ", out);
        json_string(out, row->status);
        fputs(", \"reason\": ", out);
        json_string(out, row->reason ? row->reason : "");
    } else {
        fprintf(out,
                ", \"status\": \"ok\", \"ms_median\": %.6g, \"ms_min\": %.6g, \"ms_max\": %.6g, \"tflops\": %.6g, "
                "\"gbps\": %.6g, \"ms_call_median\": %.6g",
                row->ms_median, row->ms_min, row->ms_max, row->tflops, row->gbps, row->ms_call_median);
    }
    fputc('}', out);
}

void report_row(bench_report *r, const bench_row *row) {
    if (r->format == REPORT_JSON) {
        fputs(r->rows ? ",\n  " : "\n  ", r->out);
        json_row(r->out, row);
    } else if (row->status) {
        fprintf(r->out, "%-20s %-40s %s: %s\n", row->backend, row->case_name, row->status, row->reason);
    } else {
        fprintf(r->out, "%-20s %-40s %10.4f %10.4f %10.4f %9.4g %9.4g %10.4f\n", row->backend, row->case_name,
                row->ms_median, row->ms_min, row->ms_max, row->tflops, row->gbps, row->ms_call_median);
    }
    r->rows++;
    fflush(r->out);
}

void report_end(bench_report *r) {
    if (r->format == REPORT_JSON) fputs(r->rows ? "\n]}\n" : "]}\n", r->out);
    fflush(r->out);
}
