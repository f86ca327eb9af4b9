// Checkpoint and config IO: JSON configs with typed field reads, safetensors (mmap, zero-copy, sharded),
// PyTorch .bin (zip and legacy, through a restricted unpickler) and a model-directory weight view.
// Every reader validates untrusted bytes and reports errors as tessera::Error naming the file.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/tensor.h"

namespace tessera::io {

// ---- JSON ------------------------------------------------------------------------------------------
// Parses a JSON file; errors name the file, line and column ("config.json:3:14: ...").
nlohmann::json read_json_file(const std::filesystem::path& path);
// Parses JSON text; `source` names it in errors.
nlohmann::json parse_json(std::string_view text, std::string_view source);

// Typed reads of an object's fields: missing or null keys give the default, wrong types a clear error
// ("config.json: field 'hidden_size' must be an integer, got string"). Unknown keys are ignored.
// T: bool, int, int64_t, float, double, std::string, std::vector<int64_t>, std::vector<double>,
//    std::vector<std::string>.
class JsonFields {
 public:
  JsonFields(const nlohmann::json& object, std::string source);  // source: "config.json" or a path
  static JsonFields from_file(const std::filesystem::path& path);  // keeps the parsed JSON alive

  bool has(std::string_view key) const;  // present and not null
  template <class T>
  T get(std::string_view key, T default_value) const;
  template <class T>
  T require(std::string_view key) const;  // error when missing or null
  template <class T>
  std::optional<T> get_optional(std::string_view key) const;
  JsonFields child(std::string_view key) const;  // a nested object ("text_config"); error if not an object
  const nlohmann::json& json() const { return *object_; }
  const std::string& source() const { return source_; }

 private:
  const nlohmann::json* find(std::string_view key) const;
  std::shared_ptr<const nlohmann::json> holder_;
  const nlohmann::json* object_ = nullptr;
  std::string source_;
  std::string prefix_;  // "text_config." for a child's errors
};

// ---- safetensors -----------------------------------------------------------------------------------
struct TensorEntry {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  uint64_t begin = 0, end = 0;  // byte range relative to the start of the data section
};

struct SafetensorsHeader {
  std::vector<TensorEntry> tensors;  // in header order
  std::map<std::string, std::string> metadata;
  uint64_t data_offset = 0;  // 8 + header length
};

// Validates a whole safetensors file image (header length, JSON, dtypes, shapes, offsets in bounds and
// non-overlapping). `source` names the file in errors.
SafetensorsHeader parse_safetensors_header(const uint8_t* data, std::size_t size, std::string_view source);

class MappedFile;

// One memory-mapped safetensors file. Tensors are zero-copy views that keep the mapping alive.
class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::filesystem::path& path);
  bool contains(std::string_view name) const;
  Tensor get(std::string_view name) const;
  std::vector<std::string> names() const;  // header order
  const TensorEntry* entry(std::string_view name) const;  // nullptr when absent
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::shared_ptr<const MappedFile> file_;
  SafetensorsHeader header_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

// ---- PyTorch .bin ----------------------------------------------------------------------------------
// Loads a torch.save'd state dict (zip format or the legacy pre-1.6 format) without executing pickle
// code: only tensor rebuild, storage and OrderedDict globals are accepted. Accepts a dict of tensors or
// a dict with a "state_dict" dict. Tensors are zero-copy over the mapped file where alignment allows.
std::map<std::string, Tensor> load_torch_checkpoint(const std::filesystem::path& path);
// The same over bytes already in memory (copied); `source` names them in errors. For tests and fuzzing.
std::map<std::string, Tensor> load_torch_checkpoint_bytes(const uint8_t* data, std::size_t size,
                                                          std::string_view source);

// ---- model directory -------------------------------------------------------------------------------
// The weights of a model directory, whatever format they are in. Shards are opened lazily, once.
class WeightStore {
 public:
  bool contains(std::string_view name) const;
  // Errors name the tensor, the file, and list close names when missing.
  Tensor get(std::string_view name) const;
  // Also checks the shape: "model.safetensors: tensor 'w' has shape (64, 48), config.json implies (64, 64)".
  Tensor get(std::string_view name, const Shape& expected, std::string_view implied_by = "config.json") const;
  std::vector<std::string> names() const;  // sorted
  std::string source() const;              // the file(s) weights come from, comma separated
  std::string file_of(std::string_view name) const;  // the file holding `name` (error when absent)

  struct Impl;
  explicit WeightStore(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<Impl> impl_;
};

// Finds model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json
// in `model_dir` (safetensors preferred, like transformers). `model_dir` may also be one weights file.
WeightStore open_weights(const std::filesystem::path& model_dir);

}  // namespace tessera::io
