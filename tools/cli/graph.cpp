// `tessera graph`: capture a model's forward pass as an SSA graph and print it (the compiler's input).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "graph/graph.h"
#include "models/model.h"
#include "tessera/io.h"

namespace tessera::cli {

namespace {
struct GraphArgs {
  std::string model;
  int64_t batch = 1;
  int64_t tokens = 8;
  bool summary = false;
};

void run_graph(const GraphArgs& a) {
  auto m = models::load_sequence_classifier(a.model);
  TESSERA_CHECK(a.tokens >= 1 && a.tokens <= m->max_positions(), "graph: --tokens must be in [1, {}], got {}", m->max_positions(),
                a.tokens);
  std::vector<int64_t> ids(a.batch * a.tokens, 1), mask(a.batch * a.tokens, 1);
  std::vector<Tensor> inputs{Tensor::from_values({a.batch, a.tokens}, ids), Tensor::from_values({a.batch, a.tokens}, mask)};
  graph::Graph g = graph::capture(
      [&](const std::vector<Tensor>& in) {
        return std::vector<Tensor>{m->classify({.input_ids = in[0], .attention_mask = in[1]})};
      },
      inputs, {"input_ids", "attention_mask"});
  g.verify();
  if (a.summary) {
    std::map<std::string, int> counts;
    for (const auto& n : g.nodes) counts[std::string(ops::op_name(n.op))]++;
    nlohmann::json j{{"nodes", g.nodes.size()}, {"values", g.values.size()}, {"ops", counts}};
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("%s", g.to_string().c_str());
}
}  // namespace

void register_graph(CLI::App& app) {
  auto a = std::make_shared<GraphArgs>();
  auto* cmd = app.add_subcommand("graph", "Capture a model's forward pass as an SSA graph and print it");
  cmd->add_option("--model", a->model, "Model directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--batch", a->batch, "Batch size of the example input (default 1)")->check(CLI::PositiveNumber);
  cmd->add_option("--tokens", a->tokens, "Tokens per sequence of the example input (default 8)")->check(CLI::PositiveNumber);
  cmd->add_flag("--summary", a->summary, "Print op counts as JSON instead of the graph");
  cmd->callback([a] { run_graph(*a); });
}

}  // namespace tessera::cli
