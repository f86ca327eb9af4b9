// `tessera bench bert-vs-mamba` report writer: Markdown tables (results, ratios, tokenization, crossover),
// the JSON record, and the throughput/memory plots over max_length (bert_vs_mamba_report.h).
#include "bench/bert_vs_mamba_report.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bench/length_sweep.h"
#include "bench/peer.h"
#include "bench/svg_plot.h"
#include "tessera/error.h"

namespace tessera::bench {

namespace {
std::string label(const Row& r) { return r.variant.empty() ? r.engine : r.engine + " " + r.variant; }
std::string pstr(const Row& r, const char* k) {
  return r.params.contains(k) && r.params[k].is_string() ? r.params[k].get<std::string>() : std::string();
}
double pnum(const Row& r, const char* k) {
  return r.params.contains(k) && r.params[k].is_number() ? r.params[k].get<double>() : -1.0;
}
bool ok(const Row& r) { return pstr(r, "status") == "ok"; }
std::string series_name(const Row& r) { return pstr(r, "model_name") + " " + label(r); }

std::vector<const Row*> all_rows(const SweepReport& s) {
  std::vector<const Row*> v;
  for (const Row& r : s.report.rows) v.push_back(&r);
  for (const Peer& p : s.report.peers)
    for (const Row& r : p.rows) v.push_back(&r);
  return v;
}

// Rows grouped into series (model_name + engine + variant), in first-seen order.
std::vector<std::pair<std::string, std::vector<const Row*>>> series_of(const SweepReport& s) {
  std::vector<std::pair<std::string, std::vector<const Row*>>> out;
  for (const Row* r : all_rows(s)) {
    std::string n = series_name(*r);
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == n; });
    if (it == out.end()) out.push_back({n, {r}});
    else it->second.push_back(r);
  }
  return out;
}

std::string fixed(double v, int d) { return v < 0 ? "n/a" : fmt::format("{:.{}f}", v, d); }

// Crossovers of samples/s: for each engine, every (BERT series, Mamba series) pair of that engine.
struct CrossoverLine {
  std::string bert, mamba, text;
  Crossover c;
};
std::vector<CrossoverLine> crossovers(const SweepReport& s) {
  std::vector<CrossoverLine> out;
  auto ser = series_of(s);
  std::vector<double> xs(s.lengths.begin(), s.lengths.end());
  auto values = [&](const std::vector<const Row*>& rows) {
    std::vector<double> v(xs.size(), 0.0);
    for (const Row* r : rows)
      for (std::size_t i = 0; i < xs.size(); ++i)
        if (pnum(*r, "max_length") == xs[i] && ok(*r)) v[i] = throughput_of(*r, "samples/s");
    return v;
  };
  for (const auto& [bn, brows] : ser) {
    if (pstr(*brows[0], "model") != "bert") continue;
    for (const auto& [mn, mrows] : ser) {
      if (pstr(*mrows[0], "model") != "mamba" || mrows[0]->engine != brows[0]->engine) continue;
      Crossover c = crossover(xs, values(brows), values(mrows));
      out.push_back({bn, mn, c.describe(mn, bn, "tokens (max_length)"), c});
    }
  }
  return out;
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p);
  f << text;
  TESSERA_CHECK((bool)f, "bench: could not write '{}'", p.string());
}
}  // namespace

double throughput_of(const Row& r, const std::string& name) {
  for (const auto& [n, v] : r.throughput)
    if (n == name) return v;
  return 0.0;
}

Json sweep_json(const SweepReport& s) {
  Json j = to_json(s.report);
  j["lengths"] = s.lengths;
  j["settings"] = s.settings;
  Json rat = Json::array(), best = Json::array();
  auto bytes_ratio = [](const std::optional<int64_t>& a, const std::optional<int64_t>& b) {
    return a && b && *b > 0 ? Json((double)*a / (double)*b) : Json(nullptr);
  };
  for (const Row& o : s.report.rows) {
    const Row* fastest = nullptr;
    for (const Peer& p : s.report.peers)
      for (const Row& r : p.rows) {
        if (r.key != o.key || !ok(r) || !ok(o)) continue;
        double ps = throughput_of(r, "samples/s");
        rat.push_back({{"key", o.key}, {"ours", label(o)}, {"peer", label(r)},
                       {"samples_per_s_ratio", ps > 0 ? Json(throughput_of(o, "samples/s") / ps) : Json(nullptr)},
                       {"rss_ratio", bytes_ratio(o.rss_peak_bytes, r.rss_peak_bytes)},
                       {"tensor_peak_ratio", bytes_ratio(o.tensor_peak_bytes, r.tensor_peak_bytes)}});
        if (ps > 0 && (!fastest || ps > throughput_of(*fastest, "samples/s"))) fastest = &r;
      }
    if (fastest)
      best.push_back({{"key", o.key}, {"ours", label(o)}, {"fastest_peer", label(*fastest)},
                      {"samples_per_s_ratio", throughput_of(o, "samples/s") / throughput_of(*fastest, "samples/s")}});
  }
  j["throughput_ratios"] = rat;
  j["best_peer_throughput_ratios"] = best;
  Json cx = Json::array();
  for (const CrossoverLine& c : crossovers(s))
    cx.push_back({{"bert", c.bert}, {"mamba", c.mamba},
                  {"kind", c.c.kind == Crossover::Kind::none ? "none" : c.c.kind == Crossover::Kind::between ? "between" : "before_first"},
                  {"length", c.c.kind == Crossover::Kind::none ? Json(nullptr) : Json(c.c.x)}, {"text", c.text}});
  j["crossover"] = cx;
  return j;
}

std::string sweep_markdown(const SweepReport& s) {
  const Report& r = s.report;
  std::string md = fmt::format("# {}\n\nCommand:\n\n```\n{}\n```\n\n", r.title, r.command);
  md += "## Setup\n\n";
  for (const auto& [k, v] : s.settings.items()) md += fmt::format("- {}: {}\n", k, v.is_string() ? v.get<std::string>() : v.dump());

  md += "\n## Results\n\nOne row per (model, max_length, engine): the whole sample once, in batches (after the warmup "
        "batches). Throughput = figure / total timed seconds; latency percentiles over the batches.\n\n"
        "| model | engine | max len | accuracy | samples/s | real tok/s | padded tok/s | p50 ms | p95 ms | tensor peak | "
        "RSS peak | padding | kernels | status |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n";
  for (const Row* x : all_rows(s)) {
    bool good = ok(*x);
    double acc = x->params.contains("accuracy") && x->params["accuracy"].is_number() ? x->params["accuracy"].get<double>() : -1;
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", pstr(*x, "model_name"),
                      label(*x), (int64_t)pnum(*x, "max_length"), acc < 0 ? "—" : fixed(acc, 3),
                      good ? fixed(throughput_of(*x, "samples/s"), 2) : "—", good ? fixed(throughput_of(*x, "real tok/s"), 0) : "—",
                      good ? fixed(throughput_of(*x, "padded tok/s"), 0) : "—", good ? fixed(x->latency.median, 1) : "—",
                      good ? fixed(pnum(*x, "latency_p95_ms"), 1) : "—", format_bytes(x->tensor_peak_bytes.value_or(-1)),
                      good ? format_bytes(x->rss_peak_bytes.value_or(-1)) : "—",
                      pnum(*x, "padding_fraction") < 0 ? "n/a" : fmt::format("{:.1f}%", 100 * pnum(*x, "padding_fraction")),
                      pstr(*x, "kernels"), pstr(*x, "status"));
  }

  std::string ratio_rows, best_rows;
  Json sj = sweep_json(s);
  auto times = [](const Json& v) { return v.is_null() ? std::string("n/a") : fmt::format("{:.2f}x", v.get<double>()); };
  for (const Json& j : sj["throughput_ratios"])
    ratio_rows += fmt::format("| {} | {} | {} | {} | {} | {} |\n", j["key"].get<std::string>(), j["ours"].get<std::string>(),
                              j["peer"].get<std::string>(), times(j["samples_per_s_ratio"]), times(j["rss_ratio"]),
                              times(j["tensor_peak_ratio"]));
  for (const Json& j : sj["best_peer_throughput_ratios"])
    best_rows += fmt::format("| {} | {} | {} | {} |\n", j["key"].get<std::string>(), j["ours"].get<std::string>(),
                             j["fastest_peer"].get<std::string>(), times(j["samples_per_s_ratio"]));
  if (!ratio_rows.empty())
    md += "\n## Tessera / PyTorch\n\nthroughput = Tessera samples/s / PyTorch samples/s (> 1: Tessera faster); RSS = Tessera "
          "peak RSS / PyTorch's, tensor = Tessera's allocator peak / PyTorch's (torch.cuda.max_memory_allocated on a GPU) "
          "(< 1: Tessera uses less).\n\n| key | ours | peer | throughput | RSS | tensor |\n|---|---|---|--:|--:|--:|\n" +
          ratio_rows +
          "\nAgainst the fastest PyTorch variant of each key:\n\n| key | ours | fastest peer | throughput |\n|---|---|---|--:|\n" +
          best_rows;
  for (const Peer& p : r.peers)
    if (p.status != "ok") md += fmt::format("\nPeer {}: {}\n", p.name, p.status);

  md += "\n## Crossover (samples/s)\n\n";
  auto cx = crossovers(s);
  if (cx.empty()) md += "No BERT/Mamba pair of the same engine was measured.\n";
  for (const CrossoverLine& c : cx) md += "- " + c.text + "\n";

  md += "\n## Tokenization (seconds for the whole sample, reported separately: not in the throughput above)\n\n"
        "| model | engine | max len | tokenize s |\n|---|---|--:|--:|\n";
  for (const Row* x : all_rows(s))
    if (pnum(*x, "tokenize_s") >= 0)
      md += fmt::format("| {} | {} | {} | {:.3f} |\n", pstr(*x, "model_name"), label(*x), (int64_t)pnum(*x, "max_length"),
                        pnum(*x, "tokenize_s"));

  md += "\n## Plots\n\n![throughput](throughput.svg)\n\n![memory](memory.svg)\n";

  const Environment& e = r.environment;
  md += "\n## Environment\n\n";
  md += fmt::format("- git: {}\n- date: {}\n- build: {}\n- compiler: {}\n", e.git_sha, e.date, e.build_type, e.compiler);
  md += fmt::format("- device: {}\n", device_line(e));
  md += fmt::format("- threads: Tessera kernels {}, OpenBLAS {}\n- BLAS: {}\n", e.threads, e.blas_threads, e.blas);
  md += fmt::format("- load average at start: {}\n", e.host_load);
  for (const auto& [k, v] : e.env) md += fmt::format("- {}={}\n", k, v);
  for (const Peer& p : r.peers)
    if (p.environment.contains("engine"))
      md += fmt::format("- peer {}: {}\n", p.name, p.environment["engine"].get<std::string>());
  for (const auto& [title, body] : r.sections) md += fmt::format("\n## {}\n\n{}", title, body);
  if (!r.notes.empty()) {
    md += "\n## Notes\n\n";
    for (const std::string& n : r.notes) md += fmt::format("- {}\n", n);
  }
  return md;
}

void write_sweep_partial(const SweepReport& r, const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  TESSERA_CHECK(!ec, "bench: cannot create --out directory '{}': {}", dir.string(), ec.message());
  SweepReport partial = r;
  partial.report.notes.insert(partial.report.notes.begin(),
                              "PARTIAL REPORT: written while the run was still going; later rows, peers and the plots are "
                              "missing (the run was cut off if this note remains)");
  write_file(dir / "report.md", sweep_markdown(partial));
  write_file(dir / "report.json", sweep_json(partial).dump(2) + "\n");
}

std::vector<std::filesystem::path> write_sweep_report(SweepReport& s, const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  TESSERA_CHECK(!ec, "bench: cannot create --out directory '{}': {}", dir.string(), ec.message());
  std::vector<std::filesystem::path> written;

  // Plots: one series per model and engine; peers dashed. Memory: peak RSS of every engine + Tessera's tensor peak.
  std::vector<PlotSeries> tp, mem;
  int color = 0;
  for (const auto& [name, rows] : series_of(s)) {
    bool peer = rows[0]->engine != "tessera";
    PlotSeries t{.name = name, .dashed = peer, .color = color}, m{.name = name + " (RSS)", .dashed = peer, .color = color},
        tensor{.name = name + " (tensors)", .dashed = true, .color = color};
    for (const Row* r : rows) {
      if (!ok(*r)) continue;
      double x = pnum(*r, "max_length");
      t.points.emplace_back(x, throughput_of(*r, "samples/s"));
      if (r->rss_peak_bytes) m.points.emplace_back(x, (double)*r->rss_peak_bytes / (1024.0 * 1024.0));
      if (r->tensor_peak_bytes) tensor.points.emplace_back(x, (double)*r->tensor_peak_bytes / (1024.0 * 1024.0));
    }
    tp.push_back(t);
    mem.push_back(m);
    if (!tensor.points.empty()) mem.push_back(tensor);
    ++color;
  }
  const Environment& env = s.report.environment;
  const std::string dev = env.device == "cpu" ? env.cpu_model
                                              : env.gpu_name.empty() ? env.device_description : env.gpu_name;
  std::pair<std::string, std::string> plots[] = {
      {"throughput", line_plot_svg(tp, {.title = "Throughput vs max_length (" + dev + ")", .x_label = "max_length (tokens)",
                                        .y_label = "samples/s"})},
      {"memory", line_plot_svg(mem, {.title = "Peak memory vs max_length (" + dev + ")", .x_label = "max_length (tokens)",
                                     .y_label = "MiB"})}};
  for (const auto& [stem, svg] : plots) {
    write_file(dir / (stem + ".svg"), svg);
    written.push_back(dir / (stem + ".svg"));
  }

  // Both engines must have run the same tokens: a tokenizer disagreement would make the rows incomparable.
  for (const Row& o : s.report.rows)
    for (const Peer& p : s.report.peers)
      for (const Row& r : p.rows)
        if (r.key == o.key && pnum(r, "real_tokens") != pnum(o, "real_tokens"))
          s.report.notes.push_back(fmt::format("warning: {}: Tessera tokenized {} real tokens, {} {} tokenized {}: the "
                                               "tokenizers disagree, compare these rows with care", o.key,
                                               pnum(o, "real_tokens"), p.name, r.variant, pnum(r, "real_tokens")));

  // PNGs: rsvg-convert, else matplotlib through the peer script (it replots from report.json).
  write_file(dir / "report.json", sweep_json(s).dump(2) + "\n");
  std::string why, used = svg_to_png((dir / "throughput.svg").string(), (dir / "throughput.png").string(), why);
  if (!used.empty()) svg_to_png((dir / "memory.svg").string(), (dir / "memory.png").string(), why);
  if (used.empty() && std::system("python3 -c 'import matplotlib' >/dev/null 2>&1") == 0) {
    std::string cmd = "python3 " + shell_quote(peer_script("bert_vs_mamba.py").string()) + " --plot-png " +
                      shell_quote(dir.string()) + " >&2";
    if (std::system(cmd.c_str()) == 0) used = "matplotlib (replotted from report.json)";
    else why += "; matplotlib replot failed";
  } else if (used.empty()) {
    why += "; python3 matplotlib not installed";
  }
  s.report.notes.push_back(used.empty() ? "PNG skipped: " + why : "PNG plots written with " + used);
  s.settings["png"] = used.empty() ? "skipped: " + why : used;
  if (!used.empty())
    for (const char* p : {"throughput.png", "memory.png"})
      if (std::filesystem::exists(dir / p)) written.push_back(dir / p);

  write_file(dir / "report.md", sweep_markdown(s));
  write_file(dir / "report.json", sweep_json(s).dump(2) + "\n");
  written.insert(written.begin(), {dir / "report.md", dir / "report.json"});
  return written;
}

}  // namespace tessera::bench
