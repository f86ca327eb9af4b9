// `tessera sdpa`: explains the attention backend choice for a shape (every backend, every failed check) and,
// with --run, runs the chosen backend on random data: time, and error against the math reference.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include <nlohmann/json.hpp>
#include "attention/sdpa.h"
#include "cli/commands.h"
#include "tessera/ops.h"

namespace tessera::cli {

namespace {
struct SdpaArgs {
  std::string shape = "2,12,128,64";
  int64_t kv_len = 0;
  std::string dtype = "f16";
  std::string mask = "none";
  std::string device = "cpu";
  std::string backend = "auto";
  bool skip_padded_queries = false, explain = false, json = false, run = false;
  int reps = 10, warmup = 2;
  uint64_t seed = 0;
};

// "cpu", "cuda", "cuda:N" without requiring the device to exist (explaining a CUDA shape on a CPU machine works).
Device device_of(const std::string& s) {
  if (s == "cpu") return {};
  if (s == "cuda") return {DeviceType::cuda, 0};
  if (s.rfind("cuda:", 0) == 0) return {DeviceType::cuda, std::stoi(s.substr(5))};
  TESSERA_FAIL("sdpa: --device must be cpu, cuda or cuda:N, got '{}'", s);
}

Shape parse_shape(const std::string& s) {
  Shape out;
  std::size_t at = 0;
  while (at <= s.size()) {
    std::size_t comma = s.find(',', at);
    std::string part = s.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    TESSERA_CHECK(!part.empty() && std::all_of(part.begin(), part.end(), ::isdigit),
                  "sdpa: --shape must be B,H,T,D (positive integers), got '{}'", s);
    out.push_back(std::stoll(part));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  TESSERA_CHECK(out.size() == 4 && std::all_of(out.begin(), out.end(), [](int64_t v) { return v > 0; }),
                "sdpa: --shape must be B,H,T,D (four positive integers), got '{}'", s);
  return out;
}

// Per-sequence lengths for --mask padding: sequence b keeps T·(1 - b/(2B)) tokens (the first is unpadded).
std::vector<int64_t> padding_lengths(int64_t B, int64_t T) {
  std::vector<int64_t> n(B);
  for (int64_t b = 0; b < B; ++b) n[b] = std::max<int64_t>(1, T - T * b / (2 * B));
  return n;
}

Tensor random_tensor(Shape shape, DType dt, Device dev, std::mt19937_64& rng) {
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> v((std::size_t)shape_numel(shape));
  for (float& x : v) x = normal(rng);
  return Tensor::from_values(std::move(shape), v, dt).to(dev);
}

struct Inputs {
  Tensor q, k, v;
  attention::SdpaOptions options;
};

Inputs make_inputs(const SdpaArgs& a, const Shape& s, int64_t Tk, DType dt, Device dev, attention::Backend backend) {
  std::mt19937_64 rng(a.seed);
  Inputs in;
  in.q = random_tensor({s[0], s[1], s[2], s[3]}, dt, dev, rng);
  in.k = random_tensor({s[0], s[1], Tk, s[3]}, dt, dev, rng);
  in.v = random_tensor({s[0], s[1], Tk, s[3]}, dt, dev, rng);
  in.options = {.causal = a.mask == "causal", .backend = backend, .skip_padded_queries = a.skip_padded_queries};
  std::vector<int64_t> lengths = padding_lengths(s[0], Tk);
  if (a.mask == "padding") in.options.key_lengths = Tensor::from_values({s[0]}, lengths).to(dev);
  if (a.mask == "additive" || a.mask == "boolean") {  // the same padding as a (B, 1, 1, Tk) mask
    std::vector<float> m((std::size_t)(s[0] * Tk));
    for (int64_t b = 0; b < s[0]; ++b)
      for (int64_t j = 0; j < Tk; ++j) {
        bool keep = j < lengths[b];
        m[(std::size_t)(b * Tk + j)] = a.mask == "boolean" ? (float)keep : (keep ? 0.f : -1e30f);
      }
    in.options.mask = Tensor::from_values({s[0], 1, 1, Tk}, m, a.mask == "boolean" ? DType::boolean : dt).to(dev);
  }
  return in;
}

// Median / p10 / p90 milliseconds of `reps` runs after `warmup`.
nlohmann::json time_ms(const std::function<Tensor()>& fn, Device dev, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i) fn();
  synchronize(dev);
  std::vector<double> ms;
  for (int i = 0; i < std::max(reps, 1); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    synchronize(dev);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&](double f) { return ms[(std::size_t)std::min<double>(ms.size() - 1, f * (ms.size() - 1) + 0.5)]; };
  return {{"median_ms", at(0.5)}, {"p10_ms", at(0.1)}, {"p90_ms", at(0.9)}, {"reps", ms.size()}};
}

nlohmann::json run_and_compare(const SdpaArgs& a, const Shape& s, int64_t Tk, DType dt, Device dev,
                               attention::Backend chosen) {
  Inputs in = make_inputs(a, s, Tk, dt, dev, chosen);
  Tensor got = attention::sdpa(in.q, in.k, in.v, in.options).cpu();
  // Reference: f32 on the CPU over the same (rounded) inputs: math, or the CPU flash kernel (tested against math)
  // when math's (B, H, Tq, Tk) f32 scores would pass 256 MiB.
  bool small = 4.0 * s[0] * s[1] * s[2] * Tk <= 256.0 * (1 << 20);
  Inputs ref = make_inputs(a, s, Tk, dt, Device{}, small ? attention::Backend::math : attention::Backend::flash);
  attention::SdpaOptions ro = ref.options;
  if (ro.mask.defined() && ro.mask.dtype() != DType::boolean) ro.mask = ops::cast(ro.mask, DType::f32);
  Tensor want = attention::sdpa(ops::cast(ref.q, DType::f32), ops::cast(ref.k, DType::f32), ops::cast(ref.v, DType::f32), ro);
  std::vector<float> g = got.to_float_vector(), w = want.to_float_vector();
  double max_abs = 0, max_ref = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    max_abs = std::max(max_abs, (double)std::fabs(g[i] - w[i]));
    max_ref = std::max(max_ref, (double)std::fabs(w[i]));
  }
  double flops = 4.0 * s[0] * s[1] * s[2] * Tk * s[3] * (a.mask == "causal" ? 0.5 : 1.0);
  nlohmann::json t = time_ms([&] { return attention::sdpa(in.q, in.k, in.v, in.options); }, dev, a.warmup, a.reps);
  attention::SdpaOptions mo = in.options;
  mo.backend = attention::Backend::math;
  nlohmann::json tm = time_ms([&] { return attention::sdpa(in.q, in.k, in.v, mo); }, dev, a.warmup, a.reps);
  double ms = t["median_ms"].get<double>(), math_ms = tm["median_ms"].get<double>();
  return {{"backend", attention::backend_name(chosen)}, {"time", t}, {"tflops", flops / (ms * 1e9)},
          {"math_time", tm}, {"speedup_vs_math", math_ms / ms},
          {"reference", small ? "math f32 cpu" : "flash f32 cpu"},
          {"error_vs_reference", {{"max_abs", max_abs}, {"normalised", max_abs / std::max(max_ref, 1e-30)}}}};
}

void run_sdpa(const SdpaArgs& a) {
  Shape s = parse_shape(a.shape);
  int64_t Tk = a.kv_len > 0 ? a.kv_len : s[2];
  std::optional<DType> dt = dtype_from_name(a.dtype);
  TESSERA_CHECK(dt && (*dt == DType::f32 || *dt == DType::f16 || *dt == DType::bf16),
                "sdpa: --dtype must be f32, f16 or bf16, got '{}'", a.dtype);
  std::optional<attention::Backend> backend = attention::backend_from_name(a.backend);
  TESSERA_CHECK(backend.has_value(), "sdpa: unknown --backend '{}' (auto, math, memory_efficient, flash, varlen, flash_hopper)",
                a.backend);
  Device dev = a.run ? parse_device(a.device) : device_of(a.device);
  attention::SdpaProblem p{.batch = s[0], .heads = s[1], .q_len = s[2], .k_len = Tk, .head_dim = s[3], .dtype = *dt,
                           .device = dev};
  p.mask = a.mask == "additive" ? attention::MaskKind::additive
           : a.mask == "boolean" ? attention::MaskKind::boolean
                                 : attention::MaskKind::none;
  p.mask_dtype = a.mask == "boolean" ? DType::boolean : *dt;
  p.key_lengths = a.mask == "padding";
  p.causal = a.mask == "causal";
  p.skip_padded_queries = a.skip_padded_queries;
  attention::Explanation e = attention::sdpa_explain(p, *backend);
  nlohmann::json out{{"explain", e.to_json()}};
  if (a.run) {
    const attention::BackendReport* r = nullptr;
    for (const auto& rep : e.backends)
      if (rep.backend == e.chosen) r = &rep;
    TESSERA_CHECK(r && r->ok(), "sdpa: --run: backend '{}' cannot run this call:\n{}", attention::backend_name(e.chosen),
                  e.to_string());
    out["run"] = run_and_compare(a, s, Tk, *dt, dev, e.chosen);
  }
  if (a.json) {
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  if (a.explain || !a.run) std::printf("%s", e.to_string().c_str());
  if (a.run) {
    const nlohmann::json& r = out["run"];
    std::printf("run: %s on %s, median %.3f ms (p10 %.3f, p90 %.3f), %.2f TFLOP/s; math %.3f ms (%.2fx)\n",
                r["backend"].get<std::string>().c_str(), to_string(dev).c_str(), r["time"]["median_ms"].get<double>(),
                r["time"]["p10_ms"].get<double>(), r["time"]["p90_ms"].get<double>(), r["tflops"].get<double>(),
                r["math_time"]["median_ms"].get<double>(), r["speedup_vs_math"].get<double>());
    std::printf("error vs %s: max abs %.3g, normalised %.3g\n", r["reference"].get<std::string>().c_str(),
                r["error_vs_reference"]["max_abs"].get<double>(), r["error_vs_reference"]["normalised"].get<double>());
  }
}
}  // namespace

void register_sdpa(CLI::App& app) {
  auto a = std::make_shared<SdpaArgs>();
  auto* cmd = app.add_subcommand("sdpa", "Explain (and --run) the scaled-dot-product-attention backend choice for a shape");
  cmd->add_flag("--explain", a->explain, "Print every backend with every failed check (the default without --run)");
  cmd->add_option("--shape", a->shape, "B,H,T,D: batch, heads, query tokens, head dim (default 2,12,128,64)");
  cmd->add_option("--kv-len", a->kv_len, "Key/value tokens Tk (default T)")->check(CLI::PositiveNumber);
  cmd->add_option("--dtype", a->dtype, "f16 (default), bf16 or f32");
  cmd->add_option("--mask", a->mask, "none (default), causal, padding (key lengths: the fast path), additive or boolean "
                                     "(padding as a (B, 1, 1, Tk) mask)")
      ->check(CLI::IsMember({"none", "causal", "padding", "additive", "boolean"}));
  cmd->add_flag("--skip-padded-queries", a->skip_padded_queries,
                "With --mask padding: padded query rows may be zeros (enables the varlen backend)");
  cmd->add_option("--device", a->device, "cpu (default), cuda or cuda:N");
  cmd->add_option("--backend", a->backend, "auto (default), math, memory_efficient, flash, varlen or flash_hopper");
  cmd->add_flag("--run", a->run, "Run the chosen backend on random data: time (vs math) and error vs an f32 CPU reference");
  cmd->add_option("--reps", a->reps, "Timed repetitions with --run (default 10)")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", a->warmup, "Warm-up runs with --run (default 2)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", a->seed, "Random seed of the --run inputs (default 0)");
  cmd->add_flag("--json", a->json, "Print JSON: {\"explain\": {...}, \"run\": {...}}");
  cmd->footer("TESSERA_SDPA_LOG=1 (any command) prints each distinct attention call's explanation once to stderr.");
  cmd->callback([a] { run_sdpa(*a); });
}

}  // namespace tessera::cli
