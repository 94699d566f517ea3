/* Worker processes shared by attnmatrix --isolate and attninfo: a plugin is only ever opened in a
 * child forked for it, and the parent watches the child itself, not only its pipe.
 *
 * Why the exit status and not end of file: a plugin may fork a process of its own that inherits
 * the pipe and keeps it open after the worker died, so end of file never comes.  Why a process
 * group: such a process must not outlive the tool, and killing the group reaches it. */
#ifndef ATTN_TOOLS_WORKER_PROCESS_H
#define ATTN_TOOLS_WORKER_PROCESS_H

#include <sys/types.h>

enum { ATTN_TOOL_IO_OK, ATTN_TOOL_IO_EOF, ATTN_TOOL_IO_TIMEOUT, ATTN_TOOL_IO_ERROR, ATTN_TOOL_IO_DIED };

/* CLOCK_MONOTONIC in seconds, for deadlines. */
double attn_tool_now_s(void);

/* Like fork(), but the child leads a process group of its own and is killed when the parent
 * dies.  Flushes stdio first, so nothing buffered is written twice. */
pid_t attn_tool_fork_worker(void);

/* Waits until `fd` can be read (ATTN_TOOL_IO_OK: data or end of file), the worker `pid` has
 * ended (ATTN_TOOL_IO_DIED; it is left unreaped), or `deadline` (attn_tool_now_s() time; <= 0:
 * never) passes (ATTN_TOOL_IO_TIMEOUT). */
int attn_tool_await_worker(pid_t pid, int fd, double deadline);

/* Waits until the worker ends: ATTN_TOOL_IO_DIED, or ATTN_TOOL_IO_TIMEOUT at `deadline`. */
int attn_tool_await_worker_end(pid_t pid, double deadline);

/* Kills the worker's whole process group (the worker and everything it forked), reaps the
 * worker and returns its wait status. */
int attn_tool_end_worker(pid_t pid);

/* "killed by SIGSEGV (segmentation fault)", "exited with status 3", ... of a wait status. */
void attn_tool_describe_wait_status(int wstatus, char *out, size_t cap);

#endif
