// A restricted unpickler for torch.save state dicts: the protocol 2-5 opcodes torch emits, and only the
// globals that rebuild tensors, storages and OrderedDicts. Nothing from the pickle is ever executed.
// Objects live in an arena and refer to each other by index (no recursion, cycles are harmless).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tessera/tensor.h"

namespace tessera::io {

enum class PyKind : uint8_t { none, boolean, integer, big_integer, floating, string, bytes, tuple, list, dict,
                              global, storage, tensor };

struct PyObject {
  PyKind kind = PyKind::none;
  int64_t i = 0;               // boolean / integer; storage / tensor: index into storages() / tensors()
  double f = 0;                // floating
  std::string s;               // string, bytes, big_integer (LE two's complement), global ("module.name")
  std::vector<uint32_t> items;  // tuple / list elements; dict: key, value, key, value, ...

  static PyObject of(PyKind kind, int64_t i = 0) {
    PyObject o;
    o.kind = kind;
    o.i = i;
    return o;
  }
  static PyObject of(PyKind kind, std::string s) {
    PyObject o = of(kind);
    o.s = std::move(s);
    return o;
  }
  static PyObject of(PyKind kind, std::vector<uint32_t> items) {
    PyObject o = of(kind);
    o.items = std::move(items);
    return o;
  }
};

// A storage named by a persistent id: ('storage', type, key, location, numel[, view_metadata]).
struct StorageRef {
  std::string key;
  DType dtype = DType::u8;  // element type (UntypedStorage: u8 bytes)
  int64_t numel = 0;        // elements the pickle claims (-1 if not given)
  std::string view_of;      // legacy storage views: the root storage's key, else empty
  int64_t view_offset = 0;  // in elements of the root
};

// A tensor view rebuilt by _rebuild_tensor{,_v2,_v3}: elements of a storage.
struct TensorRef {
  uint32_t storage = 0;  // index into storages()
  DType dtype = DType::f32;
  int64_t offset = 0;
  Shape shape;
  Strides strides;
};

class Unpickler {
 public:
  Unpickler(const uint8_t* data, std::size_t size, std::string source);
  // Runs the pickle starting at `pos` up to its STOP; returns the root object; advances `pos` past STOP.
  uint32_t load(std::size_t& pos);

  const PyObject& object(uint32_t index) const { return objects_[index]; }
  const std::vector<StorageRef>& storages() const { return storages_; }
  const std::vector<TensorRef>& tensors() const { return tensors_; }
  const std::string& source() const { return source_; }
  // "a dict", "a list", "the global 'os.system'" ... for error messages.
  std::string describe(uint32_t index) const;

 private:
  uint32_t add(PyObject o);
  uint32_t pop();
  uint32_t top() const;
  std::vector<uint32_t> pop_mark();
  uint32_t make_global(std::string module, std::string name);
  uint32_t call(uint32_t callable, uint32_t args);
  uint32_t persistent_load(uint32_t pid);
  uint32_t rebuild_tensor(const std::vector<uint32_t>& args, std::string_view fn, bool v3);
  int64_t as_int(uint32_t index, std::string_view what) const;
  Shape as_int_tuple(uint32_t index, std::string_view what) const;

  const uint8_t* data_;
  std::size_t size_;
  std::string source_;
  std::vector<PyObject> objects_;
  std::vector<uint32_t> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<uint64_t, uint32_t> memo_;
  std::vector<StorageRef> storages_;
  std::vector<TensorRef> tensors_;
};

// The element type of a torch storage class name ("FloatStorage" -> f32); nullopt for unsupported ones.
std::optional<DType> dtype_of_storage_type(std::string_view name);

}  // namespace tessera::io
