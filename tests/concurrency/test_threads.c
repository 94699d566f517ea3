/* Several threads at once: parse configs, load and unload plugins, run problems.  Each
 * thread owns its backend instances (the ABI's contract: an instance is used by one thread
 * at a time; instances of one plugin may run in parallel).  Results must equal the ones
 * computed alone, bit for bit.  Run under ThreadSanitizer in CI (scripts/dev.sh tsan). */
#include "attn_case.h"
#include <attn/host/attn_config.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

#define THREADS 4
#define ROUNDS 6

typedef struct work {
    attn_case c;
    attn_result expected;
    int failures;
    char message[ATTN_ERROR_CAP];
} work;

static attn_case small_case(int32_t index) {
    attn_case c;
    attn_case_defaults(&c);
    c.batch = 2;
    c.q_heads = 4;
    c.kv_heads = 2;
    c.q_len = 16 + index;
    c.kv_len = 40;
    c.head_dim = c.value_dim = 16;
    c.dtype = index % ATTN_DTYPE_COUNT;
    c.dropout_p = 0.25f;
    c.want_lse = 1;
    c.data_seed = 77u + (uint64_t)index;
    return c;
}

static int run_once(const attn_case *c, attn_result *out, char *message) {
    attn_error err;
    attn_config *config = NULL;
    const char *text = "backends:\n  - name: sdpa-ref\n    plugin: " ATTN_SDPA_REF_PATH "\n";
    if (attn_config_parse(text, strlen(text), "<test config>", NULL, &config, &err) != ATTN_OK) goto fail;
    attn_backend *backend = NULL;
    if (attn_backend_open("sdpa-ref", config->backends[0].plugin_path, NULL, 0, &backend, &err) != ATTN_OK) {
        attn_config_free(config);
        goto fail;
    }
    attn_instance inst;
    attn_status st = attn_instance_make(c, &inst, &err);
    if (st == ATTN_OK) {
        st = attn_instance_execute(backend, &inst, NULL, out, &err);
        attn_instance_free(&inst);
    }
    attn_backend_close(backend);
    attn_config_free(config);
    if (st == ATTN_OK) return 1;
fail:
    snprintf(message, ATTN_ERROR_CAP, "%s", err.message);
    return 0;
}

static size_t o_count(const attn_case *c) { return (size_t)(c->batch * c->q_heads * c->q_len * c->value_dim); }

static void *worker(void *arg) {
    work *w = arg;
    for (int round = 0; round < ROUNDS; ++round) {
        attn_result got;
        if (!run_once(&w->c, &got, w->message)) {
            w->failures++;
            return NULL;
        }
        size_t rows = (size_t)(w->c.batch * w->c.q_heads * w->c.q_len);
        if (memcmp(got.o, w->expected.o, sizeof(float) * o_count(&w->c)) ||
            memcmp(got.lse, w->expected.lse, sizeof(float) * rows)) {
            snprintf(w->message, sizeof w->message, "round %d: result differs from the single-threaded one", round);
            w->failures++;
        }
        attn_result_free(&got);
    }
    return NULL;
}

static void threads_load_and_run_in_parallel(void **state) {
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
    const struct CMUnitTest tests[] = {cmocka_unit_test(threads_load_and_run_in_parallel)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
