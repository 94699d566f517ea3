/* Helpers shared by the files of libattn (the runtime) alone; not installed.  Helpers the
 * harness needs as well live in core/internal/. */
#ifndef ATTN_CORE_INTERNAL_H
#define ATTN_CORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "attn/host/attn_host.h"

/* Host log threshold from $ATTN_LOG (error, warn, info, debug); warn by default. */
int32_t attn_log_threshold(void);

/* The problem as libattn works on it: a copy of libattn's own size whatever size the caller
 * was compiled with (fields it did not have are zero), struct_size set to ours.  Refuses a
 * size below ABI 1.0's and non-zero fields beyond ours, naming the sizes (problem_size.c). */
attn_status attn_problem_adopt(const attn_problem *given, attn_problem *out, attn_error *err);
/* attn_problem_adopt, then attn_problem_validate's checks on the copy. */
attn_status attn_problem_adopt_valid(const attn_problem *given, attn_problem *out, attn_error *err);

#endif
