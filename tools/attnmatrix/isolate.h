/* attnmatrix --isolate: each backend runs in a worker process of its own, so a plugin that
 * crashes or hangs costs its own cells (CRASH, TIMEOUT) and never the table.
 *
 * The worker is forked before the plugin is ever opened and opens it itself: a plugin that
 * initialised a GPU runtime in the parent could not be used from a forked child.  The parent
 * sends an instance (its attn_case, from which the worker rebuilds the same inputs) and the
 * execution options; the worker executes it and answers the status, the message and O/LSE,
 * which the parent compares.  A worker that dies is restarted for the next instance.  Golden and
 * baseline run in workers of this kind too (matrix_run.c).  The worker's death is seen by its
 * exit status and its whole process group is killed with it (worker_process.h), so a process a
 * plugin forked neither hides a crash nor outlives the run. */
#ifndef ATTNMATRIX_ISOLATE_H
#define ATTNMATRIX_ISOLATE_H

#include "attn_case.h"
#include <attn/host/attn_config.h>
#include <sys/types.h>

/* Statuses of attnmatrix only, beyond the ATTN_E_* range: the worker died or ran out of time. */
#define MATRIX_E_CRASH 1001
#define MATRIX_E_TIMEOUT 1002

typedef struct matrix_worker {
    pid_t pid;            /* 0 when not running */
    int request_fd;       /* parent -> worker */
    int response_fd;      /* worker -> parent */
    attn_status dead;     /* not 0: opening the plugin failed this way, every request answers it */
    char dead_reason[ATTN_ERROR_CAP];
} matrix_worker;

/* Forks the worker of `spec` and waits (up to timeout_s, 0: forever) for it to open the plugin.
 * `others[0..other_count)` are the descriptors the child must close (the other workers').
 * Returns the open's own status (ATTN_E_UNAVAILABLE: SKIP; others: a config error), or
 * MATRIX_E_CRASH / MATRIX_E_TIMEOUT; either of those marks the worker dead. */
attn_status worker_start(matrix_worker *w, const attn_backend_spec *spec, double timeout_s, const int *others,
                         uint32_t other_count, attn_error *err);

/* attn_instance_execute in the worker, restarting it first when it died.  MATRIX_E_CRASH and
 * MATRIX_E_TIMEOUT say how the worker was lost, err says which signal or how long. */
attn_status worker_execute(matrix_worker *w, const attn_backend_spec *spec, double timeout_s, const int *others,
                           uint32_t other_count, const attn_instance *inst, const attn_exec_options *options,
                           attn_result *out, attn_error *err);

/* Ends the worker (it holds no result the parent needs) and reaps it. */
void worker_stop(matrix_worker *w);

#endif
