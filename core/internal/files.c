/* Reading whole text files and splitting paths: what the config reader (libattn) and the
 * case-file reader (the harness) both need. */
#include "files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void attn_dirname(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(out, cap, ".");
        return;
    }
    size_t n = (size_t)(slash - path);
    if (n == 0) n = 1; /* "/x" -> "/" */
    if (n >= cap) n = cap - 1;
    memcpy(out, path, n);
    out[n] = '\0';
}

attn_status attn_read_file(const char *path, char **out, size_t *length, attn_error *err) {
    FILE *file = fopen(path, "rb");
    if (!file) return attn_error_set(err, ATTN_E_IO, "cannot open %s: %s", path, strerror(errno));
    char *buffer = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *grown = realloc(buffer, cap);
            if (!grown) {
                free(buffer);
                fclose(file);
                return attn_error_set(err, ATTN_E_NOMEM, "out of memory reading %s", path);
            }
            buffer = grown;
        }
        size_t n = fread(buffer + size, 1, 4096, file);
        size += n;
        if (n < 4096) break;
    }
    int failed = ferror(file);
    fclose(file);
    if (failed) {
        free(buffer);
        return attn_error_set(err, ATTN_E_IO, "cannot read %s", path);
    }
    buffer[size] = '\0';
    *out = buffer;
    *length = size;
    return ATTN_OK;
}
