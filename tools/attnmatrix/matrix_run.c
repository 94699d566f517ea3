/* Running the table: golden and baseline once per instance, then every backend, the
 * row's extra checks, and the pairwise differences. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "matrix.h"
#include "exit_guard.h"
#include "tool_config.h"

/* The most pipe ends worker_fds gives: two per worker, the backends' and the reference's two. */
#define MATRIX_MAX_WORKER_FDS (2 * (MATRIX_MAX_BACKENDS + 2))

static uint32_t add_worker_fds(const matrix_worker *w, const matrix_worker *self, int *fds, uint32_t count) {
    if (w == self || !w->pid) return count;
    fds[count++] = w->request_fd;
    fds[count++] = w->response_fd;
    return count;
}

/* The pipe ends of every running worker but `self`: what a new worker must close. */
static uint32_t worker_fds(const matrix *m, const matrix_worker *self, int *fds) {
    uint32_t count = 0;
    for (uint32_t n = 0; n < m->backend_count; ++n) count = add_worker_fds(&m->backends[n].worker, self, fds, count);
    count = add_worker_fds(&m->golden_worker, self, fds, count);
    return add_worker_fds(&m->baseline_worker, self, fds, count);
}

/* Opens backend n in this process, or starts its worker under isolate.  A worker lost while
 * opening (CRASH, TIMEOUT) is not a config error: its cells say so. */
static attn_status open_backend(matrix *m, uint32_t n, attn_error *err) {
    matrix_backend *mb = &m->backends[n];
    const attn_backend_spec *spec = mb->spec;
    if (!m->isolate)
        return attn_backend_open(spec->name, spec->plugin_path, spec->options, spec->option_count, &mb->backend, err);
    int fds[MATRIX_MAX_WORKER_FDS];
    uint32_t fd_count = worker_fds(m, &mb->worker, fds);
    attn_status st = worker_start(&mb->worker, spec, m->timeout_s, fds, fd_count, err);
    return st == MATRIX_E_CRASH || st == MATRIX_E_TIMEOUT ? ATTN_OK : st;
}

/* Opens golden or baseline in this process, or starts its worker under isolate.  A worker lost
 * while opening is not a config error: every instance's row then fails with the reason. */
static attn_status open_reference(matrix *m, const attn_backend_spec *spec, matrix_worker *worker, attn_backend **out,
                                  attn_error *err) {
    if (!m->isolate) return attn_tool_backend_open(spec, out, err);
    int fds[MATRIX_MAX_WORKER_FDS];
    uint32_t fd_count = worker_fds(m, worker, fds);
    attn_status st = worker_start(worker, spec, m->timeout_s, fds, fd_count, err);
    return st == MATRIX_E_CRASH || st == MATRIX_E_TIMEOUT ? ATTN_OK : st;
}

attn_status matrix_open(matrix *m, const attn_config *config, attn_error *err) {
    if (config->backend_count > MATRIX_MAX_BACKENDS)
        return attn_error_set(err, ATTN_E_CONFIG, "%s: %u backends; attnmatrix handles at most %d", config->source,
                              config->backend_count, MATRIX_MAX_BACKENDS);
    for (uint32_t n = 0; n < config->backend_count; ++n) {
        const attn_backend_spec *spec = &config->backends[n];
        matrix_backend *mb = &m->backends[m->backend_count++];
        mb->spec = spec;
        if (!spec->plugin_path) { /* an optional plugin that was not built here */
            mb->skipped = 1;
            snprintf(mb->skip_reason, sizeof mb->skip_reason, "plugin not built here: %s", spec->resolve_error);
            continue;
        }
        attn_error open_err;
        attn_tool_exit_guard_doing("opening backend %s", spec->name);
        attn_status st = open_backend(m, n, &open_err);
        if (st == ATTN_E_UNAVAILABLE) {
            mb->skipped = 1;
            snprintf(mb->skip_reason, sizeof mb->skip_reason, "%s", open_err.message);
            mb->backend = NULL;
        } else if (st != ATTN_OK) {
            return attn_error_set(err, st, "%s:%d: backend '%s': %s", config->source, spec->line, spec->name, open_err.message);
        }
    }
    attn_tool_exit_guard_doing("opening golden and baseline");
    m->golden_spec = config->golden;
    m->baseline_spec = config->baseline;
    attn_status st = open_reference(m, config->golden, &m->golden_worker, &m->golden, err);
    if (st == ATTN_OK) st = open_reference(m, config->baseline, &m->baseline_worker, &m->baseline, err);
    return st;
}

void matrix_close(matrix *m) {
    attn_tool_exit_guard_doing("closing the backends");
    for (uint32_t n = 0; n < m->backend_count; ++n) {
        attn_backend_close(m->backends[n].backend);
        worker_stop(&m->backends[n].worker);
    }
    attn_backend_close(m->golden);
    attn_backend_close(m->baseline);
    worker_stop(&m->golden_worker);
    worker_stop(&m->baseline_worker);
    free(m->rows);
    memset(m, 0, sizeof *m);
}

static matrix_row *row_for(matrix *m, const char *name, attn_error *err) {
    for (uint32_t r = 0; r < m->row_count; ++r)
        if (!strcmp(m->rows[r].name, name)) return &m->rows[r];
    matrix_row *grown = realloc(m->rows, sizeof *grown * (m->row_count + 1));
    if (!grown) {
        attn_error_set(err, ATTN_E_NOMEM, "out of memory");
        return NULL;
    }
    m->rows = grown;
    matrix_row *row = &m->rows[m->row_count++];
    memset(row, 0, sizeof *row);
    snprintf(row->name, sizeof row->name, "%s", name);
    for (uint32_t a = 0; a < MATRIX_MAX_BACKENDS; ++a)
        for (uint32_t b = 0; b < MATRIX_MAX_BACKENDS; ++b) row->pair_diff[a][b] = -1.0;
    for (uint32_t n = 0; n < attn_catalogue_row_count(); ++n)
        if (!strcmp(attn_catalogue_row(n)->name, name))
            snprintf(row->exercises, sizeof row->exercises, "%s", attn_catalogue_row(n)->exercises);
    if (!row->exercises[0]) snprintf(row->exercises, sizeof row->exercises, "from a case file");
    return row;
}

static void record(matrix_cell *cell, enum instance_outcome outcome, const char *instance, const char *reason) {
    cell->counts[outcome]++;
    int failure = outcome == OUT_FAIL || outcome == OUT_CRASH || outcome == OUT_TIMEOUT;
    if (reason && (!cell->first_reason[0] || (failure && !cell->reason_is_failure))) {
        snprintf(cell->first_reason, sizeof cell->first_reason, "%s: %s", instance, reason);
        cell->reason_is_failure = failure;
    }
}

/* Before each execution: the progress line, and what the exit guard says if a plugin exits. */
static void progress(const matrix *m, uint32_t done, uint32_t total, const attn_case *c, const char *who) {
    attn_tool_exit_guard_doing("running %s on %s (row %s)", who, c->name, c->row);
    if (!m->progress) return;
    fprintf(stderr, "\r\033[K[%u/%u] %s | %s | %s", done + 1, total, c->row, c->name, who);
    fflush(stderr);
}

/* One execution of backend n: in this process, or in its worker under isolate (where the
 * statuses MATRIX_E_CRASH and MATRIX_E_TIMEOUT can come back). */
static attn_status execute(matrix *m, uint32_t n, const attn_instance *inst, const attn_exec_options *options,
                           attn_result *out, attn_error *err) {
    matrix_backend *mb = &m->backends[n];
    if (!m->isolate) return attn_instance_execute(mb->backend, inst, options, out, err);
    int fds[MATRIX_MAX_WORKER_FDS];
    uint32_t fd_count = worker_fds(m, &mb->worker, fds);
    return worker_execute(&mb->worker, mb->spec, m->timeout_s, fds, fd_count, inst, options, out, err);
}

/* One execution of golden (`golden` 1) or baseline, as golden is computed: in this process, or
 * in its worker under isolate. */
static attn_status execute_reference(matrix *m, int golden, const attn_instance *inst, attn_result *out,
                                     attn_error *err) {
    attn_exec_options reference_options = {0, 0, 1, 1};
    if (!m->isolate)
        return attn_instance_execute(golden ? m->golden : m->baseline, inst, &reference_options, out, err);
    matrix_worker *worker = golden ? &m->golden_worker : &m->baseline_worker;
    int fds[MATRIX_MAX_WORKER_FDS];
    uint32_t fd_count = worker_fds(m, worker, fds);
    return worker_execute(worker, golden ? m->golden_spec : m->baseline_spec, m->timeout_s, fds, fd_count, inst,
                          &reference_options, out, err);
}

/* What a failure of golden or baseline on an instance is called in the reason of its row. */
static const char *reference_failure(int golden, attn_status st) {
    if (st == MATRIX_E_CRASH) return golden ? "golden crashed" : "baseline crashed";
    if (st == MATRIX_E_TIMEOUT) return golden ? "golden timed out" : "baseline timed out";
    return "golden or baseline failed on it, so no backend can be judged";
}

/* The outcome a failed execution's status stands for. */
static enum instance_outcome failure_outcome(attn_status st) {
    if (st == MATRIX_E_CRASH) return OUT_CRASH;
    if (st == MATRIX_E_TIMEOUT) return OUT_TIMEOUT;
    return OUT_FAIL;
}

/* The LSE-merge check: the two halves of the keys, run separately and merged, equal golden. */
static enum instance_outcome merge_check(matrix *m, uint32_t n, const attn_instance *inst, const attn_result *golden,
                                         const attn_tolerance *tolerance, char *detail, size_t cap) {
    attn_error err;
    attn_result first, second, merged;
    attn_exec_options half = {0, inst->c.kv_len / 2, 1, 0};
    attn_status st = execute(m, n, inst, &half, &first, &err);
    if (st != ATTN_OK) {
        snprintf(detail, cap, "LSE merge: first half: %s", err.message);
        return failure_outcome(st);
    }
    half.key_begin = half.key_end;
    half.key_end = inst->c.kv_len;
    st = execute(m, n, inst, &half, &second, &err);
    if (st != ATTN_OK) {
        attn_result_free(&first);
        snprintf(detail, cap, "LSE merge: second half: %s", err.message);
        return failure_outcome(st);
    }
    int ok = attn_result_merge(inst, &first, &second, &merged, &err) == ATTN_OK;
    if (ok) {
        attn_verdict verdict;
        attn_compare(inst, golden, tolerance, &merged, &verdict);
        ok = verdict.pass;
        if (!ok) snprintf(detail, cap, "two halves merged through LSE differ from the whole: %s", verdict.detail);
        attn_result_free(&merged);
    } else {
        snprintf(detail, cap, "LSE merge: %s", err.message);
    }
    attn_result_free(&first);
    attn_result_free(&second);
    return ok ? OUT_PASS : OUT_FAIL;
}

/* One backend on one instance: its outcome, with the reason. */
static enum instance_outcome run_backend(matrix *m, uint32_t n, const attn_instance *inst, const attn_result *golden,
                                         const attn_tolerance *tolerance, attn_result *result, attn_verdict *verdict,
                                         char *reason, size_t cap) {
    attn_error err;
    attn_status st = execute(m, n, inst, NULL, result, &err);
    if (attn_tool_refused(st)) {
        snprintf(reason, cap, "%s", err.message);
        return st == ATTN_E_UNSUPPORTED ? OUT_UNSUPPORTED : OUT_NOT_APPLICABLE;
    }
    if (st == MATRIX_E_CRASH || st == MATRIX_E_TIMEOUT) {
        snprintf(reason, cap, "%s", err.message);
        return failure_outcome(st);
    }
    if (st != ATTN_OK) {
        snprintf(reason, cap, "%s: %s", attn_status_name(st), err.message);
        return OUT_FAIL;
    }
    attn_compare(inst, golden, tolerance, result, verdict);
    if (!verdict->pass) {
        snprintf(reason, cap, "%s", verdict->detail);
        return OUT_FAIL;
    }
    if (inst->c.checks & ATTN_CHECK_LSE_MERGE) return merge_check(m, n, inst, golden, tolerance, reason, cap);
    return OUT_PASS;
}

/* The kept fraction is a property of the shared Philox stream, the same for every backend:
 * measured once per instance, and a miss fails every backend's cell of the row. */
static int kept_fraction_ok(const attn_instance *inst, matrix_row *row, char *reason, size_t cap) {
    double kept = attn_instance_kept_fraction(inst), want = 1.0 - inst->c.dropout_p;
    snprintf(row->note, sizeof row->note, "kept fraction %.4f for 1 - p = %.2f", kept, want);
    if (fabs(kept - want) <= 0.01) return 1;
    snprintf(reason, cap, "dropout kept fraction %.4f is not within 0.01 of %.4f", kept, want);
    return 0;
}

/* An instance that cannot be judged (its inputs cannot be made, or golden or baseline fail on
 * it) fails every cell of its row with the reason; the rest of the table still runs. */
static void fail_row_instance(const matrix *m, matrix_row *row, const attn_case *c, const char *what,
                              const attn_error *why) {
    char reason[ATTN_ERROR_CAP]; /* cut to what a cell keeps */
    snprintf(reason, sizeof reason, "%s: %.900s", what, why->message);
    row->instances++;
    for (uint32_t n = 0; n < m->backend_count; ++n)
        record(&row->cells[n], m->backends[n].skipped ? OUT_SKIP : OUT_FAIL, c->name,
               m->backends[n].skipped ? m->backends[n].skip_reason : reason);
}

/* The eager baseline is a float32 kernel too: it must land within the tolerance like any
 * other.  Where it does not, the row says so (the derived bound would be too tight there),
 * without changing any cell. */
static void witness_baseline(const attn_instance *inst, const attn_result *golden, const attn_tolerance *tolerance,
                             const attn_result *baseline, matrix_row *row) {
    attn_verdict verdict;
    attn_compare(inst, golden, tolerance, baseline, &verdict);
    if (verdict.ratio > row->baseline_ratio) row->baseline_ratio = verdict.ratio;
    if (!verdict.pass && !row->baseline_note[0])
        snprintf(row->baseline_note, sizeof row->baseline_note, "the eager baseline itself exceeds the tolerance on %.60s: %.120s",
                 inst->c.name, verdict.detail);
}

/* Every backend on one instance, golden and its tolerance in hand. */
static void run_backends(matrix *m, const attn_instance *inst, const attn_result *golden, const attn_tolerance *tolerance,
                         matrix_row *row, uint32_t done, uint32_t total) {
    const attn_case *c = &inst->c;
    char kept_reason[256] = "";
    int kept_ok = !(c->checks & ATTN_CHECK_KEPT_FRACTION) || kept_fraction_ok(inst, row, kept_reason, sizeof kept_reason);
    attn_result results[MATRIX_MAX_BACKENDS];
    memset(results, 0, sizeof results);
    for (uint32_t n = 0; n < m->backend_count; ++n) {
        matrix_backend *mb = &m->backends[n];
        matrix_cell *cell = &row->cells[n];
        if (mb->skipped) {
            record(cell, OUT_SKIP, c->name, mb->skip_reason);
            continue;
        }
        progress(m, done, total, c, mb->spec->name);
        char reason[ATTN_ERROR_CAP + 128] = "";
        attn_verdict verdict = {0};
        enum instance_outcome outcome = run_backend(m, n, inst, golden, tolerance, &results[n], &verdict, reason, sizeof reason);
        if (outcome == OUT_PASS && !kept_ok) {
            outcome = OUT_FAIL;
            snprintf(reason, sizeof reason, "%s", kept_reason);
        }
        if (outcome == OUT_PASS || outcome == OUT_FAIL) {
            row->dtype_mask |= 1u << c->dtype;
            if (verdict.max_err_o > cell->max_err) cell->max_err = verdict.max_err_o;
            if (verdict.ratio > cell->max_ratio) cell->max_ratio = verdict.ratio;
        }
        record(cell, outcome, c->name, reason[0] ? reason : NULL);
    }
    for (uint32_t a = 0; a < m->backend_count; ++a)
        for (uint32_t b = a + 1; b < m->backend_count; ++b) {
            if (!results[a].o || !results[b].o) continue;
            double d = attn_result_max_diff(inst, &results[a], &results[b]);
            if (d > row->pair_diff[a][b]) row->pair_diff[a][b] = row->pair_diff[b][a] = d;
        }
    for (uint32_t n = 0; n < m->backend_count; ++n) attn_result_free(&results[n]);
}

static attn_status run_instance(matrix *m, const attn_case *c, matrix_row *row, uint32_t done, uint32_t total,
                                attn_error *err) {
    attn_instance inst;
    attn_status st = attn_instance_make(c, &inst, err);
    if (st != ATTN_OK) {
        fail_row_instance(m, row, c, "its inputs could not be made", err);
        return ATTN_OK;
    }
    attn_tolerance tolerance;
    st = attn_tolerance_make(&inst, &tolerance, err);
    if (st != ATTN_OK) {
        fail_row_instance(m, row, c, "it cannot be judged", err);
        attn_instance_free(&inst);
        return ATTN_OK;
    }
    attn_result golden = {0}, baseline = {0};
    progress(m, done, total, &inst.c, "golden");
    st = execute_reference(m, 1, &inst, &golden, err);
    int golden_failed = st != ATTN_OK;
    progress(m, done, total, &inst.c, "baseline");
    if (st == ATTN_OK) st = execute_reference(m, 0, &inst, &baseline, err);
    if (st != ATTN_OK) {
        fail_row_instance(m, row, c, reference_failure(golden_failed, st), err);
    } else {
        row->instances++;
        if (tolerance.max_o > row->max_tol) row->max_tol = tolerance.max_o;
        witness_baseline(&inst, &golden, &tolerance, &baseline, row);
        run_backends(m, &inst, &golden, &tolerance, row, done, total);
    }
    attn_result_free(&golden);
    attn_result_free(&baseline);
    attn_tolerance_free(&tolerance);
    attn_instance_free(&inst);
    return ATTN_OK;
}

static void finish_cells(matrix *m) {
    for (uint32_t r = 0; r < m->row_count; ++r)
        for (uint32_t n = 0; n < m->backend_count; ++n) {
            matrix_cell *cell = &m->rows[r].cells[n];
            cell->status = cell_verdict(cell->counts);
        }
}

int matrix_selects(const attn_case *c, const char *row_filter, int32_t dtype_filter) {
    return (!row_filter || strstr(c->row, row_filter)) && (dtype_filter < 0 || c->dtype == dtype_filter);
}

attn_status matrix_run(matrix *m, const attn_case *cases, uint32_t case_count, const char *row_filter, int32_t dtype_filter,
                       uint32_t first_draw, uint32_t seeds, attn_error *err) {
    uint32_t total = 0, done = 0;
    for (uint32_t n = 0; n < case_count; ++n) total += matrix_selects(&cases[n], row_filter, dtype_filter) * seeds;
    /* Rows appear in table order: the catalogue's first, then new rows of case files; a row
     * with no selected instance is left out. */
    for (uint32_t r = 0; r < attn_catalogue_row_count(); ++r) {
        const char *name = attn_catalogue_row(r)->name;
        int used = 0;
        for (uint32_t n = 0; n < case_count && !used; ++n)
            used = matrix_selects(&cases[n], row_filter, dtype_filter) && !strcmp(cases[n].row, name);
        if (used && !row_for(m, name, err)) return err->status;
    }
    for (uint32_t n = 0; n < case_count; ++n) {
        const attn_case *c = &cases[n];
        if (!matrix_selects(c, row_filter, dtype_filter)) continue;
        matrix_row *row = row_for(m, c->row, err);
        if (!row) return err->status;
        for (uint32_t k = first_draw; k < first_draw + seeds; ++k) {
            attn_case drawn = *c; /* draw k: the case's inputs from another seed, nothing else changed */
            drawn.data_seed = c->data_seed + (uint64_t)k * MATRIX_SEED_STRIDE;
            attn_status st = run_instance(m, &drawn, row, done++, total, err);
            if (st != ATTN_OK) return st;
        }
    }
    if (m->progress) fprintf(stderr, "\r\033[K");
    finish_cells(m);
    return ATTN_OK;
}

int matrix_has_failure(const matrix *m) {
    for (uint32_t r = 0; r < m->row_count; ++r)
        for (uint32_t n = 0; n < m->backend_count; ++n)
            if (m->rows[r].cells[n].status == CELL_FAIL || m->rows[r].cells[n].status == CELL_CRASH ||
                m->rows[r].cells[n].status == CELL_TIMEOUT)
                return 1;
    return 0;
}
