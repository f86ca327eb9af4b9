// JSON files and typed field reads with errors naming the file, the key, the expected and the actual type.
#include <fstream>
#include <sstream>

#include "tessera/io.h"

namespace tessera::io {

using nlohmann::json;

namespace {

// Line and column (1-based) of byte offset `pos` in `text`.
std::pair<std::size_t, std::size_t> line_col(std::string_view text, std::size_t pos) {
  pos = std::min(pos, text.size());
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') { ++line; col = 1; } else { ++col; }
  }
  return {line, col};
}

std::string type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    default: return "binary";
  }
}

[[noreturn]] void wrong_type(const std::string& source, std::string_view key, std::string_view expected,
                             const json& got) {
  TESSERA_FAIL("{}: field '{}' must be {}, got {}", source, key, expected, type_name(got));
}

// Integers: JSON integers, or floats with an integral value in range (some exporters write 768.0).
bool as_int64(const json& j, int64_t& out) {
  if (j.is_number_unsigned()) {
    uint64_t u = j.get<uint64_t>();
    if (u > (uint64_t)INT64_MAX) return false;
    out = (int64_t)u;
    return true;
  }
  if (j.is_number_integer()) { out = j.get<int64_t>(); return true; }
  if (j.is_number_float()) {
    double d = j.get<double>();
    if (!(d >= -9.2e18 && d <= 9.2e18) || d != (double)(int64_t)d) return false;
    out = (int64_t)d;
    return true;
  }
  return false;
}

template <class T>
struct Reader;

template <>
struct Reader<bool> {
  static bool read(const json& j, const std::string& src, std::string_view key) {
    if (!j.is_boolean()) wrong_type(src, key, "a boolean", j);
    return j.get<bool>();
  }
};
template <>
struct Reader<int64_t> {
  static int64_t read(const json& j, const std::string& src, std::string_view key) {
    int64_t v = 0;
    if (!as_int64(j, v)) {
      if (j.is_number()) TESSERA_FAIL("{}: field '{}' must be an integer, got {}", src, key, j.dump());
      wrong_type(src, key, "an integer", j);
    }
    return v;
  }
};
template <>
struct Reader<int> {
  static int read(const json& j, const std::string& src, std::string_view key) {
    int64_t v = Reader<int64_t>::read(j, src, key);
    TESSERA_CHECK(v >= INT32_MIN && v <= INT32_MAX, "{}: field '{}' = {} does not fit in a 32-bit integer", src,
                  key, v);
    return (int)v;
  }
};
template <>
struct Reader<double> {
  static double read(const json& j, const std::string& src, std::string_view key) {
    if (!j.is_number()) wrong_type(src, key, "a number", j);
    return j.get<double>();
  }
};
template <>
struct Reader<float> {
  static float read(const json& j, const std::string& src, std::string_view key) {
    return (float)Reader<double>::read(j, src, key);
  }
};
template <>
struct Reader<std::string> {
  static std::string read(const json& j, const std::string& src, std::string_view key) {
    if (!j.is_string()) wrong_type(src, key, "a string", j);
    return j.get<std::string>();
  }
};
template <class E>
struct Reader<std::vector<E>> {
  static std::vector<E> read(const json& j, const std::string& src, std::string_view key) {
    if (!j.is_array()) wrong_type(src, key, "an array", j);
    std::vector<E> out;
    out.reserve(j.size());
    for (std::size_t i = 0; i < j.size(); ++i)
      out.push_back(Reader<E>::read(j[i], src, fmt::format("{}[{}]", key, i)));
    return out;
  }
};
}  // namespace

json parse_json(std::string_view text, std::string_view source) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    auto [line, col] = line_col(text, e.byte == 0 ? 0 : e.byte - 1);
    std::string what = e.what();
    // nlohmann's message is "[json.exception.parse_error.101] parse error at line L, column C: <reason>".
    auto colon = what.find(": ", what.find("parse error"));
    std::string reason = colon == std::string::npos ? what : what.substr(colon + 2);
    TESSERA_FAIL("{}:{}:{}: invalid JSON: {}", source, line, col, reason);
  } catch (const json::exception& e) {
    TESSERA_FAIL("{}: invalid JSON: {}", source, e.what());
  }
}

json read_json_file(const std::filesystem::path& path) {
  std::error_code ec;
  TESSERA_CHECK(std::filesystem::is_regular_file(path, ec), "{}: no such file", path.string());
  std::ifstream in(path, std::ios::binary);
  TESSERA_CHECK(in.good(), "{}: cannot open for reading", path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_json(ss.str(), path.string());
}

JsonFields::JsonFields(const nlohmann::json& object, std::string source) : object_(&object), source_(std::move(source)) {
  TESSERA_CHECK(object.is_object(), "{}: expected a JSON object, got {}", source_, type_name(object));
}

JsonFields JsonFields::from_file(const std::filesystem::path& path) {
  auto holder = std::make_shared<const nlohmann::json>(read_json_file(path));
  JsonFields f(*holder, path.string());
  f.holder_ = std::move(holder);
  return f;
}

const nlohmann::json* JsonFields::find(std::string_view key) const {
  auto it = object_->find(key);
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

bool JsonFields::has(std::string_view key) const { return find(key) != nullptr; }

template <class T>
T JsonFields::get(std::string_view key, T default_value) const {
  const nlohmann::json* j = find(key);
  return j ? Reader<T>::read(*j, source_, prefix_ + std::string(key)) : std::move(default_value);
}

template <class T>
T JsonFields::require(std::string_view key) const {
  const nlohmann::json* j = find(key);
  TESSERA_CHECK(j, "{}: required field '{}{}' is missing", source_, prefix_, key);
  return Reader<T>::read(*j, source_, prefix_ + std::string(key));
}

template <class T>
std::optional<T> JsonFields::get_optional(std::string_view key) const {
  const nlohmann::json* j = find(key);
  if (!j) return std::nullopt;
  return Reader<T>::read(*j, source_, prefix_ + std::string(key));
}

JsonFields JsonFields::child(std::string_view key) const {
  const nlohmann::json* j = find(key);
  TESSERA_CHECK(j, "{}: required field '{}{}' is missing", source_, prefix_, key);
  if (!j->is_object()) wrong_type(source_, prefix_ + std::string(key), "an object", *j);
  JsonFields f(*j, source_);
  f.holder_ = holder_;
  f.prefix_ = prefix_ + std::string(key) + ".";
  return f;
}

#define TESSERA_JSON_FIELD_TYPES(X) \
  X(bool) X(int) X(int64_t) X(float) X(double) X(std::string) X(std::vector<int64_t>) X(std::vector<double>) \
  X(std::vector<std::string>)
#define X(T)                                                                 \
  template T JsonFields::get<T>(std::string_view, T) const;                  \
  template T JsonFields::require<T>(std::string_view) const;                 \
  template std::optional<T> JsonFields::get_optional<T>(std::string_view) const;
TESSERA_JSON_FIELD_TYPES(X)
#undef X

}  // namespace tessera::io
