// tokenizer.json parsing of the byte-level BPE components: NFC / Sequence normalizers, ByteLevel / Split /
// Sequence pre-tokenizers, the BPE model (merges as "a b" strings or [a, b] pairs), ByteLevel processor/decoder.
#include <nlohmann/json.hpp>

#include "tessera/error.h"
#include "tokenizers/bpe.h"
#include "tokenizers/json_fields.h"
#include "tokenizers/unicode.h"

namespace tessera::tokenizers {

using nlohmann::json;

std::unique_ptr<Normalizer> parse_bpe_normalizer(const json& j, std::string_view source, ParseNormalizer parse) {
  const std::string type = type_of(j, source, "normalizer");
  if (type == "NFC") return std::make_unique<NfcNormalizer>();
  TESSERA_CHECK(type == "Sequence",
                "{}: normalizer type '{}' is not supported yet (supported: BertNormalizer, NFC, Sequence)", source, type);
  std::vector<std::unique_ptr<Normalizer>> steps;
  for (const json& step : list_of(j, "normalizers", source, "Sequence normalizer")) {
    if (auto n = parse(step, source)) steps.push_back(std::move(n));
  }
  return std::make_unique<SequenceNormalizer>(std::move(steps));
}

std::unique_ptr<PreTokenizer> parse_bpe_pre_tokenizer(const json& j, std::string_view source) {
  const std::string type = type_of(j, source, "pre_tokenizer");
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPreTokenizer>(field(j, "add_prefix_space", true, source, "ByteLevel pre_tokenizer"),
                                                   field(j, "use_regex", true, source, "ByteLevel pre_tokenizer"));
  }
  if (type == "Split") {
    TESSERA_CHECK(j.contains("pattern") && j["pattern"].is_object(), "{}: Split pre_tokenizer needs a \"pattern\"", source);
    const json& pattern = j["pattern"];
    std::string regex;
    if (pattern.contains("Regex") && pattern["Regex"].is_string()) {
      regex = pattern["Regex"].get<std::string>();
    } else {
      TESSERA_CHECK(pattern.contains("String") && pattern["String"].is_string(),
                    "{}: Split pattern must be {{\"Regex\": ...}} or {{\"String\": ...}}", source);
      regex = "\\Q" + pattern["String"].get<std::string>() + "\\E";
    }
    const std::string behavior = field<std::string>(j, "behavior", "Isolated", source, "Split pre_tokenizer");
    using B = SplitPreTokenizer::Behavior;
    const B b = behavior == "Removed" ? B::removed : behavior == "Isolated" ? B::isolated
              : behavior == "MergedWithPrevious" ? B::merged_with_previous
              : behavior == "MergedWithNext" ? B::merged_with_next : B::contiguous;
    TESSERA_CHECK(b != B::contiguous || behavior == "Contiguous", "{}: Split behavior '{}' is unknown", source, behavior);
    return std::make_unique<SplitPreTokenizer>(regex, b, field(j, "invert", false, source, "Split pre_tokenizer"), source);
  }
  TESSERA_CHECK(type == "Sequence",
                "{}: pre_tokenizer type '{}' is not supported yet (supported: BertPreTokenizer, ByteLevel, Split, "
                "Sequence)", source, type);
  std::vector<std::unique_ptr<PreTokenizer>> steps;
  for (const json& step : list_of(j, "pretokenizers", source, "Sequence pre_tokenizer")) {
    steps.push_back(parse_bpe_pre_tokenizer(step, source));
  }
  return std::make_unique<SequencePreTokenizer>(std::move(steps));
}

std::unique_ptr<Model> parse_bpe_model(const json& j, std::string_view source, bool byte_level) {
  TESSERA_CHECK(j.contains("vocab") && j["vocab"].is_object(), "{}: BPE model needs a \"vocab\" object", source);
  Vocab vocab;
  vocab.reserve(j["vocab"].size());
  for (const auto& [token, id] : j["vocab"].items()) {
    TESSERA_CHECK(id.is_number_integer(), "{}: BPE vocab entry '{}' must map to an integer id", source, token);
    vocab.emplace(token, id.get<int32_t>());
  }
  std::vector<std::pair<std::string, std::string>> merges;
  const json& list = list_of(j, "merges", source, "BPE model");
  merges.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json& m = list[i];
    if (m.is_string()) {  // legacy "a b"
      const auto s = m.get<std::string>();
      const std::size_t space = s.find(' ');
      TESSERA_CHECK(space != std::string::npos && s.find(' ', space + 1) == std::string::npos,
                    "{}: BPE merge {} must be two tokens separated by one space, got '{}'", source, i, s);
      merges.emplace_back(s.substr(0, space), s.substr(space + 1));
      continue;
    }
    TESSERA_CHECK(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string(),
                  "{}: BPE merge {} must be \"a b\" or [\"a\", \"b\"], got {}", source, i, m.dump().substr(0, 200));
    merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
  }
  const auto dropout = j.contains("dropout") && !j["dropout"].is_null() ? field(j, "dropout", 0.0, source, "BPE") : 0.0;
  TESSERA_CHECK(dropout == 0.0, "{}: BPE dropout {} is not supported (set \"dropout\": null for inference)", source,
                dropout);
  BpeOptions o;
  if (j.contains("unk_token") && !j["unk_token"].is_null()) o.unk_token = field<std::string>(j, "unk_token", "", source, "BPE");
  o.continuing_subword_prefix = field<std::string>(j, "continuing_subword_prefix", "", source, "BPE");
  o.end_of_word_suffix = field<std::string>(j, "end_of_word_suffix", "", source, "BPE");
  o.fuse_unk = field(j, "fuse_unk", false, source, "BPE");
  o.byte_fallback = field(j, "byte_fallback", false, source, "BPE");
  o.ignore_merges = field(j, "ignore_merges", false, source, "BPE");
  o.byte_level = byte_level;
  return std::make_unique<Bpe>(std::move(vocab), merges, std::move(o), source);
}

json split_byte_level_processor(const json& j, std::string_view source, std::optional<ByteLevelOffsets>& offsets) {
  if (j.is_null()) return j;
  const std::string type = type_of(j, source, "post_processor");
  auto take = [&](const json& p) {
    offsets = ByteLevelOffsets{.add_prefix_space = field(p, "add_prefix_space", true, source, "ByteLevel post_processor"),
                               .trim_offsets = field(p, "trim_offsets", true, source, "ByteLevel post_processor")};
  };
  if (type == "ByteLevel") {
    take(j);
    return json();
  }
  if (type != "Sequence") return j;
  json rest;
  for (const json& p : list_of(j, "processors", source, "Sequence post_processor")) {
    if (type_of(p, source, "post_processor") == "ByteLevel") {
      take(p);
      continue;
    }
    TESSERA_CHECK(rest.is_null(), "{}: a Sequence post_processor with more than one non-ByteLevel processor is not "
                  "supported yet", source);
    rest = p;
  }
  return rest;
}

std::unique_ptr<Decoder> parse_bpe_decoder(const json& j, std::string_view source) {
  const std::string type = type_of(j, source, "decoder");
  TESSERA_CHECK(type == "ByteLevel", "{}: decoder type '{}' is not supported yet (supported: WordPiece, ByteLevel)",
                source, type);
  return std::make_unique<ByteLevelDecoder>();
}

}  // namespace tessera::tokenizers
