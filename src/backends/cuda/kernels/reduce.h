// Declarations of the CUDA reduction-family kernels (reduce.cu, softmax.cu, norm.cu, gather.cu), listed in
// reduce_table.cpp.
#pragma once
#include "ops/op.h"

namespace tessera::backends::cuda {

#define TESSERA_CUDA_KERNEL(name) void name(ops::Inputs in, const Tensor& out, const ops::Attrs& a);
TESSERA_CUDA_KERNEL(k_sum)         // reduce.cu
TESSERA_CUDA_KERNEL(k_max)         // reduce.cu
TESSERA_CUDA_KERNEL(k_softmax)     // softmax.cu
TESSERA_CUDA_KERNEL(k_layer_norm)  // norm.cu
TESSERA_CUDA_KERNEL(k_rms_norm)    // norm.cu
TESSERA_CUDA_KERNEL(k_add_layer_norm)  // norm.cu (Note [Residual norm])
TESSERA_CUDA_KERNEL(k_gather)      // gather.cu
TESSERA_CUDA_KERNEL(k_concat)      // cast_copy.cu
#undef TESSERA_CUDA_KERNEL

}  // namespace tessera::backends::cuda
