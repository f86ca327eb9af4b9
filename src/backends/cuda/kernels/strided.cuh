// Device side of the strided indexing (indexing.h, Note [Strided kernels]): a flat row-major index of a
// collapsed shape -> one element offset per operand with magic-number divisions; launch constants.
#pragma once
#include <cuda_runtime.h>

#include "backends/cuda/kernels/indexing.h"

namespace tessera::backends::cuda {

constexpr int kBlock = 256;  // threads per block of the 1-D and row kernels

__device__ __forceinline__ uint32_t fast_div(const FastDivmod& d, uint32_t n) {
  uint32_t t = __umulhi(n, d.magic);
  return (uint32_t)(((uint64_t)t + n) >> d.shift);
}

template <int N>
__device__ __forceinline__ Offsets<N> offsets_at(const OffsetCalc<N>& c, uint32_t i) {
  Offsets<N> o;
#pragma unroll
  for (int k = 0; k < N; ++k) o.v[k] = 0;
#pragma unroll
  for (int d = 0; d < kMaxDims; ++d) {
    if (d == c.rank) break;
    const uint32_t q = d == c.rank - 1 ? 0 : fast_div(c.size[d], i);
    const uint32_t r = i - q * c.size[d].divisor;
#pragma unroll
    for (int k = 0; k < N; ++k) o.v[k] += (int64_t)r * c.stride[d][k];
    i = q;
  }
  return o;
}

// Blocks for a grid-stride loop over `n` items at `per_block` items a block (at least 1, at most 2^20).
inline unsigned blocks_for(int64_t n, int64_t per_block = kBlock) {
  int64_t g = (n + per_block - 1) / per_block;
  return (unsigned)(g < 1 ? 1 : (g > (1 << 20) ? (1 << 20) : g));
}

}  // namespace tessera::backends::cuda
