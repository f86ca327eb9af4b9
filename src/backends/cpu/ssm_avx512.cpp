// The state-space kernels' inner loops (scan_simd_impl.h) compiled for AVX-512 (-march=x86-64-v4, set for this
// file in src/CMakeLists.txt); called only on CPUs that have it (Note [CPU ISA dispatch] in ssm.cpp).
#include "backends/cpu/scan_simd_impl.h"

#if !defined(__AVX512F__)
#error "ssm_avx512.cpp must be compiled with AVX-512 enabled (-march=x86-64-v4)"
#endif

namespace tessera::backends::cpu {

const ScanSimd& scan_simd_avx512() {
  static const ScanSimd s{.isa = kIsa, .chunk = chunk_impl, .to_tile = to_tile_impl, .from_tile = from_tile_impl,
                          .conv = conv_impl};
  return s;
}

}  // namespace tessera::backends::cpu
