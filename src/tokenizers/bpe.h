// Byte-level BPE components (GPT-2 / GPT-NeoX / RoBERTa tokenizers): NFC and Sequence normalizers, ByteLevel
// and Split pre-tokenizers (PCRE2), the BPE model with a per-thread word cache, ByteLevel offsets and decoder.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizers/components.h"

namespace tessera::tokenizers {

// GPT-2's bytes_to_unicode: each byte as a printable char (space -> 'Ġ' U+0120, '\n' -> 'Ċ' U+010A).
char32_t byte_to_char(uint8_t byte);
// The byte a byte-level char stands for, or -1 when `c` is not one of the 256 chars.
int char_to_byte(char32_t c);
// The byte-level spelling of raw bytes (what HF shows as tokens), and back; from_byte_level returns nullopt
// when `s` holds a char outside the byte alphabet.
std::string to_byte_level(std::string_view raw);
std::optional<std::string> from_byte_level(std::string_view s);

// NFC (normalizers/unicode.rs) with tokenizers' alignment rules: a char composed from several takes the
// alignment of the first one (unicode-normalization-alignments' recomposition changes).
class NfcNormalizer final : public Normalizer {
 public:
  void normalize(const NormalizedText& in, NormalizedText& out) const override;
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  void normalize(const NormalizedText& in, NormalizedText& out) const override;

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

// A compiled PCRE2 pattern (UTF + UCP, JIT when available); finds the match spans of a text.
class Regex {
 public:
  Regex(std::string_view pattern, std::string_view source);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  // Appends the [begin, end) byte spans of all non-overlapping, non-empty matches in `text`.
  void find_all(std::string_view text, std::vector<Span>& matches) const;

 private:
  void* code_ = nullptr;  // pcre2_code_8
};

// ByteLevel pre-tokenizer: GPT-2 regex split (use_regex) with an optional leading space. The byte-to-char
// mapping itself is folded into the BPE model, which works on raw bytes (Note [Byte-level BPE on raw bytes]).
class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex);
  void pre_tokenize(std::string_view text, std::vector<Span>& words) const override;
  bool byte_level() const override { return true; }
  bool add_prefix_space() const override { return add_prefix_space_; }

 private:
  bool add_prefix_space_, use_regex_;
  std::unique_ptr<Regex> regex_;
};

// Split pre-tokenizer with a regex (or literal) pattern and a delimiter behaviour (pre_tokenizers/split.rs).
class SplitPreTokenizer final : public PreTokenizer {
 public:
  enum class Behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };
  SplitPreTokenizer(std::string_view regex, Behavior behavior, bool invert, std::string_view source);
  void pre_tokenize(std::string_view text, std::vector<Span>& words) const override;

 private:
  Regex regex_;
  Behavior behavior_;
  bool invert_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps);
  void pre_tokenize(std::string_view text, std::vector<Span>& words) const override;
  bool byte_level() const override { return byte_level_; }
  bool add_prefix_space() const override { return add_prefix_space_; }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
  bool byte_level_ = false, add_prefix_space_ = false;
};

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
  bool byte_level = false;  // the pre-tokenizer is ByteLevel: words are raw bytes, vocab keys byte-level chars
  std::size_t cache_capacity = 10000;  // words per thread, as tokenizers' DEFAULT_CACHE_CAPACITY
};

// models/bpe: merges applied lowest rank first (a min-heap over a linked list of symbols, O(n log n)).
class Bpe final : public Model {
 public:
  // merges[i] = (left, right) of rank i; `source` names the file in error messages and `merge_lines`, when
  // given, the line of each merge (for merges.txt).
  Bpe(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
      std::string_view source, const std::vector<std::size_t>* merge_lines = nullptr);
  ~Bpe() override;
  void tokenize(std::string_view word, std::vector<ModelToken>& out) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  const std::string* id_to_token(int64_t id) const override;
  std::size_t vocab_size() const override { return vocab_.size(); }

 private:
  struct MergeTable;
  void merge_word(std::string_view word, std::vector<ModelToken>& out) const;
  void initial_symbols(std::string_view word, std::vector<ModelToken>& out) const;

  Vocab vocab_;                   // as in the file
  Vocab raw_vocab_;               // byte_level: raw-byte spelling -> id
  std::vector<std::string> by_id_;
  std::vector<bool> has_id_;
  std::array<int32_t, 256> byte_ids_{};  // byte_level: id of each single byte, -1 if absent
  std::unique_ptr<MergeTable> merges_;
  BpeOptions options_;
  std::optional<int32_t> unk_id_;
  uint64_t cache_id_;
};

// The ByteLevel post-processor's trim_offsets (processors/byte_level.rs process_offsets): offsets skip the
// leading/trailing spaces ('Ġ' or whitespace) of each token.
struct ByteLevelOffsets {
  bool add_prefix_space = false;
  bool trim_offsets = true;
  void process(Encoding& e) const;
};

// ByteLevel decoder: byte-level chars back to bytes, invalid UTF-8 replaced by U+FFFD.
class ByteLevelDecoder final : public Decoder {
 public:
  std::string decode(std::vector<std::string> tokens) const override;
};

// tokenizer.json parsing of these components (bpe_json.cpp); `parse_*` of tokenizer_json.cpp handles the BERT
// types and calls these for the rest. Unknown types fail naming the type and the file.
using ParseNormalizer = std::unique_ptr<Normalizer> (*)(const nlohmann::json&, std::string_view);
std::unique_ptr<Normalizer> parse_bpe_normalizer(const nlohmann::json& j, std::string_view source, ParseNormalizer parse);
std::unique_ptr<PreTokenizer> parse_bpe_pre_tokenizer(const nlohmann::json& j, std::string_view source);
std::unique_ptr<Model> parse_bpe_model(const nlohmann::json& j, std::string_view source, bool byte_level);
// Takes the ByteLevel processor(s) out of "post_processor" (ByteLevel or Sequence) into `offsets` and returns
// what is left for TemplateProcessing/BertProcessing (null when nothing).
nlohmann::json split_byte_level_processor(const nlohmann::json& j, std::string_view source,
                                          std::optional<ByteLevelOffsets>& offsets);
std::unique_ptr<Decoder> parse_bpe_decoder(const nlohmann::json& j, std::string_view source);

}  // namespace tessera::tokenizers
