// `tessera bench`: the benchmark parent subcommand and the options every benchmark shares; each benchmark
// lives in its own bench_<name>.cpp and registers itself in the list below.
#include <cstdio>

#include "bench/harness.h"
#include "cli/commands.h"

namespace tessera::cli {

// Binds the shared options (bench::RunOptions) to a benchmark's subcommand.
void add_bench_options(CLI::App* cmd, bench::RunOptions& o) {
  cmd->add_option("--threads", o.threads, "CPU threads for Tessera's kernels, OpenBLAS and the peer (default: all cores)");
  cmd->add_option("--warmup", o.warmup, "Untimed runs before timing (default 2)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--min-time", o.min_time, "Repeat until this many seconds were timed (default 5)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--min-reps", o.min_reps, "... and at least this many repetitions (default 5)")->check(CLI::PositiveNumber);
  cmd->add_option("--peer", o.peer,
                  "Peer engine run in the same invocation: auto (python3 when torch + transformers import), python3 "
                  "(or another interpreter path), none");
  cmd->add_option("--out", o.out, "Write the report as DIR/<name>.md and DIR/<name>.json");
  cmd->add_flag("--json", o.json, "Print the JSON report to stdout (the summary goes to stderr)");
  cmd->add_flag("--profile", o.profile, "Also time Tessera per op (3 extra passes, minimum per op; not in the timed runs)");
}

// Prints the summary (stdout, or stderr with --json), the JSON report with --json, and writes --out files.
void finish_bench(const bench::Report& r, const bench::RunOptions& o, const std::string& stem) {
  std::string summary = bench::summary_text(r);
  std::fputs(summary.c_str(), o.json ? stderr : stdout);
  if (!o.out.empty())
    for (const auto& p : bench::write_report(r, o.out, stem)) std::fprintf(o.json ? stderr : stdout, "  wrote %s\n", p.c_str());
  if (o.json) std::printf("%s\n", bench::to_json(r).dump(2).c_str());
}

// ---- Benchmarks: one declaration + one call per bench_<name>.cpp (add bench_tokenize, bench_mamba here) ----
void register_bench_classify(CLI::App& bench);
void register_bench_bert_vs_mamba(CLI::App& bench);
void register_bench_mamba(CLI::App& bench);
void register_bench_tokenize(CLI::App& bench);

void register_bench(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Benchmark Tessera (and a PyTorch peer in the same run); see docs/benchmarks.md");
  bench->require_subcommand(1);
  register_bench_classify(*bench);
  register_bench_bert_vs_mamba(*bench);
  register_bench_mamba(*bench);
  register_bench_tokenize(*bench);
}
// ---- end of the benchmark list ----

}  // namespace tessera::cli
