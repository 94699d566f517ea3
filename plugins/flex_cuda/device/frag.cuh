/* flex-cuda: what the main loops do to one warp's fragment of a score tile, whichever
 * instruction produced it.  mma.sync m16n8k16 (kernels/mainloop_mma.cuh) and wgmma m64nNk16
 * (kernels/mainloop_wgmma.cuh) leave the same per-warp layout: thread (g = lane / 4, c = lane % 4)
 * holds rows g and g + 8, columns 2c and 2c + 1 of each 8-column tile, as s[tile][0..3]
 * (e = 0, 1: row g; e = 2, 3: row g + 8).  Modifiers, masks, dropout and the online softmax
 * are written once, here, against that layout. */
#ifndef FC_FRAG_CUH
#define FC_FRAG_CUH

#include "device/epilogue.cuh"
#include "device/mask.cuh"

#include "device/types.cuh"

#define FC_LOG2E 1.4426950408889634f

/* 2^x on the SFU, flushing subnormal results to 0: P is rounded to 16 bits right after and
 * exp2f's subnormal handling costs four instructions per score. */
__device__ inline float fc_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

/* 1 / x and log2(x) on the SFU (one approximate instruction each, ~1 ulp / 2^-22 absolute):
 * the score modifiers below feed 16-bit P, far coarser. */
__device__ inline float fc_rcp(float x) {
    float y;
    asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}
__device__ inline float fc_log2(float x) {
    float y;
    asm("lg2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

/* SPEC.md's score modifier on a warp's S fragment for keys n0..., after the scale (the
 * modifiers read natural-unit scores).  The same functions as attn_modify_scoref, in SFU forms
 * for the 16-bit kernels (the float32 kernel keeps fc_modify's libm ones):
 *   softcap  c tanh(y), tanh(y) = 1 - 2 / (1 + e^2y)  (exact at +-inf, ~1e-7 absolute near 0)
 *   alibi    s - slope |pos - j|
 *   synaptic s + lambda ln(w sigmoid(s) + eps) - beta |pos - j| / max(kv_len, 1)
 * One loop per modifier, chosen once per tile: with the modifier chosen per element (the
 * shared fc_modify, tanhf, logf and expf inline in each of 64 unrolled elements) the kernels'
 * hot code outgrew the instruction cache (ncu: most cycles waiting for instructions;
 * docs/perf-journal.md, session 6). */
template <int NT>
__device__ inline void fc_frag_modify(float (&s)[NT][4], const fc_params &p, const fc_batch &bt, const fc_row (&rows)[2],
                                      int n0, int c) {
    const float scale = p.scale;
    auto key = [&](int nt, int e) { return n0 + nt * 8 + 2 * c + (e & 1); };
    if (p.modifier == ATTN_MOD_SOFTCAP) {
        const float cap = p.softcap, to_exp2 = scale * 2.0f * FC_LOG2E / p.softcap; /* s -> 2 y log2(e) */
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) s[nt][e] = cap * (1.0f - 2.0f * fc_rcp(1.0f + fc_exp2(s[nt][e] * to_exp2)));
    } else if (p.modifier == ATTN_MOD_ALIBI) {
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const fc_row &row = rows[e >> 1];
                s[nt][e] = s[nt][e] * scale - row.slope * fabsf((float)(row.pos - key(nt, e)));
            }
    } else if (p.modifier == ATTN_MOD_SYNAPTIC) {
        const float ln2_lambda = p.syn_lambda * 0.6931471805599453f;
        const float beta_per_key = p.syn_beta / (bt.kv_len > 1 ? (float)bt.kv_len : 1.0f);
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const fc_row &row = rows[e >> 1];
                const int j = key(nt, e);
                const float x = s[nt][e] * scale;
                const float w =
                    row.valid && j < p.Tk ? p.syn_w[bt.b * p.syn_ws[0] + row.hq * p.syn_ws[1] + (int64_t)j * p.syn_ws[2]] : 0.0f;
                const float sigmoid = fc_rcp(1.0f + fc_exp2(-x * FC_LOG2E));
                s[nt][e] = x + ln2_lambda * fc_log2(w * sigmoid + p.syn_eps) - beta_per_key * fabsf((float)(row.pos - j));
            }
    } else {
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) s[nt][e] *= scale;
    }
}

/* Modifier and (partial tiles) visibility on a warp's S fragment for keys n0...
 * With MODS the scores are scaled and modified here (fc_frag_modify); without, they stay
 * unscaled and the softmax folds the scale into its exponent.  A partial tile masks by the
 * row's key range (the length/causal/window/prefix rules, attn_row_key_range) and, with
 * documents, by doc id; a full tile does no per-element work at all. */
template <int NT, bool MODS>
__device__ inline void fc_frag_scores(float (&s)[NT][4], const fc_params &p, const fc_batch &bt, const fc_row (&rows)[2],
                                      const int (&klo)[2], const int (&khi)[2], int n0, int c, bool partial) {
    if (MODS) fc_frag_modify<NT>(s, p, bt, rows, n0, c);
    if (!partial) return;
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            int j = n0 + nt * 8 + 2 * c + (e & 1);
            if (j < klo[e >> 1] || j >= khi[e >> 1]) s[nt][e] = -INFINITY;
        }
    if (p.doc_k) {
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                int j = n0 + nt * 8 + 2 * c + h;
                int dk = j < bt.kv_len ? p.doc_k[bt.b * p.doc_ks[0] + (int64_t)j * p.doc_ks[1]] : 0;
                if (dk != rows[0].doc) s[nt][h] = -INFINITY;
                if (dk != rows[1].doc) s[nt][2 + h] = -INFINITY;
            }
    }
}

template <int NT>
__device__ inline void fc_frag_dropout(float (&s)[NT][4], const fc_params &p, const fc_batch &bt, const fc_row (&rows)[2],
                                       int n0, int c) {
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[nt][e] *= fc_dropout(p, bt, rows[e >> 1], n0 + nt * 8 + 2 * c + (e & 1));
}

/* Online softmax of one fragment in base 2: p = 2^((s - m) * sm_scale).  Turns s into P
 * (unnormalised), updates each row's running max and sum, and returns in alpha the factor the
 * row's running output must be multiplied by (1 when its max did not move).  The 4 threads of
 * a quad share a row. */
template <int NT>
__device__ inline void fc_frag_softmax(float (&s)[NT][4], float (&m_run)[2], float (&l_run)[2], float (&alpha)[2],
                                       float sm_scale) {
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
        mx[0] = fmaxf(mx[0], fmaxf(s[nt][0], s[nt][1]));
        mx[1] = fmaxf(mx[1], fmaxf(s[nt][2], s[nt][3]));
    }
    float m_use[2], sum[2] = {0.0f, 0.0f};
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
        float m_new = fmaxf(m_run[r], mx[r]);
        m_use[r] = m_new == -INFINITY ? 0.0f : m_new; /* a row with nothing visible yet: exp(-inf) = 0 */
        alpha[r] = fc_exp2((m_run[r] - m_use[r]) * sm_scale);
        m_run[r] = m_new;
    }
    /* (s - m) * scale as one FMA: s * scale - m * scale (FlashAttention's form; the
     * difference is one rounding of m * scale, far below the 16-bit P it feeds). */
    const float mb[2] = {m_use[0] * sm_scale, m_use[1] * sm_scale};
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            s[nt][e] = fc_exp2(fmaf(s[nt][e], sm_scale, -mb[e >> 1]));
            sum[e >> 1] += s[nt][e];
        }
    l_run[0] = l_run[0] * alpha[0] + sum[0];
    l_run[1] = l_run[1] * alpha[1] + sum[1];
}

/* o *= alpha per row.  SKIP_UNMOVED: skipped when no row of the warp moved (most tiles after
 * the first few).  The wgmma loop must not skip: o is a wgmma accumulator, and an accumulator
 * written on a branch ptxas cannot prove warpgroup-uniform serialises every wgmma (C7520). */
template <int DT, bool SKIP_UNMOVED = true>
__device__ inline void fc_frag_rescale(float (&o)[DT][4], const float (&alpha)[2]) {
    if (SKIP_UNMOVED && !__any_sync(0xffffffffu, alpha[0] != 1.0f || alpha[1] != 1.0f)) return;
#pragma unroll
    for (int dt = 0; dt < DT; ++dt) {
        o[dt][0] *= alpha[0];
        o[dt][1] *= alpha[0];
        o[dt][2] *= alpha[1];
        o[dt][3] *= alpha[1];
    }
}

/* The A fragment of a 16-key step kk of P V: two adjacent 8-key column tiles of P. */
template <class T, int NT>
__device__ inline void fc_frag_pack_p(uint32_t (&a)[4], const float (&s)[NT][4], int kk) {
    a[0] = fc_pack2<T>(s[2 * kk][0], s[2 * kk][1]);
    a[1] = fc_pack2<T>(s[2 * kk][2], s[2 * kk][3]);
    a[2] = fc_pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]);
    a[3] = fc_pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3]);
}

/* A warp's results for rows rl and rl + 8 of the block (g's rows), into stream wn's slots of
 * the epilogue state: unnormalised O, the quad's summed l, and m in natural units (without
 * MODS the running max is of unscaled scores; scale > 0 and -inf stays -inf). */
template <int DT, bool MODS>
__device__ inline void fc_frag_store(const fc_stream_state &st, int wn, int rl, int qc, const float (&o)[DT][4],
                                     const float (&m_run)[2], const float (&l_run)[2], float scale) {
    float *ob = st.o + (size_t)wn * st.rows * st.ostride;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        const int row = rl + 8 * r;
#pragma unroll
        for (int dt = 0; dt < DT; ++dt) {
            ob[row * st.ostride + dt * 8 + 2 * qc] = o[dt][2 * r];
            ob[row * st.ostride + dt * 8 + 2 * qc + 1] = o[dt][2 * r + 1];
        }
        float l = l_run[r];
        l += __shfl_xor_sync(0xffffffffu, l, 1);
        l += __shfl_xor_sync(0xffffffffu, l, 2);
        if (qc == 0) {
            st.m[wn * st.rows + row] = MODS ? m_run[r] : m_run[r] * scale;
            st.l[wn * st.rows + row] = l;
        }
    }
}

/* The direct end of a one-split, one-stream block: normalises a warp's rows rl, rl + 8 of the
 * block in registers and stores O (two values, 4 bytes, per store) and LSE, with no trip
 * through shared memory and no index arithmetic per element.  The caller checks
 * fc_direct_store_ok().  Empty rows (nothing visible) and padding rows (i >= q_len) get O = 0
 * and LSE = -inf, as in fc_epilogue. */
__device__ inline bool fc_direct_store_ok(const fc_params &p) {
    return p.splits == 1 && p.os[3] == 1 && p.os[2] % 2 == 0 && p.os[1] % 2 == 0 && p.os[0] % 2 == 0 &&
           (reinterpret_cast<uintptr_t>(p.o) & 3) == 0;
}

/* One of a thread's rows at the end of a one-split block (packed row r; the four threads of a
 * quad each hold part of its sum l): where it lives in O, whether it is a row of the problem at
 * all, whether it is empty (nothing visible, or a padding row i >= q_len: O = 0 and LSE = -inf,
 * as in fc_epilogue; write 0, not o * 0, since a padding row's Q need not be zero), the factor
 * that normalises its O, and its LSE, written by the quad's first thread where asked.
 * Collective over the warp (the quad's sum). */
struct fc_row_end {
    int i, hq;
    bool in_problem, empty;
    float inv;
};

template <bool MODS>
__device__ inline fc_row_end fc_frag_row_end(const fc_params &p, const fc_batch &bt, int head_block, int r, int qc,
                                             float m_run, float l_part) {
    float l = l_part;
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    fc_row_end e;
    const bool valid = fc_row_coords(p, bt, head_block, r, e.i, e.hq);
    e.in_problem = fc_row_in_problem(p, r);
    e.empty = !valid || !(l > 0.0f);
    e.inv = e.empty ? 0.0f : 1.0f / l;
    if (p.lse && qc == 0 && e.in_problem) {
        const float m = MODS ? m_run : m_run * p.scale;
        p.lse[bt.b * p.lses[0] + e.hq * p.lses[1] + e.i * p.lses[2]] = e.empty ? -INFINITY : m + logf(l);
    }
    return e;
}

template <class T, int DT, bool MODS>
__device__ inline void fc_frag_finish(const fc_params &p, const fc_batch &bt, int head_block, int r, int qc,
                                      const float (&o)[DT][4], const float (&m_run)[2], const float (&l_run)[2]) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const fc_row_end end = fc_frag_row_end<MODS>(p, bt, head_block, r + 8 * h, qc, m_run[h], l_run[h]);
        if (!end.in_problem) continue;
        T *orow = static_cast<T *>(p.o) + bt.b * p.os[0] + end.hq * p.os[1] + (int64_t)end.i * p.os[2];
#pragma unroll
        for (int dt = 0; dt < DT; ++dt) {
            const int e = dt * 8 + 2 * qc; /* Dv is a multiple of 8: both or neither column is real */
            if (e < p.Dv)
                *reinterpret_cast<uint32_t *>(orow + e) =
                    end.empty ? 0u : fc_pack2<T>(o[dt][2 * h] * end.inv, o[dt][2 * h + 1] * end.inv);
        }
    }
}

#endif
