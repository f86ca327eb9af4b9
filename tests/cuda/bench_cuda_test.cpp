// `tessera bench ... --device cuda` smoke tests on a GPU (label cuda): the tiny fixture models through every bench,
// no peer; the reports name the GPU, the rows were measured on it with CUDA kernels (no host fallbacks), and the
// tensor peaks come from the CUDA allocator.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "models/bench_test_util.h"

namespace tessera::testing {

namespace {
std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

void expect_gpu_environment(const nlohmann::json& env) {
  EXPECT_EQ(env["device"], "cuda:0");
  EXPECT_EQ(env["device_description"], describe_device(Device{DeviceType::cuda, 0}));
  EXPECT_FALSE(env["device_description"].get<std::string>().empty());
}
}  // namespace

TEST(BenchCuda, BertVsMambaOnTheGpuWritesEveryFigure) {
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason();
  BenchModels m;
  std::filesystem::path out = m.path / "report";
  std::string log;
  ASSERT_EQ(run_cli(m.bert_vs_mamba_args(out) + " --device cuda --gpu-warmup 0.2", log), 0) << log;
  nlohmann::json j = read_json(out / "report.json");
  expect_gpu_environment(j["environment"]);
  ASSERT_EQ(j["rows"].size(), 4u);
  std::set<std::pair<std::string, int64_t>> seen;
  for (const auto& r : j["rows"]) {
    const auto& p = r["params"];
    SCOPED_TRACE(r["key"].get<std::string>());
    EXPECT_EQ(p["status"], "ok");
    EXPECT_EQ(p["device"], "cuda:0");
    double acc = p["accuracy"].get<double>();
    EXPECT_GE(acc, 0.0);
    EXPECT_LE(acc, 1.0);
    EXPECT_GT(r["throughput"]["samples/s"].get<double>(), 0.0);
    EXPECT_GT(r["latency_ms"]["median"].get<double>(), 0.0);
    EXPECT_GT(r["tensor_peak_bytes"].get<int64_t>(), 0) << "the CUDA allocator's peak";
    EXPECT_GT(r["rss_peak_bytes"].get<int64_t>(), 0);
    EXPECT_GT(p["host_tensor_peak_bytes"].get<int64_t>(), 0);
    EXPECT_TRUE(p["host_fallbacks"].empty()) << "ops ran on the host: " << p["host_fallbacks"];
    std::string kernels = p["kernels"].get<std::string>();
    EXPECT_NE(kernels.find(p["model"] == "mamba" ? "selective_scan: cuda." : "linear: cuda."), std::string::npos) << kernels;
    EXPECT_EQ(kernels.find("host fallback"), std::string::npos) << kernels;
    seen.insert({p["model"].get<std::string>(), p["max_length"].get<int64_t>()});
  }
  EXPECT_EQ(seen, (std::set<std::pair<std::string, int64_t>>{{"bert", 16}, {"bert", 32}, {"mamba", 16}, {"mamba", 32}}));
  std::string md = read_text(out / "report.md");
  for (const std::string& s : {std::string("- device: cuda:0 — ") + describe_device(Device{DeviceType::cuda, 0}),
                               std::string("GPU warm-up before the first timed row"), std::string("synchronize(device)")})
    EXPECT_NE(md.find(s), std::string::npos) << s;
  EXPECT_EQ(md.find("warning:"), std::string::npos) << "no host-fallback (or other) warning expected:\n" << md;
}

TEST(BenchCuda, ClassifyAndMambaOnTheGpu) {
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason();
  TempDir dir;
  std::string log;
  ASSERT_EQ(run_cli("bench classify --device cuda --dtype f16 --config '" +
                        fixture("models/bert-pipeline-tiny/config.json").string() +
                        "' --shapes 2x16,4x64 --min-time 0 --min-reps 3 --gpu-warmup 0.2 --peer none --out '" +
                        (dir.path / "classify").string() + "'",
                    log), 0) << log;
  ASSERT_EQ(run_cli("bench mamba --device cuda --dtype f16 --config '" + fixture("models/mamba-tiny/config.json").string() +
                        "' --batch-size 2 --seq-len 16,64 --gpu-warmup 0.2 --peer none --out '" + (dir.path / "mamba").string() + "'",
                    log), 0) << log;
  for (const char* bench : {"classify", "mamba"}) {
    SCOPED_TRACE(bench);
    std::vector<std::filesystem::path> jsons;
    for (const auto& e : std::filesystem::directory_iterator(dir.path / bench))
      if (e.path().extension() == ".json") jsons.push_back(e.path());
    ASSERT_EQ(jsons.size(), 1u);
    EXPECT_EQ(jsons[0].filename().string().rfind("cuda-", 0), 0u) << "the default stem names the GPU: " << jsons[0];
    nlohmann::json j = read_json(jsons[0]);
    expect_gpu_environment(j["environment"]);
    ASSERT_EQ(j["rows"].size(), 2u);
    for (const auto& r : j["rows"]) {
      EXPECT_EQ(r["params"]["device"], "cuda:0");
      EXPECT_EQ(r["params"]["dtype"], "f16");
      EXPECT_GT(r["latency_ms"]["median"].get<double>(), 0.0);
      EXPECT_GT(r["tensor_peak_bytes"].get<int64_t>(), 0);
      EXPECT_TRUE(r["params"]["host_fallbacks"].empty()) << r["params"]["host_fallbacks"];
      EXPECT_NE(r["params"]["kernels"].get<std::string>().find("cuda."), std::string::npos) << r["params"]["kernels"];
    }
  }
}

}  // namespace tessera::testing
