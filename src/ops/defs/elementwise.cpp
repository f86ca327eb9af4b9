// Elementwise primitives: cast, binary arithmetic with broadcasting, scalar ops, unary math, where.
// References compute in double and round to the output dtype on store.
#include <cmath>
#include <optional>

#include "ops/op.h"
#include "ops/reference.h"
#include "tessera/ops.h"

namespace tessera::ops {

namespace {
// Note [Float promotion]: binary arithmetic on two different float dtypes among f64, f32, f16 and bf16 promotes
// as PyTorch does: to the wider one, and f16 with bf16 to f32. The narrower operand is converted exactly, so
// add(a_f32, b_f16) == add(a_f32, cast(b_f16, f32)) bit for bit; a backend may read it in its own dtype (CUDA does:
// Mamba's f32 residual plus the mixer's f16 output is one kernel, not a cast and an add). Other mixes (integers,
// fp8, bool) stay errors: cast explicitly.
std::optional<DType> promoted_float(DType a, DType b) {
  auto rank = [](DType d) { return d == DType::f64 ? 3 : d == DType::f32 ? 2 : (d == DType::f16 || d == DType::bf16) ? 1 : 0; };
  if (a == b || rank(a) == 0 || rank(b) == 0) return std::nullopt;
  if (rank(a) != rank(b)) return rank(a) > rank(b) ? a : b;
  return DType::f32;  // f16 with bf16
}

TensorMeta binary_infer_named(Metas in, std::string_view op) {
  std::optional<DType> promoted = promoted_float(in[0].dtype, in[1].dtype);
  TESSERA_CHECK(in[0].dtype == in[1].dtype || promoted.has_value(),
                "{}: operands have different dtypes ({} and {}); cast one first", op, dtype_name(in[0].dtype),
                dtype_name(in[1].dtype));
  TESSERA_CHECK(in[0].device == in[1].device, "{}: operands are on different devices ({} and {})", op,
                to_string(in[0].device), to_string(in[1].device));
  return {broadcast_shapes(in[0].shape, in[1].shape, op), promoted.value_or(in[0].dtype), in[0].device};
}

template <class F>
void binary_reference(Inputs in, const Tensor& out, F f) {
  int64_t i = 0;
  ref::for_each_index(out.shape(), [&](const std::vector<int64_t>& idx) {
    ref::set(out, i++, f(ref::at(in[0], idx), ref::at(in[1], idx)));
  });
}

template <class F>
void unary_reference(Inputs in, const Tensor& out, F f) {
  int64_t i = 0;
  ref::for_each_index(out.shape(), [&](const std::vector<int64_t>& idx) { ref::set(out, i++, f(ref::at(in[0], idx))); });
}

TensorMeta float_unary_infer_named(Metas in, std::string_view op) {
  TESSERA_CHECK(dtype_is_floating(in[0].dtype), "{}: needs a floating-point tensor, got {}", op, dtype_name(in[0].dtype));
  return in[0];
}

Cost cost1(Metas in, const Attrs&, const TensorMeta& out) { return elementwise_cost(in, out, 1); }
Cost cost_transcendental(Metas in, const Attrs&, const TensorMeta& out) { return elementwise_cost(in, out, 8); }
std::string scalar_format(const Attrs& a) { return fmt::format("{}", a.scalar); }
std::string dtype_format(const Attrs& a) { return std::string(dtype_name(a.dtype)); }

TensorMeta cast_infer(Metas in, const Attrs& a) { return {in[0].shape, a.dtype, in[0].device}; }
void cast_reference(Inputs in, const Tensor& out, const Attrs&) { unary_reference(in, out, [](double v) { return v; }); }

TensorMeta where_infer(Metas in, const Attrs&) {
  TESSERA_CHECK(in[0].dtype == DType::boolean, "where: condition must be bool, got {}", dtype_name(in[0].dtype));
  TESSERA_CHECK(in[1].dtype == in[2].dtype, "where: branches have different dtypes ({} and {})", dtype_name(in[1].dtype),
                dtype_name(in[2].dtype));
  Shape s = broadcast_shapes(broadcast_shapes(in[0].shape, in[1].shape, "where"), in[2].shape, "where");
  return {s, in[1].dtype, in[1].device};
}
void where_reference(Inputs in, const Tensor& out, const Attrs&) {
  int64_t i = 0;
  ref::for_each_index(out.shape(), [&](const std::vector<int64_t>& idx) {
    ref::set(out, i++, ref::at(in[0], idx) != 0 ? ref::at(in[1], idx) : ref::at(in[2], idx));
  });
}
}  // namespace

#define TESSERA_BINARY_DEF(NAME, EXPR)                                                                        \
  const OpDef& def_##NAME() {                                                                                 \
    static const OpDef d{                                                                                     \
        .name = #NAME, .kind = OpKind::primitive, .arity = 2,                                                 \
        .infer = [](Metas in, const Attrs&) { return binary_infer_named(in, #NAME); },                        \
        .reference = [](Inputs in, const Tensor& out, const Attrs&) {                                         \
          binary_reference(in, out, [](double x, double y) { return EXPR; });                                 \
        },                                                                                                    \
        .cost = cost1};                                                                                       \
    return d;                                                                                                 \
  }
TESSERA_BINARY_DEF(add, x + y)
TESSERA_BINARY_DEF(sub, x - y)
TESSERA_BINARY_DEF(mul, x * y)
TESSERA_BINARY_DEF(div, x / y)
TESSERA_BINARY_DEF(maximum, (std::isnan(x) || std::isnan(y)) ? NAN : std::max(x, y))
#undef TESSERA_BINARY_DEF

#define TESSERA_UNARY_DEF(NAME, EXPR, COST, FLOAT_ONLY)                                                        \
  const OpDef& def_##NAME() {                                                                                  \
    static const OpDef d{                                                                                      \
        .name = #NAME, .kind = OpKind::primitive, .arity = 1,                                                  \
        .infer = [](Metas in, const Attrs&) { return FLOAT_ONLY ? float_unary_infer_named(in, #NAME) : in[0]; }, \
        .reference = [](Inputs in, const Tensor& out, const Attrs& a) {                                        \
          unary_reference(in, out, [&a](double x) { (void)a; return EXPR; });                                  \
        },                                                                                                     \
        .cost = COST,                                                                                          \
        .format_attrs = nullptr};                                                                              \
    return d;                                                                                                  \
  }
TESSERA_UNARY_DEF(neg, -x, cost1, false)
TESSERA_UNARY_DEF(exp, std::exp(x), cost_transcendental, true)
TESSERA_UNARY_DEF(log, std::log(x), cost_transcendental, true)
TESSERA_UNARY_DEF(sqrt, std::sqrt(x), cost_transcendental, true)
TESSERA_UNARY_DEF(rsqrt, 1.0 / std::sqrt(x), cost_transcendental, true)
TESSERA_UNARY_DEF(tanh, std::tanh(x), cost_transcendental, true)
TESSERA_UNARY_DEF(erf, std::erf(x), cost_transcendental, true)
#undef TESSERA_UNARY_DEF

const OpDef& def_add_scalar() {
  static const OpDef d{.name = "add_scalar", .kind = OpKind::primitive, .arity = 1,
                       .infer = [](Metas in, const Attrs&) { return in[0]; },
                       .reference = [](Inputs in, const Tensor& out, const Attrs& a) {
                         unary_reference(in, out, [&a](double x) { return x + a.scalar; });
                       },
                       .cost = cost1, .format_attrs = scalar_format};
  return d;
}
const OpDef& def_mul_scalar() {
  static const OpDef d{.name = "mul_scalar", .kind = OpKind::primitive, .arity = 1,
                       .infer = [](Metas in, const Attrs&) { return in[0]; },
                       .reference = [](Inputs in, const Tensor& out, const Attrs& a) {
                         unary_reference(in, out, [&a](double x) { return x * a.scalar; });
                       },
                       .cost = cost1, .format_attrs = scalar_format};
  return d;
}
const OpDef& def_cast() {
  static const OpDef d{.name = "cast", .kind = OpKind::primitive, .arity = 1, .infer = cast_infer,
                       .reference = cast_reference, .cost = cost1, .format_attrs = dtype_format};
  return d;
}
const OpDef& def_where() {
  static const OpDef d{.name = "where", .kind = OpKind::primitive, .arity = 3, .infer = where_infer,
                       .reference = where_reference, .cost = cost1};
  return d;
}

// ---- public functions ----
Tensor cast(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  return call(OpId::cast, std::vector<Tensor>{x}, Attrs{.dtype = dtype});
}
Tensor add(const Tensor& a, const Tensor& b) { return call(OpId::add, std::vector<Tensor>{a, b}); }
Tensor sub(const Tensor& a, const Tensor& b) { return call(OpId::sub, std::vector<Tensor>{a, b}); }
Tensor mul(const Tensor& a, const Tensor& b) { return call(OpId::mul, std::vector<Tensor>{a, b}); }
Tensor div(const Tensor& a, const Tensor& b) { return call(OpId::div, std::vector<Tensor>{a, b}); }
Tensor maximum(const Tensor& a, const Tensor& b) { return call(OpId::maximum, std::vector<Tensor>{a, b}); }
Tensor add_scalar(const Tensor& x, double v) { return call(OpId::add_scalar, std::vector<Tensor>{x}, Attrs{.scalar = v}); }
Tensor mul_scalar(const Tensor& x, double v) { return call(OpId::mul_scalar, std::vector<Tensor>{x}, Attrs{.scalar = v}); }
Tensor neg(const Tensor& x) { return call(OpId::neg, std::vector<Tensor>{x}); }
Tensor exp(const Tensor& x) { return call(OpId::exp, std::vector<Tensor>{x}); }
Tensor log(const Tensor& x) { return call(OpId::log, std::vector<Tensor>{x}); }
Tensor sqrt(const Tensor& x) { return call(OpId::sqrt, std::vector<Tensor>{x}); }
Tensor rsqrt(const Tensor& x) { return call(OpId::rsqrt, std::vector<Tensor>{x}); }
Tensor tanh(const Tensor& x) { return call(OpId::tanh, std::vector<Tensor>{x}); }
Tensor erf(const Tensor& x) { return call(OpId::erf, std::vector<Tensor>{x}); }
Tensor where(const Tensor& c, const Tensor& a, const Tensor& b) { return call(OpId::where, std::vector<Tensor>{c, a, b}); }

}  // namespace tessera::ops
