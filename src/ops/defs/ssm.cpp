// State-space ops (library): causal_conv1d, selective_scan (y) and selective_scan_state (last h), as transformers'
// modeling_mamba.py computes them (causal_conv1d_fn, mamba_selective_scan); references are naive loops in f64.
#include <array>
#include <cmath>

#include "ops/op.h"
#include "ops/ssm_slots.h"
#include "ops/reference.h"
#include "tessera/ops.h"

namespace tessera::ops {

namespace {
int scan_arity(const Attrs& a, bool with_y) {
  return (with_y ? 6 + (int)(a.ints[0] != 0) : 4) + (int)(a.ints[1] != 0) + (int)(a.ints[2] != 0);
}

// torch.nn.functional.softplus(x) with beta 1, threshold 20.
double softplus(double x) { return x > 20.0 ? x : std::log1p(std::exp(x)); }

void check_float(const TensorMeta& m, std::string_view op, std::string_view name) {
  TESSERA_CHECK(dtype_is_floating(m.dtype), "{}: {} must be floating-point, got {}", op, name, dtype_name(m.dtype));
}
void check_shape(const TensorMeta& m, const Shape& want, std::string_view op, std::string_view name) {
  TESSERA_CHECK(m.shape == want, "{}: {} must have shape {}, got {}", op, name, shape_str(want), shape_str(m.shape));
}

// causal_conv1d(x (B, C, T), weight (C, K), bias (C) optional); the public function drops the (C, 1, K) middle dim.
TensorMeta conv_infer(Metas in, const Attrs&) {
  TESSERA_CHECK(in.size() == 2 || in.size() == 3, "causal_conv1d: takes x, weight and an optional bias, got {} inputs", in.size());
  const Shape& x = in[0].shape;
  TESSERA_CHECK(x.size() == 3, "causal_conv1d: x must be (batch, channels, tokens), got {}", shape_str(x));
  TESSERA_CHECK(in[1].shape.size() == 2 && in[1].shape[0] == x[1] && in[1].shape[1] >= 1,
                "causal_conv1d: weight must have shape ({}, 1, K) or ({}, K) for x {}, got {}", x[1], x[1], shape_str(x),
                shape_str(in[1].shape));
  for (const TensorMeta& m : in) check_float(m, "causal_conv1d", "every input");
  if (in.size() == 3) check_shape(in[2], {x[1]}, "causal_conv1d", "bias");
  return in[0];
}
void conv_reference(Inputs in, const Tensor& out, const Attrs&) {
  const Tensor &x = in[0], &w = in[1];
  int64_t B = x.size(0), C = x.size(1), T = x.size(2), K = w.size(1);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t t = 0; t < T; ++t) {
        double acc = in.size() == 3 ? ref::at(in[2], {c}) : 0.0;
        for (int64_t k = 0; k < K; ++k) {
          int64_t s = t - (K - 1) + k;  // left padding K-1
          if (s >= 0) acc += ref::at(w, {c, k}) * ref::at(x, {b, c, s});
        }
        ref::set(out, (b * C + c) * T + t, acc);
      }
}
Cost conv_cost(Metas in, const Attrs&, const TensorMeta& out) {
  return elementwise_cost(in, out, 2.0 * (double)in[1].shape[1]);
}

// Shared shape rules of both scans: returns (B, C, T, N).
std::array<int64_t, 4> scan_infer_common(Metas in, const Attrs& a, bool with_y, std::string_view op) {
  TESSERA_CHECK(a.ints.size() == 4, "{}: attrs.ints must hold 4 flags (Note [selective scan inputs])", op);
  TESSERA_CHECK((int)in.size() == scan_arity(a, with_y), "{}: expected {} inputs for these flags, got {}", op,
                scan_arity(a, with_y), in.size());
  const Shape& u = in[0].shape;
  TESSERA_CHECK(u.size() == 3, "{}: u must be (batch, channels, tokens), got {}", op, shape_str(u));
  int64_t B = u[0], C = u[1], T = u[2];
  TESSERA_CHECK(in[2].shape.size() == 2 && in[2].shape[0] == C, "{}: A must have shape ({}, N) for u {}, got {}", op, C,
                shape_str(u), shape_str(in[2].shape));
  int64_t N = in[2].shape[1];
  for (const TensorMeta& m : in) check_float(m, op, "every input");
  check_shape(in[1], {B, C, T}, op, "delta");
  check_shape(in[3], {B, N, T}, op, "B");
  if (with_y) {
    check_shape(in[4], {B, N, T}, op, "C");
    check_shape(in[5], {C}, op, "D");
  }
  ScanSlots s = scan_slots(a, with_y);
  if (s.z >= 0) check_shape(in[s.z], {B, C, T}, op, "z");
  if (s.bias >= 0) check_shape(in[s.bias], {C}, op, "delta_bias");
  if (s.h0 >= 0) check_shape(in[s.h0], {B, C, N}, op, "initial_state");
  return {B, C, T, N};
}
TensorMeta scan_infer(Metas in, const Attrs& a) {
  scan_infer_common(in, a, true, "selective_scan");
  return in[0];
}
TensorMeta scan_state_infer(Metas in, const Attrs& a) {
  auto [B, C, T, N] = scan_infer_common(in, a, false, "selective_scan_state");
  return {{B, C, N}, DType::f32, in[0].device};
}

// The recurrence in f64, one (batch, channel) at a time; writes y (with_y) or the last state.
void scan_reference(Inputs in, const Tensor& out, const Attrs& a, bool with_y) {
  ScanSlots s = scan_slots(a, with_y);
  const Tensor &u = in[0], &delta = in[1], &A = in[2], &Bm = in[3];
  int64_t B = u.size(0), C = u.size(1), T = u.size(2), N = A.size(1);
  std::vector<double> h(N);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      for (int64_t n = 0; n < N; ++n) h[n] = s.h0 >= 0 ? ref::at(in[s.h0], {b, c, n}) : 0.0;
      for (int64_t t = 0; t < T; ++t) {
        double dt = ref::at(delta, {b, c, t}) + (s.bias >= 0 ? ref::at(in[s.bias], {c}) : 0.0);
        if (s.softplus) dt = softplus(dt);
        double x = ref::at(u, {b, c, t}), y = 0;
        for (int64_t n = 0; n < N; ++n) {
          h[n] = std::exp(dt * ref::at(A, {c, n})) * h[n] + dt * ref::at(Bm, {b, n, t}) * x;
          if (with_y) y += h[n] * ref::at(in[4], {b, n, t});
        }
        if (!with_y) continue;
        y += x * ref::at(in[5], {c});
        if (s.z >= 0) {
          double z = ref::at(in[s.z], {b, c, t});
          y *= z / (1.0 + std::exp(-z));
        }
        ref::set(out, (b * C + c) * T + t, y);
      }
      if (!with_y)
        for (int64_t n = 0; n < N; ++n) ref::set(out, (b * C + c) * N + n, h[n]);
    }
}
Cost scan_cost(Metas in, const Attrs&, const TensorMeta& out) {
  // Per (b, c, t, n): exp, 2 mul for dA·h, 3 for Δ·B·u, add, and 2 for C·h: ~9 flops (exp counted as one).
  const Shape& u = in[0].shape;
  Cost c = elementwise_cost(in, out, 0);
  c.flops = 9.0 * (double)shape_numel(u) * (double)in[2].shape[1];
  return c;
}
std::string scan_format(const Attrs& a) {
  return fmt::format("z={} delta_bias={} initial_state={} delta_softplus={}", a.ints[0] != 0, a.ints[1] != 0,
                     a.ints[2] != 0, a.ints[3] != 0);
}

std::vector<Tensor> scan_inputs(std::vector<Tensor> v, const SelectiveScanOptions& o, bool with_y, Attrs* a) {
  if (with_y && o.z.defined()) v.push_back(o.z);
  if (o.delta_bias.defined()) v.push_back(o.delta_bias);
  if (o.initial_state.defined()) v.push_back(o.initial_state);
  a->ints = {with_y && o.z.defined(), o.delta_bias.defined(), o.initial_state.defined(), o.delta_softplus};
  return v;
}
}  // namespace

const OpDef& def_causal_conv1d() {
  static const OpDef d{.name = "causal_conv1d", .kind = OpKind::library, .arity = -1, .infer = conv_infer,
                       .reference = conv_reference, .cost = conv_cost};
  return d;
}
// causal_conv1d_silu = silu(causal_conv1d(...)): a backend may fuse the activation into the conv's store (CUDA does:
// one (B, C, T) write and read less per Mamba layer); the decomposition is the definition, bit for bit.
const OpDef& def_causal_conv1d_silu() {
  static const OpDef d{.name = "causal_conv1d_silu", .kind = OpKind::composite, .arity = -1, .infer = conv_infer,
                       .decompose = [](Inputs in, const Attrs&) {
                         return silu(causal_conv1d(in[0], in[1], in.size() == 3 ? in[2] : Tensor{}));
                       },
                       .cost = [](Metas in, const Attrs& a, const TensorMeta& out) {
                         Cost c = conv_cost(in, a, out);
                         c.flops += 4.0 * (double)shape_numel(out.shape);
                         return c;
                       }};
  return d;
}
const OpDef& def_selective_scan() {
  static const OpDef d{.name = "selective_scan", .kind = OpKind::library, .arity = -1, .infer = scan_infer,
                       .reference = [](Inputs in, const Tensor& out, const Attrs& a) { scan_reference(in, out, a, true); },
                       .cost = scan_cost, .format_attrs = scan_format};
  return d;
}
const OpDef& def_selective_scan_state() {
  static const OpDef d{.name = "selective_scan_state", .kind = OpKind::library, .arity = -1, .infer = scan_state_infer,
                       .reference = [](Inputs in, const Tensor& out, const Attrs& a) { scan_reference(in, out, a, false); },
                       .cost = scan_cost, .format_attrs = scan_format};
  return d;
}

namespace {
// Both conv ops' public functions: a (C, 1, K) depthwise weight (torch's Conv1d layout) drops its middle dim.
Tensor conv_call(OpId op, std::string_view name, const Tensor& x, const Tensor& weight, const Tensor& bias) {
  TESSERA_CHECK(x.defined() && weight.defined(), "{}: x and weight are required", name);
  Tensor w = weight;
  if (w.dim() == 3) {
    TESSERA_CHECK(w.size(1) == 1, "{}: a 3-D weight must be (channels, 1, K) (depthwise), got {}", name,
                  shape_str(w.shape()));
    w = squeeze(w, 1);
  }
  if (bias.defined()) return call(op, std::vector<Tensor>{x, w, bias});
  return call(op, std::vector<Tensor>{x, w});
}
}  // namespace

Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  return conv_call(OpId::causal_conv1d, "causal_conv1d", x, weight, bias);
}

Tensor causal_conv1d_silu(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  return conv_call(OpId::causal_conv1d_silu, "causal_conv1d_silu", x, weight, bias);
}

Tensor selective_scan(const Tensor& u, const Tensor& delta, const Tensor& A, const Tensor& B, const Tensor& C,
                      const Tensor& D, const SelectiveScanOptions& o) {
  Attrs a;
  std::vector<Tensor> v = scan_inputs({u, delta, A, B, C, D}, o, /*with_y=*/true, &a);
  return call(OpId::selective_scan, v, a);
}

Tensor selective_scan_state(const Tensor& u, const Tensor& delta, const Tensor& A, const Tensor& B,
                            const SelectiveScanOptions& o) {
  Attrs a;
  std::vector<Tensor> v = scan_inputs({u, delta, A, B}, o, /*with_y=*/false, &a);
  return call(OpId::selective_scan_state, v, a);
}

}  // namespace tessera::ops
