// Length-sweep helpers (length_sweep.h): peak RSS reset, crossover interpolation, kernel trace.
#include "bench/length_sweep.h"

#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include "backends/backend.h"

namespace tessera::bench {

bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  if (!f) return false;
  f << "5";
  f.flush();
  return (bool)f;
}

Crossover crossover(const std::vector<double>& x, const std::vector<double>& a, const std::vector<double>& b) {
  // The smallest measured length from which b stays ahead at every longer measured length (rows without data,
  // e.g. skipped ones, are ignored); a lead at one short length that is lost again is not a crossover.
  Crossover c;
  std::vector<std::size_t> valid;
  for (std::size_t i = 0; i < std::min({x.size(), a.size(), b.size()}); ++i)
    if (a[i] > 0 && b[i] > 0) valid.push_back(i);
  std::size_t first = valid.size();
  while (first > 0 && b[valid[first - 1]] > a[valid[first - 1]]) --first;
  if (first == valid.size()) return c;
  std::size_t i = valid[first];
  if (first == 0) {
    c.kind = Crossover::Kind::before_first;
    c.x = x[i];
    return c;
  }
  // log(b/a) goes from <= 0 at the previous valid length to > 0 at x[i]: interpolate its zero in log(x).
  std::size_t h = valid[first - 1];
  double r0 = std::log(b[h] / a[h]), r1 = std::log(b[i] / a[i]);
  double t = r1 == r0 ? 1.0 : -r0 / (r1 - r0);
  c.kind = Crossover::Kind::between;
  c.x = std::exp(std::log(x[h]) + t * (std::log(x[i]) - std::log(x[h])));
  return c;
}

std::string Crossover::describe(const std::string& b_name, const std::string& a_name, const std::string& unit) const {
  switch (kind) {
    case Kind::none: return fmt::format("{} is not ahead of {} at the longest measured length: no crossover", b_name, a_name);
    case Kind::before_first: return fmt::format("{} is ahead of {} at every measured length (from {:g} {})", b_name, a_name, x, unit);
    case Kind::between: return fmt::format("{} overtakes {} at ≈ {:.0f} {} (interpolated in log length)", b_name, a_name, x, unit);
  }
  return "";
}

KernelTrace::KernelTrace() : previous_(ops::set_op_observer(this)) {}
KernelTrace::~KernelTrace() { ops::set_op_observer(previous_); }

void KernelTrace::on_op(ops::OpId id, ops::Inputs in, const ops::Attrs& a, const Tensor& out) {
  // The same choice as the eager dispatcher (src/eager/dispatch.cpp): the inputs' device kernel, else the op's
  // decomposition, else its reference (on the host for device tensors: a host fallback).
  Device device = in.empty() ? out.device() : in[0].device();
  const ops::OpDef& def = ops::op_def(id);
  const backends::KernelEntry* k = def.kind == ops::OpKind::view ? nullptr : backends::device_kernel(device, id, in, a);
  std::string name = k                                  ? std::string(k->name)
                     : def.kind == ops::OpKind::view    ? "view"
                     : def.decompose                    ? "decomposed"
                     : device.type != DeviceType::cpu   ? "host fallback"
                                                        : "reference";
  kernels_[std::string(ops::op_name(id))].insert(name);
}

std::string KernelTrace::kernel_of(const std::string& op) const {
  auto it = kernels_.find(op);
  if (it == kernels_.end()) return "";
  std::string s;
  for (const std::string& k : it->second) s += (s.empty() ? "" : "+") + k;
  return s;
}

std::string KernelTrace::summary() const {
  std::string s;
  for (const auto& [op, ks] : kernels_) s += fmt::format("{}{}: {}", s.empty() ? "" : "; ", op, kernel_of(op));
  return s;
}

}  // namespace tessera::bench
