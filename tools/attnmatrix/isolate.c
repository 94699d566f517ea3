/* Worker processes of attnmatrix --isolate (isolate.h): fork, the request/response protocol
 * over two pipes, and turning a dead or silent worker into CRASH or TIMEOUT. */
#include "isolate.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exit_guard.h"
#include "tool_config.h"

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

enum { IO_OK, IO_EOF, IO_TIMEOUT, IO_ERROR };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int write_full(int fd, const void *data, size_t bytes) {
    const char *p = data;
    while (bytes) {
        ssize_t n = write(fd, p, bytes);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return IO_ERROR;
        p += n;
        bytes -= (size_t)n;
    }
    return IO_OK;
}

/* Reads exactly `bytes`, giving up at `deadline` (now_s() time; <= 0: never). */
static int read_full(int fd, void *data, size_t bytes, double deadline) {
    char *p = data;
    while (bytes) {
        if (deadline > 0) {
            double left = deadline - now_s();
            if (left <= 0) return IO_TIMEOUT;
            struct pollfd pfd = {fd, POLLIN, 0};
            int ready = poll(&pfd, 1, (int)ceil(left * 1000.0));
            if (ready < 0 && errno == EINTR) continue;
            if (ready < 0) return IO_ERROR;
            if (ready == 0) return IO_TIMEOUT;
        }
        ssize_t n = read(fd, p, bytes);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return IO_ERROR;
        if (n == 0) return IO_EOF;
        p += n;
        bytes -= (size_t)n;
    }
    return IO_OK;
}

static const char *signal_name(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV (segmentation fault)";
    case SIGBUS: return "SIGBUS (bus error)";
    case SIGILL: return "SIGILL (illegal instruction)";
    case SIGFPE: return "SIGFPE (arithmetic exception)";
    case SIGABRT: return "SIGABRT (abort)";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGTRAP: return "SIGTRAP";
    default: return NULL;
    }
}

static void close_fds(matrix_worker *w) {
    if (w->request_fd >= 0) close(w->request_fd);
    if (w->response_fd >= 0) close(w->response_fd);
    w->request_fd = w->response_fd = -1;
}

/* The worker stopped answering (EOF, a broken pipe, or time ran out): reap it and say how it
 * was lost.  `doing` says when, " while opening the plugin", or "" while running an instance
 * (the table already names the instance). */
static attn_status lost(matrix_worker *w, int timed_out, double timeout_s, const char *doing, attn_error *err) {
    if (timed_out) kill(w->pid, SIGKILL);
    close_fds(w);
    int wstatus = 0;
    pid_t pid = w->pid;
    w->pid = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    if (timed_out)
        return attn_error_set(err, MATRIX_E_TIMEOUT, "no answer within %g s%s: the worker was killed", timeout_s, doing);
    if (WIFSIGNALED(wstatus)) {
        const char *name = signal_name(WTERMSIG(wstatus));
        if (name) return attn_error_set(err, MATRIX_E_CRASH, "killed by %s%s", name, doing);
        return attn_error_set(err, MATRIX_E_CRASH, "killed by signal %d%s", WTERMSIG(wstatus), doing);
    }
    /* A sanitizer or the plugin's own exit() ends the worker with a status, not a signal. */
    return attn_error_set(err, MATRIX_E_CRASH, "the worker exited with status %d%s, before answering",
                          WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1, doing);
}

/* Executes one request in the worker; the last instance is kept, because the LSE-merge check
 * asks for the same instance three times. */
static void serve(attn_backend *backend, int request_fd, int response_fd) {
    attn_instance inst;
    int have_instance = 0;
    attn_case last; /* the bytes of the case `inst` was made from */
    request_message req;
    while (read_full(request_fd, &req, sizeof req, 0) == IO_OK) {
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
        if (io == IO_OK && head.o_count) io = write_full(response_fd, result.o, sizeof(float) * head.o_count);
        if (io == IO_OK && head.lse_count) io = write_full(response_fd, result.lse, sizeof(float) * head.lse_count);
        attn_result_free(&result);
        if (io != IO_OK) break;
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
    if (write_full(response_fd, &hello, sizeof hello) == IO_OK && backend) serve(backend, request_fd, response_fd);
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
    fflush(stdout);           /* nothing buffered may be written twice */
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(to_worker[0]);
        close(to_worker[1]);
        close(from_worker[0]);
        close(from_worker[1]);
        return attn_error_set(err, ATTN_E_IO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* A worker stuck in a plugin must not outlive an attnmatrix that was killed. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* The other workers' pipes: held open here, they would hide those workers' EOF. */
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
    double deadline = timeout_s > 0 ? now_s() + timeout_s : 0;
    int io = read_full(w->response_fd, &hello, sizeof hello, deadline);
    attn_status st;
    if (io != IO_OK) {
        st = lost(w, io == IO_TIMEOUT, timeout_s, " while opening the plugin", err);
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
    close_fds(w);
    /* The worker is idle between requests: killing it skips only plugin teardown. */
    kill(w->pid, SIGKILL);
    while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    w->pid = 0;
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
    double deadline = timeout_s > 0 ? now_s() + timeout_s : 0;
    if (write_full(w->request_fd, &req, sizeof req) != IO_OK) return lost(w, 0, timeout_s, doing, err);

    response_header head;
    int io = read_full(w->response_fd, &head, sizeof head, deadline);
    if (io != IO_OK) return lost(w, io == IO_TIMEOUT, timeout_s, doing, err);
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
    io = read_full(w->response_fd, out->o, sizeof(float) * want_o, deadline);
    if (io == IO_OK && head.lse_count) io = read_full(w->response_fd, out->lse, sizeof(float) * want_lse, deadline);
    if (io != IO_OK) {
        attn_result_free(out);
        return lost(w, io == IO_TIMEOUT, timeout_s, doing, err);
    }
    return ATTN_OK;
}
