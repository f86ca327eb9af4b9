// The elementwise-family CUDA kernels as the kernel table sees them (elementwise.h): layout analysis on the
// tensors (dense vectorised path or collapsed strided indexing), the launch on the device's stream, the check.
#include <cstring>

#include "backends/cuda/kernels/elementwise.h"
#include "backends/cuda/kernels/elementwise_launch.h"
#include "backends/cuda/kernels/layout.h"
#include "backends/cuda/runtime/runtime.h"

namespace tessera::backends::cuda {

namespace {
// The launch arguments of an elementwise op over `in` into the contiguous `out`; selects the device.
template <int N>
EwArgs<N> ew_args(ops::Inputs in, const Tensor& out) {
  TESSERA_ASSERT((int)in.size() == N, "elementwise CUDA kernel: {} inputs, expected {}", in.size(), N);
  set_device(out.device().index);
  EwArgs<N> a;
  a.n = out.numel();
  a.out = out.raw_data();
  a.stream = stream_of(out);
  a.dense = dense_aligned(out);
  for (int k = 0; k < N; ++k) {
    a.in[k] = in[k].raw_data();
    a.dense = a.dense && in[k].numel() == a.n && dense_aligned(in[k]);
  }
  if (!a.dense && a.n > 0) {
    Collapsed c = elementwise_layout(out.shape(), in);
    TESSERA_ASSERT(strided_indexable(c), "elementwise CUDA kernel: layout not indexable (supports should decline)");
    a.calc = make_offset_calc<N>(c, /*first=*/1);
  }
  return a;
}

void binary(std::string_view name, BinaryOp op, ops::Inputs in, const Tensor& out) {
  if (in[0].dtype() != in[1].dtype()) launch_binary_mixed(op, in[0].dtype(), in[1].dtype(), ew_args<2>(in, out));
  else launch_binary(op, out.dtype(), ew_args<2>(in, out));
  check_launch(name, in);
}
void unary(std::string_view name, UnaryOp op, ops::Inputs in, const Tensor& out) {
  launch_unary(op, out.dtype(), ew_args<1>(in, out));
  check_launch(name, in);
}

// The bits of `v` stored as dt (the reference's Tensor::full conversion), zero-extended.
uint64_t value_bits(DType dt, double v) {
  uint64_t bits = 0;
  auto put = [&](auto x) { std::memcpy(&bits, &x, sizeof(x)); };
  switch (dt) {
    case DType::f32: put((float)v); break;
    case DType::f64: put(v); break;
    case DType::f16: put(f32_to_f16((float)v)); break;
    case DType::bf16: put(f32_to_bf16((float)v)); break;
    case DType::i64: put((int64_t)v); break;
    case DType::i32: put((int32_t)(int64_t)v); break;
    case DType::i16: put((int16_t)(int64_t)v); break;
    case DType::i8: put((int8_t)(int64_t)v); break;
    case DType::u8: put((uint8_t)(int64_t)v); break;
    case DType::boolean: put((uint8_t)(v != 0)); break;
    default: TESSERA_ASSERT(false, "masked_fill: dtype {}", dtype_name(dt));
  }
  return bits;
}

// Note [Transposed copies] (cast_copy.cu): the tiled copy applies when the output's last dim is strided in the
// input and an outer dim j is contiguous there, both at least 8 long (shorter dims waste most of a tile).
bool plan_transpose(const Collapsed& c, TransposeArgs* p) {
  int r = (int)c.shape.size();
  if (r < 2 || c.strides[1][r - 1] == 1 || c.shape[r - 1] < 8) return false;
  for (int j = r - 2; j >= 0; --j) {
    if (c.strides[1][j] != 1 || c.shape[j] < 8) continue;
    p->rows = c.shape[j];
    p->cols = c.shape[r - 1];
    p->in_col_stride = c.strides[1][r - 1];
    p->out_row_stride = c.strides[0][j];
    Collapsed batch{{}, {{}, {}}};
    for (int d = 0; d < r - 1; ++d) {
      if (d == j) continue;
      batch.shape.push_back(c.shape[d]);
      batch.strides[0].push_back(c.strides[0][d]);
      batch.strides[1].push_back(c.strides[1][d]);
    }
    p->batches = (uint32_t)numel_of(batch.shape);
    p->batch = make_offset_calc<2>(batch);
    return true;
  }
  return false;
}
}  // namespace

void k_add(ops::Inputs in, const Tensor& out, const ops::Attrs&) { binary("cuda.add", BinaryOp::add, in, out); }
void k_sub(ops::Inputs in, const Tensor& out, const ops::Attrs&) { binary("cuda.sub", BinaryOp::sub, in, out); }
void k_mul(ops::Inputs in, const Tensor& out, const ops::Attrs&) { binary("cuda.mul", BinaryOp::mul, in, out); }
void k_div(ops::Inputs in, const Tensor& out, const ops::Attrs&) { binary("cuda.div", BinaryOp::div, in, out); }
void k_maximum(ops::Inputs in, const Tensor& out, const ops::Attrs&) { binary("cuda.maximum", BinaryOp::maximum, in, out); }

void k_where(ops::Inputs in, const Tensor& out, const ops::Attrs&) {
  launch_where(dtype_size(out.dtype()), ew_args<3>(in, out));
  check_launch("cuda.where", in);
}
void k_masked_fill(ops::Inputs in, const Tensor& out, const ops::Attrs& a) {
  launch_masked_fill(dtype_size(out.dtype()), value_bits(out.dtype(), a.scalar), ew_args<2>(in, out));
  check_launch("cuda.masked_fill", in);
}

void k_add_scalar(ops::Inputs in, const Tensor& out, const ops::Attrs& a) {
  launch_scalar(ScalarOp::add, out.dtype(), a.scalar, ew_args<1>(in, out));
  check_launch("cuda.add_scalar", in);
}
void k_mul_scalar(ops::Inputs in, const Tensor& out, const ops::Attrs& a) {
  launch_scalar(ScalarOp::mul, out.dtype(), a.scalar, ew_args<1>(in, out));
  check_launch("cuda.mul_scalar", in);
}
void k_neg(ops::Inputs in, const Tensor& out, const ops::Attrs&) { unary("cuda.neg", UnaryOp::neg, in, out); }
void k_exp(ops::Inputs in, const Tensor& out, const ops::Attrs&) { unary("cuda.exp", UnaryOp::exp, in, out); }
void k_log(ops::Inputs in, const Tensor& out, const ops::Attrs&) { unary("cuda.log", UnaryOp::log, in, out); }
void k_sqrt(ops::Inputs in, const Tensor& out, const ops::Attrs&) { unary("cuda.sqrt", UnaryOp::sqrt, in, out); }
void k_rsqrt(ops::Inputs in, const Tensor& out, const ops::Attrs&) { unary("cuda.rsqrt", UnaryOp::rsqrt, in, out); }
void k_tanh(ops::Inputs in, const Tensor& out, const ops::Attrs&) { unary("cuda.tanh", UnaryOp::tanh, in, out); }
void k_erf(ops::Inputs in, const Tensor& out, const ops::Attrs&) { unary("cuda.erf", UnaryOp::erf, in, out); }
void k_relu(ops::Inputs in, const Tensor& out, const ops::Attrs&) { unary("cuda.relu", UnaryOp::relu, in, out); }
void k_gelu(ops::Inputs in, const Tensor& out, const ops::Attrs&) { unary("cuda.gelu", UnaryOp::gelu, in, out); }
void k_gelu_new(ops::Inputs in, const Tensor& out, const ops::Attrs&) {
  unary("cuda.gelu_new", UnaryOp::gelu_new, in, out);
}
void k_silu(ops::Inputs in, const Tensor& out, const ops::Attrs&) { unary("cuda.silu", UnaryOp::silu, in, out); }
void k_sigmoid(ops::Inputs in, const Tensor& out, const ops::Attrs&) { unary("cuda.sigmoid", UnaryOp::sigmoid, in, out); }

void k_cast(ops::Inputs in, const Tensor& out, const ops::Attrs&) {
  launch_cast(in[0].dtype(), out.dtype(), ew_args<1>(in, out));
  check_launch("cuda.cast", in);
}

// contiguous: a device memcpy when the input is already dense, else the tiled transpose or the strided copy.
void k_contiguous(ops::Inputs in, const Tensor& out, const ops::Attrs&) {
  const Tensor& x = in[0];
  if (out.numel() == 0) return;
  set_device(out.device().index);
  cudaStream_t s = stream_of(out);
  if (x.is_contiguous()) {
    TESSERA_CUDA_CHECK(cudaMemcpyAsync(out.raw_data(), x.raw_data(), out.nbytes(), cudaMemcpyDeviceToDevice, s));
    return;
  }
  Collapsed c = elementwise_layout(out.shape(), in);
  TransposeArgs t;
  if (strided_indexable(c) && plan_transpose(c, &t)) {
    t.in = x.raw_data();
    t.out = out.raw_data();
    t.stream = s;
    launch_transpose_copy(dtype_size(x.dtype()), t);
  } else {
    launch_copy(dtype_size(x.dtype()), ew_args<1>(in, out));
  }
  check_launch("cuda.contiguous", in);
}

}  // namespace tessera::backends::cuda
