// The state-space kernels' baseline (AVX2) inner loops, on a CPU whose AVX-512 copy the op cases exercise
// otherwise (Note [CPU ISA dispatch] in src/backends/cpu/ssm.cpp): every ssm case again with AVX-512 turned off.
#include <gtest/gtest.h>

#include "backends/backend.h"
#include "ops/harness.h"

namespace tessera::testing {

TEST(SsmIsa, BaselineKernelsMatchReference) {
  backends::set_cpu_avx512(false);
  for (const OpCase& c : ssm_cases()) {
    CaseResult r = run_case(c, /*seed=*/1234);
    EXPECT_TRUE(r.failure.empty()) << c.name << " [" << r.kernel << ", avx512 off]: " << r.failure;
  }
  backends::set_cpu_avx512(true);
}

}  // namespace tessera::testing
