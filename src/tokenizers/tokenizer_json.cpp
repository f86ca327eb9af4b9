// Parses tokenizer.json into the pipeline: BertNormalizer, BertPreTokenizer, WordPiece, TemplateProcessing /
// BertProcessing, WordPiece decoder, added_tokens; byte-level BPE types come from bpe_json.cpp. Unsupported
// component types fail naming type and file.
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tessera/error.h"
#include "tokenizers/bpe.h"
#include "tokenizers/json_fields.h"
#include "tokenizers/tokenizer_impl.h"
#include "tokenizers/unicode.h"

namespace tessera::tokenizers {
namespace {

using nlohmann::json;

std::unique_ptr<Normalizer> parse_normalizer(const json& j, std::string_view source) {
  if (j.is_null()) return nullptr;
  const std::string type = type_of(j, source, "normalizer");
  if (type != "BertNormalizer") return parse_bpe_normalizer(j, source, parse_normalizer);
  BertNormalizerOptions o;
  o.clean_text = field(j, "clean_text", true, source, "normalizer");
  o.handle_chinese_chars = field(j, "handle_chinese_chars", true, source, "normalizer");
  if (j.contains("strip_accents") && !j["strip_accents"].is_null()) o.strip_accents = field(j, "strip_accents", false, source, "normalizer");
  o.lowercase = field(j, "lowercase", true, source, "normalizer");
  return std::make_unique<BertNormalizer>(o);
}

std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const json& j, std::string_view source) {
  if (j.is_null()) return nullptr;
  const std::string type = type_of(j, source, "pre_tokenizer");
  if (type != "BertPreTokenizer") return parse_bpe_pre_tokenizer(j, source);
  return std::make_unique<BertPreTokenizer>();
}

std::unique_ptr<Model> parse_model(const json& j, std::string_view source, bool byte_level) {
  TESSERA_CHECK(j.is_object(), "{}: \"model\" must be an object", source);
  // Old files omit the model type; WordPiece is recognised by its continuation prefix.
  const std::string type = j.contains("type") ? type_of(j, source, "model")
                           : j.contains("continuing_subword_prefix") ? "WordPiece" : "(missing)";
  if (type == "BPE") return parse_bpe_model(j, source, byte_level);
  TESSERA_CHECK(type == "WordPiece", "{}: model type '{}' is not supported yet (supported: WordPiece, BPE)", source, type);
  TESSERA_CHECK(j.contains("vocab") && j["vocab"].is_object(), "{}: WordPiece model needs a \"vocab\" object", source);
  Vocab vocab;
  vocab.reserve(j["vocab"].size());
  for (const auto& [token, id] : j["vocab"].items()) {
    TESSERA_CHECK(id.is_number_integer(), "{}: WordPiece vocab entry '{}' must map to an integer id", source, token);
    check_utf8(token, "a vocab token");
    vocab.emplace(token, id.get<int32_t>());
  }
  WordPieceOptions o;
  o.unk_token = field<std::string>(j, "unk_token", "[UNK]", source, "model");
  o.continuing_subword_prefix = field<std::string>(j, "continuing_subword_prefix", "##", source, "model");
  o.max_input_chars_per_word = field<std::size_t>(j, "max_input_chars_per_word", 100, source, "model");
  return std::make_unique<WordPiece>(std::move(vocab), std::move(o), source);
}

TemplateProcessing::Piece parse_piece(const json& j, std::string_view source) {
  TESSERA_CHECK(j.is_object() && j.size() == 1, "{}: template piece must be {{\"Sequence\"|\"SpecialToken\": ...}}", source);
  const auto it = j.begin();
  const std::string kind = it.key();
  const json& body = it.value();
  TESSERA_CHECK(body.is_object() && body.contains("id") && body["id"].is_string(),
                "{}: template piece {} needs a string \"id\"", source, kind);
  const auto id = body["id"].get<std::string>();
  const auto type_id = field<int64_t>(body, "type_id", 0, source, "template piece");
  if (kind == "Sequence") {
    TESSERA_CHECK(id == "A" || id == "B", "{}: template sequence id must be A or B, got '{}'", source, id);
    return {true, id == "A" ? 0 : 1, "", type_id};
  }
  TESSERA_CHECK(kind == "SpecialToken", "{}: template piece kind '{}' is not Sequence or SpecialToken", source, kind);
  return {false, 0, id, type_id};
}

std::optional<TemplateProcessing> parse_post_processor(const json& j, std::string_view source) {
  if (j.is_null()) return std::nullopt;
  const std::string type = type_of(j, source, "post_processor");
  if (type == "BertProcessing") {
    auto pair_of = [&](const char* key) {
      TESSERA_CHECK(j.contains(key) && j[key].is_array() && j[key].size() == 2 && j[key][0].is_string() &&
                        j[key][1].is_number_integer(),
                    "{}: BertProcessing \"{}\" must be [token, id]", source, key);
      return std::pair{j[key][0].get<std::string>(), j[key][1].get<int64_t>()};
    };
    auto [cls, cls_id] = pair_of("cls");
    auto [sep, sep_id] = pair_of("sep");
    return TemplateProcessing::bert(cls, cls_id, sep, sep_id);
  }
  TESSERA_CHECK(type == "TemplateProcessing",
                "{}: post_processor type '{}' is not supported yet (supported: TemplateProcessing, BertProcessing)",
                source, type);
  auto pieces = [&](const char* key) {
    std::vector<TemplateProcessing::Piece> out;
    TESSERA_CHECK(j.contains(key) && j[key].is_array(), "{}: TemplateProcessing needs a \"{}\" array", source, key);
    for (const json& p : j[key]) out.push_back(parse_piece(p, source));
    return out;
  };
  std::unordered_map<std::string, TemplateProcessing::SpecialToken> specials;
  if (j.contains("special_tokens") && j["special_tokens"].is_object()) {
    for (const auto& [name, s] : j["special_tokens"].items()) {
      TemplateProcessing::SpecialToken token;
      token.ids = field<std::vector<int64_t>>(s, "ids", {}, source, "post_processor special token");
      token.tokens = field<std::vector<std::string>>(s, "tokens", {}, source, "post_processor special token");
      specials.emplace(name, std::move(token));
    }
  }
  return TemplateProcessing(pieces("single"), pieces("pair"), std::move(specials), source);
}

std::unique_ptr<Decoder> parse_decoder(const json& j, std::string_view source) {
  if (j.is_null()) return nullptr;
  const std::string type = type_of(j, source, "decoder");
  if (type != "WordPiece") return parse_bpe_decoder(j, source);
  return std::make_unique<WordPieceDecoder>(field<std::string>(j, "prefix", "##", source, "decoder"),
                                            field(j, "cleanup", true, source, "decoder"));
}

}  // namespace

Tokenizer Tokenizer::from_json_string(std::string_view text, std::string_view source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    TESSERA_FAIL("{}: not valid JSON ({}); re-download or re-save the tokenizer", source, e.what());
  }
  TESSERA_CHECK(j.is_object(), "{}: expected a JSON object at the top level", source);
  auto impl = std::make_unique<Impl>();
  auto get = [&](const char* key) { return j.contains(key) ? j[key] : json(); };
  impl->normalizer = parse_normalizer(get("normalizer"), source);
  impl->pre_tokenizer = parse_pre_tokenizer(get("pre_tokenizer"), source);
  TESSERA_CHECK(j.contains("model"), "{}: missing \"model\"", source);
  impl->model = parse_model(j["model"], source, impl->pre_tokenizer && impl->pre_tokenizer->byte_level());
  impl->post_processor =
      parse_post_processor(split_byte_level_processor(get("post_processor"), source, impl->byte_level_offsets), source);
  impl->decoder = parse_decoder(get("decoder"), source);
  const json added = get("added_tokens");
  TESSERA_CHECK(added.is_null() || added.is_array(), "{}: \"added_tokens\" must be an array", source);
  for (const json& t : added) {
    TESSERA_CHECK(t.is_object() && t.contains("content") && t["content"].is_string() && t.contains("id") &&
                      t["id"].is_number_integer(),
                  "{}: each added token needs a string \"content\" and an integer \"id\", got {}", source,
                  t.dump().substr(0, 200));
    AddedToken token;
    token.content = t["content"].get<std::string>();
    check_utf8(token.content, "an added token");
    token.id = t["id"].get<int64_t>();
    token.single_word = field(t, "single_word", false, source, "added token");
    token.lstrip = field(t, "lstrip", false, source, "added token");
    token.rstrip = field(t, "rstrip", false, source, "added token");
    token.normalized = field(t, "normalized", true, source, "added token");
    token.special = field(t, "special", false, source, "added token");
    impl->added.add(std::move(token));
  }
  impl->added.build(impl->normalizer.get());
  const json padding = get("padding");
  if (padding.is_object()) {
    impl->pad_token = field<std::string>(padding, "pad_token", impl->pad_token, source, "padding");
    impl->pad_id = field<int64_t>(padding, "pad_id", 0, source, "padding");
    impl->pad_type_id = field<int64_t>(padding, "pad_type_id", 0, source, "padding");
    impl->padding_side = field<std::string>(padding, "direction", "Right", source, "padding") == "Left" ? Side::left : Side::right;
  } else {
    impl->set_pad_token("[PAD]");
  }
  const json truncation = get("truncation");
  if (truncation.is_object()) impl->model_max_length = field<std::size_t>(truncation, "max_length", 512, source, "truncation");
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_json_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  TESSERA_CHECK(in.good(), "tokenizer: cannot open {} (does the file exist and is it readable?)", path.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return from_json_string(buffer.str(), path.string());
}

}  // namespace tessera::tokenizers
