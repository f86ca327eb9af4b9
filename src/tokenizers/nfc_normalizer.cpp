// NFC with tokenizers' alignments (a port of unicode-normalization-alignments' decompose/recompose "changes",
// applied as NormalizedString::transform does) and the Sequence normalizer. Unicode data comes from utf8proc.
#include <algorithm>
#include <utf8proc.h>

#include "tokenizers/bpe.h"
#include "tokenizers/unicode.h"

namespace tessera::tokenizers {
namespace {

struct Changed {
  char32_t c;
  int change;  // 0: replaces an input char; 1: inserted; -n: replaces one and removes n more
};

uint8_t combining_class(char32_t c) {
  if (c < 0x300) return 0;
  return static_cast<uint8_t>(utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class);
}

// The primary composite of (a, b), or 0. Every second char of a canonical pair is >= U+0300.
char32_t compose(char32_t a, char32_t b) {
  if (b < 0x300) return 0;
  utf8proc_int32_t buffer[2] = {static_cast<utf8proc_int32_t>(a), static_cast<utf8proc_int32_t>(b)};
  return utf8proc_normalize_utf32(buffer, 2, UTF8PROC_COMPOSE) == 1 ? static_cast<char32_t>(buffer[0]) : 0;
}

// Canonical decomposition, each char's pieces tagged 0 (first) or 1 (added), marks stably sorted by class
// between starters (decompose.rs).
void decompose(std::string_view text, std::vector<Changed>& out, std::vector<uint8_t>& classes) {
  std::size_t run = 0;  // start of the current run of non-starters
  auto close_run = [&] {
    std::vector<std::size_t> order(out.size() - run);
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = run + k;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return classes[x] < classes[y]; });
    std::vector<Changed> sorted_items;
    std::vector<uint8_t> sorted_classes;
    for (std::size_t k : order) sorted_items.push_back(out[k]), sorted_classes.push_back(classes[k]);
    std::copy(sorted_items.begin(), sorted_items.end(), out.begin() + std::ptrdiff_t(run));
    std::copy(sorted_classes.begin(), sorted_classes.end(), classes.begin() + std::ptrdiff_t(run));
  };
  for (std::size_t i = 0; i < text.size();) {
    int length = 0;
    const char32_t c = decode_utf8(text, i, length);
    i += static_cast<std::size_t>(length);
    utf8proc_int32_t pieces[8];
    utf8proc_ssize_t n = 1;
    pieces[0] = static_cast<utf8proc_int32_t>(c);
    if (c >= 0xC0) {
      int boundclass = 0;
      n = utf8proc_decompose_char(pieces[0], pieces, 8, UTF8PROC_DECOMPOSE, &boundclass);
      if (n < 1 || n > 8) n = 1, pieces[0] = static_cast<utf8proc_int32_t>(c);
    }
    for (utf8proc_ssize_t k = 0; k < n; ++k) {
      const auto d = static_cast<char32_t>(pieces[k]);
      const uint8_t cls = combining_class(d);
      if (cls == 0) {
        if (out.size() - run > 1) close_run();
        run = out.size();
      }
      out.push_back({d, k == 0 ? 0 : 1});
      classes.push_back(cls);
    }
  }
  if (out.size() - run > 1) close_run();
}

// recompose.rs, state machine for state machine.
void recompose(const std::vector<Changed>& in, std::vector<Changed>& out) {
  std::optional<Changed> composee;
  std::optional<uint8_t> last_ccc;
  std::vector<Changed> buffer;
  for (const Changed& item : in) {
    const uint8_t ch_class = combining_class(item.c);
    if (!composee) {
      if (ch_class != 0) out.push_back(item);
      else composee = item;
      continue;
    }
    const Changed k = *composee;
    if (!last_ccc) {
      if (const char32_t r = compose(k.c, item.c)) {
        composee = Changed{r, k.change + item.change - 1};
        continue;
      }
      if (ch_class == 0) {
        composee = item;
        out.push_back(k);
        continue;
      }
      buffer.push_back(item);
      last_ccc = ch_class;
      continue;
    }
    if (*last_ccc >= ch_class) {  // blocked from the composee
      if (ch_class == 0) {
        composee = item;
        last_ccc.reset();
        out.push_back(k);
        out.insert(out.end(), buffer.begin(), buffer.end());
        buffer.clear();
        continue;
      }
      buffer.push_back(item);
      last_ccc = ch_class;
      continue;
    }
    if (const char32_t r = compose(k.c, item.c)) {
      composee = Changed{r, k.change + item.change - 1};
      continue;
    }
    buffer.push_back(item);
    last_ccc = ch_class;
  }
  if (composee) out.push_back(*composee);
  out.insert(out.end(), buffer.begin(), buffer.end());
}

}  // namespace

void NfcNormalizer::normalize(const NormalizedText& in, NormalizedText& out) const {
  out.clear();
  const std::string_view text = in.text;
  if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    out.text = in.text, out.begin = in.begin, out.end = in.end;  // ASCII is its own NFC
    return;
  }
  std::vector<Changed> decomposed, composed;
  std::vector<uint8_t> classes;
  decompose(text, decomposed, classes);
  recompose(decomposed, composed);
  // NormalizedString::transform: a replacing char takes the alignment at the current input offset and
  // consumes that char (plus -change more); an inserted one takes the alignment just before the offset.
  std::size_t offset = 0;
  auto skip_char = [&] {
    if (offset >= text.size()) return;
    int length = 0;
    decode_utf8(text, offset, length);
    offset += static_cast<std::size_t>(length);
  };
  out.text.reserve(text.size());
  for (const Changed& item : composed) {
    uint32_t b = 0, e = 0;
    if (item.change > 0) {
      if (offset >= 1) b = in.begin[offset - 1], e = in.end[offset - 1];
    } else {
      if (offset < text.size()) b = in.begin[offset], e = in.end[offset];
      skip_char();
      for (int k = 0; k < -item.change; ++k) skip_char();
    }
    out.push(item.c, b, e);
  }
}

void SequenceNormalizer::normalize(const NormalizedText& in, NormalizedText& out) const {
  out = in;
  NormalizedText next;
  for (const auto& step : steps_) {
    step->normalize(out, next);
    std::swap(out, next);
  }
}

}  // namespace tessera::tokenizers
