// The list of subcommands, in the order `tessera --help` shows them.
#include "cli/commands.h"

namespace tessera::cli {

void register_classify(CLI::App& app);
void register_generate(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_graph(CLI::App& app);
void register_version(CLI::App& app);
void register_bench(CLI::App& app);
void register_sdpa(CLI::App& app);

void register_all(CLI::App& app) {
  register_classify(app);
  register_generate(app);
  register_tokenize(app);
  register_graph(app);
  register_bench(app);
  register_sdpa(app);
  register_version(app);
}

}  // namespace tessera::cli
