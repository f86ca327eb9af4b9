// `tessera bench bert-vs-mamba`: BERT vs Mamba sequence classification on a balanced IMDB sample over a sweep of
// max_length: accuracy (trained models), throughput, latency, memory, padding, kernels; PyTorch peer in the same run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <numeric>
#include <unistd.h>

#include "backends/backend.h"
#include "bench/bert_vs_mamba_report.h"
#include "bench/device_run.h"
#include "bench/length_sweep.h"
#include "bench/peer.h"
#include "bench/text_sample.h"
#include "cli/commands.h"
#include "cli/text_input.h"
#include "models/bert.h"
#include "models/layers/weights.h"
#include "models/mamba.h"
#include "tessera/io.h"
#include "tessera/tokenizer.h"

namespace tessera::cli {

namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using bench::Example;
const fs::path kSource = TESSERA_SOURCE_DIR, kShared = (kSource / ".." / "shared").lexically_normal();

struct Args {
  std::string bert, bert_config, mamba, mamba_config;
  std::string data = (kShared / "data" / "imdb" / "test.jsonl.gz").string();
  std::string samples = "256", max_length = "256,512,1024,2048,4096", dtype = "f32", device = "cpu", out;
  std::string peer = "python3", pooling = "masked_mean";
  uint64_t seed = 0;
  int64_t batch_size = 32;
  int warmup = 1, threads = 0;
  double peer_budget = 120, gpu_warmup = -1;  // gpu_warmup < 0: bench::default_gpu_warmup_s
  double peer_timeout = 0;                    // seconds per peer process (0: none)
  bool peer_compile = false, no_sort = false;
  std::string command;
};

// What to build for one side: a trained directory or a random-weight config ("base", "130m" or a JSON file).
struct ModelSpec {
  std::string kind, name, dir, config, tokenizer;  // kind: "bert" | "mamba"
  bool trained() const { return !dir.empty(); }
};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// --bert/--mamba, else --*-config, else the embedded defaults models/imdb-{bert,mamba}-small when present.
ModelSpec resolve_spec(const std::string& kind, const std::string& dir, const std::string& config) {
  ModelSpec s{.kind = kind};
  std::string preset = kind == "bert" ? "base" : "130m";
  fs::path embedded = kSource / "models" / fmt::format("imdb-{}-small", kind);
  if (!dir.empty()) s.dir = dir;
  else if (config.empty() && fs::exists(embedded / "config.json")) s.dir = embedded.string();
  TESSERA_CHECK(!s.dir.empty() || !config.empty(),
                "bench bert-vs-mamba: no {0} model: give --{0} DIR (a trained classifier) or --{0}-config {1}|FILE.json (random "
                "weights, speed and memory only); the default {2} does not exist yet", kind, preset, embedded.string());
  TESSERA_CHECK(dir.empty() || config.empty(), "bench bert-vs-mamba: give either --{0} or --{0}-config, not both", kind);
  if (s.trained()) {
    s.name = fs::path(s.dir).filename().string();
    s.tokenizer = s.dir;
    return s;
  }
  s.config = config;
  s.name = config == preset ? (kind == "bert" ? "bert-base" : "mamba-130m") : fs::path(config).stem().string();
  s.tokenizer = (kind == "bert" ? kShared / "tokenizers" / "bert-base-uncased" / "vocab.txt"
                                : kShared / "tokenizers" / "gpt-neox-20b" / "tokenizer.json").string();
  return s;
}

tokenizers::Tokenizer load_tokenizer(const ModelSpec& s) {
  if (s.trained()) return tokenizers::Tokenizer::from_dir(s.dir);
  if (s.kind == "bert") return tokenizers::Tokenizer::from_vocab(s.tokenizer);
  return tokenizers::Tokenizer::from_json_file(s.tokenizer);
}

// Builds the classifier; random BERT configs get a position table as long as the longest length.
std::unique_ptr<models::SequenceClassifier> build(const ModelSpec& s, const Args& a, DType dt, Device dev, int64_t longest,
                                                  std::vector<std::string>& notes) {
  models::MambaPooling pooling = a.pooling == "mean" ? models::MambaPooling::mean : models::MambaPooling::masked_mean;
  if (s.kind == "bert") {
    if (s.trained()) return models::BertForSequenceClassification::from_dir(s.dir, {.dtype = dt, .device = dev});
    models::BertConfig c = s.config == "base" ? models::BertConfig::base()
                                              : models::BertConfig::from_json(io::read_json_file(s.config), s.config);
    if (longest > c.max_position_embeddings) {
      notes.push_back(fmt::format("{}: the position table was enlarged from {} to {} rows (max_position_embeddings = the "
                                  "longest --max-length) so every length runs; random weights, speed and memory only",
                                  s.name, c.max_position_embeddings, longest));
      c.max_position_embeddings = longest;
    }
    return models::BertForSequenceClassification::from_config(c, a.seed, dt, dev);
  }
  if (s.trained()) return models::MambaForSequenceClassification::from_dir(s.dir, {.dtype = dt, .device = dev}, pooling);
  models::MambaConfig c = s.config == "130m" ? models::MambaConfig::mamba_130m()
                                             : models::MambaConfig::from_json(io::read_json_file(s.config), s.config);
  return std::make_unique<models::MambaForSequenceClassification>(models::Weights::random(a.seed, c.initializer_range, dt, dev),
                                                                  c, pooling);
}

// Tokenized examples cut into batches (length-sorted unless --no-sort), each right-padded to its longest.
struct Batches {
  std::vector<models::Batch> batches;
  std::vector<std::vector<int64_t>> labels;
  int64_t real = 0, padded = 0;
  double tokenize_s = 0;
};

Batches make_batches(const tokenizers::Tokenizer& tok, const std::vector<Example>& ex, int64_t L, const Args& a) {
  std::vector<std::string> texts;
  for (const Example& e : ex) texts.push_back(e.text);
  Batches out;
  auto t0 = Clock::now();
  std::vector<tokenizers::Encoding> enc = tok.encode_batch(
      texts, {.truncation = true, .max_length = (std::size_t)L, .padding = tokenizers::Padding::none});
  out.tokenize_s = seconds_since(t0);
  std::vector<std::size_t> order(ex.size());
  std::iota(order.begin(), order.end(), 0);
  if (!a.no_sort)
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return enc[x].size() < enc[y].size(); });
  int64_t pad = tok.pad_token_id();
  for (std::size_t s = 0; s < order.size(); s += (std::size_t)a.batch_size) {
    std::size_t e = std::min(order.size(), s + (std::size_t)a.batch_size);
    int64_t B = (int64_t)(e - s), T = 1;
    for (std::size_t i = s; i < e; ++i) T = std::max<int64_t>(T, (int64_t)enc[order[i]].size());
    std::vector<int64_t> ids(B * T, pad), mask(B * T, 0), types(B * T, 0), labels;
    for (int64_t b = 0; b < B; ++b) {
      const tokenizers::Encoding& x = enc[order[s + b]];
      for (std::size_t t = 0; t < x.size(); ++t) {
        ids[b * T + t] = x.ids[t];
        mask[b * T + t] = 1;
        types[b * T + t] = x.type_ids.empty() ? 0 : x.type_ids[t];
      }
      out.real += (int64_t)x.size();
      labels.push_back(ex[order[s + b]].label);
    }
    out.padded += B * T;
    out.batches.push_back({Tensor::from_values({B, T}, ids), Tensor::from_values({B, T}, mask), Tensor::from_values({B, T}, types)});
    out.labels.push_back(labels);
  }
  return out;
}

// One batch end to end: host ids in, logits copied back to the host, the device drained before the clock stops.
Tensor classify_on(const models::SequenceClassifier& m, const models::Batch& batch, Device dev) {
  Tensor logits = m.classify(batch).cpu();
  synchronize(dev);
  return logits;
}

std::size_t longest_batch(const Batches& b) {
  std::size_t longest = 0;
  for (std::size_t i = 0; i < b.batches.size(); ++i)
    if (b.batches[i].input_ids.size(1) > b.batches[longest].input_ids.size(1)) longest = i;
  return longest;
}

// Times one (model, length) row. Warm-up (untimed): the longest batch, traced for the kernel column, then on the
// CPU --warmup - 1 more runs of it, on a GPU --warmup passes over every batch (each batch length is its own shape
// for GEMM heuristics and allocator pools; the peer does the same). Then every batch once, timed.
bench::Row run_row(const models::SequenceClassifier& m, const ModelSpec& s, const Batches& b, int64_t L, int64_t asked,
                   const Args& a, Device dev, ProgressBar& bar, std::size_t& done, std::vector<std::string>& notes) {
  bool gpu = dev.type == DeviceType::cuda;
  std::size_t longest = longest_batch(b);
  std::vector<std::string> key_ops = s.kind == "bert" ? std::vector<std::string>{"linear", "matmul", "softmax", "layer_norm", "add_layer_norm"}
                                                      : std::vector<std::string>{"selective_scan", "causal_conv1d", "linear", "matmul"};
  std::string traced = bench::traced_kernels([&] { classify_on(m, b.batches[longest], dev); }, key_ops);
  for (int w = gpu ? 0 : 1; w < a.warmup; ++w) {
    if (!gpu) classify_on(m, b.batches[longest], dev);
    else
      for (const models::Batch& x : b.batches) classify_on(m, x, dev);
  }
  models::RunInfo ri = m.run_info();
  std::string kernels = fmt::format("{} {} ({})", ri.attention, ri.dtype, traced);
  if (s.kind == "mamba") kernels += a.pooling == "mean" ? ", mean pooling (padding included)" : ", masked mean pooling";

  backends::reset_host_fallbacks();
  bench::TensorPeak tensors(dev), host_tensors(Device{});
  bool rss_reset = bench::reset_peak_rss();
  std::vector<double> ms;
  int64_t correct = 0, n = 0;
  auto start = Clock::now();
  for (std::size_t i = 0; i < b.batches.size(); ++i) {
    auto t0 = Clock::now();
    Tensor logits = classify_on(m, b.batches[i], dev);
    ms.push_back(seconds_since(t0) * 1e3);
    std::vector<float> l = logits.to_float_vector();
    int64_t C = logits.size(1);
    for (std::size_t r = 0; r < b.labels[i].size(); ++r) {
      int64_t best = std::max_element(l.begin() + r * C, l.begin() + (r + 1) * C) - (l.begin() + r * C);
      correct += best == b.labels[i][r];
      ++n;
    }
    bar.update(++done);
  }
  double total = seconds_since(start);
  bench::Stats st = bench::summarize(ms);
  std::sort(ms.begin(), ms.end());
  bench::Row row{.key = fmt::format("{} L={} b={} {}", s.name, asked, a.batch_size, a.dtype), .engine = "tessera",
                 .variant = ri.attention, .latency = st,
                 .throughput = {{"samples/s", n / total}, {"real tok/s", b.real / total}, {"padded tok/s", b.padded / total}},
                 .tensor_peak_bytes = tensors.peak(), .rss_peak_bytes = bench::process_peak_rss_bytes()};
  std::string fallbacks = bench::host_fallbacks_text();
  if (!fallbacks.empty()) {
    kernels += "; host fallbacks: " + fallbacks;
    notes.push_back(bench::host_fallback_warning(row.key, dev));
  }
  row.params = {{"model", s.kind}, {"model_name", s.name}, {"max_length", asked}, {"effective_max_length", L},
                {"status", "ok"}, {"accuracy", s.trained() ? nlohmann::ordered_json((double)correct / n) : nlohmann::ordered_json(nullptr)},
                {"samples", n}, {"batches", (int64_t)b.batches.size()}, {"batch_size", a.batch_size}, {"dtype", a.dtype},
                {"device", to_string(dev)}, {"real_tokens", b.real}, {"padded_tokens", b.padded},
                {"padding_fraction", b.padded ? 1.0 - (double)b.real / (double)b.padded : 0.0},
                {"latency_p95_ms", bench::percentile(ms, 0.95)}, {"total_s", total}, {"tokenize_s", b.tokenize_s},
                {"kernels", kernels}, {"pooling", s.kind == "mamba" ? a.pooling : ""}, {"rss_peak_reset", rss_reset},
                {"activation_peak_bytes", tensors.activations()},
                {"host_tensor_peak_bytes", gpu ? nlohmann::ordered_json(host_tensors.peak()) : nlohmann::ordered_json(nullptr)},
                {"host_fallbacks", bench::host_fallbacks_json()},
                {"parameter_bytes", m.parameter_bytes()}, {"weights", s.trained() ? s.dir : "random (" + s.config + ")"}};
  return row;
}

// The PyTorch peer: one process per (model, variant) so each RSS peak is its own.
// Variants: BERT eager and sdpa, Mamba eager (transformers' own path); --peer-compile adds torch.compile of the
// SDPA model (default mode; on a GPU also reduce-overhead = CUDA graphs) and of the Mamba classifier.
void run_peer(bench::SweepReport& sr, const Args& a, const std::vector<ModelSpec>& specs, const std::vector<Example>& sample,
              int64_t longest, Device dev, double gpu_warmup, const std::string& out) {
  bool gpu = dev.type == DeviceType::cuda;
  std::string why, python = bench::resolve_python_peer(a.peer, why);
  bench::Peer peer{.name = "pytorch", .status = why.empty() ? "ok" : why};
  if (!python.empty() && a.dtype == "f16" && !gpu) {
    python.clear();
    peer.status = "absent: on the CPU the PyTorch peer runs f32 and bf16 only (f16 GEMM on CPU is not a fair comparison)";
  }
  if (python.empty()) {
    sr.report.notes.push_back("PyTorch peer: " + peer.status);
    sr.report.peers.push_back(peer);
    return;
  }
  fs::path data = fs::temp_directory_path() / fmt::format("tessera_bvm_{}.jsonl", ::getpid());
  {
    std::ofstream f(data);
    for (const Example& e : sample) f << nlohmann::json{{"text", e.text}, {"label", e.label}}.dump() << "\n";
  }
  for (const ModelSpec& s : specs) {
    std::vector<std::string> variants = s.kind == "bert" ? std::vector<std::string>{"eager", "sdpa"} : std::vector<std::string>{"eager"};
    if (a.peer_compile) variants.push_back(s.kind == "bert" ? "sdpa+compile" : "compile");
    if (a.peer_compile && gpu && s.kind == "bert") variants.push_back("sdpa+compile:reduce-overhead");
    for (const std::string& v : variants) {
      std::fprintf(stderr, "tessera bench: PyTorch peer: %s %s...\n", s.name.c_str(), v.c_str());
      std::vector<std::string> args = {
          "--model", s.kind, "--name", s.name, "--variant", v, "--tokenizer", s.tokenizer, "--data", data.string(),
          "--max-length", a.max_length, "--batch-size", std::to_string(a.batch_size), "--dtype", a.dtype,
          "--threads", std::to_string(backends::cpu_threads()), "--warmup", std::to_string(a.warmup),
          "--budget", std::to_string(a.peer_budget), "--seed", std::to_string(a.seed), "--pooling", a.pooling,
          "--max-positions", std::to_string(longest), "--key-template", s.name + " L={L} b=" + std::to_string(a.batch_size) + " " + a.dtype};
      args.insert(args.end(), {s.trained() ? "--dir" : "--config", s.trained() ? s.dir : s.config});
      args.insert(args.end(), {"--device", to_string(dev), "--warmup-seconds", fmt::format("{}", gpu_warmup)});
      // Per-row warm-up over every batch on a GPU (each length its own shape; compile needs it). Not for transformers'
      // eager Mamba: its Python loop over T has nothing per shape to warm, and a pass costs as much as the timing.
      if (gpu && (s.kind == "bert" || v.find("compile") != std::string::npos)) args.push_back("--warmup-all");
      if (a.no_sort) args.push_back("--no-sort");
      bench::merge_peer(peer, bench::run_python_peer(python, bench::peer_script("bert_vs_mamba.py"), args, "pytorch",
                                                     a.peer_timeout));
      bench::SweepReport partial = sr;
      partial.report.peers.push_back(peer);
      bench::write_sweep_partial(partial, out);
    }
  }
  std::filesystem::remove(data);
  sr.report.peers.push_back(peer);
}

// Note [GPU warm-up] (src/bench/device_run.cpp): on a GPU every length is tokenized first and each model runs the
// longest batch of every length, untimed, for --gpu-warmup seconds before its first timed row.
void run(const Args& a) {
  Device dev = bench::parse_bench_device(a.device, "bench bert-vs-mamba");
  bool gpu = dev.type == DeviceType::cuda;
  double gpu_warmup = a.gpu_warmup >= 0 ? a.gpu_warmup : bench::default_gpu_warmup_s(dev);
  auto dt = dtype_from_name(a.dtype);
  TESSERA_CHECK(dt && (*dt == DType::f32 || *dt == DType::f16 || *dt == DType::bf16),
                "bench bert-vs-mamba: --dtype must be f32, f16 or bf16, got '{}'", a.dtype);
  TESSERA_CHECK(a.pooling == "masked_mean" || a.pooling == "mean", "bench bert-vs-mamba: --mamba-pooling must be masked_mean or mean");
  std::vector<int64_t> lengths = bench::parse_lengths(a.max_length, "bench bert-vs-mamba: --max-length");
  std::vector<ModelSpec> specs = {resolve_spec("bert", a.bert, a.bert_config), resolve_spec("mamba", a.mamba, a.mamba_config)};
  bench::set_threads(a.threads);

  bench::SweepReport sr{.report = {.title = "bench bert-vs-mamba", .command = a.command, .environment = bench::capture_environment(dev)},
                        .lengths = lengths};
  std::vector<std::string>& notes = sr.report.notes;
  for (const std::string& w : bench::environment_warnings(sr.report.environment)) notes.push_back("warning: " + w);
  std::fprintf(stderr, "tessera bench: reading %s...\n", a.data.c_str());
  std::vector<Example> sample = bench::balanced_sample(bench::read_examples(a.data), a.samples, a.seed);
  std::map<int64_t, int64_t> per_label;
  for (const Example& e : sample) ++per_label[e.label];
  std::string counts;
  for (auto [l, c] : per_label) counts += fmt::format("{}label {}: {}", counts.empty() ? "" : ", ", l, c);
  sr.settings = {{"device", bench::device_line(sr.report.environment)}, {"data", a.data},
                 {"samples", fmt::format("{} (balanced random sample, seed {}; {})", sample.size(), a.seed, counts)},
                 {"batching", fmt::format("batch size {}, {}; each batch right-padded to its longest", a.batch_size,
                                          a.no_sort ? "sample order" : "length-sorted (as the text-classification pipeline)")},
                 {"dtype", a.dtype}, {"threads", backends::cpu_threads()},
                 {"timing", gpu ? "per batch on the host clock: host ids in, logits copied back, synchronize(device) before "
                                  "the clock stops (end to end; both engines)"
                                : "per batch on the host clock, logits included"},
                 {"warmup", gpu ? fmt::format("{:g} s per model over the longest batch of every length before its first timed "
                                              "row, then per row the longest batch (traced) and {} pass(es) over every batch",
                                              gpu_warmup, a.warmup)
                                : fmt::format("per row: {} run(s) of the longest batch (the first traced)", std::max(a.warmup, 1))},
                 {"mamba pooling", a.pooling}};
  for (const ModelSpec& s : specs)
    sr.settings[s.kind] = fmt::format("{} — {}; tokenizer {}", s.name, s.trained() ? "trained: " + s.dir : "random weights (" + s.config + "), no accuracy", s.tokenizer);

  std::size_t total = 0, done = 0;
  for (int64_t L : lengths) total += 2 * (std::size_t)((sample.size() + a.batch_size - 1) / a.batch_size), (void)L;
  ProgressBar bar("bench", total, 1);
  for (const ModelSpec& s : specs) {
    if (gpu) empty_cache(dev);  // the previous model's blocks go back to the driver
    std::fprintf(stderr, "tessera bench: building %s on %s...\n", s.name.c_str(), to_string(dev).c_str());
    tokenizers::Tokenizer tok = load_tokenizer(s);
    auto model = build(s, a, *dt, dev, lengths.back(), notes);
    std::vector<int64_t> effective;
    for (int64_t L : lengths) {
      effective.push_back(std::min(L, model->max_positions()));
      if (effective.back() < L)
        notes.push_back(fmt::format("{}: max_length {} truncated to {} (the checkpoint's position table)", s.name, L, effective.back()));
    }
    std::vector<Batches> ready(lengths.size());  // on a GPU: every length tokenized before the warm-up
    if (gpu) {
      for (std::size_t i = 0; i < lengths.size(); ++i) ready[i] = make_batches(tok, sample, effective[i], a);
      auto t0 = Clock::now();
      int passes = bench::warm_up([&] {
        for (const Batches& b : ready) classify_on(*model, b.batches[longest_batch(b)], dev);
      }, gpu_warmup);
      notes.push_back(fmt::format("{}: GPU warm-up before the first timed row: {} pass(es) over the longest batch of every "
                                  "length ({:.1f} s)", s.name, passes, seconds_since(t0)));
    }
    for (std::size_t i = 0; i < lengths.size(); ++i) {
      Batches b = gpu ? std::move(ready[i]) : make_batches(tok, sample, effective[i], a);
      sr.report.rows.push_back(run_row(*model, s, b, effective[i], lengths[i], a, dev, bar, done, notes));
    }
  }
  std::string out = a.out.empty() ? fmt::format("bench/results/{}-bert-vs-mamba-{}", bench::device_slug(sr.report.environment),
                                                sr.report.environment.date.substr(0, 10)) : a.out;
  bench::write_sweep_partial(sr, out);
  run_peer(sr, a, specs, sample, lengths.back(), dev, gpu_warmup, out);

  notes.push_back(
      "Mamba pooling: the reference mamba_ssm classifier takes backbone(input_ids).mean(dim=1), so on a padded batch the "
      "padding positions enter its mean. Tessera's Mamba classifier defaults to a mask-aware mean (masked_mean: equal to "
      "running each text unpadded); this run used '" + a.pooling + "' in Tessera and in the peer (docs/mamba.md).");
  notes.push_back(gpu ? "Memory on the GPU: tensor peak = Tessera's CUDA caching allocator's in-use peak during the timed "
                        "batches (weights included; reset before each row), PyTorch's = torch.cuda.max_memory_allocated "
                        "(reset before each row); RSS = host process peak (CUDA context, pinned staging, host copies)."
                      : "Peak RSS is reset before each row (/proc/self/clear_refs) but includes the loaded weights and "
                        "allocator caches; tensor peak is Tessera's allocator peak during the timed batches (weights included).");
  for (const fs::path& p : bench::write_sweep_report(sr, out)) std::fprintf(stderr, "  wrote %s\n", p.c_str());
  std::string md = bench::sweep_markdown(sr);
  std::printf("%s", md.substr(0, md.find("\n## Tokenization")).c_str());
}
}  // namespace

void register_bench_bert_vs_mamba(CLI::App& bench) {
  auto a = std::make_shared<Args>();
  auto* cmd = bench.add_subcommand("bert-vs-mamba", "BERT vs Mamba classification over max_length: accuracy, speed, memory");
  cmd->add_option("--bert", a->bert, "A trained BERT classifier directory (accuracy reported)");
  cmd->add_option("--bert-config", a->bert_config, "Random-weight BERT: 'base' or a config.json (speed and memory only)");
  cmd->add_option("--mamba", a->mamba, "A trained Mamba classifier directory (mamba_ssm or transformers layout)");
  cmd->add_option("--mamba-config", a->mamba_config, "Random-weight Mamba: '130m' or a config.json (speed and memory only)");
  cmd->add_option("--data", a->data, "JSON lines {text, label} (.jsonl or .jsonl.gz; default: the shared IMDB test split)");
  cmd->add_option("--samples", a->samples, "Balanced random sample size, or 'all' (default 256)");
  cmd->add_option("--seed", a->seed, "Seed of the sample and of random weights (default 0)");
  cmd->add_option("--batch-size", a->batch_size, "Texts per batch (default 32)")->check(CLI::PositiveNumber);
  cmd->add_option("--max-length", a->max_length, "Comma-separated truncation lengths (default 256,512,1024,2048,4096)");
  cmd->add_option("--dtype", a->dtype, "f32 (default), f16 (no peer on the CPU), bf16");
  cmd->add_option("--device", a->device, "cpu (default), cuda or cuda:N (a CUDA build with a GPU; the peer runs there too)");
  cmd->add_option("--warmup", a->warmup, "Per row, untimed: CPU: runs of the longest batch; GPU: passes over every batch "
                                         "(default 1)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--gpu-warmup", a->gpu_warmup, "GPU: seconds of untimed work per model before its first row (default 3)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", a->threads, "CPU threads for Tessera, OpenBLAS and the peer (default: all cores)");
  cmd->add_option("--out", a->out, "Report directory (default bench/results/<cpu-Ncore|cuda-<gpu>>-bert-vs-mamba-<date>)");
  cmd->add_option("--peer", a->peer, "python3 (default; or another interpreter) or none");
  cmd->add_option("--peer-budget", a->peer_budget, "Seconds per peer row before its longer rows are skipped (default 120)");
  cmd->add_option("--peer-timeout", a->peer_timeout, "Kill a peer process (one model and variant) after this many "
                                                     "seconds (default: no limit)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--peer-compile", a->peer_compile, "Also time torch.compile in the peer (dynamic shapes; on a GPU also "
                                                   "mode reduce-overhead; slow to compile on few cores)");
  cmd->add_flag("--no-sort", a->no_sort, "Batch in sample order instead of length-sorted (more padding)");
  cmd->add_option("--mamba-pooling", a->pooling, "masked_mean (default, = unpadded) or mean (the reference's, padding included)");
  cmd->callback([a] {
    a->command = bench::command_line();
    run(*a);
  });
}

}  // namespace tessera::cli
