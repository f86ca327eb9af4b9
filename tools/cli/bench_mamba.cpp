// `tessera bench mamba`: prefill throughput of a mamba-130m-shaped backbone (MambaModel, random weights, no LM head)
// at one batch size over several sequence lengths, against transformers' MambaModel CPU path in the same run.
#include <algorithm>
#include <cstdio>
#include <random>
#include <sstream>

#include "backends/backend.h"
#include "bench/harness.h"
#include "bench/op_profile.h"
#include "bench/peer.h"
#include "cli/commands.h"
#include "models/mamba.h"
#include "tessera/io.h"

namespace tessera::cli {

// Defined in bench.cpp.
void add_bench_options(CLI::App* cmd, bench::RunOptions& o);
void finish_bench(const bench::Report& r, const bench::RunOptions& o, const std::string& stem);

namespace {
struct BenchMambaArgs {
  std::string config = "130m";
  int64_t batch_size = 4;
  std::string seq_lens = "256,1024,4096";
  uint64_t seed = 0;
  double peer_budget = 300;  // seconds of peer time per length, estimated from the shorter lengths
  bench::RunOptions run;
  std::string command;
};

std::vector<int64_t> parse_lengths(const std::string& s) {
  std::vector<int64_t> v;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    int64_t t = 0;
    try {
      t = std::stoll(item);
    } catch (const std::exception&) {
    }
    TESSERA_CHECK(t > 0, "bench mamba: --seq-len must be a comma-separated list of positive integers, got '{}'", s);
    v.push_back(t);
  }
  TESSERA_CHECK(!v.empty(), "bench mamba: --seq-len is empty");
  return v;
}

// A (B, T) batch of random token ids in [lo, V).
Tensor random_ids(int64_t B, int64_t T, int64_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed + 1);
  std::uniform_int_distribution<int64_t> id(std::min<int64_t>(1000, vocab / 2), vocab - 1);
  std::vector<int64_t> ids(B * T);
  for (int64_t& x : ids) x = id(rng);
  return Tensor::from_values({B, T}, ids);
}

void run_bench_mamba(const BenchMambaArgs& a) {
  bool preset = a.config == "130m";
  models::MambaConfig cfg = preset ? models::MambaConfig::mamba_130m()
                                   : models::MambaConfig::from_json(io::read_json_file(a.config), a.config);
  std::vector<int64_t> lengths = parse_lengths(a.seq_lens);
  bench::set_threads(a.run.threads);

  bench::Report report{.title = "bench mamba", .command = a.command, .environment = bench::capture_environment()};
  std::string name = preset ? "mamba-130m" : std::filesystem::path(a.config).stem().string();
  for (const std::string& w : bench::environment_warnings(report.environment)) {
    std::fprintf(stderr, "tessera bench: warning: %s\n", w.c_str());
    report.notes.push_back("warning: " + w);
  }

  std::fprintf(stderr, "tessera bench: building %s backbone with random weights (seed %llu)...\n", name.c_str(),
               (unsigned long long)a.seed);
  models::Weights w = models::Weights::random(a.seed, cfg.initializer_range, DType::f32);
  models::MambaModel model(w.scope("backbone."), cfg);
  int64_t parameter_bytes = w.bytes_loaded();

  std::string why;
  std::string python = bench::resolve_python_peer(a.run.peer, why);
  bench::Peer torch{.name = "pytorch", .status = why.empty() ? "ok" : why};
  if (python.empty()) report.notes.push_back("peer " + why);
  double peer_ms_per_token = 0;  // the longest peer run so far, per token: estimates the next length's time

  for (int64_t T : lengths) {
    std::string key = fmt::format("{} b={} t={} f32", name, a.batch_size, T);
    Tensor ids = random_ids(a.batch_size, T, cfg.vocab_size, a.seed);
    std::fprintf(stderr, "tessera bench: timing %s (%d threads)...\n", key.c_str(), backends::cpu_threads());
    int64_t baseline = cpu_allocator().stats().current;
    cpu_allocator().reset_peak();
    bench::Stats s = bench::measure([&] { model.forward(ids); }, a.run.measure());
    int64_t peak = cpu_allocator().stats().peak;
    double tokens = (double)(a.batch_size * T);
    bench::Row row{.key = key, .engine = "tessera", .variant = "backbone", .latency = s,
                   .throughput = bench::throughput_from(s, {{"seq/s", (double)a.batch_size}, {"tok/s", tokens}}),
                   .tensor_peak_bytes = peak, .rss_peak_bytes = bench::process_peak_rss_bytes()};
    row.params = {{"config", a.config}, {"batch_size", a.batch_size}, {"seq_len", T}, {"dtype", "f32"},
                  {"parameter_bytes", parameter_bytes}, {"activation_peak_bytes", peak - baseline}};
    report.rows.push_back(row);
    std::fprintf(stderr, "  %.0f ms median, %.0f tok/s, activation peak %s\n", s.median, tokens / (s.median / 1e3),
                 bench::format_bytes(peak - baseline).c_str());

    if (a.run.profile && T == lengths.front()) {
      std::fprintf(stderr, "tessera bench: profiling per op at t=%lld (3 passes)...\n", (long long)T);
      bench::OpProfile prof;
      for (int pass = 0; pass < 3; ++pass) {
        prof.restart_clock();
        model.forward(ids);
        prof.end_pass();
      }
      report.sections.emplace_back(fmt::format("Tessera per-op profile ({})", key), prof.to_markdown());
      report.extra["profile"] = prof.to_json();
    }

    if (python.empty()) continue;
    // The peer's slow path costs ~linear time in T: skip a length whose estimated run (warmup + reps) exceeds the budget.
    int peer_reps = 1 + std::min(a.run.min_reps, 2);
    double estimate_s = peer_ms_per_token * tokens * peer_reps / 1e3;
    if (peer_ms_per_token > 0 && estimate_s > a.peer_budget) {
      std::string note = fmt::format("peer skipped at {}: estimated {:.0f} s (> --peer-budget {:.0f} s) from the shorter "
                                     "lengths", key, estimate_s, a.peer_budget);
      std::fprintf(stderr, "tessera bench: %s\n", note.c_str());
      report.notes.push_back(note);
      continue;
    }
    std::fprintf(stderr, "tessera bench: timing the transformers peer at %s...\n", key.c_str());
    std::vector<std::string> args = {"--config", a.config, "--batch-size", std::to_string(a.batch_size),
                                     "--seq-len", std::to_string(T), "--threads", std::to_string(backends::cpu_threads()),
                                     "--warmup", "1", "--reps", std::to_string(peer_reps - 1), "--key", key,
                                     "--seed", std::to_string(a.seed)};
    bench::Peer p = bench::run_python_peer(python, bench::peer_script("mamba_peer.py"), args, "pytorch");
    if (p.status == "ok" && !p.rows.empty()) peer_ms_per_token = p.rows.back().latency.median / tokens;
    bench::merge_peer(torch, p);
  }
  if (torch.environment.contains("path")) {
    const bench::Json& path = torch.environment["path"];
    report.notes.push_back(fmt::format("transformers' path: scan = {}; conv = {} (mamba_ssm / causal_conv1d installed: {} / {})",
                                       path.value("scan", "?"), path.value("conv", "?"),
                                       path["modules_found"].value("mamba_ssm", false), path["modules_found"].value("causal_conv1d", false)));
  }
  report.peers.push_back(torch);
  report.notes.push_back("Both engines run the backbone only (embeddings → 24 Mamba blocks → norm_f, last_hidden_state); "
                         "no LM head. Random weights and token ids: the timing does not depend on their values. The "
                         "peer runs in a fresh process per length (its RSS peak is its own), with 1 warmup and at most "
                         "2 timed repetitions (transformers' CPU path is slow).");

  std::string stem = fmt::format("cpu-{}core-mamba-{}", report.environment.cores, report.environment.date.substr(0, 10));
  finish_bench(report, a.run, stem);
}
}  // namespace

void register_bench_mamba(CLI::App& bench) {
  auto a = std::make_shared<BenchMambaArgs>();
  a->run.warmup = 1;
  a->run.min_time = 0;
  a->run.min_reps = 3;
  auto* cmd = bench.add_subcommand("mamba", "Prefill throughput of a mamba-130m-shaped backbone (random weights)");
  cmd->add_option("--config", a->config, "'130m' (state-spaces/mamba-130m-hf shapes, default) or a config.json file");
  cmd->add_option("--batch-size", a->batch_size, "Sequences per batch (default 4)")->check(CLI::PositiveNumber);
  cmd->add_option("--seq-len", a->seq_lens, "Comma-separated tokens per sequence (default 256,1024,4096)");
  cmd->add_option("--seed", a->seed, "Seed of the random weights and ids (default 0)");
  cmd->add_option("--peer-budget", a->peer_budget, "Skip the peer at a length whose estimated time exceeds this (s, default 300)");
  add_bench_options(cmd, a->run);
  cmd->footer("Defaults here: --warmup 1 --min-time 0 --min-reps 3. Reports median/p10/p90 latency per batch, tokens/s, "
              "the allocator's activation peak per length (linear in T) and peak RSS, and Tessera/transformers ratios.");
  cmd->callback([a] {
    a->command = bench::command_line();
    run_bench_mamba(*a);
  });
}

}  // namespace tessera::cli
