/* flex-cuda: float32 kernels (the exact SIMT path and the split merge). */
#include "kernels/instances.cuh"

static const fc_kernel_desc table[] = {FC_COMMON_SET(float, FC_DT_F32)};

const fc_kernel_desc *fc_kernels_f32(int *count) {
    *count = (int)(sizeof table / sizeof table[0]);
    return table;
}
