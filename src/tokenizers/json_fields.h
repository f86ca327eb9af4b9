// Field readers shared by the tokenizer.json parsers: a component's "type", typed fields with a fallback,
// and required arrays; every error names the file and the component.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tessera/error.h"

namespace tessera::tokenizers {

inline std::string type_of(const nlohmann::json& j, std::string_view source, std::string_view component) {
  TESSERA_CHECK(j.is_object() && j.contains("type") && j["type"].is_string(),
                "{}: {} must be an object with a string \"type\", got {}", source, component, j.dump().substr(0, 200));
  return j["type"].get<std::string>();
}

template <typename T>
T field(const nlohmann::json& j, const char* key, T fallback, std::string_view source, std::string_view component) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  try {
    return j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    TESSERA_FAIL("{}: {} field \"{}\" has the wrong type: {}", source, component, key, j[key].dump().substr(0, 200));
  }
}

inline const nlohmann::json& list_of(const nlohmann::json& j, const char* key, std::string_view source,
                                     std::string_view component) {
  TESSERA_CHECK(j.contains(key) && j[key].is_array(), "{}: {} needs a \"{}\" array", source, component, key);
  return j[key];
}

}  // namespace tessera::tokenizers
