// Shared pieces of the row kernels (reductions, softmax, norms): warp and block all-reductions, NaN-propagating
// max. The (rows x n) view the kernels walk is RowLayout (layout.h).
#pragma once
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "backends/cuda/kernels/device_types.cuh"
#include "backends/cuda/kernels/strided.cuh"

namespace tessera::backends::cuda {

constexpr unsigned kFullMask = 0xffffffffu;

struct SumOp {
  template <class A> __device__ __forceinline__ A operator()(A a, A b) const { return a + b; }
};
// max that propagates NaN (the reference's max reduction).
struct MaxNanOp {
  template <class A> __device__ __forceinline__ A operator()(A a, A b) const {
    if constexpr (std::is_floating_point_v<A>) {
      if (a != a || b != b) return a + b;
    }
    return a > b ? a : b;
  }
};
// max that ignores NaN (softmax's row max: a NaN still reaches every output through the sum).
struct MaxOp {
  template <class A> __device__ __forceinline__ A operator()(A a, A b) const { return a > b ? a : b; }
};

template <class A> __device__ __forceinline__ A lowest() {
  if constexpr (std::is_floating_point_v<A>) return (A)(-INFINITY);
  else return (A)INT64_MIN;
}

// Every lane of the warp gets op over the 32 lanes' values.
template <class A, class Op>
__device__ __forceinline__ A warp_allreduce(A v, Op op) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

// Every thread of the block gets op over the block's values. `scratch` holds 32 A's; all threads must call.
template <class A, class Op>
__device__ __forceinline__ A block_allreduce(A v, Op op, A* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_allreduce(v, op);
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  A r = scratch[0];
  for (int w = 1; w < warps; ++w) r = op(r, scratch[w]);
  return r;
}

}  // namespace tessera::backends::cuda
