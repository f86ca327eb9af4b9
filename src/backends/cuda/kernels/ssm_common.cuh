// Device helpers of the state-space CUDA kernels (conv1d.cu, ssm_scan.cu, ssm_scan_seq.cu): f32/f16/bf16 elements
// read and written as f32, the dtype a runtime switch that is uniform across a warp or a template argument.
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

// torch.nn.functional.softplus (beta 1, threshold 20) and SiLU, in f32.
__device__ __forceinline__ float softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }
__device__ __forceinline__ float silu(float z) { return z / (1.0f + expf(-z)); }

// The element type of an IoType, for kernels templated on it.
template <int kType>
struct IoElement {
  using type = float;
};
template <>
struct IoElement<kF16> {
  using type = __half;
};
template <>
struct IoElement<kBF16> {
  using type = __nv_bfloat16;
};

__device__ __forceinline__ float to_f32(float v) { return v; }
__device__ __forceinline__ float to_f32(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_f32(__nv_bfloat16 v) { return __bfloat162float(v); }

// Rounds to nearest even (as store()).
template <class E>
__device__ __forceinline__ E from_f32(float v);
template <>
__device__ __forceinline__ float from_f32<float>(float v) { return v; }
template <>
__device__ __forceinline__ __half from_f32<__half>(float v) { return __float2half_rn(v); }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

}  // namespace tessera::backends::cuda::ssm
