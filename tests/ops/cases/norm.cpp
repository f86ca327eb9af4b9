// Cases for softmax, layer_norm, add_layer_norm, rms_norm and masked_fill.
#include "ops/harness.h"

namespace tessera::testing {

std::vector<OpCase> norm_cases() {
  using ops::OpId;
  std::vector<OpCase> v;
  for (DType dt : {DType::f32, DType::f16, DType::bf16}) {
    std::string d(dtype_name(dt));
    v.push_back({"softmax_last_" + d, OpId::softmax, {in({4, 6, 50}, dt)}, {.axis = 2}});
    v.push_back({"layer_norm_" + d, OpId::layer_norm, {in({3, 7, 48}, dt), in({48}, dt), in({48}, dt)}, {.scalar = 1e-12}});
    v.push_back({"rms_norm_" + d, OpId::rms_norm, {in({3, 7, 48}, dt), in({48}, dt)}, {.scalar = 1e-5}});
    v.push_back({"add_layer_norm_" + d, OpId::add_layer_norm, {in({3, 7, 48}, dt), in({3, 7, 48}, dt), in({48}, dt), in({48}, dt)}, {.scalar = 1e-12}});
  }
  v.push_back({"add_layer_norm_big_rows", OpId::add_layer_norm, {in({256, 768}), in({256, 768}), in({768}), in({768})}, {.scalar = 1e-12}, 4});
  v.push_back({"add_layer_norm_strided_residual", OpId::add_layer_norm, {in({5, 24}), in({5, 24}, DType::f32, Layout::transposed), in({24}), in({24})}, {.scalar = 1e-5}});
  v.push_back({"softmax_axis0", OpId::softmax, {in({5, 6})}, {.axis = 0}});
  v.push_back({"softmax_transposed", OpId::softmax, {in({7, 9}, DType::f32, Layout::transposed)}, {.axis = 1}});
  v.push_back({"softmax_specials", OpId::softmax, {in({6, 14}, DType::f32, Layout::contiguous, Values::specials)}, {.axis = 1}});
  v.push_back({"softmax_long_rows", OpId::softmax, {in({96, 512})}, {.axis = 1}});
  v.push_back({"layer_norm_eps_large", OpId::layer_norm, {in({5, 33}), in({33}), in({33})}, {.scalar = 1e-1}});
  v.push_back({"layer_norm_big_rows", OpId::layer_norm, {in({512, 768}), in({768}), in({768})}, {.scalar = 1e-12}, 4});
  v.push_back({"layer_norm_sliced_input", OpId::layer_norm, {in({4, 20}, DType::f32, Layout::sliced), in({20}), in({20})}, {.scalar = 1e-5}});
  v.push_back({"masked_fill", OpId::masked_fill, {in({2, 3, 8}), in({2, 1, 8}, DType::boolean, Layout::contiguous, Values::boolean)}, {.scalar = -1e4}});
  v.push_back({"masked_fill_bf16", OpId::masked_fill, {in({2, 8}, DType::bf16), in({8}, DType::boolean, Layout::contiguous, Values::boolean)}, {.scalar = 0}});
  return v;
}

}  // namespace tessera::testing
