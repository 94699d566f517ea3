#include "memory_budget.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double attn_instance_estimated_bytes(const attn_case *c) {
    double keys = (double)(c->kv_cache_len > c->kv_len ? c->kv_cache_len : c->kv_len);
    double rows = (double)c->batch * (double)c->q_heads * (double)c->q_len;
    double inputs = rows * (double)c->head_dim + (double)c->batch * (double)c->kv_heads * keys *
                                                     (double)(c->head_dim + c->value_dim);
    if (c->modifier == ATTN_MOD_SYNAPTIC) inputs += (double)c->batch * (double)c->q_heads * keys;
    if (c->doc_count) inputs += (double)c->batch * ((double)c->q_len + keys);
    double outputs = rows * (double)(c->value_dim + 1); /* O and LSE */
    /* Six float copies of the outputs: golden, baseline, the backend's, its staging, and the
     * float64 tolerance (two floats wide). */
    return 4.0 * (2.0 * inputs + 6.0 * outputs);
}

/* "512M" -> 536870912; 0 on a malformed value. */
static int parse_bytes(const char *text, double *out) {
    errno = 0;
    char *end;
    double value = strtod(text, &end);
    if (end == text || errno || value <= 0 || text[0] == ' ' || text[0] == '\t') return 0;
    if (*end && !end[1]) {
        const char *units = "KMG";
        const char *unit = strchr(units, *end);
        if (!unit) return 0;
        for (const char *u = units; u <= unit; ++u) value *= 1024.0;
        ++end;
    }
    if (*end) return 0;
    *out = value;
    return 1;
}

/* MemAvailable of /proc/meminfo, in bytes; 0 when unknown. */
static double available_memory(void) {
    FILE *meminfo = fopen("/proc/meminfo", "r");
    if (!meminfo) return 0;
    char line[256];
    double kib = 0;
    while (fgets(line, sizeof line, meminfo))
        if (sscanf(line, "MemAvailable: %lf kB", &kib) == 1) break;
    fclose(meminfo);
    return kib * 1024.0;
}

/* "4 KiB", "1.5 GiB": bytes for people. */
static const char *human_bytes(double bytes, char *out, size_t cap) {
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int unit = 0;
    while (bytes >= 1024.0 && unit < 4) {
        bytes /= 1024.0;
        ++unit;
    }
    snprintf(out, cap, "%.3g %s", bytes, units[unit]);
    return out;
}

attn_status attn_instance_check_budget(const attn_case *c, attn_error *err) {
    const char *setting = getenv("ATTN_MEMORY_BUDGET");
    double budget = 0;
    const char *source = "the available memory (MemAvailable)";
    if (setting && setting[0]) {
        if (!parse_bytes(setting, &budget))
            return attn_error_set(err, ATTN_E_INVALID,
                                  "ATTN_MEMORY_BUDGET='%s' is not a size in bytes (a number, optionally with K, M or G)",
                                  setting);
        source = "ATTN_MEMORY_BUDGET";
    } else {
        budget = available_memory();
        if (budget <= 0) return ATTN_OK; /* no figure to hold it to: allocation failures still report */
    }
    double need = attn_instance_estimated_bytes(c);
    if (need <= budget) return ATTN_OK;
    char need_text[32], budget_text[32];
    return attn_error_set(err, ATTN_E_NOMEM,
                          "%s: needs about %s (inputs, their device copy and six copies of the outputs), above the "
                          "memory budget of %s from %s; set ATTN_MEMORY_BUDGET to change it",
                          c->name[0] ? c->name : c->row, human_bytes(need, need_text, sizeof need_text),
                          human_bytes(budget, budget_text, sizeof budget_text), source);
}
