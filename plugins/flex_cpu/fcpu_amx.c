#include "fcpu_amx.h"

#include "fcpu_io.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#define FCPU_AMX_X86 1
#else
#define FCPU_AMX_X86 0
#endif

/* ---- Detection ------------------------------------------------------------------------- */

#define FCPU_ARCH_REQ_XCOMP_PERM 0x1023 /* arch_prctl code (asm/prctl.h, Linux 5.16+) */
#define FCPU_XFEATURE_XTILEDATA 18      /* the tile data state component of XSAVE */

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static int probe_ok;
static char probe_reason[160];

static void probe(void) {
#if FCPU_AMX_X86
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        snprintf(probe_reason, sizeof probe_reason, "the CPU has no CPUID leaf 7");
        return;
    }
    const int tile = (d >> 24) & 1, bf16 = (d >> 22) & 1;
    if (!tile || !bf16) {
        snprintf(probe_reason, sizeof probe_reason, "the CPU lacks %s (CPUID.(7,0):EDX bits 24, 22)",
                 !tile && !bf16 ? "AMX-TILE and AMX-BF16" : !tile ? "AMX-TILE" : "AMX-BF16");
        return;
    }
    /* Linux enables the tile data state per process on request only (it enlarges every
     * thread's signal frame); without the permission the first tile instruction faults. */
    if (syscall(SYS_arch_prctl, FCPU_ARCH_REQ_XCOMP_PERM, FCPU_XFEATURE_XTILEDATA) != 0) {
        int e = errno;
        snprintf(probe_reason, sizeof probe_reason,
                 "the kernel refused the tile data state (arch_prctl ARCH_REQ_XCOMP_PERM: %s)", strerror(e));
        return;
    }
    probe_ok = 1;
    snprintf(probe_reason, sizeof probe_reason, "the CPU has AMX-BF16 and Linux grants the tile data state");
#else
    snprintf(probe_reason, sizeof probe_reason, "not an x86-64 build");
#endif
}

int fcpu_amx_available(char *reason, size_t reason_cap) {
    pthread_once(&probe_once, probe);
    if (reason && reason_cap) snprintf(reason, reason_cap, "%s", probe_reason);
    return probe_ok;
}

/* ---- Packing into the B layouts ------------------------------------------------------ */

/* The 32 elements (16 keys x 2) of pair row r in key block b of a K pack. */
static inline uint16_t *k_block_row(uint16_t *dst, int64_t pairs, int64_t b, int64_t r) {
    return dst + (b * pairs + r) * 32;
}

/* Keys [j0, j0 + count) of one block (j0 % 16 + count <= 16), pair rows [r0, r1). */
static void pack_k_scalar(const uint16_t *k, int64_t ldk, int64_t j0, int64_t count, int64_t D, int64_t r0, int64_t r1,
                          uint16_t *dst) {
    const int64_t pairs = fcpu_amx_pad(D) / 2;
    for (int64_t r = r0; r < r1; ++r) {
        uint16_t *out = k_block_row(dst, pairs, j0 / 16, r) + j0 % 16 * 2;
        const int64_t d0 = 2 * r, d1 = 2 * r + 1;
        for (int64_t j = 0; j < count; ++j) {
            out[2 * j] = d0 < D ? k[j * ldk + d0] : 0;
            out[2 * j + 1] = d1 < D ? k[j * ldk + d1] : 0;
        }
    }
}

/* A block of the K pack is a transpose of 4-byte elements: 16 key rows of pairs become pair
 * rows of 16 keys.  Whole 16 x 16 squares go through flex-cpu's vector transpose (fcpu_io.h;
 * shuffles only, so every bit pattern moves unchanged) when the pairs are 4-byte aligned,
 * the rest element by element.  This runs once per head and run; element by element it took
 * about as long as a tile's products. */
void fcpu_amx_pack_k_rows(const uint16_t *k, int64_t ldk, int64_t j0, int64_t count, int64_t D, uint16_t *dst) {
    const int64_t pairs = fcpu_amx_pad(D) / 2, whole = D / 2 / 16 * 16; /* pairs inside D, in squares of 16 */
    const int aligned = ldk % 2 == 0 && (uintptr_t)k % 4 == 0 && (uintptr_t)dst % 4 == 0;
    for (int64_t j = 0; j < count; j += 16) {
        const int64_t rows = count - j < 16 ? count - j : 16;
        int64_t r0 = 0;
        if (aligned && rows == 16)
            for (; r0 < whole; r0 += 16)
                fcpu_transpose16_f32((const float *)(k + j * ldk + 2 * r0), ldk / 2,
                                   (float *)k_block_row(dst, pairs, (j0 + j) / 16, r0), 16);
        pack_k_scalar(k + j * ldk, ldk, j0 + j, rows, D, r0, pairs, dst);
    }
}

void fcpu_amx_zero_k(int64_t j0, int64_t j1, int64_t D, uint16_t *dst) {
    const int64_t pairs = fcpu_amx_pad(D) / 2;
    for (int64_t j = j0; j < j1;) {
        const int64_t b = j / 16, end = (b + 1) * 16 < j1 ? (b + 1) * 16 : j1;
        if (j % 16 == 0 && end == (b + 1) * 16) { /* a whole block: one piece */
            memset(k_block_row(dst, pairs, b, 0), 0, (size_t)(pairs * 64));
        } else {
            for (int64_t r = 0; r < pairs; ++r) memset(k_block_row(dst, pairs, b, r) + j % 16 * 2, 0, (size_t)((end - j) * 4));
        }
        j = end;
    }
}

void fcpu_amx_pack_k(const uint16_t *k, int64_t ldk, int64_t count, int64_t D, int64_t tk, uint16_t *dst) {
    fcpu_amx_pack_k_rows(k, ldk, 0, count, D, dst);
    fcpu_amx_zero_k(count, tk, D, dst);
}

/* Rows j0 .. j0 + count - 1 of the V pack, j0 even; an odd count leaves the last pair's
 * second key zero (the key after the last one given). */
void fcpu_amx_pack_v_rows(const uint16_t *v, int64_t ldv, int64_t j0, int64_t count, int64_t Dv, uint16_t *dst) {
    const int64_t dvp = fcpu_amx_pad(Dv);
    for (int64_t c = 0; c < count; c += 2) {
        const uint16_t *a = v + c * ldv, *b = c + 1 < count ? v + (c + 1) * ldv : NULL;
        uint16_t *out = dst + (j0 + c) / 2 * dvp * 2;
        if (b)
            for (int64_t e = 0; e < Dv; ++e) { /* interleaving two rows: vectorised by the compiler */
                out[2 * e] = a[e];
                out[2 * e + 1] = b[e];
            }
        else
            for (int64_t e = 0; e < Dv; ++e) {
                out[2 * e] = a[e];
                out[2 * e + 1] = 0;
            }
        memset(out + 2 * Dv, 0, (size_t)((dvp - Dv) * 4));
    }
}

void fcpu_amx_pack_v(const uint16_t *v, int64_t ldv, int64_t count, int64_t Dv, int64_t tk, uint16_t *dst) {
    const int64_t dvp = fcpu_amx_pad(Dv), done = (count + 1) / 2 * 2; /* keys written, zeros included */
    fcpu_amx_pack_v_rows(v, ldv, 0, count, Dv, dst);
    memset(dst + done / 2 * dvp * 2, 0, (size_t)((tk - done) / 2 * dvp * 4));
}

/* ---- Tile configuration -------------------------------------------------------------- */

/* LDTILECFG's 64-byte operand, palette 1. */
typedef struct fcpu_amx_cfg {
    uint8_t palette_id, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((aligned(64))) fcpu_amx_cfg;

_Static_assert(sizeof(fcpu_amx_cfg) == 64, "LDTILECFG reads 64 bytes");

static inline void fcpu_amx_cfg_clear(fcpu_amx_cfg *cfg) { memset(cfg, 0, sizeof *cfg); }

/* The kernel's tiles (fcpu_amx_kernel.h): C tmm0 = (row half 0, column half 0), tmm1 = (0, 1),
 * tmm2 = (1, 0), tmm3 = (1, 1); A tmm4, tmm5 = row halves 0 and 1, 64 bytes (32 bfloat16) a
 * row; B tmm6, tmm7 = column halves 0 and 1, 16 rows (32 bfloat16 of the reduction). */
static inline void fcpu_amx_cfg_set(fcpu_amx_cfg *cfg, int r0, int r1, int c0, int c1) {
    fcpu_amx_cfg_clear(cfg);
    cfg->palette_id = 1;
    const int rows[8] = {r0, r0, r1, r1, r0, r1, 16, 16}, colsb[8] = {c0, c1, c0, c1, 64, 64, c0, c1};
    for (int t = 0; t < 8; ++t) {
        cfg->rows[t] = (uint8_t)rows[t];
        cfg->colsb[t] = (uint16_t)colsb[t];
    }
}

/* Tile loads are asm statements that do not declare the memory they read: a compiler
 * barrier makes the plain stores before them (Q, P, O, the configuration) happen first. */
#define FCPU_AMX_BARRIER() __asm__ volatile("" ::: "memory")

/* ---- The emulation ------------------------------------------------------------------- */

/* Eight tile registers of 16 rows x 64 bytes, per thread as the real ones are. */
typedef struct emu_tiles {
    int configured;
    uint8_t rows[8];
    uint16_t colsb[8];
    uint8_t data[8][16][64];
} emu_tiles;

static _Thread_local emu_tiles emu;

/* What the hardware would refuse (#UD / #GP) is a bug in the kernel: say which and stop. */
static void emu_fault(const char *what, int t) {
    fprintf(stderr, "flex-cpu AMX emulation: %s (tile %d)\n", what, t);
    abort();
}

static void emu_cfg(const fcpu_amx_cfg *cfg) {
    if (cfg->palette_id != 1) emu_fault("palette other than 1", -1);
    for (int t = 0; t < 8; ++t) {
        if (cfg->rows[t] > 16 || cfg->colsb[t] > 64 || cfg->colsb[t] % 4 || (!cfg->rows[t] != !cfg->colsb[t]))
            emu_fault("invalid tile shape in the configuration", t);
        emu.rows[t] = cfg->rows[t];
        emu.colsb[t] = cfg->colsb[t];
    }
    memset(emu.data, 0, sizeof emu.data); /* LDTILECFG zeroes every tile */
    emu.configured = 1;
}

static void emu_check(int t) {
    if (!emu.configured || emu.rows[t] == 0) emu_fault("tile used unconfigured", t);
}

static void emu_zero(int t) {
    emu_check(t);
    memset(emu.data[t], 0, sizeof emu.data[t]);
}

/* TILELOADD: rows of colsb bytes at base + r * stride; the rest of the register is zero. */
static void emu_load(int t, const void *base, int64_t stride) {
    emu_check(t);
    memset(emu.data[t], 0, sizeof emu.data[t]);
    for (int r = 0; r < emu.rows[t]; ++r) memcpy(emu.data[t][r], (const char *)base + r * stride, emu.colsb[t]);
}

static void emu_store(int t, void *base, int64_t stride) {
    emu_check(t);
    for (int r = 0; r < emu.rows[t]; ++r) memcpy((char *)base + r * stride, emu.data[t][r], emu.colsb[t]);
}

static float emu_bf16(const uint8_t *p) { /* a bfloat16 as float32; denormals read as zero (DAZ) */
    uint16_t h;
    memcpy(&h, p, 2);
    uint32_t u = (uint32_t)h << 16;
    if ((u & 0x7f800000u) == 0) u &= 0x80000000u;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static float emu_flush(float x) { /* a denormal read as zero (DAZ) or written as zero (FTZ) */
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0) u &= 0x80000000u;
    memcpy(&x, &u, 4);
    return x;
}

/* TDPBF16PS as the Intel SDM defines it, row by row of C: two float32 partial sums per column
 * start at zero, one over the even and one over the odd elements of the pairs along the
 * reduction (each step a fused multiply-add: a product of two bfloat16 is exact in float32,
 * so it is one rounding), then their sum is added to C; DAZ and FTZ on every operation.  The
 * order matters for the last bits only; the hardware is checked against this in
 * test_flex_amx (hardware_matches_emulation). */
static void emu_dp(int c, int a, int b) {
    emu_check(c), emu_check(a), emu_check(b);
    if (emu.colsb[a] / 4 != emu.rows[b]) emu_fault("A's pairs per row differ from B's rows", a);
    if (emu.rows[a] != emu.rows[c]) emu_fault("A's rows differ from C's", a);
    if (emu.colsb[b] != emu.colsb[c]) emu_fault("B's row bytes differ from C's", b);
    for (int m = 0; m < emu.rows[c]; ++m) {
        float even[16] = {0}, odd[16] = {0}, acc[16];
        for (int k = 0; k < emu.colsb[a] / 4; ++k)
            for (int n = 0; n < emu.colsb[c] / 4; ++n) {
                even[n] = emu_flush(even[n] + emu_bf16(&emu.data[a][m][4 * k]) * emu_bf16(&emu.data[b][k][4 * n]));
                odd[n] = emu_flush(odd[n] + emu_bf16(&emu.data[a][m][4 * k + 2]) * emu_bf16(&emu.data[b][k][4 * n + 2]));
            }
        memcpy(acc, emu.data[c][m], sizeof acc);
        for (int n = 0; n < emu.colsb[c] / 4; ++n) acc[n] = emu_flush(emu_flush(acc[n]) + emu_flush(even[n] + odd[n]));
        memcpy(emu.data[c][m], acc, sizeof acc);
    }
}

#define FCPU_AMX_FN(name) name##_emu
#define FCPU_AMX_ATTR
#define T_CFG(cfg) emu_cfg(cfg)
#define T_ZERO(t) emu_zero(t)
#define T_LOAD(t, base, stride) emu_load(t, base, stride)
#define T_DP(c, a, b) emu_dp(c, a, b)
#define T_STORE(t, base, stride) emu_store(t, base, stride)
#include "fcpu_amx_kernel.h"
#undef FCPU_AMX_FN
#undef FCPU_AMX_ATTR
#undef T_CFG
#undef T_ZERO
#undef T_LOAD
#undef T_DP
#undef T_STORE

/* ---- The real instructions ------------------------------------------------------------ */

#if FCPU_AMX_X86
#define FCPU_AMX_FN(name) name##_hw
#define FCPU_AMX_ATTR __attribute__((target("amx-tile,amx-bf16")))
#define T_CFG(cfg) _tile_loadconfig(cfg)
#define T_ZERO(t) _tile_zero(t)
#define T_LOAD(t, base, stride) _tile_loadd(t, base, stride)
#define T_DP(c, a, b) _tile_dpbf16ps(c, a, b)
#define T_STORE(t, base, stride) _tile_stored(t, base, stride)
#include "fcpu_amx_kernel.h"

__attribute__((target("amx-tile"))) static void release_hw(void) { _tile_release(); }
#endif

/* ---- Dispatch -------------------------------------------------------------------------- */

/* FCPU_NULL_PRODUCTS (a timing build only, never a release: results are wrong): `amx: emulate`
 * computes no products at all, so that a machine without AMX can time everything around the
 * AMX products (softmax, packing, tile walk, O writes), which is what stays when the products
 * get several times faster.  S keeps what the buffer held. */
#ifdef FCPU_NULL_PRODUCTS
#define FCPU_NULL_RETURN(kernel)                                                                                        \
    if ((kernel) == FCPU_AMX_EMU) return
#else
#define FCPU_NULL_RETURN(kernel) (void)0
#endif

void fcpu_amx_qk(int kernel, const uint16_t *q, int64_t ldq, int64_t m, int64_t dp, const uint16_t *kp, int64_t n,
               float *s, int64_t lds) {
    FCPU_NULL_RETURN(kernel);
#if FCPU_AMX_X86
    if (kernel == FCPU_AMX_HW) {
        fcpu_amx_qk_hw(q, ldq, m, dp, kp, n, s, lds);
        return;
    }
#endif
    fcpu_amx_qk_emu(q, ldq, m, dp, kp, n, s, lds);
}

void fcpu_amx_pv(int kernel, const uint16_t *p, int64_t ldp, int64_t m, int64_t nk, const uint16_t *vp, int64_t dvp,
               int64_t Dv, float *o, int64_t ldo) {
    FCPU_NULL_RETURN(kernel);
#if FCPU_AMX_X86
    if (kernel == FCPU_AMX_HW) {
        fcpu_amx_pv_hw(p, ldp, m, nk, vp, dvp, Dv, o, ldo);
        return;
    }
#endif
    fcpu_amx_pv_emu(p, ldp, m, nk, vp, dvp, Dv, o, ldo);
}

void fcpu_amx_release(int kernel) {
#if FCPU_AMX_X86
    if (kernel == FCPU_AMX_HW) release_hw();
#else
    (void)kernel;
#endif
}
