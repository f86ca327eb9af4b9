// Model directories: from_dir (tokenizer.json, else vocab.txt), tokenizer_config.json / special_tokens_map.json,
// and from_vocab, which builds the pipeline transformers' BertTokenizerFast would from vocab.txt.
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tessera/error.h"
#include "tokenizers/tokenizer_impl.h"
#include "tokenizers/unicode.h"

namespace tessera::tokenizers {
namespace {

using nlohmann::json;

std::optional<json> read_json(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  TESSERA_CHECK(in.good(), "tokenizer: cannot open {}", path.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  try {
    json j = json::parse(buffer.str());
    TESSERA_CHECK(j.is_object(), "{}: expected a JSON object at the top level", path.string());
    return j;
  } catch (const json::exception& e) {
    TESSERA_FAIL("{}: not valid JSON ({})", path.string(), e.what());
  }
}

// A special token is written either as "[CLS]" or as {"content": "[CLS]", ...}.
std::optional<std::string> token_name(const json& j, const char* key) {
  if (!j.contains(key)) return std::nullopt;
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

void apply_special_tokens(const json& j, VocabOptions& o) {
  if (auto t = token_name(j, "unk_token")) o.unk_token = *t;
  if (auto t = token_name(j, "sep_token")) o.sep_token = *t;
  if (auto t = token_name(j, "pad_token")) o.pad_token = *t;
  if (auto t = token_name(j, "cls_token")) o.cls_token = *t;
  if (auto t = token_name(j, "mask_token")) o.mask_token = *t;
  if (j.contains("additional_special_tokens") && j["additional_special_tokens"].is_array()) {
    o.additional_special_tokens.clear();
    for (const json& t : j["additional_special_tokens"]) {
      if (t.is_string()) o.additional_special_tokens.push_back(t.get<std::string>());
      else if (t.is_object() && t.contains("content") && t["content"].is_string())
        o.additional_special_tokens.push_back(t["content"].get<std::string>());
    }
  }
}

}  // namespace

TokenizerConfig read_tokenizer_config(const std::filesystem::path& dir) {
  TokenizerConfig config;
  if (auto map = read_json(dir / "special_tokens_map.json")) apply_special_tokens(*map, config.vocab);
  auto j = read_json(dir / "tokenizer_config.json");
  if (!j) return config;
  apply_special_tokens(*j, config.vocab);
  const std::string source = (dir / "tokenizer_config.json").string();
  auto boolean = [&](const char* key) -> std::optional<bool> {
    if (!j->contains(key) || (*j)[key].is_null()) return std::nullopt;
    TESSERA_CHECK((*j)[key].is_boolean(), "{}: \"{}\" must be true, false or null", source, key);
    return (*j)[key].get<bool>();
  };
  if (auto v = boolean("do_lower_case")) config.vocab.do_lower_case = *v;
  config.vocab.strip_accents = boolean("strip_accents");
  if (auto v = boolean("tokenize_chinese_chars")) config.vocab.tokenize_chinese_chars = *v;
  // transformers writes 1e30 (VERY_LARGE_INTEGER) when a checkpoint sets no limit: treat as unset.
  if (j->contains("model_max_length") && (*j)["model_max_length"].is_number()) {
    const double v = (*j)["model_max_length"].get<double>();
    if (v > 0 && v < 1e12) config.model_max_length = static_cast<std::size_t>(v);
  }
  if (j->contains("padding_side") && (*j)["padding_side"].is_string()) config.padding_side = (*j)["padding_side"].get<std::string>();
  if (config.model_max_length) config.vocab.model_max_length = *config.model_max_length;
  return config;
}

VocabOptions read_vocab_options(const std::filesystem::path& dir) { return read_tokenizer_config(dir).vocab; }

Tokenizer Tokenizer::from_vocab(const std::filesystem::path& vocab_txt, const VocabOptions& options) {
  std::ifstream in(vocab_txt, std::ios::binary);
  TESSERA_CHECK(in.good(), "tokenizer: cannot open {} (does the file exist and is it readable?)", vocab_txt.string());
  const std::string source = vocab_txt.string();
  Vocab vocab;
  std::string line;
  int32_t index = 0;
  while (std::getline(in, line)) {  // transformers' load_vocab: one token per line, only "\n" stripped
    check_utf8(line, source + " line " + std::to_string(index + 1));
    vocab[line] = index++;
  }
  TESSERA_CHECK(index > 0, "{}: the vocab is empty", source);
  auto impl = std::make_unique<Impl>();
  impl->normalizer = std::make_unique<BertNormalizer>(BertNormalizerOptions{
      .clean_text = true, .handle_chinese_chars = options.tokenize_chinese_chars,
      .strip_accents = options.strip_accents, .lowercase = options.do_lower_case});
  impl->pre_tokenizer = std::make_unique<BertPreTokenizer>();
  auto id_of = [&](const std::string& token) -> std::optional<int64_t> {
    auto it = vocab.find(token);
    return it == vocab.end() ? std::nullopt : std::optional<int64_t>(it->second);
  };
  const auto cls = id_of(options.cls_token), sep = id_of(options.sep_token);
  TESSERA_CHECK(cls && sep, "{}: cls_token '{}' and sep_token '{}' must be in the vocab", source, options.cls_token,
                options.sep_token);
  // BertConverter adds the special tokens in this order; those missing from the vocab are skipped.
  std::vector<std::string> specials{options.pad_token, options.unk_token, options.cls_token, options.sep_token,
                                    options.mask_token};
  specials.insert(specials.end(), options.additional_special_tokens.begin(), options.additional_special_tokens.end());
  for (const std::string& s : specials) {
    if (auto id = id_of(s); id && !impl->added.token_to_id(s)) {
      impl->added.add({.content = s, .id = *id, .normalized = false, .special = true});
    }
  }
  impl->model = std::make_unique<WordPiece>(std::move(vocab), WordPieceOptions{.unk_token = options.unk_token}, source);
  impl->post_processor = TemplateProcessing::bert(options.cls_token, *cls, options.sep_token, *sep);
  impl->decoder = std::make_unique<WordPieceDecoder>("##", true);
  impl->added.build(impl->normalizer.get());
  impl->model_max_length = options.model_max_length;
  impl->set_pad_token(options.pad_token);
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_dir(const std::filesystem::path& dir) {
  TESSERA_CHECK(std::filesystem::is_directory(dir), "tokenizer: {} is not a directory", dir.string());
  const TokenizerConfig config = read_tokenizer_config(dir);
  if (std::filesystem::exists(dir / "tokenizer.json")) {
    Tokenizer t = from_json_file(dir / "tokenizer.json");
    if (config.model_max_length) t.impl_->model_max_length = *config.model_max_length;
    if (config.padding_side) t.impl_->padding_side = *config.padding_side == "left" ? Side::left : Side::right;
    if (auto pad = token_name(read_json(dir / "tokenizer_config.json").value_or(json::object()), "pad_token")) {
      t.impl_->set_pad_token(*pad);
    }
    return t;
  }
  if (std::filesystem::exists(dir / "vocab.json") && std::filesystem::exists(dir / "merges.txt")) {
    Tokenizer t = from_vocab_merges(dir / "vocab.json", dir / "merges.txt");
    if (config.model_max_length) t.impl_->model_max_length = *config.model_max_length;
    if (config.padding_side) t.impl_->padding_side = *config.padding_side == "left" ? Side::left : Side::right;
    return t;
  }
  TESSERA_CHECK(std::filesystem::exists(dir / "vocab.txt"),
                "tokenizer: {} has neither tokenizer.json nor vocab.json + merges.txt nor vocab.txt", dir.string());
  Tokenizer t = from_vocab(dir / "vocab.txt", config.vocab);
  if (config.padding_side) t.impl_->padding_side = *config.padding_side == "left" ? Side::left : Side::right;
  return t;
}

}  // namespace tessera::tokenizers
