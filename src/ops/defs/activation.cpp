// Activations (composites): relu, gelu (erf), gelu_new (tanh approximation), silu, sigmoid; and the map
// from Hugging Face `hidden_act` names. Decompositions compute in f32 and cast back, like PyTorch's CPU kernels.
#include <cmath>
#include <numbers>

#include "ops/op.h"
#include "tessera/ops.h"

namespace tessera::ops {

namespace {
TensorMeta float_infer(Metas in, std::string_view op) {
  TESSERA_CHECK(dtype_is_floating(in[0].dtype), "{}: needs a floating-point tensor, got {}", op, dtype_name(in[0].dtype));
  return in[0];
}
Tensor scalar_like(const Tensor& x, double v) { return Tensor::full({}, v, x.dtype(), x.device()); }

Tensor relu_ref(Inputs in, const Attrs&) { return maximum(in[0], scalar_like(in[0], 0.0)); }
Tensor gelu_ref(Inputs in, const Attrs&) {
  Tensor x = cast(in[0], accumulation_dtype(in[0].dtype()));
  Tensor phi = mul_scalar(add_scalar(erf(mul_scalar(x, std::numbers::sqrt2 / 2)), 1.0), 0.5);
  return cast(mul(x, phi), in[0].dtype());
}
Tensor gelu_new_ref(Inputs in, const Attrs&) {
  Tensor x = cast(in[0], accumulation_dtype(in[0].dtype()));
  Tensor inner = mul_scalar(add(x, mul_scalar(mul(mul(x, x), x), 0.044715)), std::sqrt(2.0 / std::numbers::pi));
  return cast(mul(mul_scalar(x, 0.5), add_scalar(tanh(inner), 1.0)), in[0].dtype());
}
Tensor sigmoid_acc(const Tensor& x) {
  Tensor one = Tensor::full({}, 1.0, x.dtype(), x.device());
  return div(one, add_scalar(exp(neg(x)), 1.0));
}
Tensor sigmoid_ref(Inputs in, const Attrs&) { return cast(sigmoid_acc(cast(in[0], accumulation_dtype(in[0].dtype()))), in[0].dtype()); }
Tensor silu_ref(Inputs in, const Attrs&) {
  Tensor x = cast(in[0], accumulation_dtype(in[0].dtype()));
  return cast(mul(x, sigmoid_acc(x)), in[0].dtype());
}
}  // namespace

#define TESSERA_ACT_DEF(NAME, REF, FLOPS)                                                                   \
  const OpDef& def_##NAME() {                                                                               \
    static const OpDef d{.name = #NAME, .kind = OpKind::composite, .arity = 1,                              \
                         .infer = [](Metas in, const Attrs&) { return float_infer(in, #NAME); },            \
                         .decompose = REF,                                                                  \
                         .cost = [](Metas in, const Attrs&, const TensorMeta& out) {                        \
                           return elementwise_cost(in, out, FLOPS);                                         \
                         }};                                                                                \
    return d;                                                                                               \
  }
TESSERA_ACT_DEF(relu, relu_ref, 1)
TESSERA_ACT_DEF(gelu, gelu_ref, 12)
TESSERA_ACT_DEF(gelu_new, gelu_new_ref, 16)
TESSERA_ACT_DEF(silu, silu_ref, 10)
TESSERA_ACT_DEF(sigmoid, sigmoid_ref, 10)
#undef TESSERA_ACT_DEF

Tensor relu(const Tensor& x) { return call(OpId::relu, std::vector<Tensor>{x}); }
Tensor gelu(const Tensor& x) { return call(OpId::gelu, std::vector<Tensor>{x}); }
Tensor gelu_new(const Tensor& x) { return call(OpId::gelu_new, std::vector<Tensor>{x}); }
Tensor silu(const Tensor& x) { return call(OpId::silu, std::vector<Tensor>{x}); }
Tensor sigmoid(const Tensor& x) { return call(OpId::sigmoid, std::vector<Tensor>{x}); }

namespace {
struct NamedActivation {
  std::string_view name;
  Tensor (*fn)(const Tensor&);
};
// Hugging Face ACT2FN names we support and the op each maps to.
constexpr NamedActivation kActivations[] = {
    {"gelu", gelu}, {"gelu_python", gelu}, {"gelu_new", gelu_new}, {"gelu_pytorch_tanh", gelu_new},
    {"gelu_fast", gelu_new}, {"relu", relu}, {"silu", silu}, {"swish", silu}, {"sigmoid", sigmoid},
    {"tanh", static_cast<Tensor (*)(const Tensor&)>(tanh)},
};
}  // namespace

bool is_known_activation(std::string_view hf_name) {
  for (const auto& a : kActivations)
    if (a.name == hf_name) return true;
  return false;
}

Tensor activation(const Tensor& x, std::string_view hf_name) {
  for (const auto& a : kActivations)
    if (a.name == hf_name) return a.fn(x);
  std::string known;
  for (const auto& a : kActivations) known += fmt::format("{}{}", known.empty() ? "" : ", ", a.name);
  TESSERA_FAIL("activation '{}' is not supported (supported: {})", hf_name, known);
}

}  // namespace tessera::ops
