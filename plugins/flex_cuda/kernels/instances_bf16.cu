/* flex-cuda: bfloat16 kernels. */
#include "kernels/instances.cuh"

static const fc_kernel_desc table[] = {FC_MMA_SET(__nv_bfloat16, FC_DT_BF16), FC_COMMON_SET(__nv_bfloat16, FC_DT_BF16)};

const fc_kernel_desc *fc_kernels_bf16(int *count) {
    *count = (int)(sizeof table / sizeof table[0]);
    return table;
}
