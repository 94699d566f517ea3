/* A third-party backend gone wrong, for attnmatrix --isolate and attninfo: it computes exactly
 * what the reference computes (sdpa_ref_inside.h), except where its mode says:
 *
 *   MISBEHAVE_CRASH        run() dereferences NULL when D == 24 (a segfault)
 *   MISBEHAVE_HANG         run() never returns when D == 40
 *   MISBEHAVE_FORK_CRASH   run() forks a child that sleeps holding every inherited descriptor
 *                          (the worker's pipes too), then segfaults, when D == 24; the child
 *                          writes its pid to $MISBEHAVE_PID_FILE when that is set
 *   MISBEHAVE_ENTRY_CRASH  attn_plugin_query itself segfaults
 *   MISBEHAVE_ENTRY_HANG   attn_plugin_query itself never returns
 *   MISBEHAVE_ENTRY_EXIT   attn_plugin_query itself calls _exit(3)
 *
 * Everything else must still PASS, so the test sees that only the bad cells are lost. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sdpa_ref_inside.h"

#define MISBEHAVE_CRASH 1
#define MISBEHAVE_HANG 2
#define MISBEHAVE_FORK_CRASH 3
#define MISBEHAVE_ENTRY_CRASH 4
#define MISBEHAVE_ENTRY_HANG 5
#define MISBEHAVE_ENTRY_EXIT 6
#ifndef MISBEHAVE_MODE
#error "MISBEHAVE_MODE must be one of the MISBEHAVE_* modes"
#endif

/* Each mode uses only some of the misdeeds below. */
#define MISDEED static __attribute__((unused)) void

MISDEED segfault(void) {
    volatile int *volatile nowhere = NULL; /* volatile twice: neither the load nor the store may go */
    *nowhere = 1;                          /* the bug under test */
}

MISDEED hang(void) {
    for (;;) sleep(1); /* the bug under test */
}

/* A child that outlives its parent unless someone kills it, holding the parent's descriptors.
 * The parent returns only once the child has written its pid: otherwise the parent's crash can
 * get the child killed with the worker's group before it wrote anything (seen under valgrind on
 * a loaded CI machine), and the test could not tell a child that was never there from one that
 * was killed in time. */
MISDEED fork_sleeper(void) {
    int ready[2];
    if (pipe(ready) != 0) return;
    pid_t pid = fork();
    if (pid < 0) return;
    if (pid > 0) {
        char byte;
        close(ready[1]);
        while (read(ready[0], &byte, 1) < 0 && errno == EINTR) continue; /* a byte, or EOF if the child died */
        close(ready[0]);
        return;
    }
    close(ready[0]);
    const char *pid_file = getenv("MISBEHAVE_PID_FILE");
    FILE *out = pid_file ? fopen(pid_file, "w") : NULL;
    if (out) {
        fprintf(out, "%d\n", (int)getpid());
        fclose(out);
    }
    (void)!write(ready[1], "r", 1);
    close(ready[1]);
    sleep(120);
    _exit(0);
}

static attn_status misbehave_run(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap) {
    int64_t head_dim = problem->q.shape[3];
#if MISBEHAVE_MODE == MISBEHAVE_CRASH
    if (head_dim == 24) segfault();
#elif MISBEHAVE_MODE == MISBEHAVE_HANG
    if (head_dim == 40) hang();
#elif MISBEHAVE_MODE == MISBEHAVE_FORK_CRASH
    if (head_dim == 24) {
        fork_sleeper();
        segfault();
    }
#else
    (void)head_dim;
#endif
    return ref_run(backend, problem, msg, msg_cap);
}

static const attn_plugin_api misbehave_api = {
    sizeof(attn_plugin_api),
    ATTN_ABI_VERSION,
#if MISBEHAVE_MODE == MISBEHAVE_CRASH
    "crasher",
#elif MISBEHAVE_MODE == MISBEHAVE_HANG
    "hanger",
#elif MISBEHAVE_MODE == MISBEHAVE_FORK_CRASH
    "fork-crasher",
#elif MISBEHAVE_MODE == MISBEHAVE_ENTRY_CRASH
    "entry-crasher",
#elif MISBEHAVE_MODE == MISBEHAVE_ENTRY_HANG
    "entry-hanger",
#else
    "entry-exiter",
#endif
    "0.0.0",
    "the reference, except that it crashes or hangs on purpose",
    ref_create,
    ref_destroy,
    cpu_device_of,
    ref_check,
    misbehave_run,
    ATTN_CPU_DEVICE_SERVICES,
    NULL, /* describe */
};

ATTN_PLUGIN_EXPORT attn_status attn_plugin_query(uint32_t host_abi_version, const attn_host_services *host,
                                                 const attn_plugin_api **out_api, char *msg, uint32_t msg_cap) {
    (void)host_abi_version;
    (void)host;
    (void)msg;
    (void)msg_cap;
#if MISBEHAVE_MODE == MISBEHAVE_ENTRY_CRASH
    segfault();
#elif MISBEHAVE_MODE == MISBEHAVE_ENTRY_HANG
    hang();
#elif MISBEHAVE_MODE == MISBEHAVE_ENTRY_EXIT
    _exit(3); /* the bug under test: no exit handler runs */
#endif
    *out_api = &misbehave_api;
    return ATTN_OK;
}
