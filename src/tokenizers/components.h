// The tokenizer.json pipeline stages as small interfaces, plus the BERT implementations:
// BertNormalizer, BertPreTokenizer, WordPiece (model + decoder), TemplateProcessing.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tessera/tokenizer.h"

namespace tessera::tokenizers {

// A normalized string with, per byte, the original byte range it came from (HF's alignments).
struct NormalizedText {
  std::string text;
  std::vector<uint32_t> begin, end;
  void clear() { text.clear(), begin.clear(), end.clear(); }
  void push(char32_t cp, uint32_t original_begin, uint32_t original_end);
  // Identity alignment for original[begin, end).
  void assign_original(std::string_view original, uint32_t begin, uint32_t end);
};

struct Span {
  uint32_t begin, end;  // byte offsets [begin, end)
};

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Normalizes `in` into `out` (cleared first), keeping alignments to the original text.
  virtual void normalize(const NormalizedText& in, NormalizedText& out) const = 0;
  virtual std::string normalize_string(std::string_view s) const;  // for added-token contents
};

struct BertNormalizerOptions {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  std::optional<bool> strip_accents;  // unset: follows lowercase (HF's rule)
  bool lowercase = true;
};

class BertNormalizer final : public Normalizer {
 public:
  explicit BertNormalizer(BertNormalizerOptions options) : options_(options) {}
  void normalize(const NormalizedText& in, NormalizedText& out) const override;

 private:
  BertNormalizerOptions options_;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Appends the word spans of `text` (byte offsets into it) to `words`.
  virtual void pre_tokenize(std::string_view text, std::vector<Span>& words) const = 0;
  // ByteLevel: the model sees raw bytes (bpe.h); add_prefix_space: each piece not starting with ' ' gets one.
  virtual bool byte_level() const { return false; }
  virtual bool add_prefix_space() const { return false; }
};

// Splits on whitespace (removed) and isolates each punctuation character.
class BertPreTokenizer final : public PreTokenizer {
 public:
  void pre_tokenize(std::string_view text, std::vector<Span>& words) const override;
};

struct ModelToken {
  int32_t id;
  Span span;  // bytes within the word
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using Vocab = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class Model {
 public:
  virtual ~Model() = default;
  virtual void tokenize(std::string_view word, std::vector<ModelToken>& out) const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  virtual const std::string* id_to_token(int64_t id) const = 0;
  virtual std::size_t vocab_size() const = 0;
};

struct WordPieceOptions {
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  std::size_t max_input_chars_per_word = 100;
};

class WordPiece final : public Model {
 public:
  // `source` names the file in error messages.
  WordPiece(Vocab vocab, WordPieceOptions options, std::string_view source);
  void tokenize(std::string_view word, std::vector<ModelToken>& out) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  const std::string* id_to_token(int64_t id) const override;
  std::size_t vocab_size() const override { return vocab_.size(); }

 private:
  Vocab vocab_;
  std::vector<std::string> by_id_;
  WordPieceOptions options_;
  int32_t unk_id_ = 0;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual std::string decode(std::vector<std::string> tokens) const = 0;
};

class WordPieceDecoder final : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  std::string decode(std::vector<std::string> tokens) const override;

 private:
  std::string prefix_;
  bool cleanup_;
};

// TemplateProcessing (BertProcessing is the template "[CLS]:0 $A:0 [SEP]:0" / "... $B:1 [SEP]:1").
class TemplateProcessing {
 public:
  struct SpecialToken {
    std::vector<int64_t> ids;
    std::vector<std::string> tokens;
  };
  struct Piece {
    bool is_sequence;  // $A / $B, else a special token
    int sequence;      // 0 = A, 1 = B
    std::string special;
    int64_t type_id;
  };
  TemplateProcessing(std::vector<Piece> single, std::vector<Piece> pair,
                     std::unordered_map<std::string, SpecialToken> special_tokens, std::string_view source);
  static TemplateProcessing bert(std::string cls, int64_t cls_id, std::string sep, int64_t sep_id);
  std::size_t added_tokens(bool is_pair) const;
  Encoding process(Encoding a, Encoding* b, bool add_special_tokens) const;

 private:
  std::vector<Piece> single_, pair_;
  std::unordered_map<std::string, SpecialToken> special_tokens_;
};

}  // namespace tessera::tokenizers
