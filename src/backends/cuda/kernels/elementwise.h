// Declarations of the CUDA elementwise-family kernels (binary.cu, unary.cu, cast_copy.cu), listed in
// elementwise_table.cpp. Each writes one op's result into a preallocated contiguous output on the device.
#pragma once
#include "ops/op.h"

namespace tessera::backends::cuda {

#define TESSERA_CUDA_KERNEL(name) void name(ops::Inputs in, const Tensor& out, const ops::Attrs& a);
// binary.cu: broadcasting binary ops, where, masked_fill
TESSERA_CUDA_KERNEL(k_add)
TESSERA_CUDA_KERNEL(k_sub)
TESSERA_CUDA_KERNEL(k_mul)
TESSERA_CUDA_KERNEL(k_div)
TESSERA_CUDA_KERNEL(k_maximum)
TESSERA_CUDA_KERNEL(k_where)
TESSERA_CUDA_KERNEL(k_masked_fill)
// unary.cu: scalar ops, unary math, activations
TESSERA_CUDA_KERNEL(k_add_scalar)
TESSERA_CUDA_KERNEL(k_mul_scalar)
TESSERA_CUDA_KERNEL(k_neg)
TESSERA_CUDA_KERNEL(k_exp)
TESSERA_CUDA_KERNEL(k_log)
TESSERA_CUDA_KERNEL(k_sqrt)
TESSERA_CUDA_KERNEL(k_rsqrt)
TESSERA_CUDA_KERNEL(k_tanh)
TESSERA_CUDA_KERNEL(k_erf)
TESSERA_CUDA_KERNEL(k_relu)
TESSERA_CUDA_KERNEL(k_gelu)
TESSERA_CUDA_KERNEL(k_gelu_new)
TESSERA_CUDA_KERNEL(k_silu)
TESSERA_CUDA_KERNEL(k_sigmoid)
// cast_copy.cu: dtype conversion, strided -> dense copies (concat is in reduce.h)
TESSERA_CUDA_KERNEL(k_cast)
TESSERA_CUDA_KERNEL(k_contiguous)
#undef TESSERA_CUDA_KERNEL

}  // namespace tessera::backends::cuda
