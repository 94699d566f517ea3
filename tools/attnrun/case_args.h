/* The case options of attnrun (--dtype, --batch, ... --seed), made from the harness's table of
 * case fields (case_fields.h): recorded while getopt runs, applied afterwards on top of the base
 * case (the defaults, a case file's case or a catalogue instance), so their order relative to
 * --case-file / --row does not matter. */
#ifndef ATTNRUN_CASE_ARGS_H
#define ATTNRUN_CASE_ARGS_H

#include <getopt.h>
#include <stdio.h>

#include "attn_case.h"

/* getopt_long codes of the case options start here. */
#define CASE_OPT_FIRST 1000
/* The case options for getopt_long, ending with a zero entry. */
const struct option *case_args_options(void);
/* Their --help lines, one per case field. */
void case_args_print_help(FILE *out);

#define CASE_ARGS_CAP 128

typedef struct case_args {
    int32_t count;
    int32_t codes[CASE_ARGS_CAP];
    const char *values[CASE_ARGS_CAP]; /* borrowed from argv */
} case_args;

/* 1 when a getopt code is one of the case options. */
int case_args_owns(int code);
attn_status case_args_record(case_args *args, int code, const char *value, attn_error *err);
/* Applies every recorded option to c in command-line order, then checks that the length
 * lists match the batch. */
attn_status case_args_apply(const case_args *args, attn_case *c, attn_error *err);

#endif
