// The list of subcommands, in the order `tessera --help` shows them.
#include "cli/commands.h"

namespace tessera::cli {

void register_version(CLI::App& app);

void register_all(CLI::App& app) { register_version(app); }

}  // namespace tessera::cli
