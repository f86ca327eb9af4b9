// How a batched row-major GEMM C = A @ B over strided views maps onto strided-batched BLAS calls without
// copies: which operand matrices BLAS can address, how batch dims collapse, which are folded into M, and
// which must be looped over. Pure layout arithmetic (no CUDA), shared by the matmul and linear kernels.
#pragma once
#include <optional>
#include <vector>

#include "tessera/tensor.h"

namespace tessera::backends::cuda {

// A (rows x cols) matrix as BLAS addresses it: element (i, j) at i*ld + j (trans == false, "row-major") or at
// i + j*ld (trans == true, a transposed view).
struct MatrixView {
  bool trans = false;
  int64_t ld = 1;
};
// nullopt when the strides are neither pattern (a sliced or broadcast last dim, overlapping rows).
std::optional<MatrixView> matrix_view(int64_t rows, int64_t cols, int64_t stride_row, int64_t stride_col);

// One batch dim after collapsing: its size and each operand's element stride (0 = broadcast).
struct BatchDim {
  int64_t size = 1;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;
};

// A GEMM operand: shape (..., rows, cols) (rank >= 2) and its strides in elements.
struct GemmOperand {
  Shape shape;
  Strides strides;
};

// C (batch..., m, n), contiguous = A (..., m, k) @ B (..., k, n) with numpy batch broadcasting.
struct GemmLayout {
  int64_t m = 0, n = 0, k = 0;
  MatrixView a, b;
  BatchDim batch;               // the batch of one strided-batched call (size 1: a plain GEMM)
  std::vector<BatchDim> outer;  // batch dims looped over, one call per index (outermost first)
  int64_t calls() const;        // product of the outer sizes
};

// Note [GEMM batch layouts]: batch dims of size 1 are dropped, then adjacent dims merge when every operand's
// strides nest (stride[d] == stride[d+1] * size[d+1]; broadcast dims have stride 0 and nest with each other).
// If B is broadcast over the innermost merged dim and A's rows continue across it (row-major A whose batch
// stride is m*lda), that dim is folded into M: linear on a contiguous (B, T, K) input is one (B*T, K) GEMM.
// Of the dims left, the largest becomes the strided batch of one cuBLASLt call and the others are looped.
// BERT's attention views (B, H, T, D) with strides (T*3C, D, 3C, 1) don't merge (T*3C != H*D), so
// matmul(q, k^T) is one H-batched call per b (or B-batched per h, whichever is fewer calls).
// nullopt when A's or B's last two dims are not addressable (the caller then copies that operand).
// The output must be non-empty and k >= 1 (callers handle those cases without BLAS).
std::optional<GemmLayout> plan_gemm(const GemmOperand& a, const GemmOperand& b);

}  // namespace tessera::backends::cuda
