// The elementwise-family CUDA launchers (binary.cu, unary.cu, cast_copy.cu) in plain structs: the .cu files
// include no Tessera header but dtype.h (indexing.h says why); elementwise_ops.cpp builds these from Tensors,
// launches on the device's stream and checks the launch.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "backends/cuda/kernels/indexing.h"
#include "tessera/dtype.h"

namespace tessera::backends::cuda {

// One elementwise launch over the n elements of a contiguous output. dense: every input holds n elements
// contiguously from a 16-byte-aligned pointer, as does `out` (the vectorised path); otherwise `calc` gives the
// inputs' element offsets of each flat output index.
template <int N>
struct EwArgs {
  int64_t n = 0;
  bool dense = false;
  void* out = nullptr;
  const void* in[N] = {};
  OffsetCalc<N> calc;
  cudaStream_t stream = nullptr;
};

enum class BinaryOp { add, sub, mul, div, maximum };
enum class UnaryOp { neg, exp, log, sqrt, rsqrt, tanh, erf, relu, gelu, gelu_new, silu, sigmoid };
enum class ScalarOp { add, mul };

// binary.cu: both inputs and the output of dtype dt (div: float dtypes only).
void launch_binary(BinaryOp op, DType dt, const EwArgs<2>& a);
// Two different float dtypes into the promoted output dtype (Note [Float promotion]).
void launch_binary_mixed(BinaryOp op, DType a_dt, DType b_dt, const EwArgs<2>& a);
// binary.cu: (bool condition, a, b) -> a or b, bits of elem_size bytes.
void launch_where(std::size_t elem_size, const EwArgs<3>& a);
// binary.cu: (x, bool mask) -> value_bits (the fill value as x's dtype stores it) where mask, else x.
void launch_masked_fill(std::size_t elem_size, uint64_t value_bits, const EwArgs<2>& a);
// unary.cu: neg on any computable dtype; the math ops and activations on float dtypes.
void launch_unary(UnaryOp op, DType dt, const EwArgs<1>& a);
// unary.cu: x + s or x · s in the compute type (s truncated to an integer for integer dtypes).
void launch_scalar(ScalarOp op, DType dt, double s, const EwArgs<1>& a);
// cast_copy.cu: dtype conversion with the CPU backend's rounding; and a bit copy of elem_size-byte elements.
void launch_cast(DType from, DType to, const EwArgs<1>& a);
void launch_copy(std::size_t elem_size, const EwArgs<1>& a);

// cast_copy.cu: a batched 2-D transpose copy (Note [Transposed copies]): for each batch index b and each
// (r, c) < (rows, cols): out[o0 + r·out_row_stride + c] = in[o1 + r + c·in_col_stride], (o0, o1) = batch(b).
struct TransposeArgs {
  const void* in = nullptr;
  void* out = nullptr;
  int64_t rows = 0, cols = 0, in_col_stride = 0, out_row_stride = 0;
  uint32_t batches = 1;
  OffsetCalc<2> batch;  // operands (out, in)
  cudaStream_t stream = nullptr;
};
void launch_transpose_copy(std::size_t elem_size, const TransposeArgs& a);
// cast_copy.cu: dst[o0] = src[o1] for each of n flat indices, (o0, o1) = calc(i) (concat's strided inputs).
void launch_strided_copy(std::size_t elem_size, int64_t n, const void* src, void* dst, const OffsetCalc<2>& calc,
                         cudaStream_t stream);

}  // namespace tessera::backends::cuda
