/* For tests that read what a plugin logged about one run (flex-cpu: which primitives it
 * created, which items went to AMX; flex-cuda: why a problem took a slower kernel): the run
 * with the host's log (stderr) sent to a temporary file.  Include after test_support.h
 * (cmocka). */
#ifndef ATTN_TEST_RUN_WITH_LOG_H
#define ATTN_TEST_RUN_WITH_LOG_H

#include <attn/host/attn_host.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Runs `problem` on `backend`, failing the test with the run's message if it fails; returns
 * the run's log, rewound, for the caller to read and fclose (the file is already unlinked). */
static FILE *run_with_log(attn_backend *backend, const attn_problem *problem) {
    char path[] = "/tmp/attn_test_log_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    attn_error err;
    attn_status st = attn_backend_run(backend, problem, &err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    if (st != ATTN_OK) fail_msg("run: %s", err.message);
    FILE *log = fdopen(fd, "r");
    assert_non_null(log);
    rewind(log);
    return log;
}

#endif
