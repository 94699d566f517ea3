/* The AMX-BF16 tile products of flex-cpu (issue 7): Q.K^T and P.V of bfloat16 prefill tiles
 * computed with the CPU's AMX tile instructions instead of oneDNN 2.6 (which uses AMX only
 * on request and then re-packs its B operand on every call, docs/PERF.md "flex-cpu").
 *
 * The B operand of TDPBF16PS holds pairs of bfloat16 along the reduction axis ("VNNI"
 * layout), so each prepared head's K and V are packed once per run into that layout
 * (fcpu_amx_pack_k / fcpu_amx_pack_v, the place of the K^T preparation of fcpu_plan.h); Q rows and
 * the bfloat16 P of the softmax are the A operands as they are; S and O are accumulated in
 * float32 tiles and stored to the thread's float buffers, so that the masking, modifiers,
 * dropout and online softmax of fcpu_softmax.c run unchanged between the two products.
 *
 * One kernel body (fcpu_amx_kernel.h) is compiled twice: with the real tile instructions
 * (target "amx-tile,amx-bf16", so the rest of the plugin builds for any x86-64 and only these
 * functions need AMX) and over a portable C emulation of the same instructions, with the
 * hardware's shape rules checked.  The emulated kernel runs on any CPU: it is what the tests
 * check against float64, and what the plugin runs under the test option `amx: emulate`. */
#ifndef FCPU_AMX_H
#define FCPU_AMX_H

#include <stddef.h>
#include <stdint.h>

/* Which kernel computes the products. */
#define FCPU_AMX_NONE 0 /* no AMX: oneDNN (or fcpu_native.h for small items) */
#define FCPU_AMX_HW 1   /* the tile instructions */
#define FCPU_AMX_EMU 2  /* the portable emulation of the same instructions (tests, debugging) */

/* One A tile row holds 32 bfloat16 (64 bytes): head dims are padded with zeros to whole
 * multiples of it, and P.V reduces over keys in steps of it. */
#define FCPU_AMX_K 32

/* 1 when this process may execute AMX-BF16 (CPUID leaf 7 subleaf 0, EDX bits 24 AMX-TILE and
 * 22 AMX-BF16, then Linux's permission for the tile data state through
 * arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)), else 0.  reason says which check
 * decided.  Probed once per process; thread-safe. */
int fcpu_amx_available(char *reason, size_t reason_cap);

/* Head dims padded to whole A tile rows. */
static inline int64_t fcpu_amx_pad(int64_t d) { return (d + FCPU_AMX_K - 1) / FCPU_AMX_K * FCPU_AMX_K; }

/* The B operand of S = Q.K^T, in blocks of 16 keys: with pairs = fcpu_amx_pad(D) / 2,
 *   dst[((j / 16) * pairs + r) * 32 + (j % 16) * 2 + t] = K[j][2r + t]
 * for keys j < tk (a multiple of 16) and pair rows r < pairs, zero where j >= count or
 * 2r + t >= D.  Key j's row is the D contiguous bfloat16 at k + j * ldk.  The B tile of the 16
 * keys of block b and pair rows r0 .. r0 + 15 is then 1 KiB in one piece, at
 * dst + (b * pairs + r0) * 32, rows 64 bytes apart: tile loads touch one or two pages, where
 * a key-major layout would spread each over 16 (one per pair row). */
void fcpu_amx_pack_k(const uint16_t *k, int64_t ldk, int64_t count, int64_t D, int64_t tk, uint16_t *dst);

/* The B operand of O += P.V: dst[(r * dvp + e) * 2 + t] = V[2r + t][e] for key pairs
 * r < tk / 2 (tk even) and columns e < dvp = fcpu_amx_pad(Dv), zero where 2r + t >= count or
 * e >= Dv.  Key j's row is the Dv contiguous bfloat16 at v + j * ldv.  A B tile of 32 keys
 * from an even key j0 and 16 columns from e0 is 16 rows of 64 bytes at
 * dst + (j0 / 2 * dvp + e0) * 2, row stride dvp * 4 bytes. */
void fcpu_amx_pack_v(const uint16_t *v, int64_t ldv, int64_t count, int64_t Dv, int64_t tk, uint16_t *dst);

/* Keys j0 .. j0 + count - 1 of the packs, j0 a multiple of 16 (K) or even (V), for callers
 * that stage rows block by block; same layouts as above, and nothing else written (the
 * zeros of a K block's missing keys are the caller's, fcpu_amx_zero_k). */
void fcpu_amx_pack_k_rows(const uint16_t *k, int64_t ldk, int64_t j0, int64_t count, int64_t D, uint16_t *dst);
void fcpu_amx_pack_v_rows(const uint16_t *v, int64_t ldv, int64_t j0, int64_t count, int64_t Dv, uint16_t *dst);

/* Zeros keys [j0, j1) of a K pack (any j0 <= j1 <= its tk). */
void fcpu_amx_zero_k(int64_t j0, int64_t j1, int64_t D, uint16_t *dst);

/* S[r * lds + c] = sum_d Q[r][d] * K[j0 + c][d] for r < m, c < n, over d < dp (a multiple of
 * FCPU_AMX_K; Q and the pack hold zeros past D).  q: bfloat16 rows at stride ldq elements;
 * kp: fcpu_amx_pack_k's buffer advanced to the block of key j0, a multiple of 16
 * (pack + j0 / 16 * dp / 2 * 32). */
void fcpu_amx_qk(int kernel, const uint16_t *q, int64_t ldq, int64_t m, int64_t dp, const uint16_t *kp, int64_t n,
               float *s, int64_t lds);

/* O[r * ldo + e] += sum_c P[r][c] * V[j0 + c][e] for r < m, e < Dv, c < nk (a multiple of
 * FCPU_AMX_K).  p: bfloat16 rows at stride ldp elements; vp: fcpu_amx_pack_v's buffer advanced to
 * the even key j0 (pack + j0 / 2 * dvp * 2), dvp its column count. */
void fcpu_amx_pv(int kernel, const uint16_t *p, int64_t ldp, int64_t m, int64_t nk, const uint16_t *vp, int64_t dvp,
               int64_t Dv, float *o, int64_t ldo);

/* Returns the calling thread's tiles to their initial state (TILERELEASE), so that the OS
 * need not save them on every context switch; a no-op for the emulation. */
void fcpu_amx_release(int kernel);

#endif
