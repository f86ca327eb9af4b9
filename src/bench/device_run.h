// Benchmarks on a device (cpu or cuda): --device parsing with a clear error, the device allocator's tensor peak
// per row, host-fallback records, a kernel summary of one traced pass, and the time-bounded GPU warm-up.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench/harness.h"
#include "tessera/tensor.h"

namespace tessera::bench {

// "cpu", "cuda", "cuda:N" -> Device. `command` ("bench classify") prefixes errors; without a usable GPU the
// message gives the reason (cuda_unavailable_reason()) and says to use --device cpu.
Device parse_bench_device(const std::string& text, const std::string& command);

// Seconds of untimed work before the first timed row on a GPU (Note [GPU warm-up]); 0 on the CPU.
inline double default_gpu_warmup_s(Device d) { return d.type == DeviceType::cuda ? 3.0 : 0.0; }

// Runs `pass` at least once and until `min_seconds` of wall time have passed; returns the passes run.
int warm_up(const std::function<void()>& pass, double min_seconds);

// Tensor memory of the device's allocator over one row: construction resets the peak and remembers the bytes
// already held (weights, inputs); peak() includes them, activations() is the part above.
class TensorPeak {
 public:
  explicit TensorPeak(Device d);
  int64_t peak() const;
  int64_t activations() const { return peak() - start_; }

 private:
  Device device_;
  int64_t start_ = 0;
};

// Host fallbacks (Note [Host fallback]) counted since backends::reset_host_fallbacks(): {"op": count} and
// "layer_norm x24, softmax x12" ("" when none).
Json host_fallbacks_json();
std::string host_fallbacks_text();

// A warning for the report when ops of a device run fell back to the host, else "".
std::string host_fallback_warning(const std::string& what, Device d);

// Runs `pass` once under a KernelTrace and returns "op: kernel; ..." for the ops in `ops` that ran (in that
// order), e.g. "matmul: cuda.gemm_lt; selective_scan: cuda.selective_scan".
std::string traced_kernels(const std::function<void()>& pass, const std::vector<std::string>& ops);

}  // namespace tessera::bench
