// Small building blocks with HF parameter names: Linear ("weight", "bias"), LayerNorm ("weight"/"gamma",
// "bias"/"beta") and Embedding ("weight"). Each is built from a Weights view scoped to its prefix.
#pragma once
#include "models/layers/weights.h"
#include "tessera/ops.h"

namespace tessera::models {

struct Linear {
  Tensor weight;  // (out, in)
  Tensor bias;    // (out) or undefined
  Linear() = default;
  Linear(const Weights& w, int64_t in, int64_t out, bool bias = true)
      : weight(w.get("weight", {out, in})), bias(bias ? w.get("bias", {out}, Init::zeros) : Tensor()) {}
  Tensor operator()(const Tensor& x) const { return ops::linear(x, weight, bias); }  // (..., in) -> (..., out)
};

struct LayerNorm {
  Tensor weight, bias;  // (C)
  double eps = 1e-5;
  LayerNorm() = default;
  LayerNorm(const Weights& w, int64_t channels, double eps)
      : weight(w.get_any({"weight", "gamma"}, {channels}, Init::ones)),
        bias(w.get_any({"bias", "beta"}, {channels}, Init::zeros)),
        eps(eps) {}
  Tensor operator()(const Tensor& x) const { return ops::layer_norm(x, weight, bias, eps); }
  // layer_norm(x + residual) as one op (post-LN residual blocks).
  Tensor operator()(const Tensor& x, const Tensor& residual) const {
    return ops::add_layer_norm(x, residual, weight, bias, eps);
  }
};

struct Embedding {
  Tensor weight;  // (V, C)
  Embedding() = default;
  Embedding(const Weights& w, int64_t rows, int64_t channels) : weight(w.get("weight", {rows, channels})) {}
  Tensor operator()(const Tensor& ids) const { return ops::embedding(weight, ids); }  // (...) -> (..., C)
};

}  // namespace tessera::models
