// Device helpers for benchmarks (device_run.h): --device parsing, tensor peaks, host-fallback records, kernel
// summaries and the GPU warm-up.
#include "bench/device_run.h"

#include <chrono>

#include <fmt/format.h>

#include "backends/backend.h"
#include "bench/length_sweep.h"
#include "tessera/error.h"

namespace tessera::bench {

// Note [GPU warm-up]: the first shape timed after a process starts reads up to 2x slow on a GPU (clocks still
// ramping up from idle, cuBLASLt heuristics and the caching allocator's pools filling; issue 5). Every CUDA
// benchmark therefore runs untimed work over every model and shape for a few seconds (--gpu-warmup, default 3 s)
// before its first timed row, on top of each row's own warm-up runs; the peers do the same in their process.

Device parse_bench_device(const std::string& text, const std::string& command) {
  bool cuda = text.rfind("cuda", 0) == 0;
  TESSERA_CHECK(text == "cpu" || cuda, "{}: --device must be cpu, cuda or cuda:N, got '{}'", command, text);
  TESSERA_CHECK(!cuda || cuda_is_available(),
                "{}: --device {}: CUDA is not available here: {}. Run with --device cpu, or on a machine with an "
                "NVIDIA GPU with a CUDA build of Tessera (cmake --preset cuda)",
                command, text, cuda_unavailable_reason());
  try {
    return parse_device(text);
  } catch (const Error& e) {
    TESSERA_FAIL("{}: --device {}: {}", command, text, e.what());
  }
}

int warm_up(const std::function<void()>& pass, double min_seconds) {
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  int passes = 0;
  do {
    pass();
    ++passes;
  } while (std::chrono::duration<double>(Clock::now() - start).count() < min_seconds);
  return passes;
}

TensorPeak::TensorPeak(Device d) : device_(d) {
  Allocator& a = device_allocator(d);
  a.reset_peak();
  start_ = a.stats().current;
}

int64_t TensorPeak::peak() const { return device_allocator(device_).stats().peak; }

Json host_fallbacks_json() {
  Json j = Json::object();
  for (const backends::HostFallback& f : backends::host_fallbacks()) j[f.op] = f.count;
  return j;
}

std::string host_fallbacks_text() {
  std::string s;
  for (const backends::HostFallback& f : backends::host_fallbacks())
    s += fmt::format("{}{} x{}", s.empty() ? "" : ", ", f.op, f.count);
  return s;
}

std::string host_fallback_warning(const std::string& what, Device d) {
  std::string ops = host_fallbacks_text();
  if (ops.empty()) return "";
  return fmt::format("warning: {}: ops without a {} kernel ran on the host (Note [Host fallback]: inputs copied to "
                     "the host and back): {}. These timings are not representative of the device.",
                     what, to_string(d), ops);
}

std::string traced_kernels(const std::function<void()>& pass, const std::vector<std::string>& ops) {
  KernelTrace trace;
  pass();
  std::string s;
  for (const std::string& op : ops) {
    std::string k = trace.kernel_of(op);
    if (!k.empty()) s += fmt::format("{}{}: {}", s.empty() ? "" : "; ", op, k);
  }
  return s;
}

}  // namespace tessera::bench
