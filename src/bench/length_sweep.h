// Helpers for benchmarks that sweep a length: per-row peak RSS (reset through /proc/self/clear_refs), the
// crossover length where one series overtakes another, and a trace of which kernel ran for each op.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ops/op.h"

namespace tessera::bench {

// Resets the process's peak RSS (VmHWM) to its current RSS (Linux: "5" > /proc/self/clear_refs), so the
// next process_peak_rss_bytes() is the peak since now. False when the kernel refuses (the peak is cumulative).
bool reset_peak_rss();

// Where series b overtakes series a for good (b > a from there to the longest x), both sampled at the same
// ascending x (the lengths); values <= 0 mean "no data". The crossing is interpolated linearly in log(x) on log(b/a).
struct Crossover {
  enum class Kind { none, before_first, between } kind = Kind::none;
  double x = 0;  // interpolated crossing (between), or the first x (before_first)
  std::string describe(const std::string& b_name, const std::string& a_name, const std::string& unit) const;
};
Crossover crossover(const std::vector<double>& x, const std::vector<double>& a, const std::vector<double>& b);

// An op observer that records, per op name, which kernel each call dispatches to on its inputs' device
// ("cpu.softmax_lastdim_f32", "cuda.selective_scan"), or "decomposed" (no kernel: the op's decomposition ran),
// "reference" (CPU naive loop), "host fallback" (device inputs, reference on the host), "view". Only top-level
// ops are seen (not those inside a decomposition). Installs itself for its lifetime (this thread).
class KernelTrace final : public ops::OpObserver {
 public:
  KernelTrace();
  ~KernelTrace() override;
  KernelTrace(const KernelTrace&) = delete;
  KernelTrace& operator=(const KernelTrace&) = delete;
  void on_op(ops::OpId id, ops::Inputs in, const ops::Attrs& a, const Tensor& out) override;
  bool records_graph() const override { return false; }  // watches an eager run: sdpa keeps its fused backends
  const std::map<std::string, std::set<std::string>>& kernels() const { return kernels_; }
  std::string kernel_of(const std::string& op) const;  // "cpu.selective_scan", "reference", "" if the op never ran
  std::string summary() const;                         // "matmul: cpu.gemm_f32; softmax: reference; ..."

 private:
  std::map<std::string, std::set<std::string>> kernels_;
  ops::OpObserver* previous_ = nullptr;
};

}  // namespace tessera::bench
