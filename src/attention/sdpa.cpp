// sdpa(): validates the call, picks the backend (sdpa_explain's rule, or the forced one: refused with every
// failed check listed), runs it; the CUDA kernels' argument set-up; and TESSERA_SDPA_LOG-style logging.
#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <set>

#include "attention/backends.h"
#include "backends/cuda_attention.h"
#include "tessera/ops.h"

namespace tessera::attention {

namespace {
std::atomic<bool> g_logging{false};

detail::Prepared prepare(const Tensor& q, const Tensor& k, const Tensor& v, const SdpaOptions& o) {
  TESSERA_CHECK(q.defined() && k.defined() && v.defined(), "sdpa: q, k and v must all be defined tensors");
  TESSERA_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "sdpa: q, k, v must be (B, H, T, D), got q {}, k {}, v {}",
                shape_str(q.shape()), shape_str(k.shape()), shape_str(v.shape()));
  detail::Prepared p;
  p.batch = q.size(0), p.heads = q.size(1), p.q_len = q.size(2), p.head_dim = q.size(3), p.k_len = k.size(2);
  TESSERA_CHECK(k.size(0) == p.batch && v.size(0) == p.batch && k.size(1) == p.heads && v.size(1) == p.heads,
                "sdpa: q {}, k {}, v {} must share batch and heads (B, H); grouped-query k/v: expand them to H heads",
                shape_str(q.shape()), shape_str(k.shape()), shape_str(v.shape()));
  TESSERA_CHECK(k.size(3) == p.head_dim && v.size(3) == p.head_dim && v.size(2) == p.k_len,
                "sdpa: k {} and v {} must be (B, H, Tk, D) with q's head dim D = {}", shape_str(k.shape()),
                shape_str(v.shape()), p.head_dim);
  TESSERA_CHECK(k.dtype() == q.dtype() && v.dtype() == q.dtype() && dtype_is_floating(q.dtype()),
                "sdpa: q, k, v need one floating dtype, got {}, {}, {}", dtype_name(q.dtype()), dtype_name(k.dtype()),
                dtype_name(v.dtype()));
  TESSERA_CHECK(k.device() == q.device() && v.device() == q.device(), "sdpa: q, k, v are on different devices ({}, {}, {})",
                to_string(q.device()), to_string(k.device()), to_string(v.device()));
  p.q = q, p.k = k, p.v = v;
  if (o.mask.defined()) {
    const Tensor& m = o.mask;
    TESSERA_CHECK(m.dtype() == DType::boolean || dtype_is_floating(m.dtype()),
                  "sdpa: mask must be floating (added to the scores) or bool (true = attend), got {}", dtype_name(m.dtype()));
    TESSERA_CHECK(m.device() == q.device(), "sdpa: mask is on {}, q on {}", to_string(m.device()), to_string(q.device()));
    Shape full{p.batch, p.heads, p.q_len, p.k_len};
    bool ok = m.dim() <= 4;
    for (int64_t i = 0; ok && i < m.dim(); ++i) {
      int64_t s = m.shape()[m.dim() - 1 - i];
      ok = s == 1 || s == full[3 - i];
    }
    TESSERA_CHECK(ok, "sdpa: mask {} does not broadcast to (B, H, Tq, Tk) = {}", shape_str(m.shape()), shape_str(full));
    p.mask = ops::expand(m, full);
  }
  if (o.key_lengths.defined()) {
    const Tensor& kl = o.key_lengths;
    TESSERA_CHECK(kl.dim() == 1 && kl.size(0) == p.batch && (kl.dtype() == DType::i32 || kl.dtype() == DType::i64),
                  "sdpa: key_lengths must be (B) = ({}) i32/i64, got {} {}", p.batch, dtype_name(kl.dtype()),
                  shape_str(kl.shape()));
    p.key_lengths = kl;
  }
  TESSERA_CHECK(!o.skip_padded_queries || (o.key_lengths.defined() && p.q_len == p.k_len),
                "sdpa: skip_padded_queries needs key_lengths and self-attention (Tq == Tk), got Tq {}, Tk {}{}", p.q_len,
                p.k_len, o.key_lengths.defined() ? "" : " and no key_lengths");
  p.scale = o.scale.value_or(1.0 / std::sqrt((double)std::max<int64_t>(p.head_dim, 1)));
  TESSERA_CHECK(std::isfinite(p.scale), "sdpa: scale must be finite, got {}", p.scale);
  p.causal = o.causal;
  p.output_bthd = o.output_bthd;
  p.skip_padded_queries = o.skip_padded_queries;
  return p;
}

std::string refusal(const Explanation& e) {
  std::string why, ok;
  for (const BackendReport& r : e.backends) {
    if (r.backend == e.chosen)
      for (const Check& c : r.failed) why += fmt::format("\n  {}: expected {}, got {}", c.id, c.expected, c.got);
    if (r.ok()) ok += fmt::format("{}{}", ok.empty() ? "" : ", ", backend_name(r.backend));
  }
  return fmt::format("sdpa: backend '{}' was forced but cannot run {}:{}\nBackends that can: {} (or backend=auto).",
                     backend_name(e.chosen), e.problem.summary(), why, ok.empty() ? "none" : ok);
}

// The decision for a problem is a pure function of it: cache the last few so the per-call cost is a compare.
const Explanation& explain_cached(const SdpaProblem& problem, Backend requested) {
  thread_local std::vector<Explanation> cache;
  for (const Explanation& e : cache)
    if (e.problem == problem && e.requested == requested) return e;
  if (cache.size() >= 32) cache.erase(cache.begin());
  cache.push_back(sdpa_explain(problem, requested));
  return cache.back();
}

void log_once(const Explanation& e) {
  static std::mutex mutex;
  static std::set<std::string> seen;
  std::string text = e.to_string();
  std::lock_guard lock(mutex);
  if (seen.insert(text).second) std::fprintf(stderr, "%s", text.c_str());
}
}  // namespace

namespace detail {
const std::vector<int64_t>& Prepared::host_key_lengths() const {
  if (!host_key_lengths_read_) {
    host_key_lengths_ = key_lengths.to_int_vector();
    for (int64_t& n : host_key_lengths_) {
      TESSERA_CHECK(n >= 0, "sdpa: key_lengths must be >= 0, got {}", n);
      n = std::min(n, k_len);
    }
    host_key_lengths_read_ = true;
  }
  return host_key_lengths_;
}

Shape output_shape(const Prepared& p) {
  return p.output_bthd ? Shape{p.batch, p.q_len, p.heads, p.head_dim} : Shape{p.batch, p.heads, p.q_len, p.head_dim};
}

Tensor run_cuda(const Prepared& p, Backend backend) {
  namespace ca = backends::cuda_attention;
  ca::Call c;
  c.q = p.q, c.k = p.k, c.v = p.v;
  c.out = Tensor::empty(output_shape(p), p.q.dtype(), p.q.device());
  c.out_bthd = p.output_bthd;
  c.causal = p.causal;
  c.scale = p.scale;
  if (p.key_lengths.defined()) c.key_lengths = p.key_lengths.to(p.q.device());
  if (p.skip_padded_queries) c.query_lengths = c.key_lengths;
  if (backend == Backend::memory_efficient) {
    c.mask = p.mask;
    ca::memory_efficient(c);
  } else {
    ca::flash(c);
  }
  return c.out;
}
}  // namespace detail

Tensor sdpa(const Tensor& q, const Tensor& k, const Tensor& v, const SdpaOptions& options) {
  detail::Prepared p = prepare(q, k, v, options);
  const Explanation& e = explain_cached(describe(q, k, v, options), options.backend);
  if (g_logging.load(std::memory_order_relaxed)) log_once(e);
  const BackendReport* chosen = nullptr;
  for (const BackendReport& r : e.backends)
    if (r.backend == e.chosen) chosen = &r;
  TESSERA_CHECK(chosen && chosen->ok(), "{}", refusal(e));
  if (options.ran) *options.ran = e.chosen;
  if (p.batch * p.heads * p.q_len * p.head_dim == 0 || p.k_len == 0)  // nothing to attend: zeros (Note [Fully masked rows])
    return Tensor::zeros(detail::output_shape(p), q.dtype(), q.device());
  switch (e.chosen) {
    case Backend::math: return detail::run_math(p);
    case Backend::flash:
    case Backend::varlen:
      return q.device().type == DeviceType::cpu ? detail::run_cpu_flash(p) : detail::run_cuda(p, e.chosen);
    case Backend::memory_efficient: return detail::run_cuda(p, e.chosen);
    case Backend::flash_hopper:
    case Backend::automatic: break;
  }
  TESSERA_ASSERT(false, "sdpa: backend {} chosen but has no implementation", backend_name(e.chosen));
  return {};
}

Explanation sdpa_explain(const Tensor& q, const Tensor& k, const Tensor& v, const SdpaOptions& options) {
  prepare(q, k, v, options);  // the same user-facing checks as sdpa()
  return sdpa_explain(describe(q, k, v, options), options.backend);
}

void set_sdpa_logging(bool on) { g_logging.store(on); }
bool sdpa_logging() { return g_logging.load(); }

}  // namespace tessera::attention
