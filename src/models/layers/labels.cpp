// id2label / num_labels reading shared by every classifier config.
#include "models/layers/labels.h"

namespace tessera::models {

std::vector<std::string> read_id2label(const nlohmann::json& j, const io::JsonFields& f, const std::string& source,
                                       int64_t default_num_labels) {
  std::vector<std::string> labels;
  if (j.contains("id2label") && j["id2label"].is_object() && !j["id2label"].empty()) {
    const auto& m = j["id2label"];
    labels.assign(m.size(), "");
    for (auto it = m.begin(); it != m.end(); ++it) {
      int64_t id = -1;
      try {
        std::size_t pos = 0;
        id = std::stoll(it.key(), &pos);
        if (pos != it.key().size()) id = -1;
      } catch (const std::exception&) {
      }
      TESSERA_CHECK(id >= 0 && id < (int64_t)m.size() && it.value().is_string(),
                    "{}: id2label must map the ids 0..{} to strings; got key '{}'", source, m.size() - 1, it.key());
      labels[id] = it.value().get<std::string>();
    }
    return labels;
  }
  int64_t n = f.has("num_labels") ? f.require<int64_t>("num_labels") : default_num_labels;
  TESSERA_CHECK(n >= 0 && (n > 0 || !f.has("num_labels")), "{}: field 'num_labels' must be positive, got {}", source, n);
  for (int64_t i = 0; i < n; ++i) labels.push_back(fmt::format("LABEL_{}", i));
  return labels;
}

}  // namespace tessera::models
