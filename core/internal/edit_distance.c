#include "edit_distance.h"

size_t attn_edit_distance(const char *a, size_t la, const char *b, size_t lb) {
    if (la > ATTN_EDIT_DISTANCE_MAX || lb > ATTN_EDIT_DISTANCE_MAX) return (size_t)-1;
    size_t row[ATTN_EDIT_DISTANCE_MAX + 1]; /* one row of the table, reused */
    for (size_t j = 0; j <= lb; ++j) row[j] = j;
    for (size_t i = 1; i <= la; ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; ++j) {
            size_t above = row[j];
            size_t best = diagonal + (a[i - 1] != b[j - 1]);
            if (above + 1 < best) best = above + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    return row[lb];
}
