// NormalizedText, BertNormalizer and BertPreTokenizer, following tokenizers' normalizers/bert.rs and
// pre_tokenizers/bert.rs. Every BERT normalisation step maps one char to chars that all inherit its
// alignment, so the four steps run fused in one pass with no per-char allocation.
#include "tokenizers/components.h"
#include "tokenizers/unicode.h"

namespace tessera::tokenizers {

void NormalizedText::push(char32_t cp, uint32_t original_begin, uint32_t original_end) {
  const std::size_t before = text.size();
  append_utf8(text, cp);
  begin.insert(begin.end(), text.size() - before, original_begin);
  end.insert(end.end(), text.size() - before, original_end);
}

void NormalizedText::assign_original(std::string_view original, uint32_t from, uint32_t to) {
  clear();
  text.assign(original.substr(from, to - from));
  begin.resize(text.size());
  end.resize(text.size());
  for (uint32_t i = from; i < to;) {
    int length = 0;
    decode_utf8(original, i, length);
    for (int k = 0; k < length; ++k) begin[i - from + k] = i, end[i - from + k] = i + length;
    i += length;
  }
}

std::string Normalizer::normalize_string(std::string_view s) const {
  NormalizedText in, out;
  in.assign_original(s, 0, static_cast<uint32_t>(s.size()));
  normalize(in, out);
  return out.text;
}

// Note [BERT normalisation order]: clean_text (drop controls, whitespace -> ' '), CJK padding (' ', c, ' '),
// strip_accents (NFD, drop nonspacing marks; defaults to `lowercase`), lowercase. HF applies them as four
// passes over the whole string; as each maps a char independently, one pass gives the same result.
// (HF's whole-string NFD also reorders combining marks across chars; the marks it could reorder are all
// removed by strip_accents except a few musical symbols, which we leave in place.)
void BertNormalizer::normalize(const NormalizedText& in, NormalizedText& out) const {
  out.clear();
  out.text.reserve(in.text.size() + in.text.size() / 4);
  out.begin.reserve(out.text.capacity());
  out.end.reserve(out.text.capacity());
  const bool strip = options_.strip_accents.value_or(options_.lowercase);
  const std::string_view text = in.text;
  for (std::size_t i = 0; i < text.size();) {
    int length = 0;
    char32_t c = decode_utf8(text, i, length);
    const uint32_t b = in.begin[i], e = in.end[i];
    i += length;
    if (options_.clean_text) {
      if (c == 0 || c == 0xFFFD || (c != '\t' && c != '\n' && c != '\r' && is_clean_text_removed(c))) continue;
      if (is_whitespace(c)) c = ' ';
    }
    char32_t padded[3] = {c, 0, 0};
    int padded_count = 1;
    if (options_.handle_chinese_chars && is_chinese_char(c)) padded[0] = ' ', padded[1] = c, padded[2] = ' ', padded_count = 3;
    for (int p = 0; p < padded_count; ++p) {
      char32_t stripped[3] = {padded[p], 0, 0};
      const int stripped_count = strip ? strip_accents(padded[p], stripped) : 1;
      for (int s = 0; s < stripped_count; ++s) {
        if (!options_.lowercase) {
          out.push(stripped[s], b, e);
          continue;
        }
        char32_t lowered[3];
        const int lowered_count = to_lowercase(stripped[s], lowered);
        for (int l = 0; l < lowered_count; ++l) out.push(lowered[l], b, e);
      }
    }
  }
}

void BertPreTokenizer::pre_tokenize(std::string_view text, std::vector<Span>& words) const {
  uint32_t start = 0;
  for (uint32_t i = 0; i < text.size();) {
    int length = 0;
    const char32_t c = decode_utf8(text, i, length);
    const bool space = is_whitespace(c);
    if (space || is_bert_punctuation(c)) {
      if (start < i) words.push_back({start, i});
      if (!space) words.push_back({i, i + static_cast<uint32_t>(length)});
      start = i + length;
    }
    i += length;
  }
  if (start < text.size()) words.push_back({start, static_cast<uint32_t>(text.size())});
}

}  // namespace tessera::tokenizers
