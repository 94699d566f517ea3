/* Reading whole files and splitting paths: what the config reader (libattn), the case-file
 * reader (the harness) and the .npy reader (the tools) need. */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

const char *attn_file_kind(mode_t mode) {
    if (S_ISREG(mode)) return "a regular file";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISSOCK(mode)) return "a socket";
    return "an unknown kind of file";
}

/* A regular file no larger than the limit, or an error naming what it is instead. */
static attn_status check_regular(const struct stat *info, const char *path, size_t limit, attn_error *err) {
    if (!S_ISREG(info->st_mode))
        return attn_error_set(err, ATTN_E_IO, "cannot read %s: it is %s, not a regular file", path,
                              attn_file_kind(info->st_mode));
    if ((unsigned long long)info->st_size > limit)
        return attn_error_set(err, ATTN_E_IO, "cannot read %s: %lld bytes, more than the limit of %zu bytes (%zu MiB)",
                              path, (long long)info->st_size, limit, limit >> 20);
    return ATTN_OK;
}

/* read(2) until `size` bytes or the end of the file; *got says how many.  0, or errno. */
static int read_fully(int fd, char *buffer, size_t size, size_t *got) {
    *got = 0;
    while (*got < size) {
        ssize_t n = read(fd, buffer + *got, size - *got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        if (n == 0) break;
        *got += (size_t)n;
    }
    return 0;
}

/* Reads fd to its end, at most `limit` bytes.  st_size is the first guess, not the truth: the
 * file may grow while it is read, and those of /proc say 0 whatever they hold. */
static attn_status read_to_end(int fd, const char *path, size_t size_guess, size_t limit, char **out, size_t *length,
                               attn_error *err) {
    size_t cap = size_guess + 2, used = 0; /* one byte past the guess shows the end; one for the NUL */
    char *buffer = NULL;
    for (;;) {
        char *grown = realloc(buffer, cap);
        if (!grown) {
            free(buffer);
            return attn_error_set(err, ATTN_E_NOMEM, "out of memory reading %s (%zu bytes)", path, cap);
        }
        buffer = grown;
        size_t want = cap - 1 - used, got;
        int error = read_fully(fd, buffer + used, want, &got);
        if (error) {
            free(buffer);
            return attn_error_set(err, ATTN_E_IO, "cannot read %s: %s", path, strerror(error));
        }
        used += got;
        if (got < want || used > limit) break; /* the end, or past the limit */
        cap = cap > (limit + 2) / 2 ? limit + 2 : cap * 2;
    }
    if (used > limit) {
        free(buffer);
        return attn_error_set(err, ATTN_E_IO, "cannot read %s: it grew past the limit of %zu bytes while it was read",
                              path, limit);
    }
    buffer[used] = '\0';
    *out = buffer;
    *length = used;
    return ATTN_OK;
}

attn_status attn_read_regular_file(const char *path, size_t limit, char **out, size_t *length, attn_error *err) {
    /* O_NONBLOCK: opening a FIFO would otherwise wait for a writer before fstat could refuse it. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return attn_error_set(err, ATTN_E_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat info;
    attn_status st = fstat(fd, &info) != 0 ? attn_error_set(err, ATTN_E_IO, "cannot read %s: %s", path, strerror(errno))
                                            : check_regular(&info, path, limit, err);
    if (st == ATTN_OK) st = read_to_end(fd, path, (size_t)info.st_size, limit, out, length, err);
    close(fd);
    return st;
}

attn_status attn_read_file(const char *path, char **out, size_t *length, attn_error *err) {
    return attn_read_regular_file(path, ATTN_TEXT_FILE_MAX, out, length, err);
}
