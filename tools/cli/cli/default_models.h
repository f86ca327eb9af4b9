// The embedded default models (models/ in the source tree): used when a command is given no --model.
#pragma once
#include <filesystem>
#include <string>

namespace tessera::cli {

// models/imdb-bert-small and models/imdb-mamba-small of this checkout.
std::filesystem::path default_bert_model();
std::filesystem::path default_mamba_model();

// `given` when non-empty, else `fallback`; errors (naming both and the fix) when the result isn't a directory.
std::string resolve_model(const std::string& given, const std::filesystem::path& fallback, const std::string& command);

}  // namespace tessera::cli
