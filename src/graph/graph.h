// SSA graphs of op calls: capture (tracing the same op functions eager mode runs), a printer, a verifier
// and a simple interpreter that replays a graph on new inputs. The optimizing compiler builds on this.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "ops/op.h"

namespace tessera::graph {

// A value is an input (placeholder), a constant (a tensor captured from outside, e.g. a weight) or the
// output of a node. Value ids index Graph::values.
struct Value {
  enum class Kind : uint8_t { input, constant, node } kind;
  TensorMeta meta;
  std::string name;  // inputs: the name given at capture; constants: "c<N>"
  Tensor constant;   // constants only
  int node = -1;     // node outputs: the producing node
};

struct Node {
  ops::OpId op;
  std::vector<int> inputs;  // value ids
  ops::Attrs attrs;
  int output = -1;          // value id
};

struct Graph {
  std::vector<Value> values;
  std::vector<Node> nodes;
  std::vector<int> inputs;   // value ids of the placeholders, in order
  std::vector<int> outputs;  // value ids returned by the captured function

  std::string to_string() const;  // one line per node: "%7 = linear(%3, c1, c2) : f32(2, 8, 64)"
  void verify() const;            // SSA well-formedness and re-inferred metas match
  int count(ops::OpId op) const;
};

// Runs fn(inputs) eagerly while recording every top-level op call. Tensors fn uses that are neither inputs
// nor produced inside fn become constants.
Graph capture(const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& fn, const std::vector<Tensor>& inputs,
              const std::vector<std::string>& input_names = {});

// Replays the graph on new inputs (same shapes and dtypes as at capture: the guard) through the eager ops.
std::vector<Tensor> run(const Graph& g, const std::vector<Tensor>& inputs);

}  // namespace tessera::graph
