// The reduction-family CUDA kernels as the kernel table sees them (reduce.h): the (rows x n) view of the
// tensors, the launch on the device's stream, the check; and concat (2-D memcpys or strided copies).
#include "backends/cuda/kernels/elementwise_launch.h"
#include "backends/cuda/kernels/layout.h"
#include "backends/cuda/kernels/reduce.h"
#include "backends/cuda/kernels/reduce_launch.h"
#include "backends/cuda/runtime/runtime.h"

namespace tessera::backends::cuda {

namespace {
// The row view of x around `axis` into `out`; selects the device.
RowArgs row_args(const Tensor& x, int64_t axis, const Tensor& out, bool out_has_axis) {
  set_device(out.device().index);
  RowLayout L = row_layout(x, axis, out_has_axis);
  TESSERA_ASSERT(row_layout_ok(L), "CUDA row kernel: layout not indexable (supports should decline)");
  RowArgs a;
  a.rows = L.rows;
  a.n = L.n;
  a.in_stride = L.in_stride;
  a.out_stride = L.out_stride;
  a.calc = make_offset_calc<2>(L.outer);
  a.x = x.raw_data();
  a.out = out.raw_data();
  a.aligned = x.is_contiguous() && aligned16(a.x) && aligned16(a.out);
  a.sms = properties(out.device().index).multiProcessorCount;
  a.stream = stream_of(out);
  return a;
}

// in: (x, weight[, bias]), or (x, residual, weight, bias) for add_layer_norm (kResidual).
template <bool kLayer, bool kResidual = false>
void norm(std::string_view name, ops::Inputs in, const Tensor& out, const ops::Attrs& a) {
  const Tensor& x = in[0];
  if (out.numel() == 0) return;
  const int wi = kResidual ? 2 : 1;  // index of the weight
  RowArgs r = row_args(x, x.dim() - 1, out, /*out_has_axis=*/true);
  if (r.n == 1) r.in_stride = 1;  // a 1-element row is contiguous whatever its stride
  if (kResidual) r.aligned = r.aligned && aligned16(in[1].raw_data());
  NormWeights w{.w = in[wi].raw_data(), .b = kLayer ? in[wi + 1].raw_data() : nullptr,
                .residual = kResidual ? in[1].raw_data() : nullptr, .w_stride = in[wi].strides()[0],
                .b_stride = kLayer ? in[wi + 1].strides()[0] : 0, .same_dtype = in[wi].dtype() == x.dtype(),
                .eps = a.scalar};
  if (kLayer) launch_layer_norm(x.dtype(), r, w);
  else launch_rms_norm(x.dtype(), r, w);
  check_launch(name, in);
}
}  // namespace

void k_sum(ops::Inputs in, const Tensor& out, const ops::Attrs& a) {
  if (out.numel() == 0) return;
  launch_reduce(ReduceOp::sum, in[0].dtype(), row_args(in[0], a.axis, out, /*out_has_axis=*/false));
  check_launch("cuda.sum", in);
}
void k_max(ops::Inputs in, const Tensor& out, const ops::Attrs& a) {
  if (out.numel() == 0) return;
  launch_reduce(ReduceOp::max, in[0].dtype(), row_args(in[0], a.axis, out, /*out_has_axis=*/false));
  check_launch("cuda.max", in);
}
void k_softmax(ops::Inputs in, const Tensor& out, const ops::Attrs& a) {
  if (out.numel() == 0) return;
  launch_softmax(in[0].dtype(), row_args(in[0], a.axis, out, /*out_has_axis=*/true));
  check_launch("cuda.softmax", in);
}
void k_layer_norm(ops::Inputs in, const Tensor& out, const ops::Attrs& a) { norm<true>("cuda.layer_norm", in, out, a); }
void k_rms_norm(ops::Inputs in, const Tensor& out, const ops::Attrs& a) { norm<false>("cuda.rms_norm", in, out, a); }
void k_add_layer_norm(ops::Inputs in, const Tensor& out, const ops::Attrs& a) {
  norm<true, true>("cuda.add_layer_norm", in, out, a);
}

// gather: rows of 16-byte units when the table is row-contiguous with 16-byte-aligned rows, else elements.
void k_gather(ops::Inputs in, const Tensor& out, const ops::Attrs&) {
  const Tensor &w = in[0], &ids = in[1];
  if (out.numel() == 0) return;
  set_device(out.device().index);
  const int64_t es = (int64_t)dtype_size(w.dtype()), c = w.shape()[1];
  const bool units16 = (c == 1 || w.strides()[1] == 1) && aligned16(w.raw_data()) && aligned16(out.raw_data()) &&
                       (c * es) % 16 == 0 && (w.strides()[0] * es) % 16 == 0;
  GatherArgs g;
  g.rows = ids.numel();
  g.vocab = w.shape()[0];
  g.w = w.raw_data();
  g.ids = ids.raw_data();
  g.ids_i64 = ids.dtype() == DType::i64;
  g.ids_calc = make_offset_calc<1>(collapse(ids.shape(), {ids.strides()}));
  g.out = out.raw_data();
  g.stream = stream_of(out);
  if (units16) {
    g.units = c * es / 16;
    g.w_row = w.strides()[0] * es / 16;
    g.w_col = 1;
  } else {
    g.units = c;
    g.w_row = w.strides()[0];
    g.w_col = w.strides()[1];
  }
  launch_gather(units16 ? 16 : (std::size_t)es, g);
  check_launch("cuda.gather", in);
}

// concat along `axis`: a contiguous input is a 2-D memcpy of `outer` rows of size_k · inner elements into rows
// of the output's size · inner; a strided one a strided copy into the output's slice.
void k_concat(ops::Inputs in, const Tensor& out, const ops::Attrs& a) {
  if (out.numel() == 0) return;
  set_device(out.device().index);
  cudaStream_t s = stream_of(out);
  const std::size_t es = dtype_size(out.dtype());
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < a.axis; ++d) outer *= out.shape()[d];
  for (int64_t d = a.axis + 1; d < out.dim(); ++d) inner *= out.shape()[d];
  const int64_t out_block = out.shape()[a.axis] * inner;
  char* dst = static_cast<char*>(out.raw_data());
  const Strides out_strides = dense_strides(out.shape());
  int64_t base = 0;
  for (const Tensor& x : in) {
    const int64_t block = x.shape()[a.axis] * inner;
    if (x.numel() > 0 && x.is_contiguous()) {
      TESSERA_CUDA_CHECK(cudaMemcpy2DAsync(dst + base * es, out_block * es, x.raw_data(), block * es, block * es,
                                           outer, cudaMemcpyDeviceToDevice, s));
    } else if (x.numel() > 0) {
      Collapsed c = collapse(x.shape(), {out_strides, x.strides()});
      launch_strided_copy(es, x.numel(), x.raw_data(), dst + base * es, make_offset_calc<2>(c), s);
      check_launch("cuda.concat", in);
    }
    base += block;
  }
}

}  // namespace tessera::backends::cuda
