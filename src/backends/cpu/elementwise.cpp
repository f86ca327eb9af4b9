// CPU kernels for elementwise primitives and activations, on the engine of elementwise.h.
#include "backends/cpu/elementwise.h"

#include <cmath>
#include <numbers>

#include "backends/cpu/kernels.h"
#include "backends/cpu/vmath.h"

namespace tessera::backends::cpu {

ElementwiseLayout make_layout(const Tensor& out, ops::Inputs in) {
  const Shape& os = out.shape();
  int64_t rank = (int64_t)os.size();
  std::vector<Strides> st(in.size(), Strides(rank, 0));
  for (std::size_t k = 0; k < in.size(); ++k) {
    int64_t lead = rank - in[k].dim();
    for (int64_t d = 0; d < in[k].dim(); ++d) st[k][lead + d] = in[k].shape()[d] == 1 ? 0 : in[k].strides()[d];
  }
  ElementwiseLayout L;
  if (rank == 0) {
    L.shape = {1};
    L.in_strides.assign(in.size(), Strides{0});
    return L;
  }
  // Merge dim d into d+1 when every operand (and the contiguous output) is linear across both.
  Shape shape{os[0]};
  std::vector<Strides> cs(in.size());
  for (std::size_t k = 0; k < in.size(); ++k) cs[k] = {st[k][0]};
  for (int64_t d = 1; d < rank; ++d) {
    bool merge = true;
    for (std::size_t k = 0; k < in.size() && merge; ++k) merge = cs[k].back() == st[k][d] * os[d];
    if (merge) {
      shape.back() *= os[d];
      for (std::size_t k = 0; k < in.size(); ++k) cs[k].back() = st[k][d];
    } else {
      shape.push_back(os[d]);
      for (std::size_t k = 0; k < in.size(); ++k) cs[k].push_back(st[k][d]);
    }
  }
  L.shape = std::move(shape);
  L.in_strides = std::move(cs);
  return L;
}

namespace {
using ops::Attrs;
using ops::Inputs;

template <class Op>
void binary(Inputs in, const Tensor& out, Op op) {
  with_compute_type(out.dtype(), [&](auto tag) {
    using C = decltype(tag);
    run_elementwise<C, 2>(out, in, [&](const std::array<const C*, 2>& x, C* y, int64_t n) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) y[i] = op(x[0][i], x[1][i]);
    });
  });
}

template <class Op>
void unary(Inputs in, const Tensor& out, Op op) {
  with_compute_type(out.dtype(), [&](auto tag) {
    using C = decltype(tag);
    run_elementwise<C, 1>(out, in, [&](const std::array<const C*, 1>& x, C* y, int64_t n) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) y[i] = op(x[0][i]);
    });
  });
}

// Float-only unary ops: computed in float (double for f64).
template <class OpF>
void unary_float(Inputs in, const Tensor& out, OpF op) {
  if (out.dtype() == DType::f64) {
    unary(in, out, [&](auto v) { return (decltype(v))op((double)v); });
    return;
  }
  run_elementwise<float, 1>(out, in, [&](const std::array<const float*, 1>& x, float* y, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = (float)op(x[0][i]);
  });
}

template <class T>
T max_nan(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (a != a || b != b) return a + b;  // NaN propagates
  }
  return a > b ? a : b;
}
}  // namespace

void k_add(Inputs in, const Tensor& out, const Attrs&) { binary(in, out, [](auto a, auto b) { return a + b; }); }
void k_sub(Inputs in, const Tensor& out, const Attrs&) { binary(in, out, [](auto a, auto b) { return a - b; }); }
void k_mul(Inputs in, const Tensor& out, const Attrs&) { binary(in, out, [](auto a, auto b) { return a * b; }); }
void k_div(Inputs in, const Tensor& out, const Attrs&) { binary(in, out, [](auto a, auto b) { return a / b; }); }
void k_maximum(Inputs in, const Tensor& out, const Attrs&) { binary(in, out, [](auto a, auto b) { return max_nan(a, b); }); }
void k_add_scalar(Inputs in, const Tensor& out, const Attrs& a) {
  double s = a.scalar;
  unary(in, out, [s](auto v) { return (decltype(v))(v + (decltype(v))s); });
}
void k_mul_scalar(Inputs in, const Tensor& out, const Attrs& a) {
  double s = a.scalar;
  unary(in, out, [s](auto v) { return (decltype(v))(v * (decltype(v))s); });
}
void k_neg(Inputs in, const Tensor& out, const Attrs&) { unary(in, out, [](auto v) { return (decltype(v))-v; }); }
void k_exp(Inputs in, const Tensor& out, const Attrs&) {
  unary_float(in, out, [](auto v) {
    if constexpr (std::is_same_v<decltype(v), float>) return vexp(v);
    else return std::exp(v);
  });
}
void k_log(Inputs in, const Tensor& out, const Attrs&) { unary_float(in, out, [](auto v) { return std::log(v); }); }
void k_sqrt(Inputs in, const Tensor& out, const Attrs&) { unary_float(in, out, [](auto v) { return std::sqrt(v); }); }
void k_rsqrt(Inputs in, const Tensor& out, const Attrs&) {
  unary_float(in, out, [](auto v) { return (decltype(v))1 / std::sqrt(v); });
}
void k_tanh(Inputs in, const Tensor& out, const Attrs&) {
  unary_float(in, out, [](auto v) {
    if constexpr (std::is_same_v<decltype(v), float>) return vtanh(v);
    else return std::tanh(v);
  });
}
void k_erf(Inputs in, const Tensor& out, const Attrs&) {
  unary_float(in, out, [](auto v) {
    if constexpr (std::is_same_v<decltype(v), float>) return verf(v);
    else return std::erf(v);
  });
}

void k_relu(Inputs in, const Tensor& out, const Attrs&) {
  unary_float(in, out, [](auto v) { return v != v ? v : (v > 0 ? v : (decltype(v))0); });
}
void k_gelu(Inputs in, const Tensor& out, const Attrs&) {
  unary_float(in, out, [](auto v) {
    using T = decltype(v);
    if constexpr (std::is_same_v<T, float>) return 0.5f * v * (1.0f + verf(v * 0.70710678118654752f));
    else return 0.5 * v * (1.0 + std::erf(v * std::numbers::sqrt2 / 2));
  });
}
void k_gelu_new(Inputs in, const Tensor& out, const Attrs&) {
  unary_float(in, out, [](auto v) {
    using T = decltype(v);
    const T k = (T)0.7978845608028654;  // sqrt(2/pi)
    T inner = k * (v + (T)0.044715 * v * v * v);
    if constexpr (std::is_same_v<T, float>) return 0.5f * v * (1.0f + vtanh(inner));
    else return 0.5 * v * (1.0 + std::tanh(inner));
  });
}
void k_silu(Inputs in, const Tensor& out, const Attrs&) {
  unary_float(in, out, [](auto v) {
    if constexpr (std::is_same_v<decltype(v), float>) return v * vsigmoid(v);
    else return v / (1.0 + std::exp(-v));
  });
}
void k_sigmoid(Inputs in, const Tensor& out, const Attrs&) {
  unary_float(in, out, [](auto v) {
    if constexpr (std::is_same_v<decltype(v), float>) return vsigmoid(v);
    else return 1.0 / (1.0 + std::exp(-v));
  });
}

// cast and contiguous: convert through double (exact for every dtype but i64 beyond 2^53, which we copy).
void k_cast(Inputs in, const Tensor& out, const Attrs&) {
  bool ints = compute_kind(in[0].dtype()) == ComputeKind::i64 && compute_kind(out.dtype()) == ComputeKind::i64;
  if (ints) {
    run_elementwise<int64_t, 1>(out, in, [](const std::array<const int64_t*, 1>& x, int64_t* y, int64_t n) {
      for (int64_t i = 0; i < n; ++i) y[i] = x[0][i];
    });
    return;
  }
  bool to_float = compute_kind(out.dtype()) == ComputeKind::f32 && compute_kind(in[0].dtype()) == ComputeKind::f32;
  if (to_float) {
    run_elementwise<float, 1>(out, in, [](const std::array<const float*, 1>& x, float* y, int64_t n) {
      for (int64_t i = 0; i < n; ++i) y[i] = x[0][i];
    });
    return;
  }
  run_elementwise<double, 1>(out, in, [](const std::array<const double*, 1>& x, double* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[0][i];
  });
}

void k_contiguous(Inputs in, const Tensor& out, const Attrs& a) { k_cast(in, out, a); }

void k_where(Inputs in, const Tensor& out, const Attrs&) {
  with_compute_type(out.dtype(), [&](auto tag) {
    using C = decltype(tag);
    run_elementwise<C, 3>(out, in, [](const std::array<const C*, 3>& x, C* y, int64_t n) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) y[i] = x[0][i] != 0 ? x[1][i] : x[2][i];
    });
  });
}

}  // namespace tessera::backends::cpu
