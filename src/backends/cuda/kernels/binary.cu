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
