// sdpa_explain: the problem description of a call, every backend's failed checks, the automatic (or forced)
// choice with the heuristic that made it, as structured data (JSON) and as text.
#include <cmath>

#include "attention/backends.h"
#include "ops/op.h"

namespace tessera::attention {

namespace {
struct BackendInfo {
  Backend backend;
  std::string_view name, description;
};
constexpr BackendInfo kBackends[] = {
#define TESSERA_SDPA_BACKEND_INFO(name, doc) {Backend::name, #name, doc},
    TESSERA_SDPA_BACKENDS(TESSERA_SDPA_BACKEND_INFO)
#undef TESSERA_SDPA_BACKEND_INFO
};

std::string_view mask_kind_name(MaskKind m) {
  return m == MaskKind::additive ? "additive" : m == MaskKind::boolean ? "boolean" : "none";
}

bool is_capturing() {
  ops::OpObserver* observer = ops::set_op_observer(nullptr);
  ops::set_op_observer(observer);
  return observer != nullptr && observer->records_graph();
}

}  // namespace

namespace detail {
bool aligned_16(const Tensor& t) {
  int64_t per16 = 16 / (int64_t)dtype_size(t.dtype());
  if (reinterpret_cast<uintptr_t>(t.raw_data()) % 16 != 0) return false;
  for (int64_t d = 0; d + 1 < t.dim(); ++d)
    if (t.shape()[d] > 1 && t.strides()[d] % per16 != 0) return false;
  return true;
}
bool is_eager() { return ops::exec_mode() == ops::ExecMode::fast && !is_capturing(); }
}  // namespace detail

std::string_view backend_name(Backend b) {
  if (b == Backend::automatic) return "auto";
  for (const BackendInfo& i : kBackends)
    if (i.backend == b) return i.name;
  return "?";
}

std::string_view backend_description(Backend b) {
  if (b == Backend::automatic) return "the first backend whose checks pass and whose heuristic agrees";
  for (const BackendInfo& i : kBackends)
    if (i.backend == b) return i.description;
  return "?";
}

std::optional<Backend> backend_from_name(std::string_view name) {
  if (name == "auto" || name == "automatic") return Backend::automatic;
  for (const BackendInfo& i : kBackends)
    if (i.name == name) return i.backend;
  return std::nullopt;
}

std::vector<Backend> all_backends() {
  std::vector<Backend> all;
  for (const BackendInfo& i : kBackends) all.push_back(i.backend);
  return all;
}

std::string SdpaProblem::summary() const {
  std::string s = fmt::format("q ({}, {}, {}, {}) {} on {}, k/v Tk {}", batch, heads, q_len, head_dim, dtype_name(dtype),
                              to_string(device), k_len);
  std::string masks = mask == MaskKind::none ? "" : fmt::format("{} mask", mask_kind_name(mask));
  if (key_lengths) masks.append(masks.empty() ? "key_lengths" : " + key_lengths");
  if (causal) masks.append(masks.empty() ? "causal" : " + causal");
  s.append(masks.empty() ? ", no mask" : ", " + masks);
  if (skip_padded_queries) s += ", skip_padded_queries";
  if (!last_dim_contiguous) s += ", strided head dim";
  if (!aligned_16) s += ", unaligned rows";
  if (!eager) s += ", under capture/reference mode";
  return s;
}

SdpaProblem describe(const Tensor& q, const Tensor& k, const Tensor& v, const SdpaOptions& o) {
  SdpaProblem p;
  p.batch = q.size(0), p.heads = q.size(1), p.q_len = q.size(2), p.k_len = k.size(2), p.head_dim = q.size(3);
  p.dtype = q.dtype();
  p.device = q.device();
  p.mask = !o.mask.defined() ? MaskKind::none : o.mask.dtype() == DType::boolean ? MaskKind::boolean : MaskKind::additive;
  if (o.mask.defined()) p.mask_dtype = o.mask.dtype();
  p.key_lengths = o.key_lengths.defined();
  p.causal = o.causal;
  p.skip_padded_queries = o.skip_padded_queries;
  p.output_bthd = o.output_bthd;
  p.last_dim_contiguous = true;
  p.aligned_16 = true;
  for (const Tensor* t : {&q, &k, &v}) {
    p.last_dim_contiguous = p.last_dim_contiguous && (t->size(3) <= 1 || t->strides()[3] == 1);
    p.aligned_16 = p.aligned_16 && detail::aligned_16(*t);
  }
  p.eager = detail::is_eager();
  return p;
}

Explanation sdpa_explain(const SdpaProblem& problem, Backend requested) {
  Explanation e;
  e.problem = problem;
  e.requested = requested;
  for (Backend b : all_backends()) e.backends.push_back({b, detail::failed_checks(b, problem), ""});
  auto report = [&](Backend b) -> BackendReport& {
    for (BackendReport& r : e.backends)
      if (r.backend == b) return r;
    TESSERA_ASSERT(false, "no report for {}", backend_name(b));
    return e.backends[0];
  };
  if (requested != Backend::automatic) {
    e.chosen = requested;
    e.reason = report(requested).ok() ? "forced by the caller" : "forced by the caller, but its checks failed (refused)";
    return e;
  }
  for (Backend b : detail::preference_order(problem)) {
    BackendReport& r = report(b);
    if (!r.ok()) continue;
    detail::Verdict v = detail::heuristic(b, problem);
    if (v.take) {
      e.chosen = b;
      e.reason = v.reason;
      return e;
    }
    r.heuristic = v.reason;
  }
  e.chosen = Backend::math;
  e.reason = "math: the reference, runs every call";
  return e;
}

std::string Explanation::to_string() const {
  std::string s = fmt::format("sdpa: {}\n", problem.summary());
  s += fmt::format("chosen: {} ({}{})\n", backend_name(chosen), requested == Backend::automatic ? "auto: " : "", reason);
  for (const BackendReport& r : backends) {
    std::string status = r.ok() ? (r.backend == chosen ? "ok, chosen" : "ok") : "refused";
    s += fmt::format("  {:<17} {}\n", backend_name(r.backend), status);
    for (const Check& c : r.failed) s += fmt::format("      {}: expected {}, got {}\n", c.id, c.expected, c.got);
    if (r.ok() && !r.heuristic.empty()) s += fmt::format("      passed over by {}\n", r.heuristic);
  }
  return s;
}

nlohmann::json Explanation::to_json() const {
  nlohmann::json bs = nlohmann::json::array();
  for (const BackendReport& r : backends) {
    nlohmann::json failed = nlohmann::json::array();
    for (const Check& c : r.failed) failed.push_back({{"id", c.id}, {"expected", c.expected}, {"got", c.got}});
    nlohmann::json b{{"backend", backend_name(r.backend)}, {"ok", r.ok()}, {"failed_checks", failed},
                     {"description", backend_description(r.backend)}};
    if (!r.heuristic.empty()) b["passed_over_by"] = r.heuristic;
    bs.push_back(b);
  }
  const SdpaProblem& p = problem;
  nlohmann::json pj{{"batch", p.batch}, {"heads", p.heads}, {"q_len", p.q_len}, {"k_len", p.k_len},
                    {"head_dim", p.head_dim}, {"dtype", dtype_name(p.dtype)}, {"device", tessera::to_string(p.device)},
                    {"mask", mask_kind_name(p.mask)}, {"key_lengths", p.key_lengths}, {"causal", p.causal},
                    {"skip_padded_queries", p.skip_padded_queries}, {"output_bthd", p.output_bthd},
                    {"last_dim_contiguous", p.last_dim_contiguous}, {"aligned_16", p.aligned_16}, {"eager", p.eager}};
  return {{"problem", pj},
          {"requested", backend_name(requested)},
          {"chosen", backend_name(chosen)},
          {"reason", reason},
          {"backends", bs}};
}

}  // namespace tessera::attention
