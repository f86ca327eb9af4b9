// libFuzzer target: arbitrary bytes as a tokenizer.json; tessera::Error is an accepted outcome, crashes are not.
// When the file parses, a few texts are encoded and decoded through it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tessera/error.h"
#include "tessera/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera::tokenizers;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  try {
    const Tokenizer tokenizer = Tokenizer::from_json_string(json, "fuzz.json");
    for (std::string_view text : {std::string_view("Hello, world! [CLS] café 中文 👍🏽"), std::string_view(""),
                                  std::string_view("  a  ##b [MASK]")}) {
      const Encoding e = tokenizer.encode(text, {.truncation = true, .max_length = 16});
      tokenizer.encode_pair(text, "pair text", {.truncation = true, .max_length = 8});
      tokenizer.decode(e.ids);
      tokenizer.decode(e.ids, /*skip_special_tokens=*/false);
    }
  } catch (const tessera::Error&) {
  }
  return 0;
}
