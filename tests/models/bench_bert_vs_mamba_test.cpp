// `tessera bench bert-vs-mamba` smoke test on the tiny fixture classifiers (a few samples, lengths 16 and 32,
// no peer): every report file exists and every field is present and sane; plus the crossover helper.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>

#include "bench/length_sweep.h"
#include "models/model_test_util.h"

namespace tessera::testing {

namespace {
int run_cli(const std::string& args, std::string& out) {
  FILE* p = popen((std::string(TESSERA_CLI_PATH) + " " + args + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// The fixtures plus a tokenizer each: bert-base-uncased's vocab.txt for BERT; a 76-entry character WordPiece
// vocabulary for the tiny Mamba classifier (its embedding has 96 rows).
struct Models : TempDir {
  std::filesystem::path bert = path / "bert", mamba = path / "mamba";
  Models() {
    std::filesystem::copy(fixture("models/bert-pipeline-tiny"), bert);
    std::filesystem::copy_file(shared("tokenizers/bert-base-uncased/vocab.txt"), bert / "vocab.txt");
    std::filesystem::copy(fixture("models/mamba-ssm-classifier-tiny"), mamba);
    std::ofstream v(mamba / "vocab.txt");
    v << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    for (char c = 'a'; c <= 'z'; ++c) v << c << "\n##" << c << "\n";
    for (char c : std::string("0123456789.,!?'\"-()")) v << c << "\n";
  }
};
}  // namespace

TEST(BenchBertVsMamba, SmokeOnTinyFixturesWritesEveryFigure) {
  Models m;
  std::filesystem::path out = m.path / "report";
  std::string log;
  int rc = run_cli("bench bert-vs-mamba --bert '" + m.bert.string() + "' --mamba '" + m.mamba.string() +
                       "' --samples 6 --batch-size 4 --max-length 32,16 --peer none --threads 1 --out '" + out.string() + "'",
                   log);
  ASSERT_EQ(rc, 0) << log;
  for (const char* f : {"report.md", "report.json", "throughput.svg", "memory.svg"})
    EXPECT_TRUE(std::filesystem::exists(out / f)) << f;
  std::ifstream svg(out / "throughput.svg");
  std::string svg_text((std::istreambuf_iterator<char>(svg)), {});
  EXPECT_NE(svg_text.find("<polyline"), std::string::npos);
  EXPECT_NE(svg_text.find("mamba tessera selective_scan"), std::string::npos) << "legend";

  nlohmann::json j = read_json(out / "report.json");
  EXPECT_EQ(j["lengths"], nlohmann::json::array({16, 32}));
  EXPECT_FALSE(j["environment"]["git_sha"].get<std::string>().empty());
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
    EXPECT_FALSE(p["kernels"].get<std::string>().empty());
    EXPECT_LE(p["real_tokens"].get<int64_t>(), 6 * p["max_length"].get<int64_t>());
    seen.insert({p["model"].get<std::string>(), p["max_length"].get<int64_t>()});
  }
  EXPECT_EQ(seen, (std::set<std::pair<std::string, int64_t>>{{"bert", 16}, {"bert", 32}, {"mamba", 16}, {"mamba", 32}}));
  EXPECT_EQ(j["peers"][0]["status"].get<std::string>().rfind("absent", 0), 0u);
  std::ifstream md(out / "report.md");
  std::string text((std::istreambuf_iterator<char>(md)), {});
  for (const char* s : {"## Results", "## Crossover", "## Tokenization", "masked_mean", "PyTorch peer: absent", "git:"})
    EXPECT_NE(text.find(s), std::string::npos) << s;
}

TEST(BenchBertVsMamba, CudaDeviceGivesAClearError) {
  std::string log;
  EXPECT_NE(run_cli("bench bert-vs-mamba --bert-config base --mamba-config 130m --device cuda", log), 0);
  EXPECT_NE(log.find("the CUDA backend is not built/available yet"), std::string::npos) << log;
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
