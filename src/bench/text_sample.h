// Labelled text samples for benchmarks: a JSON-lines reader ({"text", "label"}, plain or .gz), a balanced random
// sample with a fixed seed (datasets such as IMDB's test split are sorted by label), and length lists.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tessera::bench {

struct Example {
  std::string text;
  int64_t label;
};

// Every line of a .jsonl or .jsonl.gz file; errors name the file and line.
std::vector<Example> read_examples(const std::string& path);

// samples: a count (the same number per label, the remainder to the smallest labels) or "all"; shuffled with seed.
std::vector<Example> balanced_sample(std::vector<Example> all, const std::string& samples, uint64_t seed);

// "256,512,1024" -> ascending unique lengths (each >= 2); `what` names the option in errors.
std::vector<int64_t> parse_lengths(const std::string& s, const std::string& what);

}  // namespace tessera::bench
