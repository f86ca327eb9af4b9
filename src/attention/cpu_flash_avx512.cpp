// The CPU flash kernel's inner loops (cpu_flash_kernels_impl.h) compiled for AVX-512 (-march=x86-64-v4, set for
// this file in src/CMakeLists.txt); called only on CPUs that have it (Note [CPU ISA dispatch] in backends/cpu/ssm.cpp).
#include "attention/cpu_flash_kernels_impl.h"

#if !defined(__AVX512F__)
#error "cpu_flash_avx512.cpp must be compiled with AVX-512 enabled (-march=x86-64-v4)"
#endif

namespace tessera::attention::detail {

const FlashKernels& cpu_flash_kernels_avx512() {
  static const FlashKernels k{.isa = kIsa, .lanes = kW, .pack_k = pack_k_impl, .pack_v = pack_v_impl, .attend = attend_impl};
  return k;
}

}  // namespace tessera::attention::detail
