// Reductions over one axis: sum and max (primitives), mean (sum / n).
#include <cmath>
#include <limits>

#include "ops/op.h"
#include "ops/reference.h"
#include "tessera/ops.h"

namespace tessera::ops {

namespace {
TensorMeta reduce_infer(Metas in, const Attrs& a) {
  Shape s = in[0].shape;
  TESSERA_ASSERT(a.axis >= 0 && a.axis < (int64_t)std::max<std::size_t>(s.size(), 1));
  if (s.empty()) return in[0];
  if (a.keepdim) s[a.axis] = 1;
  else s.erase(s.begin() + a.axis);
  return {s, in[0].dtype, in[0].device};
}

template <class Init, class Step>
void reduce_reference(Inputs in, const Tensor& out, const Attrs& a, Init init, Step step) {
  const Tensor& x = in[0];
  Shape outer = x.shape();
  if (outer.empty()) {
    ref::set(out, 0, ref::get(x, 0));
    return;
  }
  int64_t n = outer[a.axis];
  outer[a.axis] = 1;
  int64_t i = 0;
  ref::for_each_index(outer, [&](const std::vector<int64_t>& idx) {
    double acc = init();
    std::vector<int64_t> j = idx;
    for (int64_t k = 0; k < n; ++k) {
      j[a.axis] = k;
      acc = step(acc, ref::at(x, j));
    }
    ref::set(out, i++, acc);
  });
}

Cost reduce_cost(Metas in, const Attrs&, const TensorMeta& out) { return elementwise_cost(in, out, 0) ; }
std::string reduce_format(const Attrs& a) { return fmt::format("axis={}{}", a.axis, a.keepdim ? ", keepdim" : ""); }
}  // namespace

const OpDef& def_sum() {
  static const OpDef d{.name = "sum", .kind = OpKind::primitive, .arity = 1, .infer = reduce_infer,
                       .reference = [](Inputs in, const Tensor& out, const Attrs& a) {
                         reduce_reference(in, out, a, [] { return 0.0; }, [](double acc, double v) { return acc + v; });
                       },
                       .cost = [](Metas in, const Attrs& a, const TensorMeta& out) {
                         Cost c = reduce_cost(in, a, out);
                         c.flops = (double)shape_numel(in[0].shape);
                         return c;
                       },
                       .format_attrs = reduce_format};
  return d;
}

const OpDef& def_max() {
  static const OpDef d{.name = "max", .kind = OpKind::primitive, .arity = 1, .infer = reduce_infer,
                       .reference = [](Inputs in, const Tensor& out, const Attrs& a) {
                         reduce_reference(in, out, a, [] { return -std::numeric_limits<double>::infinity(); },
                                          [](double acc, double v) { return std::isnan(v) || std::isnan(acc) ? NAN : std::max(acc, v); });
                       },
                       .cost = reduce_cost, .format_attrs = reduce_format};
  return d;
}

const OpDef& def_mean() {
  static const OpDef d{.name = "mean", .kind = OpKind::composite, .arity = 1,
                       .infer = [](Metas in, const Attrs& a) {
                         TESSERA_CHECK(dtype_is_floating(in[0].dtype), "mean: needs a floating-point tensor, got {}",
                                       dtype_name(in[0].dtype));
                         return reduce_infer(in, a);
                       },
                       .decompose = [](Inputs in, const Attrs& a) {
                         const Tensor& x = in[0];
                         int64_t n = x.dim() == 0 ? 1 : x.shape()[a.axis];
                         Tensor s = sum(cast(x, accumulation_dtype(x.dtype())), a.axis, a.keepdim);
                         return cast(mul_scalar(s, 1.0 / (double)n), x.dtype());
                       },
                       .cost = reduce_cost, .format_attrs = reduce_format};
  return d;
}

Tensor sum(const Tensor& x, int64_t axis, bool keepdim) {
  return call(OpId::sum, std::vector<Tensor>{x}, Attrs{.axis = normalize_axis(axis, x.dim(), "sum"), .keepdim = keepdim});
}
Tensor max(const Tensor& x, int64_t axis, bool keepdim) {
  return call(OpId::max, std::vector<Tensor>{x}, Attrs{.axis = normalize_axis(axis, x.dim(), "max"), .keepdim = keepdim});
}
Tensor mean(const Tensor& x, int64_t axis, bool keepdim) {
  return call(OpId::mean, std::vector<Tensor>{x}, Attrs{.axis = normalize_axis(axis, x.dim(), "mean"), .keepdim = keepdim});
}

}  // namespace tessera::ops
