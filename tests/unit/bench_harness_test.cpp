// Benchmark harness: statistics on known samples, every field in the JSON and Markdown reports, peer rows
// parsed and merged by key with the right ratios. No timing assertions.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "bench/harness.h"
#include "bench/peer.h"
#include "tessera/error.h"

using namespace tessera;
using namespace tessera::bench;

namespace {
Row make_row(std::string key, std::string engine, std::string variant, double median_ms, std::optional<int64_t> rss) {
  Row r{.key = std::move(key), .engine = std::move(engine), .variant = std::move(variant)};
  r.latency = summarize({median_ms * 0.9, median_ms, median_ms * 1.1});
  r.throughput = throughput_from(r.latency, {{"seq/s", 8}, {"tok/s", 1024}});
  r.tensor_peak_bytes = 1 << 20;
  r.rss_peak_bytes = rss;
  r.params = {{"batch_size", 8}, {"seq_len", 128}};
  return r;
}

Report make_report() {
  Report r{.title = "bench classify", .command = "tessera bench classify --min-time 1"};
  r.environment = capture_environment();
  r.rows.push_back(make_row("bert-base b=8 t=128 f32", "tessera", "math", 100.0, 400LL << 20));
  Peer p{.name = "pytorch", .environment = Json{{"engine", "torch"}}};
  p.rows.push_back(make_row("bert-base b=8 t=128 f32", "pytorch", "eager", 200.0, 800LL << 20));
  p.rows.push_back(make_row("bert-base b=8 t=128 f32", "pytorch", "sdpa", 50.0, std::nullopt));
  p.rows.push_back(make_row("other key", "pytorch", "eager", 10.0, 1));
  r.peers.push_back(p);
  r.notes.push_back("a note");
  r.sections.emplace_back("Extra section", "body text\n");
  r.extra["profile"] = Json::array({Json{{"op", "linear"}}});
  return r;
}
}  // namespace

TEST(BenchHarness, PercentilesInterpolateLinearly) {
  std::vector<double> s = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(percentile(s, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(percentile(s, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(percentile(s, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(percentile(s, 0.1), 1.3);
  EXPECT_DOUBLE_EQ(percentile({7}, 0.9), 7.0);
  EXPECT_DOUBLE_EQ(percentile({}, 0.5), 0.0);
}

TEST(BenchHarness, SummarizeKnownSamples) {
  // 1..11 shuffled: median 6, p10 2, p90 10 (numpy.percentile gives the same).
  Stats s = summarize({5, 11, 1, 3, 9, 7, 2, 10, 4, 8, 6});
  EXPECT_EQ(s.reps, 11);
  EXPECT_DOUBLE_EQ(s.median, 6.0);
  EXPECT_DOUBLE_EQ(s.p10, 2.0);
  EXPECT_DOUBLE_EQ(s.p90, 10.0);
  EXPECT_DOUBLE_EQ(s.mean, 6.0);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 11.0);
  EXPECT_EQ(summarize({}).reps, 0);
}

TEST(BenchHarness, MeasureHonoursWarmupAndMinReps) {
  int calls = 0;
  Stats s = measure([&] { ++calls; }, {.warmup = 3, .min_time_s = 0.0, .min_reps = 7});
  EXPECT_EQ(s.reps, 7);
  EXPECT_EQ(calls, 10);
  EXPECT_LE(s.p10, s.median);
  EXPECT_LE(s.median, s.p90);
}

TEST(BenchHarness, ThroughputFromMedian) {
  Stats s = summarize({250.0});
  auto t = throughput_from(s, {{"seq/s", 8}, {"tok/s", 1024}});
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].first, "seq/s");
  EXPECT_DOUBLE_EQ(t[0].second, 32.0);
  EXPECT_DOUBLE_EQ(t[1].second, 4096.0);
}

TEST(BenchHarness, RatiosMatchPeerRowsByKey) {
  Report r = make_report();
  std::vector<Ratio> x = ratios(r.rows, r.peers);
  ASSERT_EQ(x.size(), 2u);  // "other key" has no row of ours
  EXPECT_EQ(x[0].ours, "tessera math");
  EXPECT_EQ(x[0].peer, "pytorch eager");
  EXPECT_DOUBLE_EQ(x[0].speedup, 2.0);  // peer 200 ms / ours 100 ms
  ASSERT_TRUE(x[0].rss_ratio.has_value());
  EXPECT_DOUBLE_EQ(*x[0].rss_ratio, 0.5);
  EXPECT_EQ(x[1].peer, "pytorch sdpa");
  EXPECT_DOUBLE_EQ(x[1].speedup, 0.5);
  EXPECT_FALSE(x[1].rss_ratio.has_value());  // the peer reported no RSS
  // speedup equals our throughput over the peer's.
  EXPECT_DOUBLE_EQ(r.rows[0].throughput[0].second / r.peers[0].rows[0].throughput[0].second, x[0].speedup);
}

TEST(BenchHarness, RowJsonRoundTrips) {
  Row a = make_row("k", "pytorch", "sdpa", 12.5, 1234);
  Row b = row_from_json(to_json(a));
  EXPECT_EQ(b.key, "k");
  EXPECT_EQ(b.engine, "pytorch");
  EXPECT_EQ(b.variant, "sdpa");
  EXPECT_DOUBLE_EQ(b.latency.median, a.latency.median);
  EXPECT_DOUBLE_EQ(b.latency.p90, a.latency.p90);
  EXPECT_EQ(b.throughput, a.throughput);
  EXPECT_EQ(b.rss_peak_bytes, 1234);
  EXPECT_EQ(b.params, a.params);
  Json missing = to_json(a);
  missing.erase("latency_ms");
  try {
    row_from_json(missing);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("latency_ms"), std::string::npos) << e.what();
  }
}

TEST(BenchHarness, JsonReportHasEveryField) {
  Json j = to_json(make_report());
  for (const char* k : {"title", "command", "environment", "rows", "peers", "ratios", "notes", "profile"})
    EXPECT_TRUE(j.contains(k)) << k;
  for (const char* k : {"git_sha", "date", "build_type", "compiler", "cpu_model", "cpu_flags", "cores", "threads",
                        "blas_threads", "blas", "env", "host_load"})
    EXPECT_TRUE(j["environment"].contains(k)) << k;
  for (const char* k : {"key", "engine", "variant", "latency_ms", "throughput", "tensor_peak_bytes", "rss_peak_bytes", "params"})
    EXPECT_TRUE(j["rows"][0].contains(k)) << k;
  for (const char* k : {"reps", "median", "p10", "p90", "mean", "min", "max"})
    EXPECT_TRUE(j["rows"][0]["latency_ms"].contains(k)) << k;
  EXPECT_EQ(j["peers"][0]["rows"].size(), 3u);
  EXPECT_EQ(j["ratios"].size(), 2u);
  EXPECT_DOUBLE_EQ(j["ratios"][0]["speedup"].get<double>(), 2.0);
  EXPECT_TRUE(j["ratios"][1]["rss_ratio"].is_null());
  EXPECT_NE(j["environment"]["blas"].get<std::string>().find("OpenBLAS"), std::string::npos);
}

TEST(BenchHarness, MarkdownReportHasEveryField) {
  std::string md = to_markdown(make_report());
  for (const char* s : {"# bench classify", "tessera bench classify --min-time 1", "| key | engine | median ms | p10 ms",
                        "seq/s", "tok/s", "tensor peak", "RSS peak", "tessera math", "pytorch eager", "pytorch sdpa",
                        "2.00x", "0.50x", "n/a", "## Environment", "- git:", "- build:", "- compiler:", "- CPU:",
                        "- threads:", "- BLAS:", "## Extra section", "body text", "a note", "\"engine\": \"torch\""})
    EXPECT_NE(md.find(s), std::string::npos) << "missing: " << s << "\n" << md;
}

TEST(BenchHarness, WarnsAboutForcedOpenBlasCore) {
  Environment e;
  e.build_type = "release (NDEBUG, optimised)";
  e.cpu_flags = {"avx2", "avx512f"};
  EXPECT_TRUE(environment_warnings(e).empty());
  e.env["OPENBLAS_CORETYPE"] = "Haswell";
  ASSERT_EQ(environment_warnings(e).size(), 1u);
  EXPECT_NE(environment_warnings(e)[0].find("unset OPENBLAS_CORETYPE"), std::string::npos);
  e.env["OPENBLAS_CORETYPE"] = "SkylakeX";
  EXPECT_TRUE(environment_warnings(e).empty());
  e.cpu_flags = {"avx2"};
  e.env["OPENBLAS_CORETYPE"] = "Haswell";
  EXPECT_TRUE(environment_warnings(e).empty());  // the right kernel for an AVX2-only CPU
}

TEST(BenchHarness, WritesBothReportFiles) {
  auto dir = std::filesystem::temp_directory_path() / "tessera_bench_harness_test";
  std::filesystem::remove_all(dir);
  auto paths = write_report(make_report(), dir, "report");
  ASSERT_EQ(paths.size(), 2u);
  std::ifstream js(dir / "report.json");
  Json j = Json::parse(js);
  EXPECT_EQ(j["title"], "bench classify");
  EXPECT_TRUE(std::filesystem::file_size(dir / "report.md") > 100);
  std::filesystem::remove_all(dir);
}

TEST(BenchHarness, PeerMergeKeepsRowsAndFailures) {
  Peer into{.name = "pytorch"};
  Peer ok{.name = "pytorch", .environment = Json{{"engine", "torch"}}};
  ok.rows.push_back(make_row("k", "pytorch", "eager", 1, 1));
  merge_peer(into, ok);
  merge_peer(into, ok);
  EXPECT_EQ(into.rows.size(), 2u);
  EXPECT_EQ(into.environment["engine"], "torch");
  merge_peer(into, Peer{.name = "pytorch", .status = "failed: boom"});
  EXPECT_EQ(into.status, "failed: boom");
  EXPECT_EQ(into.rows.size(), 2u);
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
}
