// The `tessera` CLI end to end: classify/tokenize/graph output formats, and bad input giving a one-line
// error with a nonzero exit code (never a crash).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "backends/cpu/blas_core.h"
#include "models/model_test_util.h"

namespace tessera::testing {

namespace {
struct Result {
  int code;
  std::string out;  // stdout + stderr
};

Result run(const std::string& args) {
  std::string cmd = std::string(TESSERA_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

std::string q(const std::filesystem::path& p) { return fmt::format("'{}'", p.string()); }

struct PipelineDir : TempDir {
  PipelineDir() {
    for (auto& e : std::filesystem::directory_iterator(fixture("models/bert-pipeline-tiny")))
      std::filesystem::copy_file(e.path(), path / e.path().filename());
    std::filesystem::copy_file(shared("tokenizers/bert-base-uncased/vocab.txt"), path / "vocab.txt");
  }
};

std::vector<nlohmann::json> json_lines(const std::string& s) {
  std::vector<nlohmann::json> v;
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    std::string line = s.substr(start, end - start);
    if (!line.empty()) v.push_back(nlohmann::json::parse(line));
    start = end + 1;
  }
  return v;
}
}  // namespace

TEST(Cli, ClassifyPrintsOneJsonObjectPerInputInOrder) {
  PipelineDir d;
  std::ofstream(d.path / "in.jsonl") << "\"first text\"\n{\"text\": \"second text\", \"label\": 1}\n\n\"third\"\n";
  Result r = run("classify --model " + q(d.path) + " --batch-size 2 --input " + q(d.path / "in.jsonl") + " 'an argument'");
  ASSERT_EQ(r.code, 0) << r.out;
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  for (const auto& j : lines) {
    EXPECT_TRUE(j["label"] == "NEGATIVE" || j["label"] == "POSITIVE");
    EXPECT_GT(j["score"].get<double>(), 0.5);
    EXPECT_EQ(j["logits"].size(), 2u);
  }
  Result single = run("classify --model " + q(d.path) + " 'second text'");
  ASSERT_EQ(single.code, 0);
  // TEXT arguments come first, then --input lines.
  // Batching may change GEMM blocking (rounding in the last bit), never the result beyond that.
  nlohmann::json one = json_lines(single.out)[0];
  EXPECT_EQ(one["label"], lines[2]["label"]) << "results must not depend on batching or position";
  for (std::size_t i = 0; i < 2; ++i)
    EXPECT_NEAR(one["logits"][i].get<double>(), lines[2]["logits"][i].get<double>(), 1e-5) << "logit " << i;
}

TEST(Cli, ClassifyReadsGzipAndStdin) {
  PipelineDir d;
  Result r = run("classify --model " + q(d.path) + " --input - < /dev/null");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("no input texts"), std::string::npos) << r.out;
  std::string sample = (d.path / "s.jsonl.gz").string();
  ASSERT_EQ(std::system(("zcat " + q(shared("data/imdb/test.jsonl.gz")) + " | head -3 | gzip > '" + sample + "'").c_str()), 0);
  Result ok = run("classify --model " + q(d.path) + " --input '" + sample + "'");
  ASSERT_EQ(ok.code, 0) << ok.out;
  EXPECT_EQ(json_lines(ok.out).size(), 3u);
}

TEST(Cli, BadInputGivesOneLineErrorAndNonzeroExit) {
  PipelineDir d;
  struct Case {
    std::string args, expect;
  };
  std::ofstream(d.path / "bad.jsonl") << "{\"text\": 5}\n";
  std::ofstream(d.path / "notjson.jsonl") << "plain words\n";
  std::ofstream(d.path / "badutf8.jsonl") << "\"caf\xc3\"\n";
  TempDir empty_model;
  for (const Case& c : std::vector<Case>{
           {"classify --model " + q(empty_model.path) + " hi", "config.json"},
           {"classify --model /nonexistent/dir hi", "directory not found"},
           {"classify --model " + q(d.path) + " \"$(printf '\\377\\376')\"", "invalid UTF-8"},
           {"classify --model " + q(d.path), "no input texts"},
           {"classify --model " + q(d.path) + " --input " + q(d.path / "bad.jsonl"), "bad.jsonl:1"},
           {"classify --model " + q(d.path) + " --input " + q(d.path / "notjson.jsonl"), "not JSON"},
           {"classify --model " + q(d.path) + " --input " + q(d.path / "badutf8.jsonl"), "invalid UTF-8"},
           {"classify --model " + q(d.path) + " --max-length 100000 hi", "max_length"},
           {"classify --model " + q(d.path) + " --dtype int8 hi", "--dtype"},
           {"tokenize --model " + q(empty_model.path) + " hi", "vocab.txt"},
       }) {
    Result r = run(c.args);
    EXPECT_NE(r.code, 0) << c.args;
    EXPECT_LT(r.code, 128) << "crashed: " << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.args << "\n" << r.out;
  }
}

TEST(Cli, TokenizeMatchesTokenizerAndGraphPrints) {
  PipelineDir d;
  Result r = run("tokenize --model " + q(d.path) + " 'Hello, world!' --max-length 4");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = json_lines(r.out).at(0);
  EXPECT_EQ(j["input_ids"], (std::vector<int64_t>{101, 7592, 1010, 102}));
  EXPECT_EQ(j["attention_mask"], (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(j["token_type_ids"], (std::vector<int64_t>{0, 0, 0, 0}));
  Result g = run("graph --model " + q(fixture("models/bert-tiny")) + " --tokens 5");
  ASSERT_EQ(g.code, 0) << g.out;
  EXPECT_NE(g.out.find("input input_ids : i64(1, 5)"), std::string::npos) << g.out;
  EXPECT_NE(g.out.find("= softmax("), std::string::npos);
  Result h = run("classify --help");
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("--batch-size"), std::string::npos);
}

// Note [OpenBLAS core]: the CLI runs OpenBLAS's kernels for this CPU's instruction set even where OpenBLAS's own
// detection falls back to SSE3, and honours a user's OPENBLAS_CORETYPE.
TEST(Cli, RunsTheOpenBlasCoreThisCpuSupports) {
  Result r = run("version");
  ASSERT_EQ(r.code, 0) << r.out;
  std::string want = backends::openblas_core();  // this test process's core (no re-exec here)
  if (!std::getenv("OPENBLAS_CORETYPE"))
    if (auto better = backends::better_openblas_core()) want = *better;
  EXPECT_NE(r.out.find("OpenBLAS core " + want + ")"), std::string::npos) << r.out;
}

}  // namespace tessera::testing
