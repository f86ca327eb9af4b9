// Weights: where a model's parameters come from — a checkpoint (io::WeightStore, HF names, shape-checked)
// or a seeded random initialisation (from_config models for benchmarks) — viewed through HF name prefixes.
#pragma once
#include <memory>
#include <string>

#include "tessera/io.h"
#include "tessera/tensor.h"

namespace tessera::models {

enum class Init { normal, zeros, ones };

class Weights {
 public:
  // Parameters from a checkpoint, cast to `dtype` when stored otherwise, placed on `device`.
  static Weights from_store(io::WeightStore store, DType dtype, Device device = {});
  // Random parameters: normal(0, std) / zeros / ones as each get() asks (transformers' _init_weights).
  static Weights random(uint64_t seed, double std, DType dtype, Device device = {});
  Device device() const;  // where get() places tensors

  Weights scope(std::string_view prefix) const;  // "bert." + "encoder.layer.0." ...
  // The tensor `prefix + name` with the given shape (error naming tensor, file, expected and got).
  Tensor get(std::string_view name, const Shape& shape, Init init = Init::normal) const;
  // First of several alternative names that exists (old checkpoints: LayerNorm.gamma vs LayerNorm.weight).
  Tensor get_any(std::initializer_list<std::string_view> names, const Shape& shape, Init init = Init::normal) const;
  bool contains(std::string_view name) const;
  bool is_random() const;
  const std::string& prefix() const { return prefix_; }
  int64_t bytes_loaded() const;  // total bytes of every tensor handed out so far

  struct State;

 private:
  std::shared_ptr<State> state_;
  std::string prefix_;
};

}  // namespace tessera::models
