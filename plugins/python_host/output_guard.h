/* Telling "run() wrote nothing" from "run() wrote wrong values" (plugin.c). */
#ifndef ATTN_PYTHON_HOST_OUTPUT_GUARD_H
#define ATTN_PYTHON_HOST_OUTPUT_GUARD_H

#include <attn/plugin/attn_plugin.h>

/* Fills every element of a float32/float16/bfloat16 CPU tensor with a NaN of a payload no
 * arithmetic produces. */
void output_guard_fill(const DLTensor *t);

/* How many elements of `t` still hold that NaN; *total gets the element count. */
uint64_t output_guard_untouched(const DLTensor *t, uint64_t *total);

#endif
