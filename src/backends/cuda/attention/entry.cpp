// The CUDA attention entry points of backends/cuda_attention.h: tensors -> AttentionParams (strides passed,
// never copied), argument invariants, the launch on the device's stream and its check.
#include <algorithm>
#include <cmath>

#include "backends/cuda/attention/params.h"
#include "backends/cuda/runtime/runtime.h"
#include "backends/cuda_attention.h"

namespace tessera::backends::cuda_attention {

namespace {
using cuda::attention::AttentionParams;
using cuda::attention::Operand;
namespace ka = cuda::attention;

int elem_of(DType d) {
  switch (d) {
    case DType::f32: return ka::kF32;
    case DType::f16: return ka::kF16;
    case DType::bf16: return ka::kBF16;
    case DType::boolean: return ka::kBool;
    default: TESSERA_FAIL("sdpa (cuda): unsupported dtype {}", dtype_name(d));
  }
}

// (B, H, T, D) -> strides {batch, head, row, dim}; packed (total, H, D) -> {0, head, row, dim}.
Operand operand(const Tensor& t, bool packed) {
  Operand o;
  o.data = t.raw_data();
  const Strides& s = t.strides();
  if (packed) {
    o.head = s[1], o.row = s[0], o.dim = s[2];
  } else {
    o.batch = s[0], o.head = s[1], o.row = s[2], o.dim = s[3];
  }
  return o;
}

void set_lengths(const Tensor& t, const void** data, int64_t* stride) {
  if (!t.defined()) return;
  TESSERA_ASSERT(t.dim() == 1 && t.device().type == DeviceType::cuda && (t.dtype() == DType::i32 || t.dtype() == DType::i64),
                 "sdpa (cuda): lengths must be (B) i32/i64 on the device");
  *data = t.raw_data();
  *stride = t.strides()[0];
}

AttentionParams params_of(const Call& c) {
  const bool packed = c.cu_seqlens_q.defined();
  for (const Tensor* t : {&c.k, &c.v, &c.out})
    TESSERA_ASSERT(t->device() == c.q.device() && t->dtype() == c.q.dtype(), "sdpa (cuda): operands disagree");
  AttentionParams p;
  p.q = operand(c.q, packed), p.k = operand(c.k, packed), p.v = operand(c.v, packed);
  p.out = c.out.raw_data();
  p.elem = elem_of(c.q.dtype());
  if (packed) {
    TESSERA_ASSERT(c.cu_seqlens_k.defined() && c.cu_seqlens_q.dtype() == DType::i32 && c.cu_seqlens_k.dtype() == DType::i32,
                   "sdpa (cuda): packed varlen needs cu_seqlens_q and cu_seqlens_k as i32");
    p.batch = (int)c.batch, p.heads = (int)c.q.size(1), p.head_dim = (int)c.q.size(2);
    p.q_len = (int)c.max_seqlen_q, p.k_len = 0;
    p.cu_seqlens_q = c.cu_seqlens_q.data<int>();
    p.cu_seqlens_k = c.cu_seqlens_k.data<int>();
    p.out_row = c.out.strides()[0], p.out_head = c.out.strides()[1];
  } else {
    p.batch = (int)c.q.size(0), p.heads = (int)c.q.size(1), p.q_len = (int)c.q.size(2), p.k_len = (int)c.k.size(2);
    p.head_dim = (int)c.q.size(3);
    const Strides& os = c.out.strides();  // (B, H, Tq, D) or (B, Tq, H, D)
    p.out_batch = os[0];
    p.out_head = c.out_bthd ? os[2] : os[1];
    p.out_row = c.out_bthd ? os[1] : os[2];
  }
  set_lengths(c.key_lengths, &p.key_lengths, &p.key_lengths_stride);
  set_lengths(c.query_lengths, &p.query_lengths, &p.query_lengths_stride);
  const Tensor& lengths = c.key_lengths.defined() ? c.key_lengths : c.query_lengths;
  p.lengths_i64 = lengths.defined() && lengths.dtype() == DType::i64;
  TESSERA_ASSERT(!c.key_lengths.defined() || !c.query_lengths.defined() || c.key_lengths.dtype() == c.query_lengths.dtype(),
                 "sdpa (cuda): key and query lengths must share a dtype");
  p.causal = c.causal;
  p.scale = (float)c.scale;
  p.scale_log2 = (float)(c.scale * 1.4426950408889634);
  TESSERA_CHECK(p.heads <= 65535 && p.batch <= 65535, "sdpa (cuda): batch {} and heads {} must be <= 65535", p.batch,
                p.heads);
  return p;
}

std::vector<Tensor> inputs_of(const Call& c) { return {c.q, c.k, c.v}; }
}  // namespace

bool built() { return true; }

int compute_capability(int device) {
  if (device < 0 || device >= cuda_device_count()) return 0;
  const cudaDeviceProp& p = cuda::properties(device);
  return p.major * 10 + p.minor;
}

void flash(const Call& c) {
  AttentionParams p = params_of(c);
  TESSERA_ASSERT(std::count(kFlashHeadDims.begin(), kFlashHeadDims.end(), p.head_dim) > 0 && !c.mask.defined() &&
                     p.q.dim == 1 && p.k.dim == 1 && p.v.dim == 1,
                 "sdpa (cuda): flash called outside its checks");
  if (p.batch == 0 || p.q_len == 0) return;
  cuda::set_device(c.q.device().index);
  cudaStream_t s = cuda::stream_of(c.q);
  TESSERA_CUDA_CHECK(p.elem == ka::kF16 ? ka::launch_flash_f16(p, s) : ka::launch_flash_bf16(p, s));
  cuda::check_launch("cuda.sdpa_flash", inputs_of(c));
}

void memory_efficient(const Call& c) {
  AttentionParams p = params_of(c);
  TESSERA_ASSERT(p.head_dim <= kMemoryEfficientMaxHeadDim && !c.cu_seqlens_q.defined(),
                 "sdpa (cuda): memory_efficient called outside its checks");
  if (c.mask.defined()) {
    TESSERA_ASSERT(c.mask.dim() == 4 && c.mask.device() == c.q.device(), "sdpa (cuda): mask must be a 4-D device view");
    p.mask = c.mask.raw_data();
    p.mask_elem = elem_of(c.mask.dtype());
    for (int d = 0; d < 4; ++d) p.mask_stride[d] = c.mask.shape()[d] == 1 ? 0 : c.mask.strides()[d];
  }
  if (p.batch == 0 || p.q_len == 0) return;
  cuda::set_device(c.q.device().index);
  TESSERA_CUDA_CHECK(ka::launch_memory_efficient(p, cuda::stream_of(c.q)));
  cuda::check_launch("cuda.sdpa_memory_efficient", inputs_of(c));
}

}  // namespace tessera::backends::cuda_attention
