// Per-op time breakdown: the observer charges the time since the previous top-level op to the current one,
// so host glue between ops is included in the next op (small next to GEMMs; views cost ~nothing). On a GPU each
// op's device work is drained first (synchronize), so an op's time is its launch plus its GPU run, serialised.
#include "bench/op_profile.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace tessera::bench {

OpProfile::OpProfile() : last_(Clock::now()), previous_(ops::set_op_observer(this)) {}
OpProfile::~OpProfile() { ops::set_op_observer(previous_); }

void OpProfile::on_op(ops::OpId id, ops::Inputs in, const ops::Attrs& a, const Tensor& out) {
  if (out.defined() && out.device().type != DeviceType::cpu) synchronize(out.device());
  auto now = Clock::now();
  const ops::OpDef& def = ops::op_def(id);
  std::string key = fmt::format("{} -> {} {}", def.name, shape_str(out.shape()), dtype_name(out.dtype()));
  Entry& e = pass_[key];
  e.ms += std::chrono::duration<double, std::milli>(now - last_).count();
  e.calls += 1;
  if (def.cost) {
    std::vector<TensorMeta> metas;
    for (const Tensor& t : in) metas.push_back(t.meta());
    e.flops += def.cost(metas, a, out.meta()).flops;
  }
  last_ = Clock::now();  // the observer's own time is not charged to the next op
}

void OpProfile::end_pass() {
  for (const auto& [k, e] : pass_) {
    auto it = entries_.find(k);
    if (passes_ == 0 || it == entries_.end()) entries_[k] = e;
    else it->second.ms = std::min(it->second.ms, e.ms);
  }
  pass_.clear();
  ++passes_;
}

namespace {
std::vector<std::pair<std::string, OpProfile::Entry>> sorted(const std::map<std::string, OpProfile::Entry>& m) {
  std::vector<std::pair<std::string, OpProfile::Entry>> v(m.begin(), m.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
  return v;
}
}  // namespace

std::string OpProfile::to_markdown() const {
  const int iterations = 1;
  double total = 0;
  for (const auto& [k, e] : entries_) total += e.ms;
  int it = std::max(iterations, 1);
  std::string md = fmt::format("| op -> output | ms/iter | % | calls/iter | GFLOP/s |\n|---|--:|--:|--:|--:|\n");
  for (const auto& [k, e] : sorted(entries_)) {
    if (e.ms / it < 0.05 && e.ms < total * 0.001) continue;
    std::string gf = e.flops > 0 && e.ms > 0 ? fmt::format("{:.1f}", e.flops / (e.ms * 1e6)) : "";
    md += fmt::format("| `{}` | {:.2f} | {:.1f} | {} | {} |\n", k, e.ms / it, total > 0 ? 100 * e.ms / total : 0.0,
                      e.calls / it, gf);
  }
  md += fmt::format("| total | {:.2f} | 100 | | |\n\nMinimum per op over {} passes; the time since the previous op is "
                    "charged to each op (sdpa's fused attention kernels are not ops: their time lands on the op after them).\n", total / it, passes_);
  return md;
}

Json OpProfile::to_json() const {
  const int iterations = 1;
  Json arr = Json::array();
  int it = std::max(iterations, 1);
  for (const auto& [k, e] : sorted(entries_))
    arr.push_back(Json{{"op", k}, {"ms_per_iter", e.ms / it}, {"calls_per_iter", e.calls / it}, {"flops_per_iter", e.flops / it}});
  return arr;
}

}  // namespace tessera::bench
