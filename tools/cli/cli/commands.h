// Registration of every `tessera` subcommand; each lives in its own file in tools/cli/.
#pragma once
#include <CLI/CLI.hpp>

namespace tessera::cli {

void register_all(CLI::App& app);

}  // namespace tessera::cli
