// CUDA unary ops on the elementwise engine: add/mul by a scalar and neg (every dtype, in the compute type),
// exp/log/sqrt/rsqrt/tanh/erf and the activations (float dtypes; f32 math for f16/bf16, f64 for f64).
#include "backends/cuda/kernels/elementwise.cuh"

namespace tessera::backends::cuda {

namespace {
// Loads as the compute type, applies Op, stores as T.
template <class T, class Op>
struct UnaryFn {
  Op op;
  __device__ T operator()(T a) const { return store_as<T>(op(to_compute(a))); }
};

template <class Op>
void unary_float(DType dt, const EwArgs<1>& a) {
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    run_elementwise<T, T>(a, UnaryFn<T, Op>{});
  });
}

// The scalar in the compute type, as the CPU kernels convert it ((int64) for integer dtypes).
template <class C>
struct AddScalar {
  C s;
  __device__ C operator()(C v) const { return v + s; }
};
template <class C>
struct MulScalar {
  C s;
  __device__ C operator()(C v) const { return v * s; }
};
struct Neg {
  template <class C> __device__ C operator()(C v) const { return -v; }
};

#define TESSERA_MATH_OP(NAME, EXPR)                                     \
  struct NAME {                                                         \
    template <class C> __device__ C operator()(C x) const { return EXPR; } \
  };
TESSERA_MATH_OP(Exp, d_exp(x))
TESSERA_MATH_OP(Log, d_log(x))
TESSERA_MATH_OP(Sqrt, d_sqrt(x))
TESSERA_MATH_OP(Rsqrt, d_rsqrt(x))
TESSERA_MATH_OP(Tanh, d_tanh(x))
TESSERA_MATH_OP(Erf, d_erf(x))
// relu keeps NaN (as maximum(x, 0) in the reference).
TESSERA_MATH_OP(Relu, x != x ? x : (x > C(0) ? x : C(0)))
// gelu (exact): x · Φ(x) = 0.5 · x · (1 + erf(x / √2)).
TESSERA_MATH_OP(Gelu, C(0.5) * x * (C(1) + d_erf(x * C(0.70710678118654752440))))
// gelu_new (tanh approximation): 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))).
TESSERA_MATH_OP(GeluNew, C(0.5) * x * (C(1) + d_tanh(C(0.79788456080286535588) * (x + C(0.044715) * x * x * x))))
// silu: x · sigmoid(x) = x / (1 + e^-x); -inf gives NaN and large negative x gives -0, as the reference.
TESSERA_MATH_OP(Silu, x / (C(1) + d_exp(-x)))
TESSERA_MATH_OP(Sigmoid, C(1) / (C(1) + d_exp(-x)))
#undef TESSERA_MATH_OP
}  // namespace

void launch_scalar(ScalarOp op, DType dt, double scalar, const EwArgs<1>& a) {
  dispatch_all(dt, [&](auto tag) {
    using T = decltype(tag);
    using C = compute_t<T>;
    const C s = std::is_integral_v<C> ? (C)(int64_t)scalar : (C)scalar;
    if (op == ScalarOp::add) run_elementwise<T, T>(a, UnaryFn<T, AddScalar<C>>{{s}});
    else run_elementwise<T, T>(a, UnaryFn<T, MulScalar<C>>{{s}});
  });
}

void launch_unary(UnaryOp op, DType dt, const EwArgs<1>& a) {
  switch (op) {
    case UnaryOp::neg:
      dispatch_all(dt, [&](auto tag) {
        using T = decltype(tag);
        run_elementwise<T, T>(a, UnaryFn<T, Neg>{});
      });
      return;
    case UnaryOp::exp: unary_float<Exp>(dt, a); return;
    case UnaryOp::log: unary_float<Log>(dt, a); return;
    case UnaryOp::sqrt: unary_float<Sqrt>(dt, a); return;
    case UnaryOp::rsqrt: unary_float<Rsqrt>(dt, a); return;
    case UnaryOp::tanh: unary_float<Tanh>(dt, a); return;
    case UnaryOp::erf: unary_float<Erf>(dt, a); return;
    case UnaryOp::relu: unary_float<Relu>(dt, a); return;
    case UnaryOp::gelu: unary_float<Gelu>(dt, a); return;
    case UnaryOp::gelu_new: unary_float<GeluNew>(dt, a); return;
    case UnaryOp::silu: unary_float<Silu>(dt, a); return;
    case UnaryOp::sigmoid: unary_float<Sigmoid>(dt, a); return;
  }
}

}  // namespace tessera::backends::cuda
