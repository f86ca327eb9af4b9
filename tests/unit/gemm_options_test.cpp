// The process-wide GEMM options (backends/gemm_options.h): TF32 is off until opted in, in every build.
#include <gtest/gtest.h>

#include "backends/gemm_options.h"

namespace tessera::backends {

TEST(GemmOptions, Tf32IsOffByDefaultAndToggles) {
  EXPECT_FALSE(allow_tf32());
  set_allow_tf32(true);
  EXPECT_TRUE(allow_tf32());
  set_allow_tf32(false);
  EXPECT_FALSE(allow_tf32());
}

}  // namespace tessera::backends
