// Helpers shared by the CUDA tests: the skip for machines without a GPU and a one-line summary of the ops that
// fell back to the host (Note [Host fallback]) — "" when none did.
#pragma once
#include <gtest/gtest.h>

#include <string>

#include "backends/backend.h"
#include "tessera/tensor.h"

#define TESSERA_REQUIRE_CUDA()                                                                              \
  do {                                                                                                      \
    if (!::tessera::cuda_is_available()) GTEST_SKIP() << "no CUDA device: " << ::tessera::cuda_unavailable_reason(); \
  } while (0)

namespace tessera::testing {

// "op xN op xM " for every op that ran on the host since the last backends::reset_host_fallbacks().
inline std::string fallbacks() {
  std::string s;
  for (const auto& f : backends::host_fallbacks()) s += f.op + " x" + std::to_string(f.count) + " ";
  return s;
}

}  // namespace tessera::testing
