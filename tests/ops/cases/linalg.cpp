// Cases for matmul and linear: integer-valued inputs make f32 GEMM bit-exact; views go to BLAS as transposes.
#include "ops/harness.h"

namespace tessera::testing {

std::vector<OpCase> linalg_cases() {
  using ops::OpId;
  std::vector<OpCase> v;
  v.push_back({"matmul_int_exact", OpId::matmul, {in({17, 33}, DType::f32, Layout::contiguous, Values::integers), in({33, 9}, DType::f32, Layout::contiguous, Values::integers)}, {}, 0});
  v.push_back({"matmul_batched", OpId::matmul, {in({2, 3, 8, 16}), in({2, 3, 16, 5})}});
  v.push_back({"matmul_broadcast_batch", OpId::matmul, {in({2, 1, 8, 16}), in({3, 16, 5})}});
  v.push_back({"matmul_a_transposed", OpId::matmul, {in({4, 12, 8}, DType::f32, Layout::transposed), in({4, 8, 6})}});
  v.push_back({"matmul_b_transposed_int_exact", OpId::matmul, {in({3, 10, 20}, DType::f32, Layout::contiguous, Values::integers), in({3, 20, 7}, DType::f32, Layout::transposed, Values::integers)}, {}, 0});
  v.push_back({"matmul_b_sliced", OpId::matmul, {in({5, 6}), in({6, 4}, DType::f32, Layout::sliced)}});
  v.push_back({"matmul_b_broadcast", OpId::matmul, {in({3, 5, 6}), in({3, 6, 4}, DType::f32, Layout::broadcast)}});
  for (DType dt : {DType::f16, DType::bf16, DType::f64})
    v.push_back({fmt::format("matmul_{}", dtype_name(dt)), OpId::matmul, {in({2, 9, 24}, dt), in({2, 24, 7}, dt)}, {}, 2});
  v.push_back({"matmul_k0", OpId::matmul, {in({3, 0}), in({0, 4})}});
  v.push_back({"matmul_specials", OpId::matmul, {in({4, 8}, DType::f32, Layout::contiguous, Values::specials), in({8, 3})}});
  v.push_back({"linear_bias", OpId::linear, {in({2, 5, 24}), in({10, 24}), in({10})}});
  v.push_back({"linear_no_bias", OpId::linear, {in({7, 24}), in({10, 24})}});
  v.push_back({"linear_int_exact", OpId::linear, {in({6, 32}, DType::f32, Layout::contiguous, Values::integers), in({12, 32}, DType::f32, Layout::contiguous, Values::integers), in({12}, DType::f32, Layout::contiguous, Values::integers)}, {}, 0});
  v.push_back({"linear_input_view", OpId::linear, {in({6, 16}, DType::f32, Layout::transposed), in({5, 16}), in({5})}});
  for (DType dt : {DType::f16, DType::bf16})
    v.push_back({fmt::format("linear_{}", dtype_name(dt)), OpId::linear, {in({4, 40}, dt), in({12, 40}, dt), in({12}, dt)}, {}, 2});
  return v;
}

}  // namespace tessera::testing
