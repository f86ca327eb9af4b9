// matmul (library op: BLAS kernels, naive reference) and linear (x @ W^T + b, a composite).
#include "ops/op.h"
#include "ops/reference.h"
#include "tessera/ops.h"

namespace tessera::ops {

namespace {
// matmul on operands of rank >= 2 (the public function lifts 1-D operands): (..., M, K) @ (..., K, N).
TensorMeta matmul_infer(Metas in, const Attrs&) {
  const Shape &a = in[0].shape, &b = in[1].shape;
  TESSERA_CHECK(a.size() >= 2 && b.size() >= 2, "matmul: operands must have rank >= 2 here, got {} and {}", shape_str(a), shape_str(b));
  TESSERA_CHECK(in[0].dtype == in[1].dtype, "matmul: operands have different dtypes ({} and {})", dtype_name(in[0].dtype),
                dtype_name(in[1].dtype));
  TESSERA_CHECK(dtype_is_floating(in[0].dtype), "matmul: needs floating-point operands, got {}", dtype_name(in[0].dtype));
  TESSERA_CHECK(a.back() == b[b.size() - 2], "matmul: inner dimensions differ: {} @ {} ({} vs {})", shape_str(a), shape_str(b),
                a.back(), b[b.size() - 2]);
  Shape ba(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  Shape s = broadcast_shapes(ba, bb, "matmul (batch dims)");
  s.push_back(a[a.size() - 2]);
  s.push_back(b.back());
  return {s, in[0].dtype, in[0].device};
}

void matmul_reference(Inputs in, const Tensor& out, const Attrs&) {
  const Tensor &a = in[0], &b = in[1];
  int64_t k_dim = a.shape().back();
  int64_t i = 0;
  ref::for_each_index(out.shape(), [&](const std::vector<int64_t>& idx) {
    // Batch dims broadcast through ref::at (size-1 dims index 0); only the last two dims are rewritten.
    std::vector<int64_t> ia_full(idx), ib_full(idx);
    double acc = 0;
    for (int64_t k = 0; k < k_dim; ++k) {
      ia_full[idx.size() - 1] = k;
      ia_full[idx.size() - 2] = idx[idx.size() - 2];
      ib_full[idx.size() - 2] = k;
      ib_full[idx.size() - 1] = idx.back();
      acc += ref::at(a, ia_full) * ref::at(b, ib_full);
    }
    ref::set(out, i++, acc);
  });
}

Cost matmul_cost(Metas in, const Attrs&, const TensorMeta& out) {
  Cost c = elementwise_cost(in, out, 0);
  c.flops = 2.0 * (double)shape_numel(out.shape) * (double)in[0].shape.back();
  return c;
}

// linear(x, weight[, bias]): x (..., in), weight (out, in), bias (out).
TensorMeta linear_infer(Metas in, const Attrs&) {
  const Shape &x = in[0].shape, &w = in[1].shape;
  TESSERA_CHECK(!x.empty(), "linear: input must have at least one dimension");
  TESSERA_CHECK(w.size() == 2 && w[1] == x.back(), "linear: weight must have shape (out, {}), got {}", x.back(), shape_str(w));
  TESSERA_CHECK(in[0].dtype == in[1].dtype, "linear: input is {} but weight is {}", dtype_name(in[0].dtype), dtype_name(in[1].dtype));
  if (in.size() == 3) {
    TESSERA_CHECK(in[2].shape == Shape{w[0]}, "linear: bias must have shape ({},), got {}", w[0], shape_str(in[2].shape));
    TESSERA_CHECK(in[2].dtype == in[0].dtype, "linear: bias is {} but input is {}", dtype_name(in[2].dtype), dtype_name(in[0].dtype));
  }
  Shape s = x;
  s.back() = w[0];
  return {s, in[0].dtype, in[0].device};
}
Tensor linear_ref(Inputs in, const Attrs&) {
  Tensor y = matmul(in[0], transpose(in[1], 0, 1));
  return in.size() == 3 ? add(y, in[2]) : y;
}
Cost linear_cost(Metas in, const Attrs&, const TensorMeta& out) {
  Cost c = elementwise_cost(in, out, 0);
  c.flops = 2.0 * (double)shape_numel(out.shape) * (double)in[0].shape.back();
  return c;
}
}  // namespace

const OpDef& def_matmul() {
  static const OpDef d{.name = "matmul", .kind = OpKind::library, .arity = 2, .infer = matmul_infer,
                       .reference = matmul_reference, .cost = matmul_cost};
  return d;
}
const OpDef& def_linear() {
  static const OpDef d{.name = "linear", .kind = OpKind::composite, .arity = -1, .infer = linear_infer,
                       .decompose = linear_ref, .cost = linear_cost};
  return d;
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  TESSERA_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: operands must not be scalars, got {} and {}", shape_str(a.shape()),
                shape_str(b.shape()));
  if (a.dim() == 1 && b.dim() == 1) return reshape(matmul(unsqueeze(a, 0), unsqueeze(b, 1)), {});
  if (a.dim() == 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  if (b.dim() == 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  return call(OpId::matmul, std::vector<Tensor>{a, b});
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (bias.defined()) return call(OpId::linear, std::vector<Tensor>{x, weight, bias});
  return call(OpId::linear, std::vector<Tensor>{x, weight});
}

}  // namespace tessera::ops
