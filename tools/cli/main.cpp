// The `tessera` command: parses the subcommand and hands over to its file (one file per subcommand).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <unistd.h>

#include "backends/cpu/blas_core.h"
#include "tessera/error.h"
#include "attention/sdpa.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  // Note [OpenBLAS core]: when OpenBLAS chose weaker kernels than this CPU supports and the user did not choose,
  // run again with the right ones (once: the variable is then set). execv only returns on failure.
  if (!std::getenv("OPENBLAS_CORETYPE")) {
    if (auto core = tessera::backends::better_openblas_core()) {
      setenv("OPENBLAS_CORETYPE", core->c_str(), 1);
      execv("/proc/self/exe", argv);
    }
  }
  CLI::App app{"tessera: run Hugging Face models natively (BERT, Mamba) on CPU and GPU"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for every subcommand");
  tessera::cli::register_all(app);
  // Environment variables are read here, never deep in the code (DESIGN.md §6): TESSERA_SDPA_LOG=1 logs
  // each distinct attention backend choice.
  if (const char* log = std::getenv("TESSERA_SDPA_LOG"); log && std::string_view(log) != "" && std::string_view(log) != "0")
    tessera::attention::set_sdpa_logging(true);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const tessera::Error& e) {
    std::fprintf(stderr, "tessera: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tessera: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
