// The CUDA state-space kernels' table fragment: causal_conv1d (conv1d.cu), selective_scan and
// selective_scan_state (ssm_scan.cu, ssm_scan_seq.cu). Every input may be a strided view (the kernels take
// strides, so the model's transposed and sliced activations are read in place). Declined (reference on the
// host): f64/f8 inputs, K > kConvMaxWidth, N > kScanMaxState, a batch > 65535.
#include "backends/cuda/kernel_table.h"
#include "backends/cuda/kernels/ssm_launch.h"
#include "backends/cuda/runtime/runtime.h"
#include "ops/ssm_slots.h"

namespace tessera::backends::cuda {

namespace {
using ops::Attrs;
using ops::Inputs;

bool io_dtypes(Inputs in) {
  for (const Tensor& t : in)
    if (t.dtype() != DType::f32 && t.dtype() != DType::f16 && t.dtype() != DType::bf16) return false;
  return true;
}

int io_type(DType d) { return d == DType::f16 ? ssm::kF16 : d == DType::bf16 ? ssm::kBF16 : ssm::kF32; }

ssm::View view_of(const Tensor& t) {
  ssm::View v;
  v.data = t.raw_data();
  v.type = io_type(t.dtype());
  const Strides& s = t.strides();
  if (s.size() > 0) v.s0 = s[0];
  if (s.size() > 1) v.s1 = s[1];
  if (s.size() > 2) v.s2 = s[2];
  return v;
}

bool conv_supports(Inputs in, const Attrs&) {
  return all_on_cuda(in) && io_dtypes(in) && in[1].size(1) <= ssm::kConvMaxWidth && in[0].size(0) <= ssm::kMaxGridYZ &&
         in[0].size(1) <= ssm::kConvRows * ssm::kMaxGridYZ;
}

// x (B, C, T); weight (C, K); bias (C) optional -> out (B, C, T).
template <bool kSilu>
void k_conv(Inputs in, const Tensor& out, const Attrs&) {
  if (out.numel() == 0) return;
  ssm::ConvParams p;
  p.silu = kSilu;
  p.x = view_of(in[0]);
  p.w = view_of(in[1]);
  if (in.size() == 3) p.bias = view_of(in[2]);
  p.out = out.raw_data();
  p.out_type = io_type(out.dtype());
  p.batch = in[0].size(0);
  p.channels = in[0].size(1);
  p.T = in[0].size(2);
  p.K = (int)in[1].size(1);
  set_device(out.device().index);
  TESSERA_CUDA_CHECK(ssm::launch_causal_conv1d(p, stream_of(out)));
  check_launch(kSilu ? "cuda.causal_conv1d_silu" : "cuda.causal_conv1d", in);
}

bool scan_supports(Inputs in, const Attrs&) {
  int64_t N = in[2].size(1);
  return all_on_cuda(in) && io_dtypes(in) && N >= 1 && N <= ssm::kScanMaxState && in[0].size(0) <= ssm::kMaxGridYZ;
}

// Note [selective scan inputs] (src/ops/ssm_slots.h).
template <bool kY>
void k_scan(Inputs in, const Tensor& out, const Attrs& a) {
  if (out.numel() == 0) return;
  ops::ScanSlots sl = ops::scan_slots(a, kY);
  ssm::ScanParams p;
  p.u = view_of(in[0]);
  p.delta = view_of(in[1]);
  p.A = view_of(in[2]);
  p.Bm = view_of(in[3]);
  if (kY) {
    p.Cm = view_of(in[4]);
    p.D = view_of(in[5]);
  }
  if (sl.z >= 0) p.z = view_of(in[sl.z]);
  if (sl.bias >= 0) p.bias = view_of(in[sl.bias]);
  if (sl.h0 >= 0) p.h0 = view_of(in[sl.h0]);
  p.out = out.raw_data();
  p.out_type = io_type(out.dtype());
  p.batch = in[0].size(0);
  p.channels = in[0].size(1);
  p.T = in[0].size(2);
  p.N = (int)in[2].size(1);
  p.softplus = sl.softplus;
  p.sm_count = properties(out.device().index).multiProcessorCount;
  set_device(out.device().index);
  TESSERA_CUDA_CHECK(ssm::launch_selective_scan(p, kY, stream_of(out)));
  check_launch(kY ? "cuda.selective_scan" : "cuda.selective_scan_state", in);
}

const KernelEntry kEntries[] = {
    {ops::OpId::causal_conv1d, k_conv<false>, conv_supports, "cuda.causal_conv1d"},
    {ops::OpId::causal_conv1d_silu, k_conv<true>, conv_supports, "cuda.causal_conv1d_silu"},
    {ops::OpId::selective_scan, k_scan<true>, scan_supports, "cuda.selective_scan"},
    {ops::OpId::selective_scan_state, k_scan<false>, scan_supports, "cuda.selective_scan_state"},
};
}  // namespace

std::span<const KernelEntry> ssm_kernels() { return kEntries; }

}  // namespace tessera::backends::cuda
