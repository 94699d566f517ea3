/* flex-cuda: the host side of the wgmma loop's TMA copies: the driver's tensor-map encoder,
 * found once per backend, and the two maps (K and V) of one problem. */
#ifndef FC_TMA_H
#define FC_TMA_H

#include <cuda.h>
#include <dlpack/dlpack.h>
#include <stddef.h>

/* The driver's cuTensorMapEncodeTiled, or NULL (with the reason in why) where the driver
 * has none: the runtime library is linked statically, so the driver entry point is looked
 * up rather than linked. */
void *fc_tma_encoder(char *why, size_t why_cap);

typedef struct fc_tma_maps {
    CUtensorMap k, v, q;
} fc_tma_maps;

/* K and V of a problem as tensor maps whose box is 64 head dims x box_keys keys of one
 * (batch, head): dims (D, Tk, H, B) in that order, 128-byte swizzle, zeros outside.
 * Returns 0 with the reason in why when a view cannot be one (strides not positive
 * multiples of 16 bytes, or the encoder refuses). */
int fc_tma_kv_maps(void *encoder, const DLTensor *k, const DLTensor *v, int box_keys, fc_tma_maps *out, char *why,
                   size_t why_cap);

/* Q as a tensor map whose box is a block's packed rows: 64 head dims x `pack` query heads x
 * `positions` query positions of one batch, i.e. dims (D, H, T, B), so that the box lands in
 * shared memory in packed-row order (row = position * pack + head).  Same swizzle and zero
 * fill as K/V; 0 with the reason in why when the view cannot be one. */
int fc_tma_q_map(void *encoder, const DLTensor *q, int pack, int positions, CUtensorMap *out, char *why,
                 size_t why_cap);

#endif
