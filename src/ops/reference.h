// Helpers for the naive reference loops of primitives and library ops: index iteration over a shape and
// double-precision element get/set through strides (slow, obvious, the ground truth for fast kernels).
#pragma once
#include <vector>

#include "tessera/tensor.h"

namespace tessera::ops::ref {

// Calls fn(index) for every multi-index of `shape` in row-major order.
template <class Fn>
void for_each_index(const Shape& shape, Fn&& fn) {
  int64_t n = shape_numel(shape);
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t flat = 0; flat < n; ++flat) {
    fn(idx);
    for (int64_t d = (int64_t)shape.size() - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

// Element offset of `idx` (an index of the broadcast output shape) in tensor t, broadcasting from the right.
inline int64_t offset_of(const Tensor& t, const std::vector<int64_t>& idx) {
  int64_t off = 0;
  std::size_t lead = idx.size() - t.shape().size();
  for (std::size_t d = 0; d < t.shape().size(); ++d)
    if (t.shape()[d] != 1) off += idx[lead + d] * t.strides()[d];
  return off;
}

double get(const Tensor& t, int64_t element_offset);
void set(const Tensor& t, int64_t element_offset, double v);

inline double at(const Tensor& t, const std::vector<int64_t>& idx) { return get(t, offset_of(t, idx)); }

// Rounds v as the dtype would store it (f16/bf16/f32 rounding), so references match stored precision.
double round_to(DType dt, double v);

}  // namespace tessera::ops::ref
