// `tessera bench tokenize`: encoding throughput (texts/s, tokens/s, MB/s) of a tokenizer over a corpus (the IMDB
// test split by default), against HF tokenizers' single-threaded encode_batch on the same texts in the same run.
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <numeric>

#include "backends/backend.h"
#include "bench/harness.h"
#include "bench/peer.h"
#include "cli/commands.h"
#include "cli/text_input.h"
#include "tessera/tokenizer.h"

namespace tessera::cli {

// Defined in bench.cpp.
void add_bench_options(CLI::App* cmd, bench::RunOptions& o);
void finish_bench(const bench::Report& r, const bench::RunOptions& o, const std::string& stem);

namespace {
struct BenchTokenizeArgs {
  std::string model;      // a directory (tokenizer.json, vocab.json + merges.txt or vocab.txt)
  std::string tokenizer;  // or a tokenizer.json file
  std::string data;
  int64_t limit = 0;
  bench::RunOptions run;
  std::string command;
};

// The IMDB test split beside the checkout (../shared, as tests/CMakeLists.txt's TESSERA_SHARED_DIR), or $TESSERA_SHARED_DIR.
std::string default_data() {
  const char* env = std::getenv("TESSERA_SHARED_DIR");
  std::filesystem::path shared = env ? std::filesystem::path(env) : std::filesystem::path(TESSERA_SOURCE_DIR) / ".." / "shared";
  return (shared / "data" / "imdb" / "test.jsonl.gz").lexically_normal().string();
}

void run_bench_tokenize(BenchTokenizeArgs a) {
  TESSERA_CHECK(a.model.empty() != a.tokenizer.empty(), "bench tokenize: give exactly one of --model DIR or --tokenizer FILE");
  if (a.data.empty()) a.data = default_data();
  TESSERA_CHECK(std::filesystem::exists(a.data), "bench tokenize: data file '{}' does not exist (give --data FILE.jsonl.gz)",
                a.data);
  bench::set_threads(a.run.threads);
  int threads = a.run.threads > 0 ? a.run.threads : 1;
  omp_set_num_threads(threads);

  bench::Report report{.title = "bench tokenize", .command = a.command, .environment = bench::capture_environment()};
  std::string source = a.model.empty() ? a.tokenizer : a.model;
  auto tok = a.model.empty() ? tokenizers::Tokenizer::from_json_file(a.tokenizer) : tokenizers::Tokenizer::from_dir(a.model);
  std::vector<std::string> texts = read_texts(a.data);
  if (a.limit > 0 && (std::size_t)a.limit < texts.size()) texts.resize((std::size_t)a.limit);
  double bytes = 0;
  for (const std::string& t : texts) bytes += (double)t.size();

  std::filesystem::path sp(source);
  std::string name = a.model.empty() ? sp.parent_path().filename().string() : sp.filename().string();
  if (name.empty()) name = sp.parent_path().filename().string();
  std::string key = fmt::format("{} {} n={}", name, std::filesystem::path(a.data).stem().stem().string(), texts.size());

  // Same work as the peer's encode_batch: special tokens added, no truncation, no padding.
  tokenizers::EncodeOptions o{.add_special_tokens = true, .truncation = false, .padding = tokenizers::Padding::none};
  int64_t tokens = 0;
  auto encode_all = [&] {
    int64_t n = 0;
    if (threads == 1) {
      for (const std::string& t : texts) n += (int64_t)tok.encode(t, o).size();
    } else {
      for (const auto& e : tok.encode_batch(std::span<const std::string>(texts), o)) n += (int64_t)e.size();
    }
    tokens = n;
  };
  std::fprintf(stderr, "tessera bench: encoding %zu texts (%.1f MB) with %s, %d thread(s)...\n", texts.size(), bytes / 1e6,
               source.c_str(), threads);
  bench::Stats s = bench::measure(encode_all, a.run.measure());
  bench::Row row{.key = key, .engine = "tessera", .variant = threads == 1 ? "encode" : "encode_batch", .latency = s,
                 .throughput = bench::throughput_from(s, {{"texts/s", (double)texts.size()}, {"tok/s", (double)tokens},
                                                          {"MB/s", bytes / 1e6}}),
                 .rss_peak_bytes = bench::process_peak_rss_bytes()};
  row.params = {{"tokenizer", source}, {"data", a.data}, {"texts", texts.size()}, {"bytes", (int64_t)bytes},
                {"tokens", tokens}, {"threads", threads}};
  report.rows.push_back(row);

  std::string why;
  std::string python = bench::resolve_python_peer(a.run.peer, why);
  bench::Peer peer{.name = "hf-tokenizers", .status = why.empty() ? "ok" : why};
  if (!python.empty()) {
    std::fprintf(stderr, "tessera bench: timing HF tokenizers (encode_batch, %d thread(s))...\n", threads);
    std::vector<std::string> args = {a.model.empty() ? "--tokenizer" : "--model", source, "--data", a.data,
                                     "--limit", std::to_string(texts.size()), "--threads", std::to_string(threads),
                                     "--warmup", std::to_string(a.run.warmup), "--min-time", std::to_string(a.run.min_time),
                                     "--min-reps", std::to_string(a.run.min_reps), "--key", key};
    peer = bench::run_python_peer(python, bench::peer_script("tokenize_peer.py"), args, "hf-tokenizers");
    for (const bench::Row& r : peer.rows) {
      int64_t theirs = r.params.value("tokens", (int64_t)-1);
      report.notes.push_back(theirs == tokens ? fmt::format("token count identical in both engines: {}", tokens)
                                              : fmt::format("token counts differ: tessera {} vs HF {}", tokens, theirs));
    }
  } else {
    report.notes.push_back("peer " + why);
  }
  report.peers.push_back(peer);
  report.notes.push_back("One iteration encodes every text (special tokens added, no truncation, no padding). Tessera "
                         "with 1 thread calls encode() per text; HF runs Tokenizer.encode_batch with "
                         "TOKENIZERS_PARALLELISM=false and RAYON_NUM_THREADS=1. Reading the file is not timed.");

  std::string stem = fmt::format("cpu-{}core-tokenize-{}-{}", report.environment.cores, name,
                                 report.environment.date.substr(0, 10));
  finish_bench(report, a.run, stem);
}
}  // namespace

void register_bench_tokenize(CLI::App& bench) {
  auto a = std::make_shared<BenchTokenizeArgs>();
  a->run.warmup = 1;
  a->run.min_time = 0;
  a->run.min_reps = 3;
  a->run.threads = 1;
  auto* cmd = bench.add_subcommand("tokenize", "Tokenizer encoding throughput over a corpus (IMDB test by default)");
  cmd->add_option("--model", a->model, "Tokenizer or model directory (tokenizer.json, vocab.json + merges.txt, vocab.txt)");
  cmd->add_option("--tokenizer", a->tokenizer, "A tokenizer.json file")->check(CLI::ExistingFile);
  cmd->add_option("--data", a->data, "Texts: .jsonl(.gz) with a \"text\" field (default ../shared/data/imdb/test.jsonl.gz)");
  cmd->add_option("--limit", a->limit, "Use only the first N texts")->check(CLI::NonNegativeNumber);
  add_bench_options(cmd, a->run);
  cmd->footer("Defaults here: --threads 1 --warmup 1 --min-time 0 --min-reps 3. Reports texts/s, tokens/s and MB/s "
              "(input UTF-8 bytes) and the Tessera/HF tokenizers ratio.");
  cmd->callback([a] {
    a->command = bench::command_line();
    run_bench_tokenize(*a);
  });
}

}  // namespace tessera::cli
