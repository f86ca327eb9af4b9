// Hugging Face tokenizers in C++: the tokenizer.json pipeline (normalizer -> pre-tokenizer -> model ->
// post-processor -> decoder) and the legacy vocab.txt directory, matching `tokenizers` token for token.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::tokenizers {

// A token's span in the text it came from: byte offsets [begin, end) into the original UTF-8 string
// (HF Python reports the same spans in characters). Special tokens added by the post-processor get {0, 0}.
struct Offsets {
  std::size_t begin = 0;
  std::size_t end = 0;
  friend bool operator==(const Offsets&, const Offsets&) = default;
};

// One encoded sequence (or pair); all vectors have the same length. Pair offsets index each own text.
struct Encoding {
  std::vector<int64_t> ids;
  std::vector<int64_t> type_ids;             // token_type_ids: 0 for the first sequence, 1 for the pair
  std::vector<int64_t> attention_mask;       // 1 for real tokens, 0 for padding
  std::vector<int64_t> special_tokens_mask;  // 1 for [CLS]/[SEP]/padding added by post-processing
  std::vector<std::string> tokens;
  std::vector<Offsets> offsets;
  std::size_t size() const { return ids.size(); }
};

enum class Padding { none, longest, max_length };
enum class Side { right, left };

struct EncodeOptions {
  bool add_special_tokens = true;
  bool truncation = false;                // as HF: only truncate when asked
  std::optional<std::size_t> max_length;  // truncation/padding length; default: Tokenizer::model_max_length()
  Padding padding = Padding::longest;     // encode_batch only; a single encode is never padded
};

// BertTokenizer(Fast) settings for a directory with only vocab.txt (tokenizer_config.json keys).
struct VocabOptions {
  bool do_lower_case = true;
  std::optional<bool> strip_accents;  // unset: follows do_lower_case
  bool tokenize_chinese_chars = true;
  std::size_t model_max_length = 512;
  std::string unk_token = "[UNK]", sep_token = "[SEP]", pad_token = "[PAD]", cls_token = "[CLS]",
              mask_token = "[MASK]";
  std::vector<std::string> additional_special_tokens;
};

// The VocabOptions a model directory's tokenizer_config.json / special_tokens_map.json describe.
VocabOptions read_vocab_options(const std::filesystem::path& dir);

class Tokenizer {
 public:
  // A model directory: tokenizer.json if present (with tokenizer_config.json for model_max_length and
  // padding_side), else vocab.json + merges.txt (GPT-2 style), else vocab.txt (+ tokenizer_config.json,
  // special_tokens_map.json).
  static Tokenizer from_dir(const std::filesystem::path& dir);
  static Tokenizer from_json_file(const std::filesystem::path& path);
  // `source` names the origin in error messages.
  static Tokenizer from_json_string(std::string_view json, std::string_view source = "tokenizer.json");
  static Tokenizer from_vocab(const std::filesystem::path& vocab_txt, const VocabOptions& options = {});
  // A GPT-2-style byte-level BPE (vocab.json + merges.txt), as transformers' GPT2TokenizerFast builds it.
  static Tokenizer from_vocab_merges(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt);

  // Invalid UTF-8 throws tessera::Error naming the byte offset.
  Encoding encode(std::string_view text, const EncodeOptions& options = {}) const;
  Encoding encode_pair(std::string_view text, std::string_view pair, const EncodeOptions& options = {}) const;
  // Encodes in parallel (OpenMP); pads to the longest (or max_length) with the pad token.
  std::vector<Encoding> encode_batch(std::span<const std::string> texts, const EncodeOptions& options = {}) const;
  std::vector<Encoding> encode_batch(std::span<const std::string_view> texts, const EncodeOptions& options = {}) const;

  // As tokenizers' decode: unknown ids are skipped; the decoder joins word pieces.
  std::string decode(std::span<const int64_t> ids, bool skip_special_tokens = true) const;

  std::optional<int64_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int64_t id) const;
  std::size_t vocab_size() const;                 // model vocab plus added tokens
  std::size_t model_max_length() const;           // from tokenizer_config.json; 512 when unset or huge
  int64_t pad_token_id() const;
  const std::string& pad_token() const;
  Side padding_side() const;

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::tokenizers
