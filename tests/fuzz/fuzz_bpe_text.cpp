// libFuzzer target: arbitrary bytes as text through a byte-level BPE tokenizer (the GPT-2-style fixture, vocab.json +
// merges.txt, the same pipeline as GPT-NeoX's tokenizer.json). Invalid UTF-8 must raise tessera::Error; valid text
// must encode with consistent lengths, in-vocabulary ids and in-range, ordered offsets, and decode without failing.
// Tokenizer directory: $TESSERA_TOKENIZER_DIR (e.g. one holding gpt-neox-20b's tokenizer.json), else the fixture.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tessera/error.h"
#include "tessera/tokenizer.h"

#ifndef TESSERA_FIXTURES_DIR
#define TESSERA_FIXTURES_DIR "tests/fixtures"
#endif

namespace {

const tessera::tokenizers::Tokenizer& tokenizer() {
  static const tessera::tokenizers::Tokenizer t = [] {
    const char* dir = std::getenv("TESSERA_TOKENIZER_DIR");
    return tessera::tokenizers::Tokenizer::from_dir(dir != nullptr ? std::string(dir)
                                                                    : std::string(TESSERA_FIXTURES_DIR) +
                                                                          "/tokenizers/gpt2-style");
  }();
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto& tok = tokenizer();
    const tessera::tokenizers::Encoding e = tok.encode(text);
    if (e.ids.size() != e.offsets.size() || e.ids.size() != e.tokens.size() || e.ids.size() != e.attention_mask.size())
      __builtin_trap();
    for (std::size_t i = 0; i < e.ids.size(); ++i) {
      if (e.ids[i] < 0 || (std::size_t)e.ids[i] >= tok.vocab_size()) __builtin_trap();
      const auto& o = e.offsets[i];
      if (o.begin > o.end || o.end > text.size()) __builtin_trap();
    }
    tok.decode(e.ids, /*skip_special_tokens=*/false);
    tok.encode(text, {.add_special_tokens = false, .truncation = true, .max_length = 16});
  } catch (const tessera::Error&) {
  }
  return 0;
}
