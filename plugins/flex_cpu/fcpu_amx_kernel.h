/* The body of flex-cpu's AMX tile products, included twice by fcpu_amx.c: once over the real
 * tile instructions and once over their C emulation.  Before including it, fcpu_amx.c defines
 *   FCPU_AMX_FN(name)     the name of this compilation's function (a suffix per variant)
 *   FCPU_AMX_ATTR         attributes of its functions (the target of the real instructions)
 *   T_CFG(cfg)          _tile_loadconfig(cfg): cfg is an fcpu_amx_cfg
 *   T_ZERO(t), T_LOAD(t, base, stride), T_DP(c, a, b), T_STORE(t, base, stride)
 *                       _tile_zero, _tile_loadd, _tile_dpbf16ps, _tile_stored; tile numbers
 *                       are literals (the instructions encode them)
 * so that both variants are the same code, tile for tile.
 *
 * Register blocking: 2 x 2 C tiles (tmm0..3, 32 rows x 32 columns of float32), their two A
 * tiles (tmm4, 5: 32 rows) and two B tiles (tmm6, 7: 32 columns), all eight tile registers.
 * Each reduction step loads 4 tiles for 4 TDPBF16PS: every A tile feeds two products and every
 * B tile two, which halves the loads per product against 1 x N or N x 1 blocking with one
 * accumulator less; a 1 x 4 or 4 x 1 shape (4 C, 1 A, 3 B...) does not fit 8 registers with
 * double operands.  Blocks at the edges of the result use fewer tiles and shorter rows or
 * columns through the tile configuration (rows 1..16, 4..64 bytes a row), so that no tile
 * reads or writes outside its operand. */

/* The tile shapes of one block: rows of the two row halves (r1 = 0: only one), bytes per
 * row of the two column halves (c1 = 0: only one). */
FCPU_AMX_ATTR static void FCPU_AMX_FN(configure)(fcpu_amx_cfg *cur, int r0, int r1, int c0, int c1) {
    /* Missing halves keep the full shape, so that a tail does not change the configuration
     * of the tiles it does not use (fewer reloads). */
    if (r1 == 0) r1 = 16;
    if (c1 == 0) c1 = 64;
    if (cur->palette_id == 1 && cur->rows[0] == r0 && cur->rows[2] == r1 && cur->colsb[0] == c0 && cur->colsb[1] == c1)
        return;
    fcpu_amx_cfg_set(cur, r0, r1, c0, c1);
    FCPU_AMX_BARRIER(); /* LDTILECFG's asm declares reading 8 of the 64 bytes */
    T_CFG(cur);
}

/* One 32 x 32 (or smaller) block of S: C tiles zeroed, then dp / 32 reduction steps.  kp is
 * the K pack at the block's first 16 keys; the next 16 are the next block, blk elements on. */
FCPU_AMX_ATTR static inline __attribute__((always_inline)) void FCPU_AMX_FN(qk_block)(
    const uint16_t *q, int64_t ldq, int64_t dp, const uint16_t *kp, float *s, int64_t lds, const int two_r,
    const int two_c) {
    const int64_t qs = ldq * 2, ss = lds * 4, blk = dp / 2 * 32; /* strides in bytes; a K block in elements */
    T_ZERO(0);
    if (two_c) T_ZERO(1);
    if (two_r) T_ZERO(2);
    if (two_r && two_c) T_ZERO(3);
    for (int64_t d = 0; d < dp; d += FCPU_AMX_K) {
        T_LOAD(4, q + d, qs);
        if (two_r) T_LOAD(5, q + 16 * ldq + d, qs);
        T_LOAD(6, kp + d / 2 * 32, 64); /* pair rows d/2 .. d/2 + 15 of the block: 1 KiB in one piece */
        if (two_c) T_LOAD(7, kp + blk + d / 2 * 32, 64);
        T_DP(0, 4, 6);
        if (two_c) T_DP(1, 4, 7);
        if (two_r) T_DP(2, 5, 6);
        if (two_r && two_c) T_DP(3, 5, 7);
    }
    T_STORE(0, s, ss);
    if (two_c) T_STORE(1, s + 16, ss);
    if (two_r) T_STORE(2, s + 16 * lds, ss);
    if (two_r && two_c) T_STORE(3, s + 16 * lds + 16, ss);
}

/* Column blocks outside, row blocks inside: a block column's B tiles of K (32 keys x dp, 8 KiB
 * at D 128) stay in L1 while the tile's Q rows (at most q_tile x dp bfloat16, the smaller
 * operand) are read past them. */
FCPU_AMX_ATTR void FCPU_AMX_FN(fcpu_amx_qk)(const uint16_t *q, int64_t ldq, int64_t m, int64_t dp, const uint16_t *kp,
                                     int64_t n, float *s, int64_t lds) {
    fcpu_amx_cfg cur;
    fcpu_amx_cfg_clear(&cur);
    FCPU_AMX_BARRIER(); /* Q was written by plain stores the tile loads do not declare reading */
    for (int64_t j = 0; j < n; j += 32) {
        const int c0 = (int)(n - j < 16 ? n - j : 16) * 4, c1 = (int)(n - j > 16 ? (n - j - 16 < 16 ? n - j - 16 : 16) : 0) * 4;
        for (int64_t i = 0; i < m; i += 32) {
            const int r0 = (int)(m - i < 16 ? m - i : 16), r1 = (int)(m - i > 16 ? (m - i - 16 < 16 ? m - i - 16 : 16) : 0);
            FCPU_AMX_FN(configure)(&cur, r0, r1, c0, c1);
            const uint16_t *qb = q + i * ldq, *kb = kp + j / 16 * (dp / 2 * 32);
            float *sb = s + i * lds + j;
            if (r1 && c1)
                FCPU_AMX_FN(qk_block)(qb, ldq, dp, kb, sb, lds, 1, 1);
            else if (r1)
                FCPU_AMX_FN(qk_block)(qb, ldq, dp, kb, sb, lds, 1, 0);
            else if (c1)
                FCPU_AMX_FN(qk_block)(qb, ldq, dp, kb, sb, lds, 0, 1);
            else
                FCPU_AMX_FN(qk_block)(qb, ldq, dp, kb, sb, lds, 0, 0);
        }
    }
    FCPU_AMX_BARRIER();
}

/* One 32 x 32 (or smaller) block of O: C tiles loaded from O, nk / 32 reduction steps, stored
 * back (the running output lives in memory: the softmax rescales it between tiles). */
FCPU_AMX_ATTR static inline __attribute__((always_inline)) void FCPU_AMX_FN(pv_block)(
    const uint16_t *p, int64_t ldp, int64_t nk, const uint16_t *vp, int64_t dvp, float *o, int64_t ldo, const int two_r,
    const int two_c) {
    const int64_t ps = ldp * 2, vs = dvp * 4, os = ldo * 4;
    T_LOAD(0, o, os);
    if (two_c) T_LOAD(1, o + 16, os);
    if (two_r) T_LOAD(2, o + 16 * ldo, os);
    if (two_r && two_c) T_LOAD(3, o + 16 * ldo + 16, os);
    for (int64_t c = 0; c < nk; c += FCPU_AMX_K) {
        T_LOAD(4, p + c, ps);
        if (two_r) T_LOAD(5, p + 16 * ldp + c, ps);
        T_LOAD(6, vp + c / 2 * dvp * 2, vs); /* key pairs c/2 .. c/2 + 15, columns e .. e + 15 */
        if (two_c) T_LOAD(7, vp + c / 2 * dvp * 2 + 32, vs);
        T_DP(0, 4, 6);
        if (two_c) T_DP(1, 4, 7);
        if (two_r) T_DP(2, 5, 6);
        if (two_r && two_c) T_DP(3, 5, 7);
    }
    T_STORE(0, o, os);
    if (two_c) T_STORE(1, o + 16, os);
    if (two_r) T_STORE(2, o + 16 * ldo, os);
    if (two_r && two_c) T_STORE(3, o + 16 * ldo + 16, os);
}

/* Row blocks outside, column blocks inside: the block row's two A tiles of P (32 rows x nk)
 * stay in L1 while V's columns (nk x dvp bfloat16) are read past them. */
FCPU_AMX_ATTR void FCPU_AMX_FN(fcpu_amx_pv)(const uint16_t *p, int64_t ldp, int64_t m, int64_t nk, const uint16_t *vp,
                                     int64_t dvp, int64_t Dv, float *o, int64_t ldo) {
    fcpu_amx_cfg cur;
    fcpu_amx_cfg_clear(&cur);
    FCPU_AMX_BARRIER(); /* P and O were written by plain stores */
    for (int64_t i = 0; i < m; i += 32) {
        const int r0 = (int)(m - i < 16 ? m - i : 16), r1 = (int)(m - i > 16 ? (m - i - 16 < 16 ? m - i - 16 : 16) : 0);
        for (int64_t e = 0; e < Dv; e += 32) {
            const int c0 = (int)(Dv - e < 16 ? Dv - e : 16) * 4,
                      c1 = (int)(Dv - e > 16 ? (Dv - e - 16 < 16 ? Dv - e - 16 : 16) : 0) * 4;
            FCPU_AMX_FN(configure)(&cur, r0, r1, c0, c1);
            const uint16_t *pb = p + i * ldp, *vb = vp + e * 2;
            float *ob = o + i * ldo + e;
            if (r1 && c1)
                FCPU_AMX_FN(pv_block)(pb, ldp, nk, vb, dvp, ob, ldo, 1, 1);
            else if (r1)
                FCPU_AMX_FN(pv_block)(pb, ldp, nk, vb, dvp, ob, ldo, 1, 0);
            else if (c1)
                FCPU_AMX_FN(pv_block)(pb, ldp, nk, vb, dvp, ob, ldo, 0, 1);
            else
                FCPU_AMX_FN(pv_block)(pb, ldp, nk, vb, dvp, ob, ldo, 0, 0);
        }
    }
    FCPU_AMX_BARRIER();
}
