// Benchmarks on a device, the parts that run anywhere: --device parsing and its errors, device names in reports,
// the fastest-peer ratio, the time-bounded warm-up, tensor peaks, kernel traces, host-fallback records and
// partial reports. No GPU needed (the GPU smoke test is tests/cuda/bench_cuda_test.cpp).
#include <gtest/gtest.h>

#include "error_of.h"

#include <filesystem>
#include <fstream>

#include "backends/backend.h"
#include "bench/device_run.h"
#include "bench/harness.h"
#include "bench/length_sweep.h"
#include "tessera/error.h"
#include "tessera/ops.h"

using tessera::testing::error_of;

using namespace tessera;
using namespace tessera::bench;

namespace {
Row row(std::string key, std::string engine, std::string variant, double median_ms) {
  Row r{.key = std::move(key), .engine = std::move(engine), .variant = std::move(variant)};
  r.latency = summarize({median_ms});
  return r;
}

}  // namespace

TEST(BenchDevice, ParsesCpuAndExplainsAMissingGpu) {
  EXPECT_EQ(parse_bench_device("cpu", "bench x").type, DeviceType::cpu);
  std::string bad = error_of([] { parse_bench_device("tpu", "bench x"); });
  EXPECT_NE(bad.find("bench x: --device must be cpu, cuda or cuda:N, got 'tpu'"), std::string::npos) << bad;
  if (cuda_is_available()) {
    EXPECT_EQ(parse_bench_device("cuda", "bench x").type, DeviceType::cuda);
    std::string range = error_of([] { parse_bench_device("cuda:999", "bench x"); });
    EXPECT_NE(range.find("bench x: --device cuda:999"), std::string::npos) << range;
    return;
  }
  for (const char* d : {"cuda", "cuda:0", "cuda:3"}) {
    std::string e = error_of([&] { parse_bench_device(d, "bench x"); });
    EXPECT_NE(e.find(fmt::format("bench x: --device {}: CUDA is not available here: {}", d, cuda_unavailable_reason())),
              std::string::npos) << e;
  }
}

TEST(BenchDevice, DeviceNamesInReportsAndDefaultPaths) {
  Environment cpu;
  cpu.cores = 2;
  cpu.cpu_model = "AMD EPYC";
  EXPECT_EQ(device_slug(cpu), "cpu-2core");
  EXPECT_NE(device_line(cpu).find("cpu — AMD EPYC (2 cores usable"), std::string::npos) << device_line(cpu);

  Environment gpu = cpu;
  gpu.device = "cuda:0";
  gpu.device_description = "NVIDIA H200 (sm_90, 132 SMs, 140 GiB)";
  EXPECT_EQ(device_slug(gpu), "cuda-nvidia-h200");  // from describe_device when nvidia-smi is absent
  gpu.gpu_name = "NVIDIA H100 80GB HBM3";
  gpu.gpu_smi = "NVIDIA H100 80GB HBM3, 580.1, 345 MHz, 1980 MHz, 81559 MiB";
  EXPECT_EQ(device_slug(gpu), "cuda-nvidia-h100-80gb-hbm3");
  std::string line = device_line(gpu);
  for (const char* s : {"cuda:0 — NVIDIA H200 (sm_90", "nvidia-smi at start: NVIDIA H100 80GB HBM3, 580.1", "host CPU AMD EPYC"})
    EXPECT_NE(line.find(s), std::string::npos) << s << " in " << line;
  gpu.env["CUDA_LAUNCH_BLOCKING"] = "1";
  gpu.build_type = "release (NDEBUG, optimised)";
  ASSERT_EQ(environment_warnings(gpu).size(), 1u);
  EXPECT_NE(environment_warnings(gpu)[0].find("CUDA_LAUNCH_BLOCKING"), std::string::npos);

  Environment here = capture_environment();  // the CPU: no GPU fields
  EXPECT_EQ(here.device, "cpu");
  EXPECT_EQ(here.device_description, "cpu");
  EXPECT_TRUE(here.gpu_name.empty());
  Json j = to_json(here);
  for (const char* k : {"device", "device_description", "gpu_name", "gpu_driver", "gpu_nvidia_smi", "cuda_driver_version"})
    EXPECT_TRUE(j.contains(k)) << k;
}

TEST(BenchDevice, RatioAgainstTheFastestPeerVariantPerKey) {
  std::vector<Row> ours = {row("a", "tessera", "flash", 10), row("b", "tessera", "flash", 10)};
  Peer p{.name = "pytorch"};
  p.rows = {row("a", "pytorch", "eager", 30), row("a", "pytorch", "sdpa+compile:reduce-overhead", 8),
            row("a", "pytorch", "sdpa", 20), row("b", "pytorch", "eager", 15), row("c", "pytorch", "eager", 1)};
  std::vector<Ratio> best = best_peer_ratios(ours, {p});
  ASSERT_EQ(best.size(), 2u);
  EXPECT_EQ(best[0].key, "a");
  EXPECT_EQ(best[0].peer, "pytorch sdpa+compile:reduce-overhead");
  EXPECT_DOUBLE_EQ(best[0].speedup, 0.8);
  EXPECT_EQ(best[1].peer, "pytorch eager");
  EXPECT_DOUBLE_EQ(best[1].speedup, 1.5);
  Report r{.title = "t", .command = "c", .rows = ours, .peers = {p}};
  std::string md = to_markdown(r);
  EXPECT_NE(md.find("## Tessera / fastest peer variant"), std::string::npos);
  EXPECT_NE(md.find("| a | tessera flash | pytorch sdpa+compile:reduce-overhead | 0.80x |"), std::string::npos) << md;
  EXPECT_EQ(to_json(r)["best_peer_ratios"].size(), 2u);
}

TEST(BenchDevice, WarmUpRunsAtLeastOnceAndForTheGivenTime) {
  int calls = 0;
  EXPECT_EQ(warm_up([&] { ++calls; }, 0.0), 1);
  EXPECT_EQ(calls, 1);
  auto t0 = std::chrono::steady_clock::now();
  int n = warm_up([] {}, 0.05);
  EXPECT_GT(n, 1);
  EXPECT_GE(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 0.05);
  calls = 0;
  Stats s = measure([&] { ++calls; }, {.warmup = 1, .warmup_min_s = 0.02, .min_time_s = 0.0, .min_reps = 3});
  EXPECT_EQ(s.reps, 3);
  EXPECT_GT(calls, 4);  // the warm-up ran for 20 ms, far more than once
  EXPECT_EQ(default_gpu_warmup_s(Device{}), 0.0);
  EXPECT_GT(default_gpu_warmup_s(Device{DeviceType::cuda, 0}), 0.0);
}

TEST(BenchDevice, TensorPeakCountsFromItsStart) {
  Tensor held = Tensor::zeros({1024}, DType::f32);  // bytes held before the row (weights)
  TensorPeak peak(Device{});
  {
    Tensor t = Tensor::zeros({256, 1024}, DType::f32);  // 1 MiB of activations
  }
  EXPECT_GE(peak.peak(), (int64_t)(256 * 1024 + 1024) * 4);
  EXPECT_GE(peak.activations(), (int64_t)256 * 1024 * 4);
  EXPECT_LT(peak.activations(), peak.peak());
}

TEST(BenchDevice, KernelTraceNamesTheKernelOrWhyThereIsNone) {
  Tensor x = Tensor::from_values({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  std::string s = traced_kernels([&] { ops::softmax(ops::add(x, x), -1); }, {"add", "softmax", "matmul"});
  const backends::KernelEntry* add = backends::cpu_kernel(ops::OpId::add, std::vector<Tensor>{x, x}, {});
  EXPECT_NE(s.find(fmt::format("add: {}", add ? add->name : "reference")), std::string::npos) << s;
  EXPECT_NE(s.find("softmax: "), std::string::npos) << s;
  EXPECT_EQ(s.find("matmul"), std::string::npos) << "ops that never ran are left out: " << s;
  KernelTrace trace;
  ops::reshape(x, {3, 2});
  EXPECT_EQ(trace.kernel_of("reshape"), "view");
}

TEST(BenchDevice, HostFallbacksAreEmptyOnTheCpu) {
  backends::reset_host_fallbacks();
  Tensor x = Tensor::from_values({4}, std::vector<float>{1, 2, 3, 4});
  ops::gelu(x);
  EXPECT_TRUE(host_fallbacks_json().empty());
  EXPECT_EQ(host_fallbacks_text(), "");
  EXPECT_EQ(host_fallback_warning("k", Device{}), "");
}

TEST(BenchDevice, PartialReportSaysSoAndTheFinalOneReplacesIt) {
  auto dir = std::filesystem::temp_directory_path() / "tessera_bench_partial_test";
  std::filesystem::remove_all(dir);
  Report r{.title = "bench x", .command = "tessera bench x", .rows = {row("a", "tessera", "", 1)}};
  write_partial_report(r, "", "stem");  // no --out: nothing
  EXPECT_FALSE(std::filesystem::exists(dir));
  write_partial_report(r, dir.string(), "stem");
  std::ifstream md(dir / "stem.md");
  std::string text((std::istreambuf_iterator<char>(md)), {});
  EXPECT_NE(text.find("PARTIAL REPORT"), std::string::npos);
  write_report(r, dir, "stem");
  std::ifstream md2(dir / "stem.md");
  std::string final_text((std::istreambuf_iterator<char>(md2)), {});
  EXPECT_EQ(final_text.find("PARTIAL REPORT"), std::string::npos);
  std::filesystem::remove_all(dir);
}
