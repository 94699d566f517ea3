/* flex-cpu's block mask on cases small enough to check on paper: for each, the key ranges
 * attn_rules.h gives the rows, and the class every key tile must get. */
#include <stdlib.h>

#include "fcpu_plan.h"
#include "fcpu_tiles.h"
#include "test_support.h"

/* Rows [i0, i0 + n) of one batch, as fcpu_plan_row_masks builds them. */
typedef struct rows_case {
    attn_row_mask mask[64];
    int64_t lo[64], hi[64];
    fcpu_rows rows;
} rows_case;

static void make_rows(rows_case *c, int64_t i0, int64_t n, int64_t q_len, int64_t kv_len, int32_t causal, int32_t wl,
                      int32_t wr, int64_t prefix, const int32_t *doc_q) {
    memset(c, 0, sizeof *c);
    for (int64_t t = 0; t < n; ++t) {
        attn_row_mask *m = &c->mask[t];
        m->pos = attn_query_pos(i0 + t, q_len, kv_len);
        m->kv_len = kv_len;
        m->prefix_len = prefix;
        m->causal = causal;
        m->window_left = wl;
        m->window_right = wr;
        m->has_docs = doc_q != NULL;
        m->doc_q = doc_q ? doc_q[t] : 0;
    }
    c->rows.count = n;
    c->rows.mask = c->mask;
    c->rows.has_docs = doc_q != NULL;
    fcpu_rows_prepare(&c->rows, c->lo, c->hi);
}

#define assert_class(c, j0, j1, docs, expected) assert_int_equal(fcpu_classify_tile(&(c)->rows, (j0), (j1), (docs)), (expected))

/* Causal, Tq = Tk = 16, query tile rows 4..7 (positions 4..7): keys 0..3 are seen by every
 * row, 4..7 by some, 8.. by none. */
static void causal_diagonal(void **state) {
    (void)state;
    rows_case c;
    make_rows(&c, 4, 4, 16, 16, 1, -1, -1, 0, NULL);
    assert_int_equal(c.lo[0], 0);
    assert_int_equal(c.hi[0], 5);
    assert_int_equal(c.hi[3], 8);
    assert_class(&c, 0, 4, NULL, FCPU_TILE_FULL);
    assert_class(&c, 4, 8, NULL, FCPU_TILE_PARTIAL);
    assert_class(&c, 8, 12, NULL, FCPU_TILE_EMPTY);
    assert_class(&c, 12, 16, NULL, FCPU_TILE_EMPTY);
    assert_int_equal(c.rows.span_lo, 0);
    assert_int_equal(c.rows.span_hi, 8);
    assert_int_equal(c.rows.full_lo, 0); /* keys every row sees: 0..4 */
    assert_int_equal(c.rows.full_hi, 5);
    int64_t first, last;
    fcpu_rows_meeting(&c.rows, 6, 8, &first, &last); /* keys 6, 7: positions 6 and 7 */
    assert_int_equal(first, 2);
    assert_int_equal(last, 3);
    fcpu_rows_meeting(&c.rows, 8, 12, &first, &last);
    assert_true(first > last);
}

/* Chunk decode: 4 queries against 12 keys sit at positions 8..11 (bottom-right). */
static void chunk_decode_bottom_right(void **state) {
    (void)state;
    rows_case c;
    make_rows(&c, 0, 4, 4, 12, 1, -1, -1, 0, NULL);
    assert_class(&c, 0, 8, NULL, FCPU_TILE_FULL); /* the cached prefix */
    assert_class(&c, 8, 12, NULL, FCPU_TILE_PARTIAL);
    assert_class(&c, 0, 9, NULL, FCPU_TILE_FULL); /* key 8 is visible to position 8 and on */
    assert_class(&c, 0, 10, NULL, FCPU_TILE_PARTIAL);
}

/* Causal sliding window of 4 on the left: positions 10 and 11 see [6, 11) and [7, 12). */
static void sliding_window(void **state) {
    (void)state;
    rows_case c;
    make_rows(&c, 10, 2, 16, 16, 1, 4, -1, 0, NULL);
    assert_class(&c, 0, 6, NULL, FCPU_TILE_EMPTY); /* left of every window */
    assert_class(&c, 7, 11, NULL, FCPU_TILE_FULL);
    assert_class(&c, 6, 11, NULL, FCPU_TILE_PARTIAL);
    assert_class(&c, 12, 16, NULL, FCPU_TILE_EMPTY);
    /* Bidirectional window (1, 1) around positions 10, 11: [9, 12) and [10, 13). */
    make_rows(&c, 10, 2, 16, 16, 0, 1, 1, 0, NULL);
    assert_class(&c, 10, 12, NULL, FCPU_TILE_FULL);
    assert_class(&c, 12, 14, NULL, FCPU_TILE_PARTIAL);
    assert_class(&c, 13, 16, NULL, FCPU_TILE_EMPTY);
}

/* Ragged batch: kv_len 5 of a 16-key view, bidirectional.  Keys 5.. never exist. */
static void ragged_kv_length(void **state) {
    (void)state;
    rows_case c;
    make_rows(&c, 0, 3, 3, 5, 0, -1, -1, 0, NULL);
    assert_class(&c, 0, 4, NULL, FCPU_TILE_FULL);
    assert_class(&c, 4, 8, NULL, FCPU_TILE_PARTIAL);
    assert_class(&c, 8, 12, NULL, FCPU_TILE_EMPTY);
}

/* Prefix-LM, causal, prefix 8: position 2 sees keys 0..7 although 3..7 are in its future. */
static void prefix_lm(void **state) {
    (void)state;
    rows_case c;
    make_rows(&c, 2, 1, 16, 16, 1, -1, -1, 8, NULL);
    assert_class(&c, 4, 8, NULL, FCPU_TILE_FULL);
    assert_class(&c, 8, 12, NULL, FCPU_TILE_EMPTY);
}

/* Rows with no visible key (queries before key 0: q_len 8 > kv_len 4, causal) make every
 * tile empty and an empty span. */
static void rows_that_see_nothing(void **state) {
    (void)state;
    rows_case c;
    make_rows(&c, 0, 4, 8, 4, 1, -1, -1, 0, NULL); /* positions -4..-1 */
    assert_class(&c, 0, 4, NULL, FCPU_TILE_EMPTY);
    assert_int_equal(c.rows.span_lo, c.rows.span_hi);
    /* A row that sees nothing next to one that sees everything: partial, never full. */
    make_rows(&c, 3, 2, 8, 4, 1, -1, -1, 0, NULL); /* positions -1 and 0 */
    assert_class(&c, 0, 1, NULL, FCPU_TILE_PARTIAL);
}

/* Documents (bidirectional): rows in document 1.  A tile wholly in another document is
 * empty, wholly in document 1 full, mixed partial. */
static void documents(void **state) {
    (void)state;
    rows_case c;
    const int32_t doc_q[4] = {1, 1, 1, 1};
    make_rows(&c, 0, 4, 4, 16, 0, -1, -1, 0, doc_q);
    const int32_t doc0[4] = {0, 0, 0, 0}, doc1[4] = {1, 1, 1, 1}, mixed[4] = {0, 1, 1, 1}, doc2[4] = {2, 2, 2, 2};
    assert_class(&c, 0, 4, doc0, FCPU_TILE_EMPTY);
    assert_class(&c, 4, 8, doc1, FCPU_TILE_FULL);
    assert_class(&c, 8, 12, mixed, FCPU_TILE_PARTIAL);
    assert_class(&c, 12, 16, doc2, FCPU_TILE_EMPTY);
    /* Rows of two documents: a tile of one of them is partial (the other's rows see none of it). */
    const int32_t two[4] = {1, 1, 2, 2};
    make_rows(&c, 0, 4, 4, 16, 0, -1, -1, 0, two);
    assert_class(&c, 4, 8, doc1, FCPU_TILE_PARTIAL);
    assert_class(&c, 0, 4, doc0, FCPU_TILE_EMPTY);
}

/* The tiles of a causal query tile (positions 64..127 of 256, kv_tile 64, edge_tile 16):
 * kv_tile-wide tiles where every row sees every key, then 16-wide tiles along the diagonal
 * whose row block shrinks with it. */
static void tiles_along_the_diagonal(void **state) {
    (void)state;
    rows_case c;
    make_rows(&c, 64, 64, 256, 256, 1, -1, -1, 0, NULL);
    int64_t kv_len = 256;
    int64_t prep_off = -1;
    fcpu_plan pl;
    memset(&pl, 0, sizeof pl);
    pl.group = 1;
    pl.kv_tile = 64;
    pl.edge_tile = 16;
    pl.kv_direct = 1;
    pl.kv_len = &kv_len;
    pl.prep_off = &prep_off;
    fcpu_item it = {0, 0, 64, 64, c.rows.span_lo, c.rows.span_hi, -1, 0.0};
    assert_int_equal(it.kv_hi, 128);
    const int64_t want[][4] = {/* j0, n, r0, m */
                               {0, 64, 0, 64},  {64, 16, 0, 64},  {80, 16, 16, 48},
                               {96, 16, 32, 32}, {112, 16, 48, 16}};
    fcpu_tile tile = {it.kv_lo, 0, 0, 0, 0, 0, 0};
    int count = 0;
    while (fcpu_tile_next(&pl, &it, &c.rows, &tile)) {
        assert_true(count < 5);
        assert_int_equal(tile.j0, want[count][0]);
        assert_int_equal(tile.n, want[count][1]);
        assert_int_equal(tile.r0, want[count][2]);
        assert_int_equal(tile.m, want[count][3]);
        assert_int_equal(tile.src, FCPU_SRC_DIRECT);
        fcpu_rows sub = c.rows;
        sub.count = tile.t1 - tile.t0 + 1;
        sub.mask += tile.t0;
        sub.lo += tile.t0;
        sub.hi += tile.t0;
        assert_int_equal(fcpu_classify_tile(&sub, tile.j0, tile.j0 + tile.n, NULL), count == 0 ? FCPU_TILE_FULL : FCPU_TILE_PARTIAL);
        count++;
    }
    assert_int_equal(count, 5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(causal_diagonal),  cmocka_unit_test(chunk_decode_bottom_right),
        cmocka_unit_test(sliding_window),   cmocka_unit_test(ragged_kv_length),
        cmocka_unit_test(prefix_lm),        cmocka_unit_test(rows_that_see_nothing),
        cmocka_unit_test(documents),        cmocka_unit_test(tiles_along_the_diagonal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
