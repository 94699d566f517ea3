/* Levenshtein distance, for the "did you mean" of config keys and expression names. */
#ifndef ATTN_INTERNAL_EDIT_DISTANCE_H
#define ATTN_INTERNAL_EDIT_DISTANCE_H

#include <stddef.h>

/* Names longer than this get no suggestion: nobody mistypes a 64-letter name by two letters. */
#define ATTN_EDIT_DISTANCE_MAX 64

/* The distance between a[0..la) and b[0..lb); (size_t)-1 when either is longer than
 * ATTN_EDIT_DISTANCE_MAX. */
size_t attn_edit_distance(const char *a, size_t la, const char *b, size_t lb);

#endif
