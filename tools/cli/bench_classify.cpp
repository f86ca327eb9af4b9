// `tessera bench classify`: sequence-classification throughput of a BERT-shaped model with random weights
// (no checkpoint needed), against transformers' BertForSequenceClassification in the same run.
#include <algorithm>
#include <cstdio>
#include <random>

#include "backends/backend.h"
#include "bench/harness.h"
#include "bench/op_profile.h"
#include "bench/peer.h"
#include "cli/commands.h"
#include "models/bert.h"
#include "tessera/io.h"

namespace tessera::cli {

// Defined in bench.cpp.
void add_bench_options(CLI::App* cmd, bench::RunOptions& o);
void finish_bench(const bench::Report& r, const bench::RunOptions& o, const std::string& stem);

namespace {
struct BenchClassifyArgs {
  std::string config = "base";
  int64_t batch_size = 8;
  int64_t seq_len = 128;
  std::string dtype = "f32";
  uint64_t seed = 0;
  bench::RunOptions run;
  std::string command;
};

// A (B, T) batch of random token ids in [lo, V) with no padding; `lo` skips the special tokens at the start.
models::Batch random_batch(int64_t B, int64_t T, int64_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed + 1);
  int64_t lo = std::min<int64_t>(1000, vocab / 2);
  std::uniform_int_distribution<int64_t> id(lo, vocab - 1);
  std::vector<int64_t> ids(B * T);
  for (int64_t& x : ids) x = id(rng);
  std::vector<int64_t> ones(B * T, 1);
  return {.input_ids = Tensor::from_values({B, T}, ids), .attention_mask = Tensor::from_values({B, T}, ones),
          .token_type_ids = Tensor::zeros({B, T}, DType::i64)};
}

void run_bench_classify(const BenchClassifyArgs& a) {
  auto dt = dtype_from_name(a.dtype);
  TESSERA_CHECK(dt && (*dt == DType::f32 || *dt == DType::f16 || *dt == DType::bf16),
                "bench classify: --dtype must be f32, f16 or bf16, got '{}'", a.dtype);
  bool base = a.config == "base";
  models::BertConfig cfg = base ? models::BertConfig::base()
                                : models::BertConfig::from_json(io::read_json_file(a.config), a.config);
  TESSERA_CHECK(a.seq_len <= cfg.max_position_embeddings,
                "bench classify: --seq-len {} exceeds the config's max_position_embeddings ({})", a.seq_len,
                cfg.max_position_embeddings);
  bench::set_threads(a.run.threads);

  bench::Report report{.title = "bench classify", .command = a.command, .environment = bench::capture_environment()};
  std::string name = base ? "bert-base" : std::filesystem::path(a.config).stem().string();
  std::string key = fmt::format("{} b={} t={} {}", name, a.batch_size, a.seq_len, a.dtype);
  for (const std::string& w : bench::environment_warnings(report.environment)) {
    std::fprintf(stderr, "tessera bench: warning: %s\n", w.c_str());
    report.notes.push_back("warning: " + w);
  }

  std::fprintf(stderr, "tessera bench: building %s with random weights (seed %llu)...\n", name.c_str(),
               (unsigned long long)a.seed);
  auto model = models::BertForSequenceClassification::from_config(cfg, a.seed, *dt);
  models::Batch batch = random_batch(a.batch_size, a.seq_len, cfg.vocab_size, a.seed);

  std::fprintf(stderr, "tessera bench: timing %s (%d threads, >= %.1f s)...\n", key.c_str(), backends::cpu_threads(),
               a.run.min_time);
  int64_t baseline = cpu_allocator().stats().current;
  cpu_allocator().reset_peak();
  bench::Stats s = bench::measure([&] { model->classify(batch); }, a.run.measure());
  int64_t peak = cpu_allocator().stats().peak;
  double B = (double)a.batch_size, T = (double)a.seq_len;
  bench::Row row{.key = key, .engine = "tessera", .variant = model->run_info().attention, .latency = s,
                 .throughput = bench::throughput_from(s, {{"seq/s", B}, {"tok/s", B * T}}),
                 .tensor_peak_bytes = peak, .rss_peak_bytes = bench::process_peak_rss_bytes()};
  row.params = {{"config", a.config}, {"batch_size", a.batch_size}, {"seq_len", a.seq_len}, {"dtype", a.dtype},
                {"parameter_bytes", model->parameter_bytes()}, {"activation_peak_bytes", peak - baseline}};
  report.rows.push_back(row);

  if (a.run.profile) {
    std::fprintf(stderr, "tessera bench: profiling per op (3 passes)...\n");
    bench::OpProfile prof;
    for (int pass = 0; pass < 3; ++pass) {
      prof.restart_clock();
      model->classify(batch);
      prof.end_pass();
    }
    report.sections.emplace_back("Tessera per-op profile", prof.to_markdown());
    report.extra["profile"] = prof.to_json();
  }

  std::string why;
  std::string python = bench::resolve_python_peer(a.run.peer, why);
  bench::Peer torch{.name = "pytorch", .status = why.empty() ? "ok" : why};
  if (!python.empty() && *dt == DType::f16) {
    torch.status = "absent: the PyTorch peer runs f32 and bf16 only (f16 GEMM on CPU is not a fair comparison)";
  } else if (!python.empty()) {
    for (const char* attn : {"eager", "sdpa"}) {
      std::fprintf(stderr, "tessera bench: timing the PyTorch peer (attn_implementation=%s)...\n", attn);
      std::vector<std::string> args = {"--config", a.config, "--batch-size", std::to_string(a.batch_size),
                                       "--seq-len", std::to_string(a.seq_len), "--dtype", a.dtype,
                                       "--threads", std::to_string(backends::cpu_threads()),
                                       "--warmup", std::to_string(a.run.warmup), "--min-time", std::to_string(a.run.min_time),
                                       "--min-reps", std::to_string(a.run.min_reps), "--attn", attn, "--key", key,
                                       "--seed", std::to_string(a.seed)};
      bench::merge_peer(torch, bench::run_python_peer(python, bench::peer_script("classify_peer.py"), args, "pytorch"));
    }
  } else {
    report.notes.push_back("peer " + why);
  }
  report.peers.push_back(torch);
  report.notes.push_back("Random weights and random token ids (no padding): the timing does not depend on the weights' "
                         "values. Tessera and the peer run one after the other in this invocation with the same thread count.");

  std::string stem = fmt::format("cpu-{}core-classify-{}", report.environment.cores, report.environment.date.substr(0, 10));
  auto coretype = report.environment.env.find("OPENBLAS_CORETYPE");
  if (coretype != report.environment.env.end()) stem += "-openblas-" + coretype->second;
  finish_bench(report, a.run, stem);
}
}  // namespace

void register_bench_classify(CLI::App& bench) {
  auto a = std::make_shared<BenchClassifyArgs>();
  auto* cmd = bench.add_subcommand("classify", "Sequence-classification throughput of a BERT-shaped model (random weights)");
  cmd->add_option("--config", a->config, "'base' (bert-base-uncased shapes, default) or a config.json file");
  cmd->add_option("--batch-size", a->batch_size, "Sequences per batch (default 8)")->check(CLI::PositiveNumber);
  cmd->add_option("--seq-len", a->seq_len, "Tokens per sequence, no padding (default 128)")->check(CLI::PositiveNumber);
  cmd->add_option("--dtype", a->dtype, "Compute dtype: f32 (default), bf16, f16 (no peer)");
  cmd->add_option("--seed", a->seed, "Seed of the random weights and ids (default 0)");
  add_bench_options(cmd, a->run);
  cmd->footer("Reports median/p10/p90 latency per batch, sequences/s, tokens/s, peak tensor memory and peak RSS, and "
              "Tessera/PyTorch ratios. Unset OPENBLAS_CORETYPE on AVX-512 CPUs (docs/benchmarks.md).");
  cmd->callback([a] {
    a->command = bench::command_line();
    run_bench_classify(*a);
  });
}

}  // namespace tessera::cli
