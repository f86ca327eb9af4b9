// The op registry: one OpDef per ops.def line, looked up by OpId. Completeness is checked at link time
// (every def_<name>() must exist) and the name is checked at start-up against ops.def.
#include <array>

#include "ops/op.h"

namespace tessera::ops {

#define TESSERA_OP(name, kind, family) const OpDef& def_##name();
#include "ops/ops.def"
#undef TESSERA_OP

namespace {
const std::array<const OpDef*, kOpCount>& table() {
  static const std::array<const OpDef*, kOpCount> t = [] {
    std::array<const OpDef*, kOpCount> r{};
    int i = 0;
#define TESSERA_OP(N, K, F)                                                                          \
  r[i] = &def_##N();                                                                                 \
  TESSERA_ASSERT(r[i]->name == #N && r[i]->kind == OpKind::K, "OpDef for {} disagrees with ops.def", #N); \
  ++i;
#include "ops/ops.def"
#undef TESSERA_OP
    return r;
  }();
  return t;
}
}  // namespace

const OpDef& op_def(OpId id) { return *table()[(std::size_t)id]; }
std::string_view op_name(OpId id) { return op_def(id).name; }

std::string_view op_kind_name(OpKind k) {
  switch (k) {
    case OpKind::view: return "view";
    case OpKind::primitive: return "primitive";
    case OpKind::composite: return "composite";
    case OpKind::library: return "library";
  }
  return "?";
}

int64_t normalize_axis(int64_t axis, int64_t rank, std::string_view op) {
  int64_t r = std::max<int64_t>(rank, 1);
  TESSERA_CHECK(axis >= -r && axis < r, "{}: axis {} is out of range for a tensor of rank {}", op, axis, rank);
  return axis < 0 ? axis + r : axis;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
  std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    TESSERA_CHECK(da == db || da == 1 || db == 1, "{}: shapes {} and {} cannot be broadcast together (dimension {})",
                  op, shape_str(a), shape_str(b), i);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Cost elementwise_cost(Metas in, const TensorMeta& out, double flops_per_element) {
  Cost c;
  double n = (double)shape_numel(out.shape);
  c.flops = n * flops_per_element;
  for (const TensorMeta& m : in) c.bytes += (double)shape_numel(m.shape) * (double)dtype_size(m.dtype);
  c.bytes += n * (double)dtype_size(out.dtype);
  return c;
}

}  // namespace tessera::ops
