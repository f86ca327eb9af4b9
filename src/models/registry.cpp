// The architecture registry: config.json's "model_type" -> the classifier / causal-LM factory. One line per architecture.
#include <string_view>

#include "models/bert.h"
#include "models/mamba.h"
#include "models/model.h"
#include "tessera/io.h"

namespace tessera::models {

namespace {
using Factory = std::unique_ptr<SequenceClassifier> (*)(const std::filesystem::path&, const LoadOptions&);

struct Entry {
  std::string_view model_type;
  Factory factory;
};

const Entry kClassifiers[] = {
    {"bert", [](const std::filesystem::path& d, const LoadOptions& o) -> std::unique_ptr<SequenceClassifier> {
       return BertForSequenceClassification::from_dir(d, o);
     }},
    {"mamba", [](const std::filesystem::path& d, const LoadOptions& o) -> std::unique_ptr<SequenceClassifier> {
       return MambaForSequenceClassification::from_dir(d, o);
     }},
};

using LmFactory = std::unique_ptr<CausalLM> (*)(const std::filesystem::path&, const LoadOptions&);
struct LmEntry {
  std::string_view model_type;
  LmFactory factory;
};
const LmEntry kCausalLMs[] = {
    {"mamba", [](const std::filesystem::path& d, const LoadOptions& o) -> std::unique_ptr<CausalLM> {
       return MambaForCausalLM::from_dir(d, o);
     }},
};

// config.json's model_type; checkpoints of other libraries are recognised by their layout (mamba_ssm: d_model, n_layer).
std::pair<std::filesystem::path, std::string> read_model_type(const std::filesystem::path& dir) {
  TESSERA_CHECK(std::filesystem::is_directory(dir), "{}: model directory not found", dir.string());
  std::filesystem::path cfg = dir / "config.json";
  TESSERA_CHECK(std::filesystem::exists(cfg), "{}: no config.json (a Hugging Face model directory needs one)", dir.string());
  nlohmann::json j = io::read_json_file(cfg);
  TESSERA_CHECK(j.is_object(), "{}: expected a JSON object", cfg.string());
  std::string type = j.contains("model_type") && j["model_type"].is_string() ? j["model_type"].get<std::string>() : "";
  if (type.empty() && MambaConfig::is_mamba_ssm_config(j)) type = "mamba";
  return {cfg, type};
}
}  // namespace

std::unique_ptr<CausalLM> load_causal_lm(const std::filesystem::path& dir, const LoadOptions& options) {
  auto [cfg, type] = read_model_type(dir);
  std::string known;
  for (const LmEntry& e : kCausalLMs) {
    if (e.model_type == type) return e.factory(dir, options);
    known += fmt::format("{}{}", known.empty() ? "" : ", ", e.model_type);
  }
  TESSERA_FAIL("{}: model_type '{}' is not supported for text generation (supported: {})", cfg.string(), type, known);
}

std::unique_ptr<SequenceClassifier> load_sequence_classifier(const std::filesystem::path& dir, const LoadOptions& options) {
  auto [cfg, type] = read_model_type(dir);
  std::string known;
  for (const Entry& e : kClassifiers) {
    if (e.model_type == type) return e.factory(dir, options);
    known += fmt::format("{}{}", known.empty() ? "" : ", ", e.model_type);
  }
  TESSERA_FAIL("{}: model_type '{}' is not supported for sequence classification (supported: {})", cfg.string(), type, known);
}

}  // namespace tessera::models
