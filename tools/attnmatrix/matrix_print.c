/* The three outputs of attnmatrix: the markdown table of the original note (with its
 * legend), the pairwise differences, and JSON with one row object per line. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "json_out.h"
#include "matrix.h"
#include "text_escape.h"

/* Escaped copies of plugin- and file-given text for one printf (text_escape.h). */
#define IN_TABLE(s, buffer) attn_tool_escape((s), 1, (buffer), sizeof(buffer))
#define IN_LINE(s, buffer) attn_tool_escape((s), 0, (buffer), sizeof(buffer))

const char *cell_status_name(enum cell_status status) {
    static const char *const names[] = {"PASS", "FAIL", "PARTIAL", "UNSUPPORTED", "N/A", "SKIP", "-", "CRASH", "TIMEOUT"};
    return names[status];
}

static const char *const legend[] = {
    "PASS: every instance of the row ran and matched golden within SPEC.md's tolerance",
    "FAIL: some instance differed from golden, produced NaN/Inf, wrote a non-zero empty row, or errored",
    "PARTIAL: some instances passed; the backend declined the rest (unsupported or not applicable)",
    "UNSUPPORTED: the backend declined every instance, some as unsupported (reason below)",
    "N/A: the backend called every instance not applicable: the feature has no meaning for it (reason below)",
    "SKIP: the backend cannot run on this machine (reason below)",
    "CRASH / TIMEOUT (--isolate): the backend's worker process died (signal below) or ran past --timeout",
};

static void dtype_list(uint32_t mask, char *out, size_t cap) {
    out[0] = '\0';
    for (int32_t d = 0; d < ATTN_DTYPE_COUNT; ++d)
        if (mask & (1u << d)) {
            if (out[0]) strncat(out, " ", cap - strlen(out) - 1);
            strncat(out, attn_dtype_name(d), cap - strlen(out) - 1);
        }
    if (!out[0]) snprintf(out, cap, "none ran");
}

/* The Notes column: largest error against golden, the least margin left (err / tolerance),
 * largest pairwise difference, dtypes, and whether the eager baseline kept within the tolerance. */
static void row_notes(const matrix *m, const matrix_row *row, char *out, size_t cap) {
    double worst = -1.0, worst_pair = -1.0, worst_ratio = -1.0;
    uint32_t who = 0, who_ratio = 0, pa = 0, pb = 0;
    for (uint32_t n = 0; n < m->backend_count; ++n) {
        if (!row->cells[n].counts[0] && !row->cells[n].counts[1]) continue;
        if (row->cells[n].max_err > worst) {
            worst = row->cells[n].max_err;
            who = n;
        }
        if (row->cells[n].max_ratio > worst_ratio) {
            worst_ratio = row->cells[n].max_ratio;
            who_ratio = n;
        }
    }
    for (uint32_t a = 0; a < m->backend_count; ++a)
        for (uint32_t b = a + 1; b < m->backend_count; ++b)
            if (row->pair_diff[a][b] > worst_pair) {
                worst_pair = row->pair_diff[a][b];
                pa = a;
                pb = b;
            }
    char dtypes[64];
    dtype_list(row->dtype_mask, dtypes, sizeof dtypes);
    size_t n = 0;
    if (worst >= 0.0)
        n += (size_t)snprintf(out + n, cap - n, "max err vs golden %.2g (%s), tolerance <= %.2g; worst err/tolerance %.2g (%s); ",
                              worst, m->backends[who].spec->name, row->max_tol, worst_ratio, m->backends[who_ratio].spec->name);
    if (worst_pair >= 0.0 && n < cap)
        n += (size_t)snprintf(out + n, cap - n, "max pair diff %.2g (%s vs %s); ", worst_pair, m->backends[pa].spec->name,
                              m->backends[pb].spec->name);
    if (n < cap) n += (size_t)snprintf(out + n, cap - n, "%s", dtypes);
    if (row->note[0] && n < cap) n += (size_t)snprintf(out + n, cap - n, "; %s", row->note);
    if (row->baseline_note[0] && n < cap) snprintf(out + n, cap - n, "; %s", row->baseline_note);
}

static int cell_has_note(const matrix_cell *cell) {
    return cell->status != CELL_PASS && cell->status != CELL_EMPTY && cell->first_reason[0];
}

/* Footnote numbers: one per cell with a reason, except that a backend skipped as a whole
 * (no GPU, plugin not built) shares one note across its column instead of one per row. */
typedef struct footnotes {
    uint32_t next;
    uint32_t whole_backend[MATRIX_MAX_BACKENDS]; /* 0: not yet numbered */
} footnotes;

static uint32_t footnote_of(const matrix *m, uint32_t backend, footnotes *notes, int *is_new) {
    *is_new = 1;
    if (!m->backends[backend].skipped) return ++notes->next;
    if (notes->whole_backend[backend]) {
        *is_new = 0;
        return notes->whole_backend[backend];
    }
    return notes->whole_backend[backend] = ++notes->next;
}

void matrix_print_table(const matrix *m, FILE *out, int explain) {
    char name[4 * 128], other[4 * 128], text[4 * (ATTN_ERROR_CAP + 160)];
    fprintf(out, "| Case |");
    for (uint32_t n = 0; n < m->backend_count; ++n) fprintf(out, " %s |", IN_TABLE(m->backends[n].spec->name, name));
    fprintf(out, " Notes |\n|------|");
    for (uint32_t n = 0; n < m->backend_count; ++n) fprintf(out, "------|");
    fprintf(out, "-------|\n");
    footnotes numbers = {0, {0}};
    for (uint32_t r = 0; r < m->row_count; ++r) {
        const matrix_row *row = &m->rows[r];
        fprintf(out, "| %s |", IN_TABLE(row->name, name));
        for (uint32_t n = 0; n < m->backend_count; ++n) {
            const matrix_cell *cell = &row->cells[n];
            int is_new;
            if (!cell_has_note(cell))
                fprintf(out, " %s |", cell_status_name(cell->status));
            else
                fprintf(out, " %s [%u] |", cell_status_name(cell->status), footnote_of(m, n, &numbers, &is_new));
        }
        char notes[512];
        row_notes(m, row, notes, sizeof notes);
        fprintf(out, " %s |\n", IN_TABLE(notes, text));
    }
    fprintf(out, "\nLegend:\n");
    for (size_t n = 0; n < sizeof legend / sizeof legend[0]; ++n) fprintf(out, "- %s\n", legend[n]);
    footnotes again = {0, {0}};
    int header = 0;
    for (uint32_t r = 0; r < m->row_count; ++r)
        for (uint32_t n = 0; n < m->backend_count; ++n) {
            const matrix_cell *cell = &m->rows[r].cells[n];
            if (!cell_has_note(cell)) continue;
            int is_new;
            uint32_t number = footnote_of(m, n, &again, &is_new);
            if (!is_new) continue;
            if (!header++) fprintf(out, "\nReasons:\n");
            if (!m->backends[n].skipped)
                fprintf(out, "[%u] %s, %s: %s\n", number, IN_LINE(m->backends[n].spec->name, name),
                        IN_LINE(m->rows[r].name, other), IN_LINE(cell->first_reason, text));
            else
                fprintf(out, "[%u] %s, every row: %s\n", number, IN_LINE(m->backends[n].spec->name, name),
                        IN_LINE(m->backends[n].skip_reason, text));
        }
    if (!explain) return;
    fprintf(out, "\nPer cell (pass / fail / unsupported / n/a / skip / crash / timeout of the row's instances):\n");
    for (uint32_t r = 0; r < m->row_count; ++r) {
        const matrix_row *row = &m->rows[r];
        fprintf(out, "%s (%s), %u instances:\n", IN_LINE(row->name, name), IN_LINE(row->exercises, text), row->instances);
        for (uint32_t n = 0; n < m->backend_count; ++n) {
            const matrix_cell *c = &row->cells[n];
            fprintf(out, "  %-16s %-11s %u/%u/%u/%u/%u/%u/%u  max err %.3g, worst err/tolerance %.3g\n",
                    IN_LINE(m->backends[n].spec->name, name), cell_status_name(c->status), c->counts[OUT_PASS],
                    c->counts[OUT_FAIL], c->counts[OUT_UNSUPPORTED], c->counts[OUT_NOT_APPLICABLE], c->counts[OUT_SKIP],
                    c->counts[OUT_CRASH], c->counts[OUT_TIMEOUT], c->max_err, c->max_ratio);
        }
        fprintf(out, "  %-16s worst err/tolerance %.3g (the eager float32 baseline, a witness that the bound holds)\n",
                "baseline", row->baseline_ratio);
    }
}

void matrix_print_pairs(const matrix *m, FILE *out) {
    fprintf(out, "\nPairwise max|O_a - O_b| per row (instances both ran):\n");
    for (uint32_t r = 0; r < m->row_count; ++r) {
        const matrix_row *row = &m->rows[r];
        char name[4 * 128], other[4 * 128];
        fprintf(out, "%s:\n", IN_LINE(row->name, name));
        int any = 0;
        for (uint32_t a = 0; a < m->backend_count; ++a)
            for (uint32_t b = a + 1; b < m->backend_count; ++b) {
                if (row->pair_diff[a][b] < 0.0) continue;
                fprintf(out, "  %s vs %s: %.3g\n", IN_LINE(m->backends[a].spec->name, name),
                        IN_LINE(m->backends[b].spec->name, other), row->pair_diff[a][b]);
                any = 1;
            }
        if (!any) fprintf(out, "  (no pair ran together)\n");
    }
}

static void json_number(FILE *out, double x) {
    if (isfinite(x)) fprintf(out, "%.6g", x);
    else fprintf(out, "null");
}

/* {"backend": number, ...} of one double field of the row's cells. */
static void json_per_backend(FILE *out, const matrix *m, const matrix_row *row, size_t field) {
    fprintf(out, "{");
    for (uint32_t n = 0; n < m->backend_count; ++n) {
        fprintf(out, "%s", n ? ", " : "");
        json_string(out, m->backends[n].spec->name);
        fprintf(out, ": ");
        json_number(out, *(const double *)((const char *)&row->cells[n] + field));
    }
    fprintf(out, "}");
}

void matrix_print_json(const matrix *m, FILE *out) {
    fprintf(out, "{\"backends\": [");
    for (uint32_t n = 0; n < m->backend_count; ++n) {
        if (n) fprintf(out, ", ");
        json_string(out, m->backends[n].spec->name);
    }
    fprintf(out, "],\n \"rows\": [\n");
    for (uint32_t r = 0; r < m->row_count; ++r) {
        const matrix_row *row = &m->rows[r];
        fprintf(out, "  {\"case\": ");
        json_string(out, row->name);
        fprintf(out, ", \"cells\": {");
        for (uint32_t n = 0; n < m->backend_count; ++n) {
            fprintf(out, "%s", n ? ", " : "");
            json_string(out, m->backends[n].spec->name);
            fprintf(out, ": ");
            json_string(out, cell_status_name(row->cells[n].status));
        }
        fprintf(out, "}, \"reasons\": {");
        int first = 1;
        for (uint32_t n = 0; n < m->backend_count; ++n) {
            if (!row->cells[n].first_reason[0]) continue;
            fprintf(out, "%s", first ? "" : ", ");
            first = 0;
            json_string(out, m->backends[n].spec->name);
            fprintf(out, ": ");
            json_string(out, row->cells[n].first_reason);
        }
        fprintf(out, "}, \"max_err\": ");
        json_per_backend(out, m, row, offsetof(matrix_cell, max_err));
        fprintf(out, ", \"max_ratio\": ");
        json_per_backend(out, m, row, offsetof(matrix_cell, max_ratio));
        fprintf(out, ", \"pairs\": [");
        first = 1;
        for (uint32_t a = 0; a < m->backend_count; ++a)
            for (uint32_t b = a + 1; b < m->backend_count; ++b) {
                if (row->pair_diff[a][b] < 0.0) continue;
                fprintf(out, "%s{\"a\": ", first ? "" : ", ");
                first = 0;
                json_string(out, m->backends[a].spec->name);
                fprintf(out, ", \"b\": ");
                json_string(out, m->backends[b].spec->name);
                fprintf(out, ", \"max_diff\": ");
                json_number(out, row->pair_diff[a][b]);
                fprintf(out, "}");
            }
        char dtypes[64];
        dtype_list(row->dtype_mask, dtypes, sizeof dtypes);
        fprintf(out, "], \"max_tolerance\": ");
        json_number(out, row->max_tol);
        fprintf(out, ", \"baseline_ratio\": ");
        json_number(out, row->baseline_ratio);
        fprintf(out, ", \"instances\": %u, \"dtypes\": ", row->instances);
        json_string(out, dtypes);
        fprintf(out, ", \"note\": ");
        json_string(out, row->note);
        fprintf(out, ", \"baseline_note\": ");
        json_string(out, row->baseline_note);
        fprintf(out, "}%s\n", r + 1 < m->row_count ? "," : "");
    }
    fprintf(out, " ]}\n");
}
