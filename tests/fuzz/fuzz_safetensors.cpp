// libFuzzer target: the safetensors header parser on arbitrary bytes; every accepted tensor is then read.
#include <cstdint>

#include "tessera/io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    tessera::io::SafetensorsHeader h = tessera::io::parse_safetensors_header(data, size, "fuzz.safetensors");
    for (const auto& e : h.tensors) {  // touch every byte each entry claims: ASan catches a bad bound
      const uint8_t* p = data + h.data_offset + e.begin;
      volatile uint8_t sink = 0;
      for (uint64_t i = 0; i < e.end - e.begin; ++i) sink = sink ^ p[i];
    }
  } catch (const tessera::Error&) {
  }
  return 0;
}
