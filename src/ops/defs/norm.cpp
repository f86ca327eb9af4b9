// softmax, layer_norm, add_layer_norm, rms_norm and masked_fill (composites). References accumulate in f32 like PyTorch's
// CPU kernels for low-precision inputs, then cast back to the input dtype.
#include <cmath>
#include <limits>

#include "ops/op.h"
#include "tessera/ops.h"

namespace tessera::ops {

namespace {
TensorMeta softmax_infer(Metas in, const Attrs&) {
  TESSERA_CHECK(dtype_is_floating(in[0].dtype), "softmax: needs a floating-point tensor, got {}", dtype_name(in[0].dtype));
  return in[0];
}
Tensor softmax_ref(Inputs in, const Attrs& a) {
  Tensor x = cast(in[0], accumulation_dtype(in[0].dtype()));
  Tensor e = exp(sub(x, max(x, a.axis, /*keepdim=*/true)));
  return cast(div(e, sum(e, a.axis, /*keepdim=*/true)), in[0].dtype());
}

// layer_norm(x, weight, bias): normalise over the last dim. eps in attrs.scalar.
TensorMeta layer_norm_infer(Metas in, const Attrs&) {
  TESSERA_CHECK(!in[0].shape.empty(), "layer_norm: input must have at least one dimension");
  TESSERA_CHECK(dtype_is_floating(in[0].dtype), "layer_norm: needs a floating-point input, got {}", dtype_name(in[0].dtype));
  Shape c{in[0].shape.back()};
  TESSERA_CHECK(in[1].shape == c, "layer_norm: weight must have shape {}, got {}", shape_str(c), shape_str(in[1].shape));
  TESSERA_CHECK(in[2].shape == c, "layer_norm: bias must have shape {}, got {}", shape_str(c), shape_str(in[2].shape));
  return in[0];
}
Tensor layer_norm_ref(Inputs in, const Attrs& a) {
  Tensor x = cast(in[0], accumulation_dtype(in[0].dtype()));                                      // (..., C)
  Tensor mu = mean(x, -1, /*keepdim=*/true);                               // (..., 1)
  Tensor xc = sub(x, mu);
  Tensor var = mean(mul(xc, xc), -1, /*keepdim=*/true);                    // biased variance, as PyTorch
  Tensor y = mul(xc, rsqrt(add_scalar(var, a.scalar)));
  y = add(mul(y, cast(in[1], accumulation_dtype(in[0].dtype()))), cast(in[2], accumulation_dtype(in[0].dtype())));
  return cast(y, in[0].dtype());
}
// add_layer_norm(x, residual, weight, bias) = layer_norm(x + residual): the post-LN residual block of BERT-style
// encoders as one op, so a backend can read both inputs once and skip writing the sum (Note [Residual norm]).
// The sum is rounded to the dtype first, exactly as the two-op form computes it.
TensorMeta add_layer_norm_infer(Metas in, const Attrs& a) {
  TESSERA_CHECK(in[0].shape == in[1].shape, "add_layer_norm: residual {} must have the input's shape {}",
                shape_str(in[1].shape), shape_str(in[0].shape));
  TESSERA_CHECK(in[0].dtype == in[1].dtype, "add_layer_norm: residual is {}, the input {}; cast one of them",
                dtype_name(in[1].dtype), dtype_name(in[0].dtype));
  return layer_norm_infer(std::vector<TensorMeta>{in[0], in[2], in[3]}, a);
}
Tensor add_layer_norm_ref(Inputs in, const Attrs& a) { return layer_norm(add(in[0], in[1]), in[2], in[3], a.scalar); }

Cost norm_cost(Metas in, const Attrs&, const TensorMeta& out) { return elementwise_cost(in, out, 8); }
std::string eps_format(const Attrs& a) { return fmt::format("eps={}", a.scalar); }

// rms_norm(x, weight) = x · rsqrt(mean(x², -1) + eps) · w (transformers' LlamaRMSNorm / MambaRMSNorm).
TensorMeta rms_norm_infer(Metas in, const Attrs&) {
  TESSERA_CHECK(!in[0].shape.empty(), "rms_norm: input must have at least one dimension");
  Shape c{in[0].shape.back()};
  TESSERA_CHECK(in[1].shape == c, "rms_norm: weight must have shape {}, got {}", shape_str(c), shape_str(in[1].shape));
  return in[0];
}
Tensor rms_norm_ref(Inputs in, const Attrs& a) {
  Tensor x = cast(in[0], accumulation_dtype(in[0].dtype()));
  Tensor ms = mean(mul(x, x), -1, /*keepdim=*/true);
  Tensor y = cast(mul(x, rsqrt(add_scalar(ms, a.scalar))), in[0].dtype());
  return mul(cast(in[1], in[0].dtype()), y);
}

// masked_fill(x, mask, value): value where mask is true.
TensorMeta masked_fill_infer(Metas in, const Attrs&) {
  TESSERA_CHECK(in[1].dtype == DType::boolean, "masked_fill: mask must be bool, got {}", dtype_name(in[1].dtype));
  Shape s = broadcast_shapes(in[0].shape, in[1].shape, "masked_fill");
  TESSERA_CHECK(s == in[0].shape, "masked_fill: mask {} must broadcast to the input {}", shape_str(in[1].shape),
                shape_str(in[0].shape));
  return in[0];
}
Tensor masked_fill_ref(Inputs in, const Attrs& a) {
  return where(in[1], Tensor::full({}, a.scalar, in[0].dtype(), in[0].device()), in[0]);
}
std::string value_format(const Attrs& a) { return fmt::format("value={}", a.scalar); }
}  // namespace

const OpDef& def_softmax() {
  static const OpDef d{.name = "softmax", .kind = OpKind::composite, .arity = 1, .infer = softmax_infer,
                       .decompose = softmax_ref, .cost = norm_cost,
                       .format_attrs = [](const Attrs& a) { return fmt::format("axis={}", a.axis); }};
  return d;
}
const OpDef& def_layer_norm() {
  static const OpDef d{.name = "layer_norm", .kind = OpKind::composite, .arity = 3, .infer = layer_norm_infer,
                       .decompose = layer_norm_ref, .cost = norm_cost, .format_attrs = eps_format};
  return d;
}
const OpDef& def_add_layer_norm() {
  static const OpDef d{.name = "add_layer_norm", .kind = OpKind::composite, .arity = 4, .infer = add_layer_norm_infer,
                       .decompose = add_layer_norm_ref, .cost = norm_cost, .format_attrs = eps_format};
  return d;
}
const OpDef& def_rms_norm() {
  static const OpDef d{.name = "rms_norm", .kind = OpKind::composite, .arity = 2, .infer = rms_norm_infer,
                       .decompose = rms_norm_ref, .cost = norm_cost, .format_attrs = eps_format};
  return d;
}
const OpDef& def_masked_fill() {
  static const OpDef d{.name = "masked_fill", .kind = OpKind::composite, .arity = 2, .infer = masked_fill_infer,
                       .decompose = masked_fill_ref,
                       .cost = [](Metas in, const Attrs&, const TensorMeta& out) { return elementwise_cost(in, out, 1); },
                       .format_attrs = value_format};
  return d;
}

Tensor softmax(const Tensor& x, int64_t axis) {
  return call(OpId::softmax, std::vector<Tensor>{x}, Attrs{.axis = normalize_axis(axis, x.dim(), "softmax")});
}
Tensor layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, double eps) {
  return call(OpId::layer_norm, std::vector<Tensor>{x, w, b}, Attrs{.scalar = eps});
}
Tensor add_layer_norm(const Tensor& x, const Tensor& residual, const Tensor& w, const Tensor& b, double eps) {
  return call(OpId::add_layer_norm, std::vector<Tensor>{x, residual, w, b}, Attrs{.scalar = eps});
}
Tensor rms_norm(const Tensor& x, const Tensor& w, double eps) {
  return call(OpId::rms_norm, std::vector<Tensor>{x, w}, Attrs{.scalar = eps});
}
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  return call(OpId::masked_fill, std::vector<Tensor>{x, mask}, Attrs{.scalar = value});
}

}  // namespace tessera::ops
