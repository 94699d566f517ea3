/* attnrun's tensor files: .npy inputs into an instance, results out to .npy. */
#ifndef ATTNRUN_IO_H
#define ATTNRUN_IO_H

#include "attn_case.h"

/* Replaces inst's Q, K or V (which: 'q', 'k', 'v') by the file's values, rounded to the
 * case dtype so that every backend and the reference see the same numbers.  The file must
 * hold the canonical shape [B, H, T, D] of that tensor. */
attn_status attnrun_load_input(attn_instance *inst, char which, const char *path, attn_error *err);

/* Writes O as float32 [B, Hq, Tq, Dv] and LSE as float32 [B, Hq, Tq] (path NULL: skipped). */
attn_status attnrun_write_outputs(const attn_instance *inst, const attn_result *result, const char *o_path,
                                  const char *lse_path, attn_error *err);

#endif
