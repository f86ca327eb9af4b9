// Labelled text samples for benchmarks (text_sample.h).
#include "bench/text_sample.h"

#include <algorithm>
#include <map>
#include <random>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include "tessera/error.h"

namespace tessera::bench {

// JSON lines {"text", "label"} from a .jsonl or .jsonl.gz file (gzread passes plain files through).
std::vector<Example> read_examples(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  TESSERA_CHECK(f != nullptr, "bench: cannot open --data '{}'", path);
  std::string all;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) all.append(buf, (std::size_t)n);
  gzclose(f);
  TESSERA_CHECK(n >= 0, "{}: read error (corrupt or truncated .gz?)", path);
  std::vector<Example> out;
  std::size_t start = 0, line = 0;
  while (start < all.size()) {
    std::size_t end = std::min(all.find('\n', start), all.size());
    std::string l = all.substr(start, end - start);
    start = end + 1, ++line;
    if (l.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(l, nullptr, /*allow_exceptions=*/false);
    TESSERA_CHECK(j.is_object() && j.contains("text") && j["text"].is_string() && j.contains("label") &&
                      j["label"].is_number_integer(),
                  "{}:{}: expected a JSON object with a string \"text\" and an integer \"label\"", path, line);
    out.push_back({j["text"].get<std::string>(), j["label"].get<int64_t>()});
  }
  TESSERA_CHECK(!out.empty(), "{}: no examples", path);
  return out;
}

// A balanced random sample: the same count per label (the split is sorted by label; never take the first N).
std::vector<Example> balanced_sample(std::vector<Example> all, const std::string& samples, uint64_t seed) {
  std::mt19937_64 rng(seed);
  if (samples == "all") {
    std::shuffle(all.begin(), all.end(), rng);
    return all;
  }
  int64_t n = 0;
  try {
    n = std::stoll(samples);
  } catch (const std::exception&) {
  }
  TESSERA_CHECK(n > 0, "bench: --samples must be a positive count or 'all', got '{}'", samples);
  std::map<int64_t, std::vector<std::size_t>> by_label;
  for (std::size_t i = 0; i < all.size(); ++i) by_label[all[i].label].push_back(i);
  std::vector<Example> out;
  int64_t k = (int64_t)by_label.size(), i = 0;
  for (auto& [label, idx] : by_label) {
    std::shuffle(idx.begin(), idx.end(), rng);
    int64_t take = n / k + (i++ < n % k ? 1 : 0);
    TESSERA_CHECK(take <= (int64_t)idx.size(), "bench: --samples {} needs {} examples of label {}, the data has {}",
                  n, take, label, idx.size());
    for (int64_t j = 0; j < take; ++j) out.push_back(all[idx[j]]);
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

std::vector<int64_t> parse_lengths(const std::string& s, const std::string& what) {
  std::vector<int64_t> v;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = std::min(s.find(',', start), s.size());
    std::string t = s.substr(start, end - start);
    int64_t x = 0;
    try {
      x = std::stoll(t);
    } catch (const std::exception&) {
    }
    TESSERA_CHECK(x >= 2, "{} takes lengths >= 2 separated by commas, got '{}'", what, s);
    v.push_back(x);
    start = end + 1;
  }
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace tessera::bench
