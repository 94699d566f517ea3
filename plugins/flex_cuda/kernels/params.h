/* flex-cuda: the one parameter block every kernel takes, built on the host from an
 * attn_problem (host/plan.cu) and passed by value.  Strides are in elements, as DLPack says.
 *
 * Row packing: the query rows of one block are "packed rows" r of one (batch, head block).
 * With pack = Hq / Hkv (GQA), a head block is one key/value head and its packed rows are
 * (query position i, query head of the group) with i = r / pack, so K and V are read once
 * for the whole group.  pack = 1 maps a head block to one query head. */
#ifndef FC_PARAMS_H
#define FC_PARAMS_H

#include <stdint.h>

/* Split boundaries fall on every kernel's tile boundaries (each kernel's key tile divides it;
 * the largest is the wgmma loop's 128): a tile never straddles two splits, so the class a
 * kernel gives it (full / partial) holds within its split. */
#define FC_SPLIT_GRANULE 128

typedef struct fc_params {
    /* Main tensors: element pointers (data + byte_offset) and strides [b, h, t, d]. */
    const void *q, *k, *v;
    void *o;
    float *lse; /* NULL: not asked */
    int64_t qs[4], ks[4], vs[4], os[4], lses[3];

    /* Optional int32 / float32 aux tensors (NULL when absent) and their strides. */
    const int32_t *q_len, *kv_len, *prefix_len, *doc_q, *doc_k;
    int64_t q_len_s, kv_len_s, prefix_len_s, doc_qs[2], doc_ks[2];
    const float *alibi;
    int64_t alibi_s;
    const float *syn_w;
    int64_t syn_ws[3];

    int32_t B, Hq, Hkv, Tq, Tk, D, Dv;
    int32_t group; /* Hq / Hkv */
    int32_t pack;  /* query heads per block: 1 or group */
    /* r / pack as a multiply and shift (fc_div_pack): every kernel divides row numbers by
     * pack in its prologue and epilogue, and a division by a runtime value is ~25 instructions. */
    uint32_t pack_mul, pack_shift;
    /* The wgmma loop copies its Q rows with one TMA box (tensor map tm_q) rather than per-thread
     * cp.async (host/plan.cu decides: the block's rows must be whole positions of the group). */
    int32_t q_tma;
    /* Every block's walk starts at key tile 0 and visits it (no lengths, prefix, left window or
     * documents, one split, and causal only with Tk >= Tq): the wgmma loop then issues that
     * tile's copy, and Q's, before any other set-up (host/plan.cu). */
    int32_t first_tile0;
    /* first_tile0 and no right window either: row i sees keys [0, Tk), or under causality
     * [0, Tk - Tq + i + 1), so the kernels' row ranges skip SPEC's general rules (device/mask.cuh). */
    int32_t dense;

    int32_t causal, window_left, window_right, modifier;
    float softcap, syn_lambda, syn_eps, syn_beta;
    float scale;

    int32_t has_dropout;
    uint32_t drop_threshold;
    float drop_scale;
    uint32_t drop_offset;
    uint64_t drop_seed;

    /* Split-KV: blockIdx.z = b * splits + split; split s covers keys
     * [s * split_keys, (s + 1) * split_keys).  With splits > 1 blocks write float32
     * partial O (normalised by their own sum) and LSE to the workspace, and the last block
     * of each (b, head block, m tile) merges them (device/merge.cuh); with counters NULL the
     * fc_combine kernel merges instead. */
    int32_t splits, split_keys;
    /* The persistent kernel (kernels/persistent_ws.cuh): its work items are the (query tile, head block,
     * batch) triples, query tile fastest; gridDim.x blocks take them in turn.  Query tile x
     * covers packed rows from x * block rows - row_shift (see fc_ws_item_at). */
    int32_t m_tiles, head_blocks, items, row_shift;
    float *part_o;   /* [splits][B*Hq*Tq][Dv] */
    float *part_lse; /* [splits][B*Hq*Tq] */
    unsigned int *counters; /* [B][gridDim.y][gridDim.x] arrivals, zero between launches; the persistent
                             * kernel's item counter (fc_ws_draw) likewise */

    /* Set (to 1) by a kernel that found a length outside its bounds (it clamps and goes on);
     * host-mapped, read by synchronize(). */
    int32_t *error_flag;
#ifdef FC_BLOCK_PROBE
    unsigned long long *probe; /* device/probe.cuh: [block][FC_PROBE_SLOTS] stamps, or NULL */
#endif
} fc_params;

/* O's rows can be written as 16-byte pieces: unit last stride, the other strides multiples of
 * 8 elements, a 16-byte aligned start.  The wgmma loop's staged store needs it (device,
 * fc_staged_store_ok) and the plan gives the persistent kernel only such problems (host). */
__host__ __device__ inline bool fc_o_rows_16byte(const fc_params &k) {
    return k.os[3] == 1 && k.os[2] % 8 == 0 && k.os[1] % 8 == 0 && k.os[0] % 8 == 0 && ((uintptr_t)k.o & 15) == 0;
}

#endif
