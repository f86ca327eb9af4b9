// ByteLevel pieces (tokenizers' pre_tokenizers/byte_level.rs): the byte <-> char alphabet, the GPT-2 regex split
// (PCRE2, UTF + UCP, JIT), Split and Sequence pre-tokenizers, trim_offsets and the ByteLevel decoder.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <memory>

#include "tessera/error.h"
#include "tokenizers/bpe.h"
#include "tokenizers/unicode.h"

namespace tessera::tokenizers {
namespace {

struct ByteAlphabet {
  std::array<char32_t, 256> to_char{};
  std::array<int16_t, 324> to_byte{};  // chars are < 0x144
  ByteAlphabet() {
    to_byte.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_char[b] = printable ? char32_t(b) : char32_t(256 + n++);
      to_byte[to_char[b]] = static_cast<int16_t>(b);
    }
  }
};
const ByteAlphabet kAlphabet;

// Note [GPT-2 whitespace]: tokenizers runs this pattern with Oniguruma, whose Unicode \s is the White_Space
// property; PCRE2's UCP \s differs across versions (U+0085, U+180E), so the class is spelled out.
constexpr const char* kSpace = R"(\t-\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

std::string gpt2_pattern() {
  const std::string s = kSpace;
  return R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^)" + s + R"(\p{L}\p{N}]+|[)" + s + "]+(?![^" + s + "])|[" + s + "]+";
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};

}  // namespace

char32_t byte_to_char(uint8_t byte) { return kAlphabet.to_char[byte]; }

int char_to_byte(char32_t c) { return c < kAlphabet.to_byte.size() ? kAlphabet.to_byte[c] : -1; }

std::string to_byte_level(std::string_view raw) {
  std::string out;
  out.reserve(raw.size() * 2);
  for (char c : raw) append_utf8(out, byte_to_char(static_cast<uint8_t>(c)));
  return out;
}

std::optional<std::string> from_byte_level(std::string_view s) {
  if (find_invalid_utf8(s) != std::string_view::npos) return std::nullopt;
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    int length = 0;
    const int b = char_to_byte(decode_utf8(s, i, length));
    if (b < 0) return std::nullopt;
    out.push_back(static_cast<char>(b));
    i += static_cast<std::size_t>(length);
  }
  return out;
}

Regex::Regex(std::string_view pattern, std::string_view source) {
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error, &error_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    TESSERA_FAIL("{}: regex '{}' does not compile at offset {}: {}", source, pattern, error_offset,
                 reinterpret_cast<const char*>(message));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when JIT is unavailable
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

void Regex::find_all(std::string_view text, std::vector<Span>& matches) const {
  thread_local std::unique_ptr<pcre2_match_data, MatchDataDeleter> data(pcre2_match_data_create(1, nullptr));
  const auto* code = static_cast<const pcre2_code*>(code_);
  const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  for (std::size_t pos = 0; pos <= text.size();) {
    // Text is validated UTF-8 (Tokenizer::encode), so PCRE2 need not check it again.
    const int rc = pcre2_match(code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, data.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) return;
    TESSERA_CHECK(rc > 0, "regex: PCRE2 match failed with error {}", rc);
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    const auto begin = static_cast<uint32_t>(ovector[0]), end = static_cast<uint32_t>(ovector[1]);
    if (end > begin) {
      matches.push_back({begin, end});
      pos = end;
      continue;
    }
    if (pos == text.size()) return;  // empty match: step over one char
    int length = 0;
    decode_utf8(text, pos, length);
    pos += static_cast<std::size_t>(length);
  }
}

ByteLevelPreTokenizer::ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
    : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {
  if (use_regex_) regex_ = std::make_unique<Regex>(gpt2_pattern(), "ByteLevel pre-tokenizer");
}

void ByteLevelPreTokenizer::pre_tokenize(std::string_view text, std::vector<Span>& words) const {
  const auto size = static_cast<uint32_t>(text.size());
  if (!use_regex_) {
    if (size > 0) words.push_back({0, size});
    return;
  }
  // Isolated: matches and the text between them are all words (the GPT-2 pattern leaves no gaps).
  const std::size_t first = words.size();
  regex_->find_all(text, words);
  uint32_t previous = 0;
  std::size_t gaps = 0;
  for (std::size_t i = first; i < words.size(); ++i) gaps += words[i].begin != previous, previous = words[i].end;
  if (gaps == 0 && previous == size) return;
  std::vector<Span> matches(words.begin() + std::ptrdiff_t(first), words.end());
  words.resize(first);
  previous = 0;
  for (const Span& m : matches) {
    if (m.begin != previous) words.push_back({previous, m.begin});
    words.push_back(m);
    previous = m.end;
  }
  if (previous != size) words.push_back({previous, size});
}

SplitPreTokenizer::SplitPreTokenizer(std::string_view regex, Behavior behavior, bool invert, std::string_view source)
    : regex_(regex, source), behavior_(behavior), invert_(invert) {}

void SplitPreTokenizer::pre_tokenize(std::string_view text, std::vector<Span>& words) const {
  if (text.empty()) return;
  std::vector<Span> found;
  regex_.find_all(text, found);
  struct Piece {
    Span span;
    bool is_match;
  };
  std::vector<Piece> pieces;  // tokenizers' find_matches: every byte in exactly one piece
  uint32_t previous = 0;
  for (const Span& m : found) {
    if (m.begin != previous) pieces.push_back({{previous, m.begin}, invert_});
    pieces.push_back({m, !invert_});
    previous = m.end;
  }
  if (previous != text.size()) pieces.push_back({{previous, static_cast<uint32_t>(text.size())}, invert_});
  std::vector<Span> out;
  bool previous_match = false;
  switch (behavior_) {
    case Behavior::isolated:
      for (const Piece& p : pieces) out.push_back(p.span);
      break;
    case Behavior::removed:
      for (const Piece& p : pieces) {
        if (!p.is_match) out.push_back(p.span);
      }
      break;
    case Behavior::contiguous:
    case Behavior::merged_with_previous:
      for (const Piece& p : pieces) {
        const bool merge = behavior_ == Behavior::contiguous ? p.is_match == previous_match
                                                             : p.is_match && !previous_match;
        if (merge && !out.empty()) out.back().end = p.span.end;
        else out.push_back(p.span);
        previous_match = p.is_match;
      }
      break;
    case Behavior::merged_with_next:
      for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty()) out.back().begin = it->span.begin;
        else out.push_back(it->span);
        previous_match = it->is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
  }
  for (const Span& s : out) {
    if (s.end > s.begin) words.push_back(s);
  }
}

SequencePreTokenizer::SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {
  for (const auto& step : steps_) byte_level_ |= step->byte_level(), add_prefix_space_ |= step->add_prefix_space();
}

void SequencePreTokenizer::pre_tokenize(std::string_view text, std::vector<Span>& words) const {
  std::vector<Span> current{{0, static_cast<uint32_t>(text.size())}}, next;
  for (const auto& step : steps_) {
    next.clear();
    for (const Span& s : current) {
      const std::size_t first = next.size();
      step->pre_tokenize(text.substr(s.begin, s.end - s.begin), next);
      for (std::size_t i = first; i < next.size(); ++i) next[i].begin += s.begin, next[i].end += s.begin;
    }
    std::swap(current, next);
  }
  for (const Span& s : current) {
    if (s.end > s.begin) words.push_back(s);
  }
}

void ByteLevelOffsets::process(Encoding& e) const {
  if (!trim_offsets) return;
  auto is_space = [](char32_t c) { return c == 0x120 || is_whitespace(c); };
  for (std::size_t i = 0; i < e.size(); ++i) {
    const std::string& token = e.tokens[i];
    Offsets& o = e.offsets[i];
    std::size_t leading = 0, trailing = 0;
    bool in_leading = true;
    for (std::size_t k = 0; k < token.size();) {
      int length = 0;
      const bool space = is_space(decode_utf8(token, k, length));
      k += static_cast<std::size_t>(length);
      if (in_leading && space) ++leading;
      else in_leading = false;
      trailing = space ? trailing + 1 : 0;
    }
    if (leading > 0) {
      const bool is_first = i == 0 || o.begin == 0;
      if (is_first && add_prefix_space && leading == 1) leading = 0;
      o.begin = std::min(o.begin + leading, o.end);
    }
    if (trailing > 0 && o.end >= trailing) o.end = std::max(o.end - trailing, o.begin);
  }
}

std::string ByteLevelDecoder::decode(std::vector<std::string> tokens) const {
  std::string bytes;
  for (const std::string& token : tokens) {
    if (auto raw = from_byte_level(token)) bytes += *raw;
    else bytes += token;  // a token with any char outside the alphabet is kept as it is
  }
  // String::from_utf8_lossy: each maximal invalid prefix becomes U+FFFD.
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    const std::size_t bad = find_invalid_utf8(std::string_view(bytes).substr(i));
    if (bad == std::string_view::npos) {
      out.append(bytes, i, std::string::npos);
      break;
    }
    out.append(bytes, i, bad);
    i += bad;
    // Length of the invalid sequence as Rust counts it: the longest prefix of a valid sequence, at least 1.
    const auto b0 = static_cast<uint8_t>(bytes[i]);
    std::size_t need = b0 >= 0xF0 && b0 <= 0xF4 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC2 && b0 < 0xE0 ? 2 : 1;
    std::size_t skip = 1;
    for (std::size_t k = 1; k < need && i + k < bytes.size(); ++k) {
      const auto b = static_cast<uint8_t>(bytes[i + k]);
      bool ok = (b & 0xC0) == 0x80;
      if (k == 1 && b0 == 0xE0) ok = b >= 0xA0 && b <= 0xBF;
      if (k == 1 && b0 == 0xED) ok = b >= 0x80 && b <= 0x9F;
      if (k == 1 && b0 == 0xF0) ok = b >= 0x90 && b <= 0xBF;
      if (k == 1 && b0 == 0xF4) ok = b >= 0x80 && b <= 0x8F;
      if (!ok) break;
      skip = k + 1;
    }
    out += "\xEF\xBF\xBD";
    i += skip;
  }
  return out;
}

}  // namespace tessera::tokenizers
