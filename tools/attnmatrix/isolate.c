/* Worker processes of attnmatrix --isolate (isolate.h): fork, the request/response protocol
 * over two pipes, and turning a dead or silent worker into CRASH or TIMEOUT.  The fork, the
 * watch on the worker's life and the kill of its process group are worker_process.h's. */
#include "isolate.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exit_guard.h"
#include "tool_config.h"
#include "worker_process.h"

/* The messages, in the order they travel.  Both ends are this one program, so raw structs
 * are a faithful encoding. */
typedef struct hello_message { /* worker -> parent, once, after opening the plugin */
    attn_status status;
    char message[ATTN_ERROR_CAP];
} hello_message;

typedef struct request_message { /* parent -> worker, per execution */
    attn_case c;
    attn_exec_options options;
    int32_t has_options;
} request_message;

typedef struct response_header { /* worker -> parent, followed by o_count then lse_count floats */
    attn_status status;
    uint32_t reserved;
    uint64_t o_count, lse_count;
    char message[ATTN_ERROR_CAP];
} response_header;

/* Reads exactly `bytes` in the worker, from the parent (which the worker never outlives). */
static int read_request(int fd, void *data, size_t bytes) {
    char *p = data;
    while (bytes) {
        ssize_t n = read(fd, p, bytes);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return ATTN_TOOL_IO_ERROR;
        p += n;
        bytes -= (size_t)n;
    }
    return ATTN_TOOL_IO_OK;
}

static int write_full(int fd, const void *data, size_t bytes) {
    const char *p = data;
    while (bytes) {
        ssize_t n = write(fd, p, bytes);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return ATTN_TOOL_IO_ERROR;
        p += n;
        bytes -= (size_t)n;
    }
    return ATTN_TOOL_IO_OK;
}

/* Reads exactly `bytes` of the worker's answer, giving up at `deadline` (attn_tool_now_s() time;
 * <= 0: never) or when the worker has died, even if a process it forked still holds the pipe. */
static int read_answer(const matrix_worker *w, void *data, size_t bytes, double deadline) {
    char *p = data;
    while (bytes) {
        int io = attn_tool_await_worker(w->pid, w->response_fd, deadline);
        if (io != ATTN_TOOL_IO_OK) return io;
        ssize_t n = read(w->response_fd, p, bytes);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return ATTN_TOOL_IO_ERROR;
        if (n == 0) return ATTN_TOOL_IO_EOF;
        p += n;
        bytes -= (size_t)n;
    }
    return ATTN_TOOL_IO_OK;
}

static void close_fds(matrix_worker *w) {
    if (w->request_fd >= 0) close(w->request_fd);
    if (w->response_fd >= 0) close(w->response_fd);
    w->request_fd = w->response_fd = -1;
}

/* Kills the worker's process group, closes its pipes, reaps it: its wait status. */
static int end_worker(matrix_worker *w) {
    close_fds(w);
    int wstatus = attn_tool_end_worker(w->pid);
    w->pid = 0;
    return wstatus;
}

/* The worker stopped answering (`io`: it died, its pipe ended or broke, or time ran out): end
 * it and say how it was lost.  `doing` says when, " while opening the plugin", or "" while
 * running an instance (the table already names the instance). */
static attn_status lost(matrix_worker *w, int io, double deadline, double timeout_s, const char *doing,
                        attn_error *err) {
    /* End of file or a broken pipe: the worker is on its way out; its status says how, unless it
     * closed its pipe and went on running. */
    int timed_out = io == ATTN_TOOL_IO_TIMEOUT ||
                    (io != ATTN_TOOL_IO_DIED && attn_tool_await_worker_end(w->pid, deadline) == ATTN_TOOL_IO_TIMEOUT);
    int wstatus = end_worker(w);
    if (timed_out)
        return attn_error_set(err, MATRIX_E_TIMEOUT, "no answer within %g s%s: the worker was killed", timeout_s, doing);
    char how[64];
    attn_tool_describe_wait_status(wstatus, how, sizeof how);
    if (WIFSIGNALED(wstatus)) return attn_error_set(err, MATRIX_E_CRASH, "%s%s", how, doing);
    /* A sanitizer or the plugin's own exit() ends the worker with a status, not a signal. */
    return attn_error_set(err, MATRIX_E_CRASH, "the worker %s%s, before answering", how, doing);
}

/* Executes one request in the worker; the last instance is kept, because the LSE-merge check
 * asks for the same instance three times. */
static void serve(attn_backend *backend, int request_fd, int response_fd) {
    attn_instance inst;
    int have_instance = 0;
    attn_case last; /* the bytes of the case `inst` was made from */
    request_message req;
    while (read_request(request_fd, &req, sizeof req) == ATTN_TOOL_IO_OK) {
        response_header head;
        memset(&head, 0, sizeof head);
        attn_error err = {0};
        attn_result result = {0};
        if (have_instance && memcmp(&last, &req.c, sizeof last) != 0) {
            attn_instance_free(&inst);
            have_instance = 0;
        }
        head.status = have_instance ? ATTN_OK : attn_instance_make(&req.c, &inst, &err);
        have_instance = head.status == ATTN_OK;
        memcpy(&last, &req.c, sizeof last);
        attn_tool_exit_guard_doing("running %s on %s (row %s) in its worker", attn_backend_name(backend), req.c.name,
                                   req.c.row);
        if (head.status == ATTN_OK)
            head.status = attn_instance_execute(backend, &inst, req.has_options ? &req.options : NULL, &result, &err);
        if (head.status == ATTN_OK) {
            const attn_case *c = &inst.c;
            head.o_count = (uint64_t)(c->batch * c->q_heads * c->q_len * c->value_dim);
            head.lse_count = result.lse ? (uint64_t)(c->batch * c->q_heads * c->q_len) : 0;
        } else {
            snprintf(head.message, sizeof head.message, "%s", err.message);
        }
        int io = write_full(response_fd, &head, sizeof head);
        if (io == ATTN_TOOL_IO_OK && head.o_count) io = write_full(response_fd, result.o, sizeof(float) * head.o_count);
        if (io == ATTN_TOOL_IO_OK && head.lse_count)
            io = write_full(response_fd, result.lse, sizeof(float) * head.lse_count);
        attn_result_free(&result);
        if (io != ATTN_TOOL_IO_OK) break;
    }
}

/* The child: open the plugin, say how that went, serve until the parent closes the pipe.
 * _exit, not exit: the parent's atexit handlers and stdio buffers are not the worker's. */
static void worker_main(const attn_backend_spec *spec, int request_fd, int response_fd) {
    dup2(STDERR_FILENO, STDOUT_FILENO); /* a plugin's printf must not land in the table */
    hello_message hello;
    memset(&hello, 0, sizeof hello);
    attn_error err = {0};
    attn_backend *backend = NULL;
    attn_tool_exit_guard_doing("opening backend %s in its worker", spec->name);
    hello.status = attn_tool_backend_open(spec, &backend, &err);
    if (hello.status != ATTN_OK) snprintf(hello.message, sizeof hello.message, "%s", err.message);
    if (write_full(response_fd, &hello, sizeof hello) == ATTN_TOOL_IO_OK && backend)
        serve(backend, request_fd, response_fd);
    /* No attn_backend_close: process exit releases everything, and a plugin whose destroy()
     * misbehaves must not turn a finished column into a crash. */
    _exit(0);
}

attn_status worker_start(matrix_worker *w, const attn_backend_spec *spec, double timeout_s, const int *others,
                         uint32_t other_count, attn_error *err) {
    w->pid = 0;
    w->request_fd = w->response_fd = -1;
    int to_worker[2], from_worker[2];
    if (pipe(to_worker) != 0) return attn_error_set(err, ATTN_E_IO, "pipe: %s", strerror(errno));
    if (pipe(from_worker) != 0) {
        close(to_worker[0]);
        close(to_worker[1]);
        return attn_error_set(err, ATTN_E_IO, "pipe: %s", strerror(errno));
    }
    signal(SIGPIPE, SIG_IGN); /* a dead worker's pipe must fail a write, not kill attnmatrix */
    pid_t pid = attn_tool_fork_worker();
    if (pid < 0) {
        close(to_worker[0]);
        close(to_worker[1]);
        close(from_worker[0]);
        close(from_worker[1]);
        return attn_error_set(err, ATTN_E_IO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* The other workers' pipes: held open here, they would outlive those workers. */
        for (uint32_t n = 0; n < other_count; ++n)
            if (others[n] >= 0) close(others[n]);
        close(to_worker[1]);
        close(from_worker[0]);
        worker_main(spec, to_worker[0], from_worker[1]);
    }
    close(to_worker[0]);
    close(from_worker[1]);
    w->pid = pid;
    w->request_fd = to_worker[1];
    w->response_fd = from_worker[0];

    hello_message hello;
    double deadline = timeout_s > 0 ? attn_tool_now_s() + timeout_s : 0;
    int io = read_answer(w, &hello, sizeof hello, deadline);
    attn_status st;
    if (io != ATTN_TOOL_IO_OK) {
        st = lost(w, io, deadline, timeout_s, " while opening the plugin", err);
    } else if (hello.status != ATTN_OK) {
        hello.message[sizeof hello.message - 1] = '\0';
        st = attn_error_set(err, hello.status, "%s", hello.message);
        worker_stop(w);
    } else {
        return ATTN_OK;
    }
    w->dead = st;
    snprintf(w->dead_reason, sizeof w->dead_reason, "%s", err->message);
    return st;
}

void worker_stop(matrix_worker *w) {
    if (!w->pid) return;
    /* The worker is idle between requests: killing it skips only plugin teardown.  Its whole
     * group goes: nothing a plugin forked may outlive the run. */
    end_worker(w);
}

attn_status worker_execute(matrix_worker *w, const attn_backend_spec *spec, double timeout_s, const int *others,
                           uint32_t other_count, const attn_instance *inst, const attn_exec_options *options,
                           attn_result *out, attn_error *err) {
    memset(out, 0, sizeof *out);
    if (w->dead) return attn_error_set(err, w->dead, "%s", w->dead_reason);
    if (!w->pid) {
        attn_status st = worker_start(w, spec, timeout_s, others, other_count, err);
        if (st != ATTN_OK) return st;
    }
    const char *doing = "";
    request_message req;
    memset(&req, 0, sizeof req);
    memcpy(&req.c, &inst->c, sizeof req.c); /* bytes, padding included: the worker compares them */
    req.has_options = options != NULL;
    if (options) req.options = *options;
    double deadline = timeout_s > 0 ? attn_tool_now_s() + timeout_s : 0;
    if (write_full(w->request_fd, &req, sizeof req) != ATTN_TOOL_IO_OK)
        return lost(w, ATTN_TOOL_IO_ERROR, deadline, timeout_s, doing, err);

    response_header head;
    int io = read_answer(w, &head, sizeof head, deadline);
    if (io != ATTN_TOOL_IO_OK) return lost(w, io, deadline, timeout_s, doing, err);
    head.message[sizeof head.message - 1] = '\0';
    if (head.status != ATTN_OK) return attn_error_set(err, head.status, "%s", head.message);

    const attn_case *c = &inst->c;
    uint64_t want_o = (uint64_t)(c->batch * c->q_heads * c->q_len * c->value_dim);
    uint64_t want_lse = (uint64_t)(c->batch * c->q_heads * c->q_len);
    if (head.o_count != want_o || (head.lse_count != 0 && head.lse_count != want_lse)) {
        worker_stop(w); /* the stream is out of step: start afresh */
        return attn_error_set(err, ATTN_E_INTERNAL, "worker answered %llu/%llu values for O/LSE, expected %llu/%llu",
                              (unsigned long long)head.o_count, (unsigned long long)head.lse_count,
                              (unsigned long long)want_o, (unsigned long long)want_lse);
    }
    out->o = malloc(sizeof(float) * (want_o + 1));
    out->lse = head.lse_count ? malloc(sizeof(float) * want_lse) : NULL;
    if (!out->o || (head.lse_count && !out->lse)) {
        attn_result_free(out);
        worker_stop(w);
        return attn_error_set(err, ATTN_E_NOMEM, "out of host memory");
    }
    io = read_answer(w, out->o, sizeof(float) * want_o, deadline);
    if (io == ATTN_TOOL_IO_OK && head.lse_count) io = read_answer(w, out->lse, sizeof(float) * want_lse, deadline);
    if (io != ATTN_TOOL_IO_OK) {
        attn_result_free(out);
        return lost(w, io, deadline, timeout_s, doing, err);
    }
    return ATTN_OK;
}
