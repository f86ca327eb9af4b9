// Cases for movement ops: views, contiguous copies, concat and embedding gather.
#include "ops/harness.h"

namespace tessera::testing {

std::vector<OpCase> movement_cases() {
  using ops::OpId;
  std::vector<OpCase> v;
  v.push_back({"reshape_contig", OpId::reshape, {in({2, 3, 4})}, {.ints = {6, 4}}});
  v.push_back({"reshape_sliced_inner", OpId::reshape, {in({4, 6}, DType::f32, Layout::sliced)}, {.ints = {4, 6, 1}}});
  v.push_back({"permute", OpId::permute, {in({2, 3, 4})}, {.ints = {2, 0, 1}}});
  v.push_back({"slice", OpId::slice, {in({5, 7})}, {.axis = 1, .start = 1, .end = 6, .step = 2}});
  v.push_back({"expand", OpId::expand, {in({1, 3})}, {.ints = {4, 2, 3}}});
  for (DType dt : {DType::f32, DType::f16, DType::bf16, DType::i64, DType::f64}) {
    Values vals = dt == DType::i64 ? Values::integers : Values::normal;
    v.push_back({fmt::format("contiguous_transposed_{}", dtype_name(dt)), OpId::contiguous, {in({3, 5, 7}, dt, Layout::transposed, vals)}});
    v.push_back({fmt::format("contiguous_sliced_{}", dtype_name(dt)), OpId::contiguous, {in({4, 33}, dt, Layout::sliced, vals)}});
  }
  v.push_back({"contiguous_broadcast", OpId::contiguous, {in({3, 4, 5}, DType::f32, Layout::broadcast)}});
  v.push_back({"concat_axis1", OpId::concat, {in({2, 3, 4}), in({2, 5, 4})}, {.axis = 1}});
  v.push_back({"concat_axis0_f16", OpId::concat, {in({2, 3}, DType::f16), in({1, 3}, DType::f16)}, {.axis = 0}});
  v.push_back({"concat_views", OpId::concat, {in({3, 4}, DType::f32, Layout::transposed), in({3, 2})}, {.axis = 1}});
  for (DType dt : {DType::f32, DType::bf16}) {
    InputSpec ids = in({2, 9}, DType::i64, Layout::contiguous, Values::ids);
    ids.id_limit = 11;
    v.push_back({fmt::format("gather_{}", dtype_name(dt)), OpId::gather, {in({11, 16}, dt), ids}});
  }
  InputSpec ids32 = in({7}, DType::i32, Layout::contiguous, Values::ids);
  ids32.id_limit = 5;
  v.push_back({"gather_i32_ids_transposed_table", OpId::gather, {in({5, 6}, DType::f32, Layout::transposed), ids32}});
  return v;
}

}  // namespace tessera::testing
