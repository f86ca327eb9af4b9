// libFuzzer target: arbitrary bytes as text through the bert-base-uncased fixture tokenizer. Invalid UTF-8
// must raise tessera::Error; valid text must encode with consistent lengths and in-range offsets.
// Tokenizer directory: $TESSERA_TOKENIZER_DIR, else the compile definition TESSERA_FIXTURES_DIR.
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
                                                                          "/tokenizers/bert-base-uncased");
  }();
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const tessera::tokenizers::Encoding e = tokenizer().encode(text);
    if (e.ids.size() != e.offsets.size() || e.ids.size() != e.tokens.size() || e.ids.size() < 2) __builtin_trap();
    for (const auto& o : e.offsets) {
      if (o.begin > o.end || o.end > text.size()) __builtin_trap();
    }
    tokenizer().decode(e.ids);
    const std::string_view halves[] = {text.substr(0, size / 2), text.substr(size / 2)};
    tokenizer().encode_pair(halves[0], halves[1], {.truncation = true, .max_length = 32});
  } catch (const tessera::Error&) {
  }
  return 0;
}
