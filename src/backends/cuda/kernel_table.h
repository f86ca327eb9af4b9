// The CUDA backend's kernel table, in fragments: one list per kernel family file, concatenated (in this
// order) by kernel_table.cpp. Listed explicitly: no static registration.
#pragma once
#include <span>

#include "backends/backend.h"

namespace tessera::backends::cuda {

std::span<const KernelEntry> elementwise_kernels();  // kernels/elementwise_table.cpp: elementwise, cast, copy, where
std::span<const KernelEntry> reduction_kernels();    // kernels/reduce_table.cpp: sum/max, softmax, norms, gather, concat
std::span<const KernelEntry> gemm_kernels();         // kernels/gemm.cpp: matmul, linear (cuBLASLt)
std::span<const KernelEntry> ssm_kernels();          // kernels/ssm_table.cpp: causal_conv1d, selective_scan(_state)

// True when every input is a CUDA tensor (the common first check of each entry's `supports`).
bool all_on_cuda(ops::Inputs in);

}  // namespace tessera::backends::cuda
