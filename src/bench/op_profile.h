// Per-op time breakdown for benchmarks (`--profile`): an op observer that charges the wall time since the
// previous top-level op to the op just finished, grouped by op name and output shape. On a GPU it synchronises
// after every op (the breakdown is serialised: the sum exceeds an unprofiled pass).
#pragma once
#include <chrono>
#include <map>
#include <string>

#include "bench/harness.h"
#include "ops/op.h"

namespace tessera::bench {

class OpProfile final : public ops::OpObserver {
 public:
  struct Entry {
    double ms = 0;
    int64_t calls = 0;
    double flops = 0;
  };

  // Installs itself as this thread's op observer until destroyed; timing starts now.
  OpProfile();
  ~OpProfile() override;
  OpProfile(const OpProfile&) = delete;
  OpProfile& operator=(const OpProfile&) = delete;

  void on_op(ops::OpId id, ops::Inputs in, const ops::Attrs& a, const Tensor& out) override;
  bool records_graph() const override { return false; }  // watches an eager run: sdpa keeps its fused backends
  void restart_clock() { last_ = Clock::now(); }  // call before each timed forward
  // Ends one pass: each op's time becomes the minimum over passes so far (robust to other load on the host).
  void end_pass();

  const std::map<std::string, Entry>& entries() const { return entries_; }
  // Markdown table, largest first; times are per pass (minimum over passes).
  std::string to_markdown() const;
  Json to_json() const;

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point last_;
  std::map<std::string, Entry> entries_;  // min over finished passes
  std::map<std::string, Entry> pass_;     // the current pass
  int passes_ = 0;
  ops::OpObserver* previous_ = nullptr;
};

}  // namespace tessera::bench
