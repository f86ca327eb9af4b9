// `tessera bench mamba`: prefill throughput of a mamba-130m-shaped backbone (MambaModel, random weights, no LM head)
// at one batch size over several sequence lengths, on the CPU or a GPU, against transformers' MambaModel on the same
// device in the same run (its torch path: without mamba-ssm a Python loop over the sequence).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <sstream>

#include "backends/backend.h"
#include "bench/device_run.h"
#include "bench/harness.h"
#include "bench/op_profile.h"
#include "bench/peer.h"
#include "cli/commands.h"
#include "models/mamba.h"
#include "tessera/io.h"
#include "tessera/ops.h"

namespace tessera::cli {

// Defined in bench.cpp.
void add_bench_options(CLI::App* cmd, bench::RunOptions& o);
void finish_bench(const bench::Report& r, const bench::RunOptions& o, const std::string& stem);

namespace {
struct BenchMambaArgs {
  std::string config = "130m";
  int64_t batch_size = 4;
  std::string seq_lens = "256,1024,4096";
  std::string dtype = "f32", device = "cpu";
  std::string peer_dtype;  // comma-separated dtypes the peer runs ("" = --dtype)
  bool precision = true;   // low-precision runs: their error against an f32 model of the same weights
  bool no_f16_gemm = false;
  uint64_t seed = 0;
  double peer_budget = 300;  // seconds of peer time per length, estimated from the shorter lengths
  double gpu_warmup = -1;    // < 0: bench::default_gpu_warmup_s
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

std::vector<std::string> parse_peer_dtypes(const std::string& s, const std::string& ours) {
  std::vector<std::string> v;
  std::stringstream ss(s.empty() ? ours : s);
  for (std::string item; std::getline(ss, item, ',');) {
    TESSERA_CHECK(item == "f32" || item == "f16" || item == "bf16",
                  "bench mamba: --peer-dtype must be a comma-separated list of f32, f16, bf16, got '{}'", s);
    v.push_back(item);
  }
  return v;
}

// The precision cost of a low-precision run: its final hidden states against those of an f32 model with the same
// weights (the same random f32 values, which the low-precision model holds rounded) on the same ids.
bench::Json precision_vs_f32(const models::MambaModel& low, const models::MambaModel& ref, const Tensor& ids) {
  std::vector<float> got = ops::cast(low.forward(ids).last_hidden_state, DType::f32).cpu().to_float_vector();
  std::vector<float> want = ref.forward(ids).last_hidden_state.cpu().to_float_vector();
  double max_abs = 0, max_ref = 0, sq_err = 0, sq_ref = 0;
  int64_t nonfinite = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    double e = std::fabs((double)got[i] - want[i]);
    if (!std::isfinite(got[i])) ++nonfinite;
    else max_abs = std::max(max_abs, e), sq_err += e * e;
    max_ref = std::max(max_ref, (double)std::fabs(want[i]));
    sq_ref += (double)want[i] * want[i];
  }
  return {{"max_abs_error", max_abs}, {"max_abs_reference", max_ref}, {"max_error_over_max_reference", max_abs / std::max(max_ref, 1e-30)},
          {"rms_error_over_rms_reference", std::sqrt(sq_err / std::max(sq_ref, 1e-30))}, {"nonfinite", nonfinite}};
}

void run_bench_mamba(const BenchMambaArgs& a) {
  Device dev = bench::parse_bench_device(a.device, "bench mamba");
  bool gpu = dev.type == DeviceType::cuda;
  double gpu_warmup = a.gpu_warmup >= 0 ? a.gpu_warmup : bench::default_gpu_warmup_s(dev);
  auto dt = dtype_from_name(a.dtype);
  TESSERA_CHECK(dt && (*dt == DType::f32 || *dt == DType::f16 || *dt == DType::bf16),
                "bench mamba: --dtype must be f32, f16 or bf16, got '{}'", a.dtype);
  bool preset = a.config == "130m";
  models::MambaConfig cfg = preset ? models::MambaConfig::mamba_130m()
                                   : models::MambaConfig::from_json(io::read_json_file(a.config), a.config);
  std::vector<int64_t> lengths = parse_lengths(a.seq_lens);
  bench::set_threads(a.run.threads);
  if (a.no_f16_gemm) backends::set_cpu_f16_gemm(false);

  bench::Report report{.title = "bench mamba", .command = a.command, .environment = bench::capture_environment(dev)};
  std::string stem = fmt::format("{}-mamba-{}", bench::device_slug(report.environment), report.environment.date.substr(0, 10));
  std::string name = preset ? "mamba-130m" : std::filesystem::path(a.config).stem().string();
  for (const std::string& w : bench::environment_warnings(report.environment)) {
    std::fprintf(stderr, "tessera bench: warning: %s\n", w.c_str());
    report.notes.push_back("warning: " + w);
  }

  std::fprintf(stderr, "tessera bench: building %s backbone with random weights (seed %llu) on %s...\n", name.c_str(),
               (unsigned long long)a.seed, to_string(dev).c_str());
  models::Weights w = models::Weights::random(a.seed, cfg.initializer_range, *dt, dev);
  models::MambaModel model(w.scope("backbone."), cfg);
  int64_t parameter_bytes = w.bytes_loaded();
  std::vector<Tensor> inputs;  // host ids: forward() moves them to the device inside the timed step
  for (int64_t T : lengths) inputs.push_back(random_ids(a.batch_size, T, cfg.vocab_size, a.seed));
  // One step = the backbone to its last hidden state, the device drained (the (B, T, C) states stay on the device
  // in both engines: copying them back would time the PCIe link, not the model).
  auto step = [&](const Tensor& ids) {
    model.forward(ids);
    synchronize(dev);
  };
  if (gpu) {  // Note [GPU warm-up] (src/bench/device_run.cpp)
    int passes = bench::warm_up([&] { for (const Tensor& ids : inputs) step(ids); }, gpu_warmup);
    report.notes.push_back(fmt::format("GPU warm-up before the first timed length: {} pass(es) over every length (>= {:g} s)",
                                       passes, gpu_warmup));
  }
  std::string kernels = bench::traced_kernels([&] { step(inputs.front()); },
                                              {"selective_scan", "causal_conv1d", "causal_conv1d_silu", "linear", "matmul", "rms_norm", "silu"});
  report.notes.push_back("Tessera kernels: " + kernels);
  if (!gpu)
    report.notes.push_back(fmt::format("CPU scan/conv inner loops: {}; f16 GEMM: {}", backends::cpu_ssm_isa(),
                                       backends::cpu_f16_gemm_isa()));
  std::vector<std::string> peer_dtypes = parse_peer_dtypes(a.peer_dtype, a.dtype);

  std::string why;
  std::string python = bench::resolve_python_peer(a.run.peer, why);
  bench::Peer torch{.name = "pytorch", .status = why.empty() ? "ok" : why};
  if (python.empty()) report.notes.push_back("peer " + why);
  std::map<std::string, double> peer_ms_per_token;  // per peer dtype: the longest run so far per token, for the budget

  for (std::size_t i = 0; i < lengths.size(); ++i) {
    int64_t T = lengths[i];
    std::string key = fmt::format("{} b={} t={} {}", name, a.batch_size, T, a.dtype);
    const Tensor& ids = inputs[i];
    std::fprintf(stderr, "tessera bench: timing %s on %s (%d threads)...\n", key.c_str(), to_string(dev).c_str(),
                 backends::cpu_threads());
    backends::reset_host_fallbacks();
    bench::TensorPeak tensors(dev);
    bench::Stats s = bench::measure([&] { step(ids); }, a.run.measure());
    double tokens = (double)(a.batch_size * T);
    bench::Row row{.key = key, .engine = "tessera", .variant = "backbone", .latency = s,
                   .throughput = bench::throughput_from(s, {{"seq/s", (double)a.batch_size}, {"tok/s", tokens}}),
                   .tensor_peak_bytes = tensors.peak(), .rss_peak_bytes = bench::process_peak_rss_bytes()};
    row.params = {{"config", a.config}, {"batch_size", a.batch_size}, {"seq_len", T}, {"dtype", a.dtype},
                  {"device", to_string(dev)}, {"parameter_bytes", parameter_bytes},
                  {"activation_peak_bytes", tensors.activations()}, {"kernels", kernels},
                  {"host_fallbacks", bench::host_fallbacks_json()}};
    std::string warning = bench::host_fallback_warning(key, dev);
    if (!warning.empty()) report.notes.push_back(warning);
    report.rows.push_back(row);
    std::fprintf(stderr, "  %.1f ms median, %.0f tok/s, activation peak %s\n", s.median, tokens / (s.median / 1e3),
                 bench::format_bytes(tensors.activations()).c_str());

    if (a.run.profile && i == 0) {
      std::fprintf(stderr, "tessera bench: profiling per op at t=%lld (3 passes)...\n", (long long)T);
      bench::OpProfile prof;
      for (int pass = 0; pass < 3; ++pass) {
        synchronize(dev);
        prof.restart_clock();
        model.forward(ids);
        prof.end_pass();
      }
      report.sections.emplace_back(fmt::format("Tessera per-op profile ({}{})", key, gpu ? ", synchronised after every op" : ""),
                                   prof.to_markdown());
      report.extra["profile"] = prof.to_json();
    }

    bench::write_partial_report(report, a.run.out, stem);
    if (python.empty()) continue;
    for (const std::string& pd : peer_dtypes) {
      // The peer's slow path costs ~linear time in T: skip a length whose estimated run (warmup + reps) exceeds the budget.
      int peer_reps = 1 + std::min(a.run.min_reps, 2);
      double estimate_s = peer_ms_per_token[pd] * tokens * peer_reps / 1e3;
      std::string variant = peer_dtypes.size() == 1 && pd == a.dtype ? "transformers MambaModel" : "transformers MambaModel " + pd;
      if (peer_ms_per_token[pd] > 0 && estimate_s > a.peer_budget) {
        std::string note = fmt::format("peer {} skipped at {}: estimated {:.0f} s (> --peer-budget {:.0f} s) from the shorter "
                                       "lengths", pd, key, estimate_s, a.peer_budget);
        std::fprintf(stderr, "tessera bench: %s\n", note.c_str());
        report.notes.push_back(note);
        continue;
      }
      std::fprintf(stderr, "tessera bench: timing the transformers peer (%s) at %s...\n", pd.c_str(), key.c_str());
      std::vector<std::string> args = {"--config", a.config, "--batch-size", std::to_string(a.batch_size),
                                       "--seq-len", std::to_string(T), "--threads", std::to_string(backends::cpu_threads()),
                                       "--warmup", "1", "--reps", std::to_string(peer_reps - 1), "--key", key,
                                       "--seed", std::to_string(a.seed), "--dtype", pd, "--device", to_string(dev),
                                       "--warmup-seconds", fmt::format("{}", gpu_warmup), "--variant", variant};
      bench::Peer p = bench::run_python_peer(python, bench::peer_script("mamba_peer.py"), args, "pytorch");
      if (p.status == "ok" && !p.rows.empty()) peer_ms_per_token[pd] = p.rows.back().latency.median / tokens;
      bench::merge_peer(torch, p);
      bench::Report partial = report;
      partial.peers.push_back(torch);
      bench::write_partial_report(partial, a.run.out, stem);
    }
  }
  if (*dt != DType::f32 && a.precision) {  // after the timings: the f32 model would count in their memory peaks
    std::fprintf(stderr, "tessera bench: precision check against an f32 model with the same weights...\n");
    models::Weights w32 = models::Weights::random(a.seed, cfg.initializer_range, DType::f32, dev);
    models::MambaModel reference(w32.scope("backbone."), cfg);
    bool f16_gemm = !gpu && *dt == DType::f16 && std::string_view(backends::cpu_f16_gemm_isa()) == "avx512_fp16";
    for (std::size_t i = 0; i < lengths.size(); ++i) {
      bench::Json e = precision_vs_f32(model, reference, inputs[i]);
      report.rows[i].params["precision_vs_f32"] = e;
      report.notes.push_back(fmt::format("precision at {}: last_hidden_state vs the f32 model with the same weights on the "
                                         "same ids: max |error| {:.3g} = {:.2e} of max |f32 value| ({:.3g}); rms error / rms "
                                         "value {:.2e}; non-finite {}", report.rows[i].key, e["max_abs_error"].get<double>(),
                                         e["max_error_over_max_reference"].get<double>(), e["max_abs_reference"].get<double>(),
                                         e["rms_error_over_rms_reference"].get<double>(), e["nonfinite"].get<int64_t>()));
      if (f16_gemm) {  // the same f16 model with f32-accumulated GEMMs: what the f16 GEMM's blocked sums add
        backends::set_cpu_f16_gemm(false);
        bench::Json f = precision_vs_f32(model, reference, inputs[i]);
        backends::set_cpu_f16_gemm(true);
        report.rows[i].params["precision_vs_f32_with_f32_gemm"] = f;
        report.notes.push_back(fmt::format("precision at {} with f32-accumulated GEMMs instead of the f16 GEMM (f16 model "
                                           "otherwise the same): max |error| {:.3g} = {:.2e} of max |f32 value|; rms error / "
                                           "rms value {:.2e}", report.rows[i].key, f["max_abs_error"].get<double>(),
                                           f["max_error_over_max_reference"].get<double>(),
                                           f["rms_error_over_rms_reference"].get<double>()));
      }
    }
  }
  if (torch.environment.contains("path")) {
    const bench::Json& path = torch.environment["path"];
    report.notes.push_back(fmt::format("transformers' path: {}", path.value("summary", path.dump())));
  }
  report.peers.push_back(torch);
  report.notes.push_back("Both engines run the backbone only (embeddings → 24 Mamba blocks → norm_f, last_hidden_state); "
                         "no LM head. Random weights and token ids: the timing does not depend on their values. The "
                         "peer runs in a fresh process per length (its RSS peak is its own), with 1 warmup and at most "
                         "2 timed repetitions (transformers' torch path is slow).");
  if (gpu)
    report.notes.push_back("GPU timing: one step = host ids in, the backbone run, device synchronised before the host clock "
                           "stops; the hidden states stay on the device (both engines). Tensor peak = Tessera's CUDA "
                           "allocator in-use peak per length (weights included) / the peer's torch.cuda.max_memory_allocated.");

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
  cmd->add_option("--dtype", a->dtype, "Compute dtype: f32 (default), bf16, f16 (CPU: the AVX512-FP16 GEMM where the CPU has it)");
  cmd->add_option("--peer-dtype", a->peer_dtype, "Comma-separated dtypes the transformers peer runs, each a row of its own "
                  "(default: --dtype), e.g. f32,f16");
  cmd->add_flag("--no-f16-gemm", a->no_f16_gemm, "CPU f16: run the GEMMs as f32 (OpenBLAS) instead of the AVX512-FP16 "
                "kernel (the path of CPUs without it)");
  cmd->add_flag("!--no-precision", a->precision, "Skip the precision check of a bf16/f16 run against the f32 model "
                "(same weights and ids)");
  cmd->add_option("--device", a->device, "cpu (default), cuda or cuda:N (a CUDA build with a GPU; the peer runs there too)");
  cmd->add_option("--gpu-warmup", a->gpu_warmup, "GPU: seconds of untimed passes over every length before timing (default 3)")
      ->check(CLI::NonNegativeNumber);
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
