/* attnmatrix: runs every backend of a config over the masking/caching table and
 * cross-checks every pair.  matrix_run.c computes, matrix_print.c prints. */
#ifndef ATTNMATRIX_MATRIX_H
#define ATTNMATRIX_MATRIX_H

#include "attn_case.h"
#include <attn/host/attn_config.h>
#include <stdint.h>
#include <stdio.h>

#include "isolate.h"

#define MATRIX_MAX_BACKENDS 16

/* Outcome of one backend on one instance.  CRASH and TIMEOUT only happen under --isolate. */
enum instance_outcome {
    OUT_PASS, OUT_FAIL, OUT_UNSUPPORTED, OUT_NOT_APPLICABLE, OUT_SKIP, OUT_CRASH, OUT_TIMEOUT, OUT_COUNT
};

/* What a cell of the table says.  CRASH and TIMEOUT count as failures for the exit status. */
enum cell_status {
    CELL_PASS, CELL_FAIL, CELL_PARTIAL, CELL_UNSUPPORTED, CELL_NA, CELL_SKIP, CELL_EMPTY, CELL_CRASH, CELL_TIMEOUT
};
const char *cell_status_name(enum cell_status status);
/* The status of a cell whose instances had these outcomes (cell_verdict.c). */
enum cell_status cell_verdict(const uint32_t counts[OUT_COUNT]);

typedef struct matrix_cell {
    uint32_t counts[OUT_COUNT]; /* by instance_outcome */
    char first_reason[ATTN_ERROR_CAP + 160];/* the first failure, or else the first refusal, with its instance */
    int reason_is_failure;
    double max_err;         /* largest max|O - golden| among instances that ran */
    double max_ratio;       /* largest err / tolerance among them (PASS needs <= 1): the margin left */
    enum cell_status status;
} matrix_cell;

typedef struct matrix_row {
    char name[64];
    char exercises[128];
    uint32_t instances;
    uint32_t dtype_mask; /* dtypes among instances that ran on some backend */
    matrix_cell cells[MATRIX_MAX_BACKENDS];
    double pair_diff[MATRIX_MAX_BACKENDS][MATRIX_MAX_BACKENDS]; /* -1: the pair never ran together */
    double max_tol;      /* the loosest element's O tolerance among the row's instances */
    double baseline_ratio;  /* the eager baseline's largest err / tolerance: a witness that the bound holds */
    char baseline_note[256]; /* set when the baseline exceeds the tolerance somewhere */
    char note[160];      /* row-level facts, e.g. the dropout kept fraction */
} matrix_row;

typedef struct matrix_backend {
    const attn_backend_spec *spec;
    attn_backend *backend; /* NULL when skipped, and under --isolate (the worker holds it) */
    int skipped;
    char skip_reason[ATTN_ERROR_CAP];
    matrix_worker worker; /* under --isolate */
} matrix_backend;

typedef struct matrix {
    matrix_backend backends[MATRIX_MAX_BACKENDS];
    uint32_t backend_count;
    attn_backend *golden, *baseline;                 /* NULL under --isolate: their workers hold them */
    const attn_backend_spec *golden_spec, *baseline_spec;
    matrix_worker golden_worker, baseline_worker;    /* under --isolate */
    matrix_row *rows;
    uint32_t row_count;
    int progress; /* print progress on stderr */
    int isolate;      /* each backend in a worker process (isolate.h) */
    double timeout_s; /* per execution under isolate; 0: none */
} matrix;

/* Opens every configured backend and the reference twice (golden, baseline).  Under isolate,
 * each of them opens in a worker of its own: a reference that crashes or hangs fails the rows of
 * the instances it could not compute ("golden crashed: ..."), not the run. */
attn_status matrix_open(matrix *m, const attn_config *config, attn_error *err);
/* Runs all instances, filling rows (allocated here).  `row_filter` and `dtype_filter`
 * (-1: all) restrict what runs. */
/* 1 when --rows (a substring of the row's name; NULL: any) and --dtype (-1: any) select the case. */
int matrix_selects(const attn_case *c, const char *row_filter, int32_t dtype_filter);

/* Each selected case runs `seeds` times, its inputs drawn from data_seed + k * MATRIX_SEED_STRIDE
 * for draws k = first_draw, ..., first_draw + seeds - 1 (draw 0: the case's own inputs). */
#define MATRIX_SEED_STRIDE 7919u
attn_status matrix_run(matrix *m, const attn_case *cases, uint32_t case_count, const char *row_filter, int32_t dtype_filter,
                       uint32_t first_draw, uint32_t seeds, attn_error *err);
void matrix_close(matrix *m);
/* 1 when some cell is FAIL, CRASH or TIMEOUT. */
int matrix_has_failure(const matrix *m);

void matrix_print_table(const matrix *m, FILE *out, int explain);
void matrix_print_pairs(const matrix *m, FILE *out);
void matrix_print_json(const matrix *m, FILE *out);

#endif
