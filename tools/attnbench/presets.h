/* attnbench's built-in shape lists. */
#ifndef ATTNBENCH_PRESETS_H
#define ATTNBENCH_PRESETS_H

#include "attn_case.h"

/* Appends the cases of preset `name` (prefill, decode, all, tiny) to *cases (realloc'd).
 * ATTN_E_INVALID names the known presets when the name is unknown. */
attn_status bench_preset(const char *name, attn_case **cases, uint32_t *count, attn_error *err);

#endif
