// Cases for elementwise primitives: every dtype the kernels compute in, broadcasting, views, NaN/Inf.
#include "ops/harness.h"

namespace tessera::testing {

std::vector<OpCase> elementwise_cases() {
  using ops::OpId;
  std::vector<OpCase> v;
  const DType floats[] = {DType::f32, DType::f16, DType::bf16, DType::f64};
  for (OpId op : {OpId::add, OpId::sub, OpId::mul, OpId::div, OpId::maximum}) {
    std::string name(ops::op_name(op));
    for (DType dt : floats) {
      Values b = op == OpId::div ? Values::positive : Values::normal;
      v.push_back({fmt::format("{}_{}_same", name, dtype_name(dt)), op, {in({4, 37}, dt), in({4, 37}, dt, Layout::contiguous, b)}});
    }
    v.push_back({name + "_bias_broadcast", op, {in({3, 5, 16}), in({16}, DType::f32, Layout::contiguous, op == OpId::div ? Values::positive : Values::normal)}});
    v.push_back({name + "_outer_broadcast", op, {in({3, 1, 8}), in({1, 5, 1}, DType::f32, Layout::contiguous, op == OpId::div ? Values::positive : Values::normal)}});
    v.push_back({name + "_views", op, {in({6, 10}, DType::f32, Layout::transposed), in({6, 10}, DType::f32, Layout::sliced, op == OpId::div ? Values::positive : Values::normal)}});
    v.push_back({name + "_specials", op, {in({64}, DType::f32, Layout::contiguous, Values::specials), in({64})}});
    v.push_back({name + "_large_parallel", op, {in({64, 1031}), in({64, 1031}, DType::f32, Layout::contiguous, op == OpId::div ? Values::positive : Values::normal)}});
  }
  // Note [Float promotion]: two float dtypes -> the wider (f16 with bf16 -> f32), broadcasting and views too.
  struct Mix { DType a, b; };
  for (OpId op : {OpId::add, OpId::sub, OpId::mul, OpId::div, OpId::maximum})
    for (Mix m : {Mix{DType::f32, DType::f16}, Mix{DType::bf16, DType::f32}, Mix{DType::f16, DType::bf16}, Mix{DType::f64, DType::f32}}) {
      Values b = op == OpId::div ? Values::positive : Values::normal;
      v.push_back({fmt::format("{}_mixed_{}_{}", ops::op_name(op), dtype_name(m.a), dtype_name(m.b)), op,
                   {in({4, 37}, m.a), in({4, 37}, m.b, Layout::contiguous, b)}});
    }
  v.push_back({"add_mixed_broadcast_views", OpId::add, {in({6, 10}, DType::f32, Layout::transposed), in({10}, DType::f16)}});
  for (OpId op : {OpId::add, OpId::sub, OpId::mul, OpId::maximum})
    v.push_back({fmt::format("{}_i64", ops::op_name(op)), op, {in({5, 7}, DType::i64, Layout::contiguous, Values::integers), in({7}, DType::i64, Layout::contiguous, Values::integers)}});
  for (DType dt : floats) {
    v.push_back({fmt::format("add_scalar_{}", dtype_name(dt)), OpId::add_scalar, {in({3, 9}, dt)}, {.scalar = 0.75}});
    v.push_back({fmt::format("mul_scalar_{}", dtype_name(dt)), OpId::mul_scalar, {in({3, 9}, dt, Layout::sliced)}, {.scalar = -1.5}});
    v.push_back({fmt::format("neg_{}", dtype_name(dt)), OpId::neg, {in({2, 11}, dt)}});
  }
  struct U { OpId op; Values values; double scale; };
  for (U u : {U{OpId::exp, Values::normal, 1}, U{OpId::log, Values::positive, 1}, U{OpId::sqrt, Values::positive, 1},
              U{OpId::rsqrt, Values::positive, 1}, U{OpId::tanh, Values::normal, 1}, U{OpId::erf, Values::normal, 1}}) {
    std::string name(ops::op_name(u.op));
    for (DType dt : floats)
      v.push_back({fmt::format("{}_{}", name, dtype_name(dt)), u.op, {in({5, 67}, dt, Layout::contiguous, u.values)}, {}, u.scale});
    v.push_back({name + "_transposed", u.op, {in({9, 13}, DType::f32, Layout::transposed, u.values)}});
    v.push_back({name + "_specials", u.op, {in({70}, DType::f32, Layout::contiguous, Values::specials)}});
  }
  v.push_back({"exp_wide_range", OpId::exp, {in({4096}, DType::f32)}, {.scalar = 0}});
  for (DType from : {DType::f32, DType::f16, DType::bf16, DType::i64, DType::boolean})
    for (DType to : {DType::f32, DType::f16, DType::bf16, DType::i64, DType::i32, DType::f64}) {
      if (from == to) continue;
      Values vals = from == DType::boolean ? Values::boolean : (from == DType::i64 || to == DType::i64 || to == DType::i32) ? Values::integers : Values::normal;
      v.push_back({fmt::format("cast_{}_to_{}", dtype_name(from), dtype_name(to)), OpId::cast, {in({3, 17}, from, Layout::contiguous, vals)}, {.dtype = to}});
    }
  v.push_back({"cast_f32_to_bool", OpId::cast, {in({40}, DType::f32, Layout::contiguous, Values::integers)}, {.dtype = DType::boolean}});
  for (DType dt : {DType::f32, DType::f16, DType::i64})
    v.push_back({fmt::format("where_{}", dtype_name(dt)), OpId::where,
                 {in({4, 1, 6}, DType::boolean, Layout::contiguous, Values::boolean), in({4, 3, 6}, dt, Layout::contiguous, dt == DType::i64 ? Values::integers : Values::normal),
                  in({6}, dt, Layout::contiguous, dt == DType::i64 ? Values::integers : Values::normal)}});
  return v;
}

}  // namespace tessera::testing
