/* Forking, watching and ending worker processes (worker_process.h). */
#include "worker_process.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How often a waiting parent asks whether the worker is still alive: the delay before a crash
 * is noticed when the worker's pipe stays open. */
#define DEATH_CHECK_MS 20

double attn_tool_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

pid_t attn_tool_fork_worker(void) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        /* A worker stuck in a plugin must not outlive a tool that was killed. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    } else if (pid > 0) {
        setpgid(pid, pid); /* both sides: the group exists before either goes on */
    }
    return pid;
}

/* 1 when the worker has ended.  WNOWAIT leaves it a zombie, so its process group ID cannot be
 * reused before attn_tool_end_worker kills the group. */
static int worker_ended(pid_t pid) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return errno != EINTR;
    return info.si_pid == pid;
}

/* Milliseconds to wait before looking at the worker again. */
static int slice_ms(double deadline) {
    if (deadline <= 0) return DEATH_CHECK_MS;
    double left_ms = (deadline - attn_tool_now_s()) * 1000.0;
    return left_ms < DEATH_CHECK_MS ? (int)ceil(left_ms) : DEATH_CHECK_MS;
}

int attn_tool_await_worker(pid_t pid, int fd, double deadline) {
    for (;;) {
        if (deadline > 0 && attn_tool_now_s() >= deadline) return ATTN_TOOL_IO_TIMEOUT;
        struct pollfd pfd = {fd, POLLIN, 0};
        int ready = poll(&pfd, 1, slice_ms(deadline));
        if (ready > 0) return ATTN_TOOL_IO_OK;
        if (ready < 0 && errno != EINTR) return ATTN_TOOL_IO_ERROR;
        if (worker_ended(pid)) return ATTN_TOOL_IO_DIED;
    }
}

int attn_tool_await_worker_end(pid_t pid, double deadline) {
    for (;;) {
        if (worker_ended(pid)) return ATTN_TOOL_IO_DIED;
        if (deadline > 0 && attn_tool_now_s() >= deadline) return ATTN_TOOL_IO_TIMEOUT;
        poll(NULL, 0, slice_ms(deadline));
    }
}

int attn_tool_end_worker(pid_t pid) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL); /* in case setpgid failed and the worker has no group of its own */
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    return wstatus;
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

void attn_tool_describe_wait_status(int wstatus, char *out, size_t cap) {
    if (WIFSIGNALED(wstatus)) {
        const char *name = signal_name(WTERMSIG(wstatus));
        if (name)
            snprintf(out, cap, "killed by %s", name);
        else
            snprintf(out, cap, "killed by signal %d", WTERMSIG(wstatus));
    } else {
        snprintf(out, cap, "exited with status %d", WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
    }
}
