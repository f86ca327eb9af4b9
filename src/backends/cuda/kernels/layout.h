// Host-side layout analysis for the CUDA kernels (pure C++, no CUDA headers, unit-tested on the CPU):
// operand strides in the output's coordinates (broadcast = stride 0), collapsing of dims that every operand
// walks linearly (Note [Strided kernels]), the (rows x n) view of row kernels, and alignment checks.
#pragma once
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "backends/cuda/kernels/indexing.h"
#include "tessera/tensor.h"

namespace tessera::backends::cuda {

// Element count and row-major strides of a Shape.
inline int64_t numel_of(const Shape& s) {
  int64_t n = 1;
  for (int64_t v : s) n *= v;
  return n;
}
inline Strides dense_strides(const Shape& s) {
  Strides r(s.size());
  int64_t st = 1;
  for (int64_t d = (int64_t)s.size() - 1; d >= 0; --d) {
    r[d] = st;
    st *= s[d];
  }
  return r;
}

// Strides of a tensor of (shape, strides) broadcast from the right to `out_shape`: 0 where it broadcasts.
inline Strides broadcast_strides(const Shape& shape, const Strides& strides, const Shape& out_shape) {
  Strides r(out_shape.size(), 0);
  std::size_t lead = out_shape.size() - shape.size();
  for (std::size_t d = 0; d < shape.size(); ++d) r[lead + d] = shape[d] == 1 ? 0 : strides[d];
  return r;
}
inline Strides broadcast_strides(const Tensor& t, const Shape& out_shape) {
  return broadcast_strides(t.shape(), t.strides(), out_shape);
}

// A shape with one stride list per operand, outermost dim first.
struct Collapsed {
  Shape shape;                   // no size-1 dims; empty when there is a single element
  std::vector<Strides> strides;  // strides[k][d]: operand k, dim d
};

// Drops size-1 dims and merges dim d into d+1 when every operand steps linearly across both.
inline Collapsed collapse(const Shape& shape, const std::vector<Strides>& strides) {
  std::size_t ops = strides.size();
  Collapsed c;
  c.strides.resize(ops);
  // Built innermost-first, reversed at the end.
  for (int64_t d = (int64_t)shape.size() - 1; d >= 0; --d) {
    if (shape[d] == 1) continue;
    bool merge = !c.shape.empty();
    for (std::size_t k = 0; k < ops && merge; ++k) merge = strides[k][d] == c.strides[k].back() * c.shape.back();
    if (merge) {
      c.shape.back() *= shape[d];
    } else {
      c.shape.push_back(shape[d]);
      for (std::size_t k = 0; k < ops; ++k) c.strides[k].push_back(strides[k][d]);
    }
  }
  std::reverse(c.shape.begin(), c.shape.end());
  for (auto& s : c.strides) std::reverse(s.begin(), s.end());
  return c;
}

// The collapsed layout of an elementwise op: operand 0 is the contiguous output, then each input.
inline Collapsed elementwise_layout(const Shape& out_shape, std::span<const Tensor> in) {
  std::vector<Strides> st{dense_strides(out_shape)};
  for (const Tensor& t : in) st.push_back(broadcast_strides(t, out_shape));
  return collapse(out_shape, st);
}

// The output shape of a broadcasting elementwise op over `in`.
inline Shape broadcast_shape(std::span<const Tensor> in) {
  std::size_t rank = 0;
  for (const Tensor& t : in) rank = std::max<std::size_t>(rank, t.shape().size());
  Shape s(rank, 1);
  for (const Tensor& t : in)
    for (std::size_t d = 0; d < t.shape().size(); ++d) {
      int64_t v = t.shape()[d];
      int64_t& o = s[rank - t.shape().size() + d];
      if (v != 1) o = v;
    }
  return s;
}

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// True when `t` is dense (contiguous, numel elements from raw_data) and 16-byte aligned.
inline bool dense_aligned(const Tensor& t) { return t.is_contiguous() && aligned16(t.raw_data()); }

// A strided kernel can index this layout (Note [Strided kernels]).
inline bool strided_indexable(const Collapsed& c) {
  return (int)c.shape.size() <= kMaxDims && numel_of(c.shape) <= kMaxStridedNumel;
}

// True when the elementwise engine can run over `in` (broadcast together): every operand dense and aligned
// (the vectorised path, any size) or a layout the strided kernel can index.
inline bool elementwise_ok(std::span<const Tensor> in) {
  Shape shape = broadcast_shape(in);
  bool dense = true;
  for (const Tensor& t : in) dense = dense && t.numel() == numel_of(shape) && dense_aligned(t);
  return dense || strided_indexable(elementwise_layout(shape, in));
}

// A tensor seen as (rows, n) around `axis`: row r's element k is at offsets(r).v[1] + k·in_stride in the input
// and offsets(r).v[0] + k·out_stride in the contiguous output of the same shape (or of the reduced shape,
// out_stride then unused).
struct RowLayout {
  int64_t rows = 1, n = 1;
  int64_t in_stride = 0, out_stride = 0;
  Collapsed outer;  // operands (out, in)
};

inline RowLayout row_layout(const Tensor& x, int64_t axis, bool out_has_axis) {
  RowLayout r;
  if (x.dim() == 0) {
    r.outer = Collapsed{{}, {{}, {}}};
    return r;
  }
  Shape outer;
  Strides in_st, out_st;
  Strides full_out = dense_strides(x.shape());
  Shape reduced = x.shape();
  reduced.erase(reduced.begin() + axis);
  Strides reduced_out = dense_strides(reduced);
  for (int64_t d = 0, j = 0; d < x.dim(); ++d) {
    if (d == axis) continue;
    outer.push_back(x.shape()[d]);
    in_st.push_back(x.strides()[d]);
    out_st.push_back(out_has_axis ? full_out[d] : reduced_out[j]);
    ++j;
  }
  r.n = x.shape()[axis];
  r.in_stride = r.n == 1 ? 0 : x.strides()[axis];
  r.out_stride = full_out[axis];
  r.rows = numel_of(outer);
  r.outer = collapse(outer, {out_st, in_st});
  return r;
}

inline bool row_layout_ok(const RowLayout& r) {
  return (int)r.outer.shape.size() <= kMaxDims && r.rows <= kMaxStridedNumel && r.n <= kMaxStridedNumel;
}

// The offset table of operands first..first+N-1 of a collapsed layout (rank <= kMaxDims).
template <int N>
OffsetCalc<N> make_offset_calc(const Collapsed& c, int first = 0) {
  OffsetCalc<N> calc;
  calc.rank = (int)c.shape.size();
  TESSERA_ASSERT(calc.rank <= kMaxDims, "strided CUDA kernel: {} dims after collapsing", calc.rank);
  for (int d = 0; d < calc.rank; ++d) {
    int src = calc.rank - 1 - d;
    calc.size[d] = FastDivmod((uint32_t)c.shape[src]);
    for (int k = 0; k < N; ++k) calc.stride[d][k] = c.strides[first + k][src];
  }
  return calc;
}

}  // namespace tessera::backends::cuda
