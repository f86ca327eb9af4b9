// `tessera bench classify`: sequence-classification throughput of a BERT-shaped model with random weights
// (no checkpoint needed) at one or more (batch, tokens) shapes, on the CPU or a GPU, against transformers'
// BertForSequenceClassification (eager, SDPA, torch.compile modes) on the same device in the same run.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <random>
#include <sstream>

#include "backends/backend.h"
#include "bench/device_run.h"
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
  std::string shapes;  // "32x256,8x4096": overrides --batch-size/--seq-len
  std::string dtype = "f32", device = "cpu";
  uint64_t seed = 0;
  bool peer_compile = false;
  std::string peer_variants;  // overrides the variant list
  double gpu_warmup = -1;     // < 0: bench::default_gpu_warmup_s
  double peer_timeout = 0;    // seconds per peer process (0: none)
  bench::RunOptions run;
  std::string command;
};

struct Shape {
  int64_t batch, tokens;
};

// "32x256,8x4096" -> shapes, in the order given.
std::vector<Shape> parse_shapes(const std::string& text) {
  std::vector<Shape> out;
  std::stringstream in(text);
  auto number = [](std::string_view t) {  // the whole text as a positive integer, else 0
    int64_t v = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    return ec == std::errc() && end == t.data() + t.size() && v > 0 ? v : 0;
  };
  for (std::string item; std::getline(in, item, ',');) {
    std::size_t x = item.find('x');
    Shape s{0, 0};
    if (x != std::string::npos) s = {number(std::string_view(item).substr(0, x)), number(std::string_view(item).substr(x + 1))};
    TESSERA_CHECK(s.batch > 0 && s.tokens > 0, "bench classify: --shapes must be a comma-separated list of BATCHxTOKENS "
                  "with positive integers (e.g. 32x256,8x4096), got '{}'", item);
    out.push_back(s);
  }
  TESSERA_CHECK(!out.empty(), "bench classify: --shapes is empty");
  return out;
}

// A (B, T) batch of random token ids in [lo, V) with no padding; `lo` skips the special tokens at the start.
// Host tensors: the model moves them to its device inside the timed step (end to end, as a user's batch).
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

// The peer's variants: transformers' eager and SDPA attention, and with --peer-compile torch.compile of the SDPA
// model (dynamic=False: each shape is its own graph), default mode and on a GPU reduce-overhead (CUDA graphs).
std::vector<std::string> peer_variants(const BenchClassifyArgs& a, bool gpu) {
  std::vector<std::string> v;
  if (!a.peer_variants.empty()) {
    std::stringstream in(a.peer_variants);
    for (std::string item; std::getline(in, item, ',');) v.push_back(item);
    return v;
  }
  v = {"eager", "sdpa"};
  if (a.peer_compile) v.push_back("sdpa+compile");
  if (a.peer_compile && gpu) v.push_back("sdpa+compile:reduce-overhead");
  return v;
}

void run_peer(bench::Report& report, const BenchClassifyArgs& a, const std::vector<Shape>& shapes,
              const std::vector<std::string>& keys, int64_t max_positions, Device dev, double gpu_warmup,
              const std::string& stem) {
  bool gpu = dev.type == DeviceType::cuda;
  std::string why;
  std::string python = bench::resolve_python_peer(a.run.peer, why);
  bench::Peer torch{.name = "pytorch", .status = why.empty() ? "ok" : why};
  if (!python.empty() && a.dtype == "f16" && !gpu) {
    torch.status = "absent: on the CPU the PyTorch peer runs f32 and bf16 only (f16 GEMM on CPU is not a fair comparison)";
    report.notes.push_back("peer " + torch.status);
  } else if (!python.empty()) {
    // One process per (shape, variant) on the CPU, so each RSS peak is its own; on a GPU one process per shape
    // runs every variant (start-up and compilation dominate; tensor peaks are reset per variant there).
    std::vector<std::string> variants = peer_variants(a, gpu);
    std::vector<std::vector<std::string>> groups;
    if (gpu) groups.push_back(variants);
    else
      for (const std::string& v : variants) groups.push_back({v});
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      for (const std::vector<std::string>& group : groups) {
        std::string list;
        for (const std::string& v : group) list += (list.empty() ? "" : ",") + v;
        std::fprintf(stderr, "tessera bench: timing the PyTorch peer at %s (%s)...\n", keys[i].c_str(), list.c_str());
        std::vector<std::string> args = {"--config", a.config, "--batch-size", std::to_string(shapes[i].batch),
                                         "--seq-len", std::to_string(shapes[i].tokens), "--dtype", a.dtype,
                                         "--threads", std::to_string(backends::cpu_threads()),
                                         "--warmup", std::to_string(a.run.warmup), "--min-time", std::to_string(a.run.min_time),
                                         "--min-reps", std::to_string(a.run.min_reps), "--variants", list, "--key", keys[i],
                                         "--seed", std::to_string(a.seed), "--device", to_string(dev),
                                         "--max-positions", std::to_string(max_positions),
                                         "--warmup-seconds", fmt::format("{}", gpu_warmup)};
        bench::merge_peer(torch, bench::run_python_peer(python, bench::peer_script("classify_peer.py"), args, "pytorch",
                                                        a.peer_timeout));
        bench::Report partial = report;
        partial.peers.push_back(torch);
        bench::write_partial_report(partial, a.run.out, stem);
      }
    }
    if (torch.environment.contains("errors"))
      for (const auto& [variant, error] : torch.environment["errors"].items())
        report.notes.push_back(fmt::format("peer variant {} failed: {}", variant, error.dump()));
    if (a.peer_compile)
      report.notes.push_back("torch.compile variants: the SDPA model compiled with dynamic=False (one graph per shape; each "
                             "shape in its own process), compilation and CUDA-graph capture inside the untimed warm-up; "
                             "'reduce-overhead' = CUDA graphs. max-autotune is not run (minutes of GEMM autotuning per shape).");
  } else {
    report.notes.push_back("peer " + why);
  }
  report.peers.push_back(torch);
}

void run_bench_classify(const BenchClassifyArgs& a) {
  Device dev = bench::parse_bench_device(a.device, "bench classify");
  bool gpu = dev.type == DeviceType::cuda;
  double gpu_warmup = a.gpu_warmup >= 0 ? a.gpu_warmup : bench::default_gpu_warmup_s(dev);
  auto dt = dtype_from_name(a.dtype);
  TESSERA_CHECK(dt && (*dt == DType::f32 || *dt == DType::f16 || *dt == DType::bf16),
                "bench classify: --dtype must be f32, f16 or bf16, got '{}'", a.dtype);
  bool base = a.config == "base";
  models::BertConfig cfg = base ? models::BertConfig::base()
                                : models::BertConfig::from_json(io::read_json_file(a.config), a.config);
  std::vector<Shape> shapes = a.shapes.empty() ? std::vector<Shape>{{a.batch_size, a.seq_len}} : parse_shapes(a.shapes);
  bench::set_threads(a.run.threads);

  bench::Report report{.title = "bench classify", .command = a.command, .environment = bench::capture_environment(dev)};
  std::string name = base ? "bert-base" : std::filesystem::path(a.config).stem().string();
  for (const std::string& w : bench::environment_warnings(report.environment)) {
    std::fprintf(stderr, "tessera bench: warning: %s\n", w.c_str());
    report.notes.push_back("warning: " + w);
  }
  int64_t longest = 0;
  for (const Shape& s : shapes) longest = std::max(longest, s.tokens);
  if (longest > cfg.max_position_embeddings) {
    report.notes.push_back(fmt::format("the position table was enlarged from {} to {} rows (the longest --seq-len) in both "
                                       "engines so every shape runs; random weights, speed and memory only",
                                       cfg.max_position_embeddings, longest));
    cfg.max_position_embeddings = longest;
  }

  std::fprintf(stderr, "tessera bench: building %s with random weights (seed %llu) on %s...\n", name.c_str(),
               (unsigned long long)a.seed, to_string(dev).c_str());
  auto model = models::BertForSequenceClassification::from_config(cfg, a.seed, *dt, dev);
  std::vector<models::Batch> batches;
  std::vector<std::string> keys;
  for (const Shape& s : shapes) {
    batches.push_back(random_batch(s.batch, s.tokens, cfg.vocab_size, a.seed));
    keys.push_back(fmt::format("{} b={} t={} {}", name, s.batch, s.tokens, a.dtype));
  }
  // One step = one batch end to end: host ids in, logits copied back, the device drained before the clock stops.
  auto step = [&](const models::Batch& b) {
    model->classify(b).cpu();
    synchronize(dev);
  };
  if (gpu) {  // Note [GPU warm-up] (src/bench/device_run.cpp)
    int passes = bench::warm_up([&] { for (const models::Batch& b : batches) step(b); }, gpu_warmup);
    report.notes.push_back(fmt::format("GPU warm-up before the first timed shape: {} pass(es) over every shape (>= {:g} s)",
                                       passes, gpu_warmup));
  }

  std::vector<std::pair<std::string, std::string>> kernel_lines;  // {keys, "Tessera ... kernels: ..."}
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const models::Batch& batch = batches[i];
    std::string kernels = bench::traced_kernels([&] { step(batch); }, {"linear", "matmul", "softmax", "layer_norm", "add_layer_norm", "gelu"});
    std::fprintf(stderr, "tessera bench: timing %s on %s (%d threads, >= %.1f s)...\n", keys[i].c_str(),
                 to_string(dev).c_str(), backends::cpu_threads(), a.run.min_time);
    backends::reset_host_fallbacks();
    bench::TensorPeak tensors(dev);
    bench::Stats s = bench::measure([&] { step(batch); }, a.run.measure());
    double B = (double)shapes[i].batch, T = (double)shapes[i].tokens;
    bench::Row row{.key = keys[i], .engine = "tessera", .variant = model->run_info().attention, .latency = s,
                   .throughput = bench::throughput_from(s, {{"seq/s", B}, {"tok/s", B * T}}),
                   .tensor_peak_bytes = tensors.peak(), .rss_peak_bytes = bench::process_peak_rss_bytes()};
    row.params = {{"config", a.config}, {"batch_size", shapes[i].batch}, {"seq_len", shapes[i].tokens}, {"dtype", a.dtype},
                  {"device", to_string(dev)}, {"parameter_bytes", model->parameter_bytes()},
                  {"activation_peak_bytes", tensors.activations()}, {"kernels", kernels},
                  {"host_fallbacks", bench::host_fallbacks_json()}};
    std::string warning = bench::host_fallback_warning(keys[i], dev);
    if (!warning.empty()) report.notes.push_back(warning);
    std::string line = fmt::format("Tessera {} attention; kernels: {}", model->run_info().attention, kernels);
    auto same = std::find_if(kernel_lines.begin(), kernel_lines.end(), [&](const auto& k) { return k.second == line; });
    if (same == kernel_lines.end()) kernel_lines.push_back({keys[i], line});
    else same->first += ", " + keys[i];
    report.rows.push_back(row);
  }
  for (const auto& [which, line] : kernel_lines) report.notes.push_back(which + ": " + line);

  if (a.run.profile) {
    std::fprintf(stderr, "tessera bench: profiling per op at %s (3 passes)...\n", keys[0].c_str());
    bench::OpProfile prof;
    for (int pass = 0; pass < 3; ++pass) {
      synchronize(dev);
      prof.restart_clock();
      model->classify(batches[0]);
      prof.end_pass();
    }
    report.sections.emplace_back(fmt::format("Tessera per-op profile ({}{})", keys[0], gpu ? ", synchronised after every op" : ""),
                                 prof.to_markdown());
    report.extra["profile"] = prof.to_json();
  }

  std::string stem = fmt::format("{}-classify-{}", bench::device_slug(report.environment), report.environment.date.substr(0, 10));
  auto coretype = report.environment.env.find("OPENBLAS_CORETYPE");
  if (!gpu && coretype != report.environment.env.end()) stem += "-openblas-" + coretype->second;
  bench::write_partial_report(report, a.run.out, stem);
  run_peer(report, a, shapes, keys, cfg.max_position_embeddings, dev, gpu_warmup, stem);
  report.notes.push_back("Random weights and random token ids (no padding): the timing does not depend on the weights' "
                         "values. Tessera and the peer run one after the other in this invocation with the same thread count.");
  if (gpu)
    report.notes.push_back("GPU timing: one step = host ids in, logits copied back to the host, device synchronised before "
                           "the host clock stops (both engines). Tensor peak = Tessera's CUDA allocator in-use peak per "
                           "shape (weights included) / the peer's torch.cuda.max_memory_allocated (reset per variant).");

  finish_bench(report, a.run, stem);
}
}  // namespace

void register_bench_classify(CLI::App& bench) {
  auto a = std::make_shared<BenchClassifyArgs>();
  auto* cmd = bench.add_subcommand("classify", "Sequence-classification throughput of a BERT-shaped model (random weights)");
  cmd->add_option("--config", a->config, "'base' (bert-base-uncased shapes, default) or a config.json file");
  cmd->add_option("--batch-size", a->batch_size, "Sequences per batch (default 8)")->check(CLI::PositiveNumber);
  cmd->add_option("--seq-len", a->seq_len, "Tokens per sequence, no padding (default 128)")->check(CLI::PositiveNumber);
  cmd->add_option("--shapes", a->shapes, "Several shapes in one report, BATCHxTOKENS,... (e.g. 32x256,8x4096); "
                                         "overrides --batch-size/--seq-len");
  cmd->add_option("--dtype", a->dtype, "Compute dtype: f32 (default), bf16, f16 (no peer on the CPU)");
  cmd->add_option("--device", a->device, "cpu (default), cuda or cuda:N (a CUDA build with a GPU; the peer runs there too)");
  cmd->add_option("--seed", a->seed, "Seed of the random weights and ids (default 0)");
  cmd->add_flag("--peer-compile", a->peer_compile, "Also time torch.compile of the SDPA model (default mode; on a GPU "
                                                   "also reduce-overhead)");
  cmd->add_option("--peer-variants", a->peer_variants, "The peer's variants, comma-separated (eager, sdpa, sdpa+compile, "
                                                       "sdpa+compile:MODE); overrides the defaults and --peer-compile");
  cmd->add_option("--gpu-warmup", a->gpu_warmup, "GPU: seconds of untimed passes over every shape before timing (default 3)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--peer-timeout", a->peer_timeout, "Kill a peer process after this many seconds (default: no limit)")
      ->check(CLI::NonNegativeNumber);
  add_bench_options(cmd, a->run);
  cmd->footer("Reports median/p10/p90 latency per batch, sequences/s, tokens/s, peak tensor memory and peak RSS, and "
              "Tessera/PyTorch ratios (per variant and against the fastest). Unset OPENBLAS_CORETYPE on AVX-512 CPUs "
              "(docs/benchmarks.md).");
  cmd->callback([a] {
    a->command = bench::command_line();
    run_bench_classify(*a);
  });
}

}  // namespace tessera::cli
