/* Backend selection (attn_select.h): the first candidate whose capability check accepts the
 * problem, or the pinned one, with every rejection's reason kept for printing. */
#include <stdlib.h>
#include <string.h>

#include "attn/host/attn_select.h"
#include "internal.h"

void attn_selection_report_free(attn_selection_report *report) {
    if (!report) return;
    free(report->entries);
    report->entries = NULL;
    report->count = 0;
    report->chosen = -1;
}

static int matches_pin(attn_backend *backend, const char *pinned) {
    return strcmp(attn_backend_name(backend), pinned) == 0;
}

static int matches_plugin_name(attn_backend *backend, const char *pinned) {
    const char *plugin_name = attn_backend_api(backend)->name;
    return plugin_name && strcmp(plugin_name, pinned) == 0;
}

/* The candidate a pin names: a display name wins over a plugin name, so two instances of
 * one plugin under different names can be told apart. */
static int64_t pinned_index(attn_backend *const *candidates, uint32_t count, const char *pinned) {
    for (uint32_t n = 0; n < count; ++n)
        if (matches_pin(candidates[n], pinned)) return n;
    for (uint32_t n = 0; n < count; ++n)
        if (matches_plugin_name(candidates[n], pinned)) return n;
    return -1;
}

/* "a: reason; b: reason" of every tried candidate, for the error message. */
static void join_reasons(const attn_selection_report *report, char *out, size_t cap) {
    size_t used = 0;
    out[0] = '\0';
    for (uint32_t n = 0; n < report->count && used + 1 < cap; ++n) {
        const attn_selection_entry *e = &report->entries[n];
        if (!e->tried) continue;
        int written = snprintf(out + used, cap - used, "%s%s", used ? "; " : "", e->reason);
        if (written < 0) break;
        used += (size_t)written;
    }
}

attn_status attn_select(attn_backend *const *candidates, uint32_t count, const char *pinned, const attn_problem *problem,
                        attn_backend **chosen, attn_selection_report *report, attn_error *err) {
    *chosen = NULL;
    attn_selection_report local = {NULL, 0, -1};
    attn_selection_report *r = report ? report : &local;
    r->entries = calloc(count ? count : 1, sizeof *r->entries);
    r->count = 0;
    r->chosen = -1;
    if (!r->entries) return attn_error_set(err, ATTN_E_NOMEM, "out of memory");
    r->count = count;
    for (uint32_t n = 0; n < count; ++n)
        snprintf(r->entries[n].name, sizeof r->entries[n].name, "%s", attn_backend_name(candidates[n]));

    attn_status st = attn_problem_validate(problem, err);
    if (st != ATTN_OK) {
        for (uint32_t n = 0; n < count; ++n)
            snprintf(r->entries[n].reason, sizeof r->entries[n].reason, "not tried: the problem is invalid");
        attn_selection_report_free(&local);
        return st;
    }

    int64_t pin = -1;
    if (pinned) {
        pin = pinned_index(candidates, count, pinned);
        if (pin < 0) {
            char known[512] = "";
            for (uint32_t n = 0, used = 0; n < count && used + 1 < sizeof known; ++n)
                used += (uint32_t)snprintf(known + used, sizeof known - used, "%s%s", n ? ", " : "", r->entries[n].name);
            for (uint32_t n = 0; n < count; ++n)
                snprintf(r->entries[n].reason, sizeof r->entries[n].reason, "not considered: the pin '%s' names no candidate",
                         pinned);
            attn_selection_report_free(&local);
            return attn_error_set(err, ATTN_E_CONFIG, "pinned backend '%s' is not among the candidates (%s)", pinned,
                                  count ? known : "none");
        }
    }

    for (uint32_t n = 0; n < count; ++n) {
        attn_selection_entry *e = &r->entries[n];
        if (pin >= 0 && (int64_t)n != pin) {
            snprintf(e->reason, sizeof e->reason, "not considered: pinned to '%s'", pinned);
            continue;
        }
        if (r->chosen >= 0) {
            snprintf(e->reason, sizeof e->reason, "not tried: '%s' accepted first", r->entries[r->chosen].name);
            continue;
        }
        attn_error why = {0};
        attn_handed_problem handed; /* validated above: only the copy is made again */
        e->tried = 1;
        e->status = attn_problem_hand_over(problem, &handed, &why);
        if (e->status == ATTN_OK) e->status = attn_backend_check_handed(candidates[n], &handed, &why);
        if (e->status == ATTN_OK) {
            r->chosen = (int32_t)n;
            *chosen = candidates[n];
        } else {
            /* attn_backend_check already prefixes the backend's name. */
            snprintf(e->reason, sizeof e->reason, "%s", why.message);
        }
    }
    if (r->chosen >= 0) {
        attn_selection_report_free(&local);
        return ATTN_OK;
    }
    char reasons[ATTN_ERROR_CAP];
    join_reasons(r, reasons, sizeof reasons);
    st = pin >= 0 ? r->entries[pin].status : ATTN_E_UNSUPPORTED;
    if (pin >= 0)
        attn_error_set(err, st, "pinned backend refuses the problem: %s", reasons);
    else
        attn_error_set(err, st, "no backend accepts the problem%s%s", count ? ": " : " (no candidates)", reasons);
    attn_selection_report_free(&local);
    return st;
}

void attn_selection_report_print(const attn_selection_report *report, FILE *out) {
    for (uint32_t n = 0; n < report->count; ++n) {
        const attn_selection_entry *e = &report->entries[n];
        if ((int32_t)n == report->chosen)
            fprintf(out, "  chosen   %s\n", e->name);
        else
            fprintf(out, "  %-8s %s: %s\n", e->tried ? "refused" : "skipped", e->name, e->reason);
    }
}

uint32_t attn_config_selection_order(const attn_config *config, uint32_t *order, uint32_t cap) {
    uint32_t count = 0;
    if (config->priority_count) {
        for (uint32_t p = 0; p < config->priority_count && count < cap; ++p)
            for (uint32_t n = 0; n < config->backend_count; ++n)
                if (strcmp(config->backends[n].name, config->priority[p]) == 0) {
                    order[count++] = n;
                    break;
                }
        return count;
    }
    for (uint32_t n = 0; n < config->backend_count && count < cap; ++n) order[count++] = n;
    return count;
}
