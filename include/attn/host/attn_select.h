/* Backend selection for callers of libattn: pin a backend by name, or hand over candidates in
 * priority order and get the first one whose capability check accepts the problem.  Every
 * rejection keeps its reason, so the choice can always be explained ("flex-cuda: head dim
 * 300 > 256, flex-cpu: no GPU tensors, chose sdpa-ref") instead of falling back silently.
 *
 *   attn_selection_report report;
 *   attn_backend *chosen;
 *   if (attn_select(backends, n, NULL, &problem, &chosen, &report, &err) != ATTN_OK)
 *       attn_selection_report_print(&report, stderr);   // every candidate and its reason
 *   attn_selection_report_free(&report);
 */
#ifndef ATTN_SELECT_H
#define ATTN_SELECT_H

#include <stdint.h>
#include <stdio.h>

#include "attn_config.h"
#include "attn_host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What happened to one candidate. */
typedef struct attn_selection_entry {
    char name[128];              /* the candidate's display name (a copy) */
    int32_t tried;               /* 1 when its capability check ran */
    attn_status status;          /* ATTN_OK for the chosen one; the refusal when tried; else 0 */
    char reason[ATTN_ERROR_CAP]; /* why it was refused or not tried; empty for the chosen one */
} attn_selection_entry;

typedef struct attn_selection_report {
    attn_selection_entry *entries; /* one per candidate, in the order given; owned by the report */
    uint32_t count;
    int32_t chosen; /* index of the chosen candidate, -1 when none */
} attn_selection_report;

/* Picks a backend for `problem` among candidates[0..count) (borrowed, in priority order).
 *   pinned == NULL: the first candidate whose attn_backend_check accepts the problem.
 *   pinned != NULL: only the candidate whose display name, or else whose plugin name,
 *                   equals `pinned`; its refusal is the answer (no fallback).
 * The problem is validated once first: ATTN_E_INVALID means no backend could take it.
 * On success *chosen is the accepted backend.  Otherwise *chosen is NULL and the status is
 * ATTN_E_UNSUPPORTED (or the pinned backend's own refusal), with err listing every
 * candidate's reason.  `report` (may be NULL) is filled either way and must then be freed
 * with attn_selection_report_free. */
ATTN_API attn_status attn_select(attn_backend *const *candidates, uint32_t count, const char *pinned, const attn_problem *problem,
                        attn_backend **chosen, attn_selection_report *report, attn_error *err);
ATTN_API void attn_selection_report_free(attn_selection_report *report);

/* One line per candidate: "  chosen   sdpa-ref" / "  refused  flex-cuda: <reason>" /
 * "  skipped  flex-cpu: <reason>". */
ATTN_API void attn_selection_report_print(const attn_selection_report *report, FILE *out);

/* The config's backends in the order attn_select should try them, as indices into
 * config->backends: the config's `priority` list when it has one (backends it leaves out are
 * not candidates), else every backend in the order written.  Returns how many (<= cap). */
ATTN_API uint32_t attn_config_selection_order(const attn_config *config, uint32_t *order, uint32_t cap);

#ifdef __cplusplus
}
#endif
#endif
