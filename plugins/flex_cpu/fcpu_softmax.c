#include "fcpu_softmax.h"

#include <attn/plugin/attn_dtype.h>
#include <attn/plugin/attn_philox.h>
#include <math.h>
#include <string.h>

#include "fcpu_vec.h"

typedef union {
    float f;
    int32_t i;
    uint32_t u;
} fcpu_bits;

/* mask lanes are all ones or all zeros (a vector comparison's result) */
FCPU_INLINE v16f vselect(v16i mask, v16f a, v16f b) { return (v16f)((mask & (v16i)a) | (~mask & (v16i)b)); }
FCPU_INLINE v16f vmax(v16f a, v16f b) { return vselect(a > b, a, b); }
/* Horizontal reductions as a tree of four shuffles (vshuff / vpermilps on AVX-512), not 16
 * dependent scalar steps: they run once per row and tile, and along a causal diagonal a row's
 * piece of a tile is short, so a serial reduction cost as much as the row's exp work.  The
 * lane is read through memcpy: indexing the vector itself would keep a loop's accumulator in
 * memory. */
FCPU_INLINE v16f vswap(v16f v, const int s) { /* lanes i and i ^ s exchanged */
    static const v16i idx[4] = {{8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7},
                                {4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11},
                                {2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13},
                                {1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14}};
    return __builtin_shuffle(v, idx[s == 8 ? 0 : s == 4 ? 1 : s == 2 ? 2 : 3]);
}
FCPU_INLINE float lane0(v16f v) {
    float x;
    memcpy(&x, &v, sizeof x);
    return x;
}
FCPU_INLINE float hmax(v16f v) {
    v = vmax(v, vswap(v, 8));
    v = vmax(v, vswap(v, 4));
    v = vmax(v, vswap(v, 2));
    v = vmax(v, vswap(v, 1));
    return lane0(v);
}
FCPU_INLINE float hsum(v16f v) {
    v += vswap(v, 8);
    v += vswap(v, 4);
    v += vswap(v, 2);
    v += vswap(v, 1);
    return lane0(v);
}
/* The last k < 16 elements of a row as one vector, the other lanes `fill` (-inf: no effect on
 * a maximum, and exp(-inf) = 0 adds nothing to a sum): a row's tail goes through the vector
 * kernel instead of k scalar exps (a causal diagonal gives every row a ragged end). */
FCPU_INLINE v16f vload_part(const float *s, int64_t k, float fill) {
    float a[16];
    for (int i = 0; i < 16; ++i) a[i] = i < k ? s[i] : fill;
    return vload(a);
}

/* exp for x <= 0: Cody-Waite reduction to r in [-ln2/2, ln2/2] and Cephes' degree-5
 * polynomial (within 2 units); 0 below -87, where exp is under 1.6e-38 (and for -inf). */
#define FCPU_LOG2E 1.44269504088896341f
#define FCPU_LN2_HI 0.693359375f
#define FCPU_LN2_LO -2.12194440e-4f
#define FCPU_ROUND_MAGIC 12582912.0f /* 1.5 * 2^23: adding and subtracting it rounds to nearest */

static inline float exp_nonpos(float x) {
    float xc = x < -87.0f ? -87.0f : x;
    float kf = (xc * FCPU_LOG2E + FCPU_ROUND_MAGIC) - FCPU_ROUND_MAGIC;
    float r = xc - kf * FCPU_LN2_HI - kf * FCPU_LN2_LO;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    fcpu_bits two_k;
    two_k.i = ((int32_t)kf + 127) << 23; /* kf >= -126: a normal power of two */
    y *= two_k.f;
    return x < -87.0f ? 0.0f : y;
}

FCPU_INLINE v16f vexp_nonpos(v16f x) {
    v16i tiny = x < -87.0f;
    v16f xc = vselect(tiny, vsplat(-87.0f), x);
    v16f kf = (xc * FCPU_LOG2E + FCPU_ROUND_MAGIC) - FCPU_ROUND_MAGIC;
    v16f r = xc - kf * FCPU_LN2_HI - kf * FCPU_LN2_LO;
    v16f p = vsplat(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    v16f y = p * r * r + r + 1.0f;
    v16i ki = __builtin_convertvector(kf, v16i);
    y *= (v16f)((ki + 127) << 23);
    return vselect(tiny, vsplat(0.0f), y);
}

float fcpu_exp_nonpositive(float x) { return exp_nonpos(x); }

/* s *= scale over [0, n); returns the maximum. */
FCPU_CLONES static float scale_max(float *s, int64_t n, float scale) {
    v16f lanes = vsplat(-INFINITY);
    int64_t c = 0;
    for (; c + 16 <= n; c += 16) {
        v16f v = vload(s + c) * scale;
        vstore(s + c, v);
        lanes = vmax(v, lanes);
    }
    float mx = hmax(lanes);
    for (; c < n; ++c) {
        s[c] *= scale;
        mx = s[c] > mx ? s[c] : mx;
    }
    return mx;
}

FCPU_CLONES static float row_max(const float *s, int64_t n) {
    v16f lanes = vsplat(-INFINITY);
    int64_t c = 0;
    for (; c + 16 <= n; c += 16) lanes = vmax(vload(s + c), lanes);
    if (c < n) lanes = vmax(vload_part(s + c, n - c, -INFINITY), lanes);
    return hmax(lanes);
}

/* out[c] = exp(s[c] * scale - m) over [0, n); returns the sum.  out may be s.  The scale
 * is applied here, not in a pass of its own, when nothing else needs the scaled scores. */
FCPU_CLONES static float exp_sum_f32(const float *s, int64_t n, float scale, float m, float *out) {
    v16f lanes = vsplat(0.0f);
    int64_t c = 0;
    for (; c + 16 <= n; c += 16) {
        v16f e = vexp_nonpos(vload(s + c) * scale - m);
        vstore(out + c, e);
        lanes += e;
    }
    if (c < n) {
        v16f e = vexp_nonpos(vload_part(s + c, n - c, -INFINITY) * scale - m);
        memcpy(out + c, &e, (size_t)(n - c) * sizeof(float));
        lanes += e;
    }
    return hsum(lanes);
}

float fcpu_exp_row(const float *s, int64_t n, float m, float *out) { return exp_sum_f32(s, n, 1.0f, m, out); }

/* Round to nearest even; P is finite and >= 0, so there is no NaN case. */
static inline uint16_t to_bf16(float x) {
    fcpu_bits b;
    b.f = x;
    return (uint16_t)((b.u + 0x7fffu + ((b.u >> 16) & 1u)) >> 16);
}
FCPU_INLINE v16h vto_bf16(v16f x) {
    v16i u = (v16i)x; /* non-negative floats: the signed shifts below see a clear sign bit */
    u = (u + 0x7fff + ((u >> 16) & 1)) >> 16;
    return __builtin_convertvector(u, v16h);
}

/* As exp_sum_f32, but P stored as bfloat16; the sum is taken over the unrounded values. */
FCPU_CLONES static float exp_sum_bf16(const float *s, int64_t n, float scale, float m, uint16_t *out) {
    v16f lanes = vsplat(0.0f);
    int64_t c = 0;
    for (; c + 16 <= n; c += 16) {
        v16f e = vexp_nonpos(vload(s + c) * scale - m);
        v16h h = vto_bf16(e);
        memcpy(out + c, &h, sizeof h);
        lanes += e;
    }
    if (c < n) {
        v16f e = vexp_nonpos(vload_part(s + c, n - c, -INFINITY) * scale - m);
        v16h h = vto_bf16(e);
        memcpy(out + c, &h, (size_t)(n - c) * sizeof(uint16_t));
        lanes += e;
    }
    return hsum(lanes);
}

/* The same on CPUs with AVX512-BF16 (Zen 4, Sapphire Rapids: the AMX machines), with P
 * rounded by VCVTNEPS2BF16, one instruction for the five of vto_bf16.  Both round to nearest
 * even; the instruction reads denormal inputs as zero, and P has none (vexp_nonpos returns 0
 * or at least exp(-87) = 1.6e-38, a normal float), so P is bit for bit the same. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#include <immintrin.h>
#define FCPU_HAVE_CVT_BF16 1
__attribute__((target("avx512f,avx512bf16,avx512vl"))) static float exp_sum_bf16_cvt(const float *s, int64_t n,
                                                                                       float scale, float m,
                                                                                       uint16_t *out) {
    v16f lanes = vsplat(0.0f);
    int64_t c = 0;
    for (; c + 16 <= n; c += 16) {
        v16f e = vexp_nonpos(vload(s + c) * scale - m);
        _mm256_storeu_si256((__m256i *)(out + c), (__m256i)_mm512_cvtneps_pbh((__m512)e));
        lanes += e;
    }
    if (c < n) {
        v16f e = vexp_nonpos(vload_part(s + c, n - c, -INFINITY) * scale - m);
        __m256i h = (__m256i)_mm512_cvtneps_pbh((__m512)e);
        memcpy(out + c, &h, (size_t)(n - c) * sizeof(uint16_t));
        lanes += e;
    }
    return hsum(lanes);
}
#else
#define FCPU_HAVE_CVT_BF16 0
#endif

static float p_bf16_row(const float *s, int64_t n, float scale, float m, uint16_t *out) {
#if FCPU_HAVE_CVT_BF16
    static int cvt = -1; /* every thread that looks first computes the same answer */
    int use = __atomic_load_n(&cvt, __ATOMIC_RELAXED);
    if (use < 0) {
        use = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vl");
        __atomic_store_n(&cvt, use, __ATOMIC_RELAXED);
    }
    if (use) return exp_sum_bf16_cvt(s, n, scale, m, out);
#endif
    return exp_sum_bf16(s, n, scale, m, out);
}

FCPU_CLONES static void scale_row(float *o, int64_t n, float alpha) {
    int64_t c = 0;
    for (; c + 16 <= n; c += 16) vstore(o + c, vload(o + c) * alpha);
    for (; c < n; ++c) o[c] *= alpha;
}

static void zero_p(void *p, int bf16, int64_t from, int64_t to) {
    if (to <= from) return;
    size_t elem = bf16 ? 2 : 4;
    memset((char *)p + from * (int64_t)elem, 0, (size_t)(to - from) * elem);
}

/* The modifier's parameter for head h, key j: softcap c, ALiBi slope or synaptic weight. */
static inline float modifier_param(const fcpu_softmax_problem *pb, int64_t b, int64_t h, int64_t j) {
    switch (pb->modifier) {
    case ATTN_MOD_SOFTCAP: return pb->softcap;
    case ATTN_MOD_ALIBI: return pb->alibi[h * pb->alibi_stride];
    case ATTN_MOD_SYNAPTIC: return pb->syn_w[b * pb->syn_sb + h * pb->syn_sh + j * pb->syn_sj];
    default: return 0.0f;
    }
}

void fcpu_softmax_tile_update(const fcpu_softmax_problem *pb, const fcpu_softmax_tile *t) {
    const fcpu_rows *rows = t->rows;
    const int64_t n = t->n;
    /* Without modifier, dropout or per-element document masks, the visible columns of a row
     * are exactly [c_lo, c_hi): two passes over the raw scores (max, then exp with the scale
     * folded in) and nothing else. */
    const int fast = pb->modifier == ATTN_MOD_NONE && !pb->dropout && (t->cls == FCPU_TILE_FULL || !rows->has_docs);
    for (int64_t tr = 0; tr < t->m_rows; ++tr) {
        const int64_t r = t->r0 + tr, q = r / t->group, h = t->h0 + r % t->group;
        const attn_row_mask *mask = &rows->mask[q];
        float *s = t->s + tr * n;
        void *p_row = (char *)t->p + tr * n * (pb->p_bf16 ? 2 : 4);
        /* The columns that can be visible: all of a full tile, the row's range otherwise. */
        int64_t c_lo = 0, c_hi = n;
        if (t->cls != FCPU_TILE_FULL) {
            c_lo = rows->lo[q] - t->j0;
            c_hi = rows->hi[q] - t->j0;
            if (c_lo < 0) c_lo = 0;
            if (c_hi > n) c_hi = n;
            if (c_lo >= c_hi) { /* this row sees nothing in the tile */
                zero_p(p_row, pb->p_bf16, 0, n);
                continue;
            }
        }
        float *sr = s + c_lo;
        const int64_t width = c_hi - c_lo;
        float mx, scale = 1.0f; /* the scale still to apply to sr */
        if (fast) {
            mx = row_max(sr, width) * pb->scale; /* scale > 0: the max of the scaled scores */
            scale = pb->scale;
        } else {
            scale_max(sr, width, pb->scale);
            if (t->cls != FCPU_TILE_FULL && rows->has_docs) {
                for (int64_t c = 0; c < width; ++c)
                    if (!attn_key_visible(mask, t->j0 + c_lo + c, t->doc_k[c_lo + c])) sr[c] = -INFINITY;
            }
            if (pb->modifier != ATTN_MOD_NONE) {
                const float kv_len = (float)mask->kv_len;
                for (int64_t c = 0; c < width; ++c) {
                    if (sr[c] == -INFINITY) continue; /* masked */
                    int64_t j = t->j0 + c_lo + c;
                    sr[c] = attn_modify_scoref(pb->modifier, sr[c], modifier_param(pb, t->b, h, j),
                                               fabsf((float)(mask->pos - j)), kv_len, pb->lambda, pb->eps, pb->beta);
                }
            }
            mx = row_max(sr, width);
        }
        if (mx == -INFINITY) { /* every candidate key masked by documents */
            zero_p(p_row, pb->p_bf16, 0, n);
            continue;
        }
        float m_old = t->m[r], m_new = mx > m_old ? mx : m_old;
        float sum;
        if (!pb->dropout) {
            sum = pb->p_bf16 ? p_bf16_row(sr, width, scale, m_new, (uint16_t *)p_row + c_lo)
                             : exp_sum_f32(sr, width, scale, m_new, (float *)p_row + c_lo);
        } else {
            /* The sum (hence LSE) is taken before dropout; then kept entries are scaled by
             * 1 / (1 - p) and dropped ones zeroed, at their absolute query position. */
            sum = exp_sum_f32(sr, width, scale, m_new, sr);
            for (int64_t c = 0; c < width; ++c) {
                if (sr[c] == 0.0f) continue;
                int64_t j = t->j0 + c_lo + c;
                sr[c] = attn_dropout_keep(pb->seed, pb->offset, t->b, h, pb->hq, mask->pos, j, pb->drop_threshold)
                            ? sr[c] * pb->drop_scale
                            : 0.0f;
            }
            if (pb->p_bf16) {
                uint16_t *pp = (uint16_t *)p_row + c_lo;
                for (int64_t c = 0; c < width; ++c) pp[c] = to_bf16(sr[c]);
            } else {
                memcpy((float *)p_row + c_lo, sr, (size_t)width * sizeof(float));
            }
        }
        zero_p(p_row, pb->p_bf16, 0, c_lo);
        zero_p(p_row, pb->p_bf16, c_hi, n);
        if (m_old == -INFINITY) {
            t->l[r] = sum; /* the running output is still zero */
        } else {
            float alpha = exp_nonpos(m_old - m_new);
            t->l[r] = t->l[r] * alpha + sum;
            if (alpha != 1.0f) scale_row(t->o + r * t->dv, t->dv, alpha);
        }
        t->m[r] = m_new;
    }
}
