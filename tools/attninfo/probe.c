/* One plugin probed in a worker process (probe.h).  The worker writes the report's text, then a
 * NUL and '0' (loaded) or '1' (failed to load): a report that lacks that trailer, or a worker
 * that did not exit cleanly, was cut short. */
#include "probe.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend_report.h"
#include "exit_guard.h"
#include "worker_process.h"

/* Far more than a report takes (describe() text is capped at 2 KiB); a plugin that writes more
 * through the report's pipe is cut off here. */
#define PROBE_TEXT_CAP (64 * 1024)

typedef struct probe_text {
    char data[PROBE_TEXT_CAP];
    size_t length;
    int cut; /* more arrived than fits */
} probe_text;

/* Opens one candidate and prints what it is, or why it is not.  1 when it failed to load. */
static int report_candidate(FILE *out, const char *display_name, const char *path, const attn_option *options,
                            uint32_t option_count, const char *indent) {
    attn_backend *backend = NULL;
    attn_error err = {0};
    attn_tool_exit_guard_doing("asking the plugin %s", path);
    attn_status st = attn_backend_open(display_name, path, options, option_count, &backend, &err);
    if (st != ATTN_OK) {
        attn_tool_print_open_failure(out, st, err.message, indent);
        return st != ATTN_E_UNAVAILABLE;
    }
    attn_tool_print_backend(out, backend, indent);
    attn_backend_close(backend);
    return 0;
}

/* The worker: report into the pipe, then the trailer.  _exit, not exit: the tool's atexit
 * handlers and stdio buffers are not the worker's. */
static void probe_in_worker(int fd, const char *display_name, const char *path, const attn_option *options,
                            uint32_t option_count, const char *indent) {
    dup2(STDERR_FILENO, STDOUT_FILENO); /* a plugin's printf must not pass for the report */
    FILE *report = fdopen(fd, "w");
    if (!report) _exit(1);
    int failed = report_candidate(report, display_name, path, options, option_count, indent);
    fputc('\0', report);
    fputc(failed ? '1' : '0', report);
    _exit(fclose(report) == 0 ? 0 : 1);
}

static void append(probe_text *t, const char *data, size_t bytes) {
    size_t room = sizeof t->data - t->length;
    if (bytes > room) {
        bytes = room;
        t->cut = 1;
    }
    memcpy(t->data + t->length, data, bytes);
    t->length += bytes;
}

/* Reads what the pipe holds now, without waiting: what a dead worker wrote before it died,
 * when a process it forked keeps the pipe open. */
static void drain(int fd, probe_text *t) {
    char chunk[4096];
    struct pollfd pfd = {fd, POLLIN, 0};
    while (poll(&pfd, 1, 0) > 0) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0) return;
        append(t, chunk, (size_t)n);
    }
}

/* Collects the report until the worker ends: ATTN_TOOL_IO_DIED, or ATTN_TOOL_IO_TIMEOUT. */
static int collect(pid_t pid, int fd, double deadline, probe_text *t) {
    char chunk[4096];
    for (;;) {
        int io = attn_tool_await_worker(pid, fd, deadline);
        if (io == ATTN_TOOL_IO_DIED) drain(fd, t);
        if (io != ATTN_TOOL_IO_OK) return io == ATTN_TOOL_IO_TIMEOUT ? io : attn_tool_await_worker_end(pid, deadline);
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return attn_tool_await_worker_end(pid, deadline); /* end of file: the worker is ending */
        append(t, chunk, (size_t)n);
    }
}

/* Prints the report and says how the probe ended.  1 when the candidate failed. */
static int print_outcome(const probe_text *t, int timed_out, int wstatus, double timeout_s, const char *indent) {
    int has_trailer = !t->cut && t->length >= 2 && t->data[t->length - 2] == '\0';
    size_t text_length = has_trailer ? t->length - 2 : t->length;
    fwrite(t->data, 1, strnlen(t->data, text_length), stdout);
    if (t->cut) printf("%s(the report was cut at %d bytes)\n", indent, PROBE_TEXT_CAP);
    if (timed_out) {
        printf("%sTIMED OUT after %g s: the plugin did not finish opening, its worker was killed\n", indent, timeout_s);
        return 1;
    }
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 && has_trailer) return t->data[t->length - 1] == '1';
    if (WIFSIGNALED(wstatus)) {
        char how[64];
        attn_tool_describe_wait_status(wstatus, how, sizeof how);
        printf("%sCRASHED: %s, while the plugin was asked about itself\n", indent, how);
    } else { /* the plugin's own exit (the exit guard makes exit() status 1), or a sanitizer's */
        printf("%sEXITED with status %d, while the plugin was asked about itself\n", indent,
               WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
    }
    return 1;
}

int probe_candidate(const char *display_name, const char *path, const attn_option *options, uint32_t option_count,
                    const char *indent, double timeout_s) {
    int fds[2];
    if (pipe(fds) != 0) {
        printf("%sNOT PROBED: pipe: %s\n", indent, strerror(errno));
        return 1;
    }
    pid_t pid = attn_tool_fork_worker();
    if (pid < 0) {
        printf("%sNOT PROBED: fork: %s\n", indent, strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return 1;
    }
    if (pid == 0) {
        close(fds[0]);
        probe_in_worker(fds[1], display_name, path, options, option_count, indent);
    }
    close(fds[1]);
    static probe_text text; /* 64 KiB: not on the stack */
    text.length = 0;
    text.cut = 0;
    double deadline = timeout_s > 0 ? attn_tool_now_s() + timeout_s : 0;
    int timed_out = collect(pid, fds[0], deadline, &text) == ATTN_TOOL_IO_TIMEOUT;
    close(fds[0]);
    int wstatus = attn_tool_end_worker(pid); /* the worker's whole group: nothing it forked lingers */
    return print_outcome(&text, timed_out, wstatus, timeout_s, indent);
}
