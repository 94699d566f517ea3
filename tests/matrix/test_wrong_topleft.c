/* The matrix catches a wrong backend.  Runs
 *     attnmatrix --config wrong.yaml --format json --quiet
 * with the reference and wrong-topleft (top-left causal alignment) and checks:
 *   - exit status 1 (some cell FAILed);
 *   - sdpa-ref PASSes every row;
 *   - wrong-topleft FAILs exactly the rows that have an instance where alignment matters,
 *     and PASSes every other row.
 * The expected rows come from the catalogue itself (attn_catalogue_instances), so the test
 * follows the catalogue as it grows instead of a hard-coded list.
 *
 * attnmatrix's JSON prints one row object per line:
 *   {"case": "KV decode (Tq==1)", "cells": {"sdpa-ref": "PASS", "wrong-topleft": "FAIL"}, ...} */
#include "attn_case.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_support.h"

#define MAX_ROWS 128
#define VERDICT_CAP 32

/* Alignment matters for an instance when some batch has q_len != kv_len with q_len > 0
 * (then pos(b, i) != i) and something reads the position: causality, a window, ALiBi or
 * the synaptic distance, or the dropout counter. */
static int alignment_matters(const attn_case *c) {
    int reads_position = c->causal || c->window_left >= 0 || c->window_right >= 0 || c->modifier == ATTN_MOD_ALIBI ||
                         c->modifier == ATTN_MOD_SYNAPTIC || c->dropout_p > 0.0f;
    if (!reads_position) return 0;
    for (int64_t b = 0; b < c->batch; ++b) {
        int64_t q_len = c->has_lengths ? c->q_lens[b] : c->q_len;
        int64_t kv_len = c->has_lengths ? c->kv_lens[b] : c->kv_len;
        if (q_len > 0 && q_len != kv_len) return 1;
    }
    return 0;
}

typedef struct row_expectation {
    char name[64];
    int must_fail;              /* wrong-topleft must FAIL (else PASS) */
    int seen;                   /* found in the JSON */
    char reference[VERDICT_CAP]; /* cells as printed */
    char wrong[VERDICT_CAP];
} row_expectation;

/* The table's rows in order, each marked by whether an instance makes alignment matter. */
static uint32_t expected_rows(row_expectation *rows) {
    uint32_t row_count = attn_catalogue_row_count();
    assert_in_range(row_count, 1, MAX_ROWS);
    for (uint32_t r = 0; r < row_count; ++r) {
        memset(&rows[r], 0, sizeof rows[r]);
        snprintf(rows[r].name, sizeof rows[r].name, "%s", attn_catalogue_row(r)->name);
    }
    attn_case *cases = NULL;
    uint32_t count = 0;
    attn_error err = {0};
    attn_status st = attn_catalogue_instances(&cases, &count, &err);
    if (st != ATTN_OK) print_error("attn_catalogue_instances: %s\n", err.message);
    assert_int_equal(st, ATTN_OK);
    for (uint32_t n = 0; n < count; ++n) {
        uint32_t r = 0;
        while (r < row_count && strcmp(rows[r].name, cases[n].row) != 0) ++r;
        if (r == row_count) print_error("instance %u names row '%s', which is not in the table\n", n, cases[n].row);
        assert_true(r < row_count);
        if (alignment_matters(&cases[n])) rows[r].must_fail = 1;
    }
    free(cases);
    return row_count;
}

/* Runs the tool with stdout into a growing buffer; stderr stays the test's. */
static int run_tool(char *const argv[], char **out) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    size_t size = 0, cap = 1 << 16;
    char *buffer = malloc(cap);
    assert_non_null(buffer);
    for (;;) {
        if (size + 4096 + 1 > cap) {
            cap *= 2;
            buffer = realloc(buffer, cap);
            assert_non_null(buffer);
        }
        ssize_t n = read(fds[0], buffer + size, 4096);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        size += (size_t)n;
    }
    close(fds[0]);
    buffer[size] = '\0';
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) assert_int_equal(errno, EINTR);
    *out = buffer;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reads the JSON string starting at the opening quote `p` into out; returns the text after it. */
static const char *json_string(const char *p, char *out, size_t cap) {
    size_t n = 0;
    if (*p != '"') return NULL;
    for (++p; *p && *p != '"'; ++p) {
        if (*p == '\\' && p[1]) ++p; /* row names hold no escapes beyond \" and \\ */
        if (n + 1 < cap) out[n++] = *p;
    }
    out[n] = '\0';
    return *p == '"' ? p + 1 : NULL;
}

/* The cell of `backend` inside the line's "cells": {...} object, or "" when absent. */
static void json_cell(const char *line, const char *backend, char *out, size_t cap) {
    out[0] = '\0';
    const char *cells = strstr(line, "\"cells\"");
    if (!cells) return;
    const char *end = strchr(cells, '}');
    char key[96];
    snprintf(key, sizeof key, "\"%s\"", backend);
    const char *at = strstr(cells, key);
    if (!at || (end && at > end)) return;
    at += strlen(key);
    while (*at == ' ' || *at == ':') ++at;
    if (!json_string(at, out, cap)) out[0] = '\0';
}

/* Fills the rows' cells from every line that holds a "case". */
static void read_json(char *json, row_expectation *rows, uint32_t row_count) {
    for (char *line = strtok(json, "\n"); line; line = strtok(NULL, "\n")) {
        const char *at = strstr(line, "\"case\"");
        if (!at) continue;
        at = strchr(at + 6, '"');
        char name[128];
        if (!at || !json_string(at, name, sizeof name)) continue;
        uint32_t r = 0;
        while (r < row_count && strcmp(rows[r].name, name) != 0) ++r;
        if (r == row_count) {
            print_error("JSON has a row '%s' that the catalogue does not\n", name);
            continue;
        }
        rows[r].seen = 1;
        json_cell(line, "sdpa-ref", rows[r].reference, sizeof rows[r].reference);
        json_cell(line, "wrong-topleft", rows[r].wrong, sizeof rows[r].wrong);
    }
}

static void test_matrix_catches_top_left_alignment(void **state) {
    (void)state;
    const char *tool = getenv("ATTN_TEST_ATTNMATRIX"), *config = getenv("ATTN_TEST_CONFIG");
    if (!tool || !config) print_error("ATTN_TEST_ATTNMATRIX and ATTN_TEST_CONFIG must be set (ctest sets them)\n");
    assert_true(tool && config);

    row_expectation rows[MAX_ROWS];
    uint32_t row_count = expected_rows(rows);
    /* Without a row where alignment matters the test would prove nothing. */
    int failing_rows = 0;
    for (uint32_t r = 0; r < row_count; ++r) failing_rows += rows[r].must_fail;
    assert_true(failing_rows > 0 && failing_rows < (int)row_count);
    printf("rows where alignment matters (wrong-topleft must FAIL):\n");
    for (uint32_t r = 0; r < row_count; ++r)
        if (rows[r].must_fail) printf("  %s\n", rows[r].name);

    char *argv[] = {(char *)tool, "--config", (char *)config, "--format", "json", "--quiet", NULL};
    char *json = NULL;
    int exit_status = run_tool(argv, &json);
    char *lines = strdup(json); /* strtok cuts it; json stays whole for the failure report */
    assert_non_null(lines);
    read_json(lines, rows, row_count);
    free(lines);

    int mismatches = 0;
    for (uint32_t r = 0; r < row_count; ++r) {
        const char *want = rows[r].must_fail ? "FAIL" : "PASS";
        int ok = rows[r].seen && !strcmp(rows[r].reference, "PASS") && !strcmp(rows[r].wrong, want);
        if (!ok) {
            if (!mismatches++) print_error("row | sdpa-ref expected/got | wrong-topleft expected/got\n");
            print_error("  %s | PASS/%s | %s/%s%s\n", rows[r].name, rows[r].reference[0] ? rows[r].reference : "-",
                        want, rows[r].wrong[0] ? rows[r].wrong : "-", rows[r].seen ? "" : "  (row missing from JSON)");
        }
    }
    if (mismatches || exit_status != 1) {
        print_error("attnmatrix exit status %d (expected 1); %d row(s) differ from expectations\n", exit_status,
                    mismatches);
        print_error("attnmatrix stdout:\n%s\n", json);
    }
    free(json);
    assert_int_equal(mismatches, 0);
    assert_int_equal(exit_status, 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_matrix_catches_top_left_alignment)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
