// The reduction-family CUDA launchers (reduce.cu, softmax.cu, norm.cu, gather.cu) in plain structs: the .cu
// files include no Tessera header but dtype.h (indexing.h says why); reduce_ops.cpp builds these from Tensors,
// launches on the device's stream and checks the launch.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "backends/cuda/kernels/indexing.h"
#include "tessera/dtype.h"

namespace tessera::backends::cuda {

// A (rows x n) problem (layout.h's RowLayout): row r's element k is at o1 + k·in_stride of x and at
// o0 + k·out_stride of the contiguous output, (o0, o1) = calc(r). Reductions write one element a row at o0.
struct RowArgs {
  int64_t rows = 0, n = 0, in_stride = 0, out_stride = 0;
  OffsetCalc<2> calc;  // operands (out, in)
  const void* x = nullptr;
  void* out = nullptr;
  bool aligned = false;  // x dense (rows at multiples of n) and x, out 16-byte aligned: vector row loads
  int sms = 1;           // the device's multiprocessors (launch heuristics)
  cudaStream_t stream = nullptr;
};

enum class ReduceOp { sum, max };
void launch_reduce(ReduceOp op, DType dt, const RowArgs& a);  // reduce.cu: any computable dtype
void launch_softmax(DType dt, const RowArgs& a);              // softmax.cu: float dtypes

// Norm weights (and bias): strided 1-D, in x's dtype (same_dtype) or f32.
struct NormWeights {
  const void* w = nullptr;
  const void* b = nullptr;  // layer_norm only
  // add_layer_norm: normalise x + residual (rounded to x's dtype). The residual has x's dtype and x's offsets
  // (both contiguous); only the one-warp-per-row kernel takes it (rows <= 1024, not f64: reduce_table.cpp).
  const void* residual = nullptr;
  int64_t w_stride = 1, b_stride = 1;
  bool same_dtype = true;
  double eps = 0;
};
void launch_layer_norm(DType dt, const RowArgs& a, const NormWeights& w);  // norm.cu: over the last dim
void launch_rms_norm(DType dt, const RowArgs& a, const NormWeights& w);    // norm.cu: over the last dim

// out[r, :] = w[ids[r], :] in units of unit_size bytes (1, 2, 4, 8, or 16 for row-contiguous aligned tables).
struct GatherArgs {
  int64_t rows = 0, units = 0, vocab = 0;  // units: a row's units
  const void* w = nullptr;
  int64_t w_row = 0, w_col = 1;            // strides in units
  const void* ids = nullptr;
  bool ids_i64 = true;
  OffsetCalc<1> ids_calc;                  // the element offset of id r
  void* out = nullptr;
  cudaStream_t stream = nullptr;
};
void launch_gather(std::size_t unit_size, const GatherArgs& a);  // gather.cu

}  // namespace tessera::backends::cuda
