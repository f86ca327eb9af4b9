// Benchmark harness: timing loop and statistics, rows and peer ratios, Markdown/JSON reports.
// The run's environment (git, CPU, BLAS, env vars) is captured in environment.cpp.
#include "bench/harness.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tessera/error.h"

namespace tessera::bench {

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0.0;
  double pos = std::clamp(q, 0.0, 1.0) * (double)(sorted.size() - 1);
  std::size_t lo = (std::size_t)pos, hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - (double)lo);
}

Stats summarize(std::vector<double> samples_ms) {
  Stats s;
  if (samples_ms.empty()) return s;
  std::sort(samples_ms.begin(), samples_ms.end());
  s.reps = (int)samples_ms.size();
  s.median = percentile(samples_ms, 0.5);
  s.p10 = percentile(samples_ms, 0.1);
  s.p90 = percentile(samples_ms, 0.9);
  s.mean = std::accumulate(samples_ms.begin(), samples_ms.end(), 0.0) / (double)samples_ms.size();
  s.min = samples_ms.front();
  s.max = samples_ms.back();
  return s;
}

Stats measure(const std::function<void()>& fn, const MeasureOptions& o) {
  using Clock = std::chrono::steady_clock;
  auto warm_start = Clock::now();
  for (int i = 0; i < o.warmup || (o.warmup_min_s > 0 && std::chrono::duration<double>(Clock::now() - warm_start).count() <
                                                             o.warmup_min_s);
       ++i)
    fn();
  std::vector<double> samples;
  auto start = Clock::now();
  auto elapsed_s = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  while ((int)samples.size() < std::max(o.min_reps, 1) || elapsed_s() < o.min_time_s) {
    if ((int)samples.size() >= o.max_reps) break;
    auto t0 = Clock::now();
    fn();
    samples.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return summarize(std::move(samples));
}

std::vector<std::pair<std::string, double>> throughput_from(const Stats& s,
                                                            const std::vector<std::pair<std::string, double>>& items_per_iter) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [name, items] : items_per_iter) out.emplace_back(name, s.median > 0 ? items / (s.median / 1e3) : 0.0);
  return out;
}

namespace {
Json stats_json(const Stats& s) {
  return Json{{"reps", s.reps}, {"median", s.median}, {"p10", s.p10}, {"p90", s.p90},
              {"mean", s.mean}, {"min", s.min},       {"max", s.max}};
}

Json optional_json(const std::optional<int64_t>& v) { return v ? Json(*v) : Json(nullptr); }

// A field of a peer's JSON row, with an error that names the row and the field.
const nlohmann::ordered_json& field(const Json& j, const char* name, const std::string& where) {
  TESSERA_CHECK(j.is_object() && j.contains(name), "bench: peer row {} has no field '{}' (peer script out of date?)",
                where, name);
  return j.at(name);
}

std::optional<int64_t> optional_bytes(const Json& j, const char* name) {
  if (!j.contains(name) || j.at(name).is_null()) return std::nullopt;
  return j.at(name).get<int64_t>();
}

std::string label(const Row& r) { return r.variant.empty() ? r.engine : r.engine + " " + r.variant; }

std::string fixed(double v, int digits) { return fmt::format("{:.{}f}", v, digits); }

// Throughput names of a set of rows, in first-seen order (the Markdown table's columns).
std::vector<std::string> throughput_names(const std::vector<const Row*>& rows) {
  std::vector<std::string> names;
  for (const Row* r : rows)
    for (const auto& [name, v] : r->throughput)
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  return names;
}
}  // namespace

Json to_json(const Row& r) {
  Json t = Json::object();
  for (const auto& [name, v] : r.throughput) t[name] = v;
  return Json{{"key", r.key},
              {"engine", r.engine},
              {"variant", r.variant},
              {"latency_ms", stats_json(r.latency)},
              {"throughput", t},
              {"tensor_peak_bytes", optional_json(r.tensor_peak_bytes)},
              {"rss_peak_bytes", optional_json(r.rss_peak_bytes)},
              {"params", r.params}};
}

Row row_from_json(const Json& j) {
  Row r;
  std::string where = j.is_object() && j.contains("key") && j["key"].is_string() ? j["key"].get<std::string>() : "?";
  try {
    r.key = field(j, "key", where).get<std::string>();
    r.engine = field(j, "engine", where).get<std::string>();
    r.variant = j.value("variant", "");
    const Json& l = field(j, "latency_ms", where);
    r.latency = {.reps = field(l, "reps", where).get<int>(),
                 .median = field(l, "median", where).get<double>(),
                 .p10 = field(l, "p10", where).get<double>(),
                 .p90 = field(l, "p90", where).get<double>(),
                 .mean = l.value("mean", 0.0),
                 .min = l.value("min", 0.0),
                 .max = l.value("max", 0.0)};
    for (const auto& [name, v] : field(j, "throughput", where).items()) r.throughput.emplace_back(name, v.get<double>());
    r.tensor_peak_bytes = optional_bytes(j, "tensor_peak_bytes");
    r.rss_peak_bytes = optional_bytes(j, "rss_peak_bytes");
    if (j.contains("params")) r.params = j["params"];
  } catch (const nlohmann::json::exception& e) {
    TESSERA_FAIL("bench: peer row {} has a field of the wrong type: {}", where, e.what());
  }
  return r;
}

std::vector<Ratio> ratios(const std::vector<Row>& ours, const std::vector<Peer>& peers) {
  std::vector<Ratio> out;
  for (const Row& o : ours) {
    for (const Peer& p : peers) {
      for (const Row& r : p.rows) {
        if (r.key != o.key || o.latency.median <= 0) continue;
        Ratio x{.key = o.key, .ours = label(o), .peer = label(r), .speedup = r.latency.median / o.latency.median};
        if (o.rss_peak_bytes && r.rss_peak_bytes && *r.rss_peak_bytes > 0)
          x.rss_ratio = (double)*o.rss_peak_bytes / (double)*r.rss_peak_bytes;
        out.push_back(x);
      }
    }
  }
  return out;
}

std::vector<Ratio> best_peer_ratios(const std::vector<Row>& ours, const std::vector<Peer>& peers) {
  std::vector<Ratio> out;
  for (const Ratio& x : ratios(ours, peers)) {
    auto it = std::find_if(out.begin(), out.end(), [&](const Ratio& y) { return y.key == x.key && y.ours == x.ours; });
    if (it == out.end()) out.push_back(x);
    else if (x.speedup < it->speedup) *it = x;  // the lowest speedup = the fastest peer row
  }
  return out;
}

std::string format_bytes(int64_t bytes) {
  if (bytes < 0) return "n/a";
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  if (bytes < 1024LL * 1024 * 1024) return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024));
  return fmt::format("{:.2f} GiB", bytes / (1024.0 * 1024 * 1024));
}

Json to_json(const Report& r) {
  Json rows = Json::array(), peers = Json::array(), rat = Json::array();
  for (const Row& row : r.rows) rows.push_back(to_json(row));
  for (const Peer& p : r.peers) {
    Json prow = Json::array();
    for (const Row& row : p.rows) prow.push_back(to_json(row));
    peers.push_back(Json{{"name", p.name}, {"status", p.status}, {"environment", p.environment}, {"rows", prow}});
  }
  for (const Ratio& x : ratios(r.rows, r.peers))
    rat.push_back(Json{{"key", x.key}, {"ours", x.ours}, {"peer", x.peer}, {"speedup", x.speedup},
                       {"rss_ratio", x.rss_ratio ? Json(*x.rss_ratio) : Json(nullptr)}});
  Json best = Json::array();
  for (const Ratio& x : best_peer_ratios(r.rows, r.peers))
    best.push_back(Json{{"key", x.key}, {"ours", x.ours}, {"fastest_peer", x.peer}, {"speedup", x.speedup}});
  Json j{{"title", r.title}, {"command", r.command},  {"environment", to_json(r.environment)},
         {"rows", rows},     {"peers", peers},        {"ratios", rat},
         {"best_peer_ratios", best}, {"notes", r.notes}};
  for (const auto& [k, v] : r.extra.items()) j[k] = v;
  return j;
}

std::string to_markdown(const Report& r) {
  std::string md = fmt::format("# {}\n\nCommand:\n\n```\n{}\n```\n\n", r.title, r.command);
  std::vector<const Row*> all;
  for (const Row& row : r.rows) all.push_back(&row);
  for (const Peer& p : r.peers)
    for (const Row& row : p.rows) all.push_back(&row);
  std::vector<std::string> tp = throughput_names(all);

  md += "## Results\n\n| key | engine | median ms | p10 ms | p90 ms | reps |";
  for (const std::string& n : tp) md += fmt::format(" {} |", n);
  md += " tensor peak | RSS peak |\n|---|---|--:|--:|--:|--:|";
  for (std::size_t i = 0; i < tp.size(); ++i) md += "--:|";
  md += "--:|--:|\n";
  for (const Row* row : all) {
    md += fmt::format("| {} | {} | {} | {} | {} | {} |", row->key, label(*row), fixed(row->latency.median, 1),
                      fixed(row->latency.p10, 1), fixed(row->latency.p90, 1), row->latency.reps);
    for (const std::string& n : tp) {
      auto it = std::find_if(row->throughput.begin(), row->throughput.end(), [&](const auto& t) { return t.first == n; });
      md += it == row->throughput.end() ? " |" : fmt::format(" {} |", fixed(it->second, 1));
    }
    md += fmt::format(" {} | {} |\n", format_bytes(row->tensor_peak_bytes.value_or(-1)),
                      format_bytes(row->rss_peak_bytes.value_or(-1)));
  }

  std::vector<Ratio> rat = ratios(r.rows, r.peers);
  if (!rat.empty()) {
    md += "\n## Tessera / peer\n\nspeedup = peer median latency / ours (= our throughput / peer's; > 1: Tessera faster); "
          "RSS = our peak RSS / peer's (< 1: Tessera uses less).\n\n| key | ours | peer | speedup | RSS |\n|---|---|---|--:|--:|\n";
    for (const Ratio& x : rat)
      md += fmt::format("| {} | {} | {} | {}x | {} |\n", x.key, x.ours, x.peer, fixed(x.speedup, 2),
                        x.rss_ratio ? fixed(*x.rss_ratio, 2) + "x" : std::string("n/a"));
  }
  std::vector<Ratio> best = best_peer_ratios(r.rows, r.peers);
  if (best.size() < rat.size()) {  // some key has several peer variants: against the fastest of them
    md += "\n## Tessera / fastest peer variant\n\nPer key, the peer variant with the lowest median latency (eager, SDPA, "
          "torch.compile modes, ...).\n\n| key | ours | fastest peer | speedup |\n|---|---|---|--:|\n";
    for (const Ratio& x : best) md += fmt::format("| {} | {} | {} | {}x |\n", x.key, x.ours, x.peer, fixed(x.speedup, 2));
  }
  for (const Peer& p : r.peers)
    if (p.status != "ok") md += fmt::format("\nPeer {}: {}\n", p.name, p.status);

  const Environment& e = r.environment;
  md += "\n## Environment\n\n";
  md += fmt::format("- git: {}\n- date: {}\n- build: {}\n- compiler: {}\n", e.git_sha, e.date, e.build_type, e.compiler);
  md += fmt::format("- device: {}\n", device_line(e));
  md += fmt::format("- CPU: {} ({} cores usable; flags: {})\n", e.cpu_model, e.cores, fmt::join(e.cpu_flags, " "));
  md += fmt::format("- threads: Tessera kernels {}, OpenBLAS {}\n- BLAS: {}\n", e.threads, e.blas_threads, e.blas);
  md += fmt::format("- load average at start: {}\n", e.host_load);
  if (e.env.empty()) md += "- environment variables: none of the tracked ones set\n";
  for (const auto& [k, v] : e.env) md += fmt::format("- {}={}\n", k, v);
  for (const Peer& p : r.peers) {
    if (p.environment.empty()) continue;
    md += fmt::format("\nPeer {} environment:\n\n```json\n{}\n```\n", p.name, p.environment.dump(2));
  }
  for (const auto& [title, body] : r.sections) md += fmt::format("\n## {}\n\n{}", title, body);
  if (!r.notes.empty()) {
    md += "\n## Notes\n\n";
    for (const std::string& n : r.notes) md += fmt::format("- {}\n", n);
  }
  return md;
}

std::string summary_text(const Report& r) {
  std::string s;
  auto line = [&](const Row& row) {
    s += fmt::format("  {:<28} {:<16} median {:>9.1f} ms (p10 {:.1f}, p90 {:.1f}, {} reps)", row.key, label(row),
                     row.latency.median, row.latency.p10, row.latency.p90, row.latency.reps);
    for (const auto& [n, v] : row.throughput) s += fmt::format("  {:.1f} {}", v, n);
    if (row.rss_peak_bytes) s += fmt::format("  RSS {}", format_bytes(*row.rss_peak_bytes));
    s += "\n";
  };
  s += fmt::format("{} ({}, {} threads)\n", r.title,
                   r.environment.device == "cpu" ? r.environment.cpu_model : r.environment.device_description,
                   r.environment.threads);
  for (const Row& row : r.rows) line(row);
  for (const Peer& p : r.peers) {
    if (p.status != "ok") s += fmt::format("  peer {}: {}\n", p.name, p.status);
    for (const Row& row : p.rows) line(row);
  }
  for (const Ratio& x : ratios(r.rows, r.peers))
    s += fmt::format("  {}: {} vs {}: {:.2f}x {}\n", x.key, x.ours, x.peer, x.speedup,
                     x.speedup >= 1 ? "(Tessera faster)" : "(Tessera slower)");
  for (const std::string& n : r.notes) s += fmt::format("  note: {}\n", n);
  return s;
}

std::vector<std::filesystem::path> write_report(const Report& r, const std::filesystem::path& dir, const std::string& stem) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  TESSERA_CHECK(!ec, "bench: cannot create --out directory '{}': {}", dir.string(), ec.message());
  std::filesystem::path md = dir / (stem + ".md"), js = dir / (stem + ".json");
  std::ofstream(md) << to_markdown(r);
  std::ofstream(js) << to_json(r).dump(2) << "\n";
  TESSERA_CHECK(std::filesystem::exists(md) && std::filesystem::exists(js), "bench: could not write '{}' and '{}'",
                md.string(), js.string());
  return {md, js};
}

void write_partial_report(const Report& r, const std::string& dir, const std::string& stem) {
  if (dir.empty()) return;
  Report partial = r;
  partial.notes.insert(partial.notes.begin(), "PARTIAL REPORT: written while the run was still going; the rows and peers "
                                              "after this point are missing (the run was cut off if this note remains)");
  write_report(partial, dir, stem);
}

}  // namespace tessera::bench
