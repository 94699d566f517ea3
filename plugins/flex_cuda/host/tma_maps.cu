/* flex-cuda: tensor maps for the wgmma loop's K/V copies (see host/tma_maps.h). */
#include <cudaTypedefs.h>
#include <cuda_runtime.h>
#include <stdio.h>

#include "host/tma_maps.h"

void *fc_tma_encoder(char *why, size_t why_cap) {
    void *fn = NULL;
    cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
    cudaError_t e = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found);
    if (e != cudaSuccess || found != cudaDriverEntryPointSuccess || !fn) {
        snprintf(why, why_cap, "the CUDA driver has no cuTensorMapEncodeTiled (%s)",
                 e != cudaSuccess ? cudaGetErrorString(e) : "symbol not found");
        cudaGetLastError();
        return NULL;
    }
    return fn;
}

/* A [B, H, T, D] view with unit last stride (the plan checked it) as a 4-d map: dims D, then
 * the view's axes outer[0], outer[1], outer[2] (innermost first), box {64, box[0..2]}. */
static int encode(PFN_cuTensorMapEncodeTiled_v12000 encode_tiled, const DLTensor *t, const int outer[3],
                  const int box_outer[3], CUtensorMap *map, const char *name, char *why, size_t why_cap) {
    const size_t elem = 2; /* float16 / bfloat16 */
    void *base = (char *)t->data + t->byte_offset;
    cuuint64_t dims[4] = {(cuuint64_t)t->shape[3], (cuuint64_t)t->shape[outer[0]], (cuuint64_t)t->shape[outer[1]],
                          (cuuint64_t)t->shape[outer[2]]};
    cuuint64_t strides[3];
    for (int n = 0; n < 3; ++n) {
        int axis = outer[n];
        int64_t s = t->strides[axis];
        /* An axis of extent 1 is only ever at coordinate 0: its stride is never used, and any
         * legal value stands in for one (a broadcast 0, say) that the encoder would refuse. */
        if (t->shape[axis] == 1) s = 8;
        if (s <= 0 || (s * (int64_t)elem) % 16 || s * (int64_t)elem >= (1LL << 40)) {
            snprintf(why, why_cap, "%s stride %lld (axis %d) is not a positive multiple of 16 bytes below 2^40", name,
                     (long long)t->strides[axis], axis);
            return 0;
        }
        strides[n] = (cuuint64_t)(s * (int64_t)elem);
    }
    cuuint32_t box[4] = {64, (cuuint32_t)box_outer[0], (cuuint32_t)box_outer[1], (cuuint32_t)box_outer[2]};
    cuuint32_t unit[4] = {1, 1, 1, 1};
    CUtensorMapDataType dt = t->dtype.code == kDLBfloat ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
    CUresult r = encode_tiled(map, dt, 4, base, dims, strides, box, unit, CU_TENSOR_MAP_INTERLEAVE_NONE,
                              CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                              CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS) {
        snprintf(why, why_cap, "cuTensorMapEncodeTiled refused the %s view (CUresult %d)", name, (int)r);
        return 0;
    }
    return 1;
}

int fc_tma_kv_maps(void *encoder, const DLTensor *k, const DLTensor *v, int box_keys, fc_tma_maps *out, char *why,
                   size_t why_cap) {
    PFN_cuTensorMapEncodeTiled_v12000 fn = (PFN_cuTensorMapEncodeTiled_v12000)encoder;
    if (!fn) {
        snprintf(why, why_cap, "no tensor-map encoder");
        return 0;
    }
    const int axes[3] = {2, 1, 0}, box[3] = {box_keys, 1, 1}; /* (D, T, H, B) */
    return encode(fn, k, axes, box, &out->k, "K", why, why_cap) && encode(fn, v, axes, box, &out->v, "V", why, why_cap);
}

int fc_tma_q_map(void *encoder, const DLTensor *q, int pack, int positions, CUtensorMap *out, char *why,
                 size_t why_cap) {
    PFN_cuTensorMapEncodeTiled_v12000 fn = (PFN_cuTensorMapEncodeTiled_v12000)encoder;
    if (!fn) {
        snprintf(why, why_cap, "no tensor-map encoder");
        return 0;
    }
    if (pack > 256 || positions > 256) { /* a box dimension is at most 256 */
        snprintf(why, why_cap, "a Q box of %d x %d rows exceeds 256 per dimension", pack, positions);
        return 0;
    }
    const int axes[3] = {1, 2, 0}, box[3] = {pack, positions, 1}; /* (D, H, T, B) */
    return encode(fn, q, axes, box, out, "Q", why, why_cap);
}
