// Cases for reductions over each axis, with keepdim, views and low precision.
#include "ops/harness.h"

namespace tessera::testing {

std::vector<OpCase> reduce_cases() {
  using ops::OpId;
  std::vector<OpCase> v;
  for (OpId op : {OpId::sum, OpId::max, OpId::mean})
    for (int64_t axis : {0, 1, 2})
      for (bool keep : {false, true}) {
        std::string name = fmt::format("{}_axis{}{}", ops::op_name(op), axis, keep ? "_keep" : "");
        v.push_back({name, op, {in({3, 5, 7})}, {.axis = axis, .keepdim = keep}});
      }
  for (OpId op : {OpId::sum, OpId::max, OpId::mean}) {
    std::string name(ops::op_name(op));
    v.push_back({name + "_bf16", op, {in({4, 300}, DType::bf16)}, {.axis = 1}});
    v.push_back({name + "_f16", op, {in({4, 300}, DType::f16)}, {.axis = 1}});
    v.push_back({name + "_transposed", op, {in({6, 9}, DType::f32, Layout::transposed)}, {.axis = 1}});
    v.push_back({name + "_specials", op, {in({7, 10}, DType::f32, Layout::contiguous, Values::specials)}, {.axis = 1}});
    v.push_back({name + "_long_rows_parallel", op, {in({256, 2048})}, {.axis = 1}});
  }
  v.push_back({"sum_i64", OpId::sum, {in({5, 6}, DType::i64, Layout::contiguous, Values::integers)}, {.axis = 0}});
  return v;
}

}  // namespace tessera::testing
