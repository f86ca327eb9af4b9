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
// layer_norm(x + residual), the sum rounded to the dtype as the two ops would: one pass on backends that fuse it.
Tensor add_layer_norm(const Tensor& x, const Tensor& residual, const Tensor& weight, const Tensor& bias, double eps);
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps);
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);  // mask: bool, broadcast to x

// Linear algebra.
Tensor matmul(const Tensor& a, const Tensor& b);  // a @ b, batch dims broadcast, 1-D operands as in numpy
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);  // x @ weight^T + bias; bias optional

// State-space models (Mamba; transformers' modeling_mamba.py, mamba_ssm's selective_scan_fn). Computed in f32
// (f64 in the reference), results in x's / u's dtype.
// Depthwise causal conv: y[b,c,t] = bias[c] + Σ_k weight[c,k]·x[b,c,t-K+1+k] (zeros before t=0), i.e. PyTorch's
// conv1d(x, weight, bias, padding=K-1, groups=C)[..., :T]. x (B, C, T); weight (C, 1, K) or (C, K); bias (C) optional.
Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = {});
// silu(causal_conv1d(x, weight, bias)): Mamba's conv and its activation in one op (causal-conv1d's
// activation="silu"); the conv output is rounded to x's dtype before the SiLU, exactly as the two ops.
Tensor causal_conv1d_silu(const Tensor& x, const Tensor& weight, const Tensor& bias = {});
struct SelectiveScanOptions {
  Tensor z;                    // (B, C, T) gate: y·SiLU(z); optional
  Tensor delta_bias;           // (C) added to delta before softplus; optional
  Tensor initial_state;        // (B, C, N) f32 h_{-1}; optional (zeros)
  bool delta_softplus = true;  // Δ = softplus(delta + bias), threshold 20 as torch
};
// Selective scan: Δ = softplus(delta + delta_bias); h_t = exp(Δ_t·A)·h_{t-1} + Δ_t·B_t·u_t; y_t = C_t·h_t + D·u_t;
// y·SiLU(z). u, delta (B, C, T); A (C, N); B, C (B, N, T); D (C). Returns y (B, C, T) in u's dtype.
Tensor selective_scan(const Tensor& u, const Tensor& delta, const Tensor& A, const Tensor& B, const Tensor& C,
                      const Tensor& D, const SelectiveScanOptions& options = {});
// The same recurrence's last state h_{T-1}: (B, C, N) f32, the recurrent cache after a prompt (C, D, z unused).
Tensor selective_scan_state(const Tensor& u, const Tensor& delta, const Tensor& A, const Tensor& B,
                            const SelectiveScanOptions& options = {});

}  // namespace tessera::ops

namespace tessera {
inline Tensor operator+(const Tensor& a, const Tensor& b) { return ops::add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return ops::sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return ops::mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return ops::div(a, b); }
}  // namespace tessera
