// CPU kernels for reductions (sum, max over one axis), softmax, layer_norm and rms_norm over the last dim.
#include <cmath>
#include <limits>
#include <vector>

#include "backends/cpu/convert.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/parallel.h"
#include "backends/cpu/vmath.h"

namespace tessera::backends::cpu {

namespace {
using ops::Attrs;
using ops::Inputs;

// View x as (outer, n, inner) around `axis`; requires that (outer, inner) be addressable with fixed strides,
// which holds for contiguous x. Non-contiguous inputs are declined by the table (the reference handles them).
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};
AxisSplit split(const Shape& s, int64_t axis) {
  AxisSplit r;
  if (s.empty()) return r;
  for (int64_t d = 0; d < axis; ++d) r.outer *= s[d];
  r.n = s[axis];
  for (int64_t d = axis + 1; d < (int64_t)s.size(); ++d) r.inner *= s[d];
  return r;
}

template <bool kMax>
void reduce_axis(Inputs in, const Tensor& out, const Attrs& a) {
  const Tensor& x = in[0];
  AxisSplit sp = split(x.shape(), a.axis);
  const void* base = x.raw_data();
  DType dt = x.dtype();
  parallel_for(sp.outer * sp.inner, sp.n, [&](int64_t begin, int64_t end) {
    std::vector<double> row(sp.n);
    std::vector<double> acc(1);
    for (int64_t o = begin; o < end; ++o) {
      int64_t i = o / sp.inner, j = o % sp.inner;
      load_row<double>(base, dt, i * sp.n * sp.inner + j, sp.inner, sp.n, row.data());
      double r = kMax ? -std::numeric_limits<double>::infinity() : 0.0;
      for (int64_t k = 0; k < sp.n; ++k) {
        if constexpr (kMax) r = (row[k] != row[k] || r != r) ? NAN : std::max(r, row[k]);
        else r += row[k];
      }
      acc[0] = r;
      store_row<double>(out.raw_data(), out.dtype(), o, 1, acc.data());
    }
  });
}
}  // namespace

void k_sum(Inputs in, const Tensor& out, const Attrs& a) { reduce_axis<false>(in, out, a); }
void k_max(Inputs in, const Tensor& out, const Attrs& a) { reduce_axis<true>(in, out, a); }

// softmax over the last dim of a contiguous input: max, exp, sum, scale in f32.
void k_softmax_lastdim(Inputs in, const Tensor& out, const Attrs&) {
  const Tensor& x = in[0];
  int64_t n = x.shape().empty() ? 1 : x.shape().back();
  int64_t rows = n == 0 ? 0 : x.numel() / n;
  parallel_for(rows, n * 4, [&](int64_t begin, int64_t end) {
    std::vector<float> buf(n);
    for (int64_t r = begin; r < end; ++r) {
      load_row<float>(x.raw_data(), x.dtype(), r * n, 1, n, buf.data());
      float m = -INFINITY;
      for (int64_t i = 0; i < n; ++i) m = std::max(m, buf[i]);
      if (m == -INFINITY) m = 0;  // all -inf: PyTorch gives NaN from exp(-inf - -inf); keep it via the sum below
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < n; ++i) {
        buf[i] = vexp(buf[i] - m);
        s += buf[i];
      }
      float inv = 1.0f / s;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) buf[i] *= inv;
      store_row<float>(out.raw_data(), out.dtype(), r * n, n, buf.data());
    }
  });
}

// layer_norm over the last dim: two-pass mean/variance in f32 with a double-free Welford-free formulation.
void k_layer_norm(Inputs in, const Tensor& out, const Attrs& a) {
  const Tensor& x = in[0];
  int64_t n = x.shape().back();
  int64_t rows = n == 0 ? 0 : x.numel() / n;
  std::vector<float> w(n), b(n);
  load_row<float>(in[1].raw_data(), in[1].dtype(), 0, in[1].strides()[0], n, w.data());
  load_row<float>(in[2].raw_data(), in[2].dtype(), 0, in[2].strides()[0], n, b.data());
  float eps = (float)a.scalar;
  parallel_for(rows, n * 6, [&](int64_t begin, int64_t end) {
    std::vector<float> buf(n);
    for (int64_t r = begin; r < end; ++r) {
      load_row<float>(x.raw_data(), x.dtype(), r * n, 1, n, buf.data());
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < n; ++i) s += buf[i];
      float mu = s / (float)n, v = 0;
#pragma omp simd reduction(+ : v)
      for (int64_t i = 0; i < n; ++i) v += (buf[i] - mu) * (buf[i] - mu);
      float rstd = 1.0f / std::sqrt(v / (float)n + eps);
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) buf[i] = (buf[i] - mu) * rstd * w[i] + b[i];
      store_row<float>(out.raw_data(), out.dtype(), r * n, n, buf.data());
    }
  });
}

void k_rms_norm(Inputs in, const Tensor& out, const Attrs& a) {
  const Tensor& x = in[0];
  int64_t n = x.shape().back();
  int64_t rows = n == 0 ? 0 : x.numel() / n;
  std::vector<float> w(n);
  load_row<float>(in[1].raw_data(), in[1].dtype(), 0, in[1].strides()[0], n, w.data());
  float eps = (float)a.scalar;
  bool round_mid = x.dtype() != DType::f32;  // the reference casts x·rsqrt back to x's dtype before the weight
  parallel_for(rows, n * 4, [&](int64_t begin, int64_t end) {
    std::vector<float> buf(n);
    std::vector<uint16_t> half(round_mid ? n : 0);
    for (int64_t r = begin; r < end; ++r) {
      load_row<float>(x.raw_data(), x.dtype(), r * n, 1, n, buf.data());
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < n; ++i) s += buf[i] * buf[i];
      float rr = 1.0f / std::sqrt(s / (float)n + eps);
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) buf[i] *= rr;
      if (round_mid && x.dtype() == DType::f16) {  // whole-row conversions (F16C), not one call per element
        f32_to_f16_row(buf.data(), n, half.data());
        f16_to_f32_row(half.data(), n, buf.data());
      } else if (round_mid) {
        for (int64_t i = 0; i < n; ++i) buf[i] = bf16_to_f32(f32_to_bf16(buf[i]));
      }
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) buf[i] *= w[i];
      store_row<float>(out.raw_data(), out.dtype(), r * n, n, buf.data());
    }
  });
}

}  // namespace tessera::backends::cpu
