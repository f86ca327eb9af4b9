// sdpa_varlen: attention over packed variable-length sequences (total, H, D) + cu_seqlens offsets. On CUDA
// the flash kernel reads every sequence in place by its offsets; otherwise each sequence is a view run by sdpa().
#include <cmath>

#include "attention/backends.h"
#include "backends/cuda_attention.h"
#include "tessera/ops.h"

namespace tessera::attention {

namespace {
std::vector<int64_t> read_offsets(const Tensor& cu, int64_t total, const char* name) {
  TESSERA_CHECK(cu.defined() && cu.dim() == 1 && cu.size(0) >= 1 && (cu.dtype() == DType::i32 || cu.dtype() == DType::i64),
                "sdpa_varlen: {} must be (B + 1) i32/i64 offsets, got {}", name,
                cu.defined() ? fmt::format("{} {}", dtype_name(cu.dtype()), shape_str(cu.shape())) : "nothing");
  std::vector<int64_t> o = cu.to_int_vector();
  TESSERA_CHECK(o.front() == 0 && o.back() == total, "sdpa_varlen: {} must run from 0 to {} (the packed rows), got {} .. {}",
                name, total, o.front(), o.back());
  for (std::size_t i = 1; i < o.size(); ++i)
    TESSERA_CHECK(o[i] >= o[i - 1], "sdpa_varlen: {} must be non-decreasing, got {} then {}", name, o[i - 1], o[i]);
  return o;
}

// Sequence rows [begin, end) of a packed (total, H, D) tensor as a (1, H, L, D) view.
Tensor sequence_view(const Tensor& x, int64_t begin, int64_t end) {
  return ops::unsqueeze(ops::permute(ops::slice(x, 0, begin, end), {1, 0, 2}), 0);
}
}  // namespace

Tensor sdpa_varlen(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cu_seqlens_q, const Tensor& cu_seqlens_k,
                   const VarlenOptions& o) {
  TESSERA_CHECK(q.defined() && k.defined() && v.defined() && q.dim() == 3 && k.dim() == 3 && v.dim() == 3,
                "sdpa_varlen: q, k, v must be packed (total, H, D) tensors");
  const int64_t H = q.size(1), D = q.size(2);
  TESSERA_CHECK(k.size(1) == H && v.size(1) == H && k.size(2) == D && v.size(2) == D && v.size(0) == k.size(0),
                "sdpa_varlen: q {}, k {}, v {} must share H and D, and k/v their rows", shape_str(q.shape()),
                shape_str(k.shape()), shape_str(v.shape()));
  TESSERA_CHECK(k.dtype() == q.dtype() && v.dtype() == q.dtype() && dtype_is_floating(q.dtype()) &&
                    k.device() == q.device() && v.device() == q.device(),
                "sdpa_varlen: q, k, v need one floating dtype and one device");
  std::vector<int64_t> cq = read_offsets(cu_seqlens_q, q.size(0), "cu_seqlens_q");
  std::vector<int64_t> ck = read_offsets(cu_seqlens_k, k.size(0), "cu_seqlens_k");
  TESSERA_CHECK(cq.size() == ck.size(), "sdpa_varlen: cu_seqlens_q has {} entries, cu_seqlens_k {}", cq.size(), ck.size());
  const int64_t B = (int64_t)cq.size() - 1;
  const double scale = o.scale.value_or(1.0 / std::sqrt((double)std::max<int64_t>(D, 1)));
  int64_t max_q = 0, max_k = 0;
  for (int64_t b = 0; b < B; ++b) max_q = std::max(max_q, cq[b + 1] - cq[b]), max_k = std::max(max_k, ck[b + 1] - ck[b]);

  // The packed kernel: CUDA, and the flash kernel's checks (dtype, head dim, arch, 16-byte rows).
  SdpaProblem p{.batch = B, .heads = H, .q_len = max_q, .k_len = max_k, .head_dim = D, .dtype = q.dtype(),
                .device = q.device(), .causal = o.causal};
  for (const Tensor* t : {&q, &k, &v}) {
    p.last_dim_contiguous = p.last_dim_contiguous && (D <= 1 || t->strides()[2] == 1);
    p.aligned_16 = p.aligned_16 && detail::aligned_16(*t);
  }
  p.eager = detail::is_eager();
  bool packed_ok = q.device().type == DeviceType::cuda && detail::failed_checks(Backend::flash, p).empty();
  if (o.backend == Backend::varlen) {
    std::string why;
    for (const Check& c : detail::failed_checks(Backend::flash, p))
      why += fmt::format("\n  {}: expected {}, got {}", c.id, c.expected, c.got);
    TESSERA_CHECK(packed_ok, "sdpa_varlen: backend 'varlen' (the packed CUDA kernel) was forced but cannot run {}:{}{}",
                  p.summary(), q.device().type == DeviceType::cuda ? "" : "\n  device: expected cuda, got cpu", why);
  }
  if (packed_ok && (o.backend == Backend::automatic || o.backend == Backend::varlen)) {
    namespace ca = backends::cuda_attention;
    auto offsets = [&](const std::vector<int64_t>& c) {  // (B + 1) i32 on the device
      return ops::cast(Tensor::from_values({(int64_t)c.size()}, c), DType::i32).to(q.device());
    };
    ca::Call c{.q = q, .k = k, .v = v, .out = Tensor::empty({q.size(0), H, D}, q.dtype(), q.device())};
    c.cu_seqlens_q = offsets(cq), c.cu_seqlens_k = offsets(ck);
    c.batch = B, c.max_seqlen_q = max_q, c.causal = o.causal, c.scale = scale;
    if (q.size(0) > 0) ca::flash(c);
    if (o.ran) *o.ran = Backend::varlen;
    return c.out;
  }
  // Per sequence: views into the packed rows, each through sdpa() (any device, backend or dtype).
  std::vector<Tensor> parts;
  for (int64_t b = 0; b < B; ++b) {
    if (cq[b + 1] == cq[b]) continue;
    SdpaOptions so{.causal = o.causal, .scale = scale, .backend = o.backend, .output_bthd = true, .ran = o.ran};
    Tensor y = sdpa(sequence_view(q, cq[b], cq[b + 1]), sequence_view(k, ck[b], ck[b + 1]),
                    sequence_view(v, ck[b], ck[b + 1]), so);  // (1, L, H, D)
    parts.push_back(ops::squeeze(y, 0));
  }
  if (parts.empty()) return Tensor::zeros({q.size(0), H, D}, q.dtype(), q.device());
  return parts.size() == 1 ? ops::contiguous(parts[0]) : ops::concat(parts, 0);
}

}  // namespace tessera::attention
