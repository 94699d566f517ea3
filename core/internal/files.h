/* File helpers shared by libattn, the harness and the tools; internal, never installed. */
#ifndef ATTN_INTERNAL_FILES_H
#define ATTN_INTERNAL_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "attn/host/attn_host.h"

/* The largest text input (config, case file) attn_read_file accepts: the biggest real one is a
 * few KiB, and a bound keeps a wrong path (a disk image, a log) from eating memory before the
 * parser says anything.  docs/USING.md, "Limits", documents it. */
#define ATTN_TEXT_FILE_MAX ((size_t)16 << 20) /* 16 MiB */
/* No limit but memory, for files whose size their own contents judge (.npy). */
#define ATTN_FILE_ANY_SIZE (SIZE_MAX / 2)

/* Directory of a file path ("." when none), into out. */
void attn_dirname(const char *path, char *out, size_t cap);

/* What a file of this mode is, for messages: "a directory", "a FIFO (named pipe)", ... */
const char *attn_file_kind(mode_t mode);

/* Reads a whole regular file of at most `limit` bytes into a NUL-terminated buffer; callers free
 * *out.  Anything else is refused before a byte is read, naming the file and what it is (a
 * directory, a character device such as /dev/zero, a FIFO: opened without waiting for a writer);
 * a larger file is refused naming its size and the limit. */
attn_status attn_read_regular_file(const char *path, size_t limit, char **out, size_t *length, attn_error *err);

/* A config or case file: attn_read_regular_file up to ATTN_TEXT_FILE_MAX. */
attn_status attn_read_file(const char *path, char **out, size_t *length, attn_error *err);

#endif
