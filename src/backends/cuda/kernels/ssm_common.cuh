// Device helpers of the state-space CUDA kernels (conv1d.cu, ssm_scan.cu): f32/f16/bf16 elements read and
// written as f32, the dtype a runtime switch that is uniform across a warp.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backends/cuda/kernels/ssm_launch.h"

namespace tessera::backends::cuda::ssm {

__device__ __forceinline__ float load(const void* p, int64_t i, int type) {
  if (type == kF16) return __half2float(static_cast<const __half*>(p)[i]);
  if (type == kBF16) return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
  return static_cast<const float*>(p)[i];
}

// Rounds to nearest even, as the CPU backend's f32 -> f16/bf16 stores.
__device__ __forceinline__ void store(void* p, int64_t i, int type, float v) {
  if (type == kF16) static_cast<__half*>(p)[i] = __float2half_rn(v);
  else if (type == kBF16) static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v);
  else static_cast<float*>(p)[i] = v;
}

}  // namespace tessera::backends::cuda::ssm
