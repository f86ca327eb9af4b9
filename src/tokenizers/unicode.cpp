// UTF-8 helpers and codepoint class lookups over the generated tables (see Note [Unicode tables]).
#include "tokenizers/unicode.h"

#include <algorithm>
#include <utf8proc.h>

#include "tessera/error.h"

namespace tessera::tokenizers {
namespace {

bool in_ranges(const CodepointRange* ranges, std::size_t size, char32_t c) {
  const CodepointRange* end = ranges + size;
  const CodepointRange* it =
      std::upper_bound(ranges, end, c, [](char32_t v, const CodepointRange& r) { return v < r.first; });
  return it != ranges && c <= (it - 1)->last;
}

const CodepointMapping* find_mapping(const CodepointMapping* table, std::size_t size, char32_t c) {
  const CodepointMapping* end = table + size;
  const CodepointMapping* it =
      std::lower_bound(table, end, c, [](const CodepointMapping& m, char32_t v) { return m.from < v; });
  return it != end && it->from == c ? it : nullptr;
}

int copy_mapping(const CodepointMapping& m, char32_t out[3]) {
  int n = 0;
  while (n < 3 && m.to[n] != 0) {
    out[n] = m.to[n];
    ++n;
  }
  return n;
}

}  // namespace

std::size_t find_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char b = p[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    int length = 0;
    char32_t min = 0;
    char32_t cp = 0;
    if ((b & 0xE0) == 0xC0) length = 2, min = 0x80, cp = b & 0x1F;
    else if ((b & 0xF0) == 0xE0) length = 3, min = 0x800, cp = b & 0x0F;
    else if ((b & 0xF8) == 0xF0) length = 4, min = 0x10000, cp = b & 0x07;
    else return i;
    if (i + length > n) return i;
    for (int k = 1; k < length; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += length;
  }
  return std::string_view::npos;
}

void check_utf8(std::string_view s, std::string_view what) {
  const std::size_t bad = find_invalid_utf8(s);
  TESSERA_CHECK(bad == std::string_view::npos,
                "tokenizer: {} is not valid UTF-8: invalid byte 0x{:02X} at byte offset {} (decode the text "
                "to UTF-8 before tokenizing)",
                what, bad == std::string_view::npos ? 0 : static_cast<unsigned char>(s[bad]), bad);
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::size_t count_chars(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

bool is_clean_text_removed(char32_t c) {
  if (c >= 0x20 && c < 0x7F) return false;
  return in_ranges(tables::kCleanTextRemoved, tables::kCleanTextRemovedSize, c);
}

bool is_whitespace(char32_t c) {
  switch (c) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0: case 0x1680:
    case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

bool is_bert_punctuation(char32_t c) {
  if (c < 0x80) return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  return in_ranges(tables::kBertPunctuation, tables::kBertPunctuationSize, c);
}

bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool is_alphanumeric(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

int strip_accents(char32_t c, char32_t out[3]) {
  if (c < 0x80) {
    out[0] = c;
    return 1;
  }
  if (c >= 0xAC00 && c <= 0xD7A3) {  // Hangul syllable: algorithmic NFD into 2 or 3 jamo
    const char32_t s = c - 0xAC00;
    out[0] = 0x1100 + s / (21 * 28);
    out[1] = 0x1161 + (s % (21 * 28)) / 28;
    if (s % 28 == 0) return 2;
    out[2] = 0x11A7 + s % 28;
    return 3;
  }
  if (in_ranges(tables::kStripAccentsRemoved, tables::kStripAccentsRemovedSize, c)) return 0;
  if (const CodepointMapping* m = find_mapping(tables::kStripAccentsMap, tables::kStripAccentsMapSize, c)) {
    return copy_mapping(*m, out);
  }
  out[0] = c;
  return 1;
}

int to_lowercase(char32_t c, char32_t out[3]) {
  if (c < 0x80) {
    out[0] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
    return 1;
  }
  if (const CodepointMapping* m = find_mapping(tables::kLowercaseMap, tables::kLowercaseMapSize, c)) {
    return copy_mapping(*m, out);
  }
  out[0] = c;
  return 1;
}

}  // namespace tessera::tokenizers
