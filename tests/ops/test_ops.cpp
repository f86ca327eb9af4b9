// Runs every declared op case (fast kernel vs reference, guard bytes, NaN/Inf parity, capture == eager),
// checks that every op in ops.def has cases, and prints the coverage listing.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "backends/backend.h"
#include "tessera/ops.h"
#include "ops/harness.h"

namespace tessera::testing {

class OpCases : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpCases, MatchesReference) {
  const OpCase& c = GetParam();
  CaseResult r = run_case(c, /*seed=*/1234);
  EXPECT_TRUE(r.failure.empty()) << c.name << " [" << r.kernel << "]: " << r.failure;
}

INSTANTIATE_TEST_SUITE_P(All, OpCases, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<OpCase>& info) { return info.param.name; });

TEST(OpCoverage, EveryOpHasCasesAndEveryKernelIsExercised) {
  std::map<std::string, int> per_op;
  std::set<std::string> kernels_hit;
  for (const OpCase& c : all_cases()) {
    per_op[std::string(ops::op_name(c.op))]++;
    std::vector<Tensor> inputs;
    for (std::size_t i = 0; i < c.inputs.size(); ++i) inputs.push_back(make_input(c.inputs[i], 1));
    if (auto* k = backends::cpu_kernel(c.op, inputs, c.attrs)) kernels_hit.insert(k->name);
  }
  std::string listing = "op coverage:\n";
  for (int i = 0; i < ops::kOpCount; ++i) {
    auto id = (ops::OpId)i;
    std::string name(ops::op_name(id));
    listing += fmt::format("  {:<12} {:<10} {:>3} cases\n", name, ops::op_kind_name(ops::op_def(id).kind), per_op[name]);
    EXPECT_GT(per_op[name], 0) << "op '" << name << "' has no test cases in tests/ops/cases/";
  }
  for (const auto& e : backends::cpu_kernel_table()) {
    if (!kernels_hit.count(e.name) && std::string_view(e.name).ends_with("_avx512fp16") &&
        std::string_view(backends::cpu_f16_gemm_isa()) != "avx512_fp16") {
      listing += fmt::format("  (kernel {} not exercised: this CPU has no AVX512-FP16)\n", e.name);
      continue;
    }
    EXPECT_TRUE(kernels_hit.count(e.name)) << "kernel " << e.name << " is never exercised by a case";
  }
  std::printf("%s", listing.c_str());
}

TEST(OpErrors, InferNamesTheProblem) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 3});
  try {
    (void)(a + b);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be broadcast"), std::string::npos) << e.what();
  }
  Tensor w = Tensor::zeros({5, 4});
  Tensor ids = Tensor::from_values({2}, std::vector<int64_t>{1, 9});
  EXPECT_THROW((void)ops::embedding(w, ids), Error);
  EXPECT_THROW((void)ops::matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})), Error);
  EXPECT_THROW((void)ops::layer_norm(Tensor::zeros({2, 3}), Tensor::zeros({4}), Tensor::zeros({3}), 1e-5), Error);
  EXPECT_THROW((void)ops::activation(a, "swiglu_unknown"), Error);
}

}  // namespace tessera::testing
