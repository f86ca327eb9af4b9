// UTF-8 decoding/validation and the codepoint classes the BERT normalizer and pre-tokenizer use.
// Note [Unicode tables]: HF tokenizers classifies with its own (older) Unicode data and Rust's newer
// lowercase tables; utf8proc differs on hundreds of codepoints, so unicode_tables.cpp is generated from
// tokenizers itself by scripts/make_tokenizer_fixtures.py. utf8proc is used only for is_alphanumeric.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tessera::tokenizers {

struct CodepointRange {
  char32_t first, last;
};
struct CodepointMapping {
  char32_t from;
  char32_t to[3];  // zero-terminated when shorter
};

namespace tables {
extern const CodepointRange kCleanTextRemoved[];  // BertNormalizer clean_text drops these (\0, U+FFFD, Cc/Cf/Co)
extern const std::size_t kCleanTextRemovedSize;
extern const CodepointRange kStripAccentsRemoved[];  // NFD then "is nonspacing mark" removes these entirely
extern const std::size_t kStripAccentsRemovedSize;
extern const CodepointRange kBertPunctuation[];  // ASCII punctuation + Unicode P* (tokenizers' definition)
extern const std::size_t kBertPunctuationSize;
extern const CodepointMapping kStripAccentsMap[];  // NFD minus nonspacing marks, where it changes the char
extern const std::size_t kStripAccentsMapSize;
extern const CodepointMapping kLowercaseMap[];  // Rust char::to_lowercase where it changes the char
extern const std::size_t kLowercaseMapSize;
}  // namespace tables

// Decodes the codepoint at s[i] (s must be valid UTF-8); sets `length` to its byte count.
inline char32_t decode_utf8(std::string_view s, std::size_t i, int& length) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    length = 1;
    return b0;
  }
  auto cont = [&](std::size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F); };
  if (b0 < 0xE0) {
    length = 2;
    return (char32_t(b0 & 0x1F) << 6) | cont(1);
  }
  if (b0 < 0xF0) {
    length = 3;
    return (char32_t(b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2);
  }
  length = 4;
  return (char32_t(b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
}

// Byte offset of the first invalid UTF-8 sequence, or npos when `s` is valid.
std::size_t find_invalid_utf8(std::string_view s);
// Checks `s` is valid UTF-8, else throws naming `what` and the byte offset.
void check_utf8(std::string_view s, std::string_view what);
void append_utf8(std::string& out, char32_t cp);
// Number of codepoints in valid UTF-8.
std::size_t count_chars(std::string_view s);

bool is_clean_text_removed(char32_t c);
bool is_whitespace(char32_t c);  // Rust char::is_whitespace (Unicode White_Space)
bool is_bert_punctuation(char32_t c);
bool is_chinese_char(char32_t c);  // the CJK ideograph blocks BertNormalizer pads with spaces
bool is_alphanumeric(char32_t c);  // letters and numbers (for added tokens' single_word)
// Writes the replacement of `c` into out (0..3 codepoints) and returns how many.
int strip_accents(char32_t c, char32_t out[3]);
int to_lowercase(char32_t c, char32_t out[3]);

}  // namespace tessera::tokenizers
