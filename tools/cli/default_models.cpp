// Locations of the embedded default models and the --model fallback rule.
#include "cli/default_models.h"

#include "tessera/error.h"

namespace tessera::cli {

std::filesystem::path default_bert_model() { return std::filesystem::path(TESSERA_SOURCE_DIR) / "models" / "imdb-bert-small"; }
std::filesystem::path default_mamba_model() { return std::filesystem::path(TESSERA_SOURCE_DIR) / "models" / "imdb-mamba-small"; }

std::string resolve_model(const std::string& given, const std::filesystem::path& fallback, const std::string& command) {
  if (!given.empty()) {
    TESSERA_CHECK(std::filesystem::is_directory(given), "{}: --model {}: directory not found", command, given);
    return given;
  }
  TESSERA_CHECK(std::filesystem::is_directory(fallback),
                "{}: no --model given and the embedded default model {} is missing (pass --model DIR)", command,
                fallback.string());
  return fallback.string();
}

}  // namespace tessera::cli
