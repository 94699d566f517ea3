#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

attn_status attn_arg_i64(const char *option, const char *text, int64_t min, int64_t max, int64_t *out,
                         attn_error *err) {
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (!text[0] || isspace((unsigned char)text[0]) || *end || errno == ERANGE)
        return attn_error_set(err, ATTN_E_INVALID, "%s: '%s' is not an integer", option, text);
    if (value < min || value > max)
        return attn_error_set(err, ATTN_E_INVALID, "%s: %lld is outside [%lld, %lld]", option, value,
                              (long long)min, (long long)max);
    *out = value;
    return ATTN_OK;
}

attn_status attn_arg_u64(const char *option, const char *text, uint64_t *out, attn_error *err) {
    char *end = NULL;
    errno = 0;
    /* strtoull accepts "-1" and wraps it; a seed given as -1 is a mistake, not 2^64-1. */
    unsigned long long value = strtoull(text, &end, 0);
    if (!text[0] || !isdigit((unsigned char)text[0]) || *end || errno == ERANGE)
        return attn_error_set(err, ATTN_E_INVALID, "%s: '%s' is not an unsigned 64-bit integer", option, text);
    *out = value;
    return ATTN_OK;
}

attn_status attn_arg_double(const char *option, const char *text, double *out, attn_error *err) {
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (!text[0] || isspace((unsigned char)text[0]) || *end || errno == ERANGE || !isfinite(value))
        return attn_error_set(err, ATTN_E_INVALID, "%s: '%s' is not a finite number", option, text);
    *out = value;
    return ATTN_OK;
}

attn_status attn_arg_i32_list(const char *option, const char *text, int32_t min, int32_t max, int32_t *out,
                              int32_t cap, int32_t *count, attn_error *err) {
    *count = 0;
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[32];
        if (len == 0 || len >= sizeof item)
            return attn_error_set(err, ATTN_E_INVALID, "%s: '%s' is not a comma-separated list of integers", option,
                                  text);
        if (*count >= cap)
            return attn_error_set(err, ATTN_E_INVALID, "%s: more than %d values", option, cap);
        memcpy(item, p, len);
        item[len] = '\0';
        int64_t value;
        attn_status st = attn_arg_i64(option, item, min, max, &value, err);
        if (st != ATTN_OK) return st;
        out[(*count)++] = (int32_t)value;
        if (!comma) return ATTN_OK;
        p = comma + 1;
    }
}
