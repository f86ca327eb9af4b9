// CUDA broadcasting binary ops (add, sub, mul, div, maximum), where and masked_fill on the elementwise
// engine. Arithmetic runs in the compute type (f32 for f16/bf16, f64, int64 for integers and bool).
#include "backends/cuda/kernels/elementwise.cuh"

namespace tessera::backends::cuda {

namespace {
struct AddOp {
  template <class C> __device__ C operator()(C a, C b) const { return a + b; }
};
struct SubOp {
  template <class C> __device__ C operator()(C a, C b) const { return a - b; }
};
struct MulOp {
  template <class C> __device__ C operator()(C a, C b) const { return a * b; }
};
struct DivOp {
  template <class C> __device__ C operator()(C a, C b) const { return a / b; }
};
// NaN in either operand propagates (as the reference and torch.maximum).
struct MaxOp {
  template <class C> __device__ C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      if (a != a || b != b) return a + b;
    }
    return a > b ? a : b;
  }
};

// Loads both operands as the compute type, applies Op, stores as T.
template <class T, class Op>
struct BinaryFn {
  __device__ T operator()(T a, T b) const { return store_as<T>(Op{}(to_compute(a), to_compute(b))); }
};

// Note [Float promotion] (src/ops/defs/elementwise.cpp): operands of two float dtypes into the promoted output
// (f64 if either is f64, else f32), each read in its own dtype (no cast kernel before the op). The kernel
// instantiations are reached through plain switches: nvcc did not register kernels launched under an
// `if constexpr` inside nested generic lambdas ("invalid device function" at launch on the H200).
template <class Out, class A, class B, class Op>
struct MixedFn {
  __device__ Out operator()(A a, B b) const { return Op{}((Out)to_compute(a), (Out)to_compute(b)); }
};

template <class Op, class A, class B>
void run_mixed(const EwArgs<2>& a) {
  using Out = std::conditional_t<std::is_same_v<A, double> || std::is_same_v<B, double>, double, float>;
  run_elementwise<Out, A, B>(a, MixedFn<Out, A, B, Op>{});
}

template <class Op, class A>
void mixed_second(DType db, const EwArgs<2>& a) {
  switch (db) {
    case DType::f32: run_mixed<Op, A, float>(a); return;
    case DType::f16: run_mixed<Op, A, Half>(a); return;
    case DType::bf16: run_mixed<Op, A, BFloat>(a); return;
    case DType::f64: run_mixed<Op, A, double>(a); return;
    default: return;
  }
}

template <class Op>
void binary_mixed(DType da, DType db, const EwArgs<2>& a) {
  switch (da) {
    case DType::f32: mixed_second<Op, float>(db, a); return;
    case DType::f16: mixed_second<Op, Half>(db, a); return;
    case DType::bf16: mixed_second<Op, BFloat>(db, a); return;
    case DType::f64: mixed_second<Op, double>(db, a); return;
    default: return;
  }
}

template <class Op>
void binary(DType dt, const EwArgs<2>& a) {
  dispatch_all(dt, [&](auto tag) {
    using T = decltype(tag);
    run_elementwise<T, T, T>(a, BinaryFn<T, Op>{});
  });
}

template <class T>
struct WhereFn {
  __device__ T operator()(Bool c, T a, T b) const { return c.bits ? a : b; }
};

template <class T>
struct MaskedFillFn {
  T value;
  __device__ T operator()(T x, Bool m) const { return m.bits ? value : x; }
};
}  // namespace

void launch_binary(BinaryOp op, DType dt, const EwArgs<2>& a) {
  switch (op) {
    case BinaryOp::add: binary<AddOp>(dt, a); return;
    case BinaryOp::sub: binary<SubOp>(dt, a); return;
    case BinaryOp::mul: binary<MulOp>(dt, a); return;
    case BinaryOp::maximum: binary<MaxOp>(dt, a); return;
    case BinaryOp::div:
      dispatch_float(dt, [&](auto tag) {  // integer division by zero would trap: integers take the reference
        using T = decltype(tag);
        run_elementwise<T, T, T>(a, BinaryFn<T, DivOp>{});
      });
      return;
  }
}

void launch_binary_mixed(BinaryOp op, DType a_dt, DType b_dt, const EwArgs<2>& a) {
  switch (op) {
    case BinaryOp::add: binary_mixed<AddOp>(a_dt, b_dt, a); return;
    case BinaryOp::sub: binary_mixed<SubOp>(a_dt, b_dt, a); return;
    case BinaryOp::mul: binary_mixed<MulOp>(a_dt, b_dt, a); return;
    case BinaryOp::div: binary_mixed<DivOp>(a_dt, b_dt, a); return;
    case BinaryOp::maximum: binary_mixed<MaxOp>(a_dt, b_dt, a); return;
  }
}

void launch_where(std::size_t elem_size, const EwArgs<3>& a) {
  dispatch_bytes(elem_size, [&](auto tag) {  // a selection copies bits: any dtype
    using T = decltype(tag);
    run_elementwise<T, Bool, T, T>(a, WhereFn<T>{});
  });
}

void launch_masked_fill(std::size_t elem_size, uint64_t value_bits, const EwArgs<2>& a) {
  dispatch_bytes(elem_size, [&](auto tag) {
    using T = decltype(tag);
    run_elementwise<T, T, Bool>(a, MaskedFillFn<T>{(T)value_bits});
  });
}

}  // namespace tessera::backends::cuda
