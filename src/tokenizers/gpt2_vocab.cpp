// GPT-2-style directories (vocab.json + merges.txt): the pipeline transformers' GPT2TokenizerFast builds —
// ByteLevel pre-tokenizer (add_prefix_space=false), byte-level BPE, "$A" template (no offset trimming),
// ByteLevel decoder and <|endoftext|> as a special token.
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tessera/error.h"
#include "tokenizers/bpe.h"
#include "tokenizers/tokenizer_impl.h"
#include "tokenizers/unicode.h"

namespace tessera::tokenizers {
namespace {

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  TESSERA_CHECK(in.good(), "tokenizer: cannot open {} (does the file exist and is it readable?)", path.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

Tokenizer Tokenizer::from_vocab_merges(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt) {
  const std::string vocab_source = vocab_json.string(), merges_source = merges_txt.string();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_all(vocab_json));
  } catch (const nlohmann::json::exception& e) {
    TESSERA_FAIL("{}: not valid JSON ({})", vocab_source, e.what());
  }
  TESSERA_CHECK(j.is_object(), "{}: expected a JSON object mapping tokens to ids", vocab_source);
  Vocab vocab;
  vocab.reserve(j.size());
  int32_t next_id = 0;
  for (const auto& [token, id] : j.items()) {
    TESSERA_CHECK(id.is_number_integer(), "{}: vocab entry '{}' must map to an integer id", vocab_source, token);
    vocab.emplace(token, id.get<int32_t>());
    next_id = std::max(next_id, id.get<int32_t>() + 1);
  }
  // merges.txt: "#version" lines skipped, then one "left right" pair per line (rank = order).
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<std::size_t> lines;
  std::istringstream in(read_all(merges_txt));
  std::size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.starts_with("#version") || line.empty()) continue;
    check_utf8(line, fmt::format("{}:{}", merges_source, number));
    const std::size_t space = line.find(' ');
    TESSERA_CHECK(space != std::string::npos && space > 0 && space + 1 < line.size() &&
                      line.find(' ', space + 1) == std::string::npos,
                  "{}:{}: a merge must be two tokens separated by one space, got '{}'", merges_source, number, line);
    merges.emplace_back(line.substr(0, space), line.substr(space + 1));
    lines.push_back(number);
  }
  auto impl = std::make_unique<Impl>();
  impl->pre_tokenizer = std::make_unique<ByteLevelPreTokenizer>(/*add_prefix_space=*/false, /*use_regex=*/true);
  const std::string eos = "<|endoftext|>";
  auto eos_it = vocab.find(eos);
  const int64_t eos_id = eos_it != vocab.end() ? eos_it->second : next_id;
  impl->model = std::make_unique<Bpe>(std::move(vocab), merges, BpeOptions{.byte_level = true}, merges_source, &lines);
  impl->added.add({.content = eos, .id = eos_id, .normalized = false, .special = true});
  impl->added.build(nullptr);
  impl->post_processor = TemplateProcessing({{true, 0, "", 0}}, {{true, 0, "", 0}, {true, 1, "", 1}}, {}, "GPT2TokenizerFast");
  impl->decoder = std::make_unique<ByteLevelDecoder>();
  impl->model_max_length = 1024;
  impl->pad_token = eos;
  impl->pad_id = eos_id;
  return Tokenizer(std::move(impl));
}

}  // namespace tessera::tokenizers
