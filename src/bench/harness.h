// Benchmark harness (DESIGN.md §8): warmup + repetitions to a minimum time, median/p10/p90, memory, the run's
// environment, peer rows merged by key with our/peer ratios, and Markdown + JSON reports.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/tensor.h"

namespace tessera::bench {

using Json = nlohmann::ordered_json;

struct MeasureOptions {
  int warmup = 2;           // untimed runs first (page faults, BLAS buffers, thread pools)
  double warmup_min_s = 0;  // ... repeated until this much warm-up time too (GPU clocks ramp up)
  double min_time_s = 5.0;  // keep repeating until this much timed wall time ...
  int min_reps = 5;         // ... and at least this many repetitions
  int max_reps = 100000;
};

// Latency statistics of one measurement, in milliseconds. Percentiles interpolate linearly between closest
// ranks (numpy's default), so p50 of {1, 2, 3, 4} is 2.5.
struct Stats {
  int reps = 0;
  double median = 0, p10 = 0, p90 = 0, mean = 0, min = 0, max = 0;
};

double percentile(const std::vector<double>& sorted, double q);  // q in [0, 1]; sorted ascending
Stats summarize(std::vector<double> samples_ms);

// Runs fn `warmup` times (and for warmup_min_s), then times it until both min_time_s and min_reps are reached.
// fn must wait for its device work itself (synchronize) so that the host clock sees the whole run.
Stats measure(const std::function<void()>& fn, const MeasureOptions& o);

// One measured configuration. `key` names what was measured (shape, dtype); peers' rows with the same key are
// compared with ours. Throughput figures are items per second at the median latency.
struct Row {
  std::string key;      // "bert-base b=8 t=128 f32"
  std::string engine;   // "tessera", "pytorch"
  std::string variant;  // "math", "eager", "sdpa"
  Stats latency;        // per iteration (one batch), ms
  std::vector<std::pair<std::string, double>> throughput;  // {"seq/s", 7.9}
  std::optional<int64_t> tensor_peak_bytes;                // allocator peak during the timed runs
  std::optional<int64_t> rss_peak_bytes;                   // process VmHWM after the runs
  Json params = Json::object();                            // shape and model parameters, as given
};

// items_per_iter: {"seq/s", batch}, {"tok/s", batch * tokens}: per-second figures from the median latency.
std::vector<std::pair<std::string, double>> throughput_from(const Stats& s,
                                                            const std::vector<std::pair<std::string, double>>& items_per_iter);

Json to_json(const Row& r);
Row row_from_json(const Json& j);  // throws tessera::Error naming the missing field

// Results of a peer engine run in the same invocation (bench/peers/*.py), or why it did not run.
struct Peer {
  std::string name;                // "pytorch"
  std::string status = "ok";       // "ok", "absent: ...", "failed: ..."
  Json environment = Json::object();
  std::vector<Row> rows;
};

// Our row against one peer row with the same key. speedup = peer median / our median (= our throughput /
// peer throughput; > 1 means Tessera is faster); rss_ratio = our peak RSS / peer peak RSS (< 1 = less memory).
struct Ratio {
  std::string key, ours, peer;  // ours/peer: "engine variant"
  double speedup = 0;
  std::optional<double> rss_ratio;
};
std::vector<Ratio> ratios(const std::vector<Row>& ours, const std::vector<Peer>& peers);
// For each of our rows with a peer row of its key: the ratio against the fastest such peer row (lowest median
// latency across every variant: "beat the best torch.compile mode" is speedup >= 1 here).
std::vector<Ratio> best_peer_ratios(const std::vector<Row>& ours, const std::vector<Peer>& peers);

// Where and how the numbers were taken.
struct Environment {
  std::string git_sha;      // `git rev-parse HEAD` at run time (+ "-dirty"); compile-time fallback
  std::string build_type;   // "release (NDEBUG, optimised)" / "debug"
  std::string compiler;
  std::string cpu_model;
  std::vector<std::string> cpu_flags;  // the SIMD flags that matter for kernels (avx2, avx512f, ...)
  int cores = 0;                       // CPUs this process may run on
  int threads = 0;                     // Tessera's kernel threads (OpenMP)
  int blas_threads = 0;
  std::string blas;                    // openblas_get_config() + core name
  std::map<std::string, std::string> env;  // OPENBLAS_CORETYPE, OMP_NUM_THREADS, ... when set
  std::string date;                        // UTC, ISO 8601
  std::string host_load;                   // /proc/loadavg at start (other work skews timings)
  // Where the model ran: "cpu" or "cuda:N", describe_device(), and for a GPU nvidia-smi's record at start
  // (name, driver, SM clock now / max, memory; "" when nvidia-smi is absent).
  std::string device = "cpu";
  std::string device_description;
  std::string gpu_name, gpu_driver, gpu_smi, cuda_driver_version;
};
Environment capture_environment(Device device = {});
Json to_json(const Environment& e);
// Warnings about settings that skew results, e.g. OPENBLAS_CORETYPE forcing an older kernel on an AVX-512 CPU.
std::vector<std::string> environment_warnings(const Environment& e);
// "cpu-2core" or "cuda-nvidia-h200": the device part of default report names.
std::string device_slug(const Environment& e);
// One line naming what ran the model: "cpu — AMD EPYC ... (2 cores usable; ...)" or "cuda:0 — NVIDIA H200 (...)".
std::string device_line(const Environment& e);

// Sets the CPU threads of both Tessera's kernels (OpenMP) and OpenBLAS; n <= 0 keeps the defaults.
void set_threads(int n);

// This process's command line from /proc/self/cmdline, shell-quoted, prefixed with the tracked environment
// variables that are set (OPENBLAS_CORETYPE=... tessera bench ...): the exact command to reproduce a report.
std::string command_line();

int64_t process_peak_rss_bytes();  // VmHWM from /proc/self/status; -1 when unavailable
std::string format_bytes(int64_t bytes);

// The options every `tessera bench <name>` shares (the CLI binds them in tools/cli/bench.cpp).
struct RunOptions {
  int threads = 0;          // <= 0: all cores
  int warmup = 2;
  double min_time = 5.0;    // seconds
  int min_reps = 5;
  std::string peer = "auto";  // auto | none | a Python interpreter
  std::string out;            // report directory ("" = none)
  bool json = false;          // JSON report to stdout
  bool profile = false;       // per-op breakdown of one extra pass
  MeasureOptions measure() const { return {.warmup = warmup, .min_time_s = min_time, .min_reps = min_reps}; }
};

struct Report {
  std::string title;    // "bench classify"
  std::string command;  // the exact command line
  Environment environment;
  std::vector<Row> rows;
  std::vector<Peer> peers;
  std::vector<std::string> notes;  // warnings and remarks printed under the table
  std::vector<std::pair<std::string, std::string>> sections;  // extra Markdown sections: {title, body}
  Json extra = Json::object();                               // extra JSON fields (e.g. "profile")
};

Json to_json(const Report& r);
std::string to_markdown(const Report& r);
std::string summary_text(const Report& r);  // a few lines for the terminal
// Writes DIR/STEM.md and DIR/STEM.json (creating DIR); returns the two paths.
std::vector<std::filesystem::path> write_report(const Report& r, const std::filesystem::path& dir, const std::string& stem);
// The same files for a run still in progress (a note says so), so that a run cut off later (a device call's time
// limit, a killed peer) leaves what it measured; the final write replaces them. Nothing when dir is "".
void write_partial_report(const Report& r, const std::string& dir, const std::string& stem);

}  // namespace tessera::bench
