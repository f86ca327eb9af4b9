// `tessera tokenize`: encode texts with a model directory's tokenizer; one JSON object per text.
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/text_input.h"
#include "tessera/error.h"
#include "tessera/tokenizer.h"

namespace tessera::cli {

namespace {
struct TokenizeArgs {
  std::string model;
  int64_t max_length = 0;
  std::string pair;
  bool details = false;
  bool no_special = false;
  std::vector<std::string> texts;
};

void run_tokenize(const TokenizeArgs& a) {
  TESSERA_CHECK(!a.texts.empty(), "tokenize: no input texts (give TEXT arguments)");
  auto tok = tokenizers::Tokenizer::from_dir(a.model);
  tokenizers::EncodeOptions o{.add_special_tokens = !a.no_special, .truncation = a.max_length > 0};
  if (a.max_length > 0) o.max_length = (std::size_t)a.max_length;
  Output out("-");
  for (std::size_t i = 0; i < a.texts.size(); ++i) {
    check_utf8(a.texts[i], fmt::format("TEXT argument {}", i + 1));
    tokenizers::Encoding e = a.pair.empty() ? tok.encode(a.texts[i], o) : tok.encode_pair(a.texts[i], a.pair, o);
    nlohmann::ordered_json j{{"input_ids", e.ids}, {"attention_mask", e.attention_mask}, {"token_type_ids", e.type_ids}};
    if (a.details) {
      j["tokens"] = e.tokens;
      nlohmann::ordered_json offs = nlohmann::ordered_json::array();
      for (const auto& off : e.offsets) offs.push_back({off.begin, off.end});
      j["offsets"] = offs;
      j["special_tokens_mask"] = e.special_tokens_mask;
    }
    out.line(j.dump());
  }
}
}  // namespace

void register_tokenize(CLI::App& app) {
  auto a = std::make_shared<TokenizeArgs>();
  auto* cmd = app.add_subcommand("tokenize", "Tokenize texts with a model directory's tokenizer (tokenizer.json or vocab.txt)");
  cmd->add_option("--model", a->model, "Model or tokenizer directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--max-length", a->max_length, "Truncate to N tokens (special tokens included)");
  cmd->add_option("--pair", a->pair, "Second sequence: encode each TEXT as a pair with this text");
  cmd->add_flag("--details", a->details, "Also print tokens, byte offsets and the special-tokens mask");
  cmd->add_flag("--no-special-tokens", a->no_special, "Do not add [CLS]/[SEP] (or the tokenizer's template)");
  cmd->add_option("TEXT", a->texts, "Texts to tokenize");
  cmd->footer("Output: one JSON object per text: {\"input_ids\": [...], \"attention_mask\": [...], \"token_type_ids\": [...]}");
  cmd->callback([a] { run_tokenize(*a); });
}

}  // namespace tessera::cli
