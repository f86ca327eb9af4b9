// Graph capture through the op observer hook, printing, verification and interpretation.
#include "graph/graph.h"

#include <unordered_map>

namespace tessera::graph {

namespace {
std::string meta_str(const TensorMeta& m) { return fmt::format("{}{}", dtype_name(m.dtype), shape_str(m.shape)); }

class Recorder final : public ops::OpObserver {
 public:
  explicit Recorder(Graph& g) : g_(g) {}
  void add_input(const Tensor& t, std::string name) {
    int id = (int)g_.values.size();
    g_.values.push_back({Value::Kind::input, t.meta(), std::move(name), {}, -1});
    g_.inputs.push_back(id);
    ids_[t.id()] = id;
  }
  int value_of(const Tensor& t) {
    auto it = ids_.find(t.id());
    if (it != ids_.end()) return it->second;
    int id = (int)g_.values.size();
    g_.values.push_back({Value::Kind::constant, t.meta(), fmt::format("c{}", constants_++), t, -1});
    ids_[t.id()] = id;
    return id;
  }
  void on_op(ops::OpId op, ops::Inputs in, const ops::Attrs& a, const Tensor& out) override {
    Node n{op, {}, a, -1};
    for (const Tensor& t : in) n.inputs.push_back(value_of(t));
    int vid = (int)g_.values.size();
    g_.values.push_back({Value::Kind::node, out.meta(), {}, {}, (int)g_.nodes.size()});
    n.output = vid;
    g_.nodes.push_back(std::move(n));
    ids_[out.id()] = vid;
  }

 private:
  Graph& g_;
  std::unordered_map<uint64_t, int> ids_;
  int constants_ = 0;
};

struct ObserverGuard {
  explicit ObserverGuard(ops::OpObserver* o) : prev(ops::set_op_observer(o)) {}
  ~ObserverGuard() { ops::set_op_observer(prev); }
  ops::OpObserver* prev;
};

std::string value_ref(const Graph& g, int v) {
  const Value& val = g.values[v];
  return val.kind == Value::Kind::node ? fmt::format("%{}", v) : val.name;
}
}  // namespace

Graph capture(const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& fn, const std::vector<Tensor>& inputs,
              const std::vector<std::string>& input_names) {
  Graph g;
  Recorder rec(g);
  for (std::size_t i = 0; i < inputs.size(); ++i)
    rec.add_input(inputs[i], i < input_names.size() ? input_names[i] : fmt::format("in{}", i));
  std::vector<Tensor> outs;
  {
    ObserverGuard guard(&rec);
    outs = fn(inputs);
  }
  for (const Tensor& t : outs) g.outputs.push_back(rec.value_of(t));
  return g;
}

std::string Graph::to_string() const {
  std::string s;
  for (int v : inputs) s += fmt::format("input {} : {}\n", values[v].name, meta_str(values[v].meta));
  int nconst = 0;
  for (const Value& v : values)
    if (v.kind == Value::Kind::constant) ++nconst;
  s += fmt::format("# {} constants, {} nodes\n", nconst, nodes.size());
  for (const Node& n : nodes) {
    std::string args;
    for (int v : n.inputs) args += fmt::format("{}{}", args.empty() ? "" : ", ", value_ref(*this, v));
    const ops::OpDef& d = ops::op_def(n.op);
    std::string attrs = d.format_attrs ? " {" + d.format_attrs(n.attrs) + "}" : "";
    s += fmt::format("%{} = {}({}){} : {}\n", n.output, d.name, args, attrs, meta_str(values[n.output].meta));
  }
  std::string outs;
  for (int v : outputs) outs += fmt::format("{}{}", outs.empty() ? "" : ", ", value_ref(*this, v));
  s += fmt::format("return {}\n", outs);
  return s;
}

void Graph::verify() const {
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    std::vector<TensorMeta> metas;
    for (int v : n.inputs) {
      TESSERA_ASSERT(v >= 0 && v < n.output, "node {} uses value {} before it is defined", i, v);
      metas.push_back(values[v].meta);
    }
    TensorMeta m = ops::op_def(n.op).infer(metas, n.attrs);
    TESSERA_ASSERT(m.shape == values[n.output].meta.shape && m.dtype == values[n.output].meta.dtype,
                   "node {} ({}) re-infers to {} but recorded {}", i, ops::op_name(n.op), meta_str(m),
                   meta_str(values[n.output].meta));
  }
}

int Graph::count(ops::OpId op) const {
  int c = 0;
  for (const Node& n : nodes) c += n.op == op;
  return c;
}

std::vector<Tensor> run(const Graph& g, const std::vector<Tensor>& inputs) {
  TESSERA_CHECK(inputs.size() == g.inputs.size(), "graph::run: {} inputs given, the graph takes {}", inputs.size(),
                g.inputs.size());
  std::vector<Tensor> env(g.values.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Value& v = g.values[g.inputs[i]];
    TESSERA_CHECK(inputs[i].shape() == v.meta.shape && inputs[i].dtype() == v.meta.dtype,
                  "graph::run: input '{}' is {} but the graph was captured with {} (guard failed; capture again)", v.name,
                  meta_str(inputs[i].meta()), meta_str(v.meta));
    env[g.inputs[i]] = inputs[i];
  }
  for (std::size_t v = 0; v < g.values.size(); ++v)
    if (g.values[v].kind == Value::Kind::constant) env[v] = g.values[v].constant;
  for (const Node& n : g.nodes) {
    std::vector<Tensor> args;
    args.reserve(n.inputs.size());
    for (int v : n.inputs) args.push_back(env[v]);
    env[n.output] = ops::call(n.op, args, n.attrs);
  }
  std::vector<Tensor> outs;
  for (int v : g.outputs) outs.push_back(env[v]);
  return outs;
}

}  // namespace tessera::graph
