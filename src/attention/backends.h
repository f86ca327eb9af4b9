// Internal to src/attention/: the validated call every backend receives, the backends' entry points, and
// the per-backend check lists and selection heuristics (checks.cpp) that sdpa() and sdpa_explain() share.
#pragma once
#include <optional>
#include <vector>

#include "attention/sdpa.h"

namespace tessera::attention::detail {

// A validated call. q (B, H, Tq, D), k/v (B, H, Tk, D) as given (any strides).
struct Prepared {
  Tensor q, k, v;
  Tensor mask;         // undefined, or a 4-D view broadcast to (B, H, Tq, Tk) (stride 0 on broadcast dims)
  Tensor key_lengths;  // undefined, or (B) i32/i64 as given (any device)
  int64_t batch = 0, heads = 0, q_len = 0, k_len = 0, head_dim = 0;
  bool causal = false, output_bthd = false, skip_padded_queries = false;
  double scale = 1.0;
  // key_lengths on the host, clamped to [0, Tk] (read once, on first use).
  const std::vector<int64_t>& host_key_lengths() const;
  mutable std::vector<int64_t> host_key_lengths_;
  mutable bool host_key_lengths_read_ = false;
};
Shape output_shape(const Prepared& p);  // (B, H, Tq, D) or (B, Tq, H, D)
// 16-byte vector loads of rows: the data pointer and every stride but the last (of dims longer than 1) aligned.
bool aligned_16(const Tensor& t);
// Not under graph capture nor reference mode: kernels that bypass the op dispatcher may run.
bool is_eager();

Tensor run_math(const Prepared& p);       // math.cpp: composed from ops (any device)
Tensor run_cpu_flash(const Prepared& p);  // cpu_flash.cpp: flash and varlen on the CPU
Tensor run_cuda(const Prepared& p, Backend backend);  // sdpa.cpp: memory_efficient / flash / varlen on CUDA

// Every failed check of `backend` for this problem (checks.cpp).
std::vector<Check> failed_checks(Backend backend, const SdpaProblem& p);

// Auto selection: the preference order for a device, and each backend's heuristic (DESIGN.md §10: named,
// with a reason). A heuristic runs only for a backend whose checks passed.
struct Verdict {
  bool take = true;
  std::string reason;
};
std::vector<Backend> preference_order(const SdpaProblem& p);
Verdict heuristic(Backend backend, const SdpaProblem& p);

}  // namespace tessera::attention::detail
