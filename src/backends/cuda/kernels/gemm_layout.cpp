// Layout arithmetic of the cuBLASLt GEMM kernels: addressable operand matrices and batch-dim collapsing
// (Note [GEMM batch layouts] in gemm_layout.h).
#include "backends/cuda/kernels/gemm_layout.h"

#include <algorithm>

namespace tessera::backends::cuda {

std::optional<MatrixView> matrix_view(int64_t rows, int64_t cols, int64_t stride_row, int64_t stride_col) {
  // Row-major: unit column stride (or one column) and rows that don't overlap (or one row).
  if ((cols == 1 || stride_col == 1) && (rows == 1 || stride_row >= std::max<int64_t>(cols, 1)))
    return MatrixView{false, rows == 1 ? std::max<int64_t>(cols, 1) : stride_row};
  // Transposed: unit row stride (or one row) and columns that don't overlap (or one column).
  if ((rows == 1 || stride_row == 1) && (cols == 1 || stride_col >= std::max<int64_t>(rows, 1)))
    return MatrixView{true, cols == 1 ? std::max<int64_t>(rows, 1) : stride_col};
  return std::nullopt;
}

int64_t GemmLayout::calls() const {
  int64_t n_calls = 1;
  for (const BatchDim& d : outer) n_calls *= d.size;
  return n_calls;
}

std::optional<GemmLayout> plan_gemm(const GemmOperand& a, const GemmOperand& b) {
  const int64_t ra = (int64_t)a.shape.size(), rb = (int64_t)b.shape.size();
  TESSERA_ASSERT(ra >= 2 && rb >= 2, "plan_gemm: operands of rank {} and {}", ra, rb);
  GemmLayout L;
  L.m = a.shape[ra - 2];
  L.k = a.shape[ra - 1];
  L.n = b.shape[rb - 1];
  TESSERA_ASSERT(b.shape[rb - 2] == L.k && L.m > 0 && L.n > 0 && L.k > 0, "plan_gemm: {} @ {}", shape_str(a.shape),
                 shape_str(b.shape));
  auto va = matrix_view(L.m, L.k, a.strides[ra - 2], a.strides[ra - 1]);
  auto vb = matrix_view(L.k, L.n, b.strides[rb - 2], b.strides[rb - 1]);
  if (!va || !vb) return std::nullopt;
  L.a = *va;
  L.b = *vb;

  // Batch dims aligned from the right (numpy broadcasting); size-1 dims dropped.
  const int64_t nb = std::max(ra, rb) - 2;
  std::vector<BatchDim> dims;
  for (int64_t d = 0; d < nb; ++d) {
    const int64_t da = d - (nb - (ra - 2)), db = d - (nb - (rb - 2));
    const int64_t size_a = da >= 0 ? a.shape[da] : 1, size_b = db >= 0 ? b.shape[db] : 1;
    const int64_t size = std::max(size_a, size_b);
    TESSERA_ASSERT(size_a == size || size_a == 1, "plan_gemm: batch dims of {} and {}", shape_str(a.shape),
                   shape_str(b.shape));
    TESSERA_ASSERT(size_b == size || size_b == 1, "plan_gemm: batch dims of {} and {}", shape_str(a.shape),
                   shape_str(b.shape));
    if (size == 1) continue;
    dims.push_back({size, size_a == 1 ? 0 : a.strides[da], size_b == 1 ? 0 : b.strides[db], 0});
  }
  // C is contiguous: (batch..., m, n).
  int64_t stride_c = L.m * L.n;
  for (auto it = dims.rbegin(); it != dims.rend(); ++it) {
    it->stride_c = stride_c;
    stride_c *= it->size;
  }

  // Merge adjacent dims whose strides nest for all three operands.
  std::vector<BatchDim> merged;
  for (const BatchDim& d : dims) {
    if (!merged.empty()) {
      BatchDim& p = merged.back();
      if (p.stride_a == d.stride_a * d.size && p.stride_b == d.stride_b * d.size && p.stride_c == d.stride_c * d.size) {
        p = {p.size * d.size, d.stride_a, d.stride_b, d.stride_c};
        continue;
      }
    }
    merged.push_back(d);
  }

  // Fold the innermost dim into M when B is broadcast over it and A's rows run on across it.
  if (!merged.empty() && !L.a.trans) {
    const BatchDim& in = merged.back();
    if (in.stride_b == 0) {
      if (L.m == 1 && in.stride_a >= L.k) L.a.ld = in.stride_a;  // one row: its ld is free, take the batch stride
      if (in.stride_a == L.m * L.a.ld) {
        L.m *= in.size;
        merged.pop_back();
      }
    }
  }

  if (merged.empty()) return L;
  // The largest dim (the innermost among equals) is the strided batch; the rest are looped.
  std::size_t best = 0;
  for (std::size_t i = 1; i < merged.size(); ++i)
    if (merged[i].size >= merged[best].size) best = i;
  L.batch = merged[best];
  merged.erase(merged.begin() + (std::ptrdiff_t)best);
  L.outer = std::move(merged);
  return L;
}

}  // namespace tessera::backends::cuda
