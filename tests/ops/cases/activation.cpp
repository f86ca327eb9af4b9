// Cases for activations (composites with fused CPU kernels) against their decompositions.
#include "ops/harness.h"

namespace tessera::testing {

std::vector<OpCase> activation_cases() {
  using ops::OpId;
  std::vector<OpCase> v;
  for (OpId op : {OpId::relu, OpId::gelu, OpId::gelu_new, OpId::silu, OpId::sigmoid}) {
    std::string name(ops::op_name(op));
    for (DType dt : {DType::f32, DType::f16, DType::bf16, DType::f64})
      v.push_back({fmt::format("{}_{}", name, dtype_name(dt)), op, {in({8, 129}, dt)}});
    v.push_back({name + "_sliced", op, {in({5, 40}, DType::f32, Layout::sliced)}});
    v.push_back({name + "_specials", op, {in({77}, DType::f32, Layout::contiguous, Values::specials)}});
    v.push_back({name + "_large", op, {in({128, 3072})}});
  }
  return v;
}

}  // namespace tessera::testing
