// Note [OpenBLAS core]: OpenBLAS picks its kernels ("core") once, when the library loads, from the CPU model. The
// Debian 12 build (0.3.21) does not know CPUs newer than Cooper Lake and, on such CPUs (e.g. Sapphire Rapids VMs),
// falls back to its SSE3 "Prescott" kernels: 1024^3 sgemm ran at 45 GFLOP/s there against 142 (Haswell, AVX2) and
// 281 (SkylakeX, AVX-512) with OPENBLAS_CORETYPE set (2 threads, 2026-12-01), the same results in each case. The
// core can't change after load, so the CLI re-executes itself once with OPENBLAS_CORETYPE set to
// better_openblas_core() when the user set none (tools/cli/main.cpp); the benchmarks record the core that ran.
#include "backends/cpu/blas_core.h"

#include <string_view>

extern "C" char* openblas_get_corename(void);

namespace tessera::backends {

namespace {
// OpenBLAS x86-64 cores by instruction set, weakest first (the DYNAMIC_ARCH list of 0.3.21).
int core_rank(std::string_view core) {
  constexpr std::string_view kOrder[] = {"Prescott", "Core2", "Nehalem", "Sandybridge", "Haswell", "SkylakeX", "Cooperlake"};
  for (int i = 0; i < (int)std::size(kOrder); ++i)
    if (core == kOrder[i]) return i;
  if (core == "Zen") return 4;  // AMD's AVX2 core
  return -1;                    // unknown or non-x86: leave it alone
}
}  // namespace

std::string openblas_core() { return openblas_get_corename(); }

std::optional<std::string> better_openblas_core() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  std::string want;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq"))
    want = "SkylakeX";
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    want = "Haswell";
  int have = core_rank(openblas_core());
  if (want.empty() || have < 0 || have >= core_rank(want)) return std::nullopt;
  return want;
#else
  return std::nullopt;
#endif
}

}  // namespace tessera::backends
