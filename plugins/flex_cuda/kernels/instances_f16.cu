/* flex-cuda: float16 kernels. */
#include "kernels/instances.cuh"

static const fc_kernel_desc table[] = {FC_MMA_SET(__half, FC_DT_F16), FC_COMMON_SET(__half, FC_DT_F16)};

const fc_kernel_desc *fc_kernels_f16(int *count) {
    *count = (int)(sizeof table / sizeof table[0]);
    return table;
}
