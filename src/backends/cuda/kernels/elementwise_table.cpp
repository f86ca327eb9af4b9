// The CUDA elementwise fragment of the kernel table (kernel_table.h): elementwise arithmetic, unary math,
// activations, cast, contiguous, where and masked_fill, with the inputs each kernel accepts.
#include "backends/cuda/kernel_table.h"
#include "backends/cuda/kernels/elementwise.h"
#include "backends/cuda/kernels/layout.h"

namespace tessera::backends::cuda {

namespace {
using ops::Attrs;
using ops::Inputs;
using ops::OpId;

// The dtypes the kernels compute in (as the CPU backend: every dtype but the f8 formats).
bool computable(DType dt) {
  switch (dt) {
    case DType::f32: case DType::f16: case DType::bf16: case DType::f64: case DType::i64: case DType::i32:
    case DType::i16: case DType::i8: case DType::u8: case DType::boolean:
      return true;
    default:
      return false;
  }
}
bool any_dtype(Inputs in, const Attrs&) {
  if (!all_on_cuda(in)) return false;
  for (const Tensor& t : in)
    if (!computable(t.dtype())) return false;
  return elementwise_ok(in);
}
// Binary arithmetic: one dtype, or two float dtypes into the promoted one (Note [Float promotion]).
bool binary_ok(Inputs in, const Attrs& a) {
  if (in[0].dtype() == in[1].dtype()) return any_dtype(in, a);
  auto float_io = [](DType d) { return d == DType::f32 || d == DType::f16 || d == DType::bf16 || d == DType::f64; };
  return float_io(in[0].dtype()) && float_io(in[1].dtype()) && any_dtype(in, a);
}
bool binary_float_ok(Inputs in, const Attrs& a) {
  return dtype_is_floating(in[0].dtype()) && dtype_is_floating(in[1].dtype()) && binary_ok(in, a);
}
bool float_dtype(Inputs in, const Attrs& a) {
  for (const Tensor& t : in)
    if (!dtype_is_floating(t.dtype())) return false;
  return any_dtype(in, a);
}
bool cast_ok(Inputs in, const Attrs& a) { return computable(a.dtype) && any_dtype(in, a); }
// A copy of any dtype: a memcpy when dense, else the tiled transpose or the strided engine.
bool contiguous_ok(Inputs in, const Attrs&) {
  return all_on_cuda(in) && (in[0].is_contiguous() || strided_indexable(elementwise_layout(in[0].shape(), in)));
}
// where selects bits (any dtype); masked_fill converts its value to the input's dtype.
bool where_ok(Inputs in, const Attrs&) { return all_on_cuda(in) && in[0].dtype() == DType::boolean && elementwise_ok(in); }
bool masked_fill_ok(Inputs in, const Attrs& a) {
  return computable(in[0].dtype()) && in[1].dtype() == DType::boolean && all_on_cuda(in) && elementwise_ok(in);
}

const KernelEntry kTable[] = {
    {OpId::add, k_add, binary_ok, "cuda.add"},
    {OpId::sub, k_sub, binary_ok, "cuda.sub"},
    {OpId::mul, k_mul, binary_ok, "cuda.mul"},
    {OpId::div, k_div, binary_float_ok, "cuda.div"},  // integer division by zero would trap: the reference reports it
    {OpId::maximum, k_maximum, binary_ok, "cuda.maximum"},
    {OpId::add_scalar, k_add_scalar, any_dtype, "cuda.add_scalar"},
    {OpId::mul_scalar, k_mul_scalar, any_dtype, "cuda.mul_scalar"},
    {OpId::neg, k_neg, any_dtype, "cuda.neg"},
    {OpId::exp, k_exp, float_dtype, "cuda.exp"},
    {OpId::log, k_log, float_dtype, "cuda.log"},
    {OpId::sqrt, k_sqrt, float_dtype, "cuda.sqrt"},
    {OpId::rsqrt, k_rsqrt, float_dtype, "cuda.rsqrt"},
    {OpId::tanh, k_tanh, float_dtype, "cuda.tanh"},
    {OpId::erf, k_erf, float_dtype, "cuda.erf"},
    {OpId::relu, k_relu, float_dtype, "cuda.relu"},
    {OpId::gelu, k_gelu, float_dtype, "cuda.gelu"},
    {OpId::gelu_new, k_gelu_new, float_dtype, "cuda.gelu_new"},
    {OpId::silu, k_silu, float_dtype, "cuda.silu"},
    {OpId::sigmoid, k_sigmoid, float_dtype, "cuda.sigmoid"},
    {OpId::cast, k_cast, cast_ok, "cuda.cast"},
    {OpId::contiguous, k_contiguous, contiguous_ok, "cuda.contiguous"},
    {OpId::where, k_where, where_ok, "cuda.where"},
    {OpId::masked_fill, k_masked_fill, masked_fill_ok, "cuda.masked_fill"},
};
}  // namespace

std::span<const KernelEntry> elementwise_kernels() { return kTable; }

}  // namespace tessera::backends::cuda
