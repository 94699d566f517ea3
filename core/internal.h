/* Core-internal helpers shared by the files of libattn; not installed. */
#ifndef ATTN_CORE_INTERNAL_H
#define ATTN_CORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "attn/attn_host.h"

/* Host log threshold from $ATTN_LOG (error, warn, info, debug); warn by default. */
int32_t attn_log_threshold(void);

/* Overflow-checked arithmetic: 0 on overflow. */
int attn_mul_i64(int64_t a, int64_t b, int64_t *out);
int attn_add_i64(int64_t a, int64_t b, int64_t *out);

/* Directory of a file path ("." when none), into out. */
void attn_dirname(const char *path, char *out, size_t cap);

/* Reads a whole file into a NUL-terminated buffer; callers free *out. */
attn_status attn_read_file(const char *path, char **out, size_t *length, attn_error *err);

/* The DLPack dtype of a case dtype (ATTN_DTYPE_*). */
DLDataType attn_dtype_dl(int32_t dtype);

#endif
