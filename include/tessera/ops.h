// Public op functions. In eager mode each call runs now (a backend kernel if one exists, else the op's
// reference); under graph::capture the same calls are also recorded as SSA nodes. Shapes follow PyTorch.
#pragma once
#include <span>
#include <string_view>
#include <vector>

#include "tessera/tensor.h"

namespace tessera::ops {

// Movement (views share storage; reshape copies only when the layout can't be viewed).
Tensor reshape(const Tensor& x, Shape shape);  // one -1 allowed
Tensor permute(const Tensor& x, std::vector<int64_t> dims);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);  // python-style clamping
Tensor expand(const Tensor& x, Shape shape);  // -1 keeps a size; new leading dims allowed
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor contiguous(const Tensor& x);  // returns x itself when already contiguous
Tensor concat(std::span<const Tensor> xs, int64_t dim);
Tensor embedding(const Tensor& weight, const Tensor& ids);  // weight (V, C), ids (...) i64/i32 -> (..., C)

// Elementwise (binary ops broadcast like PyTorch; both operands must share a dtype).
Tensor cast(const Tensor& x, DType dtype);
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor add_scalar(const Tensor& x, double value);
Tensor mul_scalar(const Tensor& x, double value);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor erf(const Tensor& x);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);  // cond: bool

// Reductions over one axis.
Tensor sum(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor max(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor mean(const Tensor& x, int64_t axis, bool keepdim = false);

// Activations.
Tensor relu(const Tensor& x);
Tensor gelu(const Tensor& x);      // exact: x·Φ(x) with erf (HF "gelu")
Tensor gelu_new(const Tensor& x);  // tanh approximation (HF "gelu_new", "gelu_pytorch_tanh")
Tensor silu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
// HF `hidden_act` names: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast?, relu, silu, swish, tanh, sigmoid.
Tensor activation(const Tensor& x, std::string_view hf_name);
bool is_known_activation(std::string_view hf_name);

// Normalisation.
Tensor softmax(const Tensor& x, int64_t axis = -1);  // accumulates in f32
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);  // over the last dim
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps);
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);  // mask: bool, broadcast to x

// Linear algebra.
Tensor matmul(const Tensor& a, const Tensor& b);  // a @ b, batch dims broadcast, 1-D operands as in numpy
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);  // x @ weight^T + bias; bias optional

}  // namespace tessera::ops

namespace tessera {
inline Tensor operator+(const Tensor& a, const Tensor& b) { return ops::add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return ops::sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return ops::mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return ops::div(a, b); }
}  // namespace tessera
