/* Strict parsing of command-line values: the whole text must be a number in range, so a
 * typo like "--batch 2x" is an error instead of a silent 2. */
#ifndef ATTN_TOOLS_ARGS_H
#define ATTN_TOOLS_ARGS_H

#include <stdint.h>

#include <attn/host/attn_host.h>

attn_status attn_arg_i64(const char *option, const char *text, int64_t min, int64_t max, int64_t *out,
                         attn_error *err);
attn_status attn_arg_u64(const char *option, const char *text, uint64_t *out, attn_error *err);
/* A finite double. */
attn_status attn_arg_double(const char *option, const char *text, double *out, attn_error *err);
/* "a,b,c": at most cap int32 values in [min, max]; *count gets how many. */
attn_status attn_arg_i32_list(const char *option, const char *text, int32_t min, int32_t max, int32_t *out,
                              int32_t cap, int32_t *count, attn_error *err);

#endif
