// The `math` backend: attention composed from tessera ops (matmul, add, softmax, masked_fill), so it runs on
// every device and dtype, is recorded by graph capture, and is the reference the other backends are tested on.
#include <cmath>

#include "attention/backends.h"
#include "tessera/ops.h"

namespace tessera::attention::detail {

namespace {
// key_lengths and causal as one additive 0/-inf mask (B|1, 1, Tq|1, Tk), built on the host; undefined when neither.
Tensor structural_mask(const Prepared& p, DType dt) {
  if (!p.key_lengths.defined() && !p.causal) return {};
  int64_t nb = p.key_lengths.defined() ? p.batch : 1, nq = p.causal ? p.q_len : 1, Tk = p.k_len;
  std::vector<float> m((std::size_t)(nb * nq * Tk), 0.0f);
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t i = 0; i < nq; ++i) {
      int64_t end = p.key_lengths.defined() ? p.host_key_lengths()[b] : Tk;
      if (p.causal) end = std::min(end, std::max<int64_t>(i + (Tk - p.q_len) + 1, 0));  // Note [Causal alignment]
      for (int64_t j = end; j < Tk; ++j) m[(b * nq + i) * Tk + j] = -INFINITY;
    }
  return Tensor::from_values({nb, 1, nq, Tk}, m, dt).to(p.q.device());
}

// Note [Fully masked rows]: rows where no key is allowed (key_lengths 0, causal with Tq > Tk, a mask of -inf or
// false) are zeros. Returns a bool (B, H|1, Tq, 1) marking them, or undefined when there are none.
Tensor dead_rows(const Prepared& p) {
  int64_t B = p.batch, Tq = p.q_len, Tk = p.k_len, nh = 1;
  std::vector<float> user;  // the mask's values over its own (non-broadcast) extent
  Shape ext{1, 1, 1, 1};
  Strides ext_strides{0, 0, 0, 0};
  if (p.mask.defined()) {
    for (int d = 0; d < 4; ++d) ext[d] = p.mask.strides()[d] == 0 ? 1 : p.mask.shape()[d];
    nh = ext[1];
    user = p.mask.as_strided(ext, p.mask.strides(), p.mask.offset()).to_float_vector();
    ext_strides = contiguous_strides(ext);
  }
  if (!p.mask.defined() && !p.key_lengths.defined() && !(p.causal && Tq > Tk)) return {};
  bool is_bool = p.mask.defined() && p.mask.dtype() == DType::boolean;
  std::vector<float> dead((std::size_t)(B * nh * Tq), 0.0f);
  bool any = false;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < nh; ++h)
      for (int64_t i = 0; i < Tq; ++i) {
        int64_t end = p.key_lengths.defined() ? p.host_key_lengths()[b] : Tk;
        if (p.causal) end = std::min(end, std::max<int64_t>(i + (Tk - Tq) + 1, 0));
        bool alive = false;
        for (int64_t j = 0; j < end && !alive; ++j) {
          if (user.empty()) {
            alive = true;
            break;
          }
          int64_t at = (ext[0] > 1 ? b * ext_strides[0] : 0) + (ext[1] > 1 ? h * ext_strides[1] : 0) +
                       (ext[2] > 1 ? i * ext_strides[2] : 0) + (ext[3] > 1 ? j * ext_strides[3] : 0);
          float m = user[(std::size_t)at];
          alive = is_bool ? m != 0.0f : m != -INFINITY;
        }
        if (!alive) dead[(std::size_t)((b * nh + h) * Tq + i)] = 1.0f, any = true;
      }
  if (!any) return {};
  return Tensor::from_values({B, nh, Tq, 1}, dead, DType::boolean).to(p.q.device());
}

// skip_padded_queries: rows t >= key_lengths[b] as a bool (B, 1, Tq, 1).
Tensor padded_query_rows(const Prepared& p) {
  std::vector<float> pad((std::size_t)(p.batch * p.q_len), 0.0f);
  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t i = p.host_key_lengths()[b]; i < p.q_len; ++i) pad[(std::size_t)(b * p.q_len + i)] = 1.0f;
  return Tensor::from_values({p.batch, 1, p.q_len, 1}, pad, DType::boolean).to(p.q.device());
}
}  // namespace

Tensor run_math(const Prepared& p) {
  Tensor q = p.scale == 1.0 ? p.q : ops::mul_scalar(p.q, p.scale);
  Tensor scores = ops::matmul(q, ops::transpose(p.k, -1, -2));  // (B, H, Tq, Tk)
  DType dt = scores.dtype();
  if (p.mask.defined() && p.mask.dtype() == DType::boolean)
    scores = ops::where(p.mask, scores, Tensor::full({}, -INFINITY, dt, scores.device()));
  else if (p.mask.defined())
    scores = ops::add(scores, p.mask.dtype() == dt ? p.mask : ops::cast(p.mask, dt));
  if (Tensor s = structural_mask(p, dt); s.defined()) scores = ops::add(scores, s);  // + (B|1, 1, Tq|1, Tk)
  Tensor probs = ops::softmax(scores, -1);
  if (Tensor dead = dead_rows(p); dead.defined()) probs = ops::masked_fill(probs, dead, 0.0);
  Tensor context = ops::matmul(probs, p.v);  // (B, H, Tq, D)
  if (p.skip_padded_queries) context = ops::masked_fill(context, padded_query_rows(p), 0.0);
  if (p.output_bthd) return ops::contiguous(ops::permute(context, {0, 2, 1, 3}));  // (B, Tq, H, D)
  return ops::contiguous(context);
}

}  // namespace tessera::attention::detail
