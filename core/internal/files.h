/* File helpers shared by libattn and the harness; internal, never installed. */
#ifndef ATTN_INTERNAL_FILES_H
#define ATTN_INTERNAL_FILES_H

#include <stddef.h>

#include "attn/host/attn_host.h"

/* Directory of a file path ("." when none), into out. */
void attn_dirname(const char *path, char *out, size_t cap);

/* Reads a whole file into a NUL-terminated buffer; callers free *out. */
attn_status attn_read_file(const char *path, char **out, size_t *length, attn_error *err);

#endif
