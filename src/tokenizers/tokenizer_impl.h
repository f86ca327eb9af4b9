// Tokenizer::Impl: the assembled pipeline (built by tokenizer_json.cpp or legacy_vocab.cpp).
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "tessera/tokenizer.h"
#include "tokenizers/added_vocabulary.h"
#include "tokenizers/bpe.h"
#include "tokenizers/components.h"

namespace tessera::tokenizers {

struct Tokenizer::Impl {
  std::unique_ptr<Normalizer> normalizer;        // may be null
  std::unique_ptr<PreTokenizer> pre_tokenizer;   // may be null: the whole piece is one word
  std::unique_ptr<Model> model;
  std::optional<TemplateProcessing> post_processor;
  std::optional<ByteLevelOffsets> byte_level_offsets;  // a ByteLevel post-processor (runs before the template)
  std::unique_ptr<Decoder> decoder;              // may be null: tokens joined by spaces
  AddedVocabulary added;
  std::size_t model_max_length = 512;
  std::string pad_token = "[PAD]";
  int64_t pad_id = 0;
  int64_t pad_type_id = 0;
  Side padding_side = Side::right;

  // Normalizer, pre-tokenizer and model over one text; no special tokens. Stops after the word that reaches
  // token_limit tokens (Note [Truncation early exit]); post_process truncates exactly.
  Encoding encode_sequence(std::string_view text, int64_t type_id, std::size_t token_limit) const;
  std::size_t token_limit(const EncodeOptions& options) const;
  Encoding post_process(Encoding a, std::optional<Encoding> b, const EncodeOptions& options) const;
  void pad(std::vector<Encoding>& batch, const EncodeOptions& options) const;
  // Sets pad_token/pad_id from the vocab when the pad token exists (keeps defaults otherwise).
  void set_pad_token(const std::string& token);
};

// Reads tokenizer_config.json / special_tokens_map.json next to a tokenizer (model_max_length, padding_side).
struct TokenizerConfig {
  std::optional<std::size_t> model_max_length;
  std::optional<std::string> padding_side;
  VocabOptions vocab;  // the BertTokenizer settings, for vocab.txt directories
};
TokenizerConfig read_tokenizer_config(const std::filesystem::path& dir);

}  // namespace tessera::tokenizers
