// Declarations of the CPU kernels listed in kernel_table.cpp (one function per op and variant).
#pragma once
#include "ops/op.h"

namespace tessera::backends::cpu {

#define TESSERA_CPU_KERNEL(name) void name(ops::Inputs in, const Tensor& out, const ops::Attrs& a);
TESSERA_CPU_KERNEL(k_add)
TESSERA_CPU_KERNEL(k_sub)
TESSERA_CPU_KERNEL(k_mul)
TESSERA_CPU_KERNEL(k_div)
TESSERA_CPU_KERNEL(k_maximum)
TESSERA_CPU_KERNEL(k_add_scalar)
TESSERA_CPU_KERNEL(k_mul_scalar)
TESSERA_CPU_KERNEL(k_neg)
TESSERA_CPU_KERNEL(k_exp)
TESSERA_CPU_KERNEL(k_log)
TESSERA_CPU_KERNEL(k_sqrt)
TESSERA_CPU_KERNEL(k_rsqrt)
TESSERA_CPU_KERNEL(k_tanh)
TESSERA_CPU_KERNEL(k_erf)
TESSERA_CPU_KERNEL(k_relu)
TESSERA_CPU_KERNEL(k_gelu)
TESSERA_CPU_KERNEL(k_gelu_new)
TESSERA_CPU_KERNEL(k_silu)
TESSERA_CPU_KERNEL(k_sigmoid)
TESSERA_CPU_KERNEL(k_cast)
TESSERA_CPU_KERNEL(k_contiguous)
TESSERA_CPU_KERNEL(k_where)
TESSERA_CPU_KERNEL(k_sum)
TESSERA_CPU_KERNEL(k_max)
TESSERA_CPU_KERNEL(k_softmax_lastdim)
TESSERA_CPU_KERNEL(k_layer_norm)
TESSERA_CPU_KERNEL(k_rms_norm)
TESSERA_CPU_KERNEL(k_gather)
TESSERA_CPU_KERNEL(k_concat)
TESSERA_CPU_KERNEL(k_matmul)
TESSERA_CPU_KERNEL(k_linear)
TESSERA_CPU_KERNEL(k_matmul_f16)  // matmul.cpp: the AVX512-FP16 GEMM (gemm_f16.h)
TESSERA_CPU_KERNEL(k_linear_f16)
TESSERA_CPU_KERNEL(k_causal_conv1d)
TESSERA_CPU_KERNEL(k_causal_conv1d_silu)
TESSERA_CPU_KERNEL(k_selective_scan)
TESSERA_CPU_KERNEL(k_selective_scan_state)
#undef TESSERA_CPU_KERNEL

}  // namespace tessera::backends::cpu
