// The CPU flash kernel's inner loops (cpu_flash_kernels_impl.h) for the build's baseline (AVX2), and the choice
// between them and the AVX-512 copy in cpu_flash_avx512.cpp (Note [CPU ISA dispatch] in backends/cpu/ssm.cpp).
#include "attention/cpu_flash_kernels_impl.h"

#include "backends/cpu/scan_simd.h"

namespace tessera::attention::detail {

const FlashKernels& cpu_flash_kernels_baseline() {
  static const FlashKernels k{.isa = kIsa, .lanes = kW, .pack_k = pack_k_impl, .pack_v = pack_v_impl, .attend = attend_impl};
  return k;
}

const FlashKernels& cpu_flash_kernels() {
#if defined(TESSERA_CPU_AVX512)
  if (backends::cpu::avx512_enabled()) return cpu_flash_kernels_avx512();
#endif
  return cpu_flash_kernels_baseline();
}

}  // namespace tessera::attention::detail
