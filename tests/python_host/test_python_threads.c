/* python-host from several threads at once: each thread opens its own instance of the numpy
 * backend (plugins/python_host/examples/numpy_sdpa.py), runs problems and closes it, over and
 * over.  Every Python call takes the GIL, so the results must equal the ones computed alone,
 * bit for bit, and nothing may deadlock (the interpreter was started by the first create() and
 * its GIL released right after).  Clean under ThreadSanitizer (-DATTN_SANITIZE=thread), run by
 * hand for now: scripts/dev.sh tsan's test list does not name it yet.
 *
 * Environment: ATTN_TEST_PYTHON_EXE, a Python with numpy (empty: skipped, exit 77);
 * ATTN_TEST_EXAMPLES, the folder of numpy_sdpa.py. */
#include "attn_case.h"
#include <attn/host/attn_host.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#define THREADS 4
#define ROUNDS 4

typedef struct work {
    attn_case c;
    attn_result expected;
    int failures;
    char message[ATTN_ERROR_CAP];
} work;

static const char *python_exe, *examples;

static attn_case small_case(int32_t index) {
    attn_case c;
    attn_case_defaults(&c);
    c.batch = 2;
    c.q_heads = 4;
    c.kv_heads = 2;
    c.q_len = 5 + index;
    c.kv_len = 24;
    c.head_dim = c.value_dim = 16;
    c.dtype = index % ATTN_DTYPE_COUNT;
    c.want_lse = 1;
    c.data_seed = 91u + (uint64_t)index;
    return c;
}

static int run_once(const attn_case *c, attn_result *out, char *message) {
    attn_error err;
    attn_option options[] = {{"python", python_exe}, {"module", "numpy_sdpa"}, {"path", examples}};
    attn_backend *backend = NULL;
    if (attn_backend_open("python-numpy", ATTN_PYTHON_HOST_PATH, options, 3, &backend, &err) != ATTN_OK) goto fail;
    attn_instance inst;
    attn_status st = attn_instance_make(c, &inst, &err);
    if (st == ATTN_OK) {
        st = attn_instance_execute(backend, &inst, NULL, out, &err);
        attn_instance_free(&inst);
    }
    attn_backend_close(backend);
    if (st == ATTN_OK) return 1;
fail:
    snprintf(message, ATTN_ERROR_CAP, "%s", err.message);
    return 0;
}

static void *worker(void *arg) {
    work *w = arg;
    for (int round = 0; round < ROUNDS; ++round) {
        attn_result got;
        if (!run_once(&w->c, &got, w->message)) {
            w->failures++;
            return NULL;
        }
        size_t rows = (size_t)(w->c.batch * w->c.q_heads * w->c.q_len);
        if (memcmp(got.o, w->expected.o, sizeof(float) * rows * (size_t)w->c.value_dim) ||
            memcmp(got.lse, w->expected.lse, sizeof(float) * rows)) {
            snprintf(w->message, sizeof w->message, "round %d: result differs from the single-threaded one", round);
            w->failures++;
        }
        attn_result_free(&got);
    }
    return NULL;
}

static void python_instances_on_threads(void **state) {
    (void)state;
    work works[THREADS];
    for (int t = 0; t < THREADS; ++t) {
        memset(&works[t], 0, sizeof works[t]);
        works[t].c = small_case(t);
        if (!run_once(&works[t].c, &works[t].expected, works[t].message)) fail_msg("alone: %s", works[t].message);
    }
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; ++t) assert_int_equal(pthread_create(&threads[t], NULL, worker, &works[t]), 0);
    for (int t = 0; t < THREADS; ++t) assert_int_equal(pthread_join(threads[t], NULL), 0);
    for (int t = 0; t < THREADS; ++t) {
        if (works[t].failures) fail_msg("thread %d: %s", t, works[t].message);
        attn_result_free(&works[t].expected);
    }
}

int main(void) {
    python_exe = getenv("ATTN_TEST_PYTHON_EXE");
    examples = getenv("ATTN_TEST_EXAMPLES");
    if (!python_exe || !*python_exe || !examples) {
        printf("SKIP: no Python with numpy was found when CMake configured (set -DATTN_TEST_PYTHON=...)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(python_instances_on_threads)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
