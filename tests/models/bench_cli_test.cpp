// `tessera bench classify` and `bench mamba` smoke tests on tiny configs (CPU, no peer): several shapes / lengths in
// one report, every row's fields present and sane, the kernel trace names CPU kernels, bad --shapes named.
#include <gtest/gtest.h>

#include "models/bench_test_util.h"

namespace tessera::testing {

namespace {
// The one STEM.json an --out directory holds.
nlohmann::json only_report(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> found;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json") found.push_back(e.path());
  EXPECT_EQ(found.size(), 1u) << dir;
  return found.empty() ? nlohmann::json() : read_json(found[0]);
}
}  // namespace

TEST(BenchCli, ClassifyMeasuresEveryShapeOfOneReport) {
  TempDir dir;
  std::string log;
  ASSERT_EQ(run_cli("bench classify --config '" + fixture("models/bert-pipeline-tiny/config.json").string() +
                        "' --shapes 2x16,3x40 --min-time 0 --min-reps 2 --warmup 1 --threads 1 --peer none --out '" +
                        dir.path.string() + "'", log), 0) << log;
  nlohmann::json j = only_report(dir.path);
  EXPECT_EQ(j["environment"]["device"], "cpu");
  ASSERT_EQ(j["rows"].size(), 2u);
  EXPECT_EQ(j["rows"][0]["key"], "config b=2 t=16 f32");
  EXPECT_EQ(j["rows"][1]["key"], "config b=3 t=40 f32");
  for (const auto& r : j["rows"]) {
    SCOPED_TRACE(r["key"].get<std::string>());
    EXPECT_EQ(r["latency_ms"]["reps"].get<int>(), 2);
    EXPECT_GT(r["throughput"]["tok/s"].get<double>(), 0.0);
    EXPECT_GT(r["tensor_peak_bytes"].get<int64_t>(), 0);
    EXPECT_EQ(r["params"]["device"], "cpu");
    EXPECT_TRUE(r["params"]["host_fallbacks"].empty());
    EXPECT_NE(r["params"]["kernels"].get<std::string>().find("linear: cpu."), std::string::npos) << r["params"]["kernels"];
  }
  EXPECT_EQ(j["rows"][1]["params"]["seq_len"], 40);
  std::string notes = j["notes"].dump();
  EXPECT_NE(notes.find("config b=2 t=16 f32, config b=3 t=40 f32: Tessera"), std::string::npos) << "one kernels line: " << notes;
  EXPECT_EQ(notes.find("PARTIAL REPORT"), std::string::npos);

  for (const char* bad : {"2x", "x16", "0x16", "2x16,abc", "2x16x3"}) {
    std::string err;
    EXPECT_NE(run_cli(std::string("bench classify --shapes ") + bad, err), 0) << bad;
    EXPECT_NE(err.find("--shapes must be a comma-separated list of BATCHxTOKENS"), std::string::npos) << err;
  }
}

TEST(BenchCli, MambaMeasuresEveryLengthWithItsKernels) {
  TempDir dir;
  std::string log;
  ASSERT_EQ(run_cli("bench mamba --config '" + fixture("models/mamba-tiny/config.json").string() +
                        "' --batch-size 2 --seq-len 8,24 --threads 1 --peer none --out '" + dir.path.string() + "'", log), 0)
      << log;
  nlohmann::json j = only_report(dir.path);
  ASSERT_EQ(j["rows"].size(), 2u);
  for (const auto& r : j["rows"]) {
    EXPECT_EQ(r["params"]["dtype"], "f32");
    EXPECT_GT(r["latency_ms"]["median"].get<double>(), 0.0);
    EXPECT_GE(r["params"]["activation_peak_bytes"].get<int64_t>(), 0);
    EXPECT_NE(r["params"]["kernels"].get<std::string>().find("selective_scan: cpu."), std::string::npos) << r["params"]["kernels"];
  }
  EXPECT_EQ(j["rows"][1]["key"], "config b=2 t=24 f32");
}

}  // namespace tessera::testing
