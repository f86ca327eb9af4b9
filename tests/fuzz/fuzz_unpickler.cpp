// libFuzzer target: the restricted unpickler on raw pickle streams, and whole torch checkpoints (zip or
// legacy) through load_torch_checkpoint_bytes, reading every element of every tensor that loads.
#include <cstdint>
#include <cstring>

#include "io/unpickler.h"
#include "tessera/io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    tessera::io::Unpickler u(data, size, "fuzz.pkl");
    std::size_t pos = 0;
    for (int i = 0; i < 8 && pos < size; ++i) u.load(pos);
  } catch (const tessera::Error&) {
  }
  try {
    for (auto& [name, t] : tessera::io::load_torch_checkpoint_bytes(data, size, "fuzz.bin")) {
      if (t.dtype() == tessera::DType::f8_e4m3 || t.dtype() == tessera::DType::f8_e5m2) continue;
      for (int64_t i = 0; i < t.numel() && i < (1 << 16); ++i) (void)tessera::read_element(t, i);
    }
  } catch (const tessera::Error&) {
  }
  return 0;
}
