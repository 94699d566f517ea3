/* The header of an .npy file: a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * parsed by a small bounded cursor (never past `end`), not by a general Python parser. */
#include "npy_internal.h"

#include <string.h>

typedef struct header_cursor {
    const char *p, *end;
    const char *source;
    attn_error *err;
} header_cursor;

static attn_status header_fail(header_cursor *cur, const char *what) {
    return attn_error_set(cur->err, ATTN_E_INVALID, "%s: malformed header: %s", cur->source, what);
}

static void skip_space(header_cursor *cur) {
    while (cur->p < cur->end && (*cur->p == ' ' || *cur->p == '\t' || *cur->p == '\n' || *cur->p == '\r')) ++cur->p;
}

static int take_char(header_cursor *cur, char c) {
    skip_space(cur);
    if (cur->p < cur->end && *cur->p == c) {
        ++cur->p;
        return 1;
    }
    return 0;
}

/* A quoted string without escapes, into out (cap includes the NUL). */
static attn_status take_string(header_cursor *cur, char *out, size_t cap) {
    skip_space(cur);
    if (cur->p >= cur->end || (*cur->p != '\'' && *cur->p != '"')) return header_fail(cur, "expected a quoted string");
    char quote = *cur->p++;
    size_t n = 0;
    while (cur->p < cur->end && *cur->p != quote) {
        if (*cur->p == '\\') return header_fail(cur, "escapes in strings are not supported");
        if (n + 1 >= cap) return header_fail(cur, "string too long");
        out[n++] = *cur->p++;
    }
    if (cur->p >= cur->end) return header_fail(cur, "unterminated string");
    ++cur->p;
    out[n] = '\0';
    return ATTN_OK;
}

static int take_word(header_cursor *cur, const char *word) {
    skip_space(cur);
    size_t n = strlen(word);
    if ((size_t)(cur->end - cur->p) >= n && memcmp(cur->p, word, n) == 0) {
        cur->p += n;
        return 1;
    }
    return 0;
}

static attn_status take_bool(header_cursor *cur, int32_t *out) {
    if (take_word(cur, "True")) *out = 1;
    else if (take_word(cur, "False")) *out = 0;
    else return header_fail(cur, "fortran_order is not True or False");
    return ATTN_OK;
}

/* A tuple of non-negative integers: "()", "(3,)", "(2, 3)". */
static attn_status take_shape(header_cursor *cur, int32_t *ndim, int64_t *shape) {
    if (!take_char(cur, '(')) return header_fail(cur, "shape is not a tuple");
    *ndim = 0;
    for (;;) {
        if (take_char(cur, ')')) return ATTN_OK;
        skip_space(cur);
        if (cur->p >= cur->end || *cur->p < '0' || *cur->p > '9')
            return header_fail(cur, "shape holds something other than non-negative integers");
        if (*ndim >= ATTN_NPY_MAX_DIMS)
            return attn_error_set(cur->err, ATTN_E_INVALID, "%s: too many dimensions (more than %d)", cur->source,
                                  ATTN_NPY_MAX_DIMS);
        int64_t value = 0;
        while (cur->p < cur->end && *cur->p >= '0' && *cur->p <= '9') {
            if (__builtin_mul_overflow(value, 10, &value) || __builtin_add_overflow(value, *cur->p - '0', &value))
                return attn_error_set(cur->err, ATTN_E_INVALID, "%s: shape extent overflows 64 bits", cur->source);
            ++cur->p;
        }
        shape[(*ndim)++] = value;
        if (take_char(cur, ')')) return ATTN_OK;
        if (!take_char(cur, ',')) return header_fail(cur, "expected ',' or ')' in shape");
    }
}

static attn_status take_descr(header_cursor *cur, int32_t *type) {
    skip_space(cur);
    if (cur->p < cur->end && *cur->p == '[')
        return attn_error_set(cur->err, ATTN_E_INVALID, "%s: unsupported descr: structured dtypes are not supported",
                              cur->source);
    char descr[32];
    attn_status st = take_string(cur, descr, sizeof descr);
    if (st != ATTN_OK) return st;
    for (int32_t t = 0; t < ATTN_NPY_TYPE_COUNT; ++t)
        if (strcmp(descr, npy_types[t].descr) == 0) {
            *type = t;
            return ATTN_OK;
        }
    return attn_error_set(cur->err, ATTN_E_INVALID,
                          "%s: unsupported descr '%s' (supported: '<f4' '<f2' '<f8' '<i4', and '<u2' for bfloat16 "
                          "bits; little-endian only)",
                          cur->source, descr);
}

attn_status npy_parse_header(const char *text, size_t length, const char *source, attn_npy_array *out,
                             attn_error *err) {
    header_cursor cursor = {text, text + length, source, err}, *cur = &cursor;
    int seen_descr = 0, seen_order = 0, seen_shape = 0;
    attn_status st;
    if (!take_char(cur, '{')) return header_fail(cur, "does not start with '{'");
    for (;;) {
        if (take_char(cur, '}')) break;
        char key[32];
        if ((st = take_string(cur, key, sizeof key)) != ATTN_OK) return st;
        if (!take_char(cur, ':')) return header_fail(cur, "expected ':' after a key");
        int *seen;
        if (strcmp(key, "descr") == 0) {
            seen = &seen_descr;
            st = take_descr(cur, &out->type);
        } else if (strcmp(key, "fortran_order") == 0) {
            seen = &seen_order;
            st = take_bool(cur, &out->fortran_order);
        } else if (strcmp(key, "shape") == 0) {
            seen = &seen_shape;
            st = take_shape(cur, &out->ndim, out->shape);
        } else {
            return attn_error_set(cur->err, ATTN_E_INVALID, "%s: malformed header: unknown key '%s'", cur->source, key);
        }
        if (st != ATTN_OK) return st;
        if (*seen)
            return attn_error_set(cur->err, ATTN_E_INVALID, "%s: malformed header: duplicate key '%s'", cur->source, key);
        *seen = 1;
        if (take_char(cur, '}')) break;
        if (!take_char(cur, ',')) return header_fail(cur, "expected ',' or '}' after a value");
    }
    skip_space(cur);
    if (cur->p != cur->end) return header_fail(cur, "text after the closing '}'");
    const char *missing = !seen_descr ? "descr" : !seen_order ? "fortran_order" : !seen_shape ? "shape" : NULL;
    if (missing)
        return attn_error_set(cur->err, ATTN_E_INVALID, "%s: malformed header: no key '%s'", cur->source, missing);
    return ATTN_OK;
}
