// The report of `tessera bench bert-vs-mamba` (docs/bert_vs_mamba.md): per (model, max_length, engine) rows ->
// report.md (tables, Tessera/PyTorch ratios, crossover), report.json (every figure), throughput.svg, memory.svg.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "bench/harness.h"

namespace tessera::bench {

// Row params every engine writes (Tessera in C++, the peer in bench/peers/bert_vs_mamba.py):
//   model ("bert" | "mamba"), model_name, max_length, status ("ok" | "skipped: ..."), accuracy (null when the
//   weights are random), samples, batches, real_tokens, padded_tokens, padding_fraction, latency_p95_ms,
//   total_s, tokenize_s, kernels (text), pooling (Mamba), dtype, batch_size.
// Throughput names: "samples/s", "real tok/s", "padded tok/s".
struct SweepReport {
  Report report;                 // title, command, environment, rows (Tessera), peers, notes, sections
  std::vector<int64_t> lengths;  // the --max-length values, ascending
  Json settings = Json::object();  // data, sample, models, batch size, dtype, threads, ...
};

// The figure of a row: throughput by name, or 0 when absent (skipped rows).
double throughput_of(const Row& r, const std::string& name);

// Writes DIR/report.md, report.json, throughput.svg, memory.svg and, when a converter is available, the PNGs
// (rsvg-convert, else `python3 bench/peers/bert_vs_mamba.py --plot-png` when matplotlib imports). Returns
// the paths written; notes which PNG converter ran or why PNGs were skipped.
std::vector<std::filesystem::path> write_sweep_report(SweepReport& r, const std::filesystem::path& dir);

// DIR/report.md and report.json of a run still in progress (a note says so; no plots), so that a run cut off later
// leaves what it measured; write_sweep_report replaces them at the end.
void write_sweep_partial(const SweepReport& r, const std::filesystem::path& dir);

std::string sweep_markdown(const SweepReport& r);
Json sweep_json(const SweepReport& r);

}  // namespace tessera::bench
