// The CUDA reduction fragment of the kernel table (kernel_table.h): sum/max over one axis, softmax, layer_norm,
// rms_norm, embedding gather and concat, with the inputs each kernel accepts.
#include "backends/cuda/kernel_table.h"
#include "backends/cuda/kernels/layout.h"
#include "backends/cuda/kernels/reduce.h"

namespace tessera::backends::cuda {

namespace {
using ops::Attrs;
using ops::Inputs;
using ops::OpId;

bool computable(DType dt) { return dt != DType::f8_e4m3 && dt != DType::f8_e5m2; }
bool floating(const Tensor& t) { return dtype_is_floating(t.dtype()) && computable(t.dtype()); }

bool reduce_ok(Inputs in, const Attrs& a) {
  return all_on_cuda(in) && computable(in[0].dtype()) && row_layout_ok(row_layout(in[0], a.axis, /*out_has_axis=*/false));
}
bool softmax_ok(Inputs in, const Attrs& a) {
  return all_on_cuda(in) && floating(in[0]) && row_layout_ok(row_layout(in[0], a.axis, /*out_has_axis=*/true));
}
// Norms (inputs on the device already checked): the weight (and bias) in the input's dtype or f32; other mixes
// run the decomposition.
bool norm_ok(const Tensor& x, const Tensor& w, const Tensor* bias) {
  if (!floating(x) || x.dim() < 1) return false;
  if (w.dtype() != x.dtype() && w.dtype() != DType::f32) return false;
  if (bias && bias->dtype() != w.dtype()) return false;
  return row_layout_ok(row_layout(x, x.dim() - 1, /*out_has_axis=*/true));
}
bool layer_norm_ok(Inputs in, const Attrs&) { return all_on_cuda(in) && norm_ok(in[0], in[1], &in[2]); }
bool rms_norm_ok(Inputs in, const Attrs&) { return all_on_cuda(in) && norm_ok(in[0], in[1], nullptr); }
// add_layer_norm: the fused kernel is the one-warp-per-row one (norm.cu): x and the residual contiguous, rows of
// at most 1024, not f64; anything else runs the decomposition (add, then layer_norm).
bool add_layer_norm_ok(Inputs in, const Attrs&) {
  const Tensor &x = in[0], &res = in[1];
  return all_on_cuda(in) && norm_ok(x, in[2], &in[3]) && x.is_contiguous() && res.is_contiguous() &&
         x.dtype() != DType::f64 && x.shape().back() <= 1024;
}
bool gather_ok(Inputs in, const Attrs&) {
  const Tensor& ids = in[1];
  return all_on_cuda(in) && (int)collapse(ids.shape(), {ids.strides()}).shape.size() <= kMaxDims &&
         ids.numel() <= kMaxStridedNumel;
}
// concat: contiguous inputs are 2-D memcpys, strided ones need an indexable copy into the output's slice.
bool concat_ok(Inputs in, const Attrs& a) {
  if (!all_on_cuda(in)) return false;
  Shape out = in[0].shape();
  out[a.axis] = 0;
  for (const Tensor& t : in) out[a.axis] += t.shape()[a.axis];
  Strides out_strides = dense_strides(out);
  for (const Tensor& t : in)
    if (!t.is_contiguous() && !strided_indexable(collapse(t.shape(), {out_strides, t.strides()}))) return false;
  return true;
}

const KernelEntry kTable[] = {
    {OpId::sum, k_sum, reduce_ok, "cuda.sum"},
    {OpId::max, k_max, reduce_ok, "cuda.max"},
    {OpId::softmax, k_softmax, softmax_ok, "cuda.softmax"},
    {OpId::layer_norm, k_layer_norm, layer_norm_ok, "cuda.layer_norm"},
    {OpId::rms_norm, k_rms_norm, rms_norm_ok, "cuda.rms_norm"},
    {OpId::add_layer_norm, k_add_layer_norm, add_layer_norm_ok, "cuda.add_layer_norm"},
    {OpId::gather, k_gather, gather_ok, "cuda.gather"},
    {OpId::concat, k_concat, concat_ok, "cuda.concat"},
};
}  // namespace

std::span<const KernelEntry> reduction_kernels() { return kTable; }

}  // namespace tessera::backends::cuda
