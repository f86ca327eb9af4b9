// `tessera bench bert-vs-mamba` smoke test on the tiny fixture classifiers (a few samples, lengths 16 and 32,
// no peer): every report file exists and every field is present and sane; plus the crossover helper.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "bench/length_sweep.h"
#include "models/bench_test_util.h"

namespace tessera::testing {

TEST(BenchBertVsMamba, SmokeOnTinyFixturesWritesEveryFigure) {
  BenchModels m;
  std::filesystem::path out = m.path / "report";
  std::string log;
  ASSERT_EQ(run_cli(m.bert_vs_mamba_args(out), log), 0) << log;
  for (const char* f : {"report.md", "report.json", "throughput.svg", "memory.svg"})
    EXPECT_TRUE(std::filesystem::exists(out / f)) << f;
  std::ifstream svg(out / "throughput.svg");
  std::string svg_text((std::istreambuf_iterator<char>(svg)), {});
  EXPECT_NE(svg_text.find("<polyline"), std::string::npos);
  EXPECT_NE(svg_text.find("mamba tessera selective_scan"), std::string::npos) << "legend";

  nlohmann::json j = read_json(out / "report.json");
  EXPECT_EQ(j["lengths"], nlohmann::json::array({16, 32}));
  EXPECT_FALSE(j["environment"]["git_sha"].get<std::string>().empty());
  EXPECT_EQ(j["environment"]["device"], "cpu");
  EXPECT_TRUE(j.contains("best_peer_throughput_ratios"));
  ASSERT_EQ(j["rows"].size(), 4u);
  std::set<std::pair<std::string, int64_t>> seen;
  for (const auto& r : j["rows"]) {
    const auto& p = r["params"];
    SCOPED_TRACE(r["key"].get<std::string>());
    EXPECT_EQ(p["status"], "ok");
    EXPECT_EQ(p["samples"], 6);
    double acc = p["accuracy"].get<double>();
    EXPECT_GE(acc, 0.0);
    EXPECT_LE(acc, 1.0);
    for (const char* t : {"samples/s", "real tok/s", "padded tok/s"}) EXPECT_GT(r["throughput"][t].get<double>(), 0.0) << t;
    EXPECT_GE(r["throughput"]["padded tok/s"].get<double>(), r["throughput"]["real tok/s"].get<double>());
    EXPECT_GT(r["latency_ms"]["median"].get<double>(), 0.0);
    EXPECT_GE(p["latency_p95_ms"].get<double>(), r["latency_ms"]["median"].get<double>());
    EXPECT_GT(r["tensor_peak_bytes"].get<int64_t>(), 0);
    EXPECT_GT(r["rss_peak_bytes"].get<int64_t>(), 0);
    double pad = p["padding_fraction"].get<double>();
    EXPECT_GE(pad, 0.0);
    EXPECT_LT(pad, 1.0);
    EXPECT_GE(p["tokenize_s"].get<double>(), 0.0);
    EXPECT_NE(p["kernels"].get<std::string>().find(p["model"] == "bert" ? "matmul: cpu." : "selective_scan: cpu."),
              std::string::npos) << p["kernels"];
    EXPECT_EQ(p["device"], "cpu");
    EXPECT_TRUE(p["host_fallbacks"].is_object() && p["host_fallbacks"].empty()) << p["host_fallbacks"];
    EXPECT_GE(p["activation_peak_bytes"].get<int64_t>(), 0);
    EXPECT_LE(p["real_tokens"].get<int64_t>(), 6 * p["max_length"].get<int64_t>());
    seen.insert({p["model"].get<std::string>(), p["max_length"].get<int64_t>()});
  }
  EXPECT_EQ(seen, (std::set<std::pair<std::string, int64_t>>{{"bert", 16}, {"bert", 32}, {"mamba", 16}, {"mamba", 32}}));
  EXPECT_EQ(j["peers"][0]["status"].get<std::string>().rfind("absent", 0), 0u);
  std::ifstream md(out / "report.md");
  std::string text((std::istreambuf_iterator<char>(md)), {});
  for (const char* s : {"## Results", "## Crossover", "## Tokenization", "masked_mean", "PyTorch peer: absent", "git:",
                        "- device: cpu — "})
    EXPECT_NE(text.find(s), std::string::npos) << s;
  EXPECT_EQ(text.find("PARTIAL REPORT"), std::string::npos) << "the final write replaces the partial one";
}

// Without a usable GPU (CI), every bench's --device cuda stops before any work with the reason it is unavailable.
TEST(BenchBertVsMamba, CudaDeviceWithoutAGpuGivesTheReason) {
  if (cuda_is_available()) GTEST_SKIP() << "a CUDA device is available here (tests/cuda/bench_cuda_test.cpp runs it)";
  std::string reason = cuda_unavailable_reason();
  ASSERT_FALSE(reason.empty());
  for (const char* cmd : {"bench bert-vs-mamba --bert-config base --mamba-config 130m --device cuda",
                          "bench classify --device cuda", "bench mamba --device cuda:1"}) {
    std::string log;
    EXPECT_NE(run_cli(cmd, log), 0) << cmd;
    EXPECT_NE(log.find("--device cuda"), std::string::npos) << log;
    EXPECT_NE(log.find("CUDA is not available here: " + reason), std::string::npos) << log;
    EXPECT_NE(log.find("--device cpu"), std::string::npos) << "the fix is named: " << log;
  }
  std::string log;
  EXPECT_NE(run_cli("bench classify --device gpu", log), 0);
  EXPECT_NE(log.find("--device must be cpu, cuda or cuda:N, got 'gpu'"), std::string::npos) << log;
}

TEST(BenchBertVsMamba, CrossoverIsWhereMambaStaysAhead) {
  using K = bench::Crossover::Kind;
  std::vector<double> x = {128, 256, 512, 1024};
  bench::Crossover c = bench::crossover(x, {10, 8, 4, 1}, {5, 5, 5, 5});  // b ahead from 512 on
  EXPECT_EQ(c.kind, K::between);
  EXPECT_GT(c.x, 256);
  EXPECT_LT(c.x, 512);
  EXPECT_EQ(bench::crossover(x, {1, 1, 1, 1}, {2, 0.5, 2, 0.5}).kind, K::none);  // not ahead at the longest
  EXPECT_EQ(bench::crossover(x, {1, 1, 1, 1}, {2, 2, 2, 2}).kind, K::before_first);
  c = bench::crossover(x, {1, 1, 1, 1}, {2, 0.5, 2, 2});  // log ratio -log 2 -> log 2: halfway in log length
  EXPECT_EQ(c.kind, K::between);
  EXPECT_NEAR(c.x, std::sqrt(256.0 * 512.0), 1e-6);
}

}  // namespace tessera::testing
