// `tessera version`: the build's version, compiler and BLAS.
#include <cstdio>

#include "backends/cpu/blas_core.h"
#include "cli/commands.h"

namespace tessera::cli {

void register_version(CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print the Tessera version and build information");
  cmd->callback([] {
    std::printf("tessera 0.1.0 (C++20, CPU backend: OpenBLAS + OpenMP; OpenBLAS core %s)\n",
                backends::openblas_core().c_str());
  });
}

}  // namespace tessera::cli
