#include "fcpu_tiles.h"

static void compute_bounds(fcpu_rows *rows) {
    int64_t span_lo = INT64_MAX, span_hi = INT64_MIN, full_lo = INT64_MIN, full_hi = INT64_MAX;
    for (int64_t r = 0; r < rows->count; ++r) {
        int64_t lo = rows->lo[r], hi = rows->hi[r];
        if (lo >= hi) continue;
        span_lo = lo < span_lo ? lo : span_lo;
        span_hi = hi > span_hi ? hi : span_hi;
        full_lo = lo > full_lo ? lo : full_lo;
        full_hi = hi < full_hi ? hi : full_hi;
    }
    if (span_lo > span_hi) span_lo = span_hi = full_lo = full_hi = 0; /* nobody sees anything */
    rows->span_lo = span_lo;
    rows->span_hi = span_hi;
    rows->full_lo = full_lo;
    rows->full_hi = full_hi;
}

void fcpu_rows_prepare(fcpu_rows *rows, int64_t *lo, int64_t *hi) {
    rows->doc_q_min = INT32_MAX;
    rows->doc_q_max = INT32_MIN;
    for (int64_t r = 0; r < rows->count; ++r) {
        attn_row_key_range(&rows->mask[r], &lo[r], &hi[r]);
        int32_t d = rows->mask[r].doc_q;
        if (d < rows->doc_q_min) rows->doc_q_min = d;
        if (d > rows->doc_q_max) rows->doc_q_max = d;
    }
    rows->lo = lo;
    rows->hi = hi;
    compute_bounds(rows);
}

void fcpu_rows_clip(fcpu_rows *rows, int64_t kv_lo, int64_t kv_hi) {
    for (int64_t r = 0; r < rows->count; ++r) {
        if (rows->lo[r] < kv_lo) rows->lo[r] = kv_lo;
        if (rows->hi[r] > kv_hi) rows->hi[r] = kv_hi;
        if (rows->hi[r] < rows->lo[r]) rows->hi[r] = rows->lo[r];
    }
    compute_bounds(rows);
}

void fcpu_rows_meeting(const fcpu_rows *rows, int64_t j0, int64_t j1, int64_t *first, int64_t *last) {
    *first = 0;
    *last = -1;
    int64_t r = 0;
    for (; r < rows->count; ++r)
        if (rows->lo[r] < rows->hi[r] && rows->lo[r] < j1 && rows->hi[r] > j0) break;
    if (r == rows->count) return;
    *first = r;
    for (int64_t s = rows->count - 1; s >= r; --s)
        if (rows->lo[s] < rows->hi[s] && rows->lo[s] < j1 && rows->hi[s] > j0) {
            *last = s;
            return;
        }
}

int fcpu_classify_tile(const fcpu_rows *rows, int64_t j0, int64_t j1, const int32_t *doc_k) {
    int any = 0, all = 1;
    for (int64_t r = 0; r < rows->count; ++r) {
        int64_t lo = rows->lo[r], hi = rows->hi[r];
        if (lo < j1 && hi > j0 && lo < hi) any = 1;
        if (lo > j0 || hi < j1) all = 0;
    }
    if (!any || j0 >= j1) return FCPU_TILE_EMPTY;
    if (rows->has_docs) {
        /* Inside the ranges only documents mask.  Tiles whose documents lie wholly above or
         * below every row's document are empty (packed sequences are sorted, so this skips
         * the cross-document blocks); one shared document everywhere keeps the tile full. */
        int32_t kmin = INT32_MAX, kmax = INT32_MIN;
        for (int64_t c = 0; c < j1 - j0; ++c) {
            if (doc_k[c] < kmin) kmin = doc_k[c];
            if (doc_k[c] > kmax) kmax = doc_k[c];
        }
        if (kmax < rows->doc_q_min || kmin > rows->doc_q_max) return FCPU_TILE_EMPTY;
        if (!(kmin == kmax && rows->doc_q_min == kmin && rows->doc_q_max == kmin)) all = 0;
    }
    return all ? FCPU_TILE_FULL : FCPU_TILE_PARTIAL;
}
